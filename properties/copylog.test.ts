/**
 * Copy-log laws: whatever log the writer produces, the reader gives back the same events (every
 * status code, hostile text in paths); the bytes are a function of the events; how the bytes are
 * chunked does not matter; grouping and the summary agree with the events.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { Either } from "effect"
import fc from "fast-check"
import {
  blobStartFields,
  blobStatuses,
  type CopyLogEvent,
  CopyLogGrouper,
  dispositionStatuses,
  driveStatuses,
  fileStatuses,
  type FileRef,
  importDispositions,
  type Range,
  rangeStatuses,
  serializeCopyLog,
  summarize,
} from "../lib/copylog.ts"
import { readText } from "../lib/copylog-samples.ts"
import { hasCharsXmlCannotHold } from "../lib/xml.ts"

/** Text that XML can carry, biased towards what breaks naive writers. */
const hostileChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(" ", '"', "'", "&", "<", ">", "\r", "\n", "\t", "\\", "/", "]]>", "&amp;", "é", "日本", "😀", "\u00a0", "\u2028") },
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }) },
)
const hostile = (minLength: number) =>
  fc
    .array(hostileChar, { minLength, maxLength: 8 })
    .map((parts) => parts.join(""))
    .filter((s) => !hasCharsXmlCannotHold(s) && s.length >= minLength)

const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex").toUpperCase())
const blockId = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString("base64"))
const dateTime = fc
  .tuple(fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true }), fc.option(fc.integer({ min: 0, max: 9_999_999 }), { nil: undefined }))
  .map(([d, frac]) => d.toISOString().slice(0, 19) + (frac !== undefined ? "." + String(frac).padStart(7, "0") : "") + "Z")

const fileRef: fc.Arbitrary<FileRef> = fc.record({ path: hostile(1), hash: hex32 }, { requiredKeys: [], noNullPrototype: true })
const fileEntry = fc.record(
  { status: fc.constantFrom(...fileStatuses), globalPath: fileRef, path: fileRef },
  { requiredKeys: ["status"], noNullPrototype: true },
)

const blobEvents: fc.Arbitrary<Array<CopyLogEvent>> = fc
  .record({
    status: fc.constantFrom(...blobStatuses),
    blobPath: hostile(1),
    filePath: hostile(1),
    snapshot: fc.option(dateTime, { nil: undefined }),
    length: fc.integer({ min: 0, max: 2 ** 40 }),
    lastModified: fc.option(dateTime, { nil: undefined }),
    importDisposition: fc.option(fc.record({ status: fc.constantFrom(...dispositionStatuses), value: fc.constantFrom(...importDispositions) }, { noNullPrototype: true }), { nil: undefined }),
    list: fc.constantFrom("block" as const, "page" as const, "none" as const),
    ranges: fc.array(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        size: fc.double({ min: 0, max: 1, noNaN: true }),
        id: fc.option(blockId, { nil: undefined }),
        hash: fc.option(hex32, { nil: undefined }),
        status: fc.constantFrom(...rangeStatuses),
      }),
      { maxLength: 6 },
    ),
    metadata: fc.option(fileEntry, { nil: undefined }),
    properties: fc.option(fileEntry, { nil: undefined }),
  })
  .map((b) => {
    const start: CopyLogEvent = { _tag: "BlobStart", ...blobStartFields(b) }
    const ranges: Array<Range> =
      b.list === "none"
        ? []
        : b.ranges.map((r) => {
            const offset = Math.floor(r.at * b.length)
            const length = Math.floor(r.size * (b.length - offset))
            return b.list === "block"
              ? { _tag: "Block", offset, length, ...(r.id !== undefined ? { id: r.id } : {}), ...(r.hash !== undefined ? { hash: r.hash } : {}), status: r.status }
              : { _tag: "PageRange", offset, length, ...(r.hash !== undefined ? { hash: r.hash } : {}), status: r.status }
          })
    const end: CopyLogEvent = { _tag: "BlobEnd", ...(b.metadata ? { metadata: b.metadata } : {}), ...(b.properties ? { properties: b.properties } : {}) }
    return [start, ...ranges, end]
  })

export const copyLog: fc.Arbitrary<Array<CopyLogEvent>> = fc
  .record({
    driveId: hostile(1).filter((s) => s.trim() !== ""),
    blobs: fc.array(blobEvents, { maxLength: 4 }),
    status: fc.constantFrom(...driveStatuses),
  })
  .map(({ driveId, blobs, status }) => [
    { _tag: "LogStart", version: "2014-11-01" },
    { _tag: "DriveId", value: driveId },
    ...blobs.flat(),
    { _tag: "DriveStatus", status },
    { _tag: "LogEnd" },
  ])

test("reader ∘ writer = identity on generated logs (all status codes, hostile paths)", () => {
  fc.assert(
    fc.property(copyLog, (events) => {
      const r = readText(serializeCopyLog(events))
      if (Either.isLeft(r)) throw new Error(r.left.message)
      assert.deepEqual(r.right, events)
    }),
    { numRuns: 800 },
  )
})

test("the bytes are deterministic: writing what was read gives the same bytes", () => {
  fc.assert(
    fc.property(copyLog, (events) => {
      const bytes = serializeCopyLog(events)
      const r = readText(bytes)
      assert.ok(Either.isRight(r))
      assert.equal(serializeCopyLog(r.right), bytes)
      assert.match(bytes, /^<\?xml version="1\.0" encoding="utf-8"\?>\n<DriveLog Version="2014-11-01">\n/)
      assert.ok(bytes.endsWith("</DriveLog>\n"))
      assert.doesNotMatch(bytes, /\r/, "a CR is written as &#13;")
    }),
    { numRuns: 400 },
  )
})

test("how the bytes are chunked does not change the events", () => {
  fc.assert(
    fc.property(copyLog, fc.integer({ min: 1, max: 64 }), (events, chunk) => {
      const r = readText(serializeCopyLog(events), chunk)
      assert.ok(Either.isRight(r))
      assert.deepEqual(r.right, events)
    }),
    { numRuns: 200 },
  )
})

test("grouping loses nothing: blob values hold every range in order", () => {
  fc.assert(
    fc.property(copyLog, (events) => {
      const g = new CopyLogGrouper()
      const groups = events.flatMap((e) => g.push(e))
      const blobs = groups.filter((x) => x._tag === "Blob")
      assert.equal(blobs.length, events.filter((e) => e._tag === "BlobStart").length)
      const ranges = blobs.flatMap((b) => (b._tag === "Blob" ? b.ranges : []))
      assert.deepEqual(
        ranges,
        events.filter((e) => e._tag === "Block" || e._tag === "PageRange"),
      )
      const s = summarize(events)
      assert.equal(s.blocks + s.pageRanges, ranges.length)
      assert.equal(
        Object.values(s.blobStatus).reduce((a, b) => a + b, 0),
        s.blobs,
      )
    }),
    { numRuns: 300 },
  )
})
