import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Stream } from "effect"
import { InvalidInput } from "./errors.ts"
import { type ManifestEvent, withoutPositions } from "./manifest-model.ts"
import { ManifestParser } from "./manifest-reader.ts"
import { ManifestOrderError, ManifestSerializer, serializeManifest, UnwritableValue, writeManifest } from "./manifest-writer.ts"
import { importManifestEvents } from "../goldens/manifest/import-events.ts"

const H = "0CC175B9C0F1B6A831C399E269772661"

const small: Array<ManifestEvent> = [
  { _tag: "ManifestStart", version: "2014-11-01" },
  { _tag: "DriveField", name: "DriveId", value: "9WM35C2V" },
  { _tag: "DriveField", name: "ContainerSas", value: "?sv=2016-05-31&sr=c&sig=x%3D" },
  { _tag: "BlobListStart", id: "session#1-0", metadataPath: { path: "\\meta.xml", hash: H } },
  { _tag: "BlobStart", blobPath: "c00/a <&> \"b\"", filePath: "\\a", clientData: "x\ry", length: 3, importDisposition: "rename", list: "block" },
  { _tag: "Block", offset: 0, length: 3, id: "AAAAAA==", hash: H },
  { _tag: "BlobEnd", propertiesPath: { path: "\\a.props", hash: H } },
  { _tag: "BlobStart", blobPath: "c00/p", filePath: "p", snapshot: "2011-03-09T01:42:34.9360000Z", length: 1024, list: "page" },
  { _tag: "PageRange", offset: 512, length: 512, hash: H },
  { _tag: "BlobEnd" },
  { _tag: "BlobStart", blobPath: "c00/e", filePath: "e", length: 0, list: "none" },
  { _tag: "BlobEnd" },
  { _tag: "BlobListEnd" },
  { _tag: "BlobListStart" },
  { _tag: "BlobListEnd" },
  { _tag: "ManifestEnd" },
]

const smallBytes = `<?xml version="1.0" encoding="UTF-8"?>
<DriveManifest Version="2014-11-01">
  <Drive>
    <DriveId>9WM35C2V</DriveId>
    <ContainerSas>?sv=2016-05-31&amp;sr=c&amp;sig=x%3D</ContainerSas>
    <BlobList Id="session#1-0">
      <MetadataPath Hash="${H}">\\meta.xml</MetadataPath>
      <Blob>
        <BlobPath>c00/a &lt;&amp;&gt; "b"</BlobPath>
        <FilePath>\\a</FilePath>
        <ClientData>x&#13;y</ClientData>
        <Length>3</Length>
        <ImportDisposition>rename</ImportDisposition>
        <BlockList>
          <Block Offset="0" Length="3" Id="AAAAAA==" Hash="${H}" />
        </BlockList>
        <PropertiesPath Hash="${H}">\\a.props</PropertiesPath>
      </Blob>
      <Blob>
        <BlobPath>c00/p</BlobPath>
        <FilePath>p</FilePath>
        <Snapshot>2011-03-09T01:42:34.9360000Z</Snapshot>
        <Length>1024</Length>
        <PageRangeList>
          <PageRange Offset="512" Length="512" Hash="${H}" />
        </PageRangeList>
      </Blob>
      <Blob>
        <BlobPath>c00/e</BlobPath>
        <FilePath>e</FilePath>
        <Length>0</Length>
      </Blob>
    </BlobList>
    <BlobList>
    </BlobList>
  </Drive>
</DriveManifest>
`

const parse = (text: string): Array<ManifestEvent> => {
  const p = new ManifestParser()
  return [...p.write(new TextEncoder().encode(text)), ...p.end()].map(withoutPositions)
}

test("the writer's exact bytes for a small manifest", () => {
  assert.equal(serializeManifest(small), smallBytes)
})

test("writer → reader gives the same events back", () => {
  assert.deepEqual(parse(serializeManifest(small)), small)
})

test("the example import manifest of the goldens is what the writer produces", () => {
  const golden = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "goldens", "manifest", "import.xml")
  assert.equal(serializeManifest(importManifestEvents), readFileSync(golden, "utf8"))
})

test("events out of order are a bug of the caller (a defect), not bad data", () => {
  const bad: Array<Array<ManifestEvent>> = [
    [{ _tag: "DriveField", name: "DriveId", value: "x" }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "DriveField", name: "DriveId", value: "x" }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "Block", offset: 0, length: 1, hash: H }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "BlobStart", blobPath: "c/b", filePath: "b", length: 0, list: "none" }, { _tag: "Block", offset: 0, length: 1, hash: H }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "BlobStart", blobPath: "c/b", filePath: "b", length: 0, list: "page" }, { _tag: "Block", offset: 0, length: 1, hash: H }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "BlobStart", blobPath: "c/b", filePath: "b", length: 0, list: "block" }, { _tag: "PageRange", offset: 0, length: 1, hash: H }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "ManifestEnd" }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "BlobStart", blobPath: "c/b", filePath: "b", length: -1, list: "none" }],
    [small[0]!, { _tag: "BlobListStart" }, { _tag: "BlobStart", blobPath: "c/b", filePath: "b", length: 1.5, list: "none" }],
    [small[0]!, { _tag: "ManifestEnd" }, { _tag: "ManifestEnd" }],
    [small[0]!], // never ended
  ]
  for (const events of bad) assert.throws(() => serializeManifest(events), ManifestOrderError, JSON.stringify(events))
})

test("a value XML cannot carry is refused, naming the field", () => {
  const s = new ManifestSerializer()
  s.push(small[0]!)
  s.push({ _tag: "BlobListStart" })
  assert.throws(
    () => s.push({ _tag: "BlobStart", blobPath: "c00/a\u0001", filePath: "a", length: 0, list: "none" }),
    (e: unknown) => e instanceof UnwritableValue && e.field === "Blob/BlobPath",
  )
  assert.throws(() => new ManifestSerializer().push({ _tag: "ManifestStart", version: "\uD800" }), UnwritableValue)
})

const tempDir = (): string => mkdtempSync(path.join(tmpdir(), "waie-manifest-"))
const run = <A, E>(e: Effect.Effect<A, E, NodeContext.NodeContext>) => Effect.runPromise(e.pipe(Effect.either, Effect.provide(NodeContext.layer)))

test("writeManifest: the file, its MD5 and size; 0600; no temp file left", async () => {
  const dir = tempDir()
  try {
    const target = path.join(dir, "DriveManifest.xml")
    const r = await run(writeManifest(target, Stream.fromIterable(small)))
    assert.ok(Either.isRight(r))
    const bytes = readFileSync(target)
    assert.equal(bytes.toString("utf8"), smallBytes)
    assert.deepEqual(r.right, { hash: createHash("md5").update(bytes).digest("hex").toUpperCase(), bytes: bytes.length })
    assert.match(r.right.hash, /^[0-9A-F]{32}$/)
    if (process.platform !== "win32") assert.equal(statSync(target).mode & 0o777, 0o600)
    assert.deepEqual(readdirSync(dir), ["DriveManifest.xml"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("writeManifest: output beyond the write buffer (several writes) hashes the same as the whole", async () => {
  const dir = tempDir()
  try {
    const events: Array<ManifestEvent> = [small[0]!, small[1]!, { _tag: "BlobListStart" }]
    const n = 40_000
    events.push({ _tag: "BlobStart", blobPath: "c00/big", filePath: "big", length: n, list: "block" })
    for (let i = 0; i < n; i++) events.push({ _tag: "Block", offset: i, length: 1, id: Buffer.from([i & 255, i >> 8, 0, 0]).toString("base64"), hash: H })
    events.push({ _tag: "BlobEnd" }, { _tag: "BlobListEnd" }, { _tag: "ManifestEnd" })
    const target = path.join(dir, "m.xml")
    const r = await run(writeManifest(target, Stream.fromIterable(events).pipe(Stream.rechunk(1000))))
    assert.ok(Either.isRight(r))
    const text = serializeManifest(events)
    assert.ok(Buffer.byteLength(text) > 3 * 1024 * 1024)
    assert.equal(readFileSync(target, "utf8"), text)
    assert.equal(r.right.hash, createHash("md5").update(text).digest("hex").toUpperCase())
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("writeManifest: a failure midway leaves the old file untouched and no temp file", async () => {
  const dir = tempDir()
  try {
    const target = path.join(dir, "m.xml")
    writeFileSync(target, "old")
    const failing = Stream.fromIterable(small.slice(0, 6)).pipe(Stream.concat(Stream.fail("source broke")))
    const r = await run(writeManifest(target, failing))
    assert.ok(Either.isLeft(r))
    assert.equal(r.left, "source broke")
    assert.equal(readFileSync(target, "utf8"), "old")
    assert.deepEqual(readdirSync(dir), ["m.xml"])
    // a value XML cannot carry: typed InvalidInput naming the field, target untouched
    const bad = small.map((e) => (e._tag === "BlobStart" && e.blobPath === "c00/p" ? { ...e, filePath: "p\u0000" } : e))
    const r2 = await run(writeManifest(target, Stream.fromIterable(bad), "shown.xml"))
    assert.ok(Either.isLeft(r2) && r2.left instanceof InvalidInput)
    assert.equal(r2.left.issues[0]!.field, "Blob/FilePath")
    assert.equal(r2.left.file, "shown.xml")
    assert.equal(readFileSync(target, "utf8"), "old")
    assert.deepEqual(readdirSync(dir), ["m.xml"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("writeManifest: an unwritable place is a typed FileUnwritable", async () => {
  const r = await run(writeManifest("/nonexistent-dir-waie/m.xml", Stream.fromIterable(small), "m.xml"))
  assert.ok(Either.isLeft(r))
  assert.equal((r.left as { _tag: string })._tag, "FileUnwritable")
  assert.equal((r.left as { path: string }).path, "m.xml")
})
