import { Effect, Either } from "effect"
import assert from "node:assert/strict"
import { test } from "node:test"
import { blobNameLength, candidateIndex, firstFreeAmong, firstFreeName, firstFreeNameEffect, RenameImpossible, renamed } from "./rename.ts"

const among = (names: ReadonlyArray<string>) => {
  const set = new Set(names)
  return (p: string) => set.has(p)
}
const free = (blobPath: string, existing: ReadonlyArray<string>) => Either.getOrThrow(firstFreeName(blobPath, among(existing)))

test("002 examples: a name without a dot", () => {
  assert.equal(free("BlobNameWithoutDot", ["BlobNameWithoutDot"]), "BlobNameWithoutDot (2)")
  assert.equal(free("BlobNameWithoutDot", ["BlobNameWithoutDot", "BlobNameWithoutDot (2)"]), "BlobNameWithoutDot (3)")
})

test("002 examples: a name with a dot", () => {
  assert.equal(free("Seattle.jpg", ["Seattle.jpg"]), "Seattle (2).jpg")
  assert.equal(free("Seattle.jpg", ["Seattle.jpg", "Seattle (2).jpg"]), "Seattle (3).jpg")
})

test("a free name is kept as it is", () => {
  assert.equal(free("Seattle.jpg", []), "Seattle.jpg")
  assert.equal(free("Seattle.jpg", ["Seattle (2).jpg"]), "Seattle.jpg")
})

test("the rule applies to the last segment of the path", () => {
  assert.equal(renamed("photos/Seattle.jpg", 2), "photos/Seattle (2).jpg")
  assert.equal(renamed("photos/a.b/c", 2), "photos/a.b/c (2)", "a dot in a virtual directory is not an extension")
  assert.equal(renamed("a.b/c", 2), "a.b/c (2)")
  assert.equal(renamed("photos/archive.tar.gz", 2), "photos/archive.tar (2).gz", "only the last dot")
})

test("edge cases: hidden-file names, trailing dots, trailing slashes", () => {
  assert.equal(renamed(".bashrc", 2), ".bashrc (2)")
  assert.equal(renamed("home/.bashrc", 3), "home/.bashrc (3)")
  assert.equal(renamed(".config.json", 2), ".config (2).json")
  assert.equal(renamed("name.", 2), "name (2).")
  assert.equal(renamed("..", 2), ". (2).")
  assert.equal(renamed("dir/", 2), "dir/ (2)")
  assert.equal(renamed("", 2), " (2)")
})

test("renaming always numbers the original name, never a renamed one", () => {
  assert.equal(free("Seattle.jpg", ["Seattle.jpg", "Seattle (2).jpg", "Seattle (3).jpg"]), "Seattle (4).jpg")
  assert.equal(free("Seattle (2).jpg", ["Seattle (2).jpg"]), "Seattle (2) (2).jpg")
  assert.equal(free("x", ["x", "x (2)", "x (4)"]), "x (3)", "the smallest free number")
  assert.equal(free("x", ["x", "x (02)", "x(2)", "X (2)"]), "x (2)", "names are compared exactly")
})

test("renamed refuses numbers below 2", () => {
  for (const n of [0, 1, 2.5, -3, Number.NaN]) assert.throws(() => renamed("x", n), RangeError, String(n))
})

test("candidateIndex places a name among the candidates", () => {
  assert.equal(candidateIndex("photos/Seattle.jpg", "photos/Seattle.jpg"), 1)
  assert.equal(candidateIndex("photos/Seattle.jpg", "photos/Seattle (2).jpg"), 2)
  assert.equal(candidateIndex("photos/Seattle.jpg", "photos/Seattle (123).jpg"), 123)
  for (const other of ["photos/Seattle (1).jpg", "photos/Seattle (0).jpg", "photos/Seattle (02).jpg", "photos/Seattle ().jpg", "photos/Seattle (2).png", "other/Seattle (2).jpg", "photos/Seattle (2)", "photos/Seattle (x).jpg", "photos/Seattle (99999999999999999).jpg"]) {
    assert.equal(candidateIndex("photos/Seattle.jpg", other), undefined, other)
  }
  assert.equal(candidateIndex("x", "x (2)"), 2)
  assert.equal(candidateIndex("x", "x ()"), undefined)
})

test("firstFreeAmong works from the taken indices", () => {
  assert.deepEqual(firstFreeAmong("a/b.c", new Set<number>()), Either.right("a/b.c"))
  assert.deepEqual(firstFreeAmong("a/b.c", new Set([1])), Either.right("a/b (2).c"))
  assert.deepEqual(firstFreeAmong("a/b.c", new Set([1, 2, 3, 5])), Either.right("a/b (4).c"))
  assert.deepEqual(firstFreeAmong("a/b.c", new Set([2, 3])), Either.right("a/b.c"))
})

test("blobNameLength counts the blob name's code points, not the container", () => {
  assert.equal(blobNameLength("photos/Seattle.jpg"), "Seattle.jpg".length)
  assert.equal(blobNameLength("Seattle.jpg"), "Seattle.jpg".length)
  assert.equal(blobNameLength("c/😀"), 1)
})

test("RenameImpossible when the candidate would pass 1024 characters", () => {
  const name = "c/" + "n".repeat(1020) // blob name of 1020: "(2)" makes 1024, still fine
  assert.equal(free(name, [name]), name + " (2)")
  const nine = Array.from({ length: 9 }, (_, i) => (i === 0 ? name : `${name} (${i + 1})`)) // name, (2)…(9)
  assert.equal(Either.getOrThrow(firstFreeName(name, among(nine.slice(0, 8)))), name + " (9)", "(9) still fits: 1024")
  const r = firstFreeName(name, among(nine)) // (10) would be 1025
  assert.ok(Either.isLeft(r))
  assert.ok(r.left instanceof RenameImpossible)
  assert.equal(r.left.blobPath, name)
  assert.equal(r.left.candidate, name + " (10)")
  assert.equal(r.left.length, 1025)
  assert.equal(r.left.maxLength, 1024)
  assert.equal(r.left.number, 10)
  assert.equal(r.left.message, `"c/${"n".repeat(78)}"… (1022 characters): no free name to rename to: the name and (2) to (9) exist, and (10) would make the blob name 1025 characters long, more than the 1024 allowed`)
  const full = "c/" + "n".repeat(1024)
  const atOnce = firstFreeName(full, among([full]))
  assert.ok(Either.isLeft(atOnce))
  assert.equal(atOnce.left.number, 2)
  assert.match(atOnce.left.message, /: no free name to rename to: the name exists, and \(2\) would make the blob name 1028 characters long/)
  assert.deepEqual(firstFreeName(full, among([])), Either.right(full), "a free name is not renamed, whatever its length")
})

test("firstFreeNameEffect agrees with firstFreeName and passes the check's failures on", async () => {
  const existing = ["d/Seattle.jpg", "d/Seattle (2).jpg"]
  const set = new Set(existing)
  const got = await Effect.runPromise(firstFreeNameEffect("d/Seattle.jpg", (p) => Effect.succeed(set.has(p))))
  assert.equal(got, "d/Seattle (3).jpg")
  const failed = await Effect.runPromise(Effect.either(firstFreeNameEffect("d/x", () => Effect.fail("offline" as const))))
  assert.deepEqual(failed, Either.left("offline"))
  const long = "c/" + "n".repeat(1024)
  const impossible = await Effect.runPromise(Effect.either(firstFreeNameEffect(long, () => Effect.succeed(true))))
  assert.ok(Either.isLeft(impossible) && impossible.left instanceof RenameImpossible)
})
