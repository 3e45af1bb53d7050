/**
 * RepairImport (formats.md §3.3): sends again, from local copies of the drive's files, what the
 * copy log of an import drive says did not reach the storage account.
 *
 * Before anything changes: every `/d:` folder exists (and one that is a waie drive — it holds a
 * `waie-drive.json` — must be the log's drive); the copy log is read whole (every rule of the
 * format; an export log, a drive refused as a whole, or a block blob to commit again whose
 * blocks the log does not all list are refused); the path map file, when given, is read (every
 * bad line listed); the repair file must be this log's; and one request to storage must succeed
 * (a wrong key or an unreachable endpoint changes nothing).
 *
 * Then one pass (lib/repair/session.ts) over the failed blobs — the first pass every failed blob,
 * a later one those the previous pass left unresolved — each repaired by
 * lib/repair/import-blob.ts or left unresolved. At the end of the pass, with `/PathMapFile:`,
 * every FilePath left unresolved that the path map does not list yet is added with an empty
 * target (the entries already there, the user's targets included, are kept as they are); then
 * the pass is recorded complete. A rerun uses the targets the user filled in.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import * as path from "node:path"
import type { BlobRecord } from "../copylog.ts"
import { identityFileName, parseIdentity } from "../drive.ts"
import { FileUnreadable, type FileUnwritable, InvalidArgument, type InvalidInput } from "../errors.ts"
import { unreadable } from "../files.ts"
import { type PathMapEntry, readPathMapFile, writePathMapFile } from "../pathmap.ts"
import { readRepairFile } from "../repair-file.ts"
import { BlobStore, blobRefOf, type StorageError } from "../storage.ts"
import { BufferPool } from "../service/import-blob.ts"
import { CopyLogOfAnotherDrive } from "./errors.ts"
import { isNeverWritten, repairImportBlob } from "./import-blob.ts"
import { Resolver } from "./resolve.ts"
import { type BlobResult, type CopyLogScan, failedBlobs, type Given, type IndexedBlob, loadRepairFile, type PassOutcome, refuseKind, type RepairIdentity, runPass, scanCopyLog } from "./session.ts"

export interface RepairImportRequest {
  readonly repairFile: Given
  /** the folders holding copies of the drive's files (`/d:`), in the order given */
  readonly dirs: ReadonlyArray<Given>
  readonly copyLog: Given
  readonly pathMap?: Given
  /** blocks or page ranges read and sent at once (default 4) */
  readonly rangesInFlight?: number
  /** ranges sent between two PartsRepaired records (default 8: 32 MiB) */
  readonly group?: number
}

export interface RepairImportListener {
  readonly blob?: (r: { readonly index: number; readonly blobPath: string; readonly filePath: string; readonly result: BlobResult }) => void
}

export interface RepairImportReport extends PassOutcome {
  readonly repairFile: string
  readonly driveId: string
  readonly scan: CopyLogScan
  /** the path map after the pass: entries added by it, and entries still without a target */
  readonly pathMap?: { readonly file: string; readonly added: number; readonly waiting: number }
  readonly notes: ReadonlyArray<string>
}

/**
 * A block blob whose list must be committed again needs every block of it in the log: the
 * blocks listed must follow each other from offset 0 to the blob's Length.
 */
export const incompleteBlockList = (rec: BlobRecord): string | undefined => {
  if (rec.list === "page") return undefined
  // only metadata or properties failed: nothing to commit (an error log leaves its Completed blocks out)
  if (!rec.ranges.some((r) => r.status !== "Completed") && !isNeverWritten(rec)) return undefined
  let at = 0
  for (const r of rec.ranges) {
    if (r.offset !== at) break
    at += r.length
  }
  if (at === rec.length) return undefined
  return `blob ${rec.blobPath}: its block list must be committed again, but the copy log lists blocks covering ${at === 0 && rec.ranges.length === 0 ? "none" : `only part`} of its ${rec.length} bytes (an error log that leaves out Completed blocks?): give the drive's verbose copy log`
}

export const runRepairImport = (req: RepairImportRequest, listener: RepairImportListener = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const store = yield* BlobStore
      const notes: Array<string> = []

      // 1. everything checked before anything changes
      if (req.dirs.length === 0) return yield* Effect.fail(new InvalidArgument({ argument: "/d", expected: "one or more folders holding the drive's files, separated by ;", found: "none" }))
      const reals = new Map<string, string>()
      for (const d of req.dirs) {
        const info = yield* fs.stat(d.real).pipe(Effect.mapError(unreadable(d.shown)))
        if (info.type !== "Directory") return yield* Effect.fail(new FileUnreadable({ path: d.shown, code: "ENOTDIR", reason: "not a folder: /d: takes folders holding copies of the drive's files" }))
        const real = yield* fs.realPath(d.real).pipe(Effect.mapError(unreadable(d.shown)))
        const before = reals.get(real)
        if (before !== undefined) return yield* Effect.fail(new InvalidArgument({ argument: "/d", expected: "each folder once", found: `${JSON.stringify(d.shown)}, the same folder as ${JSON.stringify(before)}` }))
        reals.set(real, d.shown)
      }
      const scan = yield* scanCopyLog(req.copyLog, incompleteBlockList)
      const refused = refuseKind(req.copyLog, scan, "import")
      if (refused) return yield* Effect.fail(refused)
      for (const d of req.dirs) {
        const text = yield* fs.readFileString(path.join(d.real, identityFileName)).pipe(Effect.option)
        if (text._tag === "None") continue
        const id = parseIdentity(text.value)
        if (typeof id === "string") continue
        if (id.driveId !== scan.driveId) return yield* Effect.fail(new CopyLogOfAnotherDrive({ copyLog: req.copyLog.shown, logDriveId: scan.driveId, other: `the /d: folder ${d.shown}`, otherDriveId: id.driveId }))
      }
      const mapEntries: ReadonlyArray<PathMapEntry> = req.pathMap !== undefined ? yield* readPathMapFile(req.pathMap.real, req.pathMap.shown) : []
      const id: RepairIdentity = { kind: "RepairImport", copyLog: req.copyLog, scan, endpoint: store.endpoint }
      const state = yield* loadRepairFile(req.repairFile, id)
      if (!state?.finished && scan.firstFailed !== undefined) {
        const ref = blobRefOf(scan.firstFailed)
        if (ref !== undefined) yield* store.getBlob(ref)
      }

      // 2. the pass
      const inFlight = req.rangesInFlight ?? 4
      const ctx = { store, resolver: new Resolver(req.dirs, mapEntries), pool: new BufferPool(inFlight), rangesInFlight: inFlight, group: req.group ?? 8, containers: new Set<string>() }
      /** FilePaths found unresolved in this run beyond the one each record names */
      const more = new Set<string>()
      let pathMapOut: RepairImportReport["pathMap"]

      /** The path map with the pass's unresolved FilePaths added (the records of the pass, a resumed run's earlier ones included). */
      const writePathMap = Effect.gen(function* () {
        if (req.pathMap === undefined) return
        const unresolved: Array<string> = []
        if (yield* fs.exists(req.repairFile.real).pipe(Effect.orElseSucceed(() => false))) {
          yield* readRepairFile(req.repairFile.real, req.repairFile.shown).pipe(
            Stream.runForEach((e) =>
              Effect.sync(() => {
                if (e._tag === "PassStarted") unresolved.length = 0
                if (e._tag === "BlobUnresolved" && e.filePath !== "") unresolved.push(e.filePath)
              }),
            ),
          )
        }
        const known = new Set(mapEntries.map((e) => e.filePath))
        const added: Array<PathMapEntry> = []
        for (const p of [...unresolved, ...more]) {
          if (known.has(p)) continue
          known.add(p)
          added.push({ filePath: p, target: undefined })
        }
        const entries = [...mapEntries.map((e) => ({ filePath: e.filePath, target: e.target })), ...added]
        if (added.length > 0) yield* writePathMapFile(req.pathMap.real, entries)
        pathMapOut = { file: req.pathMap.shown, added: added.length, waiting: entries.filter((e) => e.target === undefined).length }
      })

      const outcome = yield* runPass<IndexedBlob, StorageError | FileUnreadable | FileUnwritable | InvalidInput, FileSystem.FileSystem>({
        file: req.repairFile,
        identity: id,
        state,
        blobs: failedBlobs(req.copyLog),
        repair: (b, progress, record) => repairImportBlob(ctx, b.record, progress, record),
        onResult: (b, result) =>
          Effect.sync(() => {
            if (result._tag === "Unresolved") for (const p of result.morePaths ?? []) more.add(p)
            listener.blob?.({ index: b.index, blobPath: b.record.blobPath, filePath: b.record.filePath, result })
          }),
        beforeCompleted: writePathMap,
      })
      if (outcome.alreadyFinished && req.pathMap !== undefined) {
        const waiting = mapEntries.filter((e) => e.target === undefined).length
        pathMapOut = { file: req.pathMap.shown, added: 0, waiting }
      }
      const report: RepairImportReport = { ...outcome, repairFile: req.repairFile.shown, driveId: scan.driveId, scan, ...(pathMapOut !== undefined ? { pathMap: pathMapOut } : {}), notes }
      return report
    }),
  )
