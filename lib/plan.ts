/**
 * `waie plan` (and `waie PrepImport … --dry-run`): what a PrepImport session would do, without
 * doing any of it. The same enumeration (lib/sources.ts `enumerateSources`, in dataset order),
 * the same placement (lib/placement.ts `Placer` fed by `placeFiles`: first fit over the session's
 * drives in order, each with the free space PrepImport will measure), the same drive paths
 * (lib/drive-paths.ts `FilePathAllocator`, when the session id is given), and the checks that
 * would make PrepImport refuse, each listed: every problem of the dataset and its sources, every
 * drive PrepImport would not open (lib/plan-drive.ts), what the journal's state forbids. And a
 * time estimate measured on a sample of the sources (lib/plan-estimate.ts).
 *
 * The session's drives are those PrepImport's `newSession` takes, in its order: the journal's
 * drives (a later session), then the driveset's (`/InitialDriveSet` for a journal's first session,
 * `/AdditionalDriveSet` with `/DataSet` for a later one).
 *
 * It writes nothing: no journal, no drive file, no lock, no credential; it reads the dataset, the
 * driveset, the journal, the drives' folders (listing, identity and lock files, free space) and a
 * sample of the sources.
 *
 * Memory: per drive a few counters; per file nothing (each file goes to `onFile` as it is placed);
 * the files that fit nowhere are counted, the first 1,000 kept for the listing.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import * as path from "node:path"
import { readDatasetFile } from "./dataset.ts"
import type { ProtectedPath } from "./drive.ts"
import { FilePathAllocator } from "./drive-paths.ts"
import { driveName, loadDriveset, readDrivesetFile } from "./driveset.ts"
import { type Issue, UsageError } from "./errors.ts"
import { checkLimitsMatch, type FreeSpaceLimit, limitedFree, limitFor } from "./free-space.ts"
import { readJournalFile, replayJournal, type JournalState } from "./journal.ts"
import { checkSessionId } from "./names.ts"
import type { MountMap, Platform } from "./paths.ts"
import { type DriveLook, lookAtDrive, lookAtNewDrive } from "./plan-drive.ts"
import { type Estimate, measure, Sampler } from "./plan-estimate.ts"
import { driveCountWarning, Placer, placeFiles } from "./placement.ts"
import { enumerateSources, type SourceFile } from "./sources.ts"

export interface Given {
  readonly real: string
  readonly shown: string
}

/** What a plan needs: the fields of a PrepImport request it reads (a PrepImportRequest is one). */
export interface PlanRequest {
  readonly journal?: Given
  readonly sessionId?: string
  readonly logDir?: Given
  readonly initialDriveSet?: Given
  readonly additionalDriveSet?: Given
  readonly dataSet?: Given
  readonly mounts: MountMap
  readonly platform: Platform
  /** `--free-space`: drives counted as having at most this much room, as PrepImport counts them */
  readonly freeSpace?: ReadonlyArray<FreeSpaceLimit>
}

export interface PlanOptions {
  /** measure a sample of the sources and estimate the time (default true) */
  readonly estimate?: boolean
  /** each file with its drive, as it is placed */
  readonly onFile?: (f: PlannedFile) => void
}

export interface PlannedFile {
  readonly index: number
  readonly source: string
  readonly blobPath: string
  readonly blobType: SourceFile["blobType"]
  readonly length: number
  /** the drive's name (`G:` or its folder), or undefined: it fits on no drive */
  readonly drive?: string
  /** the FilePath PrepImport would give it (when the session id is known and it fits) */
  readonly filePath?: string
}

export interface PlannedDrive extends DriveLook {
  readonly files: number
  readonly bytes: number
  /** what the placed files cost the drive (data in clusters, entries, manifest twice, side files) */
  readonly footprint: number
  /** free space left after the copy, as the placement counts it (less the 1 MiB reserve) */
  readonly freeLeft: number
}

export interface PlanResult {
  readonly dataSet: string
  readonly sessionId?: string
  readonly drives: ReadonlyArray<PlannedDrive>
  /** what the dataset selects */
  readonly files: number
  readonly bytes: number
  readonly unplaced: { readonly files: number; readonly bytes: number; readonly listed: ReadonlyArray<{ readonly source: string; readonly length: number }> }
  /** the dataset's and its sources' problems (errors and warnings), and how many more were not listed */
  readonly issues: ReadonlyArray<Issue>
  readonly omittedIssues: number
  /** errors among the issues, the drives' problems and the session's: what would make PrepImport refuse */
  readonly errors: number
  /** the session's problems (what the journal's state forbids) */
  readonly sessionProblems: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
  readonly estimate?: Estimate
  /** what PrepImport would do: copy everything, stop as interrupted (exit 5), or refuse (exit 1) */
  readonly outcome: "complete" | "interrupted" | "refused"
}

export const maxListedUnplaced = 1000

/**
 * The plan of a session. Fails only with UsageError (what PrepImport's command line would be
 * refused for), or when the journal or driveset cannot be read or is invalid: those stop
 * PrepImport before any placement, and there is nothing to plan without them.
 */
export const planSession = (req: PlanRequest, options: PlanOptions = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dataSet = req.dataSet
    if (dataSet === undefined) return yield* Effect.fail(new UsageError({ command: "plan", message: "/DataSet:<dataset.csv> is required: it is what the session copies" }))
    if (req.sessionId !== undefined) {
      const problem = checkSessionId(req.sessionId)
      if (problem) return yield* Effect.fail(new UsageError({ command: "plan", message: `/id: expected ${problem.expected}, found ${problem.found}` }))
    }
    const sessionProblems: Array<string> = []
    const notes: Array<string> = []

    // the journal, as newSession reads it
    const exists = req.journal === undefined ? false : yield* fs.exists(req.journal.real).pipe(Effect.orElseSucceed(() => false))
    const state: JournalState | undefined = exists ? yield* replayJournal(req.journal!.real, req.journal!.shown) : undefined
    const first = state === undefined || state.sessions.length === 0
    if (!first) {
      const latest = state!.sessions[state!.sessions.length - 1]!
      if (!latest.completed) sessionProblems.push(`session ${latest.sessionId} was interrupted: resume it (/id:${latest.sessionId} /ResumeSession) or abort it (/id:${latest.sessionId} /AbortSession) before starting another`)
      if (req.sessionId !== undefined && state!.sessions.some((s) => s.sessionId === req.sessionId)) sessionProblems.push(`session id ${req.sessionId} is already used in this journal; a new session needs a new /id`)
      if (req.initialDriveSet) sessionProblems.push("/InitialDriveSet is for the first session of a journal; later sessions use its drives (add drives with /AdditionalDriveSet)")
      if (req.logDir && state!.logDirectory !== undefined && path.resolve(req.logDir.real) !== state!.logDirectory) sessionProblems.push(`the log directory of this journal is ${state!.logDirectory}; it can be given only once (found ${req.logDir.shown})`)
    } else if (req.initialDriveSet === undefined) {
      return yield* Effect.fail(new UsageError({ command: "plan", message: `/InitialDriveSet:<driveset.csv> is required for ${state ? "the first session of this journal" : "a first session (or give the journal of a later one with /j:)"}` }))
    }
    const driveSet = req.initialDriveSet ?? req.additionalDriveSet
    const rows = driveSet ? (yield* loadDriveset(readDrivesetFile(driveSet.real, driveSet.shown))).rows : []

    // the protected paths: the log folder and the sources the dataset names (PrepImport's first 10,000)
    const sources: Array<string> = []
    yield* Stream.runForEach(readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform }).rows, (row) =>
      Effect.sync(() => {
        if (sources.length < 10_000) sources.push(row.source.local)
      }),
    )
    const protectedPaths: Array<ProtectedPath> = [...(req.logDir ? [{ kind: "log folder" as const, path: req.logDir.real }] : []), ...sources.map((p) => ({ kind: "source" as const, path: p }))]
    const journalPath = req.journal?.real
    const journalId = state?.journalId
    const ids = { ...(journalId !== undefined ? { journalId } : {}), ...(journalPath !== undefined ? { journalPath } : {}) }

    // the session's drives, in PrepImport's order: the journal's, then the driveset's
    const limits = req.freeSpace ?? []
    const unmatched = checkLimitsMatch("plan", limits, [
      ...[...(state?.drives.values() ?? [])].map((d) => ({ name: d.name, root: d.root })),
      ...rows.map((row) => ({ name: driveName(row.drive), ...(row.drive.kind === "path" ? { root: row.drive.path } : {}) })),
    ])
    if (unmatched) return yield* Effect.fail(unmatched)
    const looks: Array<DriveLook> = []
    for (const d of state?.drives.values() ?? []) looks.push(yield* lookAtDrive({ name: d.name, root: d.root, use: { kind: "known", driveId: d.driveId }, protectedPaths, ...ids }))
    for (const row of rows) looks.push(yield* lookAtNewDrive(row, { mounts: req.mounts, platform: req.platform, protectedPaths, ...ids }))
    const seen = new Map<string, string>()
    for (const d of looks) {
      if (d.root === "") continue
      const other = seen.get(d.root)
      if (other !== undefined) sessionProblems.push(`drives ${other} and ${d.name} are the same folder, ${d.root}`)
      seen.set(d.root, d.name)
    }
    if (looks.length === 0) sessionProblems.push("there is no drive to copy to")
    const warning = driveCountWarning(looks.length)
    if (warning) notes.push(warning)

    // the enumeration and the placement, one file at a time
    const reading = readDatasetFile(dataSet.real, dataSet.shown, { mounts: req.mounts, platform: req.platform })
    const enumeration = enumerateSources(dataSet.shown, reading.rows)
    for (const [i, d] of looks.entries()) {
      const limit = limitFor(limits, d.name, d.root === "" ? undefined : d.root)
      if (limit !== undefined) looks[i] = { ...d, freeBytes: limitedFree(d.freeBytes, limit) }
    }
    const placer = new Placer(looks.map((d, i) => ({ id: String(i), freeBytes: d.freeBytes })))
    const allocator = req.sessionId === undefined ? undefined : new FilePathAllocator(req.sessionId)
    const sampler = new Sampler()
    const listed: Array<{ source: string; length: number }> = []
    let unplacedFiles = 0
    let unplacedBytes = 0
    yield* Stream.runForEach(placeFiles(enumeration.files, placer), ({ file, drive }) =>
      Effect.sync(() => {
        sampler.add({ path: file.sourcePath, length: file.length })
        if (drive === undefined) {
          unplacedFiles++
          unplacedBytes += file.length
          if (listed.length < maxListedUnplaced) listed.push({ source: file.sourcePath, length: file.length })
        }
        const filePath = drive !== undefined && allocator ? allocator.allocate(file.blobPath) : undefined
        options.onFile?.({
          index: file.index,
          source: file.sourcePath,
          blobPath: file.blobPath,
          blobType: file.blobType,
          length: file.length,
          ...(drive !== undefined ? { drive: looks[drive]!.name } : {}),
          ...(filePath !== undefined ? { filePath } : {}),
        })
      }),
    )
    const summary = enumeration.summary()
    const report = reading.report()
    const issues = [...report.issues, ...summary.issues, ...summary.warnings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    const usage = placer.usage()
    const drives: Array<PlannedDrive> = looks.map((d, i) => ({ ...d, files: usage[i]!.files, bytes: usage[i]!.bytes, footprint: usage[i]!.footprint, freeLeft: usage[i]!.freeLeft }))
    const errors = report.errors + report.omitted + summary.issues.length + summary.omittedIssues + drives.reduce((n, d) => n + d.problems.length, 0) + sessionProblems.length
    const estimate = options.estimate === false || summary.files === 0 ? undefined : yield* measure(sampler.files(), summary.files, summary.bytes)
    return {
      dataSet: dataSet.shown,
      ...(req.sessionId !== undefined ? { sessionId: req.sessionId } : {}),
      drives,
      files: summary.files,
      bytes: summary.bytes,
      unplaced: { files: unplacedFiles, bytes: unplacedBytes, listed },
      issues,
      omittedIssues: report.omitted + summary.omittedIssues + summary.omittedWarnings,
      errors,
      sessionProblems,
      notes,
      ...(estimate ? { estimate } : {}),
      outcome: errors > 0 ? "refused" : unplacedFiles > 0 ? "interrupted" : "complete",
    } satisfies PlanResult
  })

/** The journal's files (source → drive), for comparing a plan with what PrepImport did. */
export const placementInJournal = (journal: Given) =>
  Effect.gen(function* () {
    const roots = new Map<string, string>()
    const placed: Array<{ source: string; root: string | undefined; filePath?: string }> = []
    yield* Stream.runForEach(readJournalFile(journal.real, journal.shown), (e) =>
      Effect.sync(() => {
        if (e._tag === "DriveAdded") roots.set(e.driveId, e.root)
        else if (e._tag === "FileStarted") placed.push({ source: e.source, root: roots.get(e.driveId), filePath: e.filePath })
        else if (e._tag === "FileSkipped") placed.push({ source: e.source, root: undefined })
      }),
    )
    return placed
  })
