import assert from "node:assert/strict"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import * as FileSystem from "@effect/platform/FileSystem"
import { Cause, Effect, Exit } from "effect"
import { syncDirectory, writeFileDurably } from "./durable.ts"
import { FaultCrash, FaultDisk, FaultFileSystemLive } from "./fault-fs.ts"
import { unwritable } from "./files.ts"

const withDisk = async (f: (dir: string, disk: FaultDisk) => Promise<void>) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-faultfs-"))
  try {
    await f(dir, new FaultDisk({ roots: [dir], log: true }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const run = <A, E>(disk: FaultDisk, e: Effect.Effect<A, E, FileSystem.FileSystem>) => Effect.runPromiseExit(e.pipe(Effect.provide(FaultFileSystemLive(disk))))

/** Write `text` to `file` (created or replaced in place), optionally fsynced. */
const put = (file: string, text: string, sync: boolean) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const f = yield* fs.open(file, { flag: "w" })
      if (text.length > 0) yield* f.writeAll(new TextEncoder().encode(text))
      if (sync) yield* f.sync
    }),
  )

const append = (file: string, text: string, sync: boolean) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const f = yield* fs.open(file, { flag: "a" })
      yield* f.writeAll(new TextEncoder().encode(text))
      if (sync) yield* f.sync
    }),
  )

test("calls are counted by kind; the Nth write fails with EIO and writes nothing", async () => {
  await withDisk(async (dir, disk) => {
    const file = path.join(dir, "a.txt")
    disk.arm()
    assert.ok(Exit.isSuccess(await run(disk, writeFileDurably(file, new TextEncoder().encode("one"), 0o644))))
    const counts = disk.callCounts
    // open (temp), write, sync, chmod, rename, open (folder), sync (folder); the folder exists: no makeDirectory
    assert.deepEqual({ ...counts.byKind }, { open: 2, write: 1, sync: 2, rename: 1, truncate: 0, remove: 0, makeDirectory: 0, chmod: 1, other: 0 })
    assert.equal(counts.total, 7)
    disk.arm({ kind: "write", at: 1 })
    const exit = await run(disk, put(path.join(dir, "b.txt"), "two", true).pipe(Effect.mapError(unwritable("b.txt"))))
    assert.ok(Exit.isFailure(exit))
    const failure = Cause.failureOption(exit.cause)
    assert.equal(failure._tag === "Some" ? failure.value.code : undefined, "EIO")
    assert.equal(readFileSync(path.join(dir, "b.txt"), "utf8"), "", "the failed write wrote nothing")
    assert.equal(disk.fired?.fault.kind, "write")
  })
})

test("a crash stops the program at its call; the power cut drops unsynced data and entries not made durable by a folder sync", async () => {
  await withDisk(async (dir, disk) => {
    const kept = path.join(dir, "kept.txt")
    const grown = path.join(dir, "grown.txt")
    const fresh = path.join(dir, "fresh.txt")
    const replaced = path.join(dir, "replaced.txt")
    disk.arm()
    const setup = Effect.gen(function* () {
      yield* put(kept, "durable", true)
      yield* put(grown, "head", true)
      yield* put(replaced, "old", true)
      yield* syncDirectory(dir)
    })
    assert.ok(Exit.isSuccess(await run(disk, setup)))
    assert.ok(disk.clean)
    const fs = (f: (fs: FileSystem.FileSystem) => Effect.Effect<void, unknown>) => Effect.flatMap(FileSystem.FileSystem, f)
    const session = Effect.gen(function* () {
      yield* append(grown, "+tail", false) // not synced: lost
      yield* append(kept, "+synced", true) // synced: kept
      yield* put(fresh, "new file, synced, folder not", true) // its name is lost
      yield* put(path.join(dir, "tmp"), "new", true)
      yield* fs((f) => f.rename(path.join(dir, "tmp"), replaced)) // no folder sync: undone
      yield* put(path.join(dir, "never.txt"), "x", true) // the crash comes at this open
    })
    // calls: open, write, open, write, sync, open, write, sync, open, write, sync, rename, open (12 before the crash)
    disk.arm({ kind: "crash", at: 13 })
    const exit = await run(disk, session)
    assert.ok(Exit.isFailure(exit) && Cause.squash(exit.cause) instanceof FaultCrash)
    assert.equal(disk.crashed?.at, 13)
    assert.equal(existsSync(path.join(dir, "never.txt")), false, "the call at the crash never happened")
    assert.equal(readFileSync(grown, "utf8"), "head+tail", "before the power cut the page cache has it all")
    const undone = disk.powerLoss("drop")
    assert.deepEqual(undone, { entries: 3, files: 1 })
    assert.equal(readFileSync(kept, "utf8"), "durable+synced")
    assert.equal(readFileSync(grown, "utf8"), "head")
    assert.equal(existsSync(fresh), false)
    assert.equal(readFileSync(replaced, "utf8"), "old")
    assert.equal(existsSync(path.join(dir, "tmp")), false, "the renamed file went back to its name, which was not durable either")
    assert.ok(disk.clean)
  })
})

test("a failed fsync loses the dirty bytes for good: a later fsync that succeeds does not bring them back, rewriting them does", async () => {
  await withDisk(async (dir, disk) => {
    const file = path.join(dir, "j.txt")
    disk.arm()
    assert.ok(Exit.isSuccess(await run(disk, Effect.zipRight(put(file, "AAAA", true), syncDirectory(dir)))))
    disk.arm({ kind: "fsync", at: 1 })
    const failed = await run(disk, append(file, "BBBB", true))
    assert.ok(Exit.isFailure(failed))
    disk.arm()
    assert.ok(Exit.isSuccess(await run(disk, append(file, "CCCC", true))))
    assert.equal(readFileSync(file, "utf8"), "AAAABBBBCCCC", "the page cache still shows the lost bytes")
    disk.powerLoss("drop")
    assert.deepEqual(readFileSync(file), Buffer.concat([Buffer.from("AAAA"), Buffer.alloc(4), Buffer.from("CCCC")]), "a hole where the failed fsync's bytes were")

    // the same, but the lost bytes are written again before the next fsync
    writeFileSync(file, "AAAA")
    disk.arm({ kind: "fsync", at: 1 })
    await run(disk, append(file, "BBBB", true))
    disk.arm()
    const rewrite = Effect.scoped(
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const f = yield* fs.open(file, { flag: "r+" })
        yield* f.writeAll(new TextEncoder().encode("AAAABBBB"))
        yield* f.sync
      }),
    )
    assert.ok(Exit.isSuccess(await run(disk, rewrite)))
    disk.powerLoss("drop")
    assert.equal(readFileSync(file, "utf8"), "AAAABBBB")
  })
})

test("a full folder: the Nth write under it fails with ENOSPC, and so does every later write there, in later runs too; elsewhere writes go on", async () => {
  await withDisk(async (dir, disk) => {
    const folder = path.join(dir, "drive", "session")
    mkdirSync(folder, { recursive: true })
    disk.arm({ kind: "enospc", at: 2, folder })
    const writes = Effect.gen(function* () {
      yield* put(path.join(folder, "1"), "one", false)
      yield* put(path.join(dir, "outside"), "out", false)
      yield* put(path.join(folder, "2"), "two", false)
    })
    const exit = await run(disk, writes.pipe(Effect.mapError(unwritable("x"))))
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
    assert.equal(failure?._tag === "Some" ? failure.value.code : undefined, "ENOSPC")
    assert.equal(disk.callCounts.writesUnderFolder, 2)
    disk.arm()
    const later = await run(disk, put(path.join(folder, "3"), "three", false).pipe(Effect.mapError(unwritable("x"))))
    assert.ok(Exit.isFailure(later), "still full in the next run")
    assert.ok(Exit.isSuccess(await run(disk, put(path.join(dir, "drive", "root-file"), "fits", false))), "outside the folder there is room")
    assert.ok(Exit.isSuccess(await run(disk, put(path.join(folder, "4"), "", false))), "an empty file can still be made")
    disk.clearFull()
    assert.ok(Exit.isSuccess(await run(disk, put(path.join(folder, "5"), "five", false))))
  })
})

test("a torn power cut keeps a prefix of the unsynced bytes (or zeros for them) and the same seed tears the same way", async () => {
  const tornWith = async (seed: number) => {
    let result = Buffer.alloc(0)
    await withDisk(async (dir, disk) => {
      const file = path.join(dir, "t.bin")
      disk.arm()
      await run(disk, Effect.zipRight(put(file, "0123456789", true), syncDirectory(dir)))
      await run(disk, append(file, "abcdefghijklmnopqrstuvwxyz", false))
      disk.powerLoss("tear", seed)
      result = readFileSync(file)
    })
    return result
  }
  const written = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz")
  const lengths = new Set<number>()
  for (let seed = 1; seed <= 20; seed++) {
    const t = await tornWith(seed)
    assert.deepEqual(t, await tornWith(seed), `seed ${seed} tears the same way twice`)
    assert.ok(t.length >= 10 && t.length <= written.length, `seed ${seed}: ${t.length} bytes`)
    assert.equal(t.subarray(0, 10).toString(), "0123456789", "the durable bytes stay")
    for (let i = 10; i < t.length; i++) assert.ok(t[i] === written[i] || t[i] === 0, `seed ${seed}: byte ${i} is the written one or zero`)
    lengths.add(t.length)
  }
  assert.ok(lengths.size > 3, "tears fall at different points")
})
