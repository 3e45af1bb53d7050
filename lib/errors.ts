/**
 * The typed errors of waie. Each carries the data a user needs to find and fix the problem
 * (file, line, column, field, what was expected, what was found); messages are derived from
 * that data, never the other way round.
 */
import { Data } from "effect"

/** Which input format an issue or error belongs to (also the `format` field of JSON lines). */
export type InputFormat =
  | "dataset"
  | "driveset"
  | "manifest"
  | "copylog"
  | "metadata"
  | "properties"
  | "bloblist"
  | "journal"
  | "key"
  | "name"

/**
 * One problem found in an input. `line`/`column` are 1-based. `field` names the CSV column or
 * the XML element/attribute (`Blob/Length`, `Block/@Hash`). `found` never holds a secret: callers
 * mask credentials before building an issue.
 */
export interface Issue {
  readonly file: string
  readonly line?: number
  readonly column?: number
  readonly field?: string
  readonly expected: string
  readonly found: string
  /** warnings are reported but do not make the input invalid */
  readonly severity?: "error" | "warning"
}

/** `file:line:column: field: expected X, found Y` — the one rendering of an issue everywhere. */
export const formatIssue = (issue: Issue): string => {
  let where = issue.file
  if (issue.line !== undefined) where += `:${issue.line}`
  if (issue.line !== undefined && issue.column !== undefined) where += `:${issue.column}`
  const field = issue.field !== undefined ? ` ${issue.field}:` : ""
  const level = issue.severity === "warning" ? " warning:" : ""
  return `${where}:${level}${field} expected ${issue.expected}, found ${issue.found}`
}

/** Show a found value in a message: quoted, control characters escaped, long values cut. */
export const showValue = (value: string, max = 80): string => {
  const escaped = JSON.stringify(value.length > max ? value.slice(0, max) : value)
  return value.length > max ? `${escaped}… (${value.length} characters)` : escaped
}

/** An input file broke the rules of its format. All issues found are listed, not just the first. */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{
  readonly format: InputFormat
  readonly file: string
  readonly issues: ReadonlyArray<Issue>
  /** issues found beyond those listed (lists are capped to keep memory bounded) */
  readonly omitted?: number
}> {
  override get message(): string {
    const errors = this.issues.filter((i) => i.severity !== "warning")
    const head = `${this.file}: invalid ${this.format} (${errors.length + (this.omitted ?? 0)} problem${errors.length + (this.omitted ?? 0) === 1 ? "" : "s"})`
    return [head, ...this.issues.map(formatIssue)].join("\n")
  }
}

/** A file could not be opened or read (missing, a directory, no permission, I/O error). */
export class FileUnreadable extends Data.TaggedError("FileUnreadable")<{
  readonly path: string
  /** the system's error code when there is one (ENOENT, EACCES, EISDIR, EIO…) */
  readonly code: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.path}: cannot read (${this.code}): ${this.reason}`
  }
}

/** A file could not be written, synced or renamed into place. */
export class FileUnwritable extends Data.TaggedError("FileUnwritable")<{
  readonly path: string
  readonly code: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.path}: cannot write (${this.code}): ${this.reason}`
  }
}

/** A block blob needs more than 50,000 blocks of at most 4 MiB: the manifest cannot describe it. */
export class FileTooLargeForManifest extends Data.TaggedError("FileTooLargeForManifest")<{
  readonly path: string
  readonly length: number
  readonly maxLength: number
}> {
  override get message(): string {
    return `${this.path}: ${this.length} bytes is more than a manifest can describe as one block blob (at most ${this.maxLength} bytes: 50,000 blocks of 4 MiB)`
  }
}

/** A page blob's length must be a multiple of 512. */
export class PageBlobLengthUnaligned extends Data.TaggedError("PageBlobLengthUnaligned")<{
  readonly path: string
  readonly length: number
}> {
  override get message(): string {
    return `${this.path}: a page blob's length must be a multiple of 512, found ${this.length} bytes (${this.length % 512} past the last full page)`
  }
}

/** The rename disposition found no free name within the 1024-character limit of a blob name. */
export class RenameImpossible extends Data.TaggedError("RenameImpossible")<{
  readonly blobPath: string
  /** the first candidate that did not fit, and its number */
  readonly candidate: string
  readonly number: number
  /** the candidate's blob-name length */
  readonly length: number
  readonly maxLength: number
}> {
  override get message(): string {
    const taken = this.number === 2 ? "the name exists" : this.number === 3 ? "the name and (2) exist" : `the name and (2) to (${this.number - 1}) exist`
    return `${showValue(this.blobPath)}: no free name to rename to: ${taken}, and (${this.number}) would make the blob name ${this.length} characters long, more than the ${this.maxLength} allowed`
  }
}

/** The command line itself is wrong: unknown option, missing value, missing argument. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly command?: string
}> {}

/** A value given on the command line (not in a file) breaks a rule. */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly argument: string
  readonly expected: string
  readonly found: string
}> {
  override get message(): string {
    return `${this.argument}: expected ${this.expected}, found ${this.found}`
  }
}

/**
 * Exit codes, stable across versions (documented in the README).
 * 0 success; 1 the input was read and is invalid (or a check found problems); 2 the command line
 * is wrong; 3 a file could not be read or written; 70 a bug in waie.
 */
export const ExitCode = {
  Ok: 0,
  Invalid: 1,
  Usage: 2,
  Io: 3,
  Internal: 70,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
