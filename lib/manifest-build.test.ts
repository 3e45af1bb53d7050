import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Chunk, Effect, Stream } from "effect"
import { blockSize } from "./blocks.ts"
import { type JournalEvent, openJournalWriter } from "./journal.ts"
import { checkManifest } from "./manifest-check.ts"
import { manifestEventsForDrive } from "./manifest-build.ts"
import { serializeManifest } from "./manifest-writer.ts"

const H = (n: number) => n.toString(16).toUpperCase().padStart(32, "0")
const S = "session#1"
const started = (file: number, drive: string, length: number, blobList = 0, type: "BlockBlob" | "PageBlob" = "BlockBlob"): JournalEvent => ({
  _tag: "FileStarted",
  sessionId: S,
  file,
  driveId: drive,
  source: `/src/f${file}`,
  length,
  mtimeMs: 1,
  blobPath: `cont/f${file}`,
  filePath: `\\${S}\\cont\\f${file}`,
  blobType: type,
  disposition: "rename",
  blobList,
})

const head: ReadonlyArray<JournalEvent> = [
  { _tag: "JournalCreated", journalId: "A".repeat(32), writer: "waie 0.1.0" },
  { _tag: "SessionStarted", sessionId: S, dataSet: "/d.csv", dataSetHash: H(0), mounts: [] },
  ...["D1", "D2"].map((driveId): JournalEvent => ({ _tag: "DriveAdded", sessionId: S, driveId, root: `/${driveId}`, name: `/${driveId}`, format: false, encryption: "AlreadyEncrypted", identity: "file", freeBytes: 1e12 })),
  { _tag: "BlobListDefined", sessionId: S, blobList: 0 },
  { _tag: "BlobListDefined", sessionId: S, blobList: 1, metadata: { source: "/m.xml", path: "\\session#1\\$waie\\M.xml", hash: H(99) } },
]

const build = async (events: ReadonlyArray<JournalEvent>, driveId: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-mb-"))
  try {
    const journal = path.join(dir, "j.jrn")
    return await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.scoped(Effect.flatMap(openJournalWriter(journal, 0), (w) => w.append(events, { sync: true })))
        const ev = yield* Stream.runCollect(manifestEventsForDrive({ journal, driveId, credential: { kind: "StorageAccountKey", value: "a2V5" }, clientCreator: "waie test", sessions: [S] }))
        return serializeManifest(Chunk.toReadonlyArray(ev))
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test("blobs are grouped by blob list, in file order, with their drive's files only", async () => {
  const xml = await build(
    [
      ...head,
      started(0, "D1", 10, 1),
      started(1, "D2", 10, 0),
      started(2, "D1", blockSize + 5, 0),
      { _tag: "BlocksDurable", sessionId: S, file: 0, from: 0, hashes: [H(1)] },
      { _tag: "BlocksDurable", sessionId: S, file: 1, from: 0, hashes: [H(2)] },
      { _tag: "FilesCompleted", sessionId: S, files: [0, 1] },
      { _tag: "BlocksDurable", sessionId: S, file: 2, from: 0, hashes: [H(3)] },
      // a crash, then a resume going on from the durable block
      { _tag: "BlocksDurable", sessionId: S, file: 2, from: 1, hashes: [H(4)] },
      { _tag: "FilesCompleted", sessionId: S, files: [2] },
      started(3, "D1", 1024, 1, "PageBlob"),
      { _tag: "RangesDurable", sessionId: S, file: 3, upto: 512, ranges: [{ offset: 0, length: 512, hash: H(5) }] },
      { _tag: "RangesDurable", sessionId: S, file: 3, upto: 1024, ranges: [{ offset: 512, length: 512, hash: H(6) }] },
      { _tag: "FilesCompleted", sessionId: S, files: [3] },
    ],
    "D1",
  )
  const lists = [...xml.matchAll(/<BlobList Id="([^"]+)">/g)].map((m) => m[1])
  assert.deepEqual(lists, ["session#1-0", "session#1-1"])
  const blobs = [...xml.matchAll(/<BlobPath>([^<]+)<\/BlobPath>/g)].map((m) => m[1])
  assert.deepEqual(blobs, ["cont/f2", "cont/f0", "cont/f3"])
  assert.match(xml, /<Block Offset="0" Length="4194304" Id="AAAAAA==" Hash="0{31}3" \/>\n\s*<Block Offset="4194304" Length="5" Id="AQAAAA==" Hash="0{31}4" \/>/)
  assert.equal([...xml.matchAll(/<PageRange /g)].length, 2)
  assert.match(xml, /<MetadataPath Hash="0{30}63">\\session#1\\\$waie\\M\.xml<\/MetadataPath>/)
  const report = await Effect.runPromise(checkManifest("m.xml", Stream.make(Buffer.from(xml))))
  assert.equal(report.ok, true, JSON.stringify(report.issues))
})

test("a drive with no blob gets a manifest with its drive fields only", async () => {
  const xml = await build([...head, started(0, "D1", 0, 0), { _tag: "BlocksDurable", sessionId: S, file: 0, from: 0, hashes: [] }, { _tag: "FilesCompleted", sessionId: S, files: [0] }], "D9")
  assert.doesNotMatch(xml, /<BlobList/)
  assert.match(xml, /<DriveId>D9<\/DriveId>/)
})

test("a page blob of 262,144 ranges (alternating pages of a 256 MiB disk) builds without overflowing the stack", async () => {
  const perRecord = 65_536
  const records = 4
  const length = records * perRecord * 1024
  const ranges = (r: number) => Array.from({ length: perRecord }, (_, i) => ({ offset: (r * perRecord + i) * 1024, length: 512, hash: H(i + 1) }))
  const events: Array<JournalEvent> = [...head, started(0, "D1", length, 0, "PageBlob")]
  for (let r = 0; r < records; r++) events.push({ _tag: "RangesDurable", sessionId: S, file: 0, upto: (r + 1) * perRecord * 1024, ranges: ranges(r) })
  events.push({ _tag: "FilesCompleted", sessionId: S, files: [0] }, { _tag: "SessionCompleted", sessionId: S })
  const xml = await build(events, "D1")
  assert.equal(xml.split("<PageRange ").length - 1, records * perRecord)
  assert.match(xml, new RegExp(`<PageRange Offset="${length - 1024}" Length="512" Hash="${H(perRecord)}" />`))
})
