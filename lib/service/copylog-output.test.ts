import assert from "node:assert/strict"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Effect, Exit, Layer, Stream } from "effect"
import { type CopyLogEvent, serializeCopyLog } from "../copylog.ts"
import { sampleImport } from "../copylog-samples.ts"
import { StorageError } from "../storage.ts"
import { CopyLogInconsistent, copyLogFiles, copyLogName, ErrorLogFilter, publishCopyLogs } from "./copylog-output.ts"
import { makeMemoryStore } from "./memory-store.ts"

test("copy log names: the documentation's example, and every field padded", () => {
  assert.equal(copyLogName("myjob", "9WM35C2V", new Date(Date.UTC(2013, 8, 21, 3, 43, 7, 902)), "error"), "myjob_9WM35C2V_20130921-034307-902_error.xml")
  assert.equal(copyLogName("j", "D", new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), "verbose"), "j_D_20240102-030405-006_verbose.xml")
  const f = copyLogFiles({ job: "j", driveId: "D", time: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), logDir: "/logs" })
  assert.equal(f.error.file, "/logs/j_D_20240102-030405-006_error.xml")
  assert.equal(f.error.blobPath, "waimportexport/waies/j_D_20240102-030405-006_error.xml")
})

/** A verbose log: one good blob, one with a corrupted page range among good ones, one FileNotFound, one whose properties failed. */
const verbose: Array<CopyLogEvent> = [
  { _tag: "LogStart", version: "2014-11-01" },
  { _tag: "DriveId", value: "9WM35C2V" },
  { _tag: "BlobStart", status: "Completed", blobPath: "pictures/a.jpg", filePath: "\\a.jpg", length: 512, importDisposition: { status: "Renamed", value: "rename" }, list: "block" },
  { _tag: "Block", offset: 0, length: 512, id: "AAAAAA==", hash: "700CE7E21ED55525977FAF7AAA9E546B", status: "Completed" },
  { _tag: "BlobEnd", metadata: { status: "Completed", globalPath: { path: "\\m.xml", hash: "E34F54B7086BCF4EC1601D056F4C7E37" } } },
  { _tag: "BlobStart", status: "CompletedWithErrors", blobPath: "pictures/animals/koala.jpg", filePath: "\\animals\\koala.jpg", length: 163840, importDisposition: { status: "Overwritten", value: "overwrite" }, list: "page" },
  { _tag: "PageRange", offset: 0, length: 65536, hash: "11111111111111111111111111111111", status: "Completed" },
  { _tag: "PageRange", offset: 65536, length: 65536, hash: "AA2585F6F6FD01C4AD4256E018240CD4", status: "Corrupted" },
  { _tag: "PageRange", offset: 131072, length: 32768, hash: "22222222222222222222222222222222", status: "Completed" },
  { _tag: "BlobEnd" },
  { _tag: "DriveStatus", status: "CompletedWithErrors" },
  { _tag: "LogEnd" },
]

const filter = (events: ReadonlyArray<CopyLogEvent>): Array<CopyLogEvent> => {
  const f = new ErrorLogFilter()
  return events.flatMap((e) => [...f.push(e)])
}

test("the error log keeps the failed blobs and, in them, only the failed ranges: the §1.5 sample comes out", () => {
  assert.equal(serializeCopyLog(filter(verbose)), sampleImport)
})

test("the error log keeps failed metadata and properties entries, and drops completed ones", () => {
  const events: Array<CopyLogEvent> = [
    { _tag: "LogStart", version: "2014-11-01" },
    { _tag: "DriveId", value: "D" },
    { _tag: "BlobStart", status: "CompletedWithErrors", blobPath: "c/b", filePath: "\\b", length: 1, importDisposition: { status: "Created", value: "rename" }, list: "block" },
    { _tag: "Block", offset: 0, length: 1, hash: "700CE7E21ED55525977FAF7AAA9E546B", status: "Completed" },
    { _tag: "BlobEnd", metadata: { status: "Completed" }, properties: { status: "Corrupted", path: { path: "\\p.xml", hash: "E34F54B7086BCF4EC1601D056F4C7E37" } } },
    { _tag: "DriveStatus", status: "CompletedWithErrors" },
    { _tag: "LogEnd" },
  ]
  const text = serializeCopyLog(filter(events))
  assert.match(text, /<BlockList \/>\n    <Properties Status="Corrupted">/)
  assert.doesNotMatch(text, /Metadata/)
})

test("a Completed blob with a failed part is the executor's bug, not a silent omission", () => {
  const bad: Array<CopyLogEvent> = [verbose[0]!, verbose[1]!, { ...(verbose[2] as Extract<CopyLogEvent, { _tag: "BlobStart" }>) }, { ...(verbose[3] as Extract<CopyLogEvent, { _tag: "Block" }>), status: "Corrupted" }]
  assert.throws(() => filter(bad), CopyLogInconsistent)
  const badMeta: Array<CopyLogEvent> = [verbose[0]!, verbose[1]!, verbose[2]!, verbose[3]!, { _tag: "BlobEnd", properties: { status: "XmlReadFailed" } }]
  assert.throws(() => filter(badMeta), CopyLogInconsistent)
})

test("publish: both files in the log folder, the error log derived, both uploaded under waimportexport/waies/", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-clo-"))
  try {
    const store = makeMemoryStore()
    const time = new Date(Date.UTC(2013, 8, 21, 3, 43, 7, 902))
    const files = await Effect.runPromise(publishCopyLogs({ job: "myjob", driveId: "9WM35C2V", time, logDir: dir }, Stream.fromIterable(verbose)).pipe(Effect.provide(Layer.merge(store.layer, NodeContext.layer))))
    assert.deepEqual(readdirSync(dir).sort(), ["myjob_9WM35C2V_20130921-034307-902_error.xml", "myjob_9WM35C2V_20130921-034307-902_verbose.xml"])
    assert.equal(readFileSync(files.verbose.file, "utf8"), serializeCopyLog(verbose))
    assert.equal(readFileSync(files.error.file, "utf8"), sampleImport)
    assert.deepEqual(store.names(), ["waimportexport/waies/myjob_9WM35C2V_20130921-034307-902_error.xml", "waimportexport/waies/myjob_9WM35C2V_20130921-034307-902_verbose.xml"])
    assert.equal(Buffer.from(store.content(files.error.blobPath)!).toString("utf8"), sampleImport)
    assert.equal(Buffer.from(store.content(files.verbose.blobPath)!).toString("utf8"), serializeCopyLog(verbose))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("publish: when storage refuses the upload the local files are there and the StorageError comes out", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-clo-"))
  try {
    const store = makeMemoryStore({ fault: (r) => (r.operation === "upload" ? new StorageError({ operation: "upload", target: "x", status: 403, code: "AuthenticationFailed", detail: "" }) : undefined) })
    const exit = await Effect.runPromiseExit(publishCopyLogs({ job: "j", driveId: "D", time: new Date(0), logDir: dir }, Stream.fromIterable(verbose)).pipe(Effect.provide(Layer.merge(store.layer, NodeContext.layer))))
    assert.ok(Exit.isFailure(exit))
    assert.equal(readdirSync(dir).length, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
