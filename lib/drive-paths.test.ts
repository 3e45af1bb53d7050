import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { test } from "node:test"
import { collisionKey, FilePathAllocator, hashedName, isPortableFilePath, localPathOf, plainFilePath, safeExtension, segmentProblem, sideFilePath } from "./drive-paths.ts"

const sha16 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex").slice(0, 16)

test("the plain mapping: \\<session>\\<container>\\<blob name with / as \\>", () => {
  const a = new FilePathAllocator("session#1")
  assert.equal(a.allocate("photos/2024/a.jpg"), "\\session#1\\photos\\2024\\a.jpg")
  assert.equal(a.allocate("$root/top.txt"), "\\session#1\\$root\\top.txt")
  assert.equal(a.allocate("photos/2024/b c.jpg"), "\\session#1\\photos\\2024\\b c.jpg")
  assert.equal(a.allocate("photos/é/日本.txt"), "\\session#1\\photos\\é\\日本.txt")
  assert.equal(plainFilePath("s-1", "box/a/b"), "\\s-1\\box\\a\\b")
})

test("segments NTFS cannot hold, and their reasons", () => {
  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["a:b", /':'/],
    ["a\\b", /'\\'/],
    ['a"b', /'"'/],
    ["a<b", /'<'/],
    ["a>b", /'>'/],
    ["a|b", /'\|'/],
    ["a?b", /'\?'/],
    ["a*b", /'\*'/],
    ["a\u0001b", /U\+0001/],
    ["a\u001fb", /U\+001F/],
    ["lone\uD800", /U\+D800/],
    ["name.", /ending/],
    ["name ", /ending/],
    [".", /ending/],
    ["..", /ending/],
    ["CON", /reserved device name \(CON\)/],
    ["con.txt", /reserved device name \(CON\)/],
    ["Nul.tar.gz", /NUL/],
    ["aux .txt", /AUX/],
    ["COM1", /COM1/],
    ["lpt9.x", /LPT9/],
    ["COM\u00B9", /reserved/],
    ["conin$", /CONIN\$/],
    ["x".repeat(256), /256 UTF-16 units/],
    ["日".repeat(100), /300 UTF-8 bytes/],
  ]
  for (const [s, why] of bad) assert.match(segmentProblem(s) ?? "portable", why, JSON.stringify(s))
  for (const s of ["a", "CONSOLE", "COM0", "COM10", "LPT", "con1", "xcon", ".bashrc", "a.b.c", " lead", "~x", "x".repeat(255), "日".repeat(85), "😀", "a#b$c%d&e"]) {
    assert.equal(segmentProblem(s), undefined, JSON.stringify(s))
  }
})

test("a segment that is not portable becomes ~<16 hex of SHA-256 of the blob path up to it>, a file keeping a safe extension", () => {
  const a = new FilePathAllocator("s-1")
  assert.equal(a.allocate("box/CON.vhd"), `\\s-1\\box\\~${sha16("box/CON.vhd")}.vhd`)
  assert.equal(a.allocate("box/what?.tar.gz"), `\\s-1\\box\\~${sha16("box/what?.tar.gz")}.gz`)
  assert.equal(a.allocate("box/name."), `\\s-1\\box\\~${sha16("box/name.")}`)
  assert.equal(a.allocate("box/x?.we ird"), `\\s-1\\box\\~${sha16("box/x?.we ird")}`)
  // a directory: hashed on the path up to it, the rest plain
  assert.equal(a.allocate("box/a:b/c/d.txt"), `\\s-1\\box\\~${sha16("box/a:b")}\\c\\d.txt`)
  assert.equal(a.allocate("box/a:b/c/e.txt"), `\\s-1\\box\\~${sha16("box/a:b")}\\c\\e.txt`)
  // '..' and empty names are never path steps
  assert.equal(a.allocate("box/../x"), `\\s-1\\box\\~${sha16("box/..")}\\x`)
  assert.equal(a.allocate("box/p//q"), `\\s-1\\box\\p\\~${sha16("box/p/")}\\q`)
  // a backslash in a blob name is a character, not a separator
  assert.equal(a.allocate("box/a\\b"), `\\s-1\\box\\~${sha16("box/a\\b")}`)
  // a container that is a device name
  assert.equal(a.allocate("con/x"), `\\s-1\\~${sha16("con")}\\x`)
  assert.equal(safeExtension("a.VHDX"), ".VHDX")
  assert.equal(safeExtension(".bashrc"), "")
  assert.equal(safeExtension("a.12345678901234567"), "")
  assert.equal(hashedName("box/x", ".txt", 0), `~${sha16("box/x")}.txt`)
  assert.equal(hashedName("box/x", "", 2), `~${sha16("box/x\u00002")}`)
})

test("case-insensitive collisions: the second file gets a hashed name; a directory spelled differently too, consistently", () => {
  const a = new FilePathAllocator("s-1")
  assert.equal(a.allocate("box/a/B.txt"), "\\s-1\\box\\a\\B.txt")
  assert.equal(a.allocate("box/a/b.txt"), `\\s-1\\box\\a\\~${sha16("box/a/b.txt")}.txt`)
  assert.equal(a.allocate("box/A/x"), `\\s-1\\box\\~${sha16("box/A")}\\x`)
  assert.equal(a.allocate("box/A/y"), `\\s-1\\box\\~${sha16("box/A")}\\y`)
  assert.equal(a.allocate("box/a/z"), "\\s-1\\box\\a\\z")
  // NTFS folds σ and ς (both Σ), and é in either normal form
  assert.equal(a.allocate("box/σ"), "\\s-1\\box\\σ")
  assert.notEqual(a.allocate("box/ς"), "\\s-1\\box\\ς")
  assert.equal(a.allocate("box/\u00e9"), "\\s-1\\box\\\u00e9")
  assert.notEqual(a.allocate("box/e\u0301"), "\\s-1\\box\\e\u0301")
  assert.equal(collisionKey("ς"), collisionKey("Σ"))
})

test("a name cannot be a file and a directory: whichever comes second is hashed", () => {
  const a = new FilePathAllocator("s-1")
  assert.equal(a.allocate("box/p"), "\\s-1\\box\\p")
  assert.equal(a.allocate("box/p/q"), `\\s-1\\box\\~${sha16("box/p")}\\q`)
  const b = new FilePathAllocator("s-1")
  assert.equal(b.allocate("box/p/q"), "\\s-1\\box\\p\\q")
  assert.equal(b.allocate("box/P"), `\\s-1\\box\\~${sha16("box/P")}`)
  // the side-file folder is taken from the start
  assert.equal(b.allocate("$WAIE/x"), `\\s-1\\~${sha16("$WAIE")}\\x`)
})

test("the same blob path twice, and a real name that equals a hashed one, still get distinct paths", () => {
  const a = new FilePathAllocator("s-1")
  const first = a.allocate("box/k")
  const second = a.allocate("box/k")
  const third = a.allocate("box/k")
  assert.equal(first, "\\s-1\\box\\k")
  assert.equal(second, `\\s-1\\box\\~${sha16("box/k")}`)
  assert.equal(third, `\\s-1\\box\\~${sha16("box/k\u00001")}`)
  const h = `~${sha16("box/NUL")}`
  assert.equal(a.allocate("box/NUL"), `\\s-1\\box\\${h}`)
  assert.equal(a.allocate(`box/${h}`), `\\s-1\\box\\~${sha16(`box/${h}`)}`)
})

test("deterministic: the same calls give the same paths; every path portable", () => {
  const blobs = ["box/a/B", "box/a/b", "box/A/c", "box/CON", "box/x:y/z", "box/k", "box/k", "box/k/l"]
  const one = blobs.map((b) => new FilePathAllocator("sess").allocate(b))
  const a1 = new FilePathAllocator("sess")
  const a2 = new FilePathAllocator("sess")
  const r1 = blobs.map((b) => a1.allocate(b))
  const r2 = blobs.map((b) => a2.allocate(b))
  assert.deepEqual(r1, r2)
  for (const p of [...r1, ...one]) assert.ok(isPortableFilePath(p), p)
  assert.equal(new Set(r1.map(collisionKey)).size, r1.length)
})

test("memory: a table of 17-byte slots, at most twice the entries", () => {
  const a = new FilePathAllocator("sess")
  for (let i = 0; i < 20_000; i++) a.allocate(`box/d${i % 100}/f${i}`)
  // 20,000 files, 100 directories, the container and $waie
  assert.equal(a.entries, 20_000 + 100 + 1 + 1)
  assert.ok(a.memoryBytes <= 17 * 4 * a.entries, `${a.memoryBytes} bytes`)
  assert.ok(a.memoryBytes >= 17 * 2 * a.entries)
})

test("a path that would pass 32,000 units even with hashed segments becomes \\<session>\\<container>\\~<hash of the blob path>", () => {
  const a = new FilePathAllocator("s-1")
  const deep = "box/" + "a/".repeat(20_000) + "f.txt"
  const p = a.allocate(deep)
  assert.equal(p, `\\s-1\\box\\~${sha16(deep)}.txt`)
  assert.ok(isPortableFilePath(p))
  // and again: distinct
  assert.equal(a.allocate(deep), `\\s-1\\box\\~${sha16(deep + "\u00001")}.txt`)
})

test("a bad session id is refused", () => {
  assert.throws(() => new FilePathAllocator("a/b"), /session id/)
  assert.throws(() => new FilePathAllocator("x"), /session id/)
})

test("metadata and properties copies: \\<session>\\$waie\\<kind>-<MD5>.xml", () => {
  assert.equal(sideFilePath("s-1", "metadata", "a6e1fc9220f9cd12e12d29093af5cbdd"), "\\s-1\\$waie\\metadata-A6E1FC9220F9CD12E12D29093AF5CBDD.xml")
  assert.equal(sideFilePath("s-1", "properties", "4CD9EF9601EFCF46A1BFF376CFA05704"), "\\s-1\\$waie\\properties-4CD9EF9601EFCF46A1BFF376CFA05704.xml")
  assert.ok(isPortableFilePath(sideFilePath("s-1", "properties", "4CD9EF9601EFCF46A1BFF376CFA05704")))
  assert.throws(() => sideFilePath("s-1", "metadata", "xyz"), RangeError)
})

test("the local path of a FilePath on a drive root", () => {
  assert.equal(localPathOf("/mnt/d", "\\s-1\\box\\a.txt", "posix"), "/mnt/d/s-1/box/a.txt")
  assert.equal(localPathOf("/mnt/d/", "\\s-1\\box\\a.txt", "posix"), "/mnt/d/s-1/box/a.txt")
  assert.equal(localPathOf("/", "\\s-1\\x", "posix"), "/s-1/x")
  assert.equal(localPathOf("G:\\", "\\s-1\\box\\a.txt", "win32"), "G:\\s-1\\box\\a.txt")
  assert.equal(localPathOf("D:\\mnt\\g\\", "s-1\\x", "win32"), "D:\\mnt\\g\\s-1\\x")
  for (const bad of ["\\s\\..\\x", "\\s\\\\x", "\\", "\\s\\a/b", "\\C:\\x", "\\s\\."]) assert.throws(() => localPathOf("/mnt/d", bad, "posix"), RangeError, bad)
})

test("the local path of a long FilePath on Windows carries the \\\\?\\ prefix (drive letter, folder drive, share)", () => {
  const fp = "\\s-1\\box\\" + Array.from({ length: 12 }, (_, i) => `level-${i}-${"x".repeat(14)}`).join("\\") + "\\a.txt"
  const plain = "G:" + fp
  assert.ok(plain.length > 259)
  assert.equal(localPathOf("G:\\", fp, "win32"), "\\\\?\\" + plain)
  assert.equal(localPathOf("\\\\?\\G:\\", fp, "win32"), "\\\\?\\" + plain, "a prefixed root is not prefixed twice")
  assert.equal(localPathOf("\\\\nas\\drives\\d1", fp, "win32"), "\\\\?\\UNC\\nas\\drives\\d1" + fp)
  assert.equal(localPathOf("G:\\", "\\s-1\\a.txt", "win32"), "G:\\s-1\\a.txt", "a short one is left alone")
  assert.equal(localPathOf("/mnt/g", fp, "posix"), "/mnt/g" + fp.replace(/\\/g, "/"), "POSIX paths have no such limit")
})
