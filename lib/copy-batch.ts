/**
 * Small files with grouped durability. For many small files a per-file fsync costs more than
 * the copy itself, so a `DurableBatch` writes a batch of files to their partial names without
 * syncing each, makes the whole batch durable at once, renames the files to their targets,
 * makes the renames durable, and only then reports the batch (the caller journals it).
 *
 * Durability, two ways (`durability` option; `auto` picks the first that works):
 * - `syncfs` (Linux): one `sync -f <root>` (syncfs(2) of the drive's file system) once the
 *   batch's data is written, another after the renames.
 * - `fsync` (portable): each file is fsynced after its write, before it is closed (in the libuv
 *   thread pool, `concurrency` files at a time); after the renames every folder whose entries
 *   changed (the targets' folders, the parents of folders created) is fsynced.
 * Measured on the bench machine (bench/README.md), syncfs is the faster: it is the default
 * where it works.
 *
 * What is durable when `onBatch` runs: every file of the batch, under its target name, with its
 * whole data and length, and every folder created for them. Nothing of later batches is
 * claimed. After a crash, files of an unreported batch may exist under partial names
 * (`partialPathOf`) or, when the crash came after the renames, under their target names,
 * complete: a resumed session copies them again (writes and renames overwrite both).
 *
 * Pipelining: a full batch is committed (synced, renamed, synced) in the background while the
 * next batch is read and written; its report waits for the next `add` or `flush` that finds it
 * done, so `onBatch` always runs in the caller's fiber, inside `add`/`flush`, one batch at a
 * time and in order (the caller's journal appends never race). At most one batch is being
 * committed at a time.
 *
 * A batch is committed when it reaches `maxFiles` files (default 1,000) or would pass
 * `maxBytes` (default 256 MiB), and by `flush`. Up to `concurrency` files (default 8) are read,
 * hashed and written at a time, each in a 4 MiB slot of shared memory (so `concurrency × 4 MiB`
 * of address space; only the bytes of the files are touched). A small file is at most 4 MiB
 * (one block or page chunk): larger files go through `copyFile`. Files up to
 * `inlineHashLimit` are hashed on the calling thread, larger ones in the hash pool. The source
 * must keep the length (and mtime, when given) the caller planned with, else `SourceChanged`.
 * The per-file I/O runs on node:fs directly (`copy-small-io.ts` says why).
 *
 * A failure (an unreadable source, a full drive, `SourceChanged`, an error of `onBatch`) fails
 * the `add` or `flush` that meets it, after the batches committed before it are reported; the
 * failed batch is neither renamed nor reported. The DurableBatch is then unusable.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Fiber, type Scope } from "effect"
import * as path from "node:path"
import { blockSize, type DescribedBlock, type DescribedPageRange, describeBlocks, describePageRanges, pageSize } from "./blocks.ts"
import type { BlobKind } from "./copy-file.ts"
import { readSmall, renameAll, writeSmall } from "./copy-small-io.ts"
import { ensureDirectory, syncDirectory, syncFileSystem, syncfsAvailable } from "./durable.ts"
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
  /** a folder on the drive (syncfs syncs its file system) */
  readonly root: string
  readonly maxFiles?: number
  readonly maxBytes?: number
  readonly concurrency?: number
  /** `auto` (default): syncfs where `sync -f` works on `root`, else fsync */
  readonly durability?: Durability | "auto"
  /** the batch is durable under its target names (see the module's comment); journal it here */
  readonly onBatch: (files: ReadonlyArray<CopiedFile<F>>) => Effect.Effect<void, E, R>
}

export type SmallFileError = FileUnreadable | FileUnwritable | SourceChanged | PageBlobLengthUnaligned

export interface DurableBatch<F extends SmallFile, E, R> {
  /** how this batch makes data durable */
  readonly durability: Durability
  /** start copying a file (waits while `concurrency` files are in flight; starts committing a full batch first) */
  readonly add: (file: F) => Effect.Effect<void, SmallFileError | E, R>
  /** commit what was added and report every batch (nothing happens when nothing is pending) */
  readonly flush: Effect.Effect<void, SmallFileError | E, R>
}

export const defaultBatchFiles = 1000
export const defaultBatchBytes = 256 * 1024 * 1024
export const defaultBatchConcurrency = 8

/**
 * Files up to this length are hashed on the calling thread: handing a chunk to a worker (a
 * message each way, with the shared buffer) costs more than hashing it (≈ 60 µs per message
 * measured, MD5 runs at ≈ 850 MB/s: 64 KiB in ≈ 75 µs).
 */
export const inlineHashLimit = 64 * 1024

interface Entry<F extends SmallFile> {
  readonly file: F
  result?: CopiedFile<F>
  error?: unknown
  /** settles (never rejects) when the copy is done or failed */
  done?: Promise<void>
}

const isTyped = (e: unknown): e is SmallFileError =>
  e instanceof FileUnreadable || e instanceof FileUnwritable || e instanceof SourceChanged || e instanceof PageBlobLengthUnaligned

/** A copy's failure as an Effect: typed errors fail, anything else is a defect. */
const failWith = (e: unknown): Effect.Effect<never, SmallFileError> => (isTyped(e) ? Effect.fail(e) : Effect.die(e))

/**
 * A DurableBatch living in the current scope. What was not flushed when the scope closes is
 * neither renamed nor reported (copies in flight finish on their own; their files stay under
 * partial names).
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
    const concurrency = options.concurrency ?? defaultBatchConcurrency
    if (!Number.isSafeInteger(maxFiles) || maxFiles < 1) return yield* Effect.die(new RangeError(`DurableBatch: maxFiles must be ≥ 1, got ${maxFiles}`))
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) return yield* Effect.die(new RangeError(`DurableBatch: maxBytes must be ≥ 1, got ${maxBytes}`))
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 256) return yield* Effect.die(new RangeError(`DurableBatch: concurrency must be 1 to 256, got ${concurrency}`))
    const wanted = options.durability ?? "auto"
    const durability: Durability = wanted === "auto" ? ((yield* syncfsAvailable(options.root)) ? "syncfs" : "fsync") : wanted
    const withFs = Effect.provideService(FileSystem.FileSystem, fs)

    const memory = new SharedArrayBuffer(concurrency * blockSize)
    const freeSlots = Array.from({ length: concurrency }, (_, i) => concurrency - 1 - i)
    const waiters: Array<() => void> = []

    let current: Array<Entry<F>> = []
    let bytes = 0
    let knownDirs = new Set<string>()
    let changedDirs = new Set<string>()
    /** the first failure of a copy: later adds fail fast */
    let failure: { error: unknown } | undefined
    let committing: Fiber.RuntimeFiber<ReadonlyArray<CopiedFile<F>>, SmallFileError> | undefined

    const describe = (file: F, base: number): Promise<ReadonlyArray<DescribedBlock> | ReadonlyArray<DescribedPageRange>> => {
      const { length, kind } = file
      if (length === 0) return Promise.resolve([])
      if (length <= inlineHashLimit) {
        const chunk = new Uint8Array(memory, base, length)
        return Promise.resolve(kind === "block" ? describeBlocks(chunk, 0, 0) : describePageRanges(chunk, 0))
      }
      return Effect.runPromise(pool.describe({ kind, memory, byteOffset: base, length, fileOffset: 0, firstIndex: 0 }))
    }

    /** Read, hash and write one file to its partial name, in a slot that is free. */
    const start = (entry: Entry<F>): void => {
      const slot = freeSlots.pop()!
      const base = slot * blockSize
      const { file } = entry
      entry.done = (async () => {
        await readSmall(file, new Uint8Array(memory, base, blockSize))
        const descriptors = await describe(file, base)
        const empty = file.kind === "page" && descriptors.length === 0
        await writeSmall(file, empty ? undefined : new Uint8Array(memory, base, file.length), durability === "fsync")
        entry.result = { kind: file.kind, file, descriptors } as CopiedFile<F>
      })().then(
        () => undefined,
        (error: unknown) => {
          entry.error = error
          failure ??= { error }
        },
      ).finally(() => {
        freeSlots.push(slot)
        waiters.shift()?.()
      })
    }

    /** Make a batch durable under its target names; its report is delivered later (`deliver`). */
    const commit = (batch: ReadonlyArray<Entry<F>>, dirs: Set<string>): Effect.Effect<ReadonlyArray<CopiedFile<F>>, SmallFileError> =>
      Effect.gen(function* () {
        yield* Effect.promise(() => Promise.all(batch.map((e) => e.done)))
        const copied: Array<CopiedFile<F>> = []
        for (const e of batch) {
          if (e.error !== undefined) return yield* failWith(e.error)
          copied.push(e.result!)
        }
        if (durability === "syncfs") yield* syncFileSystem(options.root)
        yield* Effect.tryPromise({ try: () => renameAll(batch.map((e) => e.file), concurrency), catch: (e) => e }).pipe(Effect.catchAll(failWith))
        if (durability === "syncfs") yield* syncFileSystem(options.root)
        else {
          for (const e of batch) dirs.add(path.dirname(e.file.target))
          yield* Effect.forEach(dirs, (d) => syncDirectory(d), { concurrency, discard: true }).pipe(withFs)
        }
        return copied
      })

    /** Wait for the batch being committed, if any, and report it. */
    const deliver: Effect.Effect<void, SmallFileError | E, R> = Effect.suspend(() => {
      const fiber = committing
      if (fiber === undefined) return Effect.void
      return Effect.flatMap(Fiber.join(fiber), (copied) => {
        committing = undefined
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
      if (current.length === 0) return
      const batch = current
      const dirs = changedDirs
      current = []
      bytes = 0
      knownDirs = new Set()
      changedDirs = new Set()
      committing = yield* Effect.forkIn(commit(batch, dirs), scope)
    })

    /** Fail with the first copy failure, after reporting what was committed before it. */
    const failed: Effect.Effect<never, SmallFileError | E, R> = Effect.suspend(() => Effect.zipRight(deliver, failWith(failure!.error)))

    const waitForSlot: Effect.Effect<void> = Effect.async<void>((resume) => {
      const wake = () => resume(Effect.void)
      waiters.push(wake)
      return Effect.sync(() => {
        const i = waiters.indexOf(wake)
        if (i >= 0) waiters.splice(i, 1)
      })
    })

    const add = (file: F): Effect.Effect<void, SmallFileError | E, R> =>
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
        while (freeSlots.length === 0) yield* waitForSlot
        if (failure) return yield* failed
        const entry: Entry<F> = { file }
        current.push(entry)
        bytes += file.length
        start(entry)
      })

    const flush: Effect.Effect<void, SmallFileError | E, R> = Effect.gen(function* () {
      if (failure) return yield* failed
      yield* rotate
      yield* deliver
    })

    return { durability, add, flush }
  })
