/**
 * The files a dataset selects, as a stream: what PrepImport copies, `plan` counts and the
 * pre-flight check vets before a session may start.
 *
 * Order (deterministic, documented): the dataset's rows in file order; within a directory row a
 * depth-first walk in which the entries of every directory are taken in code-unit order of their
 * names (JavaScript's default sort), a subdirectory's files coming at the subdirectory's place.
 * So `d/a.txt`, `d/b/x`, `d/b.txt`, `d/c` — the walk compares paths segment by segment.
 *
 * What is selected, per row:
 * - a file row: its file (BasePath), to the row's blob; `relativePath` is the file's name;
 * - a directory row: every file below BasePath, to `prefix + relativePath`; for `$root/` only
 *   the files directly in BasePath (blobs in `$root` cannot contain `/`): each subdirectory is
 *   skipped with one warning.
 *
 * Symbolic links (decision): a link to a file is followed (the file's length and mtime are the
 *   target's); a link to a directory inside a BasePath is not descended into (a warning; this
 *   also rules out loops); a link to nothing is skipped (a warning). A BasePath that is itself a
 *   link is followed: the user named it. Sockets, FIFOs and devices are skipped with a warning.
 *
 * Problems are collected, never thrown, each an Issue whose file is the dataset, line the row,
 * field the column (BasePath, MetadataFile or PropertiesFile), `path` the local path concerned
 * and `problem` what kind it is: a missing BasePath, a BasePath of the wrong kind, unreadable
 * directories and files, a page blob whose length is not a multiple of 512 or is over 8 TiB,
 * a block blob over 50,000 × 4 MiB, a blob name the service refuses. A file with an issue is not
 * emitted. Lists of issues and warnings are capped (1,000 each by default; the rest are counted).
 *
 * I/O goes through the platform FileSystem service only (readDirectory, stat, readLink, access),
 * so a fault-injecting file system can be swapped in. Memory: one sorted name list per directory
 * on the current path of the walk (the largest directory dominates), never a list of all files.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Option, Stream } from "effect"
import * as nodePath from "node:path"
import type { BlobType, DatasetRow, Disposition } from "./dataset.ts"
import { blobTypeByName, datasetColumns } from "./dataset.ts"
import { InvalidInput, type Issue, showValue, SourceChanged } from "./errors.ts"
import { unreadable } from "./files.ts"
import { maxBlockBlobLength, maxPageBlobLength, pageSize } from "./blocks.ts"
import { checkBlobName, rootContainer } from "./names.ts"
import { plural } from "./output.ts"

// ---------------------------------------------------------------- the model

export interface SourceFile {
  /** the line of the dataset row that selected the file */
  readonly line: number
  /** 0-based running number over the whole enumeration (files with issues are not counted) */
  readonly index: number
  /** absolute local path of the file (through a link to a file: the link's path) */
  readonly sourcePath: string
  /** the path below the row's BasePath, `/`-separated; a file row's file name */
  readonly relativePath: string
  readonly length: number
  /** modification time in whole milliseconds since 1970 (as the FileSystem service reports it) */
  readonly mtimeMs: number
  /** `container/blob/name` */
  readonly blobPath: string
  /** decided: a row's "auto" type by the file's extension (`.vhd`/`.vhdx` → PageBlob) */
  readonly blobType: BlobType
  readonly disposition: Disposition
  /** absolute local paths of the row's metadata and properties files */
  readonly metadataFile?: string
  readonly propertiesFile?: string
  /** the lengths of the row's metadata and properties files together (0 when none); for placement */
  readonly sideFileBytes: number
}

/** What kind of problem a source issue is (the typed error it stands for, where there is one). */
export type SourceProblem =
  | "SourceMissing"
  | "SourceUnreadable"
  | "NotADirectory"
  | "NotAFile"
  | "PageBlobLengthUnaligned"
  | "PageBlobTooLarge"
  | "FileTooLargeForManifest"
  | "InvalidBlobName"
  // warnings
  | "SubdirectorySkipped"
  | "LinkedDirectorySkipped"
  | "BrokenLinkSkipped"
  | "SpecialFileSkipped"
  | "BlobNameEndsWithDot"

/** An issue of the dataset's sources: file = the dataset, line = the row, plus the local path. */
export interface SourceIssue extends Issue {
  readonly line: number
  readonly field: string
  readonly path: string
  readonly problem: SourceProblem
}

export type SourceEvent = { readonly _tag: "File"; readonly file: SourceFile } | { readonly _tag: "Issue"; readonly issue: SourceIssue }

export interface SourceSummary {
  /** the dataset, as named in issues */
  readonly dataset: string
  /** files emitted (without issues) and their bytes */
  readonly files: number
  readonly bytes: number
  /** errors: any one of them means a session must not start */
  readonly issues: ReadonlyArray<SourceIssue>
  readonly warnings: ReadonlyArray<SourceIssue>
  /** issues and warnings found beyond those listed */
  readonly omittedIssues: number
  readonly omittedWarnings: number
}

export interface SourceOptions {
  /** issues (and, separately, warnings) kept in the summary; more are only counted. Default 1,000. */
  readonly issueLimit?: number
  /** check every file with access(R_OK) (one more call per file). Default true. */
  readonly checkReadable?: boolean
  /** stat calls in flight at once within one directory. Default 16. */
  readonly concurrency?: number
}

// ---------------------------------------------------------------- issues

const showPath = (p: string): string => showValue(p, 400)


class Tally {
  files = 0
  bytes = 0
  index = 0
  readonly issues: Array<SourceIssue> = []
  readonly warnings: Array<SourceIssue> = []
  omittedIssues = 0
  omittedWarnings = 0
  constructor(
    readonly dataset: string,
    readonly limit: number,
  ) {}

  add(issue: SourceIssue): void {
    if (issue.severity === "warning") {
      if (this.warnings.length < this.limit) this.warnings.push(issue)
      else this.omittedWarnings++
    } else if (this.issues.length < this.limit) this.issues.push(issue)
    else this.omittedIssues++
  }

  summary(): SourceSummary {
    return {
      dataset: this.dataset,
      files: this.files,
      bytes: this.bytes,
      issues: [...this.issues],
      warnings: [...this.warnings],
      omittedIssues: this.omittedIssues,
      omittedWarnings: this.omittedWarnings,
    }
  }
}

const fileEvent = (file: SourceFile): SourceEvent => ({ _tag: "File", file })

// ---------------------------------------------------------------- per row

interface RowContext {
  readonly dataset: string
  readonly row: DatasetRow
  readonly metadataFile?: string
  readonly propertiesFile?: string
  readonly sideFileBytes: number
}

const issueOf = (
  ctx: RowContext,
  problem: SourceProblem,
  path: string,
  expected: string,
  what: string,
  field: string = datasetColumns.basePath,
  severity: "error" | "warning" = "error",
): SourceEvent => ({
  _tag: "Issue",
  issue: {
    file: ctx.dataset,
    line: ctx.row.line,
    field,
    expected,
    found: `${showPath(path)} (${what})`,
    path,
    problem,
    ...(severity === "warning" ? { severity } : {}),
  },
})

const systemCode = (e: PlatformError): string => unreadable("")(e).code

const describeFailure = (e: PlatformError): { code: string; reason: string } => {
  const u = unreadable("")(e)
  return { code: u.code, reason: u.reason }
}

const isNotFound = (code: string): boolean => code === "ENOENT" || code === "NotFound" || code === "ENOTDIR"

/** The problems of a file's length for its blob type, as issue parts. */
const lengthProblem = (length: number, blobType: BlobType): { problem: SourceProblem; expected: string; what: string } | undefined => {
  if (blobType === "PageBlob") {
    if (length % pageSize !== 0) {
      return { problem: "PageBlobLengthUnaligned", expected: "a page blob whose length is a multiple of 512", what: `${length} bytes, ${length % pageSize} past the last full page` }
    }
    if (length > maxPageBlobLength) return { problem: "PageBlobTooLarge", expected: `a page blob of at most ${maxPageBlobLength} bytes (8 TiB)`, what: `${length} bytes` }
  } else if (length > maxBlockBlobLength) {
    return { problem: "FileTooLargeForManifest", expected: `a block blob of at most ${maxBlockBlobLength} bytes (50,000 blocks of 4 MiB)`, what: `${length} bytes` }
  }
  return undefined
}

const segmentEndsWithDot = /\.(?:\/|$)/

/**
 * The checks every selected file goes through, then its SourceFile (or its issues). `info` is the
 * stat of the file (links followed).
 */
const admitFile = (
  ctx: RowContext,
  tally: Tally,
  options: Required<SourceOptions>,
  sourcePath: string,
  relativePath: string,
  info: FileSystem.File.Info,
  blobPath: string,
  declared: BlobType | "auto",
): Effect.Effect<ReadonlyArray<SourceEvent>, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const events: Array<SourceEvent> = []
    const length = Number(info.size)
    const blobType = declared === "auto" ? blobTypeByName(relativePath) : declared
    const slash = blobPath.indexOf("/")
    const blobName = blobPath.slice(slash + 1)
    const nameProblem = checkBlobName(blobName)
    if (nameProblem) events.push(issueOf(ctx, "InvalidBlobName", sourcePath, nameProblem.expected, `blob ${showValue(blobPath)}: ${nameProblem.found}`))
    else if (ctx.row.kind === "directory" && segmentEndsWithDot.test(relativePath)) {
      events.push(
        issueOf(ctx, "BlobNameEndsWithDot", sourcePath, "blob names whose segments do not end with '.' (the Blob service advises against it)", `blob ${showValue(blobPath)}`, datasetColumns.basePath, "warning"),
      )
    }
    const lp = lengthProblem(length, blobType)
    if (lp) events.push(issueOf(ctx, lp.problem, sourcePath, lp.expected, lp.what))
    if (options.checkReadable) {
      const fs = yield* FileSystem.FileSystem
      const denied = yield* fs.access(sourcePath, { readable: true }).pipe(
        Effect.as(undefined),
        Effect.catchAll((e) => Effect.succeed(describeFailure(e))),
      )
      if (denied) events.push(issueOf(ctx, "SourceUnreadable", sourcePath, "a file waie can read", `${denied.code}: ${denied.reason}`))
    }
    if (events.some((e) => e._tag === "Issue" && e.issue.severity !== "warning")) return events
    const file: SourceFile = {
      line: ctx.row.line,
      index: tally.index++,
      sourcePath,
      relativePath,
      length,
      mtimeMs: Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() }),
      blobPath,
      blobType,
      disposition: ctx.row.disposition,
      ...(ctx.metadataFile !== undefined ? { metadataFile: ctx.metadataFile } : {}),
      ...(ctx.propertiesFile !== undefined ? { propertiesFile: ctx.propertiesFile } : {}),
      sideFileBytes: ctx.sideFileBytes,
    }
    events.push(fileEvent(file))
    return events
  })

/** stat that reports failure as a value. */
const statOf = (fs: FileSystem.FileSystem, p: string): Effect.Effect<FileSystem.File.Info | { failed: PlatformError }> =>
  fs.stat(p).pipe(Effect.catchAll((failed) => Effect.succeed({ failed })))

const isLink = (fs: FileSystem.FileSystem, p: string): Effect.Effect<boolean> =>
  fs.readLink(p).pipe(
    Effect.as(true),
    Effect.orElseSucceed(() => false),
  )

/** The metadata and properties files of a row: stat-ed once per row; issues for the row. */
const sideFiles = (dataset: string, row: DatasetRow): Effect.Effect<{ ctx: RowContext; events: Array<SourceEvent> }, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const base: RowContext = { dataset, row, sideFileBytes: 0 }
    const events: Array<SourceEvent> = []
    let bytes = 0
    const one = function* (p: string | undefined, field: string) {
      if (p === undefined) return
      const info = yield* statOf(fs, p)
      if ("failed" in info) {
        const f = describeFailure(info.failed)
        const problem: SourceProblem = isNotFound(f.code) ? "SourceMissing" : "SourceUnreadable"
        events.push(issueOf(base, problem, p, "a file waie can read", `${f.code}: ${f.reason}`, field))
        return
      }
      if (info.type !== "File") {
        events.push(issueOf(base, "NotAFile", p, "a file", `a ${info.type === "Directory" ? "directory" : info.type}`, field))
        return
      }
      const denied = yield* fs.access(p, { readable: true }).pipe(
        Effect.as(undefined),
        Effect.catchAll((e) => Effect.succeed(describeFailure(e))),
      )
      if (denied) events.push(issueOf(base, "SourceUnreadable", p, "a file waie can read", `${denied.code}: ${denied.reason}`, field))
      bytes += Number(info.size)
    }
    const metadataFile = row.metadataFile?.local
    const propertiesFile = row.propertiesFile?.local
    yield* one(metadataFile, datasetColumns.metadataFile)
    yield* one(propertiesFile, datasetColumns.propertiesFile)
    const ctx: RowContext = {
      dataset,
      row,
      sideFileBytes: bytes,
      ...(metadataFile !== undefined ? { metadataFile } : {}),
      ...(propertiesFile !== undefined ? { propertiesFile } : {}),
    }
    return { ctx, events }
  })

/** Strip the host's trailing separator from a directory's local path (not from a root). */
const trimDir = (p: string): string => {
  let q = p
  while (q.length > 1 && (q.endsWith("/") || q.endsWith("\\")) && !/^[A-Za-z]:[\\/]$/.test(q)) q = q.slice(0, -1)
  return q
}

const joinLocal = (dir: string, name: string): string => nodePath.join(dir, name)

// ---------------------------------------------------------------- the directory walk

type Resolved = { readonly name: string; readonly path: string; readonly info: FileSystem.File.Info | { failed: PlatformError } }

interface Level {
  /** local path of the directory, without a trailing separator */
  readonly dir: string
  /** relative path of the directory below BasePath, "" or ending with "/" */
  readonly rel: string
  readonly names: ReadonlyArray<string>
  pos: number
  /** stat results for names[pos …], in order */
  ready: Array<Resolved>
}

/**
 * Walks one directory row: each `step` gives the next events (possibly none), or undefined at the
 * end. State: one Level per directory on the current path.
 */
class Walker {
  private readonly stack: Array<Level> = []
  private started = false

  constructor(
    private readonly ctx: RowContext & { readonly row: Extract<DatasetRow, { kind: "directory" }> },
    private readonly tally: Tally,
    private readonly options: Required<SourceOptions>,
  ) {}

  private list(dir: string, rel: string): Effect.Effect<SourceEvent | undefined, never, FileSystem.FileSystem> {
    return Effect.gen(this, function* () {
      const fs = yield* FileSystem.FileSystem
      const names = yield* fs.readDirectory(dir).pipe(Effect.either)
      if (names._tag === "Left") {
        const f = describeFailure(names.left)
        return issueOf(this.ctx, "SourceUnreadable", dir, "a directory waie can read", `${f.code}: ${f.reason}`)
      }
      const sorted = names.right.sort()
      this.stack.push({ dir, rel, names: sorted, pos: 0, ready: [] })
      return undefined
    })
  }

  step(): Effect.Effect<Chunk.Chunk<SourceEvent> | undefined, never, FileSystem.FileSystem> {
    return Effect.gen(this, function* () {
      const fs = yield* FileSystem.FileSystem
      const { row } = this.ctx
      if (!this.started) {
        this.started = true
        const base = trimDir(row.source.local)
        const info = yield* statOf(fs, base)
        if ("failed" in info) {
          const f = describeFailure(info.failed)
          if (isNotFound(f.code)) return Chunk.of(issueOf(this.ctx, "SourceMissing", row.source.local, "a directory that exists", `${f.code}: ${f.reason}`))
          return Chunk.of(issueOf(this.ctx, "SourceUnreadable", row.source.local, "a directory waie can read", `${f.code}: ${f.reason}`))
        }
        if (info.type !== "Directory") {
          return Chunk.of(issueOf(this.ctx, "NotADirectory", row.source.local, "a directory (the BasePath ends with a separator)", info.type === "File" ? "a file" : `a ${info.type}`))
        }
        const failed = yield* this.list(base, "")
        return failed ? Chunk.of(failed) : Chunk.empty()
      }
      const level = this.stack[this.stack.length - 1]
      if (level === undefined) return undefined
      if (level.ready.length === 0) {
        if (level.pos >= level.names.length) {
          this.stack.pop()
          return Chunk.empty()
        }
        const batch = level.names.slice(level.pos, level.pos + Math.max(1, this.options.concurrency * 4))
        level.ready = yield* Effect.forEach(
          batch,
          (name) => {
            const p = joinLocal(level.dir, name)
            return statOf(fs, p).pipe(Effect.map((info): Resolved => ({ name, path: p, info })))
          },
          { concurrency: this.options.concurrency },
        )
      }
      const events: Array<SourceEvent> = []
      while (level.ready.length > 0) {
        const r = level.ready.shift()!
        level.pos++
        const rel = level.rel + r.name
        if ("failed" in r.info) {
          const f = describeFailure(r.info.failed)
          if (yield* isLink(fs, r.path)) {
            events.push(issueOf(this.ctx, "BrokenLinkSkipped", r.path, "symbolic links to files (links to nothing are skipped)", `a link to nothing (${f.code}), skipped`, datasetColumns.basePath, "warning"))
          } else if (isNotFound(f.code) && r.name.includes("\uFFFD")) {
            events.push(issueOf(this.ctx, "SourceUnreadable", r.path, "file names in UTF-8", "a name that is not valid UTF-8 (waie cannot open it)"))
          } else events.push(issueOf(this.ctx, isNotFound(f.code) ? "SourceMissing" : "SourceUnreadable", r.path, "a file waie can read", `${f.code}: ${f.reason}`))
          continue
        }
        const info = r.info
        if (info.type === "Directory") {
          if (yield* isLink(fs, r.path)) {
            events.push(issueOf(this.ctx, "LinkedDirectorySkipped", r.path, "directories inside the BasePath (waie does not follow links to directories)", "a symbolic link to a directory, skipped", datasetColumns.basePath, "warning"))
            continue
          }
          if (row.container === rootContainer) {
            events.push(
              issueOf(this.ctx, "SubdirectorySkipped", r.path, "files directly in the directory (blobs in $root cannot contain '/')", "a subdirectory, skipped with everything in it", datasetColumns.basePath, "warning"),
            )
            continue
          }
          const failed = yield* this.list(r.path, rel + "/")
          if (failed) events.push(failed)
          // descend now: the rest of this level waits in `ready`
          return Chunk.unsafeFromArray(events)
        }
        if (info.type !== "File") {
          events.push(issueOf(this.ctx, "SpecialFileSkipped", r.path, "regular files", `a ${info.type}, skipped`, datasetColumns.basePath, "warning"))
          continue
        }
        events.push(...(yield* admitFile(this.ctx, this.tally, this.options, r.path, rel, info, row.prefix + rel, row.blobType)))
      }
      return Chunk.unsafeFromArray(events)
    })
  }
}

const fileRowEvents = (ctx: RowContext & { readonly row: Extract<DatasetRow, { kind: "file" }> }, tally: Tally, options: Required<SourceOptions>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const { row } = ctx
    const p = row.source.local
    const info = yield* statOf(fs, p)
    if ("failed" in info) {
      const f = describeFailure(info.failed)
      if (isNotFound(f.code)) return [issueOf(ctx, "SourceMissing", p, "a file that exists", `${f.code}: ${f.reason}`)]
      return [issueOf(ctx, "SourceUnreadable", p, "a file waie can read", `${f.code}: ${f.reason}`)]
    }
    if (info.type !== "File") {
      const what = info.type === "Directory" ? "a directory (a directory's BasePath ends with a separator)" : `a ${info.type}`
      return [issueOf(ctx, "NotAFile", p, "a file (the BasePath does not end with a separator)", what)]
    }
    const name = row.source.segments[row.source.segments.length - 1] ?? nodePath.basename(p)
    return yield* admitFile(ctx, tally, options, p, name, info, row.blobPath, row.blobType)
  })

// ---------------------------------------------------------------- the enumeration

export interface SourceEnumeration<E, R> {
  /** files and issues, in order */
  readonly events: Stream.Stream<SourceEvent, E, R | FileSystem.FileSystem>
  /** the files only; the issues of the run are in `summary()` */
  readonly files: Stream.Stream<SourceFile, E, R | FileSystem.FileSystem>
  /** the counts and issues of the last run of `events` or `files` (run it to the end first) */
  readonly summary: () => SourceSummary
}

const defaults = (o: SourceOptions): Required<SourceOptions> => ({
  issueLimit: o.issueLimit ?? 1000,
  checkReadable: o.checkReadable ?? true,
  concurrency: o.concurrency ?? 16,
})

/**
 * The files the rows select. `dataset` names the dataset in issues (as the user wrote it);
 * `rows` are the dataset's valid rows, in file order (`readDatasetFile(…).rows`).
 */
export const enumerateSources = <E, R>(dataset: string, rows: Stream.Stream<DatasetRow, E, R>, options: SourceOptions = {}): SourceEnumeration<E, R> => {
  const o = defaults(options)
  let tally = new Tally(dataset, o.issueLimit)
  const events = Stream.suspend(() => {
    const t = new Tally(dataset, o.issueLimit)
    tally = t
    return rows.pipe(
      Stream.flatMap((row) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const { ctx, events: sideEvents } = yield* sideFiles(dataset, row)
            const head = Stream.fromIterable(sideEvents)
            if (row.kind === "file") {
              return Stream.concat(head, Stream.fromIterableEffect(fileRowEvents({ ...ctx, row }, t, o)))
            }
            const walker = new Walker({ ...ctx, row }, t, o)
            const walk = Stream.unfoldChunkEffect(walker, (w) => w.step().pipe(Effect.map((c) => (c === undefined ? Option.none() : Option.some([c, w] as const)))))
            return Stream.concat(head, walk)
          }),
        ),
      ),
      Stream.tap((e) =>
        Effect.sync(() => {
          if (e._tag === "Issue") t.add(e.issue)
          else {
            t.files++
            t.bytes += e.file.length
          }
        }),
      ),
    )
  })
  const files = events.pipe(Stream.filterMap((e) => (e._tag === "File" ? Option.some(e.file) : Option.none())))
  return { events, files, summary: () => tally.summary() }
}

/** Run the whole enumeration: the counts, the issues and the warnings. */
export const summarizeSources = <E, R>(dataset: string, rows: Stream.Stream<DatasetRow, E, R>, options: SourceOptions = {}): Effect.Effect<SourceSummary, E, R | FileSystem.FileSystem> => {
  const e = enumerateSources(dataset, rows, options)
  return Stream.runDrain(e.events).pipe(Effect.map(() => e.summary()))
}

/**
 * The pre-flight check: the summary when no source has an issue; otherwise InvalidInput (format
 * "dataset") listing them all (warnings too), so a session refuses to start and changes nothing.
 */
export const checkSources = <E, R>(dataset: string, rows: Stream.Stream<DatasetRow, E, R>, options: SourceOptions = {}): Effect.Effect<SourceSummary, E | InvalidInput, R | FileSystem.FileSystem> =>
  summarizeSources(dataset, rows, options).pipe(Effect.flatMap(sourcesOk))

/** A summary with no issue, or InvalidInput listing the issues and warnings. */
export const sourcesOk = (s: SourceSummary): Effect.Effect<SourceSummary, InvalidInput> =>
  s.issues.length === 0 && s.omittedIssues === 0
    ? Effect.succeed(s)
    : Effect.fail(
        new InvalidInput({
          format: "dataset",
          file: s.dataset,
          issues: [...s.issues, ...s.warnings].sort((a, b) => a.line - b.line),
          ...(s.omittedIssues > 0 ? { omitted: s.omittedIssues } : {}),
        }),
      )

/** A line for people: `3 files, 12345 bytes; 1 problem, 2 warnings`. */
export const describeSummary = (s: SourceSummary): string => {
  const problems = s.issues.length + s.omittedIssues
  const warnings = s.warnings.length + s.omittedWarnings
  return `${plural(s.files, "file")}, ${plural(s.bytes, "byte")}; ${plural(problems, "problem")}, ${plural(warnings, "warning")}`
}

// ---------------------------------------------------------------- resume

/** The part of a SourceFile that says which version of the file was copied. */
export type SourceStamp = Pick<SourceFile, "sourcePath" | "length" | "mtimeMs">

/** Whether the file still has the length and mtime it had (false when it is gone or unreadable). */
export const statUnchanged = (file: SourceStamp): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* statOf(fs, file.sourcePath)
    if ("failed" in info || info.type !== "File") return false
    return Number(info.size) === file.length && Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() }) === file.mtimeMs
  })

/** Succeeds when the file is unchanged; else SourceChanged naming it and what changed. */
export const requireUnchanged = (file: SourceStamp): Effect.Effect<void, SourceChanged, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* statOf(fs, file.sourcePath)
    const expected = { length: file.length, mtimeMs: file.mtimeMs }
    if ("failed" in info) {
      const code = systemCode(info.failed)
      return yield* Effect.fail(new SourceChanged({ path: file.sourcePath, ...expected, found: isNotFound(code) ? "gone" : `unreadable (${code})` }))
    }
    if (info.type !== "File") return yield* Effect.fail(new SourceChanged({ path: file.sourcePath, ...expected, found: `now a ${info.type === "Directory" ? "directory" : info.type}` }))
    const length = Number(info.size)
    const mtimeMs = Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })
    if (length === file.length && mtimeMs === file.mtimeMs) return
    const parts: Array<string> = []
    if (length !== file.length) parts.push(`${length} bytes`)
    if (mtimeMs !== file.mtimeMs) parts.push(`modified at ${new Date(mtimeMs).toISOString()}`)
    return yield* Effect.fail(new SourceChanged({ path: file.sourcePath, ...expected, found: parts.join(", ") }))
  })
