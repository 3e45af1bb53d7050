import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import nodeFs from "node:fs"
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, test } from "node:test"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { blockSize, type DescribedBlock, type DescribedPageRange, describeBlocks, describePageRanges } from "./blocks.ts"
import { type CopiedFile, type CopyCheckpoint, copyFile, ensureDirectory, makeDurableBatch, partialPathOf, type SmallFile, syncFileSystem } from "./copy.ts"
import { HashPoolLive } from "./hashpool.ts"

const MiB = 1024 * 1024
const runtime = ManagedRuntime.make(Layer.merge(NodeFileSystem.layer, HashPoolLive(2)))
after(() => runtime.dispose())

const run = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | import("./hashpool.ts").HashPool>) => runtime.runPromise(effect)
const runExit = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | import("./hashpool.ts").HashPool>) => runtime.runPromiseExit(effect)

const folders: Array<string> = []
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "waie-"))
  folders.push(d)
  return d
}
after(() => {
  for (const d of folders) rmSync(d, { recursive: true, force: true })
})

/** The descriptors a whole file gets, computed directly on its bytes. */
const expectedBlocks = (data: Uint8Array): Array<DescribedBlock> => describeBlocks(data, 0, 0)
const expectedRanges = (data: Uint8Array): Array<DescribedPageRange> => {
  const out: Array<DescribedPageRange> = []
  for (let o = 0; o < data.length; o += blockSize) out.push(...describePageRanges(data.subarray(o, Math.min(o + blockSize, data.length)), o))
  return out
}

/** 3 chunks and a bit: the middle chunk all zero, islands of data elsewhere. */
const sparsePageData = (): Buffer => {
  const data = Buffer.alloc(3 * blockSize + MiB)
  randomBytes(1536).copy(data, 4096)
  randomBytes(512).copy(data, blockSize - 512)
  // chunk 1 (4–8 MiB) stays zero
  randomBytes(MiB).copy(data, 2 * blockSize + 512 * 3)
  randomBytes(2048).copy(data, 3 * blockSize + 1024)
  return data
}

/** The file holds exactly `data` (compared without building a diff of megabytes). */
const assertBytes = (file: string, data: Uint8Array) => {
  const got = readFileSync(file)
  if (got.equals(data)) return
  let at = 0
  while (at < Math.min(got.length, data.length) && got[at] === data[at]) at++
  assert.fail(`${file}: ${got.length} bytes, expected ${data.length}; first difference at byte ${at}`)
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.ok(Exit.isFailure(exit), "expected a failure")
  const f = Cause.failureOption(exit.cause)
  assert.ok(Option.isSome(f), `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return f.value
}

/** A FileSystem that records every write (offset, length) made through the files it opens. */
const recordingFs = (writes: Array<{ path: string; offset: number; length: number }>, events: Array<string> = []) =>
  Effect.map(FileSystem.FileSystem, (fs) => {
    const open: FileSystem.FileSystem["open"] = (p, options) =>
      Effect.map(fs.open(p, options), (file) => {
        let position = 0
        return new Proxy(file, {
          get(target, prop) {
            if (prop === "seek") return (offset: FileSystem.SizeInput, from: FileSystem.SeekMode) => Effect.tap(target.seek(offset, from), (at) => Effect.sync(() => void (position = Number(at))))
            if (prop === "writeAll")
              return (buffer: Uint8Array) =>
                Effect.tap(target.writeAll(buffer), () =>
                  Effect.sync(() => {
                    writes.push({ path: p, offset: position, length: buffer.length })
                    events.push(`write ${position + buffer.length}`)
                    position += buffer.length
                  }),
                )
            if (prop === "truncate") return (length?: FileSystem.SizeInput) => Effect.tap(target.truncate(length), () => Effect.sync(() => void (position = Math.min(position, Number(length ?? 0)))))
            if (prop === "sync") return Effect.tap(target.sync, () => Effect.sync(() => void events.push("sync")))
            const v = Reflect.get(target, prop, target)
            return typeof v === "function" ? v.bind(target) : v
          },
        })
      })
    return { ...fs, open } satisfies FileSystem.FileSystem
  })

// ---------------------------------------------------------------------------------------------
// copyFile

test("copyFile: a block blob is copied byte for byte, described as describeBlocks describes it, delivered at each checkpoint", async () => {
  const dir = tmp()
  const data = randomBytes(3 * blockSize + 12345)
  const source = path.join(dir, "src.bin")
  writeFileSync(source, data)
  const target = path.join(dir, "drive", "sub", "dst.bin")
  const checkpoints: Array<CopyCheckpoint<"block">> = []
  const seen: Array<{ target: boolean; partial: boolean }> = []
  const result = await run(
    copyFile({
      source,
      target,
      kind: "block",
      length: data.length,
      checkpointBytes: blockSize,
      onDurable: (c) =>
        Effect.sync(() => {
          checkpoints.push(c)
          seen.push({ target: existsSync(target), partial: existsSync(partialPathOf(target)) })
        }),
    }),
  )
  assertBytes(target, data)
  assert.deepEqual(
    checkpoints.flatMap((c) => c.added),
    expectedBlocks(data),
  )
  assert.deepEqual(
    checkpoints.map((c) => [c.durable, c.complete, c.added.length]),
    [
      [blockSize, false, 1],
      [2 * blockSize, false, 1],
      [3 * blockSize, false, 1],
      [data.length, true, 1],
    ],
  )
  // at every checkpoint the data sat under the partial name, never under the final one
  assert.deepEqual(seen, checkpoints.map(() => ({ target: false, partial: true })))
  assert.equal(existsSync(partialPathOf(target)), false)
  assert.deepEqual(readdirSync(path.dirname(target)), ["dst.bin"])
  assert.deepEqual(result, { target, length: data.length, bytesWritten: data.length, descriptors: 4 })
})

test("copyFile: every checkpoint comes after an fsync of all the data it claims", async () => {
  const dir = tmp()
  const data = randomBytes(5 * blockSize + 1)
  writeFileSync(path.join(dir, "s"), data)
  const events: Array<string> = []
  await run(
    Effect.flatMap(recordingFs([], events), (fs) =>
      copyFile({ source: path.join(dir, "s"), target: path.join(dir, "d", "t"), kind: "block", length: data.length, checkpointBytes: 2 * blockSize, onDurable: (c) => Effect.sync(() => void events.push(`checkpoint ${c.durable}`)) }).pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
      ),
    ),
  )
  const checkpoints = events.flatMap((e, i) => (e.startsWith("checkpoint") ? [i] : []))
  assert.deepEqual(checkpoints.map((i) => events[i]), ["checkpoint 8388608", "checkpoint 16777216", `checkpoint ${data.length}`])
  for (const i of checkpoints) {
    const claimed = Number(events[i]!.split(" ")[1])
    assert.equal(events[i - 1], "sync", `${events[i]} right after a sync`)
    const lastWrite = events.slice(0, i).findLast((e) => e.startsWith("write"))!
    assert.ok(Number(lastWrite.split(" ")[1]) >= claimed, `${events[i]}: written up to ${lastWrite}`)
  }
})

test("copyFile: the default checkpoint is every 64 MiB; an empty file gets one complete checkpoint", async () => {
  const dir = tmp()
  const data = randomBytes(5 * blockSize)
  writeFileSync(path.join(dir, "a"), data)
  writeFileSync(path.join(dir, "e"), "")
  const got: Array<[number, boolean, number]> = []
  await run(copyFile({ source: path.join(dir, "a"), target: path.join(dir, "out", "a"), kind: "block", length: data.length, onDurable: (c) => Effect.sync(() => void got.push([c.durable, c.complete, c.added.length])) }))
  assert.deepEqual(got, [[data.length, true, 5]])
  got.length = 0
  await run(copyFile({ source: path.join(dir, "e"), target: path.join(dir, "out", "e"), kind: "page", length: 0, onDurable: (c) => Effect.sync(() => void got.push([c.durable, c.complete, c.added.length])) }))
  assert.deepEqual(got, [[0, true, 0]])
  assert.equal(readFileSync(path.join(dir, "out", "e")).length, 0)
})

test("copyFile: a sparse page blob: ranges as describePageRanges gives them, the all-zero chunk never written, the copy reads back equal", async () => {
  const dir = tmp()
  const data = sparsePageData()
  const source = path.join(dir, "disk.vhd")
  writeFileSync(source, data)
  const target = path.join(dir, "drive", "disk.vhd")
  const writes: Array<{ path: string; offset: number; length: number }> = []
  const ranges: Array<DescribedPageRange> = []
  const result = await run(
    Effect.flatMap(recordingFs(writes), (fs) =>
      copyFile({ source, target, kind: "page", length: data.length, checkpointBytes: blockSize, onDurable: (c) => Effect.sync(() => void ranges.push(...c.added)) }).pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
      ),
    ),
  )
  assertBytes(target, data)
  assert.deepEqual(ranges, expectedRanges(data))
  assert.ok(ranges.length >= 4)
  // chunks 0, 2 and 3 written whole, at their offsets; chunk 1 (all zero) not at all
  assert.deepEqual(
    writes.filter((w) => w.path === partialPathOf(target)).map((w) => [w.offset, w.length]),
    [
      [0, blockSize],
      [2 * blockSize, blockSize],
      [3 * blockSize, MiB],
    ],
  )
  assert.equal(result.bytesWritten, 2 * blockSize + MiB)
})

test("copyFile: a page blob whose chunks are all zero writes nothing and still reads back as zeros", async () => {
  const dir = tmp()
  const data = Buffer.alloc(2 * blockSize + 4096)
  writeFileSync(path.join(dir, "z.vhd"), data)
  const writes: Array<{ path: string; offset: number; length: number }> = []
  const added: Array<unknown> = []
  await run(
    Effect.flatMap(recordingFs(writes), (fs) =>
      copyFile({ source: path.join(dir, "z.vhd"), target: path.join(dir, "d", "z.vhd"), kind: "page", length: data.length, onDurable: (c) => Effect.sync(() => void added.push(...c.added)) }).pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
      ),
    ),
  )
  assert.deepEqual(writes, [])
  assert.deepEqual(added, [])
  assertBytes(path.join(dir, "d", "z.vhd"), data)
})

/**
 * Copy until checkpoint `stopAfter` was delivered, then fail there (a crash right after the
 * journal record of that checkpoint). Returns what the journal would hold.
 */
const copyUntil = async (kind: "block" | "page", source: string, target: string, length: number, stopAfter: number) => {
  const recorded: Array<DescribedBlock | DescribedPageRange> = []
  let durable = 0
  let n = 0
  const exit = await runExit(
    copyFile({
      source,
      target,
      kind,
      length,
      checkpointBytes: blockSize,
      slots: 2,
      onDurable: (c) =>
        Effect.suspend(() => {
          recorded.push(...c.added)
          durable = c.durable
          return ++n === stopAfter ? Effect.fail("crash" as const) : Effect.void
        }),
    }),
  )
  assert.equal(failureOf(exit), "crash")
  return { recorded, durable }
}

for (const kind of ["block", "page"] as const) {
  test(`copyFile: resuming a ${kind} blob from a checkpoint gives the bytes and descriptors of an uninterrupted copy`, async () => {
    const dir = tmp()
    const data = kind === "block" ? randomBytes(4 * blockSize + 777 * 512) : sparsePageData()
    const source = path.join(dir, "src")
    writeFileSync(source, data)
    const target = path.join(dir, "drive", "dst")
    // (the page blob resumes before its all-zero chunk: garbage left there must not survive either)
    const stopAfter = kind === "block" ? 2 : 1
    const { recorded, durable } = await copyUntil(kind, source, target, data.length, stopAfter)
    assert.equal(durable, stopAfter * blockSize)
    assert.equal(existsSync(target), false)
    // what the crash left past the checkpoint must not survive the resume: make it garbage
    const fd = nodeFs.openSync(partialPathOf(target), "r+")
    nodeFs.writeSync(fd, randomBytes(3 * blockSize), 0, 3 * blockSize, durable)
    nodeFs.closeSync(fd)
    const rest: Array<DescribedBlock | DescribedPageRange> = []
    const completes: Array<boolean> = []
    await run(
      copyFile({
        source,
        target,
        kind,
        length: data.length,
        startAt: durable,
        checkpointBytes: blockSize,
        onDurable: (c) =>
          Effect.sync(() => {
            rest.push(...c.added)
            completes.push(c.complete)
          }),
      }),
    )
    assertBytes(target, data)
    assert.deepEqual([...recorded, ...rest], kind === "block" ? expectedBlocks(data) : expectedRanges(data))
    assert.equal(completes.at(-1), true)
    assert.equal(existsSync(partialPathOf(target)), false)
  })
}

test("copyFile: resuming at the file's length after the rename happened is a no-op that reports completion again", async () => {
  const dir = tmp()
  const data = randomBytes(blockSize + 5)
  writeFileSync(path.join(dir, "s"), data)
  const target = path.join(dir, "d", "t")
  await run(copyFile({ source: path.join(dir, "s"), target, kind: "block", length: data.length }))
  const got: Array<CopyCheckpoint<"block">> = []
  const r = await run(copyFile({ source: path.join(dir, "s"), target, kind: "block", length: data.length, startAt: data.length, onDurable: (c) => Effect.sync(() => void got.push(c)) }))
  assert.deepEqual(got, [{ kind: "block", durable: data.length, added: [], complete: true }])
  assert.equal(r.bytesWritten, 0)
  assertBytes(target, data)
})

test("copyFile: a resume whose partial file lost data is PartialCopyLost", async () => {
  const dir = tmp()
  const data = randomBytes(3 * blockSize)
  const source = path.join(dir, "s")
  writeFileSync(source, data)
  const target = path.join(dir, "d", "t")
  await copyUntil("block", source, target, data.length, 2)
  truncateSync(partialPathOf(target), blockSize)
  const short = failureOf(await runExit(copyFile({ source, target, kind: "block", length: data.length, startAt: 2 * blockSize })))
  assert.equal(short._tag, "PartialCopyLost")
  assert.match(short.message, /journal says 8388608 bytes of it were durable, but it holds 4194304 bytes/)
  rmSync(partialPathOf(target))
  const gone = failureOf(await runExit(copyFile({ source, target, kind: "block", length: data.length, startAt: 2 * blockSize })))
  assert.equal(gone._tag, "PartialCopyLost")
  assert.match(gone.message, /it is gone/)
})

test("copyFile: a source that is not the planned length or mtime is SourceChanged before anything is written", async () => {
  const dir = tmp()
  writeFileSync(path.join(dir, "s"), randomBytes(1000))
  const target = path.join(dir, "d", "t")
  const e = failureOf(await runExit(copyFile({ source: path.join(dir, "s"), target, kind: "block", length: 999 })))
  assert.equal(e._tag, "SourceChanged")
  assert.match(e.message, /now 1000 bytes/)
  const m = failureOf(await runExit(copyFile({ source: path.join(dir, "s"), target, kind: "block", length: 1000, mtimeMs: 1 })))
  assert.equal(m._tag, "SourceChanged")
  assert.equal(existsSync(partialPathOf(target)), false)
  assert.equal(existsSync(target), false)
})

test("copyFile: a source that shrinks during the copy is SourceChanged; the target name is never created", async () => {
  const dir = tmp()
  const source = path.join(dir, "s")
  const data = randomBytes(6 * blockSize)
  writeFileSync(source, data)
  const target = path.join(dir, "d", "t")
  // one slot: when the first checkpoint runs, the reader is at most one chunk ahead
  const exit = await runExit(
    copyFile({ source, target, kind: "block", length: data.length, slots: 1, checkpointBytes: blockSize, onDurable: (c) => Effect.sync(() => (c.durable === blockSize ? truncateSync(source, blockSize + 100) : undefined)) }),
  )
  const e = failureOf(exit)
  assert.equal(e._tag, "SourceChanged")
  assert.match(e.message, /ended early while it was being copied/)
  assert.equal(existsSync(target), false)
})

test("copyFile: a source that grows during the copy is SourceChanged", async () => {
  const dir = tmp()
  const source = path.join(dir, "s")
  const data = randomBytes(3 * blockSize)
  writeFileSync(source, data)
  const target = path.join(dir, "d", "t")
  const exit = await runExit(
    copyFile({ source, target, kind: "block", length: data.length, slots: 1, checkpointBytes: blockSize, onDurable: (c) => Effect.sync(() => (c.durable === blockSize ? appendFileSync(source, "more") : undefined)) }),
  )
  const e = failureOf(exit)
  assert.equal(e._tag, "SourceChanged")
  assert.match(e.message, /more than 12582912 bytes: it grew while it was being copied/)
  assert.equal(existsSync(target), false)
})

test("copyFile: read and write errors are FileUnreadable and FileUnwritable naming the file", async () => {
  const dir = tmp()
  const missing = failureOf(await runExit(copyFile({ source: path.join(dir, "nope"), target: path.join(dir, "d", "t"), kind: "block", length: 1, shownSource: "F:\\nope" })))
  assert.equal(missing._tag, "FileUnreadable")
  assert.match(missing.message, /^F:\\nope: cannot read \(ENOENT\)/)
  // nothing was made on the drive for it
  assert.equal(existsSync(path.join(dir, "d")), false)
  writeFileSync(path.join(dir, "s"), "abc")
  mkdirSync(path.join(dir, "ro"))
  writeFileSync(path.join(dir, "ro", "blocker"), "")
  // the target's folder is a file: nothing can be created under it
  const unwritable = failureOf(await runExit(copyFile({ source: path.join(dir, "s"), target: path.join(dir, "ro", "blocker", "t"), kind: "block", length: 3 })))
  assert.equal(unwritable._tag, "FileUnwritable")
  if (process.getuid?.() !== 0) {
    chmodSync(path.join(dir, "s"), 0)
    const denied = failureOf(await runExit(copyFile({ source: path.join(dir, "s"), target: path.join(dir, "d", "t"), kind: "block", length: 3 })))
    assert.equal(denied._tag, "FileUnreadable")
  }
})

test("partialPathOf: a hidden name beside the target; a hashed one when the name would pass 255 bytes", () => {
  assert.equal(partialPathOf("/d/x/file.bin"), "/d/x/.file.bin.waie-partial")
  const long = "é".repeat(120) + ".bin"
  const p = partialPathOf(`/d/${long}`)
  assert.equal(path.dirname(p), "/d")
  assert.match(path.basename(p), /^\.[0-9a-f]{32}\.waie-partial$/)
  assert.equal(partialPathOf(`/d/${long}`), p)
})

// ---------------------------------------------------------------------------------------------
// DurableBatch

interface Item extends SmallFile {
  readonly n: number
}

const smallFiles = (dir: string, count: number) => {
  const items: Array<Item & { data: Buffer }> = []
  for (let n = 0; n < count; n++) {
    const kind = n % 5 === 4 ? ("page" as const) : ("block" as const)
    let data: Buffer
    if (kind === "page") {
      data = Buffer.alloc(4096 * (1 + (n % 3)))
      if (n % 10 !== 9) randomBytes(512).copy(data, 1024)
    } else data = randomBytes(n === 0 ? 0 : 100 + n * 37 + (n === 3 ? 200 * 1024 : 0))
    const source = path.join(dir, "src", `f${n}`)
    mkdirSync(path.dirname(source), { recursive: true })
    writeFileSync(source, data)
    items.push({ n, source, target: path.join(dir, "drive", `g${n % 3}`, `f${n}`), kind, length: data.length, data })
  }
  return items
}

test("DurableBatch: every file copied and described as the block rules say, reported in batches in order, only once durable under its name", async () => {
  for (const durability of ["syncfs", "fsync"] as const) {
    if (durability === "syncfs" && process.platform !== "linux") continue
    const dir = tmp()
    const items = smallFiles(dir, 23)
    const batches: Array<ReadonlyArray<CopiedFile<Item>>> = []
    const chosen = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const batch = yield* makeDurableBatch<Item>({
            root: path.join(dir, "drive"),
            durability,
            maxFiles: 10,
            groupFiles: 3,
            depth: 2,
            onBatch: (files) =>
              Effect.sync(() => {
                // when a batch is reported, its files are complete under their names, partial names gone
                for (const f of files) {
                  assert.equal(existsSync(partialPathOf(f.file.target)), false)
                  assertBytes(f.file.target, items[f.file.n]!.data)
                }
                batches.push(files)
              }),
          })
          for (const { data: _, ...item } of items) yield* batch.add(item)
          yield* batch.flush
          return batch.durability
        }),
      ),
    )
    assert.equal(chosen, durability)
    assert.deepEqual(
      batches.map((b) => b.map((f) => f.file.n)),
      [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], [20, 21, 22]],
    )
    for (const f of batches.flat()) {
      const data = items[f.file.n]!.data
      assert.equal(f.kind, f.file.kind)
      assert.deepEqual(f.descriptors, f.kind === "block" ? expectedBlocks(data) : expectedRanges(data))
    }
    // the all-zero page files have no ranges and read back as zeros of their length
    assert.deepEqual(batches.flat().find((f) => f.file.n === 9)!.descriptors, [])
    for (const it of items) assertBytes(it.target, it.data)
  }
})

test("DurableBatch: a batch is also cut by bytes", async () => {
  const dir = tmp()
  const items = smallFiles(dir, 8).filter((i) => i.length > 0)
  const sizes: Array<number> = []
  await run(
    Effect.scoped(
      Effect.gen(function* () {
        const batch = yield* makeDurableBatch<Item>({ root: dir, maxBytes: 200 * 1024, onBatch: (files) => Effect.sync(() => void sizes.push(files.length)) })
        for (const { data: _, ...item } of items) yield* batch.add(item)
        yield* batch.flush
      }),
    ),
  )
  // file 3 (≈ 200 KiB) does not fit after files 1 and 2, and fills a batch alone
  assert.deepEqual(sizes, [2, 1, 4])
})

/** The `sync` program on PATH (the real one, for the wrapper below). */
const realSync = (): string | undefined =>
  (process.env.PATH ?? "")
    .split(path.delimiter)
    .map((d) => path.join(d, "sync"))
    .find((p) => existsSync(p))

test("DurableBatch (syncfs): a batch's data is synced before any of it is renamed, the renames synced before the report", async () => {
  const sync = realSync()
  if (process.platform !== "linux" || sync === undefined) return
  const dir = tmp()
  const drive = path.join(dir, "drive")
  const items = smallFiles(dir, 12)
  // a `sync` first on PATH that notes the drive's file names each time it runs
  const bin = path.join(dir, "bin")
  const log = path.join(dir, "sync.log")
  mkdirSync(bin)
  mkdirSync(drive)
  writeFileSync(path.join(bin, "sync"), `#!/bin/sh\necho "$(find "${drive}" -type f -printf '%f ')" >> "${log}"\nexec "${sync}" "$@"\n`, { mode: 0o755 })
  const saved = process.env.PATH
  process.env.PATH = `${bin}${path.delimiter}${saved}`
  const reported: Array<{ files: Array<number>; syncs: number }> = []
  const syncs = () => readFileSync(log, "utf8").trim().split("\n")
  try {
    await run(
      Effect.scoped(
        Effect.gen(function* () {
          const batch = yield* makeDurableBatch<Item>({
            root: drive,
            durability: "syncfs",
            maxFiles: 6,
            onBatch: (files) => Effect.sync(() => void reported.push({ files: files.map((f) => f.file.n), syncs: syncs().length })),
          })
          for (const { data: _, ...item } of items) yield* batch.add(item)
          yield* batch.flush
        }),
      ),
    )
  } finally {
    process.env.PATH = saved
  }
  const seen = syncs().map((line) => new Set(line.trim().split(/\s+/)))
  assert.equal(seen.length, 4)
  assert.deepEqual(reported, [
    { files: [0, 1, 2, 3, 4, 5], syncs: 2 },
    { files: [6, 7, 8, 9, 10, 11], syncs: 4 },
  ])
  for (const [k, { files }] of reported.entries()) {
    const [before, after] = [seen[2 * k]!, seen[2 * k + 1]!]
    for (const n of files) {
      // first sync: the whole batch under partial names; second: under final names only
      assert.ok(before.has(`.f${n}.waie-partial`) && !before.has(`f${n}`), `file ${n} at the data sync`)
      assert.ok(after.has(`f${n}`) && !after.has(`.f${n}.waie-partial`), `file ${n} at the rename sync`)
    }
  }
})

test("DurableBatch (fsync): every file is fdatasynced before the first rename of its batch, folders synced after the renames", async () => {
  const dir = tmp()
  const items = smallFiles(dir, 7)
  const steps: Array<string> = []
  await run(
    Effect.scoped(
      Effect.gen(function* () {
        const batch = yield* makeDurableBatch<Item>({ root: dir, durability: "fsync", groupFiles: 2, maxFiles: 5, trace: (s) => void steps.push(s), onBatch: () => Effect.void })
        for (const { data: _, ...item } of items) yield* batch.add(item)
        yield* batch.flush
      }),
    ),
  )
  const kinds = steps.map((s) => s.split(" ")[0])
  // two batches: 5 files, then 2
  for (const [from, to, n] of [[0, kinds.indexOf("report"), 5], [kinds.indexOf("report") + 1, kinds.length - 1, 2]] as const) {
    const batch = steps.slice(from, to + 1)
    const synced = batch.filter((s) => s.startsWith("fdatasync")).map((s) => s.slice(10))
    const renamed = batch.filter((s) => s.startsWith("rename")).map((s) => s.slice(7))
    assert.equal(renamed.length, n)
    assert.deepEqual([...renamed].sort(), [...synced].sort())
    const firstRename = batch.findIndex((s) => s.startsWith("rename"))
    const lastSync = batch.findLastIndex((s) => s.startsWith("fdatasync"))
    const firstDirSync = batch.findIndex((s) => s.startsWith("dirsync"))
    assert.ok(lastSync < firstRename, `fdatasync before rename: ${batch.join(", ")}`)
    assert.ok(batch.findLastIndex((s) => s.startsWith("rename")) < firstDirSync, `renames before the folder syncs: ${batch.join(", ")}`)
    assert.equal(batch.at(-1), `report ${n}`)
    // the folders of the batch's files, and the drive's folder (parent of the folders created)
    assert.deepEqual(batch.filter((s) => s.startsWith("dirsync")).map((s) => s.slice(8)).sort(), [...new Set(batch.filter((s) => s.startsWith("rename")).map((s) => path.dirname(s.slice(7))))].concat(from === 0 ? [dir, path.join(dir, "drive")] : []).sort())
  }
  for (const it of items) assertBytes(it.target, it.data)
})

test("DurableBatch: a changed source fails the batch: nothing of it renamed or reported, earlier batches reported", async () => {
  const dir = tmp()
  const items = smallFiles(dir, 6)
  writeFileSync(items[4]!.source, Buffer.concat([items[4]!.data, Buffer.from("x")]))
  const reported: Array<Array<number>> = []
  const exit = await runExit(
    Effect.scoped(
      Effect.gen(function* () {
        const batch = yield* makeDurableBatch<Item>({ root: dir, maxFiles: 3, onBatch: (files) => Effect.sync(() => void reported.push(files.map((f) => f.file.n))) })
        for (const { data: _, ...item } of items) yield* batch.add(item)
        yield* batch.flush
      }),
    ),
  )
  const e = failureOf(exit)
  assert.equal(e._tag, "SourceChanged")
  assert.ok(e.message.startsWith(`${items[4]!.source}: `) && e.message.includes(`now ${items[4]!.length + 1} bytes`), e.message)
  assert.deepEqual(reported, [[0, 1, 2]])
  for (const it of items.slice(3)) assert.equal(existsSync(it.target), false)
})

test("DurableBatch and copyFile take the mtime FileSystem's stat gives (whole milliseconds) and refuse another", async () => {
  const dir = tmp()
  const source = path.join(dir, "s")
  writeFileSync(source, randomBytes(5000))
  // a time with a fraction of a millisecond, as most file systems keep them
  nodeFs.utimesSync(source, new Date(), 1_700_000_000.1237)
  const mtimeMs = await run(Effect.map(Effect.flatMap(FileSystem.FileSystem, (fs) => fs.stat(source)), (i) => Option.getOrThrow(i.mtime).getTime()))
  const copyBoth = (mtime: number, n: number) =>
    runExit(
      Effect.scoped(
        Effect.gen(function* () {
          const batch = yield* makeDurableBatch<SmallFile>({ root: dir, onBatch: () => Effect.void })
          yield* batch.add({ source, target: path.join(dir, `b${n}`), kind: "block", length: 5000, mtimeMs: mtime })
          yield* batch.flush
          yield* copyFile({ source, target: path.join(dir, `c${n}`), kind: "block", length: 5000, mtimeMs: mtime })
        }),
      ),
    )
  assert.ok(Exit.isSuccess(await copyBoth(mtimeMs, 1)))
  const e = failureOf(await copyBoth(mtimeMs + 1, 2))
  assert.equal(e._tag, "SourceChanged")
  assert.equal(existsSync(path.join(dir, "b2")), false)
})

test("DurableBatch: a missing source is FileUnreadable naming it as shown", async () => {
  const dir = tmp()
  const exit = await runExit(
    Effect.scoped(
      Effect.gen(function* () {
        const batch = yield* makeDurableBatch<SmallFile>({ root: dir, onBatch: () => Effect.void })
        yield* batch.add({ source: path.join(dir, "missing"), shownSource: "G:\\missing", target: path.join(dir, "t"), kind: "block", length: 3 })
        yield* batch.flush
      }),
    ),
  )
  const e = failureOf(exit)
  assert.equal(e._tag, "FileUnreadable")
  assert.equal(e.message, "G:\\missing: cannot read (ENOENT): no such file")
})

// ---------------------------------------------------------------------------------------------
// durable.ts

test("ensureDirectory reports the folders whose entries it changed; syncFileSystem runs", async () => {
  const dir = tmp()
  const changed = new Set<string>()
  await run(ensureDirectory(path.join(dir, "a", "b", "c"), changed))
  assert.deepEqual([...changed].sort(), [dir, path.join(dir, "a"), path.join(dir, "a", "b")])
  const again = new Set<string>()
  await run(ensureDirectory(path.join(dir, "a", "b", "c"), again))
  assert.equal(again.size, 0)
  writeFileSync(path.join(dir, "file"), "")
  const e = failureOf(await runExit(ensureDirectory(path.join(dir, "file", "x"), new Set())))
  assert.equal(e.code, "ENOTDIR")
  if (process.platform === "linux") await Effect.runPromise(syncFileSystem(dir))
})
