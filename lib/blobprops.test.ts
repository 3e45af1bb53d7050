import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either } from "effect"
import {
  BlobPropsWriteError,
  fromBlobProperties,
  fromMetadataRecord,
  maxFileBytes,
  maxMetadataBytes,
  parseMetadata,
  parseProperties,
  readMetadataFile,
  readPropertiesFile,
  serializeMetadata,
  serializeProperties,
  toBlobHttpHeaders,
  toMetadataRecord,
  writeMetadataFile,
} from "./blobprops.ts"

const enc = new TextEncoder()
const md5 = (s: string | Uint8Array) => createHash("md5").update(s).digest("hex").toUpperCase()
const meta = (text: string) => parseMetadata(enc.encode(text), "m.xml")
const props = (text: string, context: "import" | "export" = "import") => parseProperties(enc.encode(text), "p.xml", context)
const brief = (issues: ReadonlyArray<{ line?: number; field?: string; severity?: string; expected: string; found: string }>) =>
  issues.map((i) => [i.line, i.field, i.severity ?? "error", i.found])

// ---------------------------------------------------------------- metadata

const metadataFile = `<?xml version="1.0" encoding="UTF-8"?>
<Metadata>
  <Author>Jane Doe</Author>
  <Project_2>koala &amp; &lt;friends&gt;</Project_2>
  <_empty></_empty>
</Metadata>
`

test("metadata: pairs in file order, the MD5 of the file bytes, no issues", () => {
  const r = meta(metadataFile)
  assert.deepEqual(r.value, [
    { name: "Author", value: "Jane Doe" },
    { name: "Project_2", value: "koala & <friends>" },
    { name: "_empty", value: "" },
  ])
  assert.equal(r.md5, md5(metadataFile))
  assert.equal(r.bytes, enc.encode(metadataFile).length)
  assert.deepEqual(r.issues, [])
  assert.equal(r.valid, true)
})

test("metadata: an empty <Metadata /> is valid and sets nothing", () => {
  const r = meta(`<?xml version="1.0" encoding="UTF-8"?>\n<Metadata />\n`)
  assert.equal(r.valid, true)
  assert.deepEqual(r.value, [])
})

test("metadata names must be ASCII C# identifiers", () => {
  const r = meta(`<Metadata>\n<my-name>x</my-name>\n<a.b>x</a.b>\n<Auteur_é>x</Auteur_é>\n<ns:x>x</ns:x>\n<ok_1>x</ok_1>\n</Metadata>`)
  assert.deepEqual(
    brief(r.issues),
    [
      [2, "metadata name", "error", '"my-name"'],
      [3, "metadata name", "error", '"a.b"'],
      [4, "metadata name", "error", '"Auteur_é"'],
      [5, "metadata name", "error", '"ns:x"'],
    ],
  )
  assert.equal(r.valid, false)
  // a name that cannot even be an XML element name is malformed XML
  const r2 = meta(`<Metadata>\n<2nd>x</2nd>\n</Metadata>`)
  assert.deepEqual(
    r2.issues.map((i) => [i.line, i.expected, i.found]),
    [[2, "well-formed XML", "disallowed character in tag name"]],
  )
})

test("metadata names differing only by case are an issue naming the first", () => {
  const r = meta(`<Metadata>\n  <Author>a</Author>\n  <author>b</author>\n</Metadata>`)
  assert.deepEqual(brief(r.issues), [[3, "metadata name", "error", '"author", already given as "Author" on line 2']])
})

test("metadata: names and values together at most 8 KiB", () => {
  const fill = (n: number) => `<Metadata><a>${"x".repeat(n - 1)}</a></Metadata>`
  assert.equal(meta(fill(maxMetadataBytes)).valid, true)
  const r = meta(fill(maxMetadataBytes + 1))
  assert.deepEqual(brief(r.issues), [[1, "Metadata", "error", `${maxMetadataBytes + 1} bytes`]])
  assert.match(r.issues[0]!.expected, /at most 8192 bytes/)
})

test("metadata values: no line breaks, tabs, control characters; ASCII only; outer blanks warn", () => {
  const r = meta(`<Metadata>
  <a>line&#10;break</a>
  <b>tab&#9;here</b>
  <c>del\u007f</c>
  <d>café</d>
  <e> padded </e>
  <f>fine: "quotes" 'and' &amp; symbols ~!@#$%^*()</f>
</Metadata>`)
  assert.deepEqual(brief(r.issues), [
    [2, "a", "error", "a line break (U+000A) at character 5"],
    [3, "b", "error", "a tab (U+0009) at character 4"],
    [4, "c", "error", "a control character (U+007F) at character 4"],
    [5, "d", "error", '"é" (U+00E9) at character 4'],
    [6, "e", "warning", '" padded "'],
  ])
  assert.equal(r.valid, false)
  assert.equal(meta(`<Metadata><e> padded </e></Metadata>`).valid, true, "a warning alone leaves the file valid")
})

test("metadata: attributes, nested elements, text between pairs, a wrong root are issues", () => {
  const r = meta(`<Metadata version="1">\n  <a kind="x">v</a>\n  <b><c>v</c></b>\n  stray\n</Metadata>`)
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.field, i.expected]),
    [
      [1, "Metadata/@version", "no attributes on <Metadata>"],
      [2, "a/@kind", "no attributes on <a>"],
      [3, "b", "text only in <b>"],
      [5, "Metadata", "only elements in <Metadata>"],
    ],
  )
  const root = meta(`<Properties><Content-Type>x</Content-Type></Properties>`)
  assert.deepEqual(brief(root.issues), [[1, "root element", "error", "<Properties>"]])
})

test("metadata: malformed XML is an issue, and the issues before it are kept", () => {
  const r = meta(`<Metadata>\n  <a.b>x</a.b>\n  <a>x</b>\n</Metadata>`)
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.field]),
    [
      [2, "metadata name"],
      [3, undefined],
    ],
  )
  assert.equal(r.issues[1]!.expected, "well-formed XML")
  assert.match(r.issues[1]!.found, /^unexpected close tag/)
})

test("properties: bytes that are not UTF-8 are an issue at their place, after the issues before them", () => {
  const bytes = Buffer.concat([Buffer.from("<Properties>\n  <Content-Type>image/jpeg</Content-Type>\n  <Colour>blue</Colour>\n  <Content-Language>fr-"), Buffer.from([0xff]), Buffer.from("</Content-Language>\n</Properties>\n")])
  const r = parseProperties(bytes, "p.xml")
  assert.equal(r.valid, false)
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.column, i.found]),
    [
      [3, 10, "<Colour>"],
      [4, 24, "bytes that are not UTF-8"],
    ],
  )
  assert.equal(r.md5, md5(bytes), "the file is still hashed whole")
})

test("metadata: a file over 1 MiB is refused unread, and still hashed", () => {
  const big = `<Metadata><a>${"x".repeat(maxFileBytes)}</a></Metadata>`
  const r = meta(big)
  assert.deepEqual(brief(r.issues), [[undefined, undefined, "error", `more than ${maxFileBytes} bytes`]])
  assert.equal(r.md5, md5(big))
})

test("metadata: a DOCTYPE is refused", () => {
  const r = meta(`<!DOCTYPE Metadata [<!ENTITY x "y">]><Metadata><a>&x;</a></Metadata>`)
  assert.equal(r.valid, false)
  assert.match(r.issues[0]!.expected, /no DOCTYPE/)
})

// ---------------------------------------------------------------- properties

const propertiesFile = `<?xml version="1.0" encoding="UTF-8"?>
<Properties>
  <Content-Type>image/jpeg</Content-Type>
  <Content-MD5>Q2hlY2sgSW50ZWdyaXR5IQ==</Content-MD5>
  <Content-Encoding>gzip</Content-Encoding>
  <Content-Language>en-US</Content-Language>
  <Cache-Control>max-age=3600, public</Cache-Control>
</Properties>
`

test("properties: the importable elements, the MD5 of the file bytes, no issues", () => {
  const r = props(propertiesFile)
  assert.deepEqual(r.value, { contentType: "image/jpeg", contentMD5: "Q2hlY2sgSW50ZWdyaXR5IQ==", contentEncoding: "gzip", contentLanguage: "en-US", cacheControl: "max-age=3600, public" })
  assert.equal(r.md5, md5(propertiesFile))
  assert.deepEqual(r.issues, [])
})

test("properties: export-only elements are kept, with a warning on import and none for an export file", () => {
  const text = `<Properties>\n<Last-Modified>Tue, 18 Sep 2012 23:47:08 GMT</Last-Modified>\n<Etag>0x8CF8A2C1F1B4E11</Etag>\n<Content-Length>163840</Content-Length>\n<Content-Type>image/jpeg</Content-Type>\n</Properties>`
  const r = props(text)
  assert.equal(r.valid, true)
  assert.deepEqual(r.value, { lastModified: "Tue, 18 Sep 2012 23:47:08 GMT", etag: "0x8CF8A2C1F1B4E11", contentLength: 163840, contentType: "image/jpeg" })
  assert.deepEqual(brief(r.issues), [
    [2, "Last-Modified", "warning", "<Last-Modified>"],
    [3, "Etag", "warning", "<Etag>"],
    [4, "Content-Length", "warning", "<Content-Length>"],
  ])
  assert.deepEqual(props(text, "export").issues, [])
})

test("properties: Content-Disposition is accepted as an extension, with a warning", () => {
  const r = props(`<Properties><Content-Disposition>attachment; filename="koala.jpg"</Content-Disposition></Properties>`)
  assert.equal(r.valid, true)
  assert.deepEqual(r.value, { contentDisposition: 'attachment; filename="koala.jpg"' })
  assert.deepEqual(brief(r.issues), [[1, "Content-Disposition", "warning", "<Content-Disposition>"]])
})

test("properties: Content-MD5 must be Base64 of 16 bytes", () => {
  const r = props(`<Properties>\n<Content-MD5>AA2585F6F6FD01C4AD4256E018240CD4</Content-MD5>\n</Properties>`)
  assert.deepEqual(brief(r.issues), [[2, "Content-MD5", "error", '"AA2585F6F6FD01C4AD4256E018240CD4", a Base16 (hex) MD5 as the manifest writes it; in Base64 it is qiWF9vb9AcStQlbgGCQM1A==']])
  const short = props(`<Properties><Content-MD5>AAAAAAAAAAAAAAAAAAAA</Content-MD5></Properties>`)
  assert.deepEqual(brief(short.issues), [[1, "Content-MD5", "error", '"AAAAAAAAAAAAAAAAAAAA" (15 bytes)']])
  const junk = props(`<Properties><Content-MD5>not base64!</Content-MD5></Properties>`)
  assert.deepEqual(brief(junk.issues), [[1, "Content-MD5", "error", '"not base64!"']])
})

test("properties: Content-Length is a whole number", () => {
  const r = props(`<Properties><Content-Length>12 KB</Content-Length></Properties>`, "export")
  assert.deepEqual(brief(r.issues), [[1, "Content-Length", "error", '"12 KB"']])
})

test("properties: unknown elements (names are case-sensitive) and repeated ones are issues", () => {
  const r = props(`<Properties>\n<Content-type>text/plain</Content-type>\n<x-ms-meta-a>1</x-ms-meta-a>\n<Content-Type>a/b</Content-Type>\n<Content-Type>c/d</Content-Type>\n</Properties>`)
  assert.deepEqual(brief(r.issues), [
    [2, "Properties", "error", "<Content-type>"],
    [3, "Properties", "error", "<x-ms-meta-a>"],
    [5, "Content-Type", "error", "<Content-Type> again (first on line 4)"],
  ])
  assert.match(r.issues[0]!.expected, /^one of Last-Modified, Etag, Content-Length, Content-Type, Content-MD5, Content-Encoding, Content-Language, Cache-Control, Content-Disposition/)
  assert.deepEqual(r.value, { contentType: "a/b" })
})

test("properties: values follow the header rules", () => {
  const r = props(`<Properties>\n<Content-Type>text/plain;\n charset=utf-8</Content-Type>\n<Content-Language>français</Content-Language>\n<Cache-Control> no-cache</Cache-Control>\n</Properties>`)
  assert.deepEqual(brief(r.issues), [
    [2, "Content-Type", "error", "a line break (U+000A) at character 12"],
    [4, "Content-Language", "error", '"ç" (U+00E7) at character 5'],
    [5, "Cache-Control", "warning", '" no-cache"'],
  ])
})

test("properties: an empty file element set is valid; a nested element or a wrong root is not", () => {
  assert.deepEqual(props(`<Properties />`).value, {})
  assert.equal(props(`<Properties />`).valid, true)
  assert.deepEqual(brief(props(`<Properties><Content-Type><b>x</b></Content-Type></Properties>`).issues), [[1, "Content-Type", "error", "a <b> element"]])
  assert.deepEqual(brief(props(`<Metadata />`).issues), [[1, "root element", "error", "<Metadata>"]])
})

// ---------------------------------------------------------------- writers

test("serializeMetadata: exact bytes, escaping, and the reader gets the pairs back", () => {
  const pairs = [
    { name: "Author", value: "Jane Doe" },
    { name: "Project_2", value: "koala & <friends>" },
    { name: "_empty", value: "" },
  ]
  const bytes = serializeMetadata(pairs)
  assert.equal(bytes, metadataFile.replace("<_empty></_empty>", "<_empty></_empty>"))
  assert.deepEqual(meta(bytes).value, pairs)
  assert.equal(serializeMetadata([]), `<?xml version="1.0" encoding="UTF-8"?>\n<Metadata />\n`)
})

test("serializeProperties: exact bytes in the format's element order, whatever the model's order", () => {
  const bytes = serializeProperties({ cacheControl: "max-age=3600, public", contentLanguage: "en-US", contentEncoding: "gzip", contentMD5: "Q2hlY2sgSW50ZWdyaXR5IQ==", contentType: "image/jpeg" })
  assert.equal(bytes, propertiesFile)
  assert.equal(serializeProperties({}), `<?xml version="1.0" encoding="UTF-8"?>\n<Properties />\n`)
  assert.equal(
    serializeProperties({ contentDisposition: "inline", contentLength: 10, lastModified: "Tue, 18 Sep 2012 23:47:08 GMT", etag: '"0x1"' }),
    `<?xml version="1.0" encoding="UTF-8"?>\n<Properties>\n  <Last-Modified>Tue, 18 Sep 2012 23:47:08 GMT</Last-Modified>\n  <Etag>"0x1"</Etag>\n  <Content-Length>10</Content-Length>\n  <Content-Disposition>inline</Content-Disposition>\n</Properties>\n`,
  )
})

test("the writers refuse what the readers would reject", () => {
  assert.throws(() => serializeMetadata([{ name: "1a", value: "x" }]), BlobPropsWriteError)
  assert.throws(() => serializeMetadata([{ name: "a", value: "x" }, { name: "A", value: "y" }]), BlobPropsWriteError)
  assert.throws(() => serializeMetadata([{ name: "a", value: "two\nlines" }]), BlobPropsWriteError)
  assert.throws(() => serializeMetadata([{ name: "a", value: "x".repeat(maxMetadataBytes) }]), BlobPropsWriteError)
  assert.throws(() => serializeProperties({ contentMD5: "AA2585F6F6FD01C4AD4256E018240CD4" }), BlobPropsWriteError)
  assert.throws(() => serializeProperties({ contentType: "é" }), BlobPropsWriteError)
  assert.throws(() => serializeProperties({ contentLength: -1 }), BlobPropsWriteError)
})

// ---------------------------------------------------------------- SDK mapping

test("toBlobHttpHeaders: the SDK's field names, MD5 as 16 bytes, export-only properties left out", () => {
  const h = toBlobHttpHeaders({ lastModified: "x", etag: "y", contentLength: 3, contentType: "image/jpeg", contentMD5: "Q2hlY2sgSW50ZWdyaXR5IQ==", contentEncoding: "gzip", contentLanguage: "en", cacheControl: "no-cache", contentDisposition: "inline" })
  assert.deepEqual(h, {
    blobContentType: "image/jpeg",
    blobContentMD5: new Uint8Array(Buffer.from("Check Integrity!")),
    blobContentEncoding: "gzip",
    blobContentLanguage: "en",
    blobCacheControl: "no-cache",
    blobContentDisposition: "inline",
  })
  assert.deepEqual(toBlobHttpHeaders({}), {})
})

test("fromBlobProperties: Last-Modified in HTTP date form, MD5 bytes as Base64", () => {
  const p = fromBlobProperties({ lastModified: new Date("2012-09-18T23:47:08Z"), etag: '"0x8CF"', contentLength: 163840, contentMD5: new Uint8Array(Buffer.from("Check Integrity!")), contentType: "image/jpeg" })
  assert.deepEqual(p, { lastModified: "Tue, 18 Sep 2012 23:47:08 GMT", etag: '"0x8CF"', contentLength: 163840, contentType: "image/jpeg", contentMD5: "Q2hlY2sgSW50ZWdyaXR5IQ==" })
  assert.equal(props(serializeProperties(p), "export").valid, true)
})

test("metadata as the SDK's record and back (sorted by name)", () => {
  assert.deepEqual(toMetadataRecord([{ name: "b", value: "2" }, { name: "a", value: "1" }]), { b: "2", a: "1" })
  assert.deepEqual(fromMetadataRecord({ b: "2", a: "1" }), [
    { name: "a", value: "1" },
    { name: "b", value: "2" },
  ])
})

// ---------------------------------------------------------------- files

const run = <A, E>(e: Effect.Effect<A, E, NodeContext.NodeContext>) => Effect.runPromise(e.pipe(Effect.either, Effect.provide(NodeContext.layer)))

test("files: read a valid file, fail with every issue on an invalid one, FileUnreadable on a missing one", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-blobprops-"))
  try {
    const good = path.join(dir, "meta.xml")
    await run(writeMetadataFile(good, [{ name: "Author", value: "Jane" }]))
    assert.equal(readFileSync(good, "utf8"), `<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Author>Jane</Author>\n</Metadata>\n`)
    const ok = await run(readMetadataFile(good, "meta.xml"))
    assert.ok(Either.isRight(ok))
    assert.equal(ok.right.md5, md5(readFileSync(good)))
    const bad = path.join(dir, "bad.xml")
    writeFileSync(bad, `<Properties>\n<Content-Type>a\u007f</Content-Type>\n<Colour>x</Colour>\n</Properties>`)
    const r = await run(readPropertiesFile(bad, "bad.xml"))
    assert.ok(Either.isLeft(r))
    assert.equal(r.left._tag, "InvalidInput")
    if (r.left._tag === "InvalidInput") {
      assert.equal(r.left.format, "properties")
      assert.equal(r.left.file, "bad.xml")
      assert.equal(r.left.issues.length, 2)
    }
    const missing = await run(readMetadataFile(path.join(dir, "nope.xml"), "nope.xml"))
    assert.ok(Either.isLeft(missing))
    assert.equal(missing.left._tag, "FileUnreadable")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
