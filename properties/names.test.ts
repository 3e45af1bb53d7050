/** Laws of container and blob names (lib/names.ts). */
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import { checkBlobName, checkContainer, isForbiddenInBlobName } from "../lib/names.ts"

const part = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"), minLength: 1, maxLength: 12 })
/** Valid by construction: letter/digit runs joined by single dashes, 3-63 characters. */
const container = fc
  .array(part, { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join("-"))
  .filter((s) => s.length >= 3 && s.length <= 63)

test("generated valid container names pass", () => {
  fc.assert(fc.property(container, (name) => assert.equal(checkContainer(name), undefined, name)), { numRuns: 3000 })
})

test("a container name with an upper-case letter fails", () => {
  fc.assert(
    fc.property(container, fc.nat(), fc.constantFrom(..."ABCXYZ"), (name, at, upper) => {
      const i = at % name.length
      const bad = name.slice(0, i) + upper + name.slice(i + 1)
      const p = checkContainer(bad)
      assert.ok(p !== undefined, bad)
      assert.match(p.found, /upper-case/)
    }),
    { numRuns: 2000 },
  )
})

test("a container name with two dashes in a row fails", () => {
  fc.assert(
    fc.property(container.filter((s) => s.length <= 61), fc.nat(), (name, at) => {
      const i = 1 + (at % (name.length - 1))
      const bad = name.slice(0, i) + "--" + name.slice(i)
      assert.ok(checkContainer(bad) !== undefined, bad)
    }),
    { numRuns: 2000 },
  )
})

test("a container name of a bad length fails", () => {
  const short = fc.string({ unit: fc.constantFrom("a", "0"), maxLength: 2 })
  const long = fc.string({ unit: fc.constantFrom("a", "0"), minLength: 64, maxLength: 200 })
  fc.assert(
    fc.property(fc.oneof(short, long), (name) => {
      const p = checkContainer(name)
      assert.ok(p !== undefined, name)
      assert.match(p.found, name.length === 0 ? /empty/ : new RegExp(`\\(${name.length} characters\\)`))
    }),
    { numRuns: 1000 },
  )
})

/** Any code point the service accepts (surrogates excluded: paired ones come as astral characters). */
const allowedChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }), fc.integer({ min: 0x7f, max: 0x9f }))
  .filter((cp) => !isForbiddenInBlobName(cp))
  .map((cp) => String.fromCodePoint(cp))
const blobName = fc
  .array(allowedChar, { minLength: 1, maxLength: 60 })
  .map((cs) => cs.join(""))
  // `.` and `..` segments are refused: a URL resolves them away
  .filter((n) => !n.split("/").some((s) => s === "." || s === ".."))

const forbidden = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }),
  fc.constantFrom(0x80, 0x81, 0x82, 0x8c, 0x8e, 0x91, 0x9c, 0x9e, 0x9f),
  fc.integer({ min: 0xfdd1, max: 0xfddc }),
  fc.integer({ min: 0xfdde, max: 0xfdef }),
  fc.integer({ min: 0xfff0, max: 0xffff }),
  fc.integer({ min: 0xd800, max: 0xdfff }),
  fc.constantFrom(1, 2, 3, 5, 6, 7, 9, 0xa, 0xb, 0xd, 0xe, 0xf).chain((plane) => fc.constantFrom(plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff)),
)

test("blob names of allowed code points pass", () => {
  fc.assert(fc.property(blobName, (name) => assert.equal(checkBlobName(name), undefined, JSON.stringify(name))), { numRuns: 3000 })
})

test("a blob name with a forbidden code point fails, naming the code point and where it is", () => {
  fc.assert(
    fc.property(blobName, forbidden, fc.nat(), (name, cp, at) => {
      const chars = [...name]
      const i = at % (chars.length + 1)
      chars.splice(i, 0, String.fromCodePoint(cp))
      const p = checkBlobName(chars.join(""))
      assert.ok(p !== undefined)
      assert.equal(p.found, `U+${cp.toString(16).toUpperCase().padStart(4, "0")} at character ${i + 1}`)
    }),
    { numRuns: 3000 },
  )
})
