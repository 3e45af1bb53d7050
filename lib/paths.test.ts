import assert from "node:assert/strict"
import { test } from "node:test"
import type { NameProblem } from "./names.ts"
import * as path from "node:path"
import { baseName, emptyMounts, makeMountMap, type MountEntry, type MountMap, parseMount, type Platform, resolveSourcePath, type SourcePath, stripLongPathPrefix, windowsLongPath } from "./paths.ts"

const mounts = (...values: Array<string>): MountMap => {
  const entries = values.map((v) => parseMount(v) as MountEntry)
  const map = makeMountMap(entries)
  assert.ok(!("expected" in map))
  return map
}

const ok = (raw: string, m: MountMap = emptyMounts, platform: Platform = "posix"): SourcePath => {
  const r = resolveSourcePath(raw, { mounts: m, platform })
  assert.ok(!("expected" in r), `${raw}: ${JSON.stringify(r)}`)
  return r
}
const bad = (raw: string, m: MountMap = emptyMounts, platform: Platform = "posix"): NameProblem => {
  const r = resolveSourcePath(raw, { mounts: m, platform })
  assert.ok("expected" in r, `${raw} should be refused`)
  return r
}

test("a drive path maps through --mount on a POSIX host, letters case-insensitive", () => {
  const m = mounts("F=/mnt/f")
  const p = ok("F:\\a\\b.txt", m)
  assert.equal(p.local, "/mnt/f/a/b.txt")
  assert.equal(p.form, "drive")
  assert.equal(p.drive, "F")
  assert.deepEqual(p.segments, ["a", "b.txt"])
  assert.equal(p.isDirectory, false)
  assert.equal(ok("f:\\a\\b.txt", m).local, "/mnt/f/a/b.txt")
  assert.equal(ok("F:/a/b.txt", m).local, "/mnt/f/a/b.txt")
  assert.equal(ok("F:\\a/b\\", m).local, "/mnt/f/a/b/")
})

test("a trailing separator marks a directory", () => {
  const m = mounts("f:=/mnt/f/")
  const d = ok("F:\\50M_original\\", m)
  assert.equal(d.isDirectory, true)
  assert.equal(d.local, "/mnt/f/50M_original/")
  const root = ok("F:\\", m)
  assert.equal(root.isDirectory, true)
  assert.equal(root.local, "/mnt/f/")
  assert.deepEqual(root.segments, [])
  assert.equal(ok("/data/x/").isDirectory, true)
  assert.equal(ok("/data/x").isDirectory, false)
  assert.equal(ok("/").local, "/")
})

test("an unmapped drive on a POSIX host says which --mount to add", () => {
  const p = bad("F:\\50M_original\\")
  assert.match(p.found, /drive F: has no --mount mapping; add --mount F=\/path/)
  assert.match(bad("g:\\x", mounts("F=/mnt/f")).found, /drive G: has no --mount mapping; add --mount G=\/path/)
})

test("on a Windows host Windows paths are used as they are", () => {
  const p = ok("F:\\a\\b.txt", emptyMounts, "win32")
  assert.equal(p.local, "F:\\a\\b.txt")
  assert.equal(ok("f:/a/dir/", emptyMounts, "win32").local, "F:\\a\\dir\\")
  assert.equal(ok("\\\\srv\\share\\x\\", emptyMounts, "win32").local, "\\\\srv\\share\\x\\")
  // a mapping still wins
  assert.equal(ok("F:\\a", mounts("F=D:\\copy"), "win32").local, "D:\\copy\\a")
})

test("a POSIX path has no drive on a Windows host", () => {
  assert.match(bad("/data/x", emptyMounts, "win32").found, /a POSIX path has no drive here/)
})

test("UNC shares map through --mount, case-insensitively", () => {
  const m = mounts("\\\\server\\Share=/mnt/s")
  const p = ok("\\\\SERVER\\share\\music\\a.mp3", m)
  assert.equal(p.local, "/mnt/s/music/a.mp3")
  assert.equal(p.form, "unc")
  assert.equal(p.share, "\\\\SERVER\\share")
  assert.equal(ok("//server/share/music/", m).local, "/mnt/s/music/")
  assert.match(bad("\\\\other\\share\\x").found, /share \\\\other\\share has no --mount mapping; add --mount '\\\\other\\share=\/path'/)
  assert.match(bad("\\\\server\\share", m).found, /a share is a folder/)
})

test("the \\\\?\\ long-path prefix is dropped", () => {
  assert.equal(ok("\\\\?\\F:\\long\\path.txt", mounts("F=/mnt/f")).local, "/mnt/f/long/path.txt")
  assert.equal(ok("\\\\?\\UNC\\server\\share\\x", mounts("\\\\server\\share=/mnt/s")).local, "/mnt/s/x")
  assert.match(bad("\\\\.\\PhysicalDrive0").found, /device path/)
})

test("relative paths are refused, with what makes them relative", () => {
  assert.match(bad("data\\x.txt").found, /a relative path/)
  assert.match(bad(".\\x").found, /a relative path/)
  assert.match(bad("~/x").found, /a relative path/)
  assert.match(bad("F:x.txt").found, /relative to the current folder of drive F:; did you mean "F:\\x.txt"\?/)
  assert.match(bad("\\x\\y").found, /no drive letter/)
  assert.match(bad("").found, /empty/)
})

test("'.' and '..' segments are refused; doubled separators count as one", () => {
  const m = mounts("F=/mnt/f")
  assert.match(bad("F:\\a\\..\\b", m).expected, /without '\.' or '\.\.'/)
  assert.match(bad("/a/../../etc/passwd").expected, /without '\.' or '\.\.'/)
  assert.match(bad("F:\\a\\.\\b", m).expected, /without '\.' or '\.\.'/)
  assert.equal(ok("F:\\a\\\\b", m).local, "/mnt/f/a/b")
  assert.equal(ok("//x/y//z", mounts("\\\\x\\y=/s")).local, "/s/z")
  assert.match(bad("//x//y").found, /a share path needs/)
  assert.equal(ok("/a//b/").local, "/a/b/")
  assert.equal(ok("/a/..b/c..").local, "/a/..b/c..")
})

test("control characters, and in Windows paths < > : \" | ? *, are refused", () => {
  const m = mounts("F=/mnt/f")
  assert.match(bad("/a\u0001b").expected, /control/)
  assert.match(bad("F:\\a|b", m).found, /'\|'/)
  assert.match(bad("F:\\a\\b:c", m).found, /':'/)
  // POSIX names may hold them
  assert.equal(ok("/a|b:c").local, "/a|b:c")
})

test("POSIX paths split on '/' only", () => {
  const p = ok("/a\\b/c")
  assert.deepEqual(p.segments, ["a\\b", "c"])
})

test("parseMount reads drive and share forms", () => {
  assert.deepEqual(parseMount("F=/mnt/f"), { key: { kind: "drive", letter: "F" }, target: "/mnt/f", raw: "F=/mnt/f" })
  assert.deepEqual((parseMount("f:=/mnt/f") as MountEntry).key, { kind: "drive", letter: "F" })
  assert.deepEqual((parseMount("F:\\=/mnt/f") as MountEntry).key, { kind: "drive", letter: "F" })
  assert.deepEqual((parseMount("\\\\srv\\share=/mnt/s") as MountEntry).key, { kind: "share", server: "srv", share: "share" })
  assert.deepEqual((parseMount("//srv/share/=/mnt/s") as MountEntry).key, { kind: "share", server: "srv", share: "share" })
  assert.equal((parseMount("F=/a=b") as MountEntry).target, "/a=b")
})

test("parseMount refuses what is neither", () => {
  assert.match((parseMount("F/mnt/f") as NameProblem).found, /no '='/)
  assert.match((parseMount("F=") as NameProblem).found, /no folder/)
  assert.match((parseMount("FF=/x") as NameProblem).found, /neither a drive letter/)
  assert.match((parseMount("\\\\srv=/x") as NameProblem).found, /neither a drive letter/)
})

test("makeMountMap resolves targets and refuses a drive mapped twice", () => {
  const entries = ["F=rel/f", "G=/g"].map((v) => parseMount(v) as MountEntry)
  const map = makeMountMap(entries, (t) => (t.startsWith("/") ? t : `/cwd/${t}`)) as MountMap
  assert.equal(map.drives.get("F"), "/cwd/rel/f")
  assert.equal(ok("F:\\x", map).local, "/cwd/rel/f/x")
  const twice = makeMountMap(["F=/a", "f:=/b"].map((v) => parseMount(v) as MountEntry))
  assert.ok("expected" in twice)
  assert.match(twice.found, /F: mapped twice/)
  const shares = makeMountMap(["\\\\s\\x=/a", "//S/X=/b"].map((v) => parseMount(v) as MountEntry))
  assert.ok("expected" in shares)
})

test("baseName is the last name", () => {
  assert.equal(baseName(ok("/a/b.txt")), "b.txt")
  assert.equal(baseName(ok("/")), "")
})

test("windowsLongPath: over 259 characters (a folder over 247) a drive or UNC path gets \\\\?\\; nothing else changes", () => {
  const name = (n: number) => "d".repeat(n)
  const at = (len: number, root = "C:\\") => root + name(len - root.length)
  assert.equal(windowsLongPath(at(259)), at(259), "259 is still a plain path")
  assert.equal(windowsLongPath(at(260)), "\\\\?\\" + at(260))
  assert.equal(windowsLongPath(at(247) + "\\"), at(247) + "\\", "a folder of 247, its separator aside")
  assert.equal(windowsLongPath(at(248) + "\\"), "\\\\?\\" + at(248) + "\\")
  const unc = "\\\\srv\\share\\" + name(300)
  assert.equal(windowsLongPath(unc), "\\\\?\\UNC\\srv\\share\\" + name(300))
  assert.equal(windowsLongPath("C:/x/" + name(300)), "\\\\?\\C:\\x\\" + name(300), "'/' is no separator after the prefix")
  for (const p of ["\\\\?\\C:\\" + name(300), "\\\\.\\PhysicalDrive0\\" + name(300), "relative\\" + name(300), "/posix/" + name(300)]) assert.equal(windowsLongPath(p), p, p.slice(0, 12))
  // the prefixed form is the one Node's own win32 path code gives, and survives join, dirname and resolve
  const long = windowsLongPath(at(300))
  assert.equal(path.win32.toNamespacedPath(at(300)), long)
  const nested = windowsLongPath("C:\\a\\" + name(300))
  assert.equal(path.win32.dirname(nested), "\\\\?\\C:\\a")
  assert.equal(path.win32.join(path.win32.dirname(nested), "x"), "\\\\?\\C:\\a\\x")
  assert.equal(path.win32.resolve(long), long)
  assert.equal(path.win32.toNamespacedPath(unc), windowsLongPath(unc))
  assert.equal(stripLongPathPrefix(long), at(300))
  assert.equal(stripLongPathPrefix(windowsLongPath(unc)), unc)
  assert.equal(stripLongPathPrefix("/mnt/x"), "/mnt/x")
})

test("on a Windows host a long source path comes back with the prefix; a mapped POSIX one never does", () => {
  const deep = Array.from({ length: 30 }, (_, i) => `folder${String(i).padStart(2, "0")}`).join("\\")
  const file = ok(`F:\\${deep}\\name.txt`, emptyMounts, "win32")
  assert.ok(file.local.length > 259)
  assert.equal(file.local, `\\\\?\\F:\\${deep}\\name.txt`)
  assert.equal(ok(`\\\\?\\F:\\${deep}\\name.txt`, emptyMounts, "win32").local, file.local, "a prefixed path given is read the same")
  assert.equal(ok(`\\\\srv\\share\\${deep}\\`, emptyMounts, "win32").local, `\\\\?\\UNC\\srv\\share\\${deep}\\`)
  assert.equal(ok(`F:\\${deep}\\name.txt`, mounts("F=D:\\copy"), "win32").local, `\\\\?\\D:\\copy\\${deep}\\name.txt`)
  assert.equal(ok("F:\\short\\x.txt", emptyMounts, "win32").local, "F:\\short\\x.txt")
  assert.equal(ok(`F:\\${deep}\\name.txt`, mounts("F=/mnt/f")).local, `/mnt/f/${deep.replace(/\\/g, "/")}/name.txt`)
})
