/**
 * Metadata and properties laws: reader ∘ writer = identity on valid models, the bytes are
 * deterministic, the reader's MD5 is the MD5 of the bytes, and any character a header value cannot
 * carry makes a file invalid.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { test } from "node:test"
import fc from "fast-check"
import { type BlobProperties, maxMetadataBytes, parseMetadata, parseProperties, serializeMetadata, serializeProperties, toBlobHttpHeaders } from "../lib/blobprops.ts"
import { escapeText, hasCharsXmlCannotHold } from "../lib/xml.ts"

const enc = new TextEncoder()
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex").toUpperCase()

/** Printable ASCII and spaces, with the XML-special characters likely. */
const headerValue = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.constantFrom("&", "<", ">", '"', "'", " ")), maxLength: 40 })
const metadataName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/)

const metadata = fc
  .uniqueArray(fc.record({ name: metadataName, value: headerValue }, { noNullPrototype: true }), { selector: (p) => p.name.toLowerCase(), maxLength: 20 })

test("metadata: reader ∘ writer = identity, deterministic bytes, MD5 of the bytes", () => {
  fc.assert(
    fc.property(metadata, (pairs) => {
      const text = serializeMetadata(pairs)
      const bytes = enc.encode(text)
      const r = parseMetadata(bytes, "m.xml")
      assert.equal(r.valid, true, JSON.stringify(r.issues))
      assert.deepEqual(r.value, pairs)
      assert.equal(r.md5, md5(bytes))
      assert.equal(serializeMetadata(r.value), text)
      assert.ok(r.issues.every((i) => i.severity === "warning"))
    }),
    { numRuns: 1000 },
  )
})

test("metadata: a value with a character outside printable ASCII makes the file invalid", () => {
  const bad = fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => !hasCharsXmlCannotHold(c) && !/^[\x20-\x7e]$/.test(c))
  fc.assert(
    fc.property(metadataName, headerValue, bad, fc.nat(), (name, value, c, at) => {
      const i = at % (value.length + 1)
      const v = value.slice(0, i) + c + value.slice(i)
      const text = `<Metadata><${name}>${escapeText(v)}</${name}></Metadata>`
      const r = parseMetadata(enc.encode(text), "m.xml")
      assert.equal(r.valid, false)
      assert.equal(r.issues[0]!.field, name)
    }),
    { numRuns: 1000 },
  )
})

test("metadata: the 8 KiB limit holds exactly at the boundary", () => {
  fc.assert(
    fc.property(metadataName, fc.integer({ min: -3, max: 3 }), (name, delta) => {
      const size = maxMetadataBytes + delta - name.length
      fc.pre(size >= 0)
      const r = parseMetadata(enc.encode(`<Metadata><${name}>${"v".repeat(size)}</${name}></Metadata>`), "m.xml")
      assert.equal(r.valid, delta <= 0)
    }),
    { numRuns: 300 },
  )
})

const md5Base64 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("base64"))

const properties: fc.Arbitrary<BlobProperties> = fc.record(
  {
    lastModified: headerValue,
    etag: headerValue,
    contentLength: fc.maxSafeNat(),
    contentType: headerValue,
    contentMD5: md5Base64,
    contentEncoding: headerValue,
    contentLanguage: headerValue,
    cacheControl: headerValue,
    contentDisposition: headerValue,
  },
  { requiredKeys: [], noNullPrototype: true },
)

test("properties: reader ∘ writer = identity, deterministic bytes, MD5 of the bytes", () => {
  fc.assert(
    fc.property(properties, (p) => {
      const text = serializeProperties(p)
      const bytes = enc.encode(text)
      const r = parseProperties(bytes, "p.xml", "export")
      assert.equal(r.valid, true, JSON.stringify(r.issues))
      assert.deepEqual(r.value, p)
      assert.equal(r.md5, md5(bytes))
      assert.equal(serializeProperties(r.value), text)
    }),
    { numRuns: 1000 },
  )
})

test("properties: the SDK headers carry the importable values, Content-MD5 as its 16 bytes", () => {
  fc.assert(
    fc.property(properties, (p) => {
      const h = toBlobHttpHeaders(p)
      assert.equal(h.blobContentType, p.contentType)
      assert.equal(h.blobContentEncoding, p.contentEncoding)
      assert.equal(h.blobContentLanguage, p.contentLanguage)
      assert.equal(h.blobCacheControl, p.cacheControl)
      assert.equal(h.blobContentDisposition, p.contentDisposition)
      assert.equal(h.blobContentMD5 === undefined ? undefined : Buffer.from(h.blobContentMD5).toString("base64"), p.contentMD5)
      assert.equal(Object.keys(h).length, [p.contentType, p.contentMD5, p.contentEncoding, p.contentLanguage, p.cacheControl, p.contentDisposition].filter((v) => v !== undefined).length)
    }),
    { numRuns: 500 },
  )
})
