/**
 * PrepImport end to end: the real command on real folders, as a user runs it. Drives are temp
 * folders (one drive), or size-limited tmpfs mounts where the machine allows mounting (several
 * drives); crashes are SIGKILLs at named journal appends (WAIE_TEST_KILL_AT).
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const key = Buffer.alloc(64, 42).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"

/** Deterministic bytes: the same seed, the same file, on every machine. */
const bytes = (seed: number, n: number): Buffer => {
  const out = Buffer.alloc(n)
  let block = createHash("sha256").update(String(seed)).digest()
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i))
    block = createHash("sha256").update(block).digest()
  }
  return out
}

interface World {
  readonly dir: string
  readonly src: string
  readonly journal: string
  run(args: ReadonlyArray<string>, env?: Record<string, string>): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
}

const world = (): World => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-prep-"))
  const src = path.join(dir, "src")
  mkdirSync(path.join(src, "photos", "trip, day 1"), { recursive: true })
  mkdirSync(path.join(src, "disks"), { recursive: true })
  writeFileSync(path.join(src, "photos", "a.jpg"), bytes(1, 100_000))
  writeFileSync(path.join(src, "photos", "trip, day 1", "b \"quoted\".txt"), bytes(2, 5))
  writeFileSync(path.join(src, "photos", "trip, day 1", "empty.txt"), "")
  writeFileSync(path.join(src, "photos", "big.bin"), bytes(3, 9 * 1024 * 1024 + 7))
  // a sparse disk: data, 1 MiB of zeros, data
  writeFileSync(path.join(src, "disks", "d.vhd"), Buffer.concat([bytes(4, 4096), Buffer.alloc(1024 * 1024), bytes(5, 512)]))
  writeFileSync(path.join(src, "meta.xml"), '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Trip>2024</Trip>\n</Metadata>\n')
  writeFileSync(
    path.join(dir, "ds1.csv"),
    [
      "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile",
      `"${src}/photos/","pictures/",,rename,"${src}/meta.xml",None`,
      `"${src}/disks/","vhds/",,overwrite,None,None`,
      "",
    ].join("\n"),
  )
  return {
    dir,
    src,
    journal: path.join(dir, "logs", "j.jrn"),
    run: (args, env = {}) => {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } })
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
    },
  }
}

const driveset = (w: World, name: string, roots: ReadonlyArray<string>): string => {
  const file = path.join(w.dir, name)
  writeFileSync(file, ["DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey", ...roots.map((r) => `${r},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}`), ""].join("\n"))
  return file
}

const firstSession = (w: World, drives: string, extra: ReadonlyArray<string> = []) =>
  ["PrepImport", `/j:${w.journal}`, "/id:session#1", `/sk:${key}`, `/InitialDriveSet:${drives}`, "/DataSet:ds1.csv", `/logdir:${path.join(w.dir, "logs")}`, ...extra]

/** Every blob of a drive's manifest: its file on the drive equals its source, byte for byte. */
const checkDrive = (root: string, sourceOf: (blobPath: string) => string): number => {
  const xml = readFileSync(path.join(root, "DriveManifest.xml"), "utf8")
  let n = 0
  for (const m of xml.matchAll(/<BlobPath>([^<]*)<\/BlobPath>\s*<FilePath>([^<]*)<\/FilePath>/g)) {
    const blob = m[1]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"')
    const file = path.join(root, ...m[2]!.replace(/&amp;/g, "&").split("\\").filter((s) => s !== ""))
    assert.deepEqual(readFileSync(file), readFileSync(sourceOf(blob)), `${blob} on ${root}`)
    n++
  }
  return n
}

const sourceMap = (w: World) => (blob: string): string =>
  blob.startsWith("pictures/") ? path.join(w.src, "photos", blob.slice("pictures/".length)) : path.join(w.src, "disks", blob.slice("vhds/".length))

const manifestCheck = (w: World, root: string) => {
  const r = w.run(["manifest", "check", path.join(root, "DriveManifest.xml"), "--json"])
  assert.equal(r.status, 0, r.stdout)
  return r.stdout
}

test("a first session onto one drive: the files, the manifest, the job file, and no secret in the journal", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    const r = w.run(firstSession(w, driveset(w, "drives.csv", [g])))
    assert.equal(r.status, 0, r.stderr + r.stdout)
    assert.equal(checkDrive(g, sourceMap(w)), 5)
    manifestCheck(w, g)
    const manifest = readFileSync(path.join(g, "DriveManifest.xml"), "utf8")
    assert.match(manifest, new RegExp(`<StorageAccountKey>${key.replace(/[+/]/g, "\\$&")}</StorageAccountKey>`))
    assert.match(manifest, /<BlobList Id="session#1-0">\n\s*<MetadataPath Hash="[0-9A-F]{32}">\\session#1\\\$waie\\metadata-[0-9A-F]{32}\.xml<\/MetadataPath>/)
    assert.match(manifest, /<PageRange Offset="0" Length="4096" /)
    assert.doesNotMatch(manifest, /<PageRange Offset="4096"/, "the zero pages of the sparse disk are not listed")
    const journal = readFileSync(w.journal, "utf8")
    assert.ok(!journal.includes(key), "the journal holds the key")
    assert.ok(!journal.includes(bitlocker), "the journal holds the BitLocker key")
    const driveId = /<DriveId>([^<]+)<\/DriveId>/.exec(manifest)![1]!
    const jobFile = path.join(w.dir, "logs", `${driveId}.xml`)
    assert.equal(statSync(jobFile).mode & 0o777, 0o600)
    const hash = createHash("md5").update(readFileSync(path.join(g, "DriveManifest.xml"))).digest("hex").toUpperCase()
    assert.match(readFileSync(jobFile, "utf8"), new RegExp(`<BitLockerKey>${bitlocker}</BitLockerKey>[\\s\\S]*<ManifestHash>${hash}</ManifestHash>`))
    assert.match(r.stdout, new RegExp(`az import-export --drive-list bit-locker-key=${bitlocker} .*manifest-hash=${hash}`))
    // no partial file is left under any name
    const leftovers = (dir: string): Array<string> => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? leftovers(path.join(dir, e.name)) : e.name.includes("waie-partial") || e.name.includes(".tmp") ? [e.name] : []))
    assert.deepEqual(leftovers(g), [])
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("a second session appends its blob list; the sessions are listed; a reused id and a changed key are refused", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    assert.equal(w.run(firstSession(w, driveset(w, "drives.csv", [g]))).status, 0)
    const first = readFileSync(path.join(g, "DriveManifest.xml"), "utf8")
    mkdirSync(path.join(w.src, "more"))
    writeFileSync(path.join(w.src, "more", "c.txt"), bytes(9, 1234))
    writeFileSync(path.join(w.dir, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n"${w.src}/more/c.txt","docs/c.txt"\n`)
    const again = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#1", "/DataSet:ds2.csv"])
    assert.equal(again.status, 1)
    assert.match(again.stderr, /session id session#1 is already used/)
    const otherKey = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#2", "/DataSet:ds2.csv", `/sk:${Buffer.alloc(64, 1).toString("base64")}`])
    assert.equal(otherKey.status, 1)
    assert.match(otherKey.stderr, /another storage account key/)
    assert.equal(readFileSync(path.join(g, "DriveManifest.xml"), "utf8"), first, "refusals change nothing")
    const r = w.run(["prep-import", "--journal", w.journal, "--id", "session#2", "--data-set", "ds2.csv"])
    assert.equal(r.status, 0, r.stderr)
    const second = readFileSync(path.join(g, "DriveManifest.xml"), "utf8")
    assert.deepEqual([...second.matchAll(/<BlobList Id="([^"]+)"/g)].map((m) => m[1]), ["session#1-0", "session#1-1", "session#2-0"])
    assert.ok(second.startsWith(first.slice(0, first.indexOf("</Drive>"))), "the first session's blob lists stay as they were")
    assert.equal(checkDrive(g, (b) => (b === "docs/c.txt" ? path.join(w.src, "more", "c.txt") : sourceMap(w)(b))), 6)
    const list = w.run(["PrepImport", `/j:${w.journal}`, "/ListCopySessions", "--json"])
    assert.equal(list.status, 0)
    const sessions = list.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; sessionId?: string; status?: string }).filter((l) => l.type === "session")
    assert.deepEqual(sessions.map((s) => [s.sessionId, s.status]), [["session#1", "completed"], ["session#2", "completed"]])
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("bad input changes nothing: a missing source, a drive that holds the journal, a missing key", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    writeFileSync(path.join(w.dir, "bad.csv"), `BasePath,DstBlobPathOrPrefix\n"${w.src}/nope/","c1/"\n`)
    const drives = driveset(w, "drives.csv", [g])
    const missing = w.run(["PrepImport", `/j:${w.journal}`, "/id:s-1", `/sk:${key}`, `/InitialDriveSet:${drives}`, "/DataSet:bad.csv"])
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /bad\.csv:2/)
    const onDrive = w.run(["PrepImport", `/j:${path.join(g, "j.jrn")}`, "/id:s-1", `/sk:${key}`, `/InitialDriveSet:${drives}`, "/DataSet:ds1.csv"])
    assert.equal(onDrive.status, 1, onDrive.stderr)
    assert.match(onDrive.stderr, /journal/)
    const noKey = w.run(["PrepImport", `/j:${w.journal}`, "/id:s-1", `/InitialDriveSet:${drives}`, "/DataSet:ds1.csv"])
    assert.equal(noKey.status, 2)
    assert.deepEqual(readdirSync(g), [], "the drive is as it was")
    assert.equal(existsSync(w.journal), false, "no journal was created")
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

const normalise = (xml: string, root: string): string => {
  const id = /<DriveId>([^<]+)<\/DriveId>/.exec(xml)?.[1] ?? ""
  return xml.split(id).join("DRIVE").replace(root, "ROOT")
}

/** A world with a second large file, on two tmpfs drives where the machine can mount (else one folder). */
const crashWorld = (): { w: World; roots: Array<string>; cleanup: () => void } => {
  const w = world()
  writeFileSync(path.join(w.src, "photos", "second big.bin"), bytes(6, 5 * 1024 * 1024 + 3))
  writeFileSync(path.join(w.src, "disks", "third.vhd"), Buffer.concat([bytes(7, 4 * 1024 * 1024 + 512), Buffer.alloc(8192), bytes(8, 1024)]))
  const g = path.join(w.dir, "g")
  const h = path.join(w.dir, "h")
  const mounted: Array<string> = []
  let roots: Array<string>
  if (tmpfs(g, 12 * 1024 * 1024) && tmpfs(h, 12 * 1024 * 1024)) {
    mounted.push(g, h)
    roots = [g, h]
  } else {
    if (existsSync(g)) spawnSync("umount", [g])
    mkdirSync(g, { recursive: true })
    roots = [g]
  }
  return {
    w,
    roots,
    cleanup: () => {
      for (const m of mounted.reverse()) spawnSync("umount", [m])
      rmSync(w.dir, { recursive: true, force: true })
    },
  }
}

const manifests = (roots: ReadonlyArray<string>): Array<string> => roots.map((r) => normalise(readFileSync(path.join(r, "DriveManifest.xml"), "utf8"), r))

test("a crash at any journal append of a two-drive session, then ResumeSession: the manifests of an uninterrupted run, every file intact", (t) => {
  const reference = crashWorld()
  try {
    const drives = driveset(reference.w, "drives.csv", reference.roots)
    const ok = reference.w.run(firstSession(reference.w, drives))
    assert.equal(ok.status, 0, ok.stderr)
    const expected = manifests(reference.roots)
    const files = reference.roots.reduce((n, r) => n + checkDrive(r, sourceMap(reference.w)), 0)
    assert.equal(files, 7)
    if (reference.roots.length === 2) assert.ok(expected.every((m) => m.includes("<BlobPath>")), "both drives hold blobs")
    let crashes = 0
    for (let at = 1; at < 80; at++) {
      const c = crashWorld()
      try {
        const cd = driveset(c.w, "drives.csv", c.roots)
        const crashed = c.w.run(firstSession(c.w, cd), { WAIE_TEST_KILL_AT: String(at) })
        if (crashed.signal !== "SIGKILL") {
          assert.equal(crashed.status, 0, crashed.stderr)
          break // the session ends before its at-th append: every point was tried
        }
        crashes++
        let r = c.w.run(["PrepImport", `/j:${c.w.journal}`, "/id:session#1", "/ResumeSession"])
        if (r.status !== 0 && /no interrupted session to resume: the latest, session#1, completed/.test(r.stderr)) r = { ...r, status: 0 }
        if (r.status !== 0 && /no session was started/.test(r.stderr)) r = c.w.run(firstSession(c.w, cd)) // killed before the session began: run it again
        assert.equal(r.status, 0, `crash at append ${at}: ${r.stderr}`)
        assert.deepEqual(manifests(c.roots), expected, `crash at append ${at}`)
        assert.equal(c.roots.reduce((n, root) => n + checkDrive(root, sourceMap(c.w)), 0), 7)
      } finally {
        c.cleanup()
      }
    }
    t.diagnostic(`${crashes} crash points on ${reference.roots.length} drive(s), each resumed to the reference manifests`)
    assert.ok(crashes >= (reference.roots.length === 2 ? 20 : 12), `only ${crashes} crash points`)
  } finally {
    reference.cleanup()
  }
})

test("AbortSession after a crash in a later session puts drives and journal back as they were", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    assert.equal(w.run(firstSession(w, driveset(w, "drives.csv", [g]))).status, 0)
    const journalBefore = readFileSync(w.journal)
    const manifestBefore = readFileSync(path.join(g, "DriveManifest.xml"))
    writeFileSync(path.join(w.dir, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n"${w.src}/photos/","more/"\n`)
    const crashed = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#2", "/DataSet:ds2.csv"], { WAIE_TEST_KILL_AT: "3" })
    assert.equal(crashed.signal, "SIGKILL")
    const refused = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#3", "/DataSet:ds2.csv"])
    assert.equal(refused.status, 1)
    assert.match(refused.stderr, /session#2 was interrupted/)
    const r = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#2", "/AbortSession"])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(readFileSync(w.journal), journalBefore)
    assert.deepEqual(readFileSync(path.join(g, "DriveManifest.xml")), manifestBefore)
    assert.equal(existsSync(path.join(g, "session#2")), false)
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

/** Mount a tmpfs of `bytes` at a new folder, or undefined where this machine cannot. */
const tmpfs = (at: string, bytes: number): boolean => {
  mkdirSync(at, { recursive: true })
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", at])
  return r.status === 0
}

test("data larger than one drive is spread over several (tmpfs drives of 8 MiB and 16 MiB)", (t) => {
  const w = world()
  const mounted: Array<string> = []
  try {
    const g = path.join(w.dir, "g")
    const h = path.join(w.dir, "h")
    if (!tmpfs(g, 8 * 1024 * 1024)) {
      t.diagnostic("cannot mount tmpfs here (not root, or no mount permission): the multi-drive placement is covered in-process by properties/placement.test.ts only")
      return
    }
    mounted.push(g)
    assert.ok(tmpfs(h, 16 * 1024 * 1024))
    mounted.push(h)
    chmodSync(g, 0o755)
    const r = w.run(firstSession(w, driveset(w, "drives.csv", [g, h])))
    assert.equal(r.status, 0, r.stderr)
    const onG = checkDrive(g, sourceMap(w))
    const onH = checkDrive(h, sourceMap(w))
    assert.equal(onG + onH, 5)
    assert.ok(onG > 0 && onH > 0, `files on g: ${onG}, on h: ${onH}`)
    assert.match(readFileSync(path.join(h, "DriveManifest.xml"), "utf8"), /big\.bin/, "the 9 MiB file went to the 16 MiB drive")
  } finally {
    for (const m of mounted.reverse()) spawnSync("umount", [m])
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("Format on a folder drive erases what was in it (SilentMode), and the copy goes on", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(path.join(g, "old stuff"), { recursive: true })
    writeFileSync(path.join(g, "old stuff", "x.txt"), "old")
    const drives = path.join(w.dir, "format.csv")
    writeFileSync(drives, `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${g},Format,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
    const notEmpty = w.run(firstSession(w, driveset(w, "keep.csv", [g])))
    assert.equal(notEmpty.status, 1, "a drive with files on it is refused without Format")
    assert.match(notEmpty.stderr, /not empty/)
    const r = w.run(firstSession(w, drives))
    assert.equal(r.status, 0, r.stderr)
    assert.equal(existsSync(path.join(g, "old stuff")), false)
    assert.equal(checkDrive(g, sourceMap(w)), 5)
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("what fits on no drive interrupts the session (exit 5); /AdditionalDriveSet continues it onto new drives", (t) => {
  const w = world()
  const mounted: Array<string> = []
  try {
    const g = path.join(w.dir, "g")
    const h = path.join(w.dir, "h")
    if (!tmpfs(g, 4 * 1024 * 1024)) {
      t.diagnostic("cannot mount tmpfs here (not root, or no mount permission): continuing a session onto added drives is not exercised")
      return
    }
    mounted.push(g)
    assert.ok(tmpfs(h, 16 * 1024 * 1024))
    mounted.push(h)
    const first = w.run(firstSession(w, driveset(w, "drives.csv", [g])))
    assert.equal(first.status, 5, first.stderr)
    assert.match(first.stderr, /session session#1 is interrupted: 1 file \(9437191 bytes\) fit on no drive:\n {2}\S*big\.bin/)
    assert.equal(existsSync(path.join(g, "DriveManifest.xml")), false, "no manifest until the session completes")
    const other = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#9", `/AdditionalDriveSet:${driveset(w, "more.csv", [h])}`])
    assert.equal(other.status, 1, "drives join the interrupted session only")
    // a crash while continuing, then a resume
    const crashed = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#1", `/AdditionalDriveSet:${driveset(w, "more.csv", [h])}`], { WAIE_TEST_KILL_AT: "2" })
    assert.equal(crashed.signal, "SIGKILL", crashed.stderr)
    const r = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#1", "/ResumeSession"])
    assert.equal(r.status, 0, r.stderr)
    const onG = checkDrive(g, sourceMap(w))
    const onH = checkDrive(h, sourceMap(w))
    assert.equal(onG + onH, 5)
    assert.match(readFileSync(path.join(h, "DriveManifest.xml"), "utf8"), /<BlobPath>pictures\/big\.bin<\/BlobPath>/)
    manifestCheck(w, g)
    manifestCheck(w, h)
  } finally {
    for (const m of mounted.reverse()) spawnSync("umount", [m])
    rmSync(w.dir, { recursive: true, force: true })
  }
})

/** Every file under a folder with its bytes' hash: to show that a refused command changed nothing. */
const tree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[path.relative(dir, p)] = createHash("md5").update(readFileSync(p)).digest("hex")
    }
  }
  walk(dir)
  return out
}

test("bad command lines and refused sessions: a clear error, a non-zero exit, nothing changed", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    const drives = driveset(w, "drives.csv", [g])
    assert.equal(w.run(firstSession(w, drives)).status, 0)
    writeFileSync(path.join(w.dir, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n"${w.src}/photos/a.jpg","docs/a.jpg"\n`)
    const cases: Array<[string, ReadonlyArray<string>, number, RegExp]> = [
      ["no journal", ["PrepImport", "/id:s-2", "/DataSet:ds2.csv"], 2, /\/j:<JournalFile> is required/],
      ["a bad session id", ["PrepImport", `/j:${w.journal}`, "/id:ab", "/DataSet:ds2.csv"], 2, /session id of 3-30/],
      ["no dataset", ["PrepImport", `/j:${w.journal}`, "/id:s-2"], 2, /\/DataSet:<dataset\.csv> is required/],
      ["a changed log directory", ["PrepImport", `/j:${w.journal}`, "/id:s-2", "/DataSet:ds2.csv", `/logdir:${w.dir}`], 1, /the log directory of this journal is .*; it can be given only once/],
      ["a key and a SAS", ["PrepImport", `/j:${w.journal}`, "/id:s-2", "/DataSet:ds2.csv", `/sk:${key}`, "/csas:c?sv=1&sig=x"], 2, /give \/sk or \/csas, not both/],
      ["a key that is not Base64", ["PrepImport", `/j:${w.journal}`, "/id:s-2", "/DataSet:ds2.csv", "/sk:not a key!"], 2, /not Base64 \(not shown/],
      ["nothing to resume", ["PrepImport", `/j:${w.journal}`, "/id:session#1", "/ResumeSession"], 1, /no interrupted session to resume/],
      ["nothing to abort", ["PrepImport", `/j:${w.journal}`, "/id:session#1", "/AbortSession"], 1, /no interrupted session to abort/],
      ["InitialDriveSet again", ["PrepImport", `/j:${w.journal}`, "/id:s-2", "/DataSet:ds2.csv", `/InitialDriveSet:${drives}`], 1, /\/InitialDriveSet is for the first session/],
      ["two modes", ["PrepImport", `/j:${w.journal}`, "/ListDrives", "/ListCopySessions"], 2, /give only one of/],
    ]
    const before = { drive: tree(g), logs: tree(path.join(w.dir, "logs")) }
    for (const [what, args, code, message] of cases) {
      const r = w.run(args)
      assert.equal(r.status, code, `${what}: ${r.stderr}`)
      assert.match(r.stderr, message, what)
      assert.doesNotMatch(r.stderr + r.stdout, new RegExp(key.slice(0, 20).replace(/[+/]/g, "\\$&")), `${what}: the key was printed`)
      assert.deepEqual({ drive: tree(g), logs: tree(path.join(w.dir, "logs")) }, before, `${what}: something changed`)
    }
    // a drive that is a source folder
    const srcDrive = driveset(w, "src-drive.csv", [path.join(w.src, "photos")])
    const other = path.join(w.dir, "other.jrn")
    const r = w.run(["PrepImport", `/j:${other}`, "/id:s-9", `/sk:${key}`, `/InitialDriveSet:${srcDrive}`, "/DataSet:ds1.csv"])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /cannot be a target drive: the source .* is the drive/)
    assert.equal(existsSync(other), false)
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("a source changed between a crash and the resume is named, and the resume refused", () => {
  const w = world()
  try {
    const g = path.join(w.dir, "g")
    mkdirSync(g)
    // crash just after big.bin (the dataset's second file) was placed, before any of it was copied
    const crashed = w.run(firstSession(w, driveset(w, "drives.csv", [g])), { WAIE_TEST_KILL_AT: "5" })
    assert.equal(crashed.signal, "SIGKILL")
    const journal = readFileSync(w.journal)
    writeFileSync(path.join(w.src, "photos", "big.bin"), bytes(99, 10))
    const r = w.run(["PrepImport", `/j:${w.journal}`, "/id:session#1", "/ResumeSession"])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /big\.bin: the source changed since the session began \(it was 9437191 bytes/)
    assert.deepEqual(readFileSync(w.journal), journal, "the journal is unchanged")
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})
