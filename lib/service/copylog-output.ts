/**
 * Where the datacenter executors (import and export) put a drive's copy logs, and how: the
 * verbose log (every blob) and the error log derived from it (only what failed), written as
 * local files in the log folder and uploaded as block blobs of the job's log location.
 *
 * Names (formats.md §1.1): `<job>_<driveid>_<yyyyMMdd-HHmmss-fff>_<error|verbose>.xml`, the time
 * in UTC, as blobs `waimportexport/waies/<name>` (account key) — the local files carry the same
 * names, so a file and its blob are matched at a glance.
 *
 * The error log (§1.1, §1.5) keeps, of each blob that failed, its header and only the ranges,
 * metadata and properties entries that are not `Completed` (`Committed` and `Uncommitted` blocks
 * included: the blob's block list must be committed again, which needs them); blobs that did not
 * fail are left out. "Failed" is read from the blob's own status: the executors set a blob `Completed` only
 * when every range, its metadata and its properties are `Completed`, so the filter can decide at
 * the blob's first event and stream (a `Completed` blob with a failed part is a bug in the
 * executor, and dies with a message saying so). A blob whose only news is its disposition
 * (`Renamed`, `Skipped`: warnings, not failures) is in the verbose log only; the drive's status
 * (`CompletedWithWarnings`) is in both.
 *
 * The error log is derived by reading the verbose file back (streaming, through the copy-log
 * reader): memory stays bounded by one blob's header, and every log waie publishes has passed its
 * own reader.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Stream } from "effect"
import * as path from "node:path"
import { type CopyLogEvent, isCompleted, readCopyLogFile, writeCopyLogFile } from "../copylog.ts"
import type { FileUnreadable, FileUnwritable } from "../errors.ts"
import { fileBytes } from "../files.ts"
import { BlobStore, type BlobRef, type StorageError } from "../storage.ts"

export type CopyLogKind = "error" | "verbose"

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** `yyyyMMdd-HHmmss-fff` in UTC: `20130921-034307-902`. */
export const copyLogTimestamp = (time: Date): string =>
  `${pad(time.getUTCFullYear(), 4)}${pad(time.getUTCMonth() + 1, 2)}${pad(time.getUTCDate(), 2)}-` +
  `${pad(time.getUTCHours(), 2)}${pad(time.getUTCMinutes(), 2)}${pad(time.getUTCSeconds(), 2)}-${pad(time.getUTCMilliseconds(), 3)}`

/** `myjob_9WM35C2V_20130921-034307-902_error.xml`: the name of the blob (under `waies/`) and of the local file. */
export const copyLogName = (job: string, driveId: string, time: Date, kind: CopyLogKind): string => `${job}_${driveId}_${copyLogTimestamp(time)}_${kind}.xml`

/** Where the logs go in storage: a container and a virtual folder in it. */
export interface CopyLogLocation {
  readonly container: string
  /** ends with `/` */
  readonly prefix: string
}

/** The service's default with an account key: container `waimportexport`, folder `waies/`. */
export const defaultCopyLogLocation: CopyLogLocation = { container: "waimportexport", prefix: "waies/" }

export const copyLogBlob = (name: string, location: CopyLogLocation = defaultCopyLogLocation): BlobRef => ({ container: location.container, name: `${location.prefix}${name}` })

// ---------------------------------------------------------------- the error log

/** The executor broke the rule the filter relies on: a `Completed` blob with a part that is not. */
export class CopyLogInconsistent extends Error {}

/** Verbose events in, error-log events out, one event at a time. */
export class ErrorLogFilter {
  /** inside a blob: "keep" (it failed), "drop" (it did not), or outside any blob */
  private blob: { readonly keep: boolean; readonly path: string } | undefined

  push(e: CopyLogEvent): ReadonlyArray<CopyLogEvent> {
    switch (e._tag) {
      case "BlobStart":
        this.blob = { keep: !isCompleted(e.status), path: e.blobPath }
        return this.blob.keep ? [e] : []
      case "Block":
      case "PageRange":
        if (isCompleted(e.status)) return []
        if (this.blob?.keep) return [e]
        throw new CopyLogInconsistent(`${this.blob?.path}: the blob is Completed but its ${e._tag} at offset ${e.offset} is ${e.status}`)
      case "BlobEnd": {
        const blob = this.blob
        this.blob = undefined
        const metadata = e.metadata && !isCompleted(e.metadata.status) ? e.metadata : undefined
        const properties = e.properties && !isCompleted(e.properties.status) ? e.properties : undefined
        if (!blob?.keep) {
          if (metadata || properties) throw new CopyLogInconsistent(`${blob?.path}: the blob is Completed but its ${metadata ? "metadata" : "properties"} is ${(metadata ?? properties)!.status}`)
          return []
        }
        return [{ _tag: "BlobEnd", ...(metadata ? { metadata } : {}), ...(properties ? { properties } : {}) }]
      }
      default:
        return [e]
    }
  }
}

/** The error log of a verbose log, as a stream. */
export const errorLogEvents = <E, R>(verbose: Stream.Stream<CopyLogEvent, E, R>): Stream.Stream<CopyLogEvent, E, R> =>
  Stream.suspend(() => {
    const f = new ErrorLogFilter()
    return verbose.pipe(Stream.mapConcat((e) => f.push(e)))
  })

// ---------------------------------------------------------------- files and blobs

export interface CopyLogFile {
  readonly kind: CopyLogKind
  readonly name: string
  /** the local file */
  readonly file: string
  /** `container/blob` in storage */
  readonly blobPath: string
}

export interface CopyLogFiles {
  readonly verbose: CopyLogFile
  readonly error: CopyLogFile
}

export interface CopyLogTarget {
  readonly job: string
  readonly driveId: string
  /** the time in the names (the executor's finishing time) */
  readonly time: Date
  /** the local folder of the files */
  readonly logDir: string
  readonly location?: CopyLogLocation
}

/** The names, files and blobs of a drive's two logs. */
export const copyLogFiles = (t: CopyLogTarget): CopyLogFiles => {
  const one = (kind: CopyLogKind): CopyLogFile => {
    const name = copyLogName(t.job, t.driveId, t.time, kind)
    const ref = copyLogBlob(name, t.location)
    return { kind, name, file: path.join(t.logDir, name), blobPath: `${ref.container}/${ref.name}` }
  }
  return { verbose: one("verbose"), error: one("error") }
}

/**
 * Write both logs as local files (each atomically: temp, fsync, rename): the verbose log from
 * `events`, then the error log read back from it. A reader failure on the file just written is a
 * bug of the executor (it dies, naming the file).
 */
export const writeCopyLogs = <E, R>(
  t: CopyLogTarget,
  events: Stream.Stream<CopyLogEvent, E, R>,
): Effect.Effect<CopyLogFiles, E | FileUnwritable | FileUnreadable, R | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const files = copyLogFiles(t)
    yield* writeCopyLogFile(files.verbose.file, events)
    const readBack = readCopyLogFile(files.verbose.file).pipe(
      Stream.catchTag("InvalidInput", (e) => Stream.die(new CopyLogInconsistent(`the verbose log waie wrote does not read back: ${e.message}`))),
    )
    yield* writeCopyLogFile(files.error.file, errorLogEvents(readBack))
    return files
  })

/** Upload both local files as block blobs (the log container is created when missing). */
export const uploadCopyLogs = (files: CopyLogFiles, location: CopyLogLocation = defaultCopyLogLocation): Effect.Effect<void, StorageError | FileUnreadable, BlobStore | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const store = yield* BlobStore
    yield* store.ensureContainer(location.container)
    for (const f of [files.verbose, files.error]) {
      yield* store.upload(copyLogBlob(f.name, location), fileBytes(f.file), { properties: { contentType: "application/xml" } })
    }
  })

/** Write both logs locally, then upload both. */
export const publishCopyLogs = <E, R>(
  t: CopyLogTarget,
  events: Stream.Stream<CopyLogEvent, E, R>,
): Effect.Effect<CopyLogFiles, E | FileUnwritable | FileUnreadable | StorageError, R | FileSystem.FileSystem | BlobStore> =>
  Effect.gen(function* () {
    const files = yield* writeCopyLogs(t, events)
    yield* uploadCopyLogs(files, t.location ?? defaultCopyLogLocation)
    return files
  })
