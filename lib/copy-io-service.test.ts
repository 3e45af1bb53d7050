import assert from "node:assert/strict"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { Cause, Effect, Exit } from "effect"
import { type CopiedFile, makeDurableBatch, type SmallFile } from "./copy-batch.ts"
import { partialPathOf } from "./copy-file.ts"
import { CopyIoFileSystem } from "./copy-io-service.ts"
import { FaultDisk, FaultFileSystemLive } from "./fault-fs.ts"
import { HashPoolLive } from "./hashpool.ts"

const world = (count: number) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-copyio-"))
  mkdirSync(path.join(dir, "src"))
  const files: Array<SmallFile & { data: Buffer }> = []
  for (let n = 0; n < count; n++) {
    const data = Buffer.alloc([0, 5, 70_000, 4096][n % 4]!)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + n) & 0xff
    const source = path.join(dir, "src", `f${n}`)
    writeFileSync(source, data)
    files.push({ source, target: path.join(dir, "drive", `d${n % 2}`, `f${n}`), kind: n % 4 === 3 ? "page" : "block", length: data.length, data })
  }
  return { dir, files }
}

const copyAll = (disk: FaultDisk, root: string, files: ReadonlyArray<SmallFile>, reported: Array<number>) =>
  Effect.runPromiseExit(
    Effect.scoped(
      Effect.gen(function* () {
        const batch = yield* makeDurableBatch<SmallFile>({
          root,
          maxFiles: 3,
          groupFiles: 2,
          onBatch: (done: ReadonlyArray<CopiedFile<SmallFile>>) => Effect.sync(() => void reported.push(done.length)),
        })
        for (const f of files) yield* batch.add(f)
        yield* batch.flush
        return batch.durability
      }),
    ).pipe(Effect.provide(CopyIoFileSystem), Effect.provide(HashPoolLive(1)), Effect.provide(FaultFileSystemLive(disk))),
  )

test("CopyIoFileSystem: a DurableBatch on the FileSystem service copies every file (fsync mode, no syncfs), each call of it seen by the FileSystem", async () => {
  const { dir, files } = world(7)
  try {
    const disk = new FaultDisk({ roots: [dir] })
    disk.arm()
    const reported: Array<number> = []
    const exit = await copyAll(disk, path.join(dir, "drive"), files.map(({ data: _, ...f }) => f), reported)
    assert.ok(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
    assert.equal(exit.value, "fsync")
    assert.deepEqual(reported, [3, 3, 1])
    for (const f of files) {
      assert.deepEqual(readFileSync(f.target), f.data, f.target)
      assert.equal(existsSync(partialPathOf(f.target)), false)
    }
    // the data, the fdatasyncs and the renames of the small files all went through the FileSystem
    const counts = disk.callCounts.byKind
    assert.equal(counts.rename, 7)
    assert.ok(counts.write >= 5, `writes: ${counts.write}`) // the empty files write nothing
    assert.ok(counts.sync >= 7 + 2, `syncs: ${counts.sync}`) // every file, then the folders
    // and a power cut now loses nothing that was reported
    disk.powerLoss("drop")
    for (const f of files) assert.deepEqual(readFileSync(f.target), f.data, `${f.target} after a power cut`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("CopyIoFileSystem: a write that fails fails the batch with the file's error (code, partial name), and nothing of that batch is reported or renamed", async () => {
  const { dir, files } = world(3)
  try {
    const disk = new FaultDisk({ roots: [dir] })
    disk.arm({ kind: "write", at: 2 })
    const reported: Array<number> = []
    const exit = await copyAll(disk, path.join(dir, "drive"), files.map(({ data: _, ...f }) => f), reported)
    assert.ok(Exit.isFailure(exit))
    const failure = Cause.failureOption(exit.cause)
    const e = failure._tag === "Some" ? (failure.value as { _tag: string; code: string; path: string }) : undefined
    assert.equal(e?._tag, "FileUnwritable")
    assert.equal(e?.code, "EIO")
    assert.match(e?.path ?? "", /\.waie-partial$/)
    assert.deepEqual(reported, [])
    for (const f of files) assert.equal(existsSync(f.target), false, `${f.target} has no final name`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
