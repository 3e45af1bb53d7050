import assert from "node:assert/strict"
import { test } from "node:test"
import { Either } from "effect"
import fc from "fast-check"
import { formatGB, parseByteSize, parseDriveSize } from "./drive-size.ts"

test("the reference's examples and the spellings waie accepts", () => {
  const ok: Array<[string, number]> = [
    ["500GB", 500e9],
    ["500 GB", 500e9],
    ["1.5TB", 1.5e12],
    ["1.1TB", 1_100_000_000_000],
    ["2tb", 2e12],
    [" 0.5 Gb ", 5e8],
    [".25TB", 2.5e11],
  ]
  for (const [text, bytes] of ok) assert.deepEqual(parseDriveSize(text), Either.right(bytes), text)
})

test("anything else is refused, saying what was expected and what was found", () => {
  for (const [text, found] of [
    ["500", '"500"'],
    ["500MB", 'the unit "MB"'],
    ["500 GiB", 'the unit "GiB"'],
    ["-1TB", '"-1TB"'],
    ["1e3GB", '"1e3GB"'],
    ["0GB", '"0GB" (no room at all)'],
    ["", '""'],
    ["99999999TB", '"99999999TB" (more than 9 PB)'],
  ] as const) {
    const r = parseDriveSize(text)
    assert.ok(Either.isLeft(r), text)
    assert.equal(r.left.message, `/DriveSize: expected a size in GB or TB, like 500GB, 500 GB or 1.5TB (1 GB = 10^9 bytes), found ${found}`)
  }
})

test("sizes print in decimal GB with two decimals, rounded down, as PreviewExport prints them", () => {
  assert.equal(formatGB(500e9), "500.00 GB")
  assert.equal(formatGB(454_749_999_999), "454.74 GB")
  assert.equal(formatGB(9_999_999), "0.00 GB")
  assert.equal(formatGB(1.5e12), "1500.00 GB")
})

test("property: a size printed by formatGB parses back to at most the bytes it came from, within 10 MB", () => {
  fc.assert(
    fc.property(fc.integer({ min: 10_000_000, max: 1e15 }), (bytes) => {
      const back = parseDriveSize(formatGB(bytes))
      assert.ok(Either.isRight(back))
      assert.ok(back.right <= bytes && bytes - back.right < 1e7)
    }),
  )
})

test("waie's own sizes take decimal and binary units, exactly", () => {
  const ok: Array<[string, number]> = [
    ["12MB", 12_000_000],
    ["1.5 GiB", 1.5 * 2 ** 30],
    ["4096b", 4096],
    ["0KB", 0],
    ["2TiB", 2 * 2 ** 40],
    ["0.001kb", 1],
  ]
  for (const [text, bytes] of ok) assert.deepEqual(parseByteSize(text, "--free-space"), Either.right(bytes), text)
  const bad = parseByteSize("12 parsecs", "--free-space G")
  assert.ok(Either.isLeft(bad))
  assert.equal(bad.left.message, '--free-space G: expected a size like 12MB, 1.5GB, 500 GiB or 4096B (KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024), found the unit "parsecs"')
})
