import assert from "node:assert/strict"
import { test } from "node:test"
import { ManifestJsonLines, masked } from "./manifest-json.ts"
import type { ManifestEvent } from "./manifest-model.ts"

const H = "0CC175B9C0F1B6A831C399E269772661"

const lines = (events: ReadonlyArray<ManifestEvent>): Array<Record<string, unknown>> => {
  const j = new ManifestJsonLines()
  let text = ""
  for (const e of events) text += j.event(e)
  assert.ok(text === "" || text.endsWith("\n"))
  return text === "" ? [] : text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
}

test("drive, blob list and blob lines; every field; numbers as numbers", () => {
  const out = lines([
    { _tag: "ManifestStart", version: "2014-11-01" },
    { _tag: "DriveField", name: "DriveId", value: "9WM35C2V" },
    { _tag: "DriveField", name: "StorageAccountKey", value: "SECRET-KEY==" },
    { _tag: "DriveField", name: "ClientCreator", value: "waie" },
    { _tag: "BlobListStart", id: "s#1-0", metadataPath: { path: "\\m.xml", hash: H, line: 3 } },
    { _tag: "BlobStart", blobPath: "c00/a", filePath: "\\a", clientData: "cd", snapshot: "snap", length: 3, importDisposition: "rename", list: "block", line: 4, at: {} },
    { _tag: "Block", offset: 0, length: 2, id: "AAAAAA==", hash: H, line: 5 },
    { _tag: "Block", offset: 2, length: 1, hash: H },
    { _tag: "BlobEnd", metadataPath: { path: "m", hash: H }, propertiesPath: { path: "p", hash: H } },
    { _tag: "BlobStart", blobPath: "c00/p", filePath: "p", length: 1024, list: "page" },
    { _tag: "PageRange", offset: 512, length: 512, hash: H },
    { _tag: "BlobEnd" },
    { _tag: "BlobStart", blobPath: "c00/e", filePath: "e", length: 0, list: "none" },
    { _tag: "BlobEnd" },
    { _tag: "BlobStart", blobPath: "c00/z", filePath: "z", length: 0, list: "block" },
    { _tag: "BlobEnd" },
    { _tag: "BlobListEnd" },
    { _tag: "BlobListStart" },
    { _tag: "BlobListEnd" },
    { _tag: "ManifestEnd" },
  ])
  assert.deepEqual(out, [
    { type: "drive", version: "2014-11-01", driveId: "9WM35C2V", storageAccountKey: masked, clientCreator: "waie" },
    { type: "blobList", index: 0, id: "s#1-0", metadataPath: { path: "\\m.xml", hash: H } },
    {
      type: "blob",
      blobList: 0,
      blobPath: "c00/a",
      filePath: "\\a",
      clientData: "cd",
      snapshot: "snap",
      length: 3,
      importDisposition: "rename",
      blocks: [
        { offset: 0, length: 2, id: "AAAAAA==", hash: H },
        { offset: 2, length: 1, hash: H },
      ],
      metadataPath: { path: "m", hash: H },
      propertiesPath: { path: "p", hash: H },
    },
    { type: "blob", blobList: 0, blobPath: "c00/p", filePath: "p", length: 1024, pageRanges: [{ offset: 512, length: 512, hash: H }] },
    { type: "blob", blobList: 0, blobPath: "c00/e", filePath: "e", length: 0 },
    { type: "blob", blobList: 0, blobPath: "c00/z", filePath: "z", length: 0, blocks: [] },
    { type: "blobList", index: 1 },
  ])
  // `type` comes first on every line
  for (const l of out) assert.equal(Object.keys(l)[0], "type")
})

test("the credential never appears, whichever it is", () => {
  for (const name of ["StorageAccountKey", "ContainerSas"] as const) {
    const j = new ManifestJsonLines()
    let text = ""
    for (const e of [{ _tag: "ManifestStart", version: "1" }, { _tag: "DriveField", name, value: "sv=1&sig=TOPSECRET" }, { _tag: "ManifestEnd" }] as Array<ManifestEvent>) text += j.event(e)
    assert.ok(!text.includes("TOPSECRET"))
    assert.match(text, /"\*{7}"/)
  }
})

test("a drive field given twice or after a blob list comes as a further drive line", () => {
  const out = lines([
    { _tag: "ManifestStart", version: "1" },
    { _tag: "DriveField", name: "DriveId", value: "A" },
    { _tag: "DriveField", name: "DriveId", value: "B" },
    { _tag: "BlobListStart" },
    { _tag: "DriveField", name: "ClientCreator", value: "late" },
    { _tag: "BlobListEnd" },
    { _tag: "ManifestEnd" },
  ])
  assert.deepEqual(out, [
    { type: "drive", version: "1", driveId: "A" },
    { type: "drive", driveId: "B" },
    { type: "blobList", index: 0 },
    { type: "drive", clientCreator: "late" },
  ])
})
