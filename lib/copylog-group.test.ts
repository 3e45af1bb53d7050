import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Stream } from "effect"
import {
  type BlobRecord,
  blobFailures,
  type CopyLogEvent,
  CopyLogGrouper,
  describeFailures,
  FailedBlobFinder,
  groupCopyLog,
  hasFailures,
  isCompleted,
  maxRangesPerGroup,
  summarize,
} from "./copylog.ts"

const head: Array<CopyLogEvent> = [
  { _tag: "LogStart", version: "2014-11-01" },
  { _tag: "DriveId", value: "D1" },
]
const tail: Array<CopyLogEvent> = [
  { _tag: "DriveStatus", status: "CompletedWithErrors" },
  { _tag: "LogEnd" },
]

const cascade: Array<CopyLogEvent> = [
  { _tag: "BlobStart", status: "FileNotFound", blobPath: "pictures/animals/koala.jpg", filePath: "\\animals\\koala.jpg", length: 30310, importDisposition: { status: "Cancelled", value: "rename" }, list: "block" },
  ...[0, 1, 2, 3, 4].map((i): CopyLogEvent => ({ _tag: "Block", offset: i * 6062, length: 6062, status: "Cancelled" })),
  { _tag: "BlobEnd" },
]
const good: Array<CopyLogEvent> = [
  { _tag: "BlobStart", status: "Completed", blobPath: "c1/a", filePath: "\\a", length: 1024, importDisposition: { status: "Created", value: "overwrite" }, list: "page" },
  { _tag: "PageRange", offset: 0, length: 512, status: "Completed" },
  { _tag: "PageRange", offset: 512, length: 512, status: "Completed" },
  { _tag: "BlobEnd", metadata: { status: "Completed" } },
]
const propsFailed: Array<CopyLogEvent> = [
  { _tag: "BlobStart", status: "CompletedWithErrors", blobPath: "c1/p", filePath: "\\p", length: 163840, lastModified: "2012-09-18T23:47:08Z", list: "block" },
  { _tag: "BlobEnd", properties: { status: "Failed" } },
]
const log = [...head, ...cascade, ...good, ...propsFailed, ...tail]

test("isCompleted: only Completed", () => {
  assert.equal(isCompleted("Completed"), true)
  for (const s of ["CompletedWithErrors", "CompletedWithWarnings", "Committed", "Cancelled", "completed"]) assert.equal(isCompleted(s), false)
})

test("grouping: the drive, one value per blob with its ranges, the drive status", () => {
  const g = new CopyLogGrouper()
  const groups = log.flatMap((e) => g.push(e))
  assert.deepEqual(
    groups.map((x) => (x._tag === "Blob" ? [x._tag, x.blobPath, x.ranges.length] : [x._tag])),
    [["Drive"], ["Blob", "pictures/animals/koala.jpg", 5], ["Blob", "c1/a", 2], ["Blob", "c1/p", 0], ["DriveEnd"]],
  )
  assert.deepEqual(groups[0], { _tag: "Drive", version: "2014-11-01", driveId: "D1" })
  const a = groups[2]!
  assert.ok(a._tag === "Blob")
  assert.deepEqual(a.metadata, { status: "Completed" })
  assert.equal(a.part, undefined)
})

test("grouping on a Stream gives the same values", () => {
  const viaStream = Effect.runSync(Stream.runCollect(groupCopyLog(Stream.fromIterable(log))))
  const g = new CopyLogGrouper()
  assert.deepEqual(Chunk.toArray(viaStream), log.flatMap((e) => g.push(e)))
})

test("a blob with more than 50,000 ranges comes in parts of at most 50,000; metadata with the last", () => {
  const n = maxRangesPerGroup * 2 + 1
  const events: Array<CopyLogEvent> = [
    ...head,
    { _tag: "BlobStart", status: "Completed", blobPath: "vhds/big.vhd", filePath: "\\big.vhd", length: n * 512, list: "page" },
    ...Array.from({ length: n }, (_, i): CopyLogEvent => ({ _tag: "PageRange", offset: i * 512, length: 512, status: "Completed" })),
    { _tag: "BlobEnd", properties: { status: "Completed" } },
    ...tail,
  ]
  const g = new CopyLogGrouper()
  const parts = events.flatMap((e) => g.push(e)).filter((x): x is { _tag: "Blob" } & BlobRecord => x._tag === "Blob")
  assert.deepEqual(
    parts.map((p) => [p.part, p.more, p.ranges.length, p.properties?.status]),
    [
      [1, true, maxRangesPerGroup, undefined],
      [2, true, maxRangesPerGroup, undefined],
      [3, undefined, 1, "Completed"],
    ],
  )
  assert.equal(parts[2]!.ranges[0]!.offset, maxRangesPerGroup * 2 * 512)
})

test("exactly 50,000 ranges stay one value", () => {
  const events: Array<CopyLogEvent> = [
    ...head,
    { _tag: "BlobStart", status: "Completed", blobPath: "c1/b", filePath: "\\b", length: maxRangesPerGroup, list: "block" },
    ...Array.from({ length: maxRangesPerGroup }, (_, i): CopyLogEvent => ({ _tag: "Block", offset: i, length: 1, status: "Completed" })),
    { _tag: "BlobEnd" },
    ...tail,
  ]
  const g = new CopyLogGrouper()
  const blobs = events.flatMap((e) => g.push(e)).filter((x) => x._tag === "Blob")
  assert.equal(blobs.length, 1)
  assert.ok(blobs[0]!._tag === "Blob" && blobs[0]!.part === undefined && blobs[0]!.ranges.length === maxRangesPerGroup)
})

test("summary: counts per status family, failed blobs, bytes", () => {
  assert.deepEqual(summarize(log), {
    version: "2014-11-01",
    driveId: "D1",
    driveStatus: "CompletedWithErrors",
    blobs: 3,
    bytes: 30310 + 1024 + 163840,
    blobStatus: { Completed: 1, CompletedWithErrors: 1, FileNotFound: 1 },
    dispositionStatus: { Created: 1, Cancelled: 1 },
    blocks: 5,
    pageRanges: 2,
    rangeStatus: { Completed: 2, Cancelled: 5 },
    metadataStatus: { Completed: 1 },
    propertiesStatus: { Failed: 1 },
    failedBlobs: 2,
    failedRanges: 5,
    failedRangeBytes: 30310,
  })
})

test("what failed in a blob: its status, ranges not Completed, metadata/properties not Completed", () => {
  const g = new CopyLogGrouper()
  const blobs = log.flatMap((e) => g.push(e)).filter((x): x is { _tag: "Blob" } & BlobRecord => x._tag === "Blob")
  const [fnf, ok, props] = blobs.map(blobFailures)
  assert.equal(fnf!.status, "FileNotFound")
  assert.equal(fnf!.ranges.length, 5)
  assert.equal(hasFailures(fnf!), true)
  assert.deepEqual(ok, { ranges: [] })
  assert.equal(hasFailures(ok!), false)
  assert.deepEqual(props, { status: "CompletedWithErrors", ranges: [], properties: "Failed" })
  assert.equal(describeFailures(fnf!), "FileNotFound; 5 blocks Cancelled")
  assert.equal(describeFailures(props!), "CompletedWithErrors; properties Failed")
})

test("a Committed or Uncommitted block needs repair too; few ranges are listed with offsets", () => {
  const b: BlobRecord = {
    status: "CompletedWithErrors",
    blobPath: "c1/b",
    filePath: "\\b",
    length: 3072,
    list: "block",
    ranges: [
      { _tag: "Block", offset: 0, length: 1024, status: "Committed" },
      { _tag: "Block", offset: 1024, length: 1024, status: "Uncommitted" },
      { _tag: "Block", offset: 2048, length: 1024, status: "Completed" },
    ],
    metadata: { status: "XmlReadFailed" },
  }
  const f = blobFailures(b)
  assert.deepEqual(
    f.ranges.map((r) => r.offset),
    [0, 1024],
  )
  assert.equal(describeFailures(f), "CompletedWithErrors; 1 block Committed (offset 0, 1024 bytes); 1 block Uncommitted (offset 1024, 1024 bytes); metadata XmlReadFailed")
})

test("FailedBlobFinder reports the failed blobs only, in bounded form", () => {
  const finder = new FailedBlobFinder()
  const found = log.map((e) => finder.push(e)).filter((x) => x !== undefined)
  assert.deepEqual(
    found.map((f) => f.blob.blobPath),
    ["pictures/animals/koala.jpg", "c1/p"],
  )
  assert.deepEqual(found[0]!.failures, {
    status: "FileNotFound",
    ranges: [{ status: "Cancelled", kind: "block", count: 5, bytes: 30310, first: [{ offset: 0, length: 6062 }, { offset: 6062, length: 6062 }, { offset: 12124, length: 6062 }] }],
  })
})
