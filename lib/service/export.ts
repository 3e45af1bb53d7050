/**
 * `waie service export`: what the Import/Export service does for an export job, against any Blob
 * endpoint — select the blobs of an export blob list, place them on the drives, copy each with
 * its properties and metadata files, and write each drive's DriveManifest and copy logs.
 *
 * Order of work, so that bad input changes nothing:
 *   1. the job name and the blob list are checked (a malformed list: InvalidInput, nothing written);
 *   2. every drive is checked empty (waie's own files and file-system furniture aside) before any
 *      is opened; then each is opened as lib/drive.ts opens a PrepImport drive: locked for the
 *      run, identified (`waie-drive.json`, its DriveId the device serial when there is one);
 *   3. the blobs are selected (export-select.ts), placed first fit (export-plan.ts) and copied
 *      one after the other (export-copy.ts), each record spooled on its drive;
 *   4. per drive: the folders written into are fsynced, then `\DriveManifest.xml` is written
 *      from the spool (temp, fsync, rename), then the copy logs (verbose and error) in the log
 *      folder, uploaded to `waimportexport/waies/` (lib/service/copylog-output.ts).
 * If selection fails half way (the endpoint went away), the drives still get their manifests
 * and logs for what was copied, then the error ends the run.
 *
 * The result says what happened; `exportVerdict` turns it into the typed error that sets the
 * exit code: blobs that found no room (ExportDrivesFull, 5; a blob list of them is written to
 * the log folder) or blobs that failed (ExportBlobsFailed, 6). Blobs too big for any drive are
 * reported and are not an error (the service cannot export them either).
 */
import { FileSystem } from "@effect/platform"
import { Clock, Effect, Either, Stream } from "effect"
import * as path from "node:path"
import { readBlobListFile, writeBlobListFile } from "../bloblist.ts"
import type { DriveStatus } from "../copylog-model.ts"
import { type Drive, foreignEntries, manifestFileName, openDrive, Prompt, realPathLenient } from "../drive.ts"
import { InvalidArgument, PromptUnavailable } from "../errors.ts"
import { writeManifest } from "../manifest-writer.ts"
import { blobPathOf } from "../storage.ts"
import { copyLogTimestamp, type CopyLogFiles, publishCopyLogs } from "./copylog-output.ts"
import { type BlobOutcome, copyBlob, tempPathIn } from "./export-copy.ts"
import { ExportBlobsFailed, ExportDriveNotEmpty, ExportDrivesFull } from "./export-errors.ts"
import { ExportPathAllocator } from "./export-paths.ts"
import { ExportPacker, placeBlobs } from "./export-plan.ts"
import { copyLogEvents, encodeOutcome, manifestEvents, readSpool } from "./export-records.ts"
import { selectBlobs, type SelectionCounts } from "./export-select.ts"

/** A path as given (for messages) and resolved. */
export interface Given {
  readonly real: string
  readonly shown: string
}

export interface ExportRequest {
  readonly blobList: Given
  readonly drives: ReadonlyArray<Given>
  readonly job: string
  readonly logDir: Given
  /** 4 MiB reads in flight per blob (default 4) */
  readonly readAhead?: number
}

/** The identity every export drive is opened under: any export may reuse an empty drive an earlier one identified; an import drive is refused. */
export const exportJournalId = "waie-service-export"

export const defaultJob = "waie-export"
const jobShape = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/

export interface NotExported {
  readonly blobPath: string
  readonly length: number
  readonly reason: "too-big" | "no-room"
  readonly detail: string
}

export interface DriveReport {
  /** as given */
  readonly drive: string
  readonly root: string
  readonly driveId: string
  readonly freeBytes: number
  /** blobs placed on the drive, and their bytes */
  readonly blobs: number
  readonly bytes: number
  /** what placement reserved for them */
  readonly footprint: number
  /** of those, the blobs that did not export */
  readonly failed: number
  readonly status: DriveStatus
  readonly manifest: { readonly file: string; readonly hash: string; readonly bytes: number }
  readonly logs: CopyLogFiles
}

export interface ExportReport {
  readonly job: string
  readonly counts: SelectionCounts
  readonly drives: ReadonlyArray<DriveReport>
  readonly tooBig: { readonly blobs: number; readonly bytes: number; readonly first: ReadonlyArray<NotExported> }
  readonly noRoom: { readonly blobs: number; readonly bytes: number; readonly first: ReadonlyArray<NotExported>; readonly blobList?: string }
  readonly failed: { readonly blobs: number; readonly first: ReadonlyArray<{ readonly blobPath: string; readonly status: string; readonly problem?: string }> }
}

/** What the caller hears as the run goes (JSON lines, progress). */
export interface ExportListener {
  readonly selected?: (counts: SelectionCounts) => void
  readonly blob?: (drive: DriveReport["drive"], driveId: string, outcome: BlobOutcome) => void
  readonly notExported?: (b: NotExported) => void
}

/** Blobs named in a report's lists (the counts are exact; the lists keep the first ones). */
const listed = 100

interface DriveRun {
  readonly given: Given
  readonly drive: Drive
  readonly freeBytes: number
  readonly allocator: ExportPathAllocator
  readonly folders: Set<string>
  readonly spool: string
  readonly file: FileSystem.File
  blobs: number
  bytes: number
  failed: number
}

const noPrompt = { confirm: (question: string) => Effect.fail(new PromptUnavailable({ question, reason: "an export never formats a drive" })) }

const fsyncFolders = (fs: FileSystem.FileSystem, folders: Set<string>) =>
  Effect.forEach(
    [...folders].sort((a, b) => b.length - a.length),
    (d) => Effect.scoped(Effect.flatMap(fs.open(d, { flag: "r" }), (h) => h.sync)).pipe(Effect.ignore),
    { discard: true },
  )

export const runExport = (req: ExportRequest, listener: ExportListener = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      if (!jobShape.test(req.job)) {
        return yield* Effect.fail(new InvalidArgument({ argument: "--job", expected: "a job name of 1 to 64 letters, digits and hyphens, starting with a letter or digit (it names the copy logs)", found: JSON.stringify(req.job) }))
      }
      if (req.drives.length === 0) return yield* Effect.fail(new InvalidArgument({ argument: "--drive", expected: "at least one drive folder", found: "none" }))

      // 1. the blob list, whole (entries are few next to the blobs they select)
      const items = Array.from(yield* Stream.runCollect(readBlobListFile(req.blobList.real, req.blobList.shown)))

      // 2. the drives: distinct, all empty, then opened
      const reals = new Map<string, string>()
      for (const d of req.drives) {
        const real = yield* realPathLenient(d.real)
        const before = reals.get(real)
        if (before !== undefined) return yield* Effect.fail(new InvalidArgument({ argument: "--drive", expected: "each drive once", found: `${JSON.stringify(d.shown)}, the same folder as ${JSON.stringify(before)}` }))
        reals.set(real, d.shown)
        const names = yield* fs.readDirectory(d.real).pipe(Effect.orElseSucceed(() => [] as Array<string>))
        const foreign = foreignEntries(names)
        if (foreign.length > 0) return yield* Effect.fail(new ExportDriveNotEmpty({ drive: d.shown, root: path.resolve(d.real), names: foreign.slice(0, 5), count: foreign.length }))
      }
      const runs: Array<DriveRun> = []
      for (const d of req.drives) {
        const drive = yield* openDrive({
          root: d.real,
          drive: d.shown,
          journalId: exportJournalId,
          journalPath: req.blobList.real,
          protectedPaths: [{ kind: "log folder", path: req.logDir.real }],
          use: { kind: "add", format: false, silent: true, confirmAnswer: d.shown },
        }).pipe(Effect.provideService(Prompt, noPrompt))
        const freeBytes = yield* drive.freeBytes()
        const spool = tempPathIn(drive.root)
        const file = yield* Effect.acquireRelease(fs.open(spool, { flag: "w", mode: 0o600 }), () => fs.remove(spool).pipe(Effect.ignore))
        runs.push({ given: d, drive, freeBytes, allocator: new ExportPathAllocator(), folders: new Set(), spool, file, blobs: 0, bytes: 0, failed: 0 })
      }
      yield* fs.makeDirectory(req.logDir.real, { recursive: true })

      // 3. select, place, copy
      const packer = new ExportPacker(runs.map((r) => ({ id: r.drive.driveId, freeBytes: r.freeBytes })))
      const selection = yield* selectBlobs(items)
      const tooBig = { blobs: 0, bytes: 0, first: [] as Array<NotExported> }
      const noRoom = { blobs: 0, bytes: 0, first: [] as Array<NotExported>, paths: [] as Array<string> }
      const failed = { blobs: 0, first: [] as Array<{ blobPath: string; status: string; problem?: string }> }
      const copied = yield* placeBlobs(selection.blobs, packer).pipe(
        Stream.runForEach(({ item, placement }) =>
          Effect.gen(function* () {
            const blobPath = blobPathOf(item.blob)
            if (placement.kind !== "placed") {
              const n: NotExported = { blobPath, length: item.blob.length, reason: placement.kind, detail: placement.kind === "too-big" ? placement.reason : "the drives are full" }
              const list = placement.kind === "too-big" ? tooBig : noRoom
              list.blobs++
              list.bytes += item.blob.length
              if (list.first.length < listed) list.first.push(n)
              if (placement.kind === "no-room") noRoom.paths.push(blobPath)
              listener.notExported?.(n)
              return
            }
            const run = runs[placement.drive]!
            const paths = run.allocator.allocate(blobPath, item.metadataBytes !== undefined)
            const outcome = yield* copyBlob(item, { root: run.drive.root, paths, folders: run.folders, ...(req.readAhead !== undefined ? { readAhead: req.readAhead } : {}) })
            yield* run.file.writeAll(new TextEncoder().encode(encodeOutcome(outcome)))
            run.blobs++
            run.bytes += item.blob.length
            if (outcome.status !== "Completed") {
              run.failed++
              failed.blobs++
              if (failed.first.length < listed) failed.first.push({ blobPath, status: outcome.status, ...(outcome.problem !== undefined ? { problem: outcome.problem } : {}) })
            }
            listener.blob?.(run.given.shown, run.drive.driveId, outcome)
          }),
        ),
        Effect.either,
      )
      const counts = yield* selection.counts
      listener.selected?.(counts)

      // 4. each drive's manifest and copy logs
      const usage = packer.usage()
      const drives: Array<DriveReport> = []
      for (const [i, run] of runs.entries()) {
        yield* fsyncFolders(fs, run.folders)
        const manifestPath = path.join(run.drive.root, manifestFileName)
        const manifest = yield* writeManifest(manifestPath, manifestEvents(run.drive.driveId, readSpool(run.spool)))
        const time = new Date(yield* Clock.currentTimeMillis)
        const logs = yield* publishCopyLogs({ job: req.job, driveId: run.drive.driveId, time, logDir: req.logDir.real }, copyLogEvents(run.drive.driveId, readSpool(run.spool)))
        drives.push({
          drive: run.given.shown,
          root: run.drive.root,
          driveId: run.drive.driveId,
          freeBytes: run.freeBytes,
          blobs: run.blobs,
          bytes: run.bytes,
          footprint: usage[i]?.footprint ?? 0,
          failed: run.failed,
          status: run.failed > 0 ? "CompletedWithErrors" : "Completed",
          manifest: { file: manifestPath, ...manifest },
          logs,
        })
      }
      if (Either.isLeft(copied)) return yield* Effect.fail(copied.left)

      let blobList: string | undefined
      if (noRoom.paths.length > 0) {
        const time = new Date(yield* Clock.currentTimeMillis)
        blobList = path.join(req.logDir.real, `${req.job}_${copyLogTimestamp(time)}_not-exported.xml`)
        yield* writeBlobListFile(blobList, Stream.fromIterable(noRoom.paths.map((p) => ({ kind: "path" as const, path: p }))))
      }
      const report: ExportReport = {
        job: req.job,
        counts,
        drives,
        tooBig,
        noRoom: { blobs: noRoom.blobs, bytes: noRoom.bytes, first: noRoom.first, ...(blobList !== undefined ? { blobList } : {}) },
        failed,
      }
      return report
    }),
  )

/** The typed error a report ends in, or undefined when everything selected was exported (or could never be). */
export const exportVerdict = (r: ExportReport): ExportDrivesFull | ExportBlobsFailed | undefined => {
  if (r.noRoom.blobs > 0) return new ExportDrivesFull({ blobs: r.noRoom.blobs, bytes: r.noRoom.bytes, first: r.noRoom.first.slice(0, 5).map((n) => n.blobPath), ...(r.noRoom.blobList !== undefined ? { blobList: r.noRoom.blobList } : {}) })
  if (r.failed.blobs > 0) return new ExportBlobsFailed({ blobs: r.failed.blobs, first: r.failed.first.slice(0, 5), logs: r.drives.filter((d) => d.failed > 0).map((d) => d.logs.error.file) })
  return undefined
}
