import assert from "node:assert/strict"
import { test } from "node:test"
import {
  checkBlobName,
  checkBlobPath,
  checkContainer,
  checkMetadataName,
  checkSessionId,
  checkStorageAccount,
  isForbiddenInBlobName,
  maxBlobNameLength,
  nameLength,
} from "./names.ts"

const found = (p: { found: string } | undefined): string | undefined => p?.found

test("container names: 3-63 of a-z 0-9 and single inner dashes, or $root", () => {
  for (const ok of ["abc", "a1b", "my-photos", "0-0", "a".repeat(63), "$root", "123"]) assert.equal(checkContainer(ok), undefined, ok)
  assert.equal(found(checkContainer("")), "an empty name")
  assert.equal(found(checkContainer("ab")), '"ab" (2 characters)')
  assert.equal(found(checkContainer("a".repeat(64))), `"${"a".repeat(64)}" (64 characters)`)
  assert.equal(found(checkContainer("Photos")), '"Photos" (upper-case letters)')
  assert.equal(found(checkContainer("a--b")), '"a--b" (two dashes in a row)')
  assert.equal(found(checkContainer("-ab")), '"-ab" (a dash at the start or end)')
  assert.equal(found(checkContainer("ab-")), '"ab-" (a dash at the start or end)')
  assert.equal(found(checkContainer("a_b")), '"a_b" (a character other than a-z, 0-9 and -)')
  assert.equal(found(checkContainer("$logs")), '"$logs" (a character other than a-z, 0-9 and -)', "only $root among the $-names")
  assert.equal(checkContainer("ab")!.expected, "a container name of 3-63 lower-case letters, digits and single dashes, or $root")
})

test("blob names: 1-1024 code points, at most 254 segments", () => {
  assert.equal(checkBlobName("a"), undefined)
  assert.equal(checkBlobName("n".repeat(maxBlobNameLength)), undefined)
  assert.equal(found(checkBlobName("n".repeat(1025))), "1025 characters")
  assert.equal(checkBlobName("😀".repeat(1024)), undefined, "an astral character counts once (2048 UTF-16 units)")
  assert.equal(found(checkBlobName("")), "an empty name")
  assert.equal(checkBlobName(Array(254).fill("s").join("/")), undefined)
  assert.equal(found(checkBlobName(Array(255).fill("s").join("/"))), "255 segments")
  assert.equal(checkBlobName("dir/"), undefined, "a trailing slash is legal (only advised against)")
  assert.equal(checkBlobName("a b~!@#$%^&*()[]{}'\"\\.txt"), undefined, "URL-reserved characters are fine")
})

test("blob names: forbidden code points, reported with their position", () => {
  assert.equal(found(checkBlobName("ab\u0000")), "U+0000 at character 3")
  assert.equal(found(checkBlobName("a\u001fb")), "U+001F at character 2")
  assert.equal(found(checkBlobName("😀\u0080")), "U+0080 at character 2", "positions count code points")
  assert.equal(found(checkBlobName("\ud800x")), "U+D800 at character 1", "a lone surrogate")
  assert.equal(found(checkBlobName("x\u{1fffe}")), "U+1FFFE at character 2")
  assert.equal(checkBlobName("\u007f"), undefined, "DEL is not on the list")
})

test("isForbiddenInBlobName: exactly the listed points (formats.md §6.2)", () => {
  const forbidden = [0x00, 0x1f, 0x80, 0x81, 0x82, 0x8c, 0x8e, 0x91, 0x9c, 0x9e, 0x9f, 0xfdd1, 0xfddc, 0xfdde, 0xfdef, 0xfff0, 0xfffe, 0xffff, 0xd800, 0xdfff]
  for (const plane of [1, 2, 3, 5, 6, 7, 9, 0xa, 0xb, 0xd, 0xe, 0xf]) forbidden.push(plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff)
  for (const cp of forbidden) assert.ok(isForbiddenInBlobName(cp), cp.toString(16))
  const allowed = [0x20, 0x41, 0x7f, 0x8d, 0x8f, 0x90, 0x9d, 0xa0, 0xe9, 0xfdd0, 0xfddd, 0xfdf0, 0xffef, 0xe000, 0x1f600, 0x1fffd, 0x4fffe, 0x8ffff, 0xcfffe, 0x10fffe]
  for (const cp of allowed) assert.ok(!isForbiddenInBlobName(cp), cp.toString(16))
})

test("nameLength counts code points", () => {
  assert.equal(nameLength(""), 0)
  assert.equal(nameLength("abc"), 3)
  assert.equal(nameLength("é😀"), 2)
})

test("blob paths: container/blob, and $root blobs without '/'", () => {
  assert.equal(checkBlobPath("photos/2024/a.jpg"), undefined)
  assert.equal(checkBlobPath("$root/a.jpg"), undefined)
  assert.deepEqual(checkBlobPath("photos"), { expected: "container/blob", found: `"photos" (no '/' after the container)` })
  assert.equal(found(checkBlobPath("Photos/a")), '"Photos" (upper-case letters)')
  assert.equal(checkBlobPath("$root/a/b")!.expected, "a blob in $root without '/' (the root container has no virtual directories)")
  assert.equal(found(checkBlobPath("photos/")), "an empty name")
  assert.equal(found(checkBlobPath("photos/a\u0000")), "U+0000 at character 2")
})

test("storage accounts, session ids, metadata names", () => {
  for (const ok of ["abc", "mystorage01", "a".repeat(24)]) assert.equal(checkStorageAccount(ok), undefined, ok)
  for (const bad of ["ab", "a".repeat(25), "MyStorage", "my-storage", ""]) assert.ok(checkStorageAccount(bad), bad)
  for (const ok of ["abc", "session#1", "s_1-2", "a".repeat(30)]) assert.equal(checkSessionId(ok), undefined, ok)
  for (const bad of ["ab", "a".repeat(31), "session 1", "séssion", "s/1"]) assert.ok(checkSessionId(bad), bad)
  for (const ok of ["a", "_x", "Name_2", "CamelCase"]) assert.equal(checkMetadataName(ok), undefined, ok)
  for (const bad of ["", "2x", "a-b", "a b", "é"]) assert.ok(checkMetadataName(bad), bad)
  assert.equal(found(checkSessionId("session 1")), '"session 1"')
})
