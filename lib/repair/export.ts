/**
 * RepairExport (formats.md §3.4): puts right the files of an export drive from the storage
 * account, as the copy log (and, with `/ManifestFile:`, the drive's manifest) says they should be.
 *
 * Before anything changes: the copy log is read whole (every rule of the format; an import log,
 * or a drive the service refused as a whole, is refused), the drive folder is checked to be that
 * log's drive (its `waie-drive.json` or device serial against the log's DriveId), the manifest
 * (when given) is checked (the export rules of `waie manifest check`) and must be of the same
 * drive, the repair file must be this log's (and this manifest's), and one request to storage
 * must succeed (so a wrong key or an unreachable endpoint changes nothing).
 *
 * Pass over the copy log, the blobs with anything not `Completed`, in order:
 *   - whole-file failures — a blob status other than Completed/CompletedWithErrors (the export
 *     dropped the file), a file that is missing or not the blob's length, or a blob that changed
 *     since the export (its length, or its Last-Modified against the log's LastModified) — are
 *     downloaded whole, with the side files the log names, as `service export` writes them
 *     (lib/service/export-copy.ts: temp file in the drive root, fsync, rename into place);
 *   - otherwise each failed block or page range is downloaded (conditional on the blob's ETag)
 *     and written in place at its offset; every few ranges the file is fsynced and then the
 *     offsets recorded in the repair file; failed properties and metadata files are written
 *     again from the blob (temp, fsync, rename).
 * Then, with a manifest, a sweep of every blob it lists (numbered after the log's blobs): every
 * block and page range of the file hashed against the manifest and re-downloaded where it
 * differs (a downloaded range that still differs means the blob changed since the export: it is
 * downloaded whole), every metadata and properties file hashed and written again where it
 * differs, a missing or wrong-sized file downloaded whole. Blobs found intact are recorded too,
 * so a long sweep resumes where it stopped.
 *
 * A blob that is no longer in storage, or changes while it is repaired, is left unresolved; the
 * next run tries it again.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import { blockSize } from "../blocks.ts"
import type { BlobRecord, Range } from "../copylog.ts"
import { localPathOf } from "../drive-paths.ts"
import { FileUnreadable, FileUnwritable, InvalidInput } from "../errors.ts"
import { fileBytes, unreadable, unwritable } from "../files.ts"
import { md5Hex } from "../hash.ts"
import { checkManifest } from "../manifest-check.ts"
import { writeFileDurably } from "../durable.ts"
import { type BlobInfo, type BlobRef, BlobStore, blobRefOf, isNotFound, type StorageError } from "../storage.ts"
import { driveIdentity } from "../service/drive-check.ts"
import { copyBlob } from "../service/export-copy.ts"
import { exportItemOf } from "../service/export-plan.ts"
import { type BlobJob, manifestBlobs } from "../service/manifest-blobs.ts"
import { metadataText, propertiesText, type SideText } from "../service/export-sidefiles.ts"
import { CopyLogOfAnotherDrive, type CopyLogRefused, type RepairFileMismatch } from "./errors.ts"
import {
  type BlobProgress,
  type BlobResult,
  type CopyLogScan,
  failedBlobs,
  type Given,
  type IndexedBlob,
  loadRepairFile,
  type PassOutcome,
  type RecordParts,
  refuseKind,
  type RepairIdentity,
  runPass,
  scanCopyLog,
} from "./session.ts"

export interface RepairExportRequest {
  readonly repairFile: Given
  /** the drive's root folder (or a copy of it) */
  readonly drive: Given
  readonly copyLog: Given
  readonly manifest?: Given
  /** ranges downloaded at once (default 4) */
  readonly rangesInFlight?: number
  /** ranges written between an fsync and a PartsRepaired record (default 8: 32 MiB) */
  readonly group?: number
}

export interface RepairExportListener {
  readonly blob?: (r: { readonly index: number; readonly blobPath: string; readonly filePath: string; readonly result: BlobResult; readonly sweep: boolean }) => void
}

export interface RepairExportReport extends PassOutcome {
  readonly repairFile: string
  readonly driveId: string
  readonly scan: CopyLogScan
  /** blobs of this run whose files were written (parts > 0) and those found intact by the sweep */
  readonly rewritten: number
  readonly intact: number
  readonly notes: ReadonlyArray<string>
}

type Work = { readonly index: number; readonly kind: "log"; readonly record: BlobRecord } | { readonly index: number; readonly kind: "sweep"; readonly job: BlobJob }

type RepairError = StorageError | FileUnreadable | FileUnwritable | InvalidInput

const failureStatuses = new Set(["Completed", "CompletedWithErrors"])

/** A blob's side file that a failed write left out, or one the log names. */
const sidePath = (entry: BlobRecord["properties"]): string | undefined => entry?.path?.path

const fileIntact = (fs: FileSystem.FileSystem, file: string, length: number): Effect.Effect<boolean> =>
  fs.stat(file).pipe(
    Effect.map((s) => s.type === "File" && Number(s.size) === length),
    Effect.orElseSucceed(() => false),
  )

const fsyncFolders = (fs: FileSystem.FileSystem, folders: Set<string>): Effect.Effect<void, FileUnwritable> =>
  Effect.forEach(
    [...folders].sort((a, b) => b.length - a.length),
    (d) => Effect.scoped(Effect.flatMap(fs.open(d, { flag: "r" }), (h) => h.sync)).pipe(Effect.mapError(unwritable(d))),
    { discard: true },
  )

/** One side file written again from the blob as it is now. */
const writeSide = (root: string, filePath: string, text: SideText): Effect.Effect<{ readonly ok: true; readonly hash: string } | { readonly ok: false; readonly problem: string }, FileUnwritable, FileSystem.FileSystem> =>
  text.ok ? Effect.as(writeFileDurably(localPathOf(root, filePath), text.bytes, 0o644), { ok: true as const, hash: md5Hex(text.bytes) }) : Effect.succeed({ ok: false as const, problem: text.problem })

export const runRepairExport = (req: RepairExportRequest, listener: RepairExportListener = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const store = yield* BlobStore
      const notes: Array<string> = []
      const root = req.drive.real
      const inFlight = req.rangesInFlight ?? 4
      const group = req.group ?? 8

      // 1. everything checked before anything changes
      const folder = yield* fs.stat(root).pipe(Effect.mapError(unreadable(req.drive.shown)))
      if (folder.type !== "Directory") return yield* Effect.fail(new FileUnreadable({ path: req.drive.shown, code: "ENOTDIR", reason: "not a folder: /d: is the export drive's root folder" }))
      const scan = yield* scanCopyLog(req.copyLog)
      const refused = refuseKind(req.copyLog, scan, "export")
      if (refused) return yield* Effect.fail(refused)
      const identity = yield* driveIdentity(root)
      if (identity.note !== undefined) notes.push(identity.note)
      if (identity.driveId === undefined) notes.push(`${req.drive.shown}: the folder has no drive identity (no waie-drive.json, no device serial): it cannot be checked to be drive ${scan.driveId}`)
      else if (identity.driveId !== scan.driveId) return yield* Effect.fail(new CopyLogOfAnotherDrive({ copyLog: req.copyLog.shown, logDriveId: scan.driveId, other: `the drive ${req.drive.shown}`, otherDriveId: identity.driveId }))
      let manifest: { readonly shown: string; readonly hash: string; readonly firstBlob?: string } | undefined
      if (req.manifest !== undefined) {
        const m = req.manifest
        const report = yield* checkManifest(m.shown, fileBytes(m.real, m.shown), { purpose: "export" })
        if (!report.ok) return yield* Effect.fail(new InvalidInput({ format: "manifest", file: m.shown, issues: report.issues, omitted: report.omitted }))
        if (report.driveId !== scan.driveId) return yield* Effect.fail(new CopyLogOfAnotherDrive({ copyLog: req.copyLog.shown, logDriveId: scan.driveId, other: `the manifest ${m.shown}`, otherDriveId: report.driveId ?? "" }))
        const first = yield* Stream.runHead(manifestBlobs(m.real, m.shown))
        manifest = { shown: m.shown, hash: report.hash, ...(first._tag === "Some" ? { firstBlob: first.value.blobPath } : {}) }
      }
      const id: RepairIdentity = { kind: "RepairExport", copyLog: req.copyLog, scan, endpoint: store.endpoint, ...(manifest !== undefined ? { manifest: { shown: manifest.shown, hash: manifest.hash } } : {}) }
      const state = yield* loadRepairFile(req.repairFile, id)
      const probe = scan.firstFailed ?? manifest?.firstBlob
      if (!state?.finished && probe !== undefined) {
        const ref = blobRefOf(probe)
        if (ref !== undefined) yield* store.getBlob(ref)
      }

      // 2. the pass
      let rewritten = 0
      let intact = 0
      const folders = new Set<string>()

      /** Download the whole blob into place with the side files named, as the export writes them. */
      const whole = (info: BlobInfo, filePath: string, properties: string | undefined, metadata: string | undefined, why: string): Effect.Effect<BlobResult, RepairError> =>
        Effect.gen(function* () {
          const item = yield* exportItemOf(info).pipe(Effect.provideService(BlobStore, store))
          const outcome = yield* copyBlob(item, { root, paths: { file: filePath, properties: properties ?? `${filePath}.properties`, ...(metadata !== undefined ? { metadata } : {}) }, folders, readAhead: inFlight }).pipe(
            Effect.provideService(BlobStore, store),
            Effect.provideService(FileSystem.FileSystem, fs),
          )
          if (!outcome.onDrive) return { _tag: "Unresolved", blobPath: outcome.blobPath, filePath, reason: `downloading it whole failed (${outcome.status}): ${outcome.problem ?? "no detail"}` } as const
          yield* fsyncFolders(fs, folders)
          folders.clear()
          const parts = outcome.ranges.length + 1 + (outcome.metadata !== undefined ? 1 : 0)
          const side = outcome.status === "Completed" ? "" : `; ${outcome.problem ?? "a side file could not be written"}`
          return { _tag: "Repaired", blobPath: outcome.blobPath, source: "", parts, detail: `downloaded whole (${why}): ${info.length} bytes${side}` } as const
        })

      /** Download ranges into the file in place: groups fsynced, then recorded. */
      const ranges = (info: BlobInfo, filePath: string, wanted: ReadonlyArray<{ readonly offset: number; readonly length: number; readonly hash?: string }>, record: RecordParts, blobPath: string): Effect.Effect<{ readonly written: number } | { readonly changed: string }, RepairError, FileSystem.FileSystem> =>
        Effect.scoped(
          Effect.gen(function* () {
            if (wanted.length === 0) return { written: 0 }
            const file = localPathOf(root, filePath)
            const handle = yield* fs.open(file, { flag: "r+" }).pipe(Effect.mapError(unwritable(file)))
            const lock = yield* Effect.makeSemaphore(1)
            const ref: BlobRef = { container: info.container, name: info.name }
            let written = 0
            for (let at = 0; at < wanted.length; at += group) {
              const batch = wanted.slice(at, at + group)
              const got = yield* Effect.forEach(
                batch,
                (r) =>
                  store.read(ref, r.offset, r.length, info.etag).pipe(
                    Effect.map((data) => ({ r, data })),
                    Effect.catchIf((e) => e.status === 412 || isNotFound(e), () => Effect.succeed(undefined)),
                  ),
                { concurrency: inFlight },
              )
              if (got.some((g) => g === undefined || g.data.length !== g.r.length)) return { changed: "the blob changed (or was deleted) during the repair" }
              for (const g of got) {
                // a range that still differs from the manifest: the blob is not the one exported
                if (g!.r.hash !== undefined && md5Hex(g!.data) !== g!.r.hash) return { changed: `the bytes at offset ${g!.r.offset} in storage no longer hash to the manifest's ${g!.r.hash}: the blob changed since the export` }
              }
              for (const g of got) {
                yield* lock.withPermits(1)(Effect.zipRight(handle.seek(g!.r.offset, "start"), handle.writeAll(g!.data))).pipe(Effect.mapError(unwritable(file)))
              }
              yield* handle.sync.pipe(Effect.mapError(unwritable(file)))
              yield* record(blobPath, batch.map((r) => r.offset))
              written += batch.length
            }
            return { written }
          }),
        )

      const blobOf = (blobPath: string, filePath: string): Effect.Effect<{ readonly ok: true; readonly info: BlobInfo } | { readonly ok: false; readonly result: BlobResult }, StorageError> =>
        Effect.gen(function* () {
          const ref = blobRefOf(blobPath)
          if (ref === undefined) return { ok: false, result: { _tag: "Unresolved", blobPath, filePath, reason: "its BlobPath names no container and blob" } } as const
          const info = yield* store.getBlob(ref)
          if (info === undefined) return { ok: false, result: { _tag: "Unresolved", blobPath, filePath, reason: "the blob is no longer in the storage account" } } as const
          return { ok: true, info } as const
        })

      const checkedPath = (filePath: string): string | undefined => {
        try {
          return localPathOf(root, filePath)
        } catch {
          return undefined
        }
      }

      /** A blob the copy log says failed. */
      const repairLogged = (rec: BlobRecord, progress: BlobProgress | undefined, record: RecordParts) =>
        Effect.gen(function* () {
          const local = checkedPath(rec.filePath)
          if (local === undefined) return { _tag: "Unresolved", blobPath: rec.blobPath, filePath: rec.filePath, reason: "its FilePath is not a path below the drive root" } as const
          const b = yield* blobOf(rec.blobPath, rec.filePath)
          if (!b.ok) return b.result
          const info = b.info
          const properties = sidePath(rec.properties)
          const metadata = sidePath(rec.metadata)
          const changed = info.length !== rec.length || (rec.lastModified !== undefined && info.lastModified !== rec.lastModified)
          if (!failureStatuses.has(rec.status)) return yield* whole(info, rec.filePath, properties, metadata, `the export failed it: ${rec.status}`)
          if (changed) return yield* whole(info, rec.filePath, properties, metadata, "the blob changed since the export")
          if (!(yield* fileIntact(fs, local, info.length))) return yield* whole(info, rec.filePath, properties, metadata, "its file is missing or not the blob's length")
          const done = progress?.offsets ?? new Set<number>()
          const failed = rec.ranges.filter((r: Range) => r.status !== "Completed" && !done.has(r.offset)).map((r) => ({ offset: r.offset, length: r.length }))
          const wrote = yield* ranges(info, rec.filePath, failed, record, rec.blobPath)
          if ("changed" in wrote) return { _tag: "Unresolved", blobPath: rec.blobPath, filePath: rec.filePath, reason: wrote.changed } as const
          let parts = wrote.written
          const sides: Array<string> = []
          for (const [entry, p, text] of [
            [rec.properties, properties, () => propertiesText(info)],
            [rec.metadata, metadata, () => metadataText(info)],
          ] as const) {
            if (entry === undefined || entry.status === "Completed" || p === undefined) continue
            const t = text()
            if (t === undefined) continue
            const w = yield* writeSide(root, p, t)
            // a value the format cannot carry: no file can hold it, as at the export (XmlWriteFailed)
            if (!w.ok) {
              sides.push(`${p} cannot be written (${w.problem}), as at the export`)
              continue
            }
            parts++
            sides.push(`${p} written again`)
          }
          const what = [wrote.written > 0 ? `${wrote.written} ${rec.list === "page" ? "page range" : "block"}${wrote.written === 1 ? "" : "s"} downloaded in place` : "", ...sides].filter((s) => s !== "")
          return { _tag: "Repaired", blobPath: rec.blobPath, source: "", parts, detail: what.join("; ") || "nothing left to do" } as const
        })

      /** A blob of the manifest: every range and side file checked against its hash. */
      const sweep = (job: BlobJob, progress: BlobProgress | undefined, record: RecordParts) =>
        Effect.gen(function* () {
          const local = checkedPath(job.filePath)
          if (local === undefined) return { _tag: "Unresolved", blobPath: job.blobPath, filePath: job.filePath, reason: "its FilePath is not a path below the drive root" } as const
          const sideRefs = { properties: job.properties ?? job.globalProperties, metadata: job.metadata ?? job.globalMetadata }
          let info: BlobInfo | undefined
          const blob = Effect.gen(function* () {
            if (info !== undefined) return { ok: true, info } as const
            const b = yield* blobOf(job.blobPath, job.filePath)
            if (b.ok) info = b.info
            return b
          })
          if (!(yield* fileIntact(fs, local, job.length))) {
            const b = yield* blob
            if (!b.ok) return b.result
            return yield* whole(b.info, job.filePath, sideRefs.properties?.path, sideRefs.metadata?.path, "its file is missing or not the manifest's length")
          }
          // hash the file's ranges, one at a time (4 MiB at most each)
          const done = progress?.offsets ?? new Set<number>()
          const bad: Array<{ offset: number; length: number; hash: string }> = []
          yield* Effect.scoped(
            Effect.gen(function* () {
              const h = yield* fs.open(local, { flag: "r" }).pipe(Effect.mapError(unreadable(local)))
              let buffer = new Uint8Array(blockSize)
              for (const r of job.ranges) {
                if (done.has(r.offset)) continue
                if (r.length > buffer.length) buffer = new Uint8Array(r.length)
                const view = buffer.subarray(0, r.length)
                yield* h.seek(r.offset, "start")
                let got = 0
                while (got < r.length) {
                  const n = Number(yield* h.read(view.subarray(got)).pipe(Effect.mapError(unreadable(local))))
                  if (n === 0) break
                  got += n
                }
                if (got !== r.length || md5Hex(view) !== r.hash) bad.push({ offset: r.offset, length: r.length, hash: r.hash })
              }
            }),
          )
          let parts = 0
          const what: Array<string> = []
          if (bad.length > 0) {
            const b = yield* blob
            if (!b.ok) return b.result
            if (b.info.length !== job.length) return yield* whole(b.info, job.filePath, sideRefs.properties?.path, sideRefs.metadata?.path, "the blob changed since the export")
            const wrote = yield* ranges(b.info, job.filePath, bad, record, job.blobPath)
            if ("changed" in wrote) return yield* whole(b.info, job.filePath, sideRefs.properties?.path, sideRefs.metadata?.path, wrote.changed)
            parts += wrote.written
            what.push(`${wrote.written} ${job.list === "page" ? "page range" : "block"}${wrote.written === 1 ? "" : "s"} differed from the manifest: downloaded in place`)
          }
          for (const [ref, text] of [
            [sideRefs.properties, (i: BlobInfo) => propertiesText(i)],
            [sideRefs.metadata, (i: BlobInfo) => metadataText(i)],
          ] as const) {
            if (ref === undefined) continue
            const file = checkedPath(ref.path)
            if (file === undefined) return { _tag: "Unresolved", blobPath: job.blobPath, filePath: ref.path, reason: "the manifest names a side file that is not a path below the drive root" } as const
            const hash = yield* fs.readFile(file).pipe(
              Effect.map((b) => md5Hex(b)),
              Effect.orElseSucceed(() => ""),
            )
            if (hash === ref.hash) continue
            const b = yield* blob
            if (!b.ok) return b.result
            const t = text(b.info)
            if (t === undefined) return { _tag: "Unresolved", blobPath: job.blobPath, filePath: ref.path, reason: `${ref.path} differs from the manifest and the blob has no metadata any more` } as const
            const w = yield* writeSide(root, ref.path, t)
            if (!w.ok) return { _tag: "Unresolved", blobPath: job.blobPath, filePath: ref.path, reason: `${ref.path} cannot be written: ${w.problem}` } as const
            parts++
            what.push(w.hash === ref.hash ? `${ref.path} ${hash === "" ? "was missing" : "differed from the manifest"}: written again` : `${ref.path} written again from the blob as it is now (it changed since the export: MD5 ${w.hash}, the manifest says ${ref.hash})`)
          }
          return { _tag: "Repaired", blobPath: job.blobPath, source: "", parts, detail: what.join("; ") || "intact" } as const
        })

      const work: Stream.Stream<Work, FileUnreadable | InvalidInput, FileSystem.FileSystem> = failedBlobs(req.copyLog).pipe(
        Stream.map((b: IndexedBlob): Work => ({ index: b.index, kind: "log", record: b.record })),
        Stream.concat(req.manifest === undefined ? Stream.empty : manifestBlobs(req.manifest.real, req.manifest.shown).pipe(Stream.map((job): Work => ({ index: scan.blobs + job.index, kind: "sweep", job })))),
      )

      const outcome = yield* runPass({
        file: req.repairFile,
        identity: id,
        state,
        blobs: work,
        repair: (w, progress, record) => (w.kind === "log" ? repairLogged(w.record, progress, record) : sweep(w.job, progress, record)),
        onResult: (w, result) =>
          Effect.sync(() => {
            if (result._tag === "Repaired") {
              if (result.parts > 0) rewritten++
              else if (w.kind === "sweep") intact++
            }
            listener.blob?.({ index: w.index, blobPath: w.kind === "log" ? w.record.blobPath : w.job.blobPath, filePath: w.kind === "log" ? w.record.filePath : w.job.filePath, result, sweep: w.kind === "sweep" })
          }),
      })
      const report: RepairExportReport = { ...outcome, repairFile: req.repairFile.shown, driveId: scan.driveId, scan, rewritten, intact, notes }
      return report
    }),
  )

export type RepairExportFailure = RepairError | CopyLogRefused | CopyLogOfAnotherDrive | RepairFileMismatch
