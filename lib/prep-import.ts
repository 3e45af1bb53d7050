/**
 * PrepImport: copy a dataset onto drives in sessions recorded by a journal, and leave on each
 * drive a manifest the Import/Export service accepts (reference: 000_… "Preparing disk for import
 * job", formats.md §5, §7). The record vocabulary is lib/journal.ts; this module is the order of
 * operations that makes every state the journal can describe a state the drives are in:
 *
 * - nothing is written until every input is valid (dataset, driveset, sources, drives);
 * - data is durable on the drive before the journal record that claims it;
 * - a file is written under a temporary name and renamed when it is complete and durable;
 * - manifests are rebuilt from the journal at the end of a session, so a resumed session gives
 *   the same bytes as one that was never interrupted.
 *
 * Placement: first fit in dataset order (lib/placement.ts), over the drives of the session with
 * the free space measured when the session started (recorded, so that a resume places the same
 * way). Copy order is dataset order: small files go through a durable batch per drive, large
 * ones through the streaming copy with checkpoints every 64 MiB.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Chunk, Data, Effect, Option, Redacted, Scope, Stream } from "effect"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { blockSize } from "./blocks.ts"
import { type Io, noteLogger, type Output } from "./cli.ts"
import { copyFile, type CopyCheckpoint, partialPathOf } from "./copy-file.ts"
import { type CopiedFile, type DurableBatch, makeDurableBatch, type SmallFile } from "./copy-batch.ts"
import { type Credential, fingerprintOf, saveCredential, sessionCredential } from "./credential.ts"
import { readDatasetFile, validateDataset } from "./dataset.ts"
import { type CheckedDrive, checkDrive, type Drive, type ProtectedPath, resolveDriveRoot, useFromRow } from "./drive.ts"
import { FilePathAllocator, localPathOf, sideFilePath } from "./drive-paths.ts"
import { type DrivesetRow, driveName, loadDriveset, readDrivesetFile } from "./driveset.ts"
import { BlobListFileChanged, FileUnreadable, FileUnwritable, InvalidInput, SourceChanged, UsageError } from "./errors.ts"
import { ensureDirectory, syncDirectory, tempPathOf, writeFileDurably } from "./durable.ts"
import { checkLimitsMatch, type FreeSpaceLimit, limitedFree, limitFor } from "./free-space.ts"
import { readWhole, unreadable, unwritable } from "./files.ts"
import { md5Hex } from "./hash.ts"
import {
  applyEvent,
  type FileCopyRef,
  type JournalEvent,
  type JournalState,
  type JournalWriter,
  newJournalId,
  openJournalWriter,
  readJournalFile,
  replayJournal,
  writerName,
} from "./journal.ts"
import { jobFilePath, jobFileText } from "./job-file.ts"
import { lockJournalAsRead, refuseIfJournalLocked } from "./journal-lock.ts"
import { driveFullReason, manifestEventsForDrive } from "./manifest-build.ts"
import { writeManifest } from "./manifest-writer.ts"
import { checkSessionId } from "./names.ts"
import type { MountMap, Platform } from "./paths.ts"
import { driveCountWarning, Placer, placementItem } from "./placement.ts"
import { listCopySessions, listDrives } from "./prep-list.ts"
import { makeProgress } from "./progress.ts"
import { plural } from "./output.ts"
import { checkSources, enumerateSources, requireUnchanged, type SourceFile } from "./sources.ts"

export const waieVersion = "0.1.0"
export const clientCreator = `${writerName} ${waieVersion}`
export const manifestFileName = "DriveManifest.xml"
export const manifestFilePath = `\\${manifestFileName}`
/** Files up to this size go through a durable batch; larger ones are copied with checkpoints. */
export const smallFileLimit = blockSize

export interface Given {
  readonly real: string
  readonly shown: string
}

export interface PrepImportRequest {
  readonly action: "session" | "resume" | "abort" | "list-drives" | "list-sessions"
  readonly journal: Given
  readonly sessionId?: string
  readonly logDir?: Given
  readonly credential?: Credential
  readonly silent: boolean
  readonly initialDriveSet?: Given
  readonly additionalDriveSet?: Given
  readonly dataSet?: Given
  readonly mounts: MountMap
  /** the --mount values as given, recorded with the session */
  readonly mountTexts: ReadonlyArray<string>
  readonly platform: Platform
  /** `--free-space`: drives counted as having at most this much room (a new session, added drives) */
  readonly freeSpace?: ReadonlyArray<FreeSpaceLimit>
}

/** The journal's state forbids what was asked (a reused id, an interrupted session, …). */
export class SessionRefused extends Data.TaggedError("SessionRefused")<{ readonly journal: string; readonly reason: string }> {
  override get message(): string {
    return `${this.journal}: ${this.reason}`
  }
}

/** The session stopped because some files fit on no drive; nothing is lost, it can continue. */
export class DataDoesNotFit extends Data.TaggedError("DataDoesNotFit")<{
  readonly journal: string
  readonly sessionId: string
  readonly files: number
  readonly bytes: number
  readonly examples: ReadonlyArray<string>
}> {
  override get message(): string {
    const more = this.files > this.examples.length ? `\n  … and ${this.files - this.examples.length} more` : ""
    return `${this.journal}: session ${this.sessionId} is interrupted: ${this.files} file${this.files === 1 ? "" : "s"} (${this.bytes} bytes) fit on no drive:\n${this.examples.map((e) => `  ${e}`).join("\n")}${more}\nadd drives with /AdditionalDriveSet:<driveset.csv> /id:${this.sessionId}, or abort the session with /AbortSession`
  }
}

type Env = FileSystem.FileSystem | Scope.Scope

// ---------------------------------------------------------------- small helpers



const fileMd5 = (real: string): Effect.Effect<{ bytes: Uint8Array; hash: string }, FileUnreadable, FileSystem.FileSystem> =>
  Effect.map(readWhole(real), (bytes) => ({ bytes, hash: md5Hex(bytes) }))

/** The recovery key kept in a drive's `<DriveId>.xml`, for drives of earlier sessions. */
const keptKey = (journal: string, driveId: string): Effect.Effect<string, never, FileSystem.FileSystem> =>
  readWhole(jobFilePath(journal, driveId)).pipe(
    Effect.map((b) => /<BitLockerKey>([^<]*)<\/BitLockerKey>/.exec(new TextDecoder().decode(b))?.[1] ?? ""),
    Effect.orElseSucceed(() => ""),
  )

/** A drive's `<DriveId>.xml` for the portal (0600: it holds the BitLocker key); "" hash before its manifest exists. */
const writeDriveInfo = (journal: string, d: SessionDrive, manifestHash: string): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  writeFileDurably(jobFilePath(journal, d.drive.driveId), new TextEncoder().encode(jobFileText(d.drive.driveId, d.key, manifestFilePath, manifestHash)), 0o600)

/** Rebuild a drive's manifest from the journal (the given sessions' blobs) and its `<DriveId>.xml`. */
const writeDriveManifest = (journal: string, d: SessionDrive, credential: Credential, sessions: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const target = path.join(d.drive.root, manifestFileName)
    const written = yield* writeManifest(target, manifestEventsForDrive({ journal, driveId: d.drive.driveId, credential, clientCreator, sessions }), target)
    yield* writeDriveInfo(journal, d, written.hash)
    return { target, ...written }
  })

/** The journal's drives, to reopen by their recorded root and DriveId. */
const knownDrives = (state: JournalState | undefined): OpenPlan["known"] => [...(state?.drives.values() ?? [])].map((d) => ({ driveId: d.driveId, root: d.root, name: d.name }))

/** A pull cursor over a stream, for walking the journal beside the dataset. */
const cursor = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    let buffer: Array<A> = []
    let ended = false
    const next: Effect.Effect<Option.Option<A>, E, R> = Effect.suspend(() => {
      if (buffer.length > 0) return Effect.succeed(Option.some(buffer.shift()!))
      if (ended) return Effect.succeed(Option.none())
      return pull.pipe(
        Effect.map((chunk) => {
          buffer = Chunk.toArray(chunk)
          return undefined
        }),
        Effect.catchAll((e) => (Option.isNone(e) ? Effect.sync(() => void (ended = true)) : Effect.fail(e.value))),
        Effect.flatMap(() => next),
      )
    })
    return next
  })

// ---------------------------------------------------------------- what a session copies

interface SessionDrive {
  readonly drive: Drive
  /** the recovery key (for `<DriveId>.xml`) */
  readonly key: string
}

interface SessionContext {
  readonly req: PrepImportRequest
  readonly out: Output
  readonly io: Io
  readonly journal: Given
  readonly writer: JournalWriter
  readonly sessionId: string
  readonly credential: Credential
  /** every drive of the journal, opened and locked */
  readonly drives: ReadonlyArray<SessionDrive>
  /** the drives of this session, in placement order */
  readonly sessionDrives: ReadonlyArray<SessionDrive>
  /** their free bytes when the session started (recorded; a resume places as the start did) */
  readonly freeBytes: ReadonlyArray<number>
  /** how many of them each phase added (the first phase, then each /AdditionalDriveSet) */
  readonly phaseSizes: ReadonlyArray<number>
  /** sessions whose blobs the manifests list once this one completes */
  readonly manifestSessions: ReadonlyArray<string>
  /** what the dataset selects (the pre-flight count), for the progress bar */
  readonly totalFiles: number
  readonly totalBytes: number
}

/** What the journal says of the files of one session (the resume plan); bounded but for `completed`. */
interface SessionRecord {
  readonly completed: Set<number>
  /** progress of files started and not completed: durable offset and block/range counts */
  readonly partial: Map<number, { upto: number; complete: boolean; driveId: string }>
  /** files a full drive left (FileSkipped "drive full: …"): number → the phase that skips them */
  readonly fullSkipped: Map<number, number>
  /** drives found full: after which file of which phase they take no more */
  readonly fullMarks: Array<{ readonly driveId: string; readonly phase: number; readonly after: number }>
  readonly blobLists: Map<string, number>
  /** the metadata/properties copies each recorded blob list names (a drive added later gets them too) */
  readonly listFiles: Map<number, { readonly metadata?: FileCopyRef; readonly properties?: FileCopyRef }>
  /** per phase (the first, then one per /AdditionalDriveSet): drives added, and 1 + the last file number recorded */
  readonly phaseSizes: Array<number>
  readonly recordedByPhase: Array<number>
}

/**
 * The phase a session record belongs to: a session's drives are added in groups of DriveAdded
 * records — the first when it starts, one more each time /AdditionalDriveSet continues it — and
 * each group opens a phase that places the files the earlier phases could not.
 */
class PhaseTracker {
  phase = -1
  private lastWasDrive = false
  see(e: { readonly _tag: string }): number {
    if (e._tag === "DriveAdded") {
      if (!this.lastWasDrive) this.phase++
      this.lastWasDrive = true
    } else this.lastWasDrive = false
    return this.phase
  }
}

/**
 * A drive that runs out of space mid-session (ENOSPC: its free space was measured wrong, or
 * something else filled it). The session stops as interrupted (exit 5, like DataDoesNotFit):
 * the files that drive was copying are recorded as skipped with the reason `drive full: <DriveId>`
 * (their partial files removed), the drive takes no more files of the session from there on
 * (a resume places the rest elsewhere), and /AdditionalDriveSet continues the session on
 * another drive. Nothing partial ever carries a final name.
 */
export class DriveFull extends Data.TaggedError("DriveFull")<{
  readonly journal: string
  readonly sessionId: string
  readonly drive: string
  readonly driveId: string
  readonly files: number
}> {
  override get message(): string {
    return `${this.journal}: session ${this.sessionId} is interrupted: drive ${this.drive} (${this.driveId}) is full (no space left on device); ${this.files} file${this.files === 1 ? "" : "s"} it was copying will go to another drive\nadd drives with /AdditionalDriveSet:<driveset.csv> /id:${this.sessionId}, or abort the session with /AbortSession`
  }
}

const driveFullOf = (reason: string): string | undefined => (reason.startsWith(driveFullReason) ? reason.slice(driveFullReason.length) : undefined)

/** A write on a session drive met ENOSPC (handled by the copy loop: see DriveFull). */
class NoSpace extends Data.TaggedError("NoSpace")<{ readonly driveId: string; readonly cause: FileUnwritable }> {}

const isNoSpace = (e: unknown): e is FileUnwritable => e instanceof FileUnwritable && e.code === "ENOSPC"

/** ENOSPC of `effect` as NoSpace on `driveId`. */
const onDrive =
  (driveId: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, FileUnwritable> | FileUnwritable | NoSpace, R> =>
    Effect.catchIf(effect, isNoSpace, (cause) => Effect.fail(new NoSpace({ driveId, cause }))) as Effect.Effect<A, Exclude<E, FileUnwritable> | FileUnwritable | NoSpace, R>

const listKey = (f: SourceFile): string => `${f.metadataFile ?? ""}\u0000${f.propertiesFile ?? ""}`

const readSessionRecord = (journal: Given, sessionId: string): Effect.Effect<SessionRecord, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const rec: SessionRecord = { completed: new Set(), partial: new Map(), fullSkipped: new Map(), fullMarks: [], blobLists: new Map(), listFiles: new Map(), phaseSizes: [], recordedByPhase: [] }
    const lengths = new Map<number, number>()
    const phases = new PhaseTracker()
    yield* Stream.runForEach(readJournalFile(journal.real, journal.shown), (e) =>
      Effect.sync(() => {
        if (e._tag === "TornTail" || !("sessionId" in e) || e.sessionId !== sessionId) return
        const phase = phases.see(e)
        switch (e._tag) {
          case "DriveAdded":
            rec.phaseSizes[phase] = (rec.phaseSizes[phase] ?? 0) + 1
            rec.recordedByPhase[phase] ??= 0
            break
          case "BlobListDefined":
            rec.blobLists.set(`${e.metadata?.source ?? ""}\u0000${e.properties?.source ?? ""}`, e.blobList)
            rec.listFiles.set(e.blobList, { ...(e.metadata ? { metadata: e.metadata } : {}), ...(e.properties ? { properties: e.properties } : {}) })
            break
          case "FileStarted":
            rec.recordedByPhase[phase] = Math.max(rec.recordedByPhase[phase] ?? 0, e.file + 1)
            if (!rec.completed.has(e.file)) {
              lengths.set(e.file, e.length)
              rec.partial.set(e.file, { upto: 0, complete: false, driveId: e.driveId })
            }
            break
          case "FileSkipped": {
            const recorded = rec.recordedByPhase[phase] ?? 0
            rec.recordedByPhase[phase] = Math.max(recorded, e.file + 1)
            const full = driveFullOf(e.reason)
            if (full !== undefined) {
              rec.fullSkipped.set(e.file, phase)
              rec.partial.delete(e.file)
              lengths.delete(e.file)
              // the drive is full from after the last file the run that met it had recorded in this phase
              const after = Math.max(recorded - 1, e.file)
              const mark = rec.fullMarks.findIndex((m) => m.driveId === full && m.phase === phase)
              if (mark < 0) rec.fullMarks.push({ driveId: full, phase, after })
              else rec.fullMarks[mark] = { driveId: full, phase, after: Math.max(after, rec.fullMarks[mark]!.after) }
            }
            break
          }
          case "BlocksDurable": {
            const p = rec.partial.get(e.file)
            const length = lengths.get(e.file) ?? 0
            if (p) p.upto = Math.min(length, (e.from + e.hashes.length) * blockSize)
            break
          }
          case "RangesDurable": {
            const p = rec.partial.get(e.file)
            if (p) p.upto = e.upto
            break
          }
          case "FilesCompleted":
            for (const f of e.files) {
              rec.completed.add(f)
              rec.partial.delete(f)
              lengths.delete(f)
            }
            break
          default:
            break
        }
      }),
    )
    return rec
  })

/** Copy a metadata/properties file to every drive of the session (but full ones); the list's record follows. */
const defineBlobList = (ctx: SessionContext, index: number, file: SourceFile, drives: ReadonlyArray<SessionDrive>): Effect.Effect<void, FileUnreadable | FileUnwritable | NoSpace, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const side = (source: string | undefined, kind: "metadata" | "properties") =>
      Effect.gen(function* () {
        if (source === undefined) return undefined
        const { bytes, hash } = yield* fileMd5(source)
        const filePath = sideFilePath(ctx.sessionId, kind, hash)
        for (const d of drives) yield* writeFileDurably(localPathOf(d.drive.root, filePath, ctx.req.platform), bytes, 0o644).pipe(onDrive(d.drive.driveId))
        return { source, path: filePath, hash } satisfies FileCopyRef
      })
    const metadata = yield* side(file.metadataFile, "metadata")
    const properties = yield* side(file.propertiesFile, "properties")
    yield* ctx.writer.append([{ _tag: "BlobListDefined", sessionId: ctx.sessionId, blobList: index, ...(metadata ? { metadata } : {}), ...(properties ? { properties } : {}) }], { sync: true })
  })

/**
 * Copy the metadata/properties files of a blob list the journal recorded earlier onto a drive
 * that may not have them: a drive /AdditionalDriveSet added after the list was defined. The
 * source must still have the bytes the journal recorded (the manifests of the other drives name
 * that hash).
 */
const copyRecordedSideFiles = (ctx: SessionContext, files: { readonly metadata?: FileCopyRef; readonly properties?: FileCopyRef }, d: SessionDrive) =>
  Effect.gen(function* () {
    for (const ref of [files.metadata, files.properties]) {
      if (ref === undefined) continue
      const { bytes, hash } = yield* fileMd5(ref.source)
      if (hash !== ref.hash) return yield* Effect.fail(new BlobListFileChanged({ path: ref.source, recorded: ref.hash, found: hash }))
      yield* writeFileDurably(localPathOf(d.drive.root, ref.path, ctx.req.platform), bytes, 0o644)
    }
  })

interface Pending extends SmallFile {
  readonly index: number
}

/** The durable records of a copied file's chunks. */
const durableRecords = (sessionId: string, index: number, kind: "block" | "page", added: CopyCheckpoint["added"], durable: number): JournalEvent => {
  if (kind === "block") {
    const blocks = added as ReadonlyArray<{ index: number; hash: string }>
    const from = blocks.length > 0 ? blocks[0]!.index : Math.ceil(durable / blockSize)
    return { _tag: "BlocksDurable", sessionId, file: index, from, hashes: blocks.map((b) => b.hash) }
  }
  const ranges = added as ReadonlyArray<{ offset: number; length: number; hash: string }>
  return { _tag: "RangesDurable", sessionId, file: index, upto: durable, ranges: ranges.map((r) => ({ offset: r.offset, length: r.length, hash: r.hash })) }
}

/** The copy loop of a session: from the first file (or where a resume finds it) to the last. */
const copySession = (ctx: SessionContext, rec: SessionRecord | undefined) =>
  Effect.gen(function* () {
    const { req, writer, sessionId } = ctx
    const dataSet = req.dataSet!
    // the first phase's drives; each later phase adds its own (see below)
    const placer = new Placer(ctx.sessionDrives.slice(0, ctx.phaseSizes[0] ?? ctx.sessionDrives.length).map((d, i) => ({ id: d.drive.driveId, freeBytes: ctx.freeBytes[i]! })))
    const allocator = new FilePathAllocator(sessionId)
    const blobLists = new Map(rec?.blobLists ?? [])
    /** `list\0driveId` of the drives known to hold a blob list's metadata/properties copies */
    const sideFilesOn = new Set<string>()
    const batches = new Map<string, DurableBatch<Pending, FileUnwritable, never>>()
    const skipped: Array<string> = []
    let skippedFiles = 0
    let skippedBytes = 0
    let copied = 0
    let copiedBytes = 0
    const progress = makeProgress(ctx.io, ctx.out, ctx.totalBytes, ctx.totalFiles)

    /**
     * A resume: the folders an interrupted run made may not be durable yet (it stopped before
     * their parents' fsync, and the copiers sync only the folders they make themselves). Before
     * a file is copied again, each folder above its own (up to the drive's root) is synced,
     * once per run; the side-file folder and the session's folder on every drive up front.
     */
    const durableDirs = new Set<string>()
    const syncAncestors = (root: string, dir: string) =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const top = path.resolve(root)
        for (let at = path.resolve(dir); !durableDirs.has(at); at = path.dirname(at)) {
          durableDirs.add(at)
          if (yield* fs.exists(at).pipe(Effect.orElseSucceed(() => false))) yield* syncDirectory(at)
          if (at === top || path.dirname(at) === at || !at.startsWith(top)) break
        }
      })
    if (rec !== undefined) for (const d of ctx.sessionDrives) yield* syncAncestors(d.drive.root, localPathOf(d.drive.root, `\\${sessionId}`, req.platform))

    /** files started on a drive and not completed yet (a full drive leaves them to another) */
    const inFlight = new Map<number, { readonly driveId: string; readonly target: string; readonly source: string; readonly length: number }>()
    /** drives found full (by an earlier run, replayed in place, or by this one) */
    const fullDrives = new Set<string>()
    const pendingMarks = [...(rec?.fullMarks ?? [])]
    const applyMarks = (phase: number, index: number) => {
      for (let i = 0; i < pendingMarks.length; ) {
        const m = pendingMarks[i]!
        if (m.phase < phase || (m.phase === phase && index > m.after)) {
          const at = ctx.sessionDrives.findIndex((d) => d.drive.driveId === m.driveId)
          if (at >= 0 && at < placer.driveCount) placer.markFull(at)
          fullDrives.add(m.driveId)
          pendingMarks.splice(i, 1)
        } else i++
      }
    }
    /** ENOSPC on a drive: its files in flight (and `current`, not started) recorded as left by a full drive, then DriveFull */
    const driveFull = (e: NoSpace, current: SourceFile | undefined) =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const left = [...inFlight].filter(([, f]) => f.driveId === e.driveId).map(([index, f]) => ({ index, ...f }))
        if (current !== undefined && !inFlight.has(current.index)) left.push({ index: current.index, driveId: e.driveId, target: "", source: current.sourcePath, length: current.length })
        left.sort((a, b) => a.index - b.index)
        // room back on the drive, and no partial file left behind for a resume to trust
        for (const f of left) if (f.target !== "") for (const p of [partialPathOf(f.target), f.target]) yield* fs.remove(p).pipe(Effect.ignore)
        yield* writer.append(
          left.map((f) => ({ _tag: "FileSkipped", sessionId, file: f.index, source: f.source, length: f.length, reason: `${driveFullReason}${e.driveId}` }) satisfies JournalEvent),
          { sync: true },
        )
        const d = ctx.sessionDrives.find((x) => x.drive.driveId === e.driveId)
        return yield* Effect.fail(new DriveFull({ journal: ctx.journal.shown, sessionId, drive: d?.drive.drive ?? e.driveId, driveId: e.driveId, files: left.length }))
      })

    const batchFor = (d: SessionDrive) =>
      Effect.gen(function* () {
        const have = batches.get(d.drive.driveId)
        if (have) return have
        const batch = yield* makeDurableBatch<Pending, FileUnwritable, never>({
          root: d.drive.root,
          onBatch: (files: ReadonlyArray<CopiedFile<Pending>>) =>
            Effect.tap(Effect.sync(() => files.forEach((f) => inFlight.delete(f.file.index))), () => writer.append(
              [
                ...files.map((f) => durableRecords(sessionId, f.file.index, f.kind, f.descriptors, f.file.length)),
                { _tag: "FilesCompleted", sessionId, files: files.map((f) => f.file.index) } satisfies JournalEvent,
              ],
              { sync: true },
            )),
        })
        batches.set(d.drive.driveId, batch)
        return batch
      })

    // the journal's file records of this session, with their phase, walked beside the dataset on a resume
    const records = rec ? yield* cursor(readJournalFile(req.journal.real, req.journal.shown)) : undefined
    const tracker = new PhaseTracker()
    let peeked: { readonly phase: number; readonly e: Extract<JournalEvent, { _tag: "FileStarted" | "FileSkipped" }> } | undefined
    const peek = Effect.gen(function* () {
      while (peeked === undefined) {
        const o = yield* records!
        if (Option.isNone(o)) return undefined
        const e = o.value
        if (e._tag === "TornTail" || !("sessionId" in e) || e.sessionId !== sessionId) continue
        const phase = tracker.see(e)
        if (e._tag === "FileStarted" || e._tag === "FileSkipped") peeked = { phase, e }
      }
      return peeked
    })
    /** the record of file `index` in `phase`, or undefined when the phase has none for it */
    const recordOf = (phase: number, index: number) =>
      Effect.gen(function* () {
        for (;;) {
          const p = yield* peek
          if (p === undefined || p.phase > phase || (p.phase === phase && p.e.file > index)) return undefined
          peeked = undefined
          if (p.phase === phase && p.e.file === index) return p.e
        }
      })

    /** files that fit on no drive yet: number → length (held for the later phases) */
    const skippedNow = new Map<number, number>()
    const skip = (file: SourceFile) => {
      skippedNow.set(file.index, file.length)
      if (skipped.length < 10) skipped.push(`${file.sourcePath} (${file.length} bytes)`)
    }
    const phaseCount = Math.max(ctx.phaseSizes.length, 1)
    let drivesSoFar = ctx.phaseSizes[0] ?? ctx.sessionDrives.length
    for (let phase = 0; phase < phaseCount; phase++) {
      if (phase > 0) {
        const size = ctx.phaseSizes[phase]!
        placer.addDrives(ctx.sessionDrives.slice(drivesSoFar, drivesSoFar + size).map((d, i) => ({ id: d.drive.driveId, freeBytes: ctx.freeBytes[drivesSoFar + i]! })))
        drivesSoFar += size
        skipped.length = 0
      }
      const boundary = rec?.recordedByPhase[phase] ?? 0
      const enumeration = enumerateSources(dataSet.shown, readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform }).rows, { checkReadable: false })
      yield* Stream.runForEach(enumeration.files, (file) =>
        Effect.gen(function* () {
          applyMarks(phase, file.index)
          // a later phase places only what the earlier ones could not
          if (phase > 0 && !skippedNow.has(file.index)) return
          const item = placementItem(file)
          const placed = placer.place(item)
          const filePath = placed === undefined ? undefined : allocator.allocate(file.blobPath)
          const d = placed === undefined ? undefined : ctx.sessionDrives[placed]!
          const kind = file.blobType === "PageBlob" ? ("page" as const) : ("block" as const)
          let startAt = 0
          if (file.index < boundary) {
            const r = yield* recordOf(phase, file.index)
            if (rec!.fullSkipped.get(file.index) === phase && r !== undefined && r.source === file.sourcePath && r.length === file.length) {
              // left by a drive that ran out of space: placed by a later phase
              skip(file)
              return
            }
            // a later phase records nothing for a file that still fits nowhere
            const stillSkipped = r === undefined && phase > 0 && placed === undefined
            const same =
              stillSkipped ||
              (r !== undefined &&
                r.source === file.sourcePath &&
                r.length === file.length &&
                (r._tag === "FileSkipped" ? placed === undefined : r.mtimeMs === file.mtimeMs && r.driveId === d?.drive.driveId && r.filePath === filePath))
            if (!same) {
              if (r !== undefined && r.source !== file.sourcePath) {
                // the walk found another file where the session had r: r is gone or changed (named), or a file new to the dataset came first
                if (r._tag === "FileStarted") yield* requireUnchanged({ sourcePath: r.source, length: r.length, mtimeMs: r.mtimeMs })
                return yield* Effect.fail(new SourceChanged({ path: file.sourcePath, length: file.length, mtimeMs: file.mtimeMs, found: `a file new to the data set, where the session had ${r.source}` }))
              }
              return yield* Effect.fail(
                new SourceChanged({ path: file.sourcePath, length: r?.length ?? file.length, mtimeMs: r?._tag === "FileStarted" ? r.mtimeMs : file.mtimeMs, found: r === undefined ? "a file the session did not have" : `${file.length} bytes, modified at ${new Date(file.mtimeMs).toISOString()}` }),
              )
            }
            if (stillSkipped || r!._tag === "FileSkipped") {
              if (phase === 0) skip(file)
              else if (skipped.length < 10) skipped.push(`${file.sourcePath} (${file.length} bytes)`)
              return
            }
            skippedNow.delete(file.index)
            if (rec!.completed.has(file.index)) {
              progress.add(file.length)
              progress.fileDone()
              return
            }
            startAt = rec!.partial.get(file.index)?.upto ?? 0
            progress.add(startAt)
          } else {
            if (placed === undefined) {
              if (phase === 0) {
                skip(file)
                yield* writer.append([{ _tag: "FileSkipped", sessionId, file: file.index, source: file.sourcePath, length: file.length, reason: "fits on no drive" }])
              } else if (skipped.length < 10) skipped.push(`${file.sourcePath} (${file.length} bytes)`)
              return
            }
            skippedNow.delete(file.index)
            const key = listKey(file)
            let list = blobLists.get(key)
            if (list === undefined) {
              list = blobLists.size
              blobLists.set(key, list)
              const room = ctx.sessionDrives.filter((sd) => !fullDrives.has(sd.drive.driveId))
              yield* defineBlobList(ctx, list, file, room)
              for (const sd of room) sideFilesOn.add(`${list}\u0000${sd.drive.driveId}`)
            } else if (!sideFilesOn.has(`${list}\u0000${d!.drive.driveId}`)) {
              // a list an earlier run defined, before this drive was added: its copies may be missing here
              const files = rec?.listFiles.get(list)
              if (files !== undefined) yield* copyRecordedSideFiles(ctx, files, d!).pipe(onDrive(d!.drive.driveId))
              sideFilesOn.add(`${list}\u0000${d!.drive.driveId}`)
            }
            yield* writer.append([
              {
                _tag: "FileStarted",
                sessionId,
                file: file.index,
                driveId: d!.drive.driveId,
                source: file.sourcePath,
                length: file.length,
                mtimeMs: file.mtimeMs,
                blobPath: file.blobPath,
                filePath: filePath!,
                blobType: file.blobType,
                disposition: file.disposition,
                blobList: list,
              },
            ])
          }
        const target = localPathOf(d!.drive.root, filePath!, req.platform)
        if (rec !== undefined) yield* syncAncestors(d!.drive.root, path.dirname(path.dirname(target)))
        inFlight.set(file.index, { driveId: d!.drive.driveId, target, source: file.sourcePath, length: file.length })
        const thisDrive = onDrive(d!.drive.driveId)
        copied++
        copiedBytes += file.length
        if (file.length <= smallFileLimit && startAt === 0) {
          const batch = yield* batchFor(d!)
          yield* batch.add({ index: file.index, source: file.sourcePath, target, kind, length: file.length, mtimeMs: file.mtimeMs }).pipe(thisDrive)
          progress.add(file.length)
          progress.fileDone()
          return
        }
        // a large file: what is batched for its drive goes first, so completions stay in order
        const batch = batches.get(d!.drive.driveId)
        if (batch) yield* batch.flush.pipe(thisDrive)
        let reached = startAt
        yield* copyFile({
          source: file.sourcePath,
          target,
          kind,
          length: file.length,
          mtimeMs: file.mtimeMs,
          startAt,
          onProgress: (at) => {
            progress.add(at - reached)
            reached = at
          },
          onDurable: (c) => writer.append([durableRecords(sessionId, file.index, kind, c.added, c.durable)], { sync: true }),
        }).pipe(thisDrive)
        yield* writer.append([{ _tag: "FilesCompleted", sessionId, files: [file.index] }], { sync: true })
        inFlight.delete(file.index)
        progress.fileDone()
      }).pipe(Effect.catchTag("NoSpace", (e) => driveFull(e, file))),
      )
      const summary = enumeration.summary()
      if (summary.issues.length > 0) return yield* Effect.fail(new InvalidInput({ format: "dataset", file: dataSet.shown, issues: summary.issues }))
    }
    for (const [driveId, b] of batches) yield* b.flush.pipe(onDrive(driveId), Effect.catchTag("NoSpace", (e) => driveFull(e, undefined)))
    progress.finish()
    for (const length of skippedNow.values()) {
      skippedFiles++
      skippedBytes += length
    }
    for (const u of placer.usage()) {
      ctx.out.event("driveUsage", { driveId: u.id, files: u.files, bytes: u.bytes, freeLeft: u.freeLeft }, `  ${u.id}: ${plural(u.files, "file")}, ${u.bytes} bytes, ${u.freeLeft} bytes left`)
    }
    return { copied, copiedBytes, skippedFiles, skippedBytes, skipped }
  })

// ---------------------------------------------------------------- ending a session

const finishSession = (ctx: SessionContext) =>
  Effect.gen(function* () {
    const { writer, sessionId, journal } = ctx
    for (const d of ctx.drives) {
      const written = yield* writeDriveManifest(journal.real, d, ctx.credential, ctx.manifestSessions)
      const target = written.target
      yield* writer.append([{ _tag: "DriveInfo", driveId: d.drive.driveId, manifestFile: manifestFilePath, manifestHash: written.hash }], { sync: true })
      const driveList = `bit-locker-key=${d.key} drive-header-hash="" drive-id=${d.drive.driveId} manifest-file=${manifestFilePath} manifest-hash=${written.hash}`
      ctx.out.event(
        "drive",
        { driveId: d.drive.driveId, drive: d.drive.drive, root: d.drive.root, manifestFile: manifestFilePath, manifestPath: target, manifestHash: written.hash, manifestBytes: written.bytes, driveInfoFile: jobFilePath(journal.shown, d.drive.driveId) },
        [
          `drive ${d.drive.drive} (${d.drive.root})`,
          `  DriveId       ${d.drive.driveId}`,
          `  BitLockerKey  ${d.key === "" ? "(none recorded)" : d.key}`,
          `  manifest      ${target} (${manifestFilePath})`,
          `  ManifestHash  ${written.hash}`,
          `  job file      ${jobFilePath(journal.shown, d.drive.driveId)}`,
          `  az import-export --drive-list ${driveList}`,
        ].join("\n"),
      )
    }
    yield* writer.append([{ _tag: "SessionCompleted", sessionId }], { sync: true })
  })

// ---------------------------------------------------------------- the commands

const requireGiven = (v: Given | undefined, flag: string, why: string): Effect.Effect<Given, UsageError> =>
  v === undefined ? Effect.fail(new UsageError({ command: "PrepImport", message: `${flag} is required ${why}` })) : Effect.succeed(v)

/**
 * Write the journal's first `end` bytes again, in place, and fsync them, before a run appends to
 * it. The run that wrote them may have stopped on a failed fsync: Linux then marks the pages
 * clean though they never reached the disk, so the bytes read back fine from the page cache yet
 * are lost at the next power cut, and a later fsync that succeeds does not save them. Such a
 * journal would end up with a hole under records appended after it. An fsync is never retried
 * on the same dirty pages: the bytes are written again, which makes them dirty again.
 */
const rewriteDurably = (journal: Given, end: number): Effect.Effect<void, FileUnwritable | FileUnreadable, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const f = yield* fs.open(journal.real, { flag: "r+" }).pipe(Effect.mapError(unwritable(journal.shown)))
      const chunk = new Uint8Array(Math.min(end, 1024 * 1024))
      for (let at = 0; at < end; ) {
        const n = Math.min(chunk.length, end - at)
        yield* f.seek(at, "start")
        let got = 0
        while (got < n) {
          const r = Number(yield* f.read(chunk.subarray(got, n)).pipe(Effect.mapError(unreadable(journal.shown))))
          if (r === 0) return yield* Effect.fail(new FileUnreadable({ path: journal.shown, code: "EIO", reason: `ended at ${at + got} bytes, before the ${end} the journal was read with` }))
          got += r
        }
        yield* f.seek(at, "start")
        yield* f.writeAll(chunk.subarray(0, n)).pipe(Effect.mapError(unwritable(journal.shown)))
        at += n
      }
      yield* f.sync.pipe(Effect.mapError(unwritable(journal.shown)))
    }),
  )

const readState = (journal: Given): Effect.Effect<JournalState | undefined, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(journal.real).pipe(Effect.orElseSucceed(() => false))
    if (!exists) return undefined
    // a journal without one intact record (a crash while its first records were written) holds
    // nothing: it is taken as no journal, and a first session starts it again
    const intact = yield* Stream.runHead(Stream.filter(readJournalFile(journal.real, journal.shown), (e) => e._tag !== "TornTail"))
    if (Option.isNone(intact)) return undefined
    return yield* replayJournal(journal.real, journal.shown)
  })

/** `/logdir:` names a folder: one that exists, or one to be (waie writes no log there yet). A file there is refused. */
const requireLogFolder = (logDir: Given): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(logDir.real).pipe(Effect.option)
    if (Option.isSome(info) && info.value.type !== "Directory") {
      return yield* Effect.fail(new FileUnwritable({ path: logDir.shown, code: "ENOTDIR", reason: "a file, not a folder (/logdir: names the folder of the job's logs)" }))
    }
  })

const keyOf = (row: DrivesetRow): string => (row.key ? Redacted.value(row.key) : "")

interface OpenPlan {
  /** drives of the journal, reopened by their recorded root and DriveId */
  readonly known: ReadonlyArray<{ readonly driveId: string; readonly root: string; readonly name: string; readonly identityMayBeGone?: boolean }>
  /** drives new to the journal, from a driveset */
  readonly added: ReadonlyArray<DrivesetRow>
}

/**
 * Check and lock every drive, run `beforeCommit`, then give the new drives their identity files
 * (and format them). A first session creates its journal in `beforeCommit`: a drive must never
 * name a journal id that no durable journal holds (a crash in between would leave the drive
 * refused as another journal's by the same session run again).
 */
const openDrives = <E = never, R = never>(req: PrepImportRequest, journalId: string, plan: OpenPlan, protectedPaths: ReadonlyArray<ProtectedPath>, beforeCommit: Effect.Effect<void, E, R> = Effect.void as Effect.Effect<void, E, R>) =>
  Effect.gen(function* () {
    const limits = req.freeSpace ?? []
    const unmatched = checkLimitsMatch("PrepImport", limits, [
      ...plan.known.map((k) => ({ name: k.name, root: k.root })),
      ...plan.added.map((row) => ({ name: driveName(row.drive), ...(row.drive.kind === "path" ? { root: row.drive.path } : {}) })),
    ])
    if (unmatched) return yield* Effect.fail(unmatched)
    const limited = (drive: Drive): Drive => {
      const limit = limitFor(limits, drive.drive, drive.root)
      return limit === undefined ? drive : { ...drive, freeBytes: () => Effect.map(drive.freeBytes(), (free) => limitedFree(free, limit)) }
    }
    // every drive is checked (and locked) before any is formatted or given its identity file
    const knownChecked = yield* Effect.forEach(plan.known, (k) =>
      Effect.gen(function* () {
        const checked = yield* checkDrive({ root: k.root, drive: k.name, journalId, journalPath: req.journal.real, protectedPaths, use: { kind: "known", driveId: k.driveId, ...(k.identityMayBeGone === true ? { identityMayBeGone: true } : {}) } })
        return { checked, name: k.name, key: yield* keptKey(req.journal.real, k.driveId) }
      }),
    )
    const addedChecked = yield* Effect.forEach(plan.added, (row) =>
      Effect.gen(function* () {
        if (row.encryption === "Encrypt") {
          const { encryptionPlan } = yield* Effect.promise(() => import("./drive.ts"))
          yield* encryptionPlan(row, req.platform)
        }
        const root = yield* resolveDriveRoot(row, req.mounts, req.platform)
        const checked = yield* checkDrive({ root, drive: driveName(row.drive), journalId, journalPath: req.journal.real, protectedPaths, use: useFromRow(row, { platform: req.platform, root }) })
        return { checked, name: driveName(row.drive), key: keyOf(row) }
      }),
    )
    const seen = new Map<string, string>()
    for (const d of [...knownChecked, ...addedChecked]) {
      const other = seen.get(d.checked.driveId)
      if (other !== undefined) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `drives ${other} and ${d.name} have the same DriveId ${d.checked.driveId} (the same drive twice, or devices that report one serial)` }))
      seen.set(d.checked.driveId, d.name)
    }
    // an Encrypt volume's key is the recovery password manage-bde made (Windows)
    const commit = (d: { readonly checked: CheckedDrive; readonly key: string }) => Effect.map(d.checked.commit, (drive) => ({ drive: limited(drive), key: drive.recoveryKey !== undefined ? Redacted.value(drive.recoveryKey) : d.key }))
    yield* beforeCommit
    const known = yield* Effect.forEach(knownChecked, commit)
    const added = yield* Effect.forEach(addedChecked, commit)
    // prepImport's logger makes these notes of the command's Output (plain lines, or JSON note lines)
    for (const d of [...known, ...added]) for (const note of d.drive.notes) yield* Effect.logInfo(note)
    return { known, added }
  })

const protectedPathsOf = (req: PrepImportRequest, sources: ReadonlyArray<string>): Array<ProtectedPath> => [
  ...(req.logDir ? [{ kind: "log folder" as const, path: req.logDir.real }] : []),
  ...sources.map((p) => ({ kind: "source" as const, path: p })),
]

/** The local paths the dataset's rows name (for the protected-path checks). */
const datasetSources = (dataSet: Given, req: PrepImportRequest) =>
  Effect.gen(function* () {
    const paths: Array<string> = []
    yield* Stream.runForEach(readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform }).rows, (row) =>
      Effect.sync(() => {
        if (paths.length < 10_000) paths.push(row.source.local)
      }),
    )
    return paths
  })

/** Start a new session (the first of a journal, or a later one). */
const newSession = (req: PrepImportRequest, out: Output, io: Io) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const journal = req.journal
    if (req.sessionId === undefined) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "/id:<SessionId> is required" }))
    const idProblem = checkSessionId(req.sessionId)
    if (idProblem) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: `/id: expected ${idProblem.expected}, found ${idProblem.found}` }))
    const sessionId = req.sessionId
    const dataSet = yield* requireGiven(req.dataSet, "/DataSet:<dataset.csv>", "to start a copy session")
    const recorded = yield* readState(journal)
    // a journal whose first session never got going (a crash right after it was created) is continued as new
    const state = recorded
    const first = !recorded || recorded.sessions.length === 0
    if (recorded && !first) {
      const state = recorded
      const latest = state.sessions[state.sessions.length - 1]
      if (latest && !latest.completed) {
        return yield* Effect.fail(new SessionRefused({ journal: journal.shown, reason: `session ${latest.sessionId} was interrupted: resume it (/id:${latest.sessionId} /ResumeSession) or abort it (/id:${latest.sessionId} /AbortSession) before starting another` }))
      }
      if (state.sessions.some((s) => s.sessionId === sessionId)) return yield* Effect.fail(new SessionRefused({ journal: journal.shown, reason: `session id ${sessionId} is already used in this journal; a new session needs a new /id` }))
      if (req.initialDriveSet) return yield* Effect.fail(new SessionRefused({ journal: journal.shown, reason: "/InitialDriveSet is for the first session of a journal; later sessions use its drives (add drives with /AdditionalDriveSet)" }))
      if (req.logDir && state.logDirectory !== undefined && path.resolve(req.logDir.real) !== state.logDirectory) {
        return yield* Effect.fail(new SessionRefused({ journal: journal.shown, reason: `the log directory of this journal is ${state.logDirectory}; it can be given only once (found ${req.logDir.shown})` }))
      }
    } else {
      yield* requireGiven(req.initialDriveSet, "/InitialDriveSet:<driveset.csv>", "for the first session of a journal")
      if (req.credential === undefined && !recorded) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "/sk:<StorageAccountKey> or /csas:<ContainerSas> is required for the first session of a journal" }))
    }
    if (req.logDir) yield* requireLogFolder(req.logDir)
    const credential = yield* sessionCredential(journal.real, req.credential, state?.credential)
    // every input is checked before anything is written
    yield* validateDataset(readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform }))
    const driveSetGiven = req.initialDriveSet ?? req.additionalDriveSet
    const newRows = driveSetGiven ? (yield* loadDriveset(readDrivesetFile(driveSetGiven.real, driveSetGiven.shown))).rows : []
    const summary = yield* checkSources(dataSet.shown, readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform }).rows)
    const warning = driveCountWarning((state?.drives.size ?? 0) + newRows.length)
    if (warning) out.note(warning)
    const journalId = state?.journalId ?? newJournalId()
    const sources = yield* datasetSources(dataSet, req)
    if (knownDrives(state).length + newRows.length === 0) return yield* Effect.fail(new SessionRefused({ journal: journal.shown, reason: "there is no drive to copy to" }))

    // the journal: created for a first session (before any drive is given an identity naming it), else continued after its last intact record
    // relative to the command's folder, which is not the process's when waie runs inside another program
    const logDir = state?.logDirectory ?? path.resolve(io.cwd, req.logDir?.real ?? ".")
    let opening: JournalWriter | undefined
    const createJournal = Effect.gen(function* () {
      if (!state) {
        const made = new Set<string>()
        yield* ensureDirectory(path.dirname(journal.real), made, path.dirname(journal.shown))
        for (const dir of made) yield* syncDirectory(dir)
      }
      opening = yield* openJournalWriter(journal.real, state?.end ?? 0, journal.shown)
      if (state) yield* rewriteDurably(journal, state.end)
      if (!state) {
        yield* saveCredential(journal.real, credential)
        yield* opening.append(
          [
            { _tag: "JournalCreated", journalId, writer: clientCreator },
            { _tag: "LogDirectory", path: logDir },
            { _tag: "Credential", kind: credential.kind, fingerprint: fingerprintOf(credential) },
          ],
          { sync: true },
        )
      }
    })
    const opened = yield* openDrives(req, journalId, { known: knownDrives(state), added: newRows }, protectedPathsOf(req, sources), createJournal)
    const drives = [...opened.known, ...opened.added]
    const writer = opening!
    const dataSetHash = md5Hex(yield* readWhole(dataSet.real, dataSet.shown))
    const sessionEvents: Array<JournalEvent> = [{ _tag: "SessionStarted", sessionId, dataSet: path.resolve(dataSet.real), dataSetHash, mounts: [...req.mountTexts] }]
    const freeBytes: Array<number> = []
    for (const d of drives) {
      const free = yield* d.drive.freeBytes()
      freeBytes.push(free)
      const row = opened.added.find((a) => a.drive === d.drive)
      const rowOf = row ? newRows[opened.added.indexOf(row)] : undefined
      sessionEvents.push({
        _tag: "DriveAdded",
        sessionId,
        driveId: d.drive.driveId,
        root: d.drive.root,
        name: d.drive.drive,
        format: d.drive.formatted,
        encryption: rowOf?.encryption ?? state?.drives.get(d.drive.driveId)?.encryption ?? "AlreadyEncrypted",
        identity: d.drive.identity,
        freeBytes: free,
      })
    }
    // the job files first: they alone keep the drives' BitLocker keys (the journal holds none), and a resume reads them
    for (const d of opened.added) {
      yield* writeDriveInfo(journal.real, d, "")
    }
    yield* writer.append(sessionEvents, { sync: true })
    out.note(`session ${sessionId}: ${plural(summary.files, "file")}, ${summary.bytes} bytes, onto ${plural(drives.length, "drive")}`)
    const ctx: SessionContext = {
      req,
      out,
      journal,
      writer,
      sessionId,
      credential,
      drives,
      sessionDrives: drives,
      freeBytes,
      phaseSizes: [drives.length],
      manifestSessions: [...(state?.sessions.filter((s) => s.completed).map((s) => s.sessionId) ?? []), sessionId],
      io,
      totalFiles: summary.files,
      totalBytes: summary.bytes,
    }
    return yield* runCopyAndFinish(ctx, undefined)
  })

const runCopyAndFinish = (ctx: SessionContext, rec: SessionRecord | undefined) =>
  Effect.gen(function* () {
    const result = yield* copySession(ctx, rec)
    if (result.skippedFiles > 0) {
      return yield* Effect.fail(new DataDoesNotFit({ journal: ctx.journal.shown, sessionId: ctx.sessionId, files: result.skippedFiles, bytes: result.skippedBytes, examples: result.skipped }))
    }
    yield* finishSession(ctx)
    ctx.out.event("session", { sessionId: ctx.sessionId, status: "completed", files: result.copied, bytes: result.copiedBytes }, `session ${ctx.sessionId} completed: ${plural(result.copied, "file")} copied (${result.copiedBytes} bytes) in this run`)
    return 0
  })

/** The latest session, which must be interrupted and named by /id. */
const interruptedSession = (req: PrepImportRequest, state: JournalState | undefined, what: string) =>
  Effect.gen(function* () {
    if (!state) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `there is no journal here to ${what}` }))
    if (req.sessionId === undefined && what === "add drives to") return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "/AdditionalDriveSet needs the /id of the session to add drives to (or /DataSet to start a new session with them)" }))
    const latest = state.sessions[state.sessions.length - 1]
    if (!latest || latest.completed) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `there is no interrupted session to ${what}: ${latest ? `the latest, ${latest.sessionId}, completed` : "no session was started"}` }))
    if (req.sessionId !== undefined && req.sessionId !== latest.sessionId) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `only the latest session, ${latest.sessionId}, can be ${what === "resume" ? "resumed" : "aborted"} (found /id:${req.sessionId})` }))
    return latest
  })

const resumeSession = (req: PrepImportRequest, out: Output, io: Io) =>
  Effect.gen(function* () {
    const state = yield* readState(req.journal)
    const latest = yield* interruptedSession(req, state, "resume")
    const credential = yield* sessionCredential(req.journal.real, req.credential, state!.credential)
    const dataSet: Given = { real: latest.dataSet, shown: latest.dataSet }
    const recordedHash = md5Hex(yield* readWhole(dataSet.real, dataSet.shown))
    if (recordedHash !== latest.dataSetHash) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `the data set ${latest.dataSet} changed since session ${latest.sessionId} began; a session resumes with the same data set` }))
    const mounts = req.mountTexts.length > 0 ? req.mounts : req.mounts
    const r: PrepImportRequest = { ...req, dataSet, mounts, sessionId: latest.sessionId }
    yield* validateDataset(readDatasetFile(dataSet.real, dataSet.shown, { mounts: r.mounts, platform: r.platform }))
    const summary = yield* checkSources(dataSet.shown, readDatasetFile(dataSet.real, dataSet.shown, { mounts: r.mounts, platform: r.platform }).rows)
    const sources = yield* datasetSources(dataSet, r)
    const opened = yield* openDrives(r, state!.journalId, { known: knownDrives(state), added: [] }, protectedPathsOf(r, sources))
    const rec = yield* readSessionRecord(req.journal, latest.sessionId)
    const writer = yield* openJournalWriter(req.journal.real, state!.end, req.journal.shown)
    yield* rewriteDurably(req.journal, state!.end)
    if (state!.tornTail) out.note(`${req.journal.shown}: its last record was torn (line ${state!.tornTail.line}); it was cut off`)
    const sessionDrives = latest.drives.map((id) => opened.known.find((k) => k.drive.driveId === id)!).filter((d) => d !== undefined)
    out.note(`resuming session ${latest.sessionId}: ${plural(rec.completed.size, "file")} already copied`)
    const ctx: SessionContext = {
      req: r,
      out,
      journal: req.journal,
      writer,
      sessionId: latest.sessionId,
      credential,
      drives: opened.known,
      sessionDrives,
      freeBytes: sessionDrives.map((d) => latest.freeBytes.get(d.drive.driveId) ?? 0),
      phaseSizes: rec.phaseSizes,
      manifestSessions: [...state!.sessions.filter((s) => s.completed).map((s) => s.sessionId), latest.sessionId],
      io,
      totalFiles: summary.files,
      totalBytes: summary.bytes,
    }
    return yield* runCopyAndFinish(ctx, rec)
  })

/**
 * `/AdditionalDriveSet` with the interrupted session's `/id` (and no `/DataSet`): the new drives
 * join the session (a new phase of DriveAdded records), then the session resumes and places on
 * them the files that fit nowhere before.
 */
const continueSession = (req: PrepImportRequest, out: Output, io: Io) =>
  Effect.gen(function* () {
    const state = yield* readState(req.journal)
    const latest = yield* interruptedSession(req, state, "add drives to")
    const driveSet = req.additionalDriveSet!
    const rows = (yield* loadDriveset(readDrivesetFile(driveSet.real, driveSet.shown))).rows
    const dataSet: Given = { real: latest.dataSet, shown: latest.dataSet }
    const r: PrepImportRequest = { ...req, dataSet, sessionId: latest.sessionId }
    const sources = yield* datasetSources(dataSet, r)
    const warning = driveCountWarning(state!.drives.size + rows.length)
    if (warning) out.note(warning)
    // locked before the new drives are given their identity, and held through the resume
    yield* lockJournalAsRead(req.journal.real, state!.end, req.journal.shown)
    yield* Effect.scoped(
      Effect.gen(function* () {
        const opened = yield* openDrives(r, state!.journalId, { known: [], added: rows }, protectedPathsOf(r, sources))
        for (const d of opened.added) {
          if (state!.drives.has(d.drive.driveId)) return yield* Effect.fail(new SessionRefused({ journal: req.journal.shown, reason: `drive ${d.drive.drive} (${d.drive.driveId}) is already one of the journal's drives` }))
        }
        const writer = yield* openJournalWriter(req.journal.real, state!.end, req.journal.shown)
        yield* rewriteDurably(req.journal, state!.end)
        const events: Array<JournalEvent> = []
        for (const [i, d] of opened.added.entries()) {
          events.push({ _tag: "DriveAdded", sessionId: latest.sessionId, driveId: d.drive.driveId, root: d.drive.root, name: d.drive.drive, format: d.drive.formatted, encryption: rows[i]!.encryption, identity: d.drive.identity, freeBytes: yield* d.drive.freeBytes() })
          yield* writeDriveInfo(req.journal.real, d, "")
        }
        yield* writer.append(events, { sync: true })
        out.note(`session ${latest.sessionId}: ${plural(opened.added.length, "drive")} added; placing what did not fit`)
      }),
    )
    const { additionalDriveSet: _added, ...rest } = req
    return yield* resumeSession({ ...rest, action: "resume" }, out, io)
  })

/** Roll the latest interrupted session back: its files off the drives, the journal cut where it began. */
const abortSession = (req: PrepImportRequest, out: Output) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const state = yield* readState(req.journal)
    const latest = yield* interruptedSession(req, state, "abort")
    const first = state!.sessions.length === 1
    // the state before the session: replay the journal up to the session's first record
    let before: JournalState | undefined
    yield* Stream.runForEach(readJournalFile(req.journal.real, req.journal.shown), (e) =>
      Effect.sync(() => {
        if (e._tag !== "TornTail" && e.offset < latest.offset) before = applyEvent(before, e)
      }),
    )
    // a drive the session added may have lost its identity file to an abort that was cut short
    const known = knownDrives(state).map((k) => (before?.drives.get(k.driveId) === undefined ? { ...k, identityMayBeGone: true } : k))
    const opened = yield* openDrives(req, state!.journalId, { known, added: [] }, [])
    yield* lockJournalAsRead(req.journal.real, state!.end, req.journal.shown)
    for (const d of opened.known) {
      yield* fs.remove(path.join(d.drive.root, latest.sessionId), { recursive: true }).pipe(Effect.catchAll(() => Effect.void))
      const addedBySession = before?.drives.get(d.drive.driveId) === undefined
      if (addedBySession) {
        // with the temp files a write cut short by a crash may have left beside them
        for (const p of [path.join(d.drive.root, manifestFileName), path.join(d.drive.root, "waie-drive.json"), jobFilePath(req.journal.real, d.drive.driveId)]) {
          for (const q of [p, tempPathOf(p)]) yield* fs.remove(q).pipe(Effect.catchAll(() => Effect.void))
        }
      }
      yield* syncDirectory(d.drive.root)
    }
    if (first) {
      yield* fs.remove(req.journal.real).pipe(Effect.mapError(unwritable(req.journal.shown)))
      for (const q of [`${req.journal.real}.credential`, tempPathOf(`${req.journal.real}.credential`)]) yield* fs.remove(q).pipe(Effect.catchAll(() => Effect.void))
    } else {
      yield* fs.truncate(req.journal.real, latest.offset).pipe(Effect.mapError(unwritable(req.journal.shown)))
      // the cut durable: else a crash could bring the aborted session back into the journal
      yield* Effect.scoped(Effect.flatMap(fs.open(req.journal.real, { flag: "r+" }), (f) => f.sync)).pipe(Effect.mapError(unwritable(req.journal.shown)))
      // manifests as the completed sessions left them (a crash may have rewritten some)
      const credential = yield* sessionCredential(req.journal.real, undefined, state!.credential)
      for (const d of opened.known) {
        if (before?.drives.get(d.drive.driveId) === undefined) continue
        yield* writeDriveManifest(req.journal.real, d, credential, before!.sessions.map((s) => s.sessionId))
      }
    }
    out.event("aborted", { sessionId: latest.sessionId, journal: req.journal.shown, journalRemoved: first }, `session ${latest.sessionId} aborted: its files are off the drives and ${first ? "the journal, its first session gone, was removed" : "the journal is as it was before the session"}`)
    return 0
  })

export const prepImport = (req: PrepImportRequest, out: Output, io: Io) =>
  Effect.gen(function* () {
    switch (req.action) {
      case "list-drives":
      case "list-sessions": {
        const state = yield* readState(req.journal)
        if (!state) return yield* Effect.fail(new FileUnreadable({ path: req.journal.shown, code: "ENOENT", reason: "no such file" }))
        if (req.action === "list-drives") listDrives(state, req.journal.shown, out)
        else listCopySessions(state, req.journal.shown, out)
        return 0
      }
      case "abort":
        // another waie writing the journal is named at once (the lock itself is taken before the first change)
        yield* refuseIfJournalLocked(req.journal.real, req.journal.shown)
        return yield* abortSession(req, out)
      case "resume":
        // another waie writing the journal is named at once (the lock itself is taken before the first change)
        yield* refuseIfJournalLocked(req.journal.real, req.journal.shown)
        return yield* resumeSession(req, out, io)
      case "session":
        // another waie writing the journal is named at once (the lock itself is taken before the first change)
        yield* refuseIfJournalLocked(req.journal.real, req.journal.shown)
        if (req.additionalDriveSet && !req.dataSet) return yield* continueSession(req, out, io)
        return yield* newSession(req, out, io)
    }
  }).pipe(Effect.scoped, Effect.provide(noteLogger(out)))

export type PrepImportEnv = Env
