/**
 * Blob-list laws: a BlobPath selects exactly itself; the prefix `/` selects everything; a prefix
 * selects b iff "/" + b starts with it (every cut of "/" + b is a prefix that selects b); the
 * matcher agrees with the entries one by one; reader ∘ writer = identity.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Stream } from "effect"
import fc from "fast-check"
import { type BlobListEntry, BlobListMatcher, checkBlobPathPrefix, readBlobList, selects, serializeBlobList } from "../lib/bloblist.ts"
import { checkBlobPath } from "../lib/names.ts"
import { hasCharsXmlCannotHold } from "../lib/xml.ts"

const container = fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9]{3,8}$/) }, { weight: 1, arbitrary: fc.constant("$root") })
const nameChar = fc.oneof(fc.constantFrom("a", "b", "/", ".", " ", "é", "&", "<", "😀", "-"), fc.string({ minLength: 1, maxLength: 1 }))
const blobName = fc
  .array(nameChar, { minLength: 1, maxLength: 12 })
  .map((a) => a.join(""))
  // `.` and `..` segments are refused: a URL resolves them away
  .filter((n) => !n.split("/").some((s) => s === "." || s === ".."))
const blobPath = fc
  .tuple(container, blobName)
  .map(([c, b]) => `${c}/${b}`)
  .filter((p) => checkBlobPath(p) === undefined && !hasCharsXmlCannotHold(p))

test("a BlobPath selects exactly itself", () => {
  fc.assert(
    fc.property(blobPath, blobPath, (a, b) => {
      assert.equal(selects({ kind: "path", path: a }, b), a === b)
      assert.equal(selects({ kind: "path", path: a }, a), true)
    }),
    { numRuns: 2000 },
  )
})

test("the prefix / selects every blob", () => {
  fc.assert(fc.property(blobPath, (b) => selects({ kind: "prefix", prefix: "/" }, b)), { numRuns: 1000 })
})

test("every cut of '/' + b is a valid prefix selecting b; a prefix selects b iff '/' + b starts with it", () => {
  fc.assert(
    fc.property(blobPath, blobPath, fc.nat(), (a, b, k) => {
      const full = [..."/" + a] // cut between code points, never inside a surrogate pair
      const prefix = full.slice(0, 1 + (k % full.length)).join("")
      assert.equal(checkBlobPathPrefix(prefix), undefined, prefix)
      assert.equal(selects({ kind: "prefix", prefix }, a), true)
      assert.equal(selects({ kind: "prefix", prefix }, b), ("/" + b).startsWith(prefix))
    }),
    { numRuns: 2000 },
  )
})

const entry: fc.Arbitrary<BlobListEntry> = fc.oneof(
  blobPath.map((path) => ({ kind: "path" as const, path })),
  fc.tuple(blobPath, fc.nat()).map(([p, k]) => {
    const full = [..."/" + p]
    return { kind: "prefix" as const, prefix: full.slice(0, 1 + (k % full.length)).join("") }
  }),
)

test("the matcher agrees with the entries one by one", () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 12 }), fc.array(blobPath, { minLength: 1, maxLength: 8 }), (entries, blobs) => {
      const m = new BlobListMatcher(entries)
      for (const b of [...blobs, ...entries.filter((e) => e.kind === "path").map((e) => (e.kind === "path" ? e.path : ""))]) {
        const want = entries.filter((e) => selects(e, b))
        assert.equal(m.selects(b), want.length > 0)
        const got = m.matching(b)
        assert.ok(got.every((e) => selects(e, b)))
        assert.equal(got.length, new Set(want.map((e) => `${e.kind}:${e.kind === "path" ? e.path : e.prefix}`)).size)
      }
    }),
    { numRuns: 1000 },
  )
})

test("reader ∘ writer = identity on generated lists", () => {
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 10 }), (entries) => {
      const text = serializeBlobList(entries)
      const items = Chunk.toArray(Effect.runSync(Stream.runCollect(readBlobList("l.xml", Stream.make(new TextEncoder().encode(text))))))
      assert.deepEqual(
        items.map((i) => i.entry),
        entries,
      )
    }),
    { numRuns: 500 },
  )
})
