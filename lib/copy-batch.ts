/**
 * Small files with grouped durability. For many small files a per-file fsync costs more than
 * the copy itself, so a `DurableBatch` writes a batch of files to their partial names without
 * syncing each, makes the whole batch durable at once, renames the files to their targets,
 * makes the renames durable, and only then reports the batch (the caller journals it).
 *
 * Durability, two ways (`durability` option; `auto` picks the first that works):
 * - `syncfs` (Linux): one `sync -f <root>` (syncfs(2) of the drive's file system) once the
 *   batch's data is written, another after the renames.
 * - `fsync` (portable): each file is fdatasynced after its write, before it is closed (the
 *   files of a group concurrently, in the libuv thread pool); after the renames every folder
 *   whose entries changed (the targets' folders, the parents of folders created) is fsynced.
 * Measured on the bench machine (bench/README.md), syncfs takes half the time: it is the
 * default where it works.
 *
 * What is durable when `onBatch` runs: every file of the batch, under its target name, with its
 * whole data and length, and every folder created for them. Nothing of later batches is
 * claimed. After a crash, files of an unreported batch may exist under partial names
 * (`partialPathOf`) or, when the crash came after the renames, under their target names,
 * complete: a resumed session copies them again (writes and renames overwrite both).
 *
 * Pipelining: files are read and written a group at a time (`groupFiles`, default 32, packed
 * in an 8 MiB arena of shared memory) by an I/O thread of their own (lib/copy-io.ts says why),
 * `depth` groups (default 4) in flight, while the main thread hashes the group before (files
 * up to `inlineHashLimit` on the main thread, larger ones in the hash pool). A full batch is
 * committed (synced, renamed, synced) in the background while the next batch is copied; its
 * report waits for the next `add` or `flush` that finds it done, so `onBatch` always runs in
 * the caller's fiber, inside `add`/`flush`, one batch at a time and in order (the caller's
 * journal appends never race). At most one batch is being committed at a time. Memory:
 * `depth × 8 MiB` of shared memory, of which only the files' bytes are touched.
 *
 * A batch is committed when it reaches `maxFiles` files (default 1,000) or would pass
 * `maxBytes` (default 256 MiB), and by `flush`. A small file is at most 4 MiB (one block or
 * page chunk): larger files go through `copyFile`. The source must be a regular file with the
 * length (and mtime, when given) the caller planned with, else `SourceChanged`.
 *
 * A failure (an unreadable source, a full drive, `SourceChanged`, an error of `onBatch`) fails
 * the `add` or `flush` that meets it, after the batches committed before it are reported; the
 * failed batch is neither renamed nor reported. The DurableBatch is then unusable.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Fiber, type Scope } from "effect"
import * as path from "node:path"
import { blockSize, type DescribedBlock, type DescribedPageRange, describeBlocks, describePageRanges, pageSize } from "./blocks.ts"
import { type BlobKind, partialPathOf, shownPartialOf } from "./copy-file.ts"
import { ioUnreadable, ioUnwritable, type IoResult } from "./copy-io.ts"
import { currentCopyIo } from "./copy-io-service.ts"
import { ensureDirectory, syncDirectory } from "./durable.ts"
import { FileUnreadable, FileUnwritable, PageBlobLengthUnaligned, SourceChanged } from "./errors.ts"
import { HashPool } from "./hashpool.ts"

export interface SmallFile {
  readonly source: string
  readonly target: string
  readonly kind: BlobKind
  /** the planned length, at most 4 MiB */
  readonly length: number
  readonly mtimeMs?: number
  readonly shownSource?: string
  readonly shownTarget?: string
}

/** A file of a committed batch: the caller's request and what describes it in the manifest. */
export type CopiedFile<F extends SmallFile = SmallFile> =
  | { readonly kind: "block"; readonly file: F; readonly descriptors: ReadonlyArray<DescribedBlock> }
  | { readonly kind: "page"; readonly file: F; readonly descriptors: ReadonlyArray<DescribedPageRange> }

export type Durability = "syncfs" | "fsync"

export interface DurableBatchOptions<F extends SmallFile, E, R> {
  /** a folder on the drive; every target must be on its file system (syncfs syncs that one) */
  readonly root: string
  readonly maxFiles?: number
  readonly maxBytes?: number
  /** files per message to the I/O thread (default 32) */
  readonly groupFiles?: number
  /** groups in flight (default 4) */
  readonly depth?: number
  /** `auto` (default): syncfs where `sync -f` works on `root`, else fsync */
  readonly durability?: Durability | "auto"
  /** the batch is durable under its target names (see the module's comment); journal it here */
  readonly onBatch: (files: ReadonlyArray<CopiedFile<F>>) => Effect.Effect<void, E, R>
  /**
   * For tests and diagnostics: each step as it completes, in order — `write T` (a file's data
   * is under its partial name), `fdatasync T` (fsync mode), `syncfs`, `rename T`, `dirsync D`,
   * `report N` (before `onBatch` with N files); T a target, D a folder.
   */
  readonly trace?: (step: string) => void
}

export type SmallFileError = FileUnreadable | FileUnwritable | SourceChanged | PageBlobLengthUnaligned

export interface DurableBatch<F extends SmallFile, E, R> {
  /** how this batch makes data durable */
  readonly durability: Durability
  /** start copying a file (waits while `depth` groups are in flight; starts committing a full batch first) */
  readonly add: (file: F) => Effect.Effect<void, SmallFileError | E, R>
  /** commit what was added and report every batch (nothing happens when nothing is pending) */
  readonly flush: Effect.Effect<void, SmallFileError | E, R>
}

export const defaultBatchFiles = 1000
export const defaultBatchBytes = 256 * 1024 * 1024
export const defaultGroupFiles = 32
export const defaultDepth = 4
/** The shared memory of one group: a file of 4 MiB (+ 1 byte, see `ReadJob`) always fits. */
const arenaBytes = 8 * 1024 * 1024
/** Files start at multiples of this in an arena (page-range detection reads 32-bit words). */
const fileAlign = 4096

/**
 * Files up to this length are hashed on the calling thread: handing a chunk to a worker (a
 * message each way, with the shared buffer) costs more than hashing it (≈ 60 µs per message
 * measured, MD5 runs at ≈ 850 MB/s: 64 KiB in ≈ 75 µs).
 */
export const inlineHashLimit = 64 * 1024

interface Entry<F extends SmallFile> {
  readonly file: F
  /** where its bytes are in the shared memory */
  readonly offset: number
  /** `partialPathOf(file.target)`, once it is written there */
  partial?: string
  result?: CopiedFile<F>
  error?: unknown
}

interface Group<F extends SmallFile> {
  readonly arena: number
  readonly entries: Array<Entry<F>>
  used: number
}

const isTyped = (e: unknown): e is SmallFileError =>
  e instanceof FileUnreadable || e instanceof FileUnwritable || e instanceof SourceChanged || e instanceof PageBlobLengthUnaligned

/** A copy's failure as an Effect: typed errors fail, anything else is a defect. */
const failWith = (e: unknown): Effect.Effect<never, SmallFileError> => (isTyped(e) ? Effect.fail(e) : Effect.die(e))

const isError = (r: IoResult): r is Extract<IoResult, { error: unknown }> => "error" in r
const isChanged = (r: IoResult): r is Extract<IoResult, { changed: string }> => "changed" in r

/**
 * A DurableBatch living in the current scope (its I/O thread ends with it). What was not
 * flushed when the scope closes is neither renamed nor reported (its files stay under partial
 * names).
 */
export const makeDurableBatch = <F extends SmallFile, E = never, R = never>(
  options: DurableBatchOptions<F, E, R>,
): Effect.Effect<DurableBatch<F, E, R>, never, Scope.Scope | FileSystem.FileSystem | HashPool> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const pool = yield* HashPool
    const scope = yield* Effect.scope
    const maxFiles = options.maxFiles ?? defaultBatchFiles
    const maxBytes = options.maxBytes ?? defaultBatchBytes
    const groupFiles = options.groupFiles ?? defaultGroupFiles
    const depth = options.depth ?? defaultDepth
    const trace = options.trace
    const whole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max
    if (!whole(maxFiles, 1, Number.MAX_SAFE_INTEGER)) return yield* Effect.die(new RangeError(`DurableBatch: maxFiles must be ≥ 1, got ${maxFiles}`))
    if (!whole(maxBytes, 1, Number.MAX_SAFE_INTEGER)) return yield* Effect.die(new RangeError(`DurableBatch: maxBytes must be ≥ 1, got ${maxBytes}`))
    if (!whole(groupFiles, 1, 4096)) return yield* Effect.die(new RangeError(`DurableBatch: groupFiles must be 1 to 4096, got ${groupFiles}`))
    if (!whole(depth, 1, 64)) return yield* Effect.die(new RangeError(`DurableBatch: depth must be 1 to 64, got ${depth}`))
    // the I/O thread and syncfs, or the FileSystem service where a test provides CopyIoFileSystem (lib/copy-io-service.ts)
    const copyIo = yield* currentCopyIo
    const wanted = options.durability ?? "auto"
    const durability: Durability = wanted === "auto" ? ((yield* copyIo.syncfsAvailable(options.root)) ? "syncfs" : "fsync") : wanted
    const withFs = Effect.provideService(FileSystem.FileSystem, fs)

    const memory = new SharedArrayBuffer(depth * arenaBytes)
    const io = yield* copyIo.start(memory)
    const freeArenas = Array.from({ length: depth }, (_, i) => depth - 1 - i)
    const waiters: Array<() => void> = []

    let open: Group<F> | undefined
    /** the entries and group copies of the batch being filled */
    let current: Array<Entry<F>> = []
    let copies: Array<Promise<void>> = []
    let bytes = 0
    let knownDirs = new Set<string>()
    let changedDirs = new Set<string>()
    /** the first failure of a copy: later adds fail fast */
    let failure: { error: unknown } | undefined
    let committing: Fiber.RuntimeFiber<ReadonlyArray<CopiedFile<F>>, SmallFileError> | undefined

    type Descriptors = ReadonlyArray<DescribedBlock> | ReadonlyArray<DescribedPageRange>

    /**
     * Read a group, hash it, write it (in the I/O thread but the hashing); settles, never rejects.
     * Plain loops, no promise per file: at 200,000 files the per-file garbage is what makes the
     * heap grow (bench/README.md, Memory).
     */
    const copyGroup = async (group: Group<F>): Promise<void> => {
      const { entries } = group
      const reads = await io.read(entries.map(({ file, offset }) => (file.mtimeMs === undefined ? { source: file.source, offset, length: file.length } : { source: file.source, offset, length: file.length, mtimeMs: file.mtimeMs })))
      const toWrite: Array<Entry<F>> = []
      const described: Array<Descriptors | undefined> = new Array(entries.length)
      let pooled: Array<Promise<void>> | undefined
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!
        const r = reads[i]!
        const { file } = e
        const { length, kind } = file
        if (isError(r)) e.error = ioUnreadable(file.shownSource ?? file.source, r.error)
        else if (isChanged(r)) e.error = new SourceChanged({ path: file.shownSource ?? file.source, length, mtimeMs: file.mtimeMs ?? r.mtimeMs, found: r.changed })
        else if (length === 0) described[i] = []
        else if (length <= inlineHashLimit) {
          const chunk = new Uint8Array(memory, e.offset, length)
          described[i] = kind === "block" ? describeBlocks(chunk, 0, 0) : describePageRanges(chunk, 0)
        } else {
          const job = pool.describe({ kind, memory, byteOffset: e.offset, length, fileOffset: 0, firstIndex: 0 })
          ;(pooled ??= []).push(Effect.runPromise(job).then((d) => void (described[i] = d)))
        }
      }
      if (pooled !== undefined) await Promise.all(pooled)
      const jobs = []
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!
        const descriptors = described[i]
        if (descriptors === undefined) continue
        e.result = { kind: e.file.kind, file: e.file, descriptors } as CopiedFile<F>
        e.partial = partialPathOf(e.file.target)
        toWrite.push(e)
        jobs.push({ partial: e.partial, offset: e.offset, length: e.file.length, data: !(e.file.kind === "page" && descriptors.length === 0) })
      }
      const writes = jobs.length > 0 ? await io.write(jobs, durability === "fsync") : []
      for (const [i, e] of toWrite.entries()) {
        const r = writes[i]!
        if (isError(r)) e.error = ioUnwritable(shownPartialOf(e.file.shownTarget ?? e.file.target, e.file.target), r.error)
        else if (trace) {
          trace(`write ${e.file.target}`)
          if ("synced" in r && r.synced === true) trace(`fdatasync ${e.file.target}`)
        }
      }
    }

    /** Send the open group to the I/O thread. */
    const dispatch = (): void => {
      const group = open
      if (group === undefined) return
      open = undefined
      copies.push(
        copyGroup(group)
          .catch((error: unknown) => {
            for (const e of group.entries) e.error ??= error
          })
          .finally(() => {
            for (const e of group.entries) if (e.error !== undefined) failure ??= { error: e.error }
            freeArenas.push(group.arena)
            waiters.shift()?.()
          }),
      )
    }

    /** Make a batch durable under its target names; its report is delivered later (`deliver`). */
    const commit = (batch: ReadonlyArray<Entry<F>>, done: ReadonlyArray<Promise<void>>, dirs: Set<string>): Effect.Effect<ReadonlyArray<CopiedFile<F>>, SmallFileError> =>
      Effect.gen(function* () {
        yield* Effect.promise(() => Promise.all(done))
        const copied: Array<CopiedFile<F>> = []
        for (const e of batch) {
          if (e.error !== undefined) return yield* failWith(e.error)
          copied.push(e.result!)
        }
        const syncfs = Effect.zipRight(copyIo.syncFileSystem(options.root), Effect.sync(() => trace?.("syncfs")))
        if (durability === "syncfs") yield* syncfs
        const renamed = yield* Effect.promise(() => io.rename(batch.map((e) => [e.partial ?? partialPathOf(e.file.target), e.file.target] as const)))
        for (const [i, r] of renamed.entries()) {
          const { file } = batch[i]!
          if (isError(r)) return yield* Effect.fail(ioUnwritable(file.shownTarget ?? file.target, r.error))
          trace?.(`rename ${file.target}`)
        }
        if (durability === "syncfs") yield* syncfs
        else {
          for (const e of batch) dirs.add(path.dirname(e.file.target))
          yield* Effect.forEach(dirs, (d) => Effect.zipRight(syncDirectory(d), Effect.sync(() => trace?.(`dirsync ${d}`))), { discard: true }).pipe(withFs)
        }
        return copied
      })

    /** Wait for the batch being committed, if any, and report it. */
    const deliver: Effect.Effect<void, SmallFileError | E, R> = Effect.suspend(() => {
      const fiber = committing
      if (fiber === undefined) return Effect.void
      return Effect.flatMap(Fiber.join(fiber), (copied) => {
        committing = undefined
        trace?.(`report ${copied.length}`)
        return options.onBatch(copied)
      })
    })

    /** Report the batch being committed if it is done (or fail with its failure), without waiting. */
    const deliverIfDone: Effect.Effect<void, SmallFileError | E, R> = Effect.suspend(() =>
      committing !== undefined && committing.unsafePoll() !== null ? deliver : Effect.void,
    )

    /** Start committing the current batch (after the previous one is reported). */
    const rotate: Effect.Effect<void, SmallFileError | E, R> = Effect.gen(function* () {
      yield* deliver
      dispatch()
      if (current.length === 0) return
      const batch = current
      const done = copies
      const dirs = changedDirs
      current = []
      copies = []
      bytes = 0
      knownDirs = new Set()
      changedDirs = new Set()
      committing = yield* Effect.forkIn(commit(batch, done, dirs), scope)
    })

    /** Fail with the first copy failure, after reporting what was committed before it. */
    const failed: Effect.Effect<never, SmallFileError | E, R> = Effect.suspend(() => Effect.zipRight(deliver, failWith(failure!.error)))

    const waitForArena: Effect.Effect<void> = Effect.async<void>((resume) => {
      const wake = () => resume(Effect.void)
      waiters.push(wake)
      return Effect.sync(() => {
        const i = waiters.indexOf(wake)
        if (i >= 0) waiters.splice(i, 1)
      })
    })

    /** `add` when it has to wait, report, fail, commit or make a folder. */
    const addSlowly = (file: F): Effect.Effect<void, SmallFileError | E, R> =>
      Effect.gen(function* () {
        if (failure) return yield* failed
        yield* deliverIfDone
        if (!Number.isSafeInteger(file.length) || file.length < 0 || file.length > blockSize) {
          return yield* Effect.die(new RangeError(`DurableBatch: a small file is 0 to ${blockSize} bytes, got ${file.length} (${file.source}); use copyFile`))
        }
        if (file.kind === "page" && file.length % pageSize !== 0) return yield* Effect.fail(new PageBlobLengthUnaligned({ path: file.shownSource ?? file.source, length: file.length }))
        if (current.length >= maxFiles || (current.length > 0 && bytes + file.length > maxBytes)) yield* rotate
        const dir = path.dirname(file.target)
        if (!knownDirs.has(dir)) {
          yield* ensureDirectory(dir, changedDirs, path.dirname(file.shownTarget ?? file.target)).pipe(withFs)
          knownDirs.add(dir)
        }
        const need = Math.ceil((file.length + 1) / fileAlign) * fileAlign
        if (open !== undefined && (open.entries.length >= groupFiles || open.used + need > arenaBytes)) dispatch()
        if (open === undefined) {
          while (freeArenas.length === 0) yield* waitForArena
          if (failure) return yield* failed
          open = { arena: freeArenas.pop()!, entries: [], used: 0 }
        }
        const entry: Entry<F> = { file, offset: open.arena * arenaBytes + open.used }
        open.used += need
        open.entries.push(entry)
        current.push(entry)
        bytes += file.length
      })

    /**
     * Most files need none of `addSlowly`'s effects: this is the same steps as plain code (no
     * generator per file), handing over to `addSlowly`, before anything changed, at the first
     * step that needs one.
     */
    const add = (file: F): Effect.Effect<void, SmallFileError | E, R> =>
      Effect.suspend(() => {
        if (failure !== undefined || (committing !== undefined && committing.unsafePoll() !== null)) return addSlowly(file)
        const { length } = file
        if (!Number.isSafeInteger(length) || length < 0 || length > blockSize || (file.kind === "page" && length % pageSize !== 0)) return addSlowly(file)
        if (current.length >= maxFiles || (current.length > 0 && bytes + length > maxBytes)) return addSlowly(file)
        if (!knownDirs.has(path.dirname(file.target))) return addSlowly(file)
        const need = Math.ceil((length + 1) / fileAlign) * fileAlign
        const full = open !== undefined && (open.entries.length >= groupFiles || open.used + need > arenaBytes)
        if ((open === undefined || full) && freeArenas.length === 0) return addSlowly(file)
        if (full) dispatch()
        open ??= { arena: freeArenas.pop()!, entries: [], used: 0 }
        const entry: Entry<F> = { file, offset: open.arena * arenaBytes + open.used }
        open.used += need
        open.entries.push(entry)
        current.push(entry)
        bytes += length
        return Effect.void
      })

    const flush: Effect.Effect<void, SmallFileError | E, R> = Effect.gen(function* () {
      if (failure) return yield* failed
      yield* rotate
      yield* deliver
    })

    return { durability, add, flush }
  })
