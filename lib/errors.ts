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
  | "pathmap"
  | "repair"
  | "driveinfo"

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
 * is wrong; 3 a file could not be read or written; 6 `service import`: some blobs failed (the
 * copy logs say which); 70 a bug in waie.
 */
export const ExitCode = {
  Ok: 0,
  Invalid: 1,
  Usage: 2,
  Io: 3,
  BlobsFailed: 6,
  Internal: 70,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

// ---------------------------------------------------------------- drives (lib/drive.ts)

/** `drive G:` or `drive /mnt/d1:`, to start a message about a drive. */
const aboutDrive = (drive: string): string => (drive.endsWith(":") ? `drive ${drive}` : `drive ${drive}:`)

/** A driveset's drive that cannot be found on this host (an unmapped letter, a path of another platform). */
export class DriveUnreachable extends Data.TaggedError("DriveUnreachable")<{
  /** the drive as the driveset names it: `G:` or the folder */
  readonly drive: string
  /** what is wrong, naming the fix: `has no --mount mapping; add --mount G=/path` */
  readonly problem: string
}> {
  override get message(): string {
    return `drive ${this.drive} ${this.problem}`
  }
}

/** The folder of a drive is missing or is not a folder. */
export class DriveUnavailable extends Data.TaggedError("DriveUnavailable")<{
  readonly drive: string
  readonly root: string
  readonly problem: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.root} ${this.problem}`
  }
}

/** Nothing can be written on the drive (read-only mount, no permission, I/O error). */
export class DriveNotWritable extends Data.TaggedError("DriveNotWritable")<{
  readonly drive: string
  readonly root: string
  readonly code: string
  readonly reason: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} cannot write to ${this.root} (${this.code}): ${this.reason}`
  }
}

/** A test file written, synced and read back came back different: the drive loses data. */
export class DriveDoesNotKeepData extends Data.TaggedError("DriveDoesNotKeepData")<{
  readonly drive: string
  readonly root: string
  readonly problem: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.root} does not keep what is written to it: ${this.problem}; use another drive`
  }
}

/** Who holds a drive's lock file (`<root>/.waie.lock`). */
export interface DriveLockHolder {
  readonly pid: number
  readonly host: string
  readonly time: string
  readonly journal: string
}

/** Another waie (alive, or on another host) holds the drive. */
export class DriveLocked extends Data.TaggedError("DriveLocked")<{
  readonly drive: string
  readonly root: string
  readonly lockPath: string
  /** undefined when the lock file cannot be read */
  readonly holder?: DriveLockHolder
  /** why the lock file could not be read */
  readonly problem?: string
}> {
  override get message(): string {
    const h = this.holder
    if (h === undefined) return `${aboutDrive(this.drive)} ${this.root} is locked by ${this.lockPath}, which cannot be read (${this.problem ?? "unreadable"}); remove it if no waie is using the drive`
    return `${aboutDrive(this.drive)} ${this.root} is in use by waie (pid ${h.pid} on ${h.host} since ${h.time}, journal ${h.journal}); wait for it to finish, or remove ${this.lockPath} if that process is gone`
  }
}

/** The drive carries an identity file or a manifest written for another journal. */
export class DriveBelongsToAnotherJournal extends Data.TaggedError("DriveBelongsToAnotherJournal")<{
  readonly drive: string
  readonly root: string
  /** the file that says so: the identity file or the DriveManifest.xml */
  readonly file: string
  /** the other journal's id (identity files carry it) */
  readonly otherJournalId?: string
  /** the DriveId that file names */
  readonly driveId?: string
}> {
  override get message(): string {
    const whose = this.otherJournalId !== undefined ? `journal ${this.otherJournalId}` : "a journal other than this one"
    const id = this.driveId !== undefined ? ` as drive ${this.driveId}` : ""
    return `${aboutDrive(this.drive)} ${this.root} was prepared${id} by ${whose} (${this.file}); use another drive, or erase this one yourself if its data is no longer needed`
  }
}

/** A drive first added without Format holds files that are not waie's. */
export class DriveNotEmpty extends Data.TaggedError("DriveNotEmpty")<{
  readonly drive: string
  readonly root: string
  /** a few of the names found */
  readonly names: ReadonlyArray<string>
  /** how many entries the root holds (waie's own not counted) */
  readonly count: number
}> {
  override get message(): string {
    const shown = this.names.map((n) => showValue(n)).join(", ") + (this.count > this.names.length ? ", …" : "")
    return `${aboutDrive(this.drive)} ${this.root} is not empty (${this.count} entr${this.count === 1 ? "y" : "ies"}: ${shown}); use an empty drive, or FormatOption Format to erase it`
  }
}

/** `<root>/waie-drive.json` is not an identity file waie wrote. */
export class DriveIdentityInvalid extends Data.TaggedError("DriveIdentityInvalid")<{
  readonly drive: string
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.path} is not a waie identity file: ${this.problem}`
  }
}

/** A drive the journal knows was expected here, and another (or none) was found. */
export class DriveIdentityMismatch extends Data.TaggedError("DriveIdentityMismatch")<{
  readonly drive: string
  readonly root: string
  readonly expected: string
  readonly found: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.root} is not the drive this journal knows as ${this.expected}: found ${this.found}`
  }
}

/** What a protected path is to a drive: the drive itself, on the drive, or holding the drive. */
export type ProtectedRelation = "is the drive" | "is on the drive" | "holds the drive"

/** The journal, the log folder or a source is the drive, is on it, or holds it. */
export class DriveOverlapsProtectedPath extends Data.TaggedError("DriveOverlapsProtectedPath")<{
  readonly drive: string
  readonly root: string
  /** `journal`, `log folder`, `source` */
  readonly kind: string
  readonly path: string
  readonly relation: ProtectedRelation
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.root} cannot be a target drive: the ${this.kind} ${this.path} ${this.relation}`
  }
}

/** Format was refused before anything was erased. */
export class FormatRefused extends Data.TaggedError("FormatRefused")<{
  readonly drive: string
  readonly root: string
  /** `journal`, `log folder`, `source`, or `mount` (another file system mounted inside the drive) */
  readonly kind: string
  readonly path: string
  readonly relation: ProtectedRelation
}> {
  override get message(): string {
    const what = this.kind === "mount" ? `another file system is mounted at ${this.path}, which is on the drive` : `the ${this.kind} ${this.path} ${this.relation}`
    return `${aboutDrive(this.drive)} format of ${this.root} refused: ${what}; nothing was erased`
  }
}

/** The person asked to confirm a format did not type the drive's name. */
export class FormatNotConfirmed extends Data.TaggedError("FormatNotConfirmed")<{
  readonly drive: string
  /** what had to be typed */
  readonly expected: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} format not confirmed (the answer was not ${showValue(this.expected)}); nothing was erased`
  }
}

/** A confirmation is needed and there is no terminal to ask on. */
export class PromptUnavailable extends Data.TaggedError("PromptUnavailable")<{
  readonly question: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot ask ${showValue(this.question)}: ${this.reason}; set SilentOrPromptOnFormat to SilentMode in the driveset to format without asking`
  }
}

/** BitLocker volumes can be created only on Windows (manage-bde). */
export class EncryptUnsupported extends Data.TaggedError("EncryptUnsupported")<{
  readonly drive: string
  /** the host's platform (`linux`, `darwin`, `win32`) */
  readonly platform: string
  /** what is missing, when the platform could do it (e.g. a drive letter) */
  readonly problem?: string
  /** the drive letter to show in the commands (`X` when the drive has none) */
  readonly letter: string
}> {
  override get message(): string {
    const why = this.problem ?? `waie can turn BitLocker on only under Windows, and this host is ${this.platform}`
    const l = this.letter
    return `${aboutDrive(this.drive)} Encryption Encrypt is not possible here: ${why}. Encrypt the drive on Windows (manage-bde -on ${l}: -rp), read its recovery key (manage-bde -protectors -get ${l}:), then list it in the driveset with Encryption AlreadyEncrypted and the key in ExistingBitLockerKey`
  }
}

/** manage-bde failed (Windows). The output is kept with recovery keys masked. */
export class BitLockerFailed extends Data.TaggedError("BitLockerFailed")<{
  readonly drive: string
  readonly step: string
  readonly code: string
  readonly output: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} ${this.step} failed (${this.code}): ${this.output}`
  }
}

/** A source file changed (length or mtime) since the session copied or planned it: resuming would mix versions. */
export class SourceChanged extends Data.TaggedError("SourceChanged")<{
  readonly path: string
  /** what the session recorded */
  readonly length: number
  readonly mtimeMs: number
  /** what is there now: "gone", "unreadable (EACCES)", "1234 bytes, modified at …" */
  readonly found: string
}> {
  override get message(): string {
    return `${this.path}: the source changed since the session began (it was ${this.length} bytes, modified at ${new Date(this.mtimeMs).toISOString()}; now ${this.found}): a session copies each file as it was when placed; put the file back and resume, or abort the session`
  }
}

/** A metadata or properties file a session's blob list copied has other bytes now (a resume must copy the same ones). */
export class BlobListFileChanged extends Data.TaggedError("BlobListFileChanged")<{
  readonly path: string
  /** MD5 the journal recorded (the manifests name it) */
  readonly recorded: string
  readonly found: string
}> {
  override get message(): string {
    return `${this.path}: this metadata/properties file changed since the session began (MD5 ${this.found}; the session recorded ${this.recorded} and its manifests name that): put the file back and resume, or abort the session`
  }
}

// ---------------------------------------------------------------- the copy engine (lib/copy*.ts)

/**
 * Resuming a copy found less in the partial file (`<target>`'s temporary name) than the journal
 * says was made durable there: the drive lost data, or someone removed the file.
 */
export class PartialCopyLost extends Data.TaggedError("PartialCopyLost")<{
  /** the partial file */
  readonly path: string
  /** the bytes the journal says are durable in it */
  readonly durable: number
  /** its length now; undefined when it is gone */
  readonly foundLength?: number
}> {
  override get message(): string {
    const found = this.foundLength === undefined ? "it is gone" : `it holds ${this.foundLength} bytes`
    return `${this.path}: cannot resume the copy: the journal says ${this.durable} bytes of it were durable, but ${found}; abort the session and copy again`
  }
}
