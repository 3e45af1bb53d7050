/**
 * What RepairImport and RepairExport share: reading the copy log once before anything changes
 * (every rule of the format checked, its MD5, its drive, its kind, which blobs failed), checking
 * a repair file against it, and running a pass — the failed blobs in the copy log's order, each
 * recorded in the repair file as it is decided (lib/repair-file.ts), with the repair file opened
 * only once there is something to record (a finished repair, or a run refused before its first
 * blob, leaves it untouched).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option, Ref, Scope, Stream } from "effect"
import { createHash } from "node:crypto"
import {
  type BlobRecord,
  blobFailures,
  type CopyLogGroup,
  type DriveStatus,
  groupCopyLog,
  hasFailures,
  readCopyLog,
} from "../copylog.ts"
import type { FileUnreadable, FileUnwritable, InvalidInput } from "../errors.ts"
import { fileBytes } from "../files.ts"
import { needsRepair, openRepairWriter, type RepairEvent, type RepairKind, type RepairState, type RepairWriter, replayRepairFile, repairWriter } from "../repair-file.ts"
import { CopyLogRefused, RepairFileMismatch } from "./errors.ts"

/** A path as the user gave it (for messages) and resolved. */
export interface Given {
  readonly real: string
  readonly shown: string
}

// ---------------------------------------------------------------- the copy log, read once up front

export type CopyLogKind = "import" | "export" | "unknown"

export interface CopyLogScan {
  /** upper-case Base16 MD5 of the file's bytes */
  readonly hash: string
  readonly driveId: string
  readonly driveStatus: DriveStatus
  /** import logs have ImportDisposition, export logs LastModified or Snapshot; a log with neither says nothing */
  readonly kind: CopyLogKind
  readonly blobs: number
  /** blobs with anything not Completed */
  readonly failedBlobs: number
  /** the first of them, for a first storage request before anything is written */
  readonly firstFailed?: string
}

/** The statuses of a drive whose blobs the service went through. */
export const ranBlobs = (s: DriveStatus): boolean => s === "Completed" || s === "CompletedWithWarnings" || s === "CompletedWithErrors"

/**
 * Read the whole copy log: the reader's every rule (a log breaking one is InvalidInput, listing
 * them all), its MD5 on the same pass, its kind, and `check` on each failed blob (a reason to
 * refuse the log, or undefined).
 */
export const scanCopyLog = (
  log: Given,
  check: (blob: BlobRecord) => string | undefined = () => undefined,
): Effect.Effect<CopyLogScan, FileUnreadable | InvalidInput | CopyLogRefused, FileSystem.FileSystem> =>
  Effect.suspend(() => {
    const md5 = createHash("md5")
    const bytes = fileBytes(log.real, log.shown).pipe(Stream.tap((chunk) => Effect.sync(() => void md5.update(chunk))))
    let driveId = ""
    let driveStatus: DriveStatus | undefined
    let imports = 0
    let exports = 0
    let blobs = 0
    let failedBlobs = 0
    let firstFailed: string | undefined
    let refusal: string | undefined
    return indexedBlobs(groupCopyLog(readCopyLog(log.shown, bytes)), (g) => {
      if (g._tag === "Drive") driveId = g.driveId
      if (g._tag === "DriveEnd") driveStatus = g.status
    }).pipe(
      Stream.runForEach(({ record }) =>
        Effect.sync(() => {
          blobs++
          if (record.importDisposition !== undefined) imports++
          if (record.lastModified !== undefined || record.snapshot !== undefined) exports++
          if (!hasFailures(blobFailures(record))) return
          failedBlobs++
          firstFailed ??= record.blobPath
          refusal ??= check(record)
        }),
      ),
      Effect.flatMap(() => {
        if (imports > 0 && exports > 0) return Effect.fail(new CopyLogRefused({ copyLog: log.shown, reason: `the copy log mixes import entries (${imports} with ImportDisposition) and export entries (${exports} with LastModified or Snapshot): it is not one drive's log` }))
        if (refusal !== undefined) return Effect.fail(new CopyLogRefused({ copyLog: log.shown, reason: refusal }))
        // the reader refuses a log without a drive status, so it is there once the stream ended
        const scan: CopyLogScan = {
          hash: md5.digest("hex").toUpperCase(),
          driveId,
          driveStatus: driveStatus!,
          kind: imports > 0 ? "import" : exports > 0 ? "export" : "unknown",
          blobs,
          failedBlobs,
          ...(firstFailed !== undefined ? { firstFailed } : {}),
        }
        return Effect.succeed(scan)
      }),
    )
  })

/** The copy log is the other command's, or its drive was refused as a whole: nothing this command can repair. */
export const refuseKind = (log: Given, scan: CopyLogScan, kind: "import" | "export"): CopyLogRefused | undefined => {
  if (scan.kind !== "unknown" && scan.kind !== kind) {
    return new CopyLogRefused({
      copyLog: log.shown,
      reason:
        kind === "import"
          ? "this is the copy log of an export drive (its blobs have LastModified): RepairExport repairs export drives"
          : "this is the copy log of an import drive (its blobs have ImportDisposition): RepairImport repairs import jobs",
    })
  }
  if (!ranBlobs(scan.driveStatus)) {
    return new CopyLogRefused({
      copyLog: log.shown,
      reason: `the drive was refused as a whole (${scan.driveStatus}): the service copied no blob of it, so there is nothing to repair; fix the drive and ${kind === "import" ? "ship it again" : "ask for the export again"}`,
    })
  }
  return undefined
}

/** A blob of the copy log with its number (0 for the log's first `Blob`). */
export interface IndexedBlob {
  readonly index: number
  readonly record: BlobRecord
}

/**
 * Groups to numbered blobs. A page blob listing more than 50,000 ranges comes from the grouper in
 * parts; they are joined here (the only case where a blob's ranges exceed one group in memory).
 */
export const indexedBlobs = <E, R>(groups: Stream.Stream<CopyLogGroup, E, R>, other: (g: CopyLogGroup) => void = () => undefined): Stream.Stream<IndexedBlob, E, R> =>
  Stream.suspend(() => {
    let index = 0
    let parts: Array<BlobRecord> = []
    return groups.pipe(
      Stream.mapConcat((g): Array<IndexedBlob> => {
        if (g._tag !== "Blob") {
          other(g)
          return []
        }
        const { _tag, part: _p, more, ...record } = g
        if (more) {
          parts.push(record)
          return []
        }
        const whole: BlobRecord = parts.length === 0 ? record : { ...record, ranges: [...parts.flatMap((p) => p.ranges), ...record.ranges] }
        parts = []
        return [{ index: index++, record: whole }]
      }),
    )
  })

/** The failed blobs of the copy log, numbered, in order (the log is read again: nothing of it is kept in memory). */
export const failedBlobs = (log: Given): Stream.Stream<IndexedBlob, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  indexedBlobs(groupCopyLog(readCopyLog(log.shown, fileBytes(log.real, log.shown)))).pipe(Stream.filter((b) => hasFailures(blobFailures(b.record))))

// ---------------------------------------------------------------- the repair file

export interface RepairIdentity {
  readonly kind: RepairKind
  readonly copyLog: Given
  readonly scan: CopyLogScan
  readonly endpoint: string
  readonly manifest?: { readonly shown: string; readonly hash: string }
}

/** The repair file's state, checked against this run: the same kind, copy log and manifest, or RepairFileMismatch. */
export const loadRepairFile = (file: Given, id: RepairIdentity): Effect.Effect<RepairState | undefined, FileUnreadable | InvalidInput | RepairFileMismatch, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const state = yield* replayRepairFile(file.real, file.shown)
    if (state === undefined) return undefined
    const s = state.started
    if (s.kind !== id.kind) return yield* Effect.fail(new RepairFileMismatch({ repairFile: file.shown, field: "Kind", expected: id.kind, found: s.kind }))
    if (s.copyLogHash !== id.scan.hash) return yield* Effect.fail(new RepairFileMismatch({ repairFile: file.shown, field: "CopyLogHash", expected: id.scan.hash, found: s.copyLogHash, recorded: s.copyLog }))
    if ((s.manifestHash ?? "") !== (id.manifest?.hash ?? "")) {
      return yield* Effect.fail(new RepairFileMismatch({ repairFile: file.shown, field: "ManifestHash", expected: id.manifest?.hash ?? "", found: s.manifestHash ?? "", ...(s.manifest !== undefined ? { recorded: s.manifest } : {}) }))
    }
    return state
  })

/** The blob a resumed pass was in the middle of, when it is this one. */
export interface BlobProgress {
  readonly blobPath: string
  readonly offsets: ReadonlySet<number>
}

export type BlobResult =
  | {
      readonly _tag: "Repaired"
      readonly blobPath: string
      /** the local file the data came from (RepairImport), or "" */
      readonly source: string
      /** blocks, page ranges, metadata and properties sent or written */
      readonly parts: number
      /** for a person: what was done */
      readonly detail: string
    }
  | {
      readonly _tag: "Unresolved"
      readonly blobPath: string
      /** the FilePath that could not be resolved (RepairImport: what the path map lists); "" when no file is to blame */
      readonly filePath: string
      readonly reason: string
      /** further FilePaths of the blob found unresolved (RepairImport, for the path map) */
      readonly morePaths?: ReadonlyArray<string>
    }

/** Records a blob's progress: the parts done (fsynced in the repair file when this returns). */
export type RecordParts = (blobPath: string, offsets: ReadonlyArray<number>) => Effect.Effect<void, FileUnwritable, FileSystem.FileSystem>

export interface PassOutcome {
  readonly pass: number
  /** this pass's totals, the blobs decided before a resume included */
  readonly repaired: number
  readonly unresolved: number
  /** the repair file said the repair was finished: nothing was done */
  readonly alreadyFinished: boolean
  /** this pass left nothing unresolved */
  readonly finished: boolean
}

export interface PassInput<B extends { readonly index: number }, E, R> {
  readonly file: Given
  readonly identity: RepairIdentity
  readonly state: RepairState | undefined
  /** the work, in the copy log's numbering and order (failed blobs, and RepairExport's manifest sweep after them) */
  readonly blobs: Stream.Stream<B, E, R>
  readonly repair: (blob: B, progress: BlobProgress | undefined, record: RecordParts) => Effect.Effect<BlobResult, E, R>
  readonly onResult?: (blob: B, result: BlobResult) => Effect.Effect<void>
  /** after the last blob, before PassCompleted is recorded (RepairImport writes the path map here) */
  readonly beforeCompleted?: Effect.Effect<void, E, R>
}

/**
 * One pass: a new one when the latest ended with blobs unresolved (or for a new repair file),
 * else the interrupted one, continued. Nothing is written before the first record is due.
 */
export const runPass = <B extends { readonly index: number }, E, R>(input: PassInput<B, E, R>): Effect.Effect<PassOutcome, E | FileUnwritable, R | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const { state, file } = input
    if (state?.finished) return { pass: state.pass, repaired: 0, unresolved: 0, alreadyFinished: true, finished: true }
    const continuing = state !== undefined && !state.passCompleted
    const pass = continuing ? state.pass : (state?.pass ?? 0) + 1
    const writerRef = yield* Ref.make(Option.none<RepairWriter>())
    // the writer lives as long as the pass, whichever (inner) scope its first record is written from
    const scope = yield* Effect.scope
    const head: Array<RepairEvent> = []
    if (state === undefined) {
      const id = input.identity
      head.push({
        _tag: "RepairStarted",
        kind: id.kind,
        copyLog: id.copyLog.shown,
        copyLogHash: id.scan.hash,
        driveId: id.scan.driveId,
        endpoint: id.endpoint,
        writer: repairWriter,
        ...(id.manifest !== undefined ? { manifest: id.manifest.shown, manifestHash: id.manifest.hash } : {}),
      })
    }
    if (!continuing) head.push({ _tag: "PassStarted", pass })

    const append = (events: ReadonlyArray<RepairEvent>): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
      Effect.gen(function* () {
        const w = yield* Ref.get(writerRef)
        if (Option.isNone(w)) {
          const writer = yield* openRepairWriter(file.real, state?.end ?? 0, file.shown).pipe(Scope.extend(scope))
          yield* writer.append([...head, ...events])
          yield* Ref.set(writerRef, Option.some(writer))
          return
        }
        yield* w.value.append(events)
      })

    let repaired = continuing ? state.repaired : 0
    let unresolved = continuing ? state.unresolved.size : 0
    const inProgress = continuing ? state.inProgress : undefined

    yield* input.blobs.pipe(
      // a new pass takes every failed blob (the first) or the last pass's unresolved ones; a continued one, those after its cursor
      Stream.filter((b) => needsRepair(state, b.index)),
      Stream.runForEach((b) =>
        Effect.gen(function* () {
          const progress = inProgress !== undefined && inProgress.blob === b.index ? { blobPath: inProgress.blobPath, offsets: inProgress.offsets } : undefined
          const record: RecordParts = (blobPath, offsets) => append([{ _tag: "PartsRepaired", blob: b.index, blobPath, offsets }])
          const result = yield* input.repair(b, progress, record)
          if (result._tag === "Repaired") {
            repaired++
            yield* append([{ _tag: "BlobRepaired", blob: b.index, blobPath: result.blobPath, source: result.source, parts: result.parts }])
          } else {
            unresolved++
            yield* append([{ _tag: "BlobUnresolved", blob: b.index, blobPath: result.blobPath, filePath: result.filePath, reason: result.reason }])
          }
          if (input.onResult) yield* input.onResult(b, result)
        }),
      ),
    )
    if (input.beforeCompleted) yield* input.beforeCompleted
    yield* append([{ _tag: "PassCompleted", pass, repaired, unresolved }])
    return { pass, repaired, unresolved, alreadyFinished: false, finished: unresolved === 0 }
  })
