/**
 * Copying one file onto a drive: each source byte read once, written once and hashed once (per
 * 4 MiB block or page chunk, in the hash pool's worker threads), with a bounded ring of
 * shared-memory slots so that reading, hashing and writing overlap.
 *
 * The pipeline: a reader fills a free slot with the next 4 MiB of the source and hands the slot
 * to the hash pool and to the writer at once; the writer writes slots in file order; a slot is
 * free again when both its hash and its write are done. Memory: `slots × 4 MiB` (default 8 → 32
 * MiB), whatever the file's size.
 *
 * - Block blobs: every chunk is written; `describeBlocks` gives the chunk's block.
 * - Page blobs: the writer waits for the chunk's ranges; a chunk without any (all zero) is not
 *   written. The file is extended to its full length with ftruncate up front, so skipped chunks
 *   read back as zeros (holes where the file system has them).
 *
 * Durability and names. Data goes to `partialPathOf(target)` (`.<name>.waie-partial` beside the
 * target; see there) and is renamed to the target only when it is complete and durable. Every
 * `checkpointBytes` (default 64 MiB) and at the end, the partial file is fsynced and THEN
 * `onDurable` is called with the descriptors of the chunks that became durable: the caller
 * appends its journal record there, so a record never claims data that is not on the drive.
 * At the first checkpoint of a partial file this call created, its folder (and every folder made
 * for it) is fsynced too, so that the partial file's name is as durable as the bytes a record
 * will claim. The last checkpoint has `complete: true`; after it the file is renamed, the folder fsynced
 * (and the folders created for it), and `copyFile` returns: from then on the target name holds
 * the whole file durably.
 *
 * Resume: `startAt` (a multiple of 4 MiB, or the file's length) is an offset the journal says is
 * durable in the partial file, whose descriptors the caller already has. The partial file is
 * cut back to it and the copy continues from there. With `startAt` = length and the partial
 * file gone but the target there with the right length, the crash came between the rename and
 * the caller's record of it: nothing is copied, the last checkpoint is delivered again.
 *
 * The source must keep the `length` (and, when given, the `mtimeMs`) the caller planned with:
 * a different stat at open, an end of file before `length` or data past it is `SourceChanged`.
 *
 * I/O: reads, writes, ftruncate, fsync, rename and folder syncs all go through the platform
 * FileSystem service (`File` handles: measured, the Effect wrapper costs nothing at 4 MiB per
 * call), so a fault-injecting FileSystem can be swapped in.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Deferred, Effect, Exit, Fiber, Option, Queue } from "effect"
import * as path from "node:path"
import { blockSize, type DescribedBlock, type DescribedPageRange, maxBlockBlobLength, maxPageBlobLength, pageSize } from "./blocks.ts"
import { ensureDirectory, syncDirectory } from "./durable.ts"
import { FileTooLargeForManifest, FileUnreadable, FileUnwritable, PageBlobLengthUnaligned, PartialCopyLost, SourceChanged } from "./errors.ts"
import { unreadable, unwritable } from "./files.ts"
import { md5Hex } from "./hash.ts"
import { HashPool, type HashResult } from "./hashpool.ts"

export type BlobKind = "block" | "page"

/** What a chunk of a blob of kind K is described by in the manifest. */
export type DescriptorOf<K extends BlobKind> = K extends "block" ? DescribedBlock : DescribedPageRange

/** The suffix of partial files (see `partialPathOf`). */
export const partialSuffix = ".waie-partial"

/**
 * Where the data of `target` is written until it is complete and durable: `.<name>.waie-partial`
 * in the same folder (hidden on POSIX; same folder, so the rename is atomic). When that name
 * would pass 255 bytes, `.<md5 of the name, lower-case hex>.waie-partial`. Deterministic, so a
 * resumed copy finds the partial file again from the target alone.
 */
export const partialPathOf = (target: string): string => {
  const dir = path.dirname(target)
  const base = path.basename(target)
  const name = `.${base}${partialSuffix}`
  return path.join(dir, Buffer.byteLength(name) <= 255 ? name : `.${md5Hex(Buffer.from(base)).toLowerCase()}${partialSuffix}`)
}

/** The partial file's name as the user would see it, beside the shown target. */
export const shownPartialOf = (shownTarget: string, target: string): string => path.join(path.dirname(shownTarget), path.basename(partialPathOf(target)))

export interface CopyCheckpoint<K extends BlobKind = BlobKind> {
  readonly kind: K
  /** the partial file now holds the source's bytes [0, durable) durably (fsynced) */
  readonly durable: number
  /** the descriptors of the chunks that became durable since the previous checkpoint (or since `startAt`), in file order */
  readonly added: ReadonlyArray<DescriptorOf<K>>
  /** the last checkpoint: the whole file is durable; the rename to the target comes next */
  readonly complete: boolean
}

export interface CopyFileOptions<K extends BlobKind, E = never, R = never> {
  /** the source file (a local path) */
  readonly source: string
  /** the final path on the drive */
  readonly target: string
  readonly kind: K
  /** the length the caller planned with; the source must still have it */
  readonly length: number
  /** when given, the source's mtime (ms, as FileSystem's stat gives it) must still be this */
  readonly mtimeMs?: number
  /** names for messages (default: the paths) */
  readonly shownSource?: string
  readonly shownTarget?: string
  /** resume from this offset, durable in the partial file (a multiple of 4 MiB, or `length`) */
  readonly startAt?: number
  /** fsync + checkpoint every this many bytes (a multiple of 4 MiB; default 64 MiB) */
  readonly checkpointBytes?: number
  /** slots of 4 MiB in the ring (default 8) */
  readonly slots?: number
  /** called after each fsync, with what became durable; the copy waits for it */
  readonly onDurable?: (checkpoint: CopyCheckpoint<K>) => Effect.Effect<void, E, R>
  /** called after each chunk is written or skipped, with the offset the copy reached */
  readonly onProgress?: (reached: number) => void
}

export interface CopyFileResult {
  readonly target: string
  readonly length: number
  /** bytes this call wrote to the drive (page blobs: zero chunks are not written) */
  readonly bytesWritten: number
  /** descriptors this call delivered through `onDurable` */
  readonly descriptors: number
}

export type CopyFileError = FileUnreadable | FileUnwritable | SourceChanged | PartialCopyLost | FileTooLargeForManifest | PageBlobLengthUnaligned

export const defaultCheckpointBytes = 64 * 1024 * 1024
export const defaultSlots = 8

const mtimeOf = (info: FileSystem.File.Info): number => Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })

const isNotFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** Checks the caller's numbers; a broken precondition is a bug in the caller (a defect). */
interface Numbers {
  readonly kind: BlobKind
  readonly length: number
  readonly startAt?: number | undefined
  readonly checkpointBytes?: number | undefined
  readonly slots?: number | undefined
  readonly source: string
  readonly shownSource?: string | undefined
}

const checkOptions = (o: Numbers): Effect.Effect<void, FileTooLargeForManifest | PageBlobLengthUnaligned> => {
  const isLength = (n: number) => Number.isSafeInteger(n) && n >= 0
  const startAt = o.startAt ?? 0
  const checkpoint = o.checkpointBytes ?? defaultCheckpointBytes
  const slots = o.slots ?? defaultSlots
  const shown = o.shownSource ?? o.source
  if (!isLength(o.length)) return Effect.die(new RangeError(`copyFile: length must be a whole number ≥ 0, got ${o.length}`))
  if (!isLength(startAt) || startAt > o.length || (startAt % blockSize !== 0 && startAt !== o.length)) {
    return Effect.die(new RangeError(`copyFile: startAt must be a multiple of ${blockSize} or the length, at most ${o.length}; got ${startAt}`))
  }
  if (!Number.isSafeInteger(checkpoint) || checkpoint <= 0 || checkpoint % blockSize !== 0) return Effect.die(new RangeError(`copyFile: checkpointBytes must be a positive multiple of ${blockSize}, got ${checkpoint}`))
  if (!Number.isSafeInteger(slots) || slots < 1 || slots > 256) return Effect.die(new RangeError(`copyFile: slots must be 1 to 256, got ${slots}`))
  if (o.kind === "block" && o.length > maxBlockBlobLength) return Effect.fail(new FileTooLargeForManifest({ path: shown, length: o.length, maxLength: maxBlockBlobLength }))
  if (o.kind === "page" && (o.length % pageSize !== 0 || o.length > maxPageBlobLength)) return Effect.fail(new PageBlobLengthUnaligned({ path: shown, length: o.length }))
  return Effect.void
}

/**
 * Rings are reused from one copy to the next: a worker thread that hashed a ring keeps its own
 * handle on the shared memory until its next garbage collection, so a fresh ring per file would
 * pile up (measured: +32 MiB RSS per file). At most `maxSpareRings` are kept.
 */
const spareRings: Array<SharedArrayBuffer> = []
const maxSpareRings = 4

const takeRing = (bytes: number): SharedArrayBuffer => {
  const i = spareRings.findIndex((r) => r.byteLength === bytes)
  return i >= 0 ? spareRings.splice(i, 1)[0]! : new SharedArrayBuffer(bytes)
}

const giveRing = (ring: SharedArrayBuffer): void => {
  if (spareRings.length < maxSpareRings) spareRings.push(ring)
}

interface Chunk {
  readonly offset: number
  readonly length: number
  readonly slot: number
  readonly hash: Fiber.RuntimeFiber<HashResult>
}

/**
 * Copy `source` to `target` (see the module's comment for the pipeline, durability and resume).
 * Needs the FileSystem and a HashPool. Fails with the typed errors of `CopyFileError` or those
 * of `onDurable`; on failure the partial file stays (a later resume may use it).
 */
export const copyFile = <K extends BlobKind, E = never, R = never>(
  options: CopyFileOptions<K, E, R>,
): Effect.Effect<CopyFileResult, CopyFileError | E, FileSystem.FileSystem | HashPool | R> =>
  Effect.gen(function* () {
    yield* checkOptions(options)
    const fs = yield* FileSystem.FileSystem
    const pool = yield* HashPool
    const { source, target, kind, length } = options
    const shownSource = options.shownSource ?? source
    const shownTarget = options.shownTarget ?? target
    const startAt = options.startAt ?? 0
    const checkpointBytes = options.checkpointBytes ?? defaultCheckpointBytes
    const partial = partialPathOf(target)
    const shownPartial = shownPartialOf(shownTarget, target)
    const readFail = unreadable(shownSource)
    const writeFail = unwritable(shownPartial)
    const onDurable = options.onDurable
    const onProgress = options.onProgress

    const changedDirs = new Set<string>()

    // A crash after the rename, before the caller recorded it: the target is already complete.
    if (startAt === length) {
      const partialThere = yield* fs.exists(partial).pipe(Effect.mapError(writeFail))
      if (!partialThere) {
        const info = yield* fs.stat(target).pipe(Effect.option)
        if (Option.isSome(info) && info.value.type === "File" && Number(info.value.size) === length) {
          if (onDurable) yield* onDurable({ kind, durable: length, added: [], complete: true })
          yield* syncDirectory(path.dirname(target), path.dirname(shownTarget))
          return { target, length, bytesWritten: 0, descriptors: 0 }
        }
      }
    }

    let bytesWritten = 0
    let descriptors = 0
    yield* Effect.scoped(
      Effect.gen(function* () {
        const src = yield* fs.open(source, { flag: "r" }).pipe(Effect.mapError(readFail))
        const info = yield* src.stat.pipe(Effect.mapError(readFail))
        if (info.type !== "File") return yield* Effect.fail(new FileUnreadable({ path: shownSource, code: info.type === "Directory" ? "EISDIR" : "EINVAL", reason: `is a ${info.type.toLowerCase()}, not a file` }))
        const openedMtime = mtimeOf(info)
        const recordedMtime = options.mtimeMs ?? openedMtime
        const changed = (found: string) => new SourceChanged({ path: shownSource, length, mtimeMs: recordedMtime, found })
        if (Number(info.size) !== length || openedMtime !== recordedMtime) {
          return yield* Effect.fail(changed(`${Number(info.size)} bytes, modified at ${new Date(openedMtime).toISOString()}`))
        }

        // the target's folders are made only once the source is known good
        yield* ensureDirectory(path.dirname(target), changedDirs, path.dirname(shownTarget))
        const dst =
          startAt === 0
            ? yield* fs.open(partial, { flag: "w", mode: 0o644 }).pipe(Effect.mapError(writeFail))
            : yield* fs.open(partial, { flag: "r+" }).pipe(
                Effect.catchAll((e): Effect.Effect<never, PartialCopyLost | FileUnwritable> =>
                  isNotFound(e) ? Effect.fail(new PartialCopyLost({ path: shownPartial, durable: startAt })) : Effect.fail(writeFail(e)),
                ),
              )
        if (startAt > 0) {
          const have = Number((yield* dst.stat.pipe(Effect.mapError(writeFail))).size)
          if (have < startAt) return yield* Effect.fail(new PartialCopyLost({ path: shownPartial, durable: startAt, foundLength: have }))
        }
        yield* dst.truncate(startAt).pipe(Effect.mapError(writeFail))
        if (kind === "page" && length > startAt) yield* dst.truncate(length).pipe(Effect.mapError(writeFail))
        yield* dst.seek(startAt, "start")
        yield* src.seek(startAt, "start")

        const chunkCount = Math.ceil((length - startAt) / blockSize)
        const slots = options.slots ?? defaultSlots
        // a ring of the full size whatever the file's: reused from copy to copy, only touched pages cost memory
        const memory = yield* Effect.acquireRelease(
          Effect.sync(() => takeRing(slots * blockSize)),
          (ring, exit) => (Exit.isSuccess(exit) ? Effect.sync(() => giveRing(ring)) : Effect.void),
        )
        const free = yield* Queue.bounded<number>(slots)
        yield* Queue.offerAll(free, Array.from({ length: slots }, (_, i) => i))
        const ready = yield* Queue.bounded<Chunk>(slots)
        const users = new Uint8Array(slots)
        const release = (slot: number) => Effect.suspend(() => (--users[slot]! === 0 ? Queue.offer(free, slot) : Effect.void))
        const sourceWhole = yield* Deferred.make<void>()

        const reader = Effect.gen(function* () {
          for (let offset = startAt; offset < length; offset += blockSize) {
            const slot = yield* Queue.take(free)
            const n = Math.min(blockSize, length - offset)
            let got = 0
            while (got < n) {
              const r = Number(yield* src.read(new Uint8Array(memory, slot * blockSize + got, n - got)).pipe(Effect.mapError(readFail)))
              if (r === 0) return yield* Effect.fail(changed(`${offset + got} bytes: it ended early while it was being copied`))
              got += r
            }
            users[slot] = 2
            const hash = yield* Effect.forkScoped(
              pool
                .describe({ kind, memory, byteOffset: slot * blockSize, length: n, fileOffset: offset, firstIndex: offset / blockSize })
                .pipe(Effect.ensuring(release(slot))),
            )
            yield* Queue.offer(ready, { offset, length: n, slot, hash })
          }
          const extra = Number(yield* src.read(new Uint8Array(1)).pipe(Effect.mapError(readFail)))
          if (extra > 0) return yield* Effect.fail(changed(`more than ${length} bytes: it grew while it was being copied`))
          yield* Deferred.succeed(sourceWhole, undefined)
        })

        const writer = Effect.gen(function* () {
          let named = startAt > 0
          let pending: Array<Fiber.RuntimeFiber<HashResult>> = []
          let last = startAt
          const checkpoint = (durable: number) =>
            Effect.gen(function* () {
              const added: Array<DescriptorOf<K>> = []
              for (const f of pending) for (const d of (yield* Fiber.join(f)) as ReadonlyArray<DescriptorOf<K>>) added.push(d)
              pending = []
              const complete = durable === length
              if (complete) yield* Deferred.await(sourceWhole)
              yield* dst.sync.pipe(Effect.mapError(writeFail))
              if (!named) {
                // a partial file made by this call: its name (and the folders made for it) durable before a record claims its bytes
                for (const dir of [path.dirname(target), ...changedDirs]) yield* syncDirectory(dir, path.dirname(shownTarget))
                named = true
              }
              descriptors += added.length
              if (onDurable) yield* onDurable({ kind, durable, added, complete })
              last = durable
            })
          for (let i = 0; i < chunkCount; i++) {
            const c = yield* Queue.take(ready)
            const bytes = new Uint8Array(memory, c.slot * blockSize, c.length)
            if (kind === "block") {
              yield* dst.writeAll(bytes).pipe(Effect.mapError(writeFail))
              bytesWritten += c.length
            } else {
              const ranges = yield* Fiber.join(c.hash)
              if (ranges.length > 0) {
                yield* dst.seek(c.offset, "start")
                yield* dst.writeAll(bytes).pipe(Effect.mapError(writeFail))
                bytesWritten += c.length
              }
            }
            yield* release(c.slot)
            pending.push(c.hash)
            const reached = c.offset + c.length
            if (onProgress) onProgress(reached)
            if (reached - last >= checkpointBytes || reached === length) yield* checkpoint(reached)
          }
          if (chunkCount === 0) yield* checkpoint(length)
        })

        yield* Effect.all([reader, writer], { concurrency: 2, discard: true })
      }),
    )
    yield* fs.rename(partial, target).pipe(Effect.mapError(unwritable(shownTarget)))
    changedDirs.add(path.dirname(target))
    for (const dir of changedDirs) yield* syncDirectory(dir)
    return { target, length, bytesWritten, descriptors }
  })
