import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Stream } from "effect"
import { type CopyLogEvent, CopyLogSerializer, CopyLogWriteError, serializeCopyLog, writeCopyLogFile } from "./copylog.ts"
import { readText, sampleImport, sampleImportEvents } from "./copylog-samples.ts"

test("the §1.5 import sample comes out byte for byte", () => {
  assert.equal(serializeCopyLog(sampleImportEvents), sampleImport)
})

const exportLog: Array<CopyLogEvent> = [
  { _tag: "LogStart", version: "2014-11-01" },
  { _tag: "DriveId", value: "9WM35C3U" },
  {
    _tag: "BlobStart",
    status: "CompletedWithErrors",
    blobPath: "pictures/wild/canyon & <sun>.jpg",
    filePath: "\\pictures\\wild\\canyon & <sun>.jpg\r",
    snapshot: "2012-09-18T23:47:08.1234567Z",
    length: 163840,
    lastModified: "2012-09-18T23:47:08Z",
    list: "block",
  },
  { _tag: "BlobEnd", metadata: { status: "Completed", globalPath: { path: "\\all.meta", hash: "E34F54B7086BCF4EC1601D056F4C7E37" }, path: { hash: "38D7AE80653F47F63C0222FEE90EC4E7" } }, properties: { status: "Failed" } },
  {
    _tag: "BlobStart",
    status: "FileNotFound",
    blobPath: "pictures/animals/koala.jpg",
    filePath: "\\animals\\koala.jpg",
    length: 1024,
    importDisposition: { status: "Cancelled", value: "rename" },
    list: "block",
  },
  { _tag: "Block", offset: 0, length: 512, id: "AAAAAA==", hash: "700CE7E21ED55525977FAF7AAA9E546B", status: "Cancelled" },
  { _tag: "Block", offset: 512, length: 512, status: "Cancelled" },
  { _tag: "BlobEnd" },
  { _tag: "BlobStart", status: "Completed", blobPath: "c1/none", filePath: "\\none", length: 0, list: "none" },
  { _tag: "BlobEnd" },
  { _tag: "DriveStatus", status: "CompletedWithErrors" },
  { _tag: "LogEnd" },
]

const exportBytes = `<?xml version="1.0" encoding="utf-8"?>
<DriveLog Version="2014-11-01">
  <DriveId>9WM35C3U</DriveId>
  <Blob Status="CompletedWithErrors">
    <BlobPath>pictures/wild/canyon &amp; &lt;sun&gt;.jpg</BlobPath>
    <FilePath>\\pictures\\wild\\canyon &amp; &lt;sun&gt;.jpg&#13;</FilePath>
    <Snapshot>2012-09-18T23:47:08.1234567Z</Snapshot>
    <Length>163840</Length>
    <LastModified>2012-09-18T23:47:08Z</LastModified>
    <BlockList />
    <Metadata Status="Completed">
      <GlobalPath Hash="E34F54B7086BCF4EC1601D056F4C7E37">\\all.meta</GlobalPath>
      <Path Hash="38D7AE80653F47F63C0222FEE90EC4E7" />
    </Metadata>
    <Properties Status="Failed" />
  </Blob>
  <Blob Status="FileNotFound">
    <BlobPath>pictures/animals/koala.jpg</BlobPath>
    <FilePath>\\animals\\koala.jpg</FilePath>
    <Length>1024</Length>
    <ImportDisposition Status="Cancelled">rename</ImportDisposition>
    <BlockList>
      <Block Offset="0" Length="512" Id="AAAAAA==" Hash="700CE7E21ED55525977FAF7AAA9E546B" Status="Cancelled"/>
      <Block Offset="512" Length="512" Status="Cancelled"/>
    </BlockList>
  </Blob>
  <Blob Status="Completed">
    <BlobPath>c1/none</BlobPath>
    <FilePath>\\none</FilePath>
    <Length>0</Length>
  </Blob>
  <Status>CompletedWithErrors</Status>
</DriveLog>
`

test("writer exact bytes: element order, escaping, CR as a reference, empty containers, ranges", () => {
  assert.equal(serializeCopyLog(exportLog), exportBytes)
})

test("what the writer writes, the reader reads back", () => {
  const r = readText(exportBytes)
  assert.ok(Either.isRight(r))
  assert.deepEqual(r.right, exportLog)
})

test("a LogStart without version writes Version=2014-11-01", () => {
  const s = serializeCopyLog([{ _tag: "LogStart" }, { _tag: "DriveId", value: "X" }, { _tag: "DriveStatus", status: "Completed" }, { _tag: "LogEnd" }])
  assert.equal(s, `<?xml version="1.0" encoding="utf-8"?>\n<DriveLog Version="2014-11-01">\n  <DriveId>X</DriveId>\n  <Status>Completed</Status>\n</DriveLog>\n`)
})

test("the serializer refuses events out of grammar and values XML cannot carry", () => {
  const start: Array<CopyLogEvent> = [{ _tag: "LogStart" }, { _tag: "DriveId", value: "X" }]
  const blob: CopyLogEvent = { _tag: "BlobStart", status: "Completed", blobPath: "c1/b", filePath: "\\b", length: 1, list: "page" }
  const bad: Array<Array<CopyLogEvent>> = [
    [{ _tag: "DriveId", value: "X" }],
    [...start, { _tag: "LogEnd" }],
    [...start, blob, { _tag: "Block", offset: 0, length: 1, status: "Completed" }],
    [...start, { ...blob, list: "none" }, { _tag: "PageRange", offset: 0, length: 1, status: "Completed" }],
    [...start, { ...blob, blobPath: "c1/\u0001" }],
    [...start, { ...blob, length: -1 }],
    [...start, { ...blob, status: "Done" as never }],
    [{ _tag: "LogStart", version: "2018-10-01" }],
  ]
  for (const events of bad) assert.throws(() => serializeCopyLog(events), CopyLogWriteError, JSON.stringify(events.at(-1)))
  const s = new CopyLogSerializer()
  for (const e of start) s.write(e)
  assert.throws(() => s.finish(), /ended early: BlobStart or DriveStatus was expected/)
})

const run = <A, E>(e: Effect.Effect<A, E, NodeContext.NodeContext>) => Effect.runPromise(e.pipe(Effect.either, Effect.provide(NodeContext.layer)))

test("writeCopyLogFile writes the bytes under the final name and leaves no temp file", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-copylog-"))
  try {
    const file = path.join(dir, "drive_error.xml")
    const r = await run(writeCopyLogFile(file, Stream.fromIterable(exportLog)))
    assert.ok(Either.isRight(r))
    assert.equal(readFileSync(file, "utf8"), exportBytes)
    assert.deepEqual(readdirSync(dir), ["drive_error.xml"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a failing event stream leaves neither the file nor a temp file; an old file stays whole", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-copylog-"))
  try {
    const file = path.join(dir, "log.xml")
    const failing = Stream.fromIterable(exportLog.slice(0, 4)).pipe(Stream.concat(Stream.fail("source broke" as const)))
    const r = await run(writeCopyLogFile(file, failing))
    assert.deepEqual(r, Either.left("source broke"))
    assert.deepEqual(readdirSync(dir), [])
    // an existing log is replaced only by a complete one
    await run(writeCopyLogFile(file, Stream.fromIterable(exportLog)))
    const truncated = Stream.fromIterable(exportLog.slice(0, 4))
    const r2 = await Effect.runPromiseExit(writeCopyLogFile(file, truncated).pipe(Effect.provide(NodeContext.layer)))
    assert.equal(r2._tag, "Failure")
    assert.equal(readFileSync(file, "utf8"), exportBytes)
    assert.deepEqual(readdirSync(dir), ["log.xml"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an unwritable place is a FileUnwritable naming the path as shown", async () => {
  const r = await run(writeCopyLogFile("/nonexistent-dir/x/log.xml", Stream.fromIterable(exportLog), "x/log.xml"))
  assert.ok(Either.isLeft(r))
  assert.equal((r.left as { _tag: string })._tag, "FileUnwritable")
  assert.equal((r.left as { path: string }).path, "x/log.xml")
  assert.equal(existsSync("/nonexistent-dir"), false)
})
