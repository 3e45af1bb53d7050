/**
 * The repair file (`/r:<RepairFile>`) of RepairImport and RepairExport: what a repair has done,
 * so that a rerun resumes where it stopped and a finished repair does nothing. The reference
 * gives its purpose only ("tracking repair progress; one per drive"); waie's format:
 *
 *   - the journal's record syntax (lib/journal-records.ts): `[BeginUpdateRecord][time][Type:…]`,
 *     `Key: value` lines, a CRC-32 `Checksum:`, `[EndUpdateRecord]`; appended and fsynced, a
 *     torn last record from a crash dropped on reading;
 *   - one repair file belongs to one copy log: the first record names the log and its MD5, and a
 *     rerun with another log is refused (a repair file of another drive would skip the wrong blobs);
 *   - blobs are numbered by their place in the copy log (0 for its first `Blob`), and a pass
 *     takes them in that order, one at a time, so the progress of a pass is a cursor, not a list:
 *     memory stays flat however many blobs failed. Within a blob, the blocks or ranges already
 *     sent (import) or written and fsynced (export) are recorded in groups, so a crash costs at
 *     most the group in flight;
 *   - a pass ends with `PassCompleted`. Blobs it could not resolve (RepairImport: no source file,
 *     several, or one whose bytes no longer match) are retried by the next pass, after the user
 *     fills in the path map file; a pass that leaves none unresolved finishes the repair.
 *
 * Records (values that may hold any character are JSON strings):
 *
 *   RepairStarted   Kind, CopyLog, CopyLogHash, DriveId, Endpoint, Writer, and for a
 *                   RepairExport given a manifest: Manifest, ManifestHash (the manifest's blobs
 *                   are numbered after the copy log's, so a rerun must sweep the same manifest)
 *   PassStarted     Pass
 *   PartsRepaired   Blob, BlobPath, Offsets (comma-separated byte offsets; may be empty: a
 *                   RepairImport records the name it chose for a blob before writing to it)
 *   BlobRepaired    Blob, BlobPath, Source (the local file used; "" for RepairExport), Parts
 *   BlobUnresolved  Blob, BlobPath, FilePath, Reason
 *   PassCompleted   Pass, Repaired, Unresolved
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect, Stream, type Scope } from "effect"
import { InvalidInput, type FileUnreadable, type FileUnwritable } from "./errors.ts"
import { fileBytes, unreadable, unwritable } from "./files.ts"
import { field, FieldProblem as Bad, formatRecord, intField as int, journalTime, type JournalRecord, needField as need, readJournalRecords, stringField as str } from "./journal-records.ts"
import { writerName } from "./journal.ts"

export type RepairKind = "RepairImport" | "RepairExport"

export type RepairEvent =
  | {
      readonly _tag: "RepairStarted"
      readonly kind: RepairKind
      /** the copy log as the command line named it */
      readonly copyLog: string
      /** upper-case Base16 MD5 of the copy log's bytes */
      readonly copyLogHash: string
      readonly driveId: string
      /** the Blob endpoint, without any query (never a SAS) */
      readonly endpoint: string
      readonly writer: string
      /** RepairExport with `/ManifestFile:`: the manifest as named, and its upper-case Base16 MD5 */
      readonly manifest?: string
      readonly manifestHash?: string
    }
  | { readonly _tag: "PassStarted"; readonly pass: number }
  | { readonly _tag: "PartsRepaired"; readonly blob: number; readonly blobPath: string; readonly offsets: ReadonlyArray<number> }
  | { readonly _tag: "BlobRepaired"; readonly blob: number; readonly blobPath: string; readonly source: string; readonly parts: number }
  | { readonly _tag: "BlobUnresolved"; readonly blob: number; readonly blobPath: string; readonly filePath: string; readonly reason: string }
  | { readonly _tag: "PassCompleted"; readonly pass: number; readonly repaired: number; readonly unresolved: number }

/** An event read back, with its line (for messages). */
export type PlacedRepairEvent = RepairEvent & { readonly line: number }

// ---------------------------------------------------------------- encoding

const json = (s: string): string => JSON.stringify(s)

export const encodeRepairEvent = (e: RepairEvent): readonly [string, ReadonlyArray<readonly [string, string]>] => {
  switch (e._tag) {
    case "RepairStarted":
      return [
        "RepairStarted",
        [
          ["Kind", e.kind],
          ["CopyLog", json(e.copyLog)],
          ["CopyLogHash", e.copyLogHash],
          ["DriveId", json(e.driveId)],
          ["Endpoint", json(e.endpoint)],
          ["Writer", e.writer],
          ...(e.manifest !== undefined ? ([["Manifest", json(e.manifest)]] as const) : []),
          ...(e.manifestHash !== undefined ? ([["ManifestHash", e.manifestHash]] as const) : []),
        ],
      ]
    case "PassStarted":
      return ["PassStarted", [["Pass", String(e.pass)]]]
    case "PartsRepaired":
      return ["PartsRepaired", [["Blob", String(e.blob)], ["BlobPath", json(e.blobPath)], ["Offsets", e.offsets.join(",")]]]
    case "BlobRepaired":
      return ["BlobRepaired", [["Blob", String(e.blob)], ["BlobPath", json(e.blobPath)], ["Source", json(e.source)], ["Parts", String(e.parts)]]]
    case "BlobUnresolved":
      return ["BlobUnresolved", [["Blob", String(e.blob)], ["BlobPath", json(e.blobPath)], ["FilePath", json(e.filePath)], ["Reason", json(e.reason)]]]
    case "PassCompleted":
      return ["PassCompleted", [["Pass", String(e.pass)], ["Repaired", String(e.repaired)], ["Unresolved", String(e.unresolved)]]]
  }
}

export const formatRepairEvent = (time: string, e: RepairEvent): string => {
  const [type, fields] = encodeRepairEvent(e)
  return formatRecord(time, type, fields)
}

// ---------------------------------------------------------------- decoding

const ints = (r: JournalRecord, key: string): Array<number> => {
  const v = need(r, key)
  if (v === "") return []
  return v.split(",").map((s) => {
    if (/^\d{1,16}$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s)
    throw new Bad(key, "whole numbers separated by commas", JSON.stringify(s.slice(0, 40)))
  })
}

export const decodeRepairRecord = (r: JournalRecord): RepairEvent => {
  switch (r.type) {
    case "RepairStarted": {
      const kind = need(r, "Kind")
      if (kind !== "RepairImport" && kind !== "RepairExport") throw new Bad("Kind", "RepairImport or RepairExport", JSON.stringify(kind.slice(0, 40)))
      const copyLogHash = need(r, "CopyLogHash")
      if (!/^[0-9A-F]{32}$/.test(copyLogHash)) throw new Bad("CopyLogHash", "an MD5 (32 upper-case hex digits)", JSON.stringify(copyLogHash.slice(0, 40)))
      const manifestHash = field(r, "ManifestHash")
      if (manifestHash !== undefined && !/^[0-9A-F]{32}$/.test(manifestHash)) throw new Bad("ManifestHash", "an MD5 (32 upper-case hex digits)", JSON.stringify(manifestHash.slice(0, 40)))
      if ((manifestHash === undefined) !== (field(r, "Manifest") === undefined)) throw new Bad(manifestHash === undefined ? "ManifestHash" : "Manifest", "Manifest and ManifestHash together, or neither", "one of them")
      return {
        _tag: "RepairStarted",
        kind,
        copyLog: str(r, "CopyLog"),
        copyLogHash,
        driveId: str(r, "DriveId"),
        endpoint: str(r, "Endpoint"),
        writer: need(r, "Writer"),
        ...(manifestHash !== undefined ? { manifest: str(r, "Manifest"), manifestHash } : {}),
      }
    }
    case "PassStarted":
      return { _tag: "PassStarted", pass: int(r, "Pass") }
    case "PartsRepaired":
      return { _tag: "PartsRepaired", blob: int(r, "Blob"), blobPath: str(r, "BlobPath"), offsets: ints(r, "Offsets") }
    case "BlobRepaired":
      return { _tag: "BlobRepaired", blob: int(r, "Blob"), blobPath: str(r, "BlobPath"), source: str(r, "Source"), parts: int(r, "Parts") }
    case "BlobUnresolved":
      return { _tag: "BlobUnresolved", blob: int(r, "Blob"), blobPath: str(r, "BlobPath"), filePath: str(r, "FilePath"), reason: str(r, "Reason") }
    case "PassCompleted":
      return { _tag: "PassCompleted", pass: int(r, "Pass"), repaired: int(r, "Repaired"), unresolved: int(r, "Unresolved") }
    default:
      throw new Bad("Type", "a repair record (RepairStarted, PassStarted, PartsRepaired, BlobRepaired, BlobUnresolved, PassCompleted)", JSON.stringify(r.type))
  }
}

// ---------------------------------------------------------------- the state a repair file describes

/** Where a repair stands. */
export interface RepairState {
  readonly started: Extract<RepairEvent, { _tag: "RepairStarted" }>
  /** the latest pass (0 before the first PassStarted) */
  readonly pass: number
  /** whether the latest pass ended */
  readonly passCompleted: boolean
  /** the latest pass ended with nothing unresolved: the repair is finished */
  readonly finished: boolean
  /** the highest blob the latest pass decided (repaired or unresolved); -1 for none */
  readonly cursor: number
  /** the blob the latest pass was working on when it stopped, the BlobPath its last PartsRepaired named, and its parts done */
  readonly inProgress: { readonly blob: number; readonly blobPath: string; readonly offsets: ReadonlySet<number> } | undefined
  /** blobs left unresolved by the pass before the latest: what the latest pass retries (undefined for the first pass: every failed blob) */
  readonly retry: ReadonlySet<number> | undefined
  /** blobs the latest pass left unresolved so far */
  readonly unresolved: ReadonlySet<number>
  readonly repaired: number
  /** byte offset after the last intact record: a writer appends here */
  readonly end: number
}

const bad = (file: string, line: number, expected: string, found: string): InvalidInput =>
  new InvalidInput({ format: "repair", file, issues: [{ file, line, expected, found }] })

/**
 * Fold one event into the state. Throws InvalidInput for a file whose records do not follow
 * each other as a repair writes them (a hand-edited or foreign file).
 */
export const applyRepairEvent = (file: string, state: RepairState | undefined, e: PlacedRepairEvent, end: number): RepairState => {
  if (state === undefined) {
    if (e._tag !== "RepairStarted") throw bad(file, e.line, "a RepairStarted record first", `a ${e._tag} record`)
    return { started: e, pass: 0, passCompleted: true, finished: false, cursor: -1, inProgress: undefined, retry: undefined, unresolved: new Set(), repaired: 0, end }
  }
  switch (e._tag) {
    case "RepairStarted":
      throw bad(file, e.line, "one RepairStarted record, the first", "a second one")
    case "PassStarted": {
      if (!state.passCompleted) throw bad(file, e.line, `PassCompleted for pass ${state.pass} before a new pass`, `PassStarted ${e.pass}`)
      if (e.pass !== state.pass + 1) throw bad(file, e.line, `pass ${state.pass + 1}`, `pass ${e.pass}`)
      return { ...state, pass: e.pass, passCompleted: false, finished: false, cursor: -1, inProgress: undefined, retry: state.pass === 0 ? undefined : state.unresolved, unresolved: new Set(), repaired: 0, end }
    }
    case "PartsRepaired":
    case "BlobRepaired":
    case "BlobUnresolved": {
      if (state.passCompleted) throw bad(file, e.line, "a PassStarted record before blob records", `a ${e._tag} record`)
      if (e.blob <= state.cursor) throw bad(file, e.line, `a blob after blob ${state.cursor} (a pass takes blobs in the copy log's order)`, `blob ${e.blob}`)
      if (e._tag === "PartsRepaired") {
        const offsets = new Set(state.inProgress?.blob === e.blob ? state.inProgress.offsets : [])
        for (const o of e.offsets) offsets.add(o)
        return { ...state, inProgress: { blob: e.blob, blobPath: e.blobPath, offsets }, end }
      }
      if (e._tag === "BlobRepaired") return { ...state, cursor: e.blob, inProgress: undefined, repaired: state.repaired + 1, end }
      const unresolved = new Set(state.unresolved)
      unresolved.add(e.blob)
      return { ...state, cursor: e.blob, inProgress: undefined, unresolved, end }
    }
    case "PassCompleted": {
      if (state.passCompleted || e.pass !== state.pass) throw bad(file, e.line, `PassCompleted for pass ${state.pass} once`, `PassCompleted ${e.pass}`)
      if (e.unresolved !== state.unresolved.size || e.repaired !== state.repaired) {
        throw bad(file, e.line, `Repaired ${state.repaired} and Unresolved ${state.unresolved.size} (what the pass's records say)`, `Repaired ${e.repaired}, Unresolved ${e.unresolved}`)
      }
      return { ...state, passCompleted: true, finished: e.unresolved === 0, inProgress: undefined, end }
    }
  }
}

/** Whether the current pass still has to do blob `blob` (one the copy log marks as failed). */
export const needsRepair = (state: RepairState | undefined, blob: number): boolean => {
  if (state === undefined || state.pass === 0) return true
  if (state.finished) return false
  // a completed pass: the next one retries what it left unresolved
  if (state.passCompleted) return state.unresolved.has(blob)
  // the pass has gone past this blob (it takes them in order)
  if (blob <= state.cursor || (state.inProgress !== undefined && blob < state.inProgress.blob)) return false
  return state.retry === undefined || state.retry.has(blob)
}

/** A record decoded, or InvalidInput naming its line and field. */
export const decodeRepairEntry = (file: string, r: JournalRecord): RepairEvent | InvalidInput => {
  try {
    return decodeRepairRecord(r)
  } catch (e) {
    if (e instanceof Bad) return new InvalidInput({ format: "repair", file, issues: [{ file, line: r.line ?? 0, field: e.fieldName, expected: e.expected, found: e.found }] })
    throw e
  }
}

/** The repair file's events, streaming; a torn last record is dropped (its offset is where to append). */
export const readRepairFile = (real: string, shown: string = real): Stream.Stream<PlacedRepairEvent & { readonly end: number }, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  readJournalRecords(shown, fileBytes(real, shown)).pipe(
    Stream.mapError((e) => (e instanceof InvalidInput ? new InvalidInput({ ...e, format: "repair" }) : e)),
    Stream.filter((entry): entry is JournalRecord => entry._tag === "Record"),
    Stream.mapEffect((r) => {
      const e = decodeRepairEntry(shown, r)
      return e instanceof InvalidInput ? Effect.fail(e) : Effect.succeed({ ...e, line: r.line ?? 0, end: r.end ?? 0 })
    }),
  )

/** The state of a repair file; undefined when the file does not exist or holds no intact record. */
export const replayRepairFile = (real: string, shown: string = real): Effect.Effect<RepairState | undefined, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(real).pipe(Effect.mapError(unreadable(shown))))) return undefined
    return yield* readRepairFile(real, shown).pipe(
      Stream.runFoldEffect(undefined as RepairState | undefined, (state, e) =>
        Effect.try({ try: () => applyRepairEvent(shown, state, e, e.end), catch: (x) => (x instanceof InvalidInput ? x : new InvalidInput({ format: "repair", file: shown, issues: [{ file: shown, line: e.line, expected: "a valid repair file", found: String(x) }] })) }),
      ),
    )
  })

export interface RepairWriter {
  /** append events and fsync: when this succeeds they survive a crash */
  readonly append: (events: ReadonlyArray<RepairEvent>) => Effect.Effect<void, FileUnwritable>
}

/** Open a repair file for appending at `from` (what lies after — a torn record — is cut off first). Created 0600. */
export const openRepairWriter = (real: string, from: number, shown: string = real): Effect.Effect<RepairWriter, FileUnwritable, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = unwritable(shown)
    if (!(yield* fs.exists(real).pipe(Effect.mapError(fail)))) yield* fs.writeFile(real, new Uint8Array(0), { mode: 0o600 }).pipe(Effect.mapError(fail))
    yield* fs.truncate(real, from).pipe(Effect.mapError(fail))
    const file = yield* fs.open(real, { flag: "a" }).pipe(Effect.mapError(fail))
    const encoder = new TextEncoder()
    return {
      append: (events) =>
        Effect.gen(function* () {
          if (events.length === 0) return
          const time = journalTime(yield* Clock.currentTimeMillis)
          yield* file.writeAll(encoder.encode(events.map((e) => formatRepairEvent(time, e)).join(""))).pipe(Effect.mapError(fail))
          yield* file.sync.pipe(Effect.mapError(fail))
        }),
    }
  })

/** The Writer field of a new repair file. */
export const repairWriter = `${writerName} repair`
