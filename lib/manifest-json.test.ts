import assert from "node:assert/strict"
import { test } from "node:test"
import { JsonLineIssue, ManifestJsonLines, ManifestJsonReader, masked } from "./manifest-json.ts"
import type { ManifestEvent } from "./manifest-model.ts"
import { serializeManifest } from "./manifest-writer.ts"

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

// ---------------------------------------------------------------- the way back

const back = (text: string, credentials = {}): string => {
  const r = new ManifestJsonReader(credentials)
  const lines = text.split("\n")
  return serializeManifest([...lines.flatMap((l, i) => r.line(l, i + 1)), ...r.end(lines.length + 1)])
}

const issueOf = (text: string, credentials = {}): JsonLineIssue => {
  try {
    back(text, credentials)
  } catch (e) {
    if (e instanceof JsonLineIssue) return e
    throw e
  }
  assert.fail("no issue")
}

const drive = '{"type":"drive","version":"2014-11-01","driveId":"D1","storageAccountKey":"*******"}'

test("the masked key is replaced by the one given; blank lines are skipped", () => {
  const xml = back(`${drive}\n\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":"c/a","filePath":"\\\\a","length":1,"blocks":[{"offset":0,"length":1,"hash":"${H}"}]}\n`, { StorageAccountKey: "S0VZ" })
  assert.match(xml, /<StorageAccountKey>S0VZ<\/StorageAccountKey>/)
  assert.match(xml, /<Block Offset="0" Length="1" Hash="0CC175B9C0F1B6A831C399E269772661" \/>/)
  assert.doesNotMatch(xml, /\*{7}/)
})

test("each bad line is named, with the field, what was expected and what was found", () => {
  const cases: ReadonlyArray<readonly [string, number, string | undefined, RegExp]> = [
    ["not json", 1, undefined, /not JSON/],
    ['{"type":"blob"}', 1, "type", /a "drive" line first/],
    [`${drive}\n{"type":"blob","blobList":0,"blobPath":"c/a","filePath":"a","length":0}`, 2, "blob.blobList", /a blobList line before the first blob/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":1,"blobPath":"c/a","filePath":"a","length":0}`, 3, "blob.blobList", /the current list, 0/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":"c/a","filePath":"a","length":-1}`, 3, "blob.length", /a whole number ≥ 0/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":"c/a","filePath":"a","length":1,"colour":"red"}`, 3, "blob", /a key "colour"/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":7,"filePath":"a","length":1}`, 3, "blob.blobPath", /number 7/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":"c/\\u0001","filePath":"a","length":1}`, 3, "blob.blobPath", /characters XML 1.0 can carry/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"blob","blobList":0,"blobPath":"c/a","filePath":"a","length":1,"blocks":[{"offset":0,"length":1}]}`, 3, "blob.blocks[0].hash", /a string/],
    [`${drive}\n{"type":"blobList","index":1}\n{"type":"blobList","index":1}`, 3, "blobList.index", /an index above 1/],
    [`${drive}\n{"type":"blobList","index":0}\n{"type":"drive","clientCreator":"x"}`, 3, "type", /before the first blob list/],
    [`${drive}\n{"type":"issue","format":"manifest"}`, 2, "type", /not a whole manifest/],
    ['{"type":"drive","version":"1","storageAccountKey":"*******"}', 1, "drive.storageAccountKey", /storage account key \(--sk or --key-file\)/],
    ["", 2, undefined, /no line/],
  ]
  for (const [text, line, field, found] of cases) {
    const issue = issueOf(text, text.startsWith(drive) ? { StorageAccountKey: "S0VZ" } : {})
    assert.equal(issue.line, line, text)
    assert.equal(issue.field, field, text)
    assert.match(`expected ${issue.expected}, found ${issue.found}`, found, text)
  }
})

test("a credential written into a line is never shown in an issue", () => {
  const issue = issueOf('{"type":"drive","version":"1","containerSas":"sv=1&sig=SECRET\\u0001"}')
  assert.equal(issue.field, "drive.containerSas")
  assert.doesNotMatch(issue.found, /SECRET/)
})
