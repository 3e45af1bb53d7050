/**
 * Copying one blob onto an export drive, as the datacenter does: its data file, its properties
 * file and (when it has metadata) its metadata file, each written under a temporary name in the
 * drive root (`.waie-export-…`, waie's own), fsynced, and renamed into place only when complete.
 *
 * Data is read in 4 MiB ranges with the etag the selection saw as condition, a few ranges in
 * flight (`readAhead`), written in order, and hashed per 4 MiB block (block and append blobs) or
 * per page range (page blobs: only the ranges the service lists as written, cut at every 4 MiB
 * boundary, written into a sparse file of the blob's length). Any change to the blob after it
 * was selected fails a conditional read (412) — or, for a page blob whose reads are all done,
 * the etag check at the end — and the blob is `BlobUnexpectedChange`: its file is not kept.
 *
 * Nothing here fails: every problem becomes the statuses of the blob's copy-log entry, so one
 * bad blob never stops the others (formats.md §1.3, §1.4):
 * - a blob-level failure (the blob changed or vanished → BlobUnexpectedChange; 403 →
 *   BlobRequestForbidden; any other request failure → BlobRequestFailed; the drive refused a
 *   write → IOFailed): the failing range carries the range status, the others `Cancelled`, and
 *   metadata and properties are `Cancelled`;
 * - a side file that cannot be written (XmlWriteFailed: a value the format cannot carry;
 *   IOFailed): the blob is `CompletedWithErrors`, its data stays on the drive and in the manifest.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option, Stream } from "effect"
import * as path from "node:path"
import { blockSize } from "../blocks.ts"
import type { BlobStatus, MetadataStatus, RangeStatus } from "../copylog-model.ts"
import { localPathOf } from "../drive-paths.ts"
import { md5Hex } from "../hash.ts"
import { type BlobInfo, BlobStore, blobPathOf, isForbidden, isNotFound, type StorageError } from "../storage.ts"
import type { ExportItem } from "./export-plan.ts"
import { splitPageRanges } from "./export-plan.ts"
import type { ExportFilePaths } from "./export-paths.ts"
import { metadataText, propertiesText, type SideText } from "./export-sidefiles.ts"

/** A block or page range as the copy log and the manifest list it. Block ids follow from the index (lib/blocks.ts `blockId`). */
export interface CopiedRange {
  readonly offset: number
  readonly length: number
  /** Base16 MD5 of the bytes written; absent when they were not */
  readonly hash?: string
  readonly status: RangeStatus
}

export interface SideOutcome {
  readonly status: MetadataStatus
  /** FilePath of the file */
  readonly path: string
  /** Base16 MD5 of the file, when written */
  readonly hash?: string
}

/** What became of one blob: a copy-log entry, and a manifest entry when `onDrive`. */
export interface BlobOutcome {
  readonly blobPath: string
  readonly filePath: string
  readonly length: number
  readonly lastModified: string
  readonly list: "block" | "page"
  readonly status: BlobStatus
  /** the data file is on the drive under `filePath` */
  readonly onDrive: boolean
  readonly ranges: ReadonlyArray<CopiedRange>
  readonly properties: SideOutcome
  readonly metadata?: SideOutcome
  /** what went wrong, in words (copy logs have codes only) */
  readonly problem?: string
}

/** How many 4 MiB reads one blob has in flight. */
export const defaultReadAhead = 4

export interface CopyTarget {
  /** the drive's root folder */
  readonly root: string
  readonly paths: ExportFilePaths
  /** every folder a rename went into, so they can be fsynced before the manifest names the files */
  readonly folders: Set<string>
  readonly readAhead?: number
}

let tempCounter = 0
/** A temporary file in the drive root: `.waie-…` is waie's own there, and no blob can clash with it. */
export const tempPathIn = (root: string): string => path.join(root, `.waie-export-${process.pid}-${++tempCounter}.tmp`)

/** Why a blob's data did not make it, and the range it failed at. */
class DataFailure {
  constructor(
    readonly status: BlobStatus,
    readonly rangeStatus: RangeStatus,
    readonly problem: string,
  ) {}
}

const fromStorage = (e: StorageError): DataFailure =>
  e.status === 412 || isNotFound(e)
    ? new DataFailure("BlobUnexpectedChange", "BlobRequestFailed", `the blob changed or was deleted after it was selected (${e.message})`)
    : isForbidden(e)
      ? new DataFailure("BlobRequestForbidden", "BlobRequestFailed", e.message)
      : new DataFailure("BlobRequestFailed", "BlobRequestFailed", e.message)

const fromDisk = (what: string) => (e: PlatformError): DataFailure => new DataFailure("IOFailed", "IOFailed", `${what}: ${e.message}`)

/** Make `dir` (and its parents) and remember every folder on the way up to the root as touched. */
const makeFolders = (fs: FileSystem.FileSystem, root: string, dir: string, folders: Set<string>) =>
  Effect.gen(function* () {
    yield* fs.makeDirectory(dir, { recursive: true })
    for (let d = dir; d.length >= root.length; d = path.dirname(d)) {
      if (folders.has(d)) break
      folders.add(d)
      if (d === root || path.dirname(d) === d) break
    }
  })

/** Put a finished temp file under its final name. */
const settle = (fs: FileSystem.FileSystem, target: CopyTarget, temp: string, filePath: string) =>
  Effect.gen(function* () {
    const final = localPathOf(target.root, filePath)
    yield* makeFolders(fs, target.root, path.dirname(final), target.folders)
    yield* fs.rename(temp, final)
  })

/** A whole small file (properties, metadata): temp, fsync, rename. */
const writeSide = (fs: FileSystem.FileSystem, target: CopyTarget, filePath: string, text: SideText): Effect.Effect<SideOutcome> => {
  if (!text.ok) return Effect.succeed({ status: "XmlWriteFailed", path: filePath })
  const temp = tempPathIn(target.root)
  return Effect.scoped(
    Effect.gen(function* () {
      const f = yield* fs.open(temp, { flag: "w", mode: 0o644 })
      yield* f.writeAll(text.bytes)
      yield* f.sync
    }),
  ).pipe(
    Effect.zipRight(settle(fs, target, temp, filePath)),
    Effect.as<SideOutcome>({ status: "Completed", path: filePath, hash: md5Hex(text.bytes) }),
    Effect.catchAll(() => fs.remove(temp).pipe(Effect.ignore, Effect.as<SideOutcome>({ status: "IOFailed", path: filePath }))),
  )
}

interface Piece {
  readonly offset: number
  readonly length: number
}

/** The 4 MiB blocks of a block (or append) blob. */
export const blocksOf = (length: number): Array<Piece> => {
  const out: Array<Piece> = []
  for (let at = 0; at < length; at += blockSize) out.push({ offset: at, length: Math.min(blockSize, length - at) })
  return out
}

/**
 * Read `pieces` (ordered, conditional on the etag), write each at its offset into `file`, hash
 * it. Returns the ranges done, or the failure with the ranges done before it.
 */
const copyPieces = (
  blob: BlobInfo,
  pieces: Stream.Stream<Piece, StorageError>,
  file: FileSystem.File,
  sparse: boolean,
  readAhead: number,
  done: Array<CopiedRange>,
): Effect.Effect<void, DataFailure, BlobStore> =>
  Effect.gen(function* () {
    const store = yield* BlobStore
    const ref = { container: blob.container, name: blob.name }
    yield* pieces.pipe(
      Stream.mapError(fromStorage),
      Stream.mapEffect((p) => store.read(ref, p.offset, p.length, blob.etag).pipe(Effect.mapError(fromStorage), Effect.map((data) => ({ p, data }))), { concurrency: readAhead }),
      Stream.runForEach(({ p, data }) =>
        Effect.gen(function* () {
          if (data.length !== p.length) {
            done.push({ offset: p.offset, length: p.length, status: "BlobUnexpectedEnd" })
            return yield* Effect.fail(new DataFailure("BlobUnexpectedChange", "BlobUnexpectedEnd", `the blob ended early: ${data.length} bytes at offset ${p.offset} where ${p.length} were expected`))
          }
          if (sparse) yield* file.seek(p.offset, "start")
          yield* file.writeAll(data).pipe(Effect.mapError(fromDisk("writing the data file")))
          done.push({ offset: p.offset, length: p.length, hash: md5Hex(data), status: "Completed" })
        }),
      ),
    )
  })

/** Copy one placed blob onto its drive. Never fails: see the top of this file. */
export const copyBlob = (item: ExportItem, target: CopyTarget): Effect.Effect<BlobOutcome, never, BlobStore | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const store = yield* BlobStore
    const blob = item.blob
    const page = blob.kind === "PageBlob"
    const readAhead = target.readAhead ?? defaultReadAhead
    const { paths } = target
    const head = { blobPath: blobPathOf(blob), filePath: paths.file, length: blob.length, lastModified: blob.lastModified, list: page ? ("page" as const) : ("block" as const) }
    const done: Array<CopiedRange> = []
    const temp = tempPathIn(target.root)
    const ref = { container: blob.container, name: blob.name }

    const data: Effect.Effect<void, DataFailure, BlobStore> = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(temp, { flag: "w", mode: 0o644 }).pipe(Effect.mapError(fromDisk("creating the data file")))
        if (page) {
          // a sparse file of the blob's length: the pages not listed read as zeros, as they are in the blob
          yield* file.truncate(blob.length).pipe(Effect.mapError(fromDisk("sizing the data file")))
          yield* copyPieces(blob, splitPageRanges(store.getPageRanges(ref)), file, true, readAhead, done)
          // the range listing is not conditional: a blob changed after its last read (or with no reads at all) shows here
          const now = yield* store.getBlob(ref).pipe(Effect.mapError(fromStorage))
          if (now === undefined || now.etag !== blob.etag) return yield* Effect.fail(new DataFailure("BlobUnexpectedChange", "Failed", "the blob changed or was deleted while it was copied"))
        } else {
          yield* copyPieces(blob, Stream.fromIterable(blocksOf(blob.length)), file, false, readAhead, done)
        }
        yield* file.sync.pipe(Effect.mapError(fromDisk("syncing the data file")))
      }),
    )
    const failure = yield* data.pipe(
      Effect.zipRight(settle(fs, target, temp, paths.file).pipe(Effect.mapError((e) => new DataFailure("RenameFailed", "Completed", `renaming the data file into place: ${e.message}`)))),
      Effect.flip,
      Effect.option,
    )
    if (Option.isSome(failure)) {
      yield* fs.remove(temp).pipe(Effect.ignore)
      const f = failure.value
      const cancelled = (p: Piece): CopiedRange => ({ offset: p.offset, length: p.length, status: "Cancelled" })
      // a failed blob's file is not kept: what was copied counts for nothing
      const ranges = page ? done.map((r) => (r.status === "Completed" ? cancelled(r) : r)) : markFailedBlock(blocksOf(blob.length), done, f.rangeStatus)
      return {
        ...head,
        status: f.status,
        onDrive: false,
        ranges,
        properties: { status: "Cancelled", path: paths.properties },
        ...(paths.metadata !== undefined ? { metadata: { status: "Cancelled" as const, path: paths.metadata } } : {}),
        problem: f.problem,
      }
    }
    const properties = yield* writeSide(fs, target, paths.properties, propertiesText(blob))
    const m = metadataText(blob)
    const metadata = m !== undefined && paths.metadata !== undefined ? yield* writeSide(fs, target, paths.metadata, m) : undefined
    const sidesOk = properties.status === "Completed" && (metadata === undefined || metadata.status === "Completed")
    return {
      ...head,
      status: sidesOk ? "Completed" : "CompletedWithErrors",
      onDrive: true,
      ranges: done,
      properties,
      ...(metadata !== undefined ? { metadata } : {}),
      ...(sidesOk ? {} : { problem: [properties, metadata].filter((s) => s !== undefined && s.status !== "Completed").map((s) => `${s!.path}: ${s!.status}`).join("; ") }),
    }
  })

/** Every planned block of a failed block blob: the one it failed at with its status, the others Cancelled. */
const markFailedBlock = (blocks: ReadonlyArray<Piece>, done: ReadonlyArray<CopiedRange>, rangeStatus: RangeStatus): Array<CopiedRange> => {
  const failedAt = done.find((r) => r.status !== "Completed")?.offset ?? (done.length < blocks.length ? blocks[done.length]!.offset : undefined)
  return blocks.map((b) => ({ offset: b.offset, length: b.length, status: b.offset === failedAt && rangeStatus !== "Completed" ? rangeStatus : "Cancelled" }))
}
