import assert from "node:assert/strict"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import * as FileSystem from "@effect/platform/FileSystem"
import { SystemError } from "@effect/platform/Error"
import { NodeFileSystem } from "@effect/platform-node"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import type { DrivesetRow, DriveTarget } from "./driveset.ts"
import {
  type DriveUse,
  encryptionPlan,
  foreignEntries,
  identityFileName,
  lockFileName,
  manifestFileName,
  openDrive,
  type OpenDriveOptions,
  parseIdentity,
  parseLock,
  processAlive,
  Prompt,
  PromptTest,
  resolveDriveRoot,
  useFromRow,
} from "./drive.ts"
import { CommandRunner, type CommandRunnerService } from "./commands-runner.ts"
import { emptyMounts, makeMountMap, type MountMap } from "./paths.ts"
import { type Volumes, VolumesTest } from "./volumes.ts"

const temp = (): string => mkdtempSync(path.join(tmpdir(), "waie-"))

/** A test bed: a folder holding a drive folder, a journal folder and a source folder. */
const bed = () => {
  const base = temp()
  const root = path.join(base, "drive")
  const journalDir = path.join(base, "journal")
  const source = path.join(base, "source")
  for (const d of [root, journalDir, source]) mkdirSync(d)
  return { base, root, journal: path.join(journalDir, "job.jrn"), logdir: path.join(journalDir, "logs"), source, done: () => rmSync(base, { recursive: true, force: true }) }
}

const add = (over: Partial<Extract<DriveUse, { kind: "add" }>> = {}): DriveUse => ({ kind: "add", format: false, silent: true, confirmAnswer: "G", ...over })

const options = (b: ReturnType<typeof bed>, over: Partial<OpenDriveOptions> = {}): OpenDriveOptions => ({
  root: b.root,
  drive: "G:",
  journalId: "J-1",
  journalPath: b.journal,
  protectedPaths: [
    { kind: "log folder", path: b.logdir },
    { kind: "source", path: b.source },
  ],
  use: add(),
  ...over,
})

interface Env {
  readonly answers?: ReadonlyArray<string | undefined>
  readonly asked?: Array<string>
  readonly capacities?: Record<string, number>
  readonly serials?: Record<string, string>
  readonly fs?: Layer.Layer<FileSystem.FileSystem>
}

const provide = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem | Volumes | Prompt>, env: Env = {}) => {
  const fsLayer = env.fs ?? NodeFileSystem.layer
  return e.pipe(
    Effect.provide(Layer.mergeAll(VolumesTest(env.capacities ?? {}, env.serials ?? {}).pipe(Layer.provide(fsLayer)), PromptTest(env.answers ?? [], env.asked), fsLayer)),
  )
}

/** Open a drive and close it again. */
const withDrive = (o: OpenDriveOptions) => Effect.scoped(openDrive(o))

const run = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem | Volumes | Prompt>, env: Env = {}) => Effect.runPromise(provide(e, env))
const fails = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem | Volumes | Prompt>, env: Env = {}) => Effect.runPromise(Effect.flip(provide(e, env)))

/** Every file under a folder with its bytes, to show that nothing changed. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) {
        out[path.relative(dir, p) + "/"] = ""
        walk(p)
      } else out[path.relative(dir, p)] = readFileSync(p, "latin1")
    }
  }
  walk(dir)
  return out
}

const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!

// ---------------------------------------------------------------- where a drive is

const row = (drive: DriveTarget): Pick<DrivesetRow, "drive"> => ({ drive })
const mounts = (...entries: Array<[string, string]>): MountMap => {
  const m = makeMountMap(entries.map(([l, t]) => ({ key: { kind: "drive", letter: l }, target: t, raw: `${l}=${t}` })))
  if ("expected" in m) throw new Error(m.found)
  return m
}

test("resolveDriveRoot: letters through --mount, folders as they are, a typed error naming the fix", async () => {
  const ok = (d: DriveTarget, m: MountMap, p: "posix" | "win32") => Effect.runPromise(resolveDriveRoot(row(d), m, p))
  const err = (d: DriveTarget, m: MountMap, p: "posix" | "win32") => Effect.runPromise(Effect.flip(resolveDriveRoot(row(d), m, p)))
  assert.equal(await ok({ kind: "letter", letter: "G" }, mounts(["G", "/mnt/g/"]), "posix"), "/mnt/g")
  const unmapped = await err({ kind: "letter", letter: "G" }, emptyMounts, "posix")
  assert.equal(unmapped._tag, "DriveUnreachable")
  assert.equal(unmapped.message, "drive G: has no --mount mapping; add --mount G=/path")
  assert.equal(await ok({ kind: "letter", letter: "G" }, emptyMounts, "win32"), "G:\\")
  assert.equal(await ok({ kind: "path", path: "/mnt/disk1", form: "posix" }, emptyMounts, "posix"), "/mnt/disk1")
  assert.equal(await ok({ kind: "path", path: "D:\\mounts\\disk1", form: "windows" }, mounts(["D", "/mnt/d"]), "posix"), "/mnt/d/mounts/disk1")
  assert.equal(await ok({ kind: "path", path: "D:\\mounts\\disk1", form: "windows" }, emptyMounts, "win32"), "D:\\mounts\\disk1")
  const noD = await err({ kind: "path", path: "D:\\mounts\\disk1", form: "windows" }, emptyMounts, "posix")
  assert.match(noD.message, /^drive D:\\mounts\\disk1 cannot be reached: .*drive D: has no --mount mapping; add --mount D=\/path/)
  const posixOnWindows = await err({ kind: "path", path: "/mnt/disk1", form: "posix" }, emptyMounts, "win32")
  assert.equal(posixOnWindows.message, "drive /mnt/disk1 is a POSIX folder, which has no drive on this Windows host")
})

// ---------------------------------------------------------------- opening, identity, lock

test("a new empty drive: identity file written once (WAIE + 12 hex), lock held while open and removed after, canary gone", async () => {
  const b = bed()
  try {
    const inside = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const d = yield* openDrive(options(b))
          const lock = parseLock(readFileSync(path.join(b.root, lockFileName), "utf8"))
          return { d, lock, names: readdirSync(b.root).sort() }
        }),
      ),
    )
    assert.match(inside.d.driveId, /^WAIE[0-9A-F]{12}$/)
    assert.equal(inside.d.identity, "file")
    assert.equal(inside.d.created, true)
    assert.equal(inside.d.formatted, false)
    assert.deepEqual(inside.d.notes, [])
    assert.deepEqual(inside.names, [lockFileName, identityFileName].sort(), "no canary left, no temp file")
    assert.ok(typeof inside.lock !== "string")
    assert.equal(inside.lock.pid, process.pid)
    assert.equal(inside.lock.host, hostname())
    assert.equal(inside.lock.journal, b.journal)
    assert.ok(!Number.isNaN(Date.parse(inside.lock.time)))
    assert.deepEqual(readdirSync(b.root), [identityFileName], "the lock is removed when the scope closes")
    const id = parseIdentity(readFileSync(path.join(b.root, identityFileName), "utf8"))
    assert.ok(typeof id !== "string")
    assert.equal(id.driveId, inside.d.driveId)
    assert.equal(id.journalId, "J-1")
    assert.ok(!Number.isNaN(Date.parse(id.created)))
  } finally {
    b.done()
  }
})

test("the identity file is reused: same DriveId, file untouched; two drives get different ids", async () => {
  const b = bed()
  const other = bed()
  try {
    const first = await run(withDrive(options(b)))
    const bytes = readFileSync(path.join(b.root, identityFileName))
    const again = await run(withDrive(options(b)))
    assert.equal(again.driveId, first.driveId)
    assert.equal(again.created, false)
    assert.deepEqual(readFileSync(path.join(b.root, identityFileName)), bytes)
    const known = await run(withDrive(options(b, { use: { kind: "known", driveId: first.driveId } })))
    assert.equal(known.driveId, first.driveId)
    const second = await run(withDrive(options(other)))
    assert.notEqual(second.driveId, first.driveId)
  } finally {
    b.done()
    other.done()
  }
})

test("a known drive must carry the id the journal recorded", async () => {
  const b = bed()
  try {
    const missing = await fails(withDrive(options(b, { use: { kind: "known", driveId: "WAIE000000000001" } })))
    assert.equal(missing._tag, "DriveIdentityMismatch")
    assert.match(missing.message, /is not the drive this journal knows as WAIE000000000001: found no waie-drive\.json/)
    const d = await run(withDrive(options(b)))
    const other = await fails(withDrive(options(b, { use: { kind: "known", driveId: "WAIE000000000001" } })))
    assert.equal(other._tag, "DriveIdentityMismatch")
    assert.match(other.message, new RegExp(`found drive ${d.driveId}`))
  } finally {
    b.done()
  }
})

test("a device serial is the DriveId when the Volumes service shows one (and the identity file records it)", async () => {
  const b = bed()
  try {
    const d = await run(withDrive(options(b)), { serials: { [b.root]: "WD-WCC4E1234567" } })
    assert.equal(d.driveId, "WD-WCC4E1234567")
    assert.equal(d.identity, "serial")
    const id = parseIdentity(readFileSync(path.join(b.root, identityFileName), "utf8"))
    assert.ok(typeof id !== "string" && id.driveId === "WD-WCC4E1234567" && id.journalId === "J-1")
    const later = await run(withDrive(options(b)), {})
    assert.equal(later.driveId, "WD-WCC4E1234567", "the identity file keeps the id when the serial is not shown")
    assert.equal(later.identity, "file")
  } finally {
    b.done()
  }
})

test("lock exclusion: a second open fails while the first is open (naming the holder), succeeds after", async () => {
  const b = bed()
  try {
    const result = await run(
      Effect.gen(function* () {
        const inside = yield* Effect.scoped(Effect.flatMap(openDrive(options(b)), () => Effect.flip(Effect.scoped(openDrive(options(b))))))
        const after = yield* Effect.scoped(openDrive(options(b)))
        return { inside, after }
      }),
    )
    assert.equal(result.inside._tag, "DriveLocked")
    assert.ok(result.inside._tag === "DriveLocked" && result.inside.holder?.pid === process.pid)
    assert.match(result.inside.message, new RegExp(`in use by waie \\(pid ${process.pid} on .* journal ${b.journal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`))
    assert.match(result.after.driveId, /^WAIE/)
    assert.ok(!existsSync(path.join(b.root, lockFileName)))
  } finally {
    b.done()
  }
})

test("a stale lock (dead pid, this host) is taken over with a note; a live or foreign-host lock is not", async () => {
  const b = bed()
  try {
    const lockPath = path.join(b.root, lockFileName)
    const pid = deadPid()
    assert.equal(processAlive(pid), false)
    writeFileSync(lockPath, JSON.stringify({ pid, host: hostname(), time: "2020-01-01T00:00:00.000Z", journal: "/old/job.jrn" }))
    const d = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const d = yield* openDrive(options(b))
          const lock = parseLock(readFileSync(lockPath, "utf8"))
          assert.ok(typeof lock !== "string" && lock.pid === process.pid, "the lock is now ours")
          return d
        }),
      ),
    )
    assert.equal(d.notes.length, 1)
    assert.match(d.notes[0]!, new RegExp(`took over the lock left by waie pid ${pid} .*/old/job\\.jrn`))
    assert.deepEqual(readdirSync(b.root), [identityFileName], "lock released, nothing moved aside left behind")

    // pid 1 is alive on any host: a live lock
    writeFileSync(lockPath, JSON.stringify({ pid: 1, host: hostname(), time: "2020-01-01T00:00:00.000Z", journal: "/other.jrn" }))
    const live = await fails(withDrive(options(b)))
    assert.equal(live._tag, "DriveLocked")
    assert.match(live.message, /pid 1 on .* journal \/other\.jrn/)
    assert.ok(existsSync(lockPath), "a live lock stays")

    writeFileSync(lockPath, JSON.stringify({ pid, host: "elsewhere.example", time: "2020-01-01T00:00:00.000Z", journal: "/x.jrn" }))
    const remote = await fails(withDrive(options(b)))
    assert.equal(remote._tag, "DriveLocked")
    assert.match(remote.message, /on elsewhere\.example/)

    writeFileSync(lockPath, "{garbage")
    const garbled = await fails(withDrive(options(b)))
    assert.equal(garbled._tag, "DriveLocked")
    assert.match(garbled.message, /cannot be read \(not JSON\); remove it if no waie is using the drive/)
  } finally {
    b.done()
  }
})

test("the lock is removed when the scope fails or is interrupted", async () => {
  const b = bed()
  try {
    const lockPath = path.join(b.root, lockFileName)
    const failed = await fails(Effect.scoped(Effect.flatMap(openDrive(options(b)), () => Effect.fail("boom" as const))))
    assert.equal(failed, "boom")
    assert.ok(!existsSync(lockPath))
    await run(
      Effect.gen(function* () {
        const opened = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(Effect.scoped(Effect.zipRight(openDrive(options(b)), Effect.zipRight(Deferred.succeed(opened, undefined), Effect.never))))
        yield* Deferred.await(opened)
        assert.ok(existsSync(lockPath), "held while open")
        const exit = yield* Fiber.interrupt(fiber)
        assert.ok(Exit.isInterrupted(exit))
      }),
    )
    assert.ok(!existsSync(lockPath), "removed on interruption")
  } finally {
    b.done()
  }
})

// ---------------------------------------------------------------- refusals

test("a drive of another journal is refused (identity file or manifest), with or without Format, and left as it was", async () => {
  const b = bed()
  try {
    await run(withDrive(options(b, { journalId: "J-other" })))
    writeFileSync(path.join(b.root, "data.bin"), "x")
    const before = snapshot(b.root)
    for (const use of [add(), add({ format: true })]) {
      const e = await fails(withDrive(options(b, { use })))
      assert.equal(e._tag, "DriveBelongsToAnotherJournal")
      assert.match(e.message, /was prepared as drive WAIE[0-9A-F]{12} by journal J-other \(.*waie-drive\.json\)/)
      assert.deepEqual(snapshot(b.root), before)
    }
  } finally {
    b.done()
  }
})

test("a DriveManifest.xml not written for this journal's drive is refused", async () => {
  const b = bed()
  try {
    const manifest = (id: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="2014-11-01">\n  <Drive>\n    <DriveId>${id}</DriveId>\n  </Drive>\n</DriveManifest>\n`
    writeFileSync(path.join(b.root, manifestFileName), manifest("9WM35C2V"))
    const e = await fails(withDrive(options(b)))
    assert.equal(e._tag, "DriveBelongsToAnotherJournal")
    assert.match(e.message, /prepared as drive 9WM35C2V by a journal other than this one \(.*DriveManifest\.xml\)/)
    rmSync(path.join(b.root, manifestFileName))
    const d = await run(withDrive(options(b)))
    writeFileSync(path.join(b.root, manifestFileName), manifest(d.driveId))
    assert.equal((await run(withDrive(options(b, { use: { kind: "known", driveId: d.driveId } })))).driveId, d.driveId, "this journal's own manifest")
    writeFileSync(path.join(b.root, manifestFileName), manifest("WAIE999999999999"))
    assert.equal((await fails(withDrive(options(b, { use: { kind: "known", driveId: d.driveId } }))))._tag, "DriveBelongsToAnotherJournal")
  } finally {
    b.done()
  }
})

test("an identity file waie did not write is refused with what is wrong", async () => {
  const b = bed()
  try {
    writeFileSync(path.join(b.root, identityFileName), '{"driveId":"../x","journalId":"J-1","created":"t"}')
    const e = await fails(withDrive(options(b)))
    assert.equal(e._tag, "DriveIdentityInvalid")
    assert.match(e.message, /waie-drive\.json is not a waie identity file: driveId is not a drive id/)
  } finally {
    b.done()
  }
})

test("a drive that is not empty is refused when first added without Format, listing a few names", async () => {
  const b = bed()
  try {
    for (const n of ["b.txt", "a.txt", "c", "d", "e", "f", "g"]) writeFileSync(path.join(b.root, n), "x")
    const before = snapshot(b.root)
    const e = await fails(withDrive(options(b)))
    assert.equal(e._tag, "DriveNotEmpty")
    assert.ok(e._tag === "DriveNotEmpty" && e.count === 7 && e.names.length === 5)
    assert.match(e.message, /is not empty \(7 entries: "a\.txt", "b\.txt", "c", "d", "e", …\); use an empty drive, or FormatOption Format to erase it/)
    assert.deepEqual(snapshot(b.root), before, "nothing changed")
  } finally {
    b.done()
  }
  assert.deepEqual(foreignEntries(["lost+found", "System Volume Information", ".waie.lock", "waie-drive.json", ".waie-canary-1-ab", ".waie-drive.json.1-1.tmp", "x"]), ["x"])
  const fresh = bed()
  try {
    mkdirSync(path.join(fresh.root, "lost+found"))
    assert.match((await run(withDrive(options(fresh)))).driveId, /^WAIE/, "lost+found alone is an empty drive")
  } finally {
    fresh.done()
  }
})

test("the journal, the log folder or a source on, as or around the drive is refused (real paths)", async () => {
  const b = bed()
  try {
    const cases: Array<[Partial<OpenDriveOptions>, RegExp]> = [
      [{ journalPath: path.join(b.root, "job.jrn") }, /the journal .*job\.jrn is on the drive/],
      [{ protectedPaths: [{ kind: "log folder", path: path.join(b.root, "logs") }] }, /the log folder .*logs is on the drive/],
      [{ protectedPaths: [{ kind: "source", path: b.base }] }, /the source .* holds the drive/],
      [{ protectedPaths: [{ kind: "source", path: b.root }] }, /the source .* is the drive/],
    ]
    symlinkSync(b.root, path.join(b.base, "link-to-drive"))
    cases.push([{ protectedPaths: [{ kind: "source", path: path.join(b.base, "link-to-drive", "data") }] }, /the source .*link-to-drive\/data is on the drive/])
    for (const [over, re] of cases) {
      const e = await fails(withDrive(options(b, over)))
      assert.equal(e._tag, "DriveOverlapsProtectedPath")
      assert.match(e.message, re)
    }
    assert.deepEqual(readdirSync(b.root), [], "nothing written")
    // a sibling whose name starts like the drive's is not inside it
    assert.match((await run(withDrive(options(b, { protectedPaths: [{ kind: "source", path: b.root + "2" }] })))).driveId, /^WAIE/)
  } finally {
    b.done()
  }
})

test("a missing folder and a file are not drives", async () => {
  const b = bed()
  try {
    const missing = await fails(withDrive(options(b, { root: path.join(b.base, "nope") })))
    assert.equal(missing._tag, "DriveUnavailable")
    assert.match(missing.message, /nope does not exist: mount the drive there, or check --mount/)
    writeFileSync(path.join(b.base, "file"), "x")
    const file = await fails(withDrive(options(b, { root: path.join(b.base, "file") })))
    assert.equal(file._tag, "DriveUnavailable")
    assert.match(file.message, /is not a folder/)
  } finally {
    b.done()
  }
})

// ---------------------------------------------------------------- format

const fill = (b: ReturnType<typeof bed>) => {
  writeFileSync(path.join(b.root, "old.txt"), "old")
  mkdirSync(path.join(b.root, "dir", "deeper"), { recursive: true })
  writeFileSync(path.join(b.root, "dir", "deeper", "x"), "x")
  writeFileSync(path.join(b.root, ".hidden"), "h")
  mkdirSync(path.join(b.root, "lost+found"))
  writeFileSync(path.join(b.source, "keep.txt"), "source")
  writeFileSync(path.join(b.base, "beside.txt"), "beside")
}

test("Format (SilentMode) erases everything in the root, and only there; no question asked", async () => {
  const b = bed()
  try {
    fill(b)
    const outside = { source: snapshot(b.source), beside: readFileSync(path.join(b.base, "beside.txt"), "utf8") }
    const asked: Array<string> = []
    const d = await run(withDrive(options(b, { use: add({ format: true, silent: true }) })), { asked })
    assert.deepEqual(asked, [])
    assert.equal(d.formatted, true)
    assert.equal(d.created, true)
    assert.deepEqual(readdirSync(b.root).sort(), [identityFileName, "lost+found"].sort())
    assert.deepEqual(snapshot(b.source), outside.source)
    assert.equal(readFileSync(path.join(b.base, "beside.txt"), "utf8"), "beside")
    assert.ok(existsSync(b.root), "the root itself stays")
  } finally {
    b.done()
  }
})

test("Format with PromptOnFormat: done with the right typed answer, refused with a wrong one or no terminal", async () => {
  const b = bed()
  try {
    fill(b)
    const before = snapshot(b.root)
    const asked: Array<string> = []
    const prompted = options(b, { use: add({ format: true, silent: false, confirmAnswer: "G" }) })
    const wrong = await fails(withDrive(prompted), { answers: ["g"], asked })
    assert.equal(wrong._tag, "FormatNotConfirmed")
    assert.match(wrong.message, /^drive G: format not confirmed \(the answer was not "G"\); nothing was erased$/)
    assert.match(asked[0]!, /^Format drive G:\? Everything in .* will be erased\. Type G to confirm: $/)
    assert.deepEqual(snapshot(b.root), before)
    const noTty = await fails(withDrive(prompted), { answers: [undefined] })
    assert.equal(noTty._tag, "PromptUnavailable")
    assert.match(noTty.message, /standard input is not a terminal; set SilentOrPromptOnFormat to SilentMode/)
    assert.deepEqual(snapshot(b.root), before)
    const d = await run(withDrive(prompted), { answers: [" G\n"] })
    assert.equal(d.formatted, true)
    assert.deepEqual(readdirSync(b.root).sort(), [identityFileName, "lost+found"].sort())
  } finally {
    b.done()
  }
})

test("Format is refused when the journal, the log folder or a source is on or around the drive; nothing erased", async () => {
  const b = bed()
  try {
    fill(b)
    mkdirSync(path.join(b.root, "logs"))
    const before = snapshot(b.root)
    const use = add({ format: true, silent: true })
    const cases: Array<Partial<OpenDriveOptions>> = [
      { journalPath: path.join(b.root, "dir", "job.jrn") },
      { protectedPaths: [{ kind: "log folder", path: path.join(b.root, "logs") }] },
      { protectedPaths: [{ kind: "source", path: path.join(b.root, "old.txt") }] },
      { protectedPaths: [{ kind: "source", path: b.base + "/" }] },
    ]
    for (const over of cases) {
      const e = await fails(withDrive(options(b, { ...over, use })))
      assert.equal(e._tag, "FormatRefused")
      assert.match(e.message, /format of .* refused: the (journal|log folder|source) .*; nothing was erased/)
      assert.deepEqual(snapshot(b.root), before)
    }
  } finally {
    b.done()
  }
})

test("Format is refused when another file system is mounted inside the drive (root only)", { skip: process.getuid?.() !== 0 ? "needs root to mount" : false }, async (t) => {
  const b = bed()
  const inner = path.join(b.root, "inner")
  try {
    mkdirSync(inner)
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", inner], { stdio: "ignore" })
    } catch {
      t.skip("mount is not permitted here")
      return
    }
    try {
      writeFileSync(path.join(inner, "precious"), "p")
      writeFileSync(path.join(b.root, "old"), "o")
      const e = await fails(withDrive(options(b, { use: add({ format: true, silent: true }) })))
      assert.equal(e._tag, "FormatRefused")
      assert.match(e.message, /another file system is mounted at .*inner/)
      assert.ok(existsSync(path.join(inner, "precious")) && existsSync(path.join(b.root, "old")))
    } finally {
      execFileSync("umount", [inner])
    }
  } finally {
    b.done()
  }
})

test("Format of a drive this journal already identified keeps its DriveId", async () => {
  const b = bed()
  try {
    const first = await run(withDrive(options(b)))
    writeFileSync(path.join(b.root, "partial"), "x")
    const again = await run(withDrive(options(b, { use: add({ format: true }) })))
    assert.equal(again.driveId, first.driveId)
    assert.deepEqual(readdirSync(b.root), [identityFileName])
  } finally {
    b.done()
  }
})

test("useFromRow: Format, SilentMode and the answer to type from a driveset row", () => {
  assert.deepEqual(useFromRow({ drive: { kind: "letter", letter: "G" }, format: "Format", prompt: "PromptOnFormat" }), { kind: "add", format: true, silent: false, confirmAnswer: "G" })
  assert.deepEqual(useFromRow({ drive: { kind: "path", path: "/mnt/d1", form: "posix" }, format: "AlreadyFormatted", prompt: "SilentMode" }), { kind: "add", format: false, silent: true, confirmAnswer: "/mnt/d1" })
})

// ---------------------------------------------------------------- does it keep data

/** The node file system, with `open` for writing and `readFile` changed. */
const faultyFs = (faults: { readonly openWrite?: string; readonly corruptRead?: boolean; readonly failSync?: string }): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => ({
      ...fs,
      open: (p: string, o?: FileSystem.OpenFileOptions) =>
        faults.openWrite !== undefined && o?.flag !== undefined && o.flag !== "r"
          ? Effect.fail(new SystemError({ reason: "PermissionDenied", module: "FileSystem", method: "open", pathOrDescriptor: p, cause: Object.assign(new Error(`${faults.openWrite}: read-only file system, open '${p}'`), { code: faults.openWrite }) }))
          : faults.failSync !== undefined
            ? Effect.map(fs.open(p, o), (f) => {
                // the write was accepted; only fsync tells it went nowhere (a volume whose device drops writes)
                const failed = Effect.fail(new SystemError({ reason: "Unknown", module: "FileSystem", method: "sync", pathOrDescriptor: p, cause: Object.assign(new Error(`${faults.failSync}: i/o error, fsync`), { code: faults.failSync }) }))
                return new Proxy(f, { get: (t, k) => (k === "sync" ? failed : Reflect.get(t, k)) })
              })
            : fs.open(p, o),
      readFile: (p: string) => (faults.corruptRead ? Effect.map(fs.readFile(p), (bytes) => bytes.map((x, i) => (i === 100 ? x ^ 1 : x))) : fs.readFile(p)),
    })),
  ).pipe(Layer.provide(NodeFileSystem.layer))

test("the canary finds a drive that cannot be written (injected EROFS) or loses data (injected corruption)", async () => {
  const b = bed()
  try {
    const ro = await fails(withDrive(options(b)), { fs: faultyFs({ openWrite: "EROFS" }) })
    assert.equal(ro._tag, "DriveNotWritable")
    assert.match(ro.message, /^drive G: cannot write to .* \(EROFS\)/)
    const lossy = await fails(withDrive(options(b)), { fs: faultyFs({ corruptRead: true }) })
    assert.equal(lossy._tag, "DriveDoesNotKeepData")
    assert.match(lossy.message, /read back different from byte 100 on; use another drive/)
    assert.deepEqual(readdirSync(b.root), [], "the canary is removed even when the check fails")
  } finally {
    b.done()
  }
})

test("the canary finds a drive whose fsync fails after it accepted the write (injected EIO), and removes the file it wrote", async () => {
  const b = bed()
  try {
    const lost = await fails(withDrive(options(b)), { fs: faultyFs({ failSync: "EIO" }) })
    assert.equal(lost._tag, "DriveNotWritable")
    assert.match(lost.message, /^drive G: cannot write to .* \(EIO\)/)
    assert.deepEqual(readdirSync(b.root), [], "the canary is removed when its fsync fails")
  } finally {
    b.done()
  }
})

test("the canary finds a read-only mount (tmpfs remounted read-only; root only)", { skip: process.getuid?.() !== 0 ? "needs root to mount" : false }, async (t) => {
  const b = bed()
  try {
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", b.root], { stdio: "ignore" })
    } catch {
      t.skip("mount is not permitted here")
      return
    }
    try {
      execFileSync("mount", ["-o", "remount,ro", b.root])
      const e = await fails(withDrive(options(b)))
      assert.equal(e._tag, "DriveNotWritable")
      assert.match(e.message, /\(EROFS\)/)
    } finally {
      execFileSync("umount", [b.root])
    }
  } finally {
    b.done()
  }
})

test("Drive.freeBytes comes from the Volumes service (a test drive of a given size)", async () => {
  const b = bed()
  try {
    const free = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const d = yield* openDrive(options(b))
          const before = yield* d.freeBytes()
          writeFileSync(path.join(b.root, "blob"), Buffer.alloc(4000))
          return { before, after: yield* d.freeBytes() }
        }),
      ),
      { capacities: { [b.root]: 100_000 } },
    )
    const idBytes = readFileSync(path.join(b.root, identityFileName)).length
    // the lock is in the folder while the drive is open
    assert.ok(free.before < 100_000 - idBytes && free.before > 100_000 - idBytes - 300)
    assert.equal(free.before - free.after, 4000)
  } finally {
    b.done()
  }
})

// ---------------------------------------------------------------- encryption

test("Encrypt: only on Windows with a drive letter; elsewhere a message that says how to pre-encrypt", async () => {
  const key = Redacted.make("060456-014509-132033-080300-252615-584177-672089-411631")
  const plan = (r: Pick<DrivesetRow, "drive" | "encryption" | "key">, p: "posix" | "win32") => Effect.runPromise(Effect.either(encryptionPlan(r, p)))
  const posix = await plan({ drive: { kind: "letter", letter: "G" }, encryption: "Encrypt" }, "posix")
  assert.ok(posix._tag === "Left" && posix.left._tag === "EncryptUnsupported")
  assert.match(posix.left.message, /^drive G: Encryption Encrypt is not possible here: waie can turn BitLocker on only under Windows/)
  assert.match(posix.left.message, /manage-bde -on G: -rp/)
  assert.match(posix.left.message, /manage-bde -protectors -get G:/)
  assert.match(posix.left.message, /Encryption AlreadyEncrypted and the key in ExistingBitLockerKey$/)
  const existing = await plan({ drive: { kind: "letter", letter: "G" }, encryption: "AlreadyEncrypted", key }, "posix")
  assert.ok(existing._tag === "Right" && existing.right.kind === "existing" && Redacted.value(existing.right.key) === Redacted.value(key))
  assert.ok(!JSON.stringify(existing.right).includes("060456"), "the key stays redacted")
  const win = await plan({ drive: { kind: "letter", letter: "H" }, encryption: "Encrypt" }, "win32")
  assert.deepEqual(win._tag === "Right" ? win.right : undefined, { kind: "create", letter: "H" })
  const folder = await plan({ drive: { kind: "path", path: "D:\\mnt\\x", form: "windows" }, encryption: "Encrypt" }, "win32")
  assert.ok(folder._tag === "Left")
  assert.match(folder.left.message, /by its drive letter, and this drive is given as a folder.*manage-bde -on X: -rp/)
})

// ---------------------------------------------------------------- a whole Windows volume (simulated on a folder)

const winSample = (name: string): string => readFileSync(new URL(`./windows/testdata/${name}`, import.meta.url), "utf8").replace(/\n/g, "\r\n")
const WIN_NEW_KEY = "257587-551232-097581-671033-159500-439989-029898-345565"

/**
 * format.com, manage-bde as a Windows host would answer (recorded outputs); format.com empties
 * the folder as a format empties the volume, waie's lock included.
 */
const windowsTools = (root: string, answers: { readonly status?: string; readonly format?: readonly [string, number] }, calls: Array<string>): CommandRunnerService => ({
  run: (file, args) =>
    Effect.sync(() => {
      const tool = path.win32.basename(file)
      calls.push(`${tool} ${args.join(" ")}`)
      if (tool === "format.com") {
        const [name, exitCode] = answers.format ?? ["format-success.txt", 0]
        if (exitCode === 0) for (const n of readdirSync(root)) rmSync(path.join(root, n), { recursive: true, force: true })
        return { exitCode, stdout: winSample(name), stderr: "" }
      }
      if (args[0] === "-status") return { exitCode: 0, stdout: winSample(answers.status ?? "bde-status-decrypted.txt"), stderr: "" }
      if (args[0] === "-on") return { exitCode: 0, stdout: winSample("bde-on.txt"), stderr: "" }
      if (args[0] === "-protectors") return { exitCode: 0, stdout: winSample("bde-protectors-one.txt"), stderr: "" }
      throw new Error(`unexpected ${file} ${args.join(" ")}`)
    }),
})

const volumeUse = (over: Partial<Extract<DriveUse, { kind: "add" }>> = {}): DriveUse => add({ volume: "G", encryption: { kind: "encrypt" }, format: true, silent: false, ...over })

test("a Windows volume, Format + Encrypt: asked, format.com with the DriveId as label, the lock put back, the canary again, manage-bde; the recovery key comes back redacted", async () => {
  const b = bed()
  try {
    writeFileSync(path.join(b.root, "old.bin"), "old data")
    const calls: Array<string> = []
    const asked: Array<string> = []
    const seen = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const d = yield* openDrive(options(b, { use: volumeUse() }))
          return { d, lock: existsSync(path.join(b.root, lockFileName)), entries: readdirSync(b.root).sort() }
        }),
      ).pipe(Effect.provideService(CommandRunner, windowsTools(b.root, {}, calls))),
      { answers: ["G"], asked, serials: { [b.root]: "0025_3887_91B2_1C4D." } },
    )
    assert.deepEqual(calls, ["manage-bde.exe -status G:", "format.com G: /FS:NTFS /Q /V:0025_3887_91B2_1C4D_ /Y", "manage-bde.exe -on G: -rp", "manage-bde.exe -protectors -get G: -Type RecoveryPassword"])
    assert.equal(asked.length, 1)
    assert.match(asked[0]!, /^Format drive G:\? The whole volume G: will be formatted \(format\.com G: \/FS:NTFS \/Q\)/)
    assert.ok(seen.lock, "the lock is back while the drive is open")
    assert.deepEqual(seen.entries, [lockFileName, identityFileName].sort(), "format.com erased the old data; no canary left")
    assert.equal(seen.d.driveId, "0025_3887_91B2_1C4D.")
    assert.equal(seen.d.formatted, true)
    assert.ok(seen.d.recoveryKey !== undefined && Redacted.value(seen.d.recoveryKey) === WIN_NEW_KEY)
    assert.ok(!JSON.stringify(seen.d).includes("257587") && seen.d.notes.every((n) => !n.includes("257587")))
    assert.ok(seen.d.notes.some((n) => /BitLocker is encrypting G: in the background/.test(n)))
    assert.deepEqual(readdirSync(b.root), [identityFileName], "the lock removed with the scope")
  } finally {
    b.done()
  }
})

test("a Windows volume: refusals come before any change (BitLocker state, wrong key, system drive, a folder asked to Encrypt); a failed format.com is typed", async () => {
  const b = bed()
  try {
    writeFileSync(path.join(b.root, "old.bin"), "old data")
    const before = snapshot(b.root)
    const attempt = async (use: DriveUse, tools: { readonly status?: string; readonly format?: readonly [string, number] } = {}) => {
      const calls: Array<string> = []
      const asked: Array<string> = []
      const e = await fails(withDrive(options(b, { use })).pipe(Effect.provideService(CommandRunner, windowsTools(b.root, tools, calls))), { answers: ["G"], asked })
      return { e, calls, asked }
    }
    const already = await attempt(volumeUse(), { status: "bde-status-encrypted.txt" })
    assert.equal(already.e._tag, "BitLockerVolumeRefused")
    assert.deepEqual(already.calls, ["manage-bde.exe -status G:"])
    assert.deepEqual(already.asked, [], "refused before the question")
    assert.deepEqual(snapshot(b.root), before)

    const wrongKey = await attempt(volumeUse({ format: false, encryption: { kind: "existing", key: Redacted.make("122221-244442-366663-488884-611105-073326-085547-097768") } }), { status: "bde-status-encrypted.txt" })
    assert.equal(wrongKey.e._tag, "BitLockerVolumeRefused")
    assert.match(wrongKey.e.message, /none of the volume's recovery passwords/)
    assert.ok(!wrongKey.e.message.includes("122221"))
    assert.deepEqual(snapshot(b.root), before)

    const system = await attempt(volumeUse({ volume: "C" }))
    assert.equal(system.e._tag, "FormatRefused")
    assert.match(system.e.message, /the system drive C:\\ is the drive; nothing was erased$/)
    assert.deepEqual(system.calls, [])

    const folder = await attempt(add({ encryption: { kind: "encrypt" } }))
    assert.equal(folder.e._tag, "EncryptUnsupported")
    assert.match(folder.e.message, /this drive is a folder \(or a letter --mount maps to one\)/)

    const inUse = await attempt(volumeUse(), { format: ["format-in-use.txt", 4] })
    assert.equal(inUse.e._tag, "FormatFailed")
    assert.match(inUse.e.message, /^drive G: format\.com G: \/FS:NTFS \/Q failed \(exit 4, in use\)/)
    assert.deepEqual(inUse.calls.map((c) => c.split(" ")[0]), ["manage-bde.exe", "format.com"], "no BitLocker after a failed format")
    assert.deepEqual(snapshot(b.root), before, "format.com failed: the folder is as it was, the lock gone with the scope")
  } finally {
    b.done()
  }
})

test("useFromRow with a target: a volume only for a letter that is its own root on Windows; Encryption carried", () => {
  const key = Redacted.make("060456-014509-132033-080300-252615-584177-672089-411631")
  const letter = { drive: { kind: "letter", letter: "G" }, format: "Format", prompt: "SilentMode", encryption: "Encrypt" } as const
  assert.deepEqual(useFromRow(letter, { platform: "win32", root: "G:\\" }), { kind: "add", format: true, silent: true, confirmAnswer: "G", volume: "G", encryption: { kind: "encrypt" } })
  const mapped = useFromRow(letter, { platform: "win32", root: "D:\\mnt\\g" })
  assert.ok(mapped.kind === "add" && mapped.volume === undefined, "a letter --mount maps to a folder")
  const posix = useFromRow(letter, { platform: "posix", root: "/mnt/g" })
  assert.ok(posix.kind === "add" && posix.volume === undefined)
  const existing = useFromRow({ ...letter, format: "AlreadyFormatted", encryption: "AlreadyEncrypted", key }, { platform: "win32", root: "g:\\" })
  assert.ok(existing.kind === "add" && existing.volume === "G" && existing.encryption?.kind === "existing" && Redacted.value(existing.encryption.key) === Redacted.value(key))
})
