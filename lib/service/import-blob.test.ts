import assert from "node:assert/strict"
import { test } from "node:test"
import { Breaker, defaultImportSettings, renameStem } from "./import-blob.ts"
import { candidateIndex, renamed } from "../rename.ts"

test("the stem every renaming of a blob starts with: listing from it finds them all", () => {
  for (const [p, stem] of [
    ["c/photos/Seattle.jpg", "c/photos/Seattle"],
    ["c/BlobNameWithoutDot", "c/BlobNameWithoutDot"],
    ["c/a.b/c", "c/a.b/c"],
    ["c/.bashrc", "c/.bashrc"],
    ["c/x (2).tar.gz", "c/x (2).tar"],
    ["c/name.", "c/name"],
  ] as const) {
    assert.equal(renameStem(p), stem, p)
    for (const n of [2, 3, 10]) {
      assert.ok(renamed(p, n).startsWith(stem), `${renamed(p, n)} starts with ${stem}`)
      assert.equal(candidateIndex(p, renamed(p, n)), n)
    }
  }
})

test("the breaker: a container is given up after the cutoff of 403s in a row, a success resets the count; unreachable stops the drive", () => {
  const b = new Breaker({ ...defaultImportSettings, forbiddenCutoff: 2, unreachableCutoff: 2 })
  b.record("a", "forbidden", false)
  b.record("a", undefined, true)
  b.record("a", "forbidden", false)
  assert.equal(b.blocked("a"), undefined, "the success between the two 403s reset the count")
  b.record("a", "forbidden", false)
  assert.equal(b.blocked("a"), "forbidden")
  assert.equal(b.blocked("b"), undefined, "another container is still tried")
  b.record("b", "unreachable", false)
  assert.equal(b.blocked("b"), undefined)
  b.record("b", "unreachable", false)
  assert.equal(b.blocked("b"), "unreachable")
  assert.equal(b.blocked("c"), "unreachable")
})
