/**
 * The JSON lines every command prints, as data: for each command (and each mode of one, such as
 * `PrepImport /ListDrives`), the event types it prints in the order they come, and for each type
 * its fields with their JSON type, whether they are always there, what they mean and their unit.
 *
 * One table, two readers: lib/json-lines-check.ts validates real output against it (a type not
 * listed, a field missing, a field not documented, a value of another JSON type all fail), and
 * lib/json-schema-doc.ts renders docs/json-lines.md from it, so the page cannot drift from what
 * the test checks. A real line of each type (from a golden or a real run) is at the end of the
 * file, validated too.
 */

// ---------------------------------------------------------------- the vocabulary

/** Strings with a shape the checker enforces. */
export type StringFormat = "md5" | "isoTime" | "journalTime"

export type JsonType =
  | { readonly kind: "string"; readonly format?: StringFormat; readonly values?: ReadonlyArray<string> }
  | { readonly kind: "integer"; readonly unit?: string }
  | { readonly kind: "number"; readonly unit?: string }
  /** `value`: the only value it takes */
  | { readonly kind: "boolean"; readonly value?: boolean }
  | { readonly kind: "array"; readonly of: JsonType }
  | { readonly kind: "tuple"; readonly of: ReadonlyArray<JsonType> }
  | { readonly kind: "object"; readonly fields: Fields }
  /** an object whose keys are data (a status name → its count), every value of one type */
  | { readonly kind: "map"; readonly keys: string; readonly of: JsonType }
  | { readonly kind: "nullable"; readonly of: JsonType }

export interface Field {
  readonly type: JsonType
  /** absent when it does not apply (never `null` unless the type says nullable) */
  readonly optional?: boolean
  readonly doc: string
}

export type Fields = Readonly<Record<string, Field>>

/**
 * The fields that depend on the value of one field (`on`): the fields of `cases[value]` (or of
 * `otherwise`) are added to the event's own. Keys of booleans are "true" and "false".
 */
export interface Variants {
  readonly on: string
  readonly cases: Readonly<Record<string, Fields>>
  /** for any other value; without it, another value is an error */
  readonly otherwise?: Fields
}

export interface EventSpec {
  readonly doc: string
  readonly fields: Fields
  readonly variants?: Variants
}

/** How often a type comes in one run of a command: once, at most once, or any number of times. */
export type Count = "1" | "0..1" | "*" | "1+"

export interface SequenceItem {
  readonly type: string
  readonly count: Count
  readonly doc: string
}

export interface CommandSchema {
  /** as a user types it: `dataset check`, `PrepImport /ListDrives` */
  readonly command: string
  /** the command's path (lib/cli.ts CommandSpec.path) */
  readonly path: ReadonlyArray<string>
  /** this mode is chosen when the command line has this option (its canonical name) */
  readonly mode?: string
  /**
   * json: JSON lines with --json; always: JSON lines with or without --json; document: prints a
   * file's bytes (XML), and with --json only a failure is a JSON line.
   */
  readonly stdout: "json" | "always" | "document"
  readonly doc: string
  /** the lines in the order they come (common types may come too, see `commonTypes`) */
  readonly sequence: ReadonlyArray<SequenceItem>
  readonly types: Readonly<Record<string, EventSpec>>
}

// ---------------------------------------------------------------- builders

const t = {
  string: { kind: "string" } as JsonType,
  integer: { kind: "integer" } as JsonType,
  number: { kind: "number" } as JsonType,
  boolean: { kind: "boolean" } as JsonType,
  true: { kind: "boolean", value: true } as JsonType,
  bytes: { kind: "integer", unit: "bytes" } as JsonType,
  count: { kind: "integer", unit: "count" } as JsonType,
  line: { kind: "integer", unit: "line number, 1-based" } as JsonType,
  md5: { kind: "string", format: "md5" } as JsonType,
  isoTime: { kind: "string", format: "isoTime" } as JsonType,
  journalTime: { kind: "string", format: "journalTime" } as JsonType,
  driveId: { kind: "string" } as JsonType,
  oneOf: (...values: ReadonlyArray<string>): JsonType => ({ kind: "string", values }),
  array: (of: JsonType): JsonType => ({ kind: "array", of }),
  tuple: (...of: ReadonlyArray<JsonType>): JsonType => ({ kind: "tuple", of }),
  object: (fields: Fields): JsonType => ({ kind: "object", fields }),
  map: (keys: string, of: JsonType): JsonType => ({ kind: "map", keys, of }),
  nullable: (of: JsonType): JsonType => ({ kind: "nullable", of }),
  unit: (kind: "integer" | "number", unit: string): JsonType => ({ kind, unit }),
}

const req = (type: JsonType, doc: string): Field => ({ type, doc })
const opt = (type: JsonType, doc: string): Field => ({ type, optional: true, doc })

// ---------------------------------------------------------------- shared value shapes

const blobStatuses = ["Completed", "CompletedWithErrors", "FileNameInvalid", "FileNameTooLong", "FileNotFound", "FileAccessDenied", "BlobRequestFailed", "BlobRequestForbidden", "RenameFailed", "BlobUnexpectedChange", "LeasePresent", "IOFailed", "Failed"]
const driveStatuses = [
  "Completed", "CompletedWithWarnings", "CompletedWithErrors", "DiskNotFound", "VolumeNotNtfs", "DiskOperationFailed", "BitLockerVolumeNotFound", "BitLockerNotActivated",
  "BitLockerProtectorNotFound", "BitLockerKeyInvalid", "BitLockerUnlockVolumeFailed", "BitLockerFailed", "ManifestNameInvalid", "ManifestNameTooLong", "ManifestNotFound",
  "ManifestAccessDenied", "ManifestCorrupted", "ManifestFormatInvalid", "ManifestDriveIdMismatch", "ReadManifestFailed", "BlobListFormatInvalid", "BlobRequestForbidden", "InternalError",
]
const rangeStatuses = ["Completed", "Committed", "Uncommitted", "Corrupted", "FileUnexpectedEnd", "BlobUnexpectedEnd", "BlobRequestFailed", "IOFailed", "Failed", "Cancelled"]
const fileStatuses = ["Completed", "FileNameInvalid", "FileNameTooLong", "FileNotFound", "FileAccessDenied", "Corrupted", "XmlReadFailed", "XmlWriteFailed", "BlobRequestFailed", "IOFailed", "Failed", "Cancelled"]
const dispositionStatuses = ["Created", "Renamed", "Skipped", "Overwritten", "Cancelled"]
const dispositions = ["rename", "no-overwrite", "overwrite"]
const formats = ["dataset", "driveset", "manifest", "copylog", "metadata", "properties", "bloblist", "journal", "key", "name", "pathmap", "repair", "driveinfo"]

const statusCounts = (of: string): JsonType => t.map(`a ${of} status`, t.count)

/** A blob list entry as `service export` and `PreviewExport` list the ones that selected nothing. */
const listEntry = t.object({
  line: req(t.line, "the entry's line in the blob list"),
  kind: req(t.oneOf("path", "prefix"), "a BlobPath or a BlobPathPrefix"),
  path: opt(t.string, "kind path: the blob path, container/blob (without a leading /)"),
  prefix: opt(t.string, "kind prefix: the prefix as written (with its leading /)"),
})

/** `metadataPath`/`propertiesPath` of a manifest. */
const manifestFileRef = t.object({ path: req(t.string, "the file's path on the drive, as the manifest writes it"), hash: req(t.string, "its MD5 as the manifest writes it (waie writes upper-case hex)") })

/** `GlobalPath`/`Path` of a copy log. */
const copyLogFileRef = t.object({ path: opt(t.string, "the element's text; absent when empty"), hash: opt(t.md5, "its MD5") })
const copyLogFileEntry = t.object({
  status: req(t.oneOf(...fileStatuses), "the file's status"),
  globalPath: opt(copyLogFileRef, "the session-wide file (import logs)"),
  path: opt(copyLogFileRef, "the blob's own file"),
})

/** The header of a copy log's blob (the `Blob` element's children before its ranges). */
const copyLogBlobHead: Fields = {
  status: req(t.oneOf(...blobStatuses), "Blob/Status"),
  blobPath: req(t.string, "container/blob; after a Renamed disposition, the new name"),
  filePath: req(t.string, "the file on the drive, from its root, with backslashes (`\\dir\\file`)"),
  snapshot: opt(t.isoTime, "export logs: the snapshot time"),
  length: req(t.bytes, "the blob's length"),
  lastModified: opt(t.isoTime, "export logs: the blob's Last-Modified"),
  importDisposition: opt(t.object({ status: req(t.oneOf(...dispositionStatuses), "what the disposition did"), value: req(t.oneOf(...dispositions), "the disposition the manifest asked for") }), "import logs"),
  list: req(t.oneOf("block", "page", "none"), "which range list the blob has: BlockList, PageRangeList or none"),
}

const copyLogSummaryCounts: Fields = {
  driveStatus: opt(t.oneOf(...driveStatuses), "DriveLog/Status (absent when the log has none)"),
  blobs: req(t.count, "blobs in the log"),
  bytes: req(t.bytes, "the sum of their lengths"),
  blobStatus: req(statusCounts("blob"), "blobs per Blob/Status"),
  dispositionStatus: req(statusCounts("disposition"), "blobs per ImportDisposition/Status (import logs)"),
  blocks: req(t.count, "blocks listed"),
  pageRanges: req(t.count, "page ranges listed"),
  rangeStatus: req(statusCounts("range"), "blocks and page ranges per status"),
  metadataStatus: req(statusCounts("metadata"), "metadata files per status"),
  propertiesStatus: req(statusCounts("properties"), "properties files per status"),
  failedBlobs: req(t.count, "blobs with anything not Completed"),
  failedRanges: req(t.count, "blocks and page ranges not Completed"),
  failedRangeBytes: req(t.bytes, "their bytes"),
}

const planTypes: Readonly<Record<string, EventSpec>> = {
  planFile: {
    doc: "With `--files`: each file of the dataset as it is placed.",
    fields: {
      index: req(t.integer, "the file's place in the session, from 0"),
      source: req(t.string, "the source file (a local path)"),
      blobPath: req(t.string, "container/blob"),
      blobType: req(t.oneOf("BlockBlob", "PageBlob"), "the blob type"),
      length: req(t.bytes, "the file's length"),
      drive: opt(t.string, "the drive it goes to (as the driveset names it); absent: it fits on no drive"),
      filePath: opt(t.string, "the FilePath PrepImport would give it (with a session id, when it fits)"),
    },
  },
  planDrive: {
    doc: "Each drive of the session.",
    fields: {
      drive: req(t.string, "as the driveset or the journal names it: `G:` or a folder"),
      root: req(t.string, "the local folder (\"\" when it cannot be resolved)"),
      known: req(t.boolean, "a drive the journal already has"),
      format: req(t.boolean, "the driveset asks for Format"),
      freeNow: opt(t.bytes, "free now (absent when it cannot be read)"),
      freeBytes: req(t.bytes, "free as PrepImport will measure it (after a Format; --free-space)"),
      erases: opt(t.object({ entries: req(t.count, "entries in the drive's root"), bytes: req(t.bytes, "their allocated bytes") }), "what a Format would erase"),
      files: req(t.count, "files placed on it"),
      bytes: req(t.bytes, "their lengths"),
      footprint: req(t.bytes, "what they cost the drive (clusters, entries, the manifest twice, side files)"),
      freeLeft: req(t.bytes, "freeBytes − footprint (may be negative when the drive is refused)"),
      problems: req(t.array(t.string), "why PrepImport would refuse the drive (each also a planProblem line)"),
    },
  },
  planUnplaced: {
    doc: "Each file that fits on no drive (the first 1,000).",
    fields: { source: req(t.string, "the source file"), length: req(t.bytes, "its length") },
  },
  planProblem: {
    doc: "Each reason PrepImport would refuse the session or a drive.",
    fields: { drive: opt(t.string, "the drive, when the problem is a drive's"), message: req(t.string, "the message PrepImport would fail with") },
  },
  planEstimate: {
    doc: "The time estimate and how it was measured (not with `--no-estimate`, nor when the dataset is refused).",
    fields: {
      seconds: req(t.unit("number", "seconds"), "time to read and hash the whole selection"),
      bytesPerSecond: req(t.nullable(t.unit("number", "bytes per second")), "the measured rate; null when too fast to measure"),
      secondsPerFile: req(t.unit("number", "seconds"), "the measured cost of a file besides its bytes"),
      sampleFiles: req(t.count, "files read for the measure"),
      sampleBytes: req(t.bytes, "bytes read for the measure"),
      sampleSeconds: req(t.unit("number", "seconds"), "how long that took"),
      method: req(t.string, "how the sample was drawn and the time fitted, in words"),
    },
  },
  plan: {
    doc: "The summary and the outcome: what PrepImport would do.",
    fields: {
      dataSet: req(t.string, "the dataset as given"),
      sessionId: opt(t.string, "the session id, when given"),
      files: req(t.count, "files the dataset selects"),
      bytes: req(t.bytes, "their lengths"),
      drives: req(t.count, "drives of the session"),
      placedFiles: req(t.count, "files that fit"),
      placedBytes: req(t.bytes, "their lengths"),
      unplacedFiles: req(t.count, "files that fit on no drive"),
      unplacedBytes: req(t.bytes, "their lengths"),
      errors: req(t.count, "problems that would make PrepImport refuse the session"),
      outcome: req(t.oneOf("complete", "interrupted", "refused"), "copy everything, stop as interrupted (exit 5), or refuse (exit 1)"),
      exitCode: req(t.integer, "the exit code of this command (PrepImport's)"),
    },
  },
}

const planSequence: ReadonlyArray<SequenceItem> = [
  { type: "planFile", count: "*", doc: "with --files, as the files are placed" },
  { type: "planDrive", count: "*", doc: "one per drive" },
  { type: "planUnplaced", count: "*", doc: "what fits on no drive" },
  { type: "issue", count: "*", doc: "the dataset's and its sources' problems (format dataset), warnings too" },
  { type: "planProblem", count: "*", doc: "why PrepImport would refuse" },
  { type: "note", count: "*", doc: "" },
  { type: "planEstimate", count: "0..1", doc: "" },
  { type: "plan", count: "1", doc: "" },
]

// ---------------------------------------------------------------- common types

/** Types any command may print: a problem of a file it read, its failure, a note for a person. */
export const commonTypes: Readonly<Record<string, EventSpec>> = {
  issue: {
    doc: "A problem of a file the command read: every problem of an invalid input comes as one line (before the `error` line), and warnings of a valid one too.",
    fields: {
      format: req(t.oneOf(...formats), "which kind of file"),
      file: req(t.string, "the file as the command line named it"),
      line: opt(t.line, "where in the file"),
      column: opt(t.integer, "column, 1-based (only with a line)"),
      field: opt(t.string, "the CSV column or XML element/attribute (`Blob/Length`, `Block/@Hash`)"),
      expected: req(t.string, "what the format wants there"),
      found: req(t.string, "what the file has (a secret is never shown: it is described)"),
      severity: opt(t.oneOf("error", "warning"), "absent means error; a warning does not make the input invalid"),
      message: req(t.string, "the same as one line of text: `file:line:column: field: expected X, found Y`"),
    },
  },
  error: {
    doc: "The command failed: the last line, with the process's exit code. `error` names the failure (a typed error of waie: `InvalidInput`, `UsageError`, `FileUnreadable`, `DataDoesNotFit`, `StorageError`…; `InternalError` is a bug).",
    fields: {
      exitCode: req(t.integer, "the exit code the process ends with (README: Exit codes)"),
      error: req(t.string, "the failure's name"),
      message: req(t.string, "what went wrong, for a person (the first line only for InvalidInput)"),
    },
    variants: {
      on: "error",
      cases: {
        InvalidInput: {
          format: req(t.oneOf(...formats), "which kind of file was invalid"),
          file: req(t.string, "the file as given"),
          issues: req(t.count, "issues listed (each an issue line before this one)"),
          omitted: req(t.count, "further issues found but not listed"),
        },
        InvalidArgument: {
          argument: req(t.string, "the option or argument (`--count`, `NAME`)"),
          expected: req(t.string, "what it takes"),
          found: req(t.string, "what was given"),
        },
        FileUnreadable: { path: req(t.string, "the file as given"), code: req(t.string, "the system's error code (ENOENT, EACCES, EISDIR, EIO…)") },
        FileUnwritable: { path: req(t.string, "the file as given"), code: req(t.string, "the system's error code") },
        RenameImpossible: {
          blobPath: opt(t.string, "`waie rename`: the name asked for"),
          number: opt(t.integer, "`waie rename`: the first candidate number that did not fit"),
          length: opt(t.integer, "`waie rename`: that candidate's blob-name length, in characters"),
          maxLength: opt(t.integer, "`waie rename`: the longest blob name allowed"),
        },
        AzuriteFailed: {
          reason: opt(t.string, "`waie storage start`: why azurite did not start"),
          output: opt(t.string, "`waie storage start`: what azurite printed"),
        },
      },
      otherwise: {},
    },
  },
  note: {
    doc: "Something for a person that is neither a result nor a failure (a warning, where a session stands); on stderr without --json.",
    fields: {
      message: req(t.string, "the note's text"),
      recordedUpTo: opt(t.bytes, "`verify --journal`: the journal length the verify was recorded at (also in the verify line)"),
    },
  },
}

/** `embeddedStorage`: the service commands run without credentials start an azurite of their own. */
const embeddedStorage: EventSpec = {
  doc: "No storage credentials were given: waie started an azurite of its own (in memory unless --azurite-dir), stopped when the command ends.",
  fields: {
    server: req(t.oneOf("azurite"), "what was started"),
    blobEndpoint: req(t.string, "its Blob endpoint URL"),
    account: req(t.string, "its account name"),
    dir: req(t.nullable(t.string), "where it keeps its data; null: in memory"),
    pid: req(t.integer, "its process id"),
  },
}

const progress: EventSpec = {
  doc: "How far the copy is, at most once a second.",
  fields: {
    bytes: req(t.bytes, "copied so far in this run"),
    totalBytes: req(t.bytes, "to copy in this run"),
    files: req(t.count, "files finished"),
    totalFiles: req(t.count, "files to copy"),
    elapsedMs: req(t.unit("integer", "milliseconds"), "since the copy started"),
  },
}

/** Names of the types documented once, under "Common types", wherever a command prints them. */
export const sharedTypes: Readonly<Record<string, EventSpec>> = { ...commonTypes, embeddedStorage, progress }

// ---------------------------------------------------------------- the commands

const repairBlob: EventSpec = {
  doc: "Each blob decided in this run: repaired (or found intact) or unresolved.",
  fields: {
    index: req(t.integer, "the blob's number in the copy log (then the manifest's, for a sweep), from 0: the `blob` of `waie repair json`"),
    blobPath: req(t.string, "the blob (the name chosen, when a disposition renamed it)"),
    logBlobPath: opt(t.string, "the name in the copy log, when it differs"),
    filePath: req(t.string, "the FilePath in the copy log"),
    sweep: opt(t.boolean, "RepairExport: true for a blob checked by the manifest's sweep, false for one the log names"),
    result: req(t.oneOf("repaired", "unresolved"), "what became of it"),
  },
  variants: {
    on: "result",
    cases: {
      repaired: {
        parts: req(t.count, "blocks, page ranges, metadata and properties sent or written (0: intact)"),
        source: opt(t.string, "RepairImport: the local file the data came from"),
        detail: req(t.string, "what was done, in words"),
      },
      unresolved: {
        unresolvedPath: opt(t.string, "the FilePath that could not be resolved (RepairImport: added to the path map)"),
        reason: req(t.string, "why, in words"),
      },
    },
  },
}

const repairSummary = (kind: "RepairImport" | "RepairExport"): EventSpec => ({
  doc: "Where the repair stands after this run.",
  fields: {
    kind: req(t.oneOf(kind), "the command"),
    repairFile: req(t.string, "the repair file as given"),
    driveId: req(t.string, "the drive the copy log is of"),
    pass: req(t.integer, "the pass this run worked in, from 1"),
    repaired: req(t.count, "blobs done in this pass"),
    unresolved: req(t.count, "blobs left unresolved (exit 6 when any)"),
    ...(kind === "RepairExport"
      ? { rewritten: req(t.count, "blobs whose files were written in this run"), intact: req(t.count, "blobs the manifest's sweep found intact") }
      : {
          pathMap: opt(t.string, "the path map as given (/PathMapFile:)"),
          pathMapAdded: opt(t.count, "FilePaths added to it in this run, with an empty target"),
          pathMapWaiting: opt(t.count, "its entries still without a target"),
        }),
    alreadyFinished: req(t.boolean, "the repair file was finished before this run: nothing was done"),
    finished: req(t.boolean, "the repair is finished"),
  },
})

const repairRun = (kind: "RepairImport" | "RepairExport", path: ReadonlyArray<string>): CommandSchema => ({
  command: kind,
  path,
  stdout: "json",
  doc:
    kind === "RepairImport"
      ? "Sends again what the copy log says did not reach storage. Blobs left unresolved end the run with an `error` line `RepairUnfinished` (exit 6)."
      : "Downloads again what the copy log (and with /ManifestFile:, every hash) says is wrong. Blobs left unresolved end the run with an `error` line `RepairUnfinished` (exit 6).",
  sequence: [
    { type: "blob", count: "*", doc: "as each blob is decided" },
    { type: "note", count: "*", doc: "" },
    { type: "repair", count: "1", doc: "" },
    { type: "error", count: "0..1", doc: "RepairUnfinished (exit 6), or a refusal" },
  ],
  types: { blob: repairBlob, repair: repairSummary(kind) },
})

export const commandSchemas: ReadonlyArray<CommandSchema> = [
  {
    command: "PrepImport",
    path: ["prep-import"],
    stdout: "json",
    doc: "A copy session: a new one (/DataSet:), drives added to an interrupted one (/AdditionalDriveSet:), or one resumed (/ResumeSession). A session interrupted because some files fit on no drive ends with an `error` line `DataDoesNotFit` (exit 5).",
    sequence: [
      { type: "note", count: "*", doc: "what the session copies, a resume, a torn journal tail" },
      { type: "progress", count: "*", doc: "at most once a second while copying" },
      { type: "driveUsage", count: "*", doc: "each drive's share of this run" },
      { type: "drive", count: "*", doc: "each drive's manifest and job file, once the session is complete" },
      { type: "session", count: "0..1", doc: "the session is complete" },
      { type: "error", count: "0..1", doc: "DataDoesNotFit (exit 5) or a refusal" },
    ],
    types: {
      progress,
      driveUsage: {
        doc: "What this run put on each drive.",
        fields: {
          driveId: req(t.driveId, "the drive"),
          files: req(t.count, "files placed on it in this run"),
          bytes: req(t.bytes, "their lengths"),
          freeLeft: req(t.bytes, "free space left, as placement counts it"),
        },
      },
      drive: {
        doc: "A drive of the completed session: where its manifest is and its hash (the job's drive list). The BitLocker key is not in the line (it is in the job file).",
        fields: {
          driveId: req(t.driveId, "the drive's DriveId"),
          drive: req(t.string, "as the driveset names it (`G:` or a folder)"),
          root: req(t.string, "the local folder"),
          manifestFile: req(t.string, "the manifest's path on the drive (`\\DriveManifest.xml`)"),
          manifestPath: req(t.string, "the manifest's local path"),
          manifestHash: req(t.md5, "the manifest's MD5: the job's ManifestHash"),
          manifestBytes: req(t.bytes, "the manifest's size"),
          driveInfoFile: req(t.string, "the job file `<DriveId>.xml` beside the journal"),
        },
      },
      session: {
        doc: "The session is complete.",
        fields: {
          sessionId: req(t.string, "the session id"),
          status: req(t.oneOf("completed"), "always completed here"),
          files: req(t.count, "files copied in this run"),
          bytes: req(t.bytes, "their lengths"),
        },
      },
    },
  },
  {
    command: "PrepImport /ListDrives",
    path: ["prep-import"],
    mode: "list-drives",
    stdout: "json",
    doc: "The journal's drives, without touching them.",
    sequence: [
      { type: "drive", count: "*", doc: "" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      drive: {
        doc: "A drive of the journal.",
        fields: {
          driveId: req(t.driveId, "the drive's DriveId"),
          root: req(t.string, "the local folder it was prepared on"),
          name: req(t.string, "as the driveset named it (`G:` or a folder)"),
          sessionAdded: req(t.string, "the session that added it"),
          identity: req(t.oneOf("serial", "file"), "where its DriveId comes from: the device serial, or waie's identity file"),
          encryption: req(t.oneOf("Encrypt", "AlreadyEncrypted"), "the driveset's Encryption"),
          manifestFile: req(t.nullable(t.string), "the manifest's path on the drive; null before a session completed on it"),
          manifestHash: req(t.nullable(t.md5), "the manifest's MD5; null likewise"),
        },
      },
      summary: { doc: "How many drives.", fields: { journal: req(t.string, "the journal as given"), drives: req(t.count, "drives listed") } },
    },
  },
  {
    command: "PrepImport /ListCopySessions",
    path: ["prep-import"],
    mode: "list-copy-sessions",
    stdout: "json",
    doc: "The journal's copy sessions.",
    sequence: [
      { type: "session", count: "*", doc: "" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      session: {
        doc: "A session of the journal.",
        fields: {
          sessionId: req(t.string, "the session id"),
          status: req(t.oneOf("completed", "interrupted", "abandoned"), "interrupted: the latest, not complete (resume, add drives or abort it); abandoned: an earlier one never completed"),
          dataSet: req(t.string, "the dataset as the journal recorded it"),
          drives: req(t.array(t.driveId), "the drives the session added"),
          filesStarted: req(t.count, "files whose copy started"),
          filesCompleted: req(t.count, "files copied"),
          filesSkipped: req(t.count, "files that fit on no drive"),
          bytesStarted: req(t.bytes, "the lengths of the files started"),
        },
      },
      summary: { doc: "How many sessions.", fields: { journal: req(t.string, "the journal as given"), sessions: req(t.count, "sessions listed") } },
    },
  },
  {
    command: "PrepImport /AbortSession",
    path: ["prep-import"],
    mode: "abort-session",
    stdout: "json",
    doc: "The latest, interrupted session rolled back.",
    sequence: [{ type: "aborted", count: "1", doc: "" }],
    types: {
      aborted: {
        doc: "The session is rolled back: its files are off the drives.",
        fields: {
          sessionId: req(t.string, "the session"),
          journal: req(t.string, "the journal as given"),
          journalRemoved: req(t.boolean, "it was the journal's first session, so the journal was removed"),
        },
      },
    },
  },
  { command: "plan", path: ["plan"], stdout: "json", doc: "What a PrepImport session would do, writing nothing; exits as PrepImport would.", sequence: planSequence, types: planTypes },
  { command: "PrepImport --dry-run", path: ["prep-import"], mode: "dry-run", stdout: "json", doc: "The same lines as `waie plan`.", sequence: planSequence, types: planTypes },
  {
    command: "verify",
    path: ["verify"],
    stdout: "json",
    doc: "Re-reads a prepared drive against its manifest (and journal). Exit 1 when anything is wrong.",
    sequence: [
      { type: "problem", count: "*", doc: "in manifest order, at most --max-problems" },
      { type: "issue", count: "*", doc: "the manifest's own problems (format manifest), warnings too" },
      { type: "verify", count: "1", doc: "" },
      { type: "note", count: "*", doc: "with --journal: whether the verify was recorded in it" },
    ],
    types: {
      problem: {
        doc: "One thing on the drive that is not what the manifest (or the journal) says.",
        fields: {
          kind: req(t.oneOf("changedBlock", "changedPageRange", "unlistedData", "shortFile", "longFile", "missingFile", "unreadableFile", "changedSideFile", "missingSideFile", "manifestHash", "driveIdentity"), "what is wrong (goldens/verify/README.md)"),
          file: req(t.string, "the file concerned, as shown (under the drive as given)"),
          filePath: opt(t.string, "the manifest's FilePath, when the problem is a blob's"),
          blobPath: opt(t.string, "the manifest's BlobPath, likewise"),
          offset: opt(t.bytes, "where in the file (byte offset)"),
          length: opt(t.bytes, "how many bytes"),
          expected: req(t.string, "what the manifest or journal says (`MD5 <hex>`, a length…)"),
          found: req(t.string, "what the drive has"),
          line: opt(t.line, "the manifest line of the element that says what was expected"),
        },
      },
      verify: {
        doc: "The verdict and what was read.",
        fields: {
          drive: req(t.string, "the drive as given"),
          manifest: req(t.string, "the manifest read"),
          ok: req(t.boolean, "nothing wrong"),
          driveId: opt(t.string, "the manifest's DriveId"),
          manifestHash: req(t.md5, "the manifest's MD5"),
          manifestBytes: req(t.bytes, "its size"),
          manifestComplete: req(t.boolean, "the manifest could be read to its end"),
          manifestErrors: req(t.count, "its errors (issue lines)"),
          manifestWarnings: req(t.count, "its warnings"),
          blobs: req(t.count, "blobs in the manifest"),
          checkedBlobs: req(t.count, "blobs whose data was read (fewer with --since-journal)"),
          bytes: req(t.bytes, "data read"),
          blocks: req(t.count, "blocks checked"),
          pageRanges: req(t.count, "page ranges checked"),
          sideFiles: req(t.count, "metadata and properties files checked"),
          problems: req(t.count, "problems found"),
          omitted: req(t.count, "problems beyond --max-problems, not listed"),
          since: opt(t.bytes, "--since-journal: the journal length the previous verify had checked up to"),
          recordedUpTo: opt(t.bytes, "--journal: this verify was recorded in the journal, up to this length"),
        },
      },
    },
  },
  {
    command: "dataset check",
    path: ["dataset", "check"],
    stdout: "json",
    doc: "A dataset CSV, row by row; exit 1 when invalid (the result says so; no error line).",
    sequence: [
      { type: "row", count: "*", doc: "each row read" },
      { type: "issue", count: "*", doc: "" },
      { type: "note", count: "0..1", doc: "when duplicates were looked for among the first rows only" },
      { type: "result", count: "1", doc: "" },
    ],
    types: {
      row: {
        doc: "A row: what it copies where.",
        fields: {
          line: req(t.line, "the row's first line"),
          kind: req(t.oneOf("directory", "file"), "a folder (BasePath ends with a separator) or one file"),
          basePath: req(t.string, "BasePath as written"),
          local: req(t.string, "the local path it resolves to (--mount)"),
          destination: req(t.string, "DstBlobPathOrPrefix as written"),
          container: req(t.string, "the container"),
          account: req(t.nullable(t.string), "the storage account a full-URL destination names; null otherwise"),
          disposition: req(t.oneOf(...dispositions), "Disposition"),
          metadataFile: req(t.nullable(t.object({ raw: req(t.string, "as written"), local: req(t.string, "resolved") })), "MetadataFile; null for None"),
          propertiesFile: req(t.nullable(t.object({ raw: req(t.string, "as written"), local: req(t.string, "resolved") })), "PropertiesFile; null for None"),
        },
        variants: {
          on: "kind",
          cases: {
            directory: {
              prefix: req(t.string, "`container/` or `container/virtual/dir/`"),
              blobType: req(t.oneOf("auto", "BlockBlob", "PageBlob"), "auto: per file, .vhd/.vhdx are page blobs"),
            },
            file: {
              blobPath: req(t.string, "container/blob"),
              blobTypeFrom: req(t.oneOf("column", "extension"), "the type was written, or decided by the extension"),
              blobType: req(t.oneOf("BlockBlob", "PageBlob"), "the blob type"),
            },
          },
        },
      },
      result: {
        doc: "The verdict.",
        fields: {
          ok: req(t.boolean, "no error (warnings allowed)"),
          file: req(t.string, "the file as given"),
          rows: req(t.count, "rows read"),
          files: req(t.count, "file rows"),
          directories: req(t.count, "directory rows"),
          errors: req(t.count, "errors"),
          warnings: req(t.count, "warnings"),
          omitted: req(t.count, "issues found but not listed"),
          account: req(t.nullable(t.string), "the one storage account the destinations name; null when none"),
        },
      },
    },
  },
  {
    command: "driveset check",
    path: ["driveset", "check"],
    stdout: "json",
    doc: "A driveset CSV, row by row; exit 1 when invalid (the result says so; no error line).",
    sequence: [
      { type: "row", count: "*", doc: "" },
      { type: "issue", count: "*", doc: "" },
      { type: "result", count: "1", doc: "" },
    ],
    types: {
      row: {
        doc: "A drive of the driveset.",
        fields: {
          line: req(t.line, "the row's line"),
          drive: req(t.string, "a drive letter (`G`) or a folder"),
          driveKind: req(t.oneOf("letter", "path"), "which"),
          formatOption: req(t.oneOf("Format", "AlreadyFormatted"), "FormatOption"),
          silentOrPromptOnFormat: req(t.oneOf("SilentMode", "PromptOnFormat"), "SilentOrPromptOnFormat"),
          encryption: req(t.oneOf("Encrypt", "AlreadyEncrypted"), "Encryption"),
          existingBitLockerKey: req(t.nullable(t.oneOf("******")), "`******` when the row has a key (never the key); null when none"),
        },
      },
      result: {
        doc: "The verdict.",
        fields: {
          ok: req(t.boolean, "no error"),
          file: req(t.string, "the file as given"),
          drives: req(t.count, "drives (rows)"),
          errors: req(t.count, "errors"),
          warnings: req(t.count, "warnings"),
          omitted: req(t.count, "issues found but not listed"),
        },
      },
    },
  },
  {
    command: "manifest check",
    path: ["manifest", "check"],
    stdout: "json",
    doc: "A drive manifest against every rule of the format. Invalid: the manifest line, its issues, then an `error` line `InvalidInput` (exit 1).",
    sequence: [
      { type: "manifest", count: "1", doc: "" },
      { type: "issue", count: "*", doc: "errors and warnings, in file order" },
      { type: "error", count: "0..1", doc: "InvalidInput when there is an error" },
    ],
    types: {
      manifest: {
        doc: "The verdict and what the manifest holds.",
        fields: {
          file: req(t.string, "the file as given"),
          valid: req(t.boolean, "no error"),
          purpose: req(t.oneOf("import", "export"), "the rules checked (--export)"),
          complete: req(t.boolean, "read to its end (false: reading stopped at a structural problem)"),
          stoppedAt: opt(t.line, "where reading stopped"),
          errors: req(t.count, "errors"),
          warnings: req(t.count, "warnings"),
          version: opt(t.string, "DriveManifest/@Version"),
          driveId: opt(t.string, "Drive/DriveId"),
          credential: req(t.oneOf("StorageAccountKey", "ContainerSas", "none"), "which credential it carries (never its value)"),
          blobLists: req(t.count, "blob lists"),
          blobs: req(t.count, "blobs"),
          blocks: req(t.count, "blocks"),
          pageRanges: req(t.count, "page ranges"),
          bytes: req(t.bytes, "the blobs' lengths"),
          hash: req(t.md5, "the file's MD5: its ManifestHash"),
          fileBytes: req(t.bytes, "the file's size"),
        },
      },
    },
  },
  {
    command: "manifest json",
    path: ["manifest", "json"],
    stdout: "always",
    doc: "A manifest as lines that `waie manifest write` turns back into the same bytes. The credential is masked (`*******`). A manifest that cannot be read to its end stops with issue lines and an `error` line.",
    sequence: [
      { type: "drive", count: "1+", doc: "the Drive element (a further one only for a field given twice, which is invalid)" },
      { type: "blobList", count: "*", doc: "each BlobList, followed by its blobs" },
      { type: "blob", count: "*", doc: "" },
    ],
    types: {
      drive: {
        doc: "The manifest's Drive fields.",
        fields: {
          version: opt(t.string, "DriveManifest/@Version (on the first drive line)"),
          driveId: opt(t.string, "DriveId"),
          storageAccountKey: opt(t.oneOf("*******"), "the key, masked"),
          containerSas: opt(t.oneOf("*******"), "the SAS, masked"),
          clientCreator: opt(t.string, "ClientCreator"),
        },
      },
      blobList: {
        doc: "A BlobList.",
        fields: {
          index: req(t.integer, "from 0, in file order"),
          id: opt(t.string, "BlobList/@Id"),
          metadataPath: opt(manifestFileRef, "the list's MetadataPath"),
          propertiesPath: opt(manifestFileRef, "the list's PropertiesPath"),
        },
      },
      blob: {
        doc: "A Blob, with its blocks or page ranges.",
        fields: {
          blobList: req(t.integer, "the index of its list"),
          blobPath: req(t.string, "BlobPath"),
          filePath: req(t.string, "FilePath"),
          clientData: opt(t.string, "ClientData"),
          snapshot: opt(t.string, "Snapshot (export manifests)"),
          length: req(t.bytes, "Length"),
          importDisposition: opt(t.string, "ImportDisposition as written"),
          blocks: opt(t.array(t.object({ offset: req(t.bytes, "Block/@Offset"), length: req(t.bytes, "Block/@Length"), id: opt(t.string, "Block/@Id"), hash: req(t.string, "Block/@Hash as written") })), "the BlockList (maybe empty)"),
          pageRanges: opt(t.array(t.object({ offset: req(t.bytes, "PageRange/@Offset"), length: req(t.bytes, "PageRange/@Length"), hash: req(t.string, "PageRange/@Hash as written") })), "the PageRangeList"),
          metadataPath: opt(manifestFileRef, "the blob's MetadataPath"),
          propertiesPath: opt(manifestFileRef, "the blob's PropertiesPath"),
        },
      },
    },
  },
  {
    command: "manifest write --out",
    path: ["manifest", "write"],
    mode: "out",
    stdout: "json",
    doc: "The lines of `manifest json` back into a manifest file. (Without --out the manifest itself goes to stdout: see `manifest write`.)",
    sequence: [{ type: "manifestWritten", count: "1", doc: "" }],
    types: {
      manifestWritten: {
        doc: "The manifest is written.",
        fields: { file: req(t.string, "--out as given"), bytes: req(t.bytes, "its size"), hash: req(t.md5, "its MD5: the ManifestHash") },
      },
    },
  },
  { command: "manifest write", path: ["manifest", "write"], stdout: "document", doc: "Prints the manifest (XML); with --json only a failure is a JSON line.", sequence: [], types: {} },
  { command: "journal manifest", path: ["journal", "manifest"], stdout: "document", doc: "Prints the manifest a journal gives (XML); with --json only a failure is a JSON line.", sequence: [], types: {} },
  { command: "journal driveinfo", path: ["journal", "driveinfo"], stdout: "document", doc: "Prints the job file `<DriveId>.xml` (XML); with --json only a failure is a JSON line.", sequence: [], types: {} },
  {
    command: "journal json",
    path: ["journal", "json"],
    stdout: "always",
    doc: "The records of a `.jrn` journal, credentials masked. Exit 4 when the last record is torn.",
    sequence: [
      { type: "record", count: "*", doc: "" },
      { type: "tornTail", count: "0..1", doc: "" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      record: {
        doc: "A record, its fields as the journal holds them (text: numbers, quoted paths and lists are strings).",
        fields: {
          line: req(t.line, "the line of its [BeginUpdateRecord]"),
          time: req(t.journalTime, "when it was written"),
          recordType: req(t.string, "NewJournalFile, CopySessionStarted, DriveAdded, FileStarted, BlocksDurable…"),
          checksum: req(t.boolean, "it carried a checksum (and it matched)"),
          fields: req(t.array(t.tuple(t.string, t.string)), "[name, value] pairs in record order; secrets as `*******`"),
        },
      },
      tornTail: {
        doc: "The journal ends in a record cut short (a crash while appending).",
        fields: { file: req(t.string, "the journal as the command line named it"), line: req(t.line, "where the torn record starts"), reason: req(t.string, "what is wrong with it") },
      },
      summary: { doc: "How many records.", fields: { records: req(t.count, "intact records"), tornTail: req(t.boolean, "a torn tail follows them") } },
    },
  },
  {
    command: "copylog check",
    path: ["copylog", "check"],
    stdout: "json",
    doc: "A copy log's verdict.",
    sequence: [
      { type: "failedBlob", count: "*", doc: "each blob with anything not Completed" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      failedBlob: {
        doc: "A blob that failed, and how.",
        fields: {
          ...copyLogBlobHead,
          failures: req(
            t.object({
              status: opt(t.oneOf(...blobStatuses), "the blob's own status, when not Completed"),
              ranges: req(
                t.array(
                  t.object({
                    status: req(t.oneOf(...rangeStatuses), "the ranges' status"),
                    kind: req(t.oneOf("block", "page range"), "which ranges"),
                    count: req(t.count, "how many"),
                    bytes: req(t.bytes, "their lengths"),
                    first: req(t.array(t.object({ offset: req(t.bytes, "where"), length: req(t.bytes, "how long") })), "the first three"),
                  }),
                ),
                "ranges not Completed, per status",
              ),
              metadata: opt(t.oneOf(...fileStatuses), "the metadata file's status, when not Completed"),
              properties: opt(t.oneOf(...fileStatuses), "the properties file's status, when not Completed"),
            }),
            "what failed",
          ),
          description: req(t.string, "the same in words"),
        },
      },
      summary: {
        doc: "The verdict: counts per status.",
        fields: {
          file: req(t.string, "the log as given"),
          valid: req(t.true, "always true: an invalid file ends with issue lines and an error line instead"),
          version: opt(t.string, "DriveLog/@Version"),
          driveId: opt(t.string, "DriveLog/DriveId"),
          ...copyLogSummaryCounts,
        },
      },
    },
  },
  {
    command: "copylog json",
    path: ["copylog", "json"],
    stdout: "always",
    doc: "A copy log as lines: the drive, each blob with its ranges, the counts.",
    sequence: [
      { type: "drive", count: "1", doc: "" },
      { type: "blob", count: "*", doc: "" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      drive: {
        doc: "The log's drive.",
        fields: { file: req(t.string, "the log as given"), version: opt(t.string, "DriveLog/@Version"), driveId: req(t.string, "DriveLog/DriveId") },
      },
      blob: {
        doc: "A blob, with its ranges and side files.",
        fields: {
          ...copyLogBlobHead,
          blocks: opt(t.array(t.object({ offset: req(t.bytes, "@Offset"), length: req(t.bytes, "@Length"), id: opt(t.string, "@Id"), hash: opt(t.md5, "@Hash"), status: req(t.oneOf(...rangeStatuses), "@Status") })), "list block: the BlockList"),
          pageRanges: opt(t.array(t.object({ offset: req(t.bytes, "@Offset"), length: req(t.bytes, "@Length"), hash: opt(t.md5, "@Hash"), status: req(t.oneOf(...rangeStatuses), "@Status") })), "list page: the PageRangeList"),
          metadata: opt(copyLogFileEntry, "the Metadata element"),
          properties: opt(copyLogFileEntry, "the Properties element"),
          part: opt(t.integer, "a blob of more than 50,000 ranges comes in parts: 1, 2, …"),
          more: opt(t.boolean, "true on every part but the last"),
        },
      },
      summary: { doc: "Counts per status (as `copylog check`, without the file, version and drive id of the drive line).", fields: copyLogSummaryCounts },
    },
  },
  {
    command: "metadata check",
    path: ["metadata", "check"],
    stdout: "json",
    doc: "A metadata file. Invalid: issue lines and an `error` line.",
    sequence: [
      { type: "issue", count: "*", doc: "warnings" },
      { type: "metadata", count: "1", doc: "" },
    ],
    types: {
      metadata: {
        doc: "The file is valid: its pairs.",
        fields: {
          file: req(t.string, "the file as given"),
          valid: req(t.true, "always true: an invalid file ends with issue lines and an error line instead"),
          md5: req(t.md5, "the file's MD5 (the manifest's MetadataPath Hash)"),
          bytes: req(t.bytes, "the file's size"),
          size: req(t.bytes, "names and values, as the 8 KiB limit counts them"),
          pairs: req(t.array(t.object({ name: req(t.string, "the name"), value: req(t.string, "the value") })), "in file order"),
        },
      },
    },
  },
  {
    command: "properties check",
    path: ["properties", "check"],
    stdout: "json",
    doc: "A properties file. Invalid: issue lines and an `error` line.",
    sequence: [
      { type: "issue", count: "*", doc: "warnings" },
      { type: "properties", count: "1", doc: "" },
    ],
    types: {
      properties: {
        doc: "The file is valid: what an import sets, and what it ignores.",
        fields: {
          file: req(t.string, "the file as given"),
          valid: req(t.true, "always true: an invalid file ends with issue lines and an error line instead"),
          md5: req(t.md5, "the file's MD5 (the manifest's PropertiesPath Hash)"),
          bytes: req(t.bytes, "the file's size"),
          sets: req(
            t.object({
              "Content-Type": opt(t.string, ""),
              "Content-MD5": opt(t.string, "Base64, as written"),
              "Content-Encoding": opt(t.string, ""),
              "Content-Language": opt(t.string, ""),
              "Cache-Control": opt(t.string, ""),
              "Content-Disposition": opt(t.string, ""),
            }),
            "the properties an import applies, by element name",
          ),
          ignoredOnImport: req(
            t.object({ "Last-Modified": opt(t.string, "as written (RFC 1123)"), Etag: opt(t.string, ""), "Content-Length": opt(t.bytes, "") }),
            "the properties an export writes and an import ignores",
          ),
        },
      },
    },
  },
  {
    command: "bloblist check",
    path: ["bloblist", "check"],
    stdout: "json",
    doc: "An export blob list. Invalid: issue lines and an `error` line.",
    sequence: [
      { type: "entry", count: "*", doc: "" },
      { type: "issue", count: "*", doc: "warnings (duplicates)" },
      { type: "summary", count: "1", doc: "" },
    ],
    types: {
      entry: {
        doc: "An entry and what it selects.",
        fields: {
          line: req(t.line, "its line"),
          element: req(t.oneOf("BlobPath", "BlobPathPrefix"), "which element"),
          value: req(t.string, "its text"),
          selects: req(t.string, "what it selects, in words"),
          duplicateOf: opt(t.line, "the line of the same entry earlier"),
        },
      },
      summary: {
        doc: "The list is valid: counts.",
        fields: {
          file: req(t.string, "the file as given"),
          valid: req(t.true, "always true: an invalid file ends with issue lines and an error line instead"),
          entries: req(t.count, "entries"),
          blobPaths: req(t.count, "BlobPath entries"),
          prefixes: req(t.count, "BlobPathPrefix entries"),
          duplicates: req(t.count, "entries given again"),
        },
      },
    },
  },
  {
    command: "repair json",
    path: ["repair", "json"],
    stdout: "always",
    doc: "The records of a repair file, and where the repair stands. Exit 4 when the last record is torn.",
    sequence: [
      { type: "record", count: "*", doc: "" },
      { type: "tornTail", count: "0..1", doc: "" },
      { type: "state", count: "1", doc: "" },
    ],
    types: {
      record: {
        doc: "A record of the repair file, its fields decoded.",
        fields: {
          line: req(t.line, "its line"),
          time: req(t.journalTime, "when it was written"),
          record: req(t.oneOf("RepairStarted", "PassStarted", "PartsRepaired", "BlobRepaired", "BlobUnresolved", "PassCompleted"), "the record type"),
        },
        variants: {
          on: "record",
          cases: {
            RepairStarted: {
              kind: req(t.oneOf("RepairImport", "RepairExport"), "which repair"),
              copyLog: req(t.string, "the copy log as named"),
              copyLogHash: req(t.md5, "its MD5"),
              driveId: req(t.string, "the drive"),
              endpoint: req(t.string, "the Blob endpoint (never a SAS)"),
              writer: req(t.string, "what wrote the file"),
              manifest: opt(t.string, "RepairExport with /ManifestFile: the manifest as named"),
              manifestHash: opt(t.md5, "its MD5"),
            },
            PassStarted: { pass: req(t.integer, "from 1") },
            PartsRepaired: { blob: req(t.integer, "the blob's number"), blobPath: req(t.string, "the blob"), offsets: req(t.array(t.bytes), "the offsets of the blocks or page ranges done") },
            BlobRepaired: { blob: req(t.integer, "the blob's number"), blobPath: req(t.string, "the blob"), source: req(t.string, "RepairImport: the local file used; \"\" for RepairExport"), parts: req(t.count, "parts sent or written") },
            BlobUnresolved: { blob: req(t.integer, "the blob's number"), blobPath: req(t.string, "the blob"), filePath: req(t.string, "the FilePath not resolved"), reason: req(t.string, "why") },
            PassCompleted: { pass: req(t.integer, "the pass"), repaired: req(t.count, "blobs done in it"), unresolved: req(t.count, "blobs left") },
          },
        },
      },
      tornTail: {
        doc: "The file ends in a record cut short.",
        fields: { line: req(t.line, "where it starts"), offset: req(t.bytes, "its byte offset (RepairImport/RepairExport cut the file there)"), reason: req(t.string, "what is wrong") },
      },
      state: {
        doc: "Where the repair stands.",
        fields: { records: req(t.boolean, "the file has records (false: an empty file; only tornTail follows)"), tornTail: req(t.boolean, "a torn tail follows the records") },
        variants: {
          on: "records",
          cases: {
            true: {
              kind: req(t.oneOf("RepairImport", "RepairExport"), "which repair"),
              copyLog: req(t.string, "the copy log as named"),
              copyLogHash: req(t.md5, "its MD5"),
              driveId: req(t.string, "the drive"),
              manifest: opt(t.string, "RepairExport with /ManifestFile:"),
              manifestHash: opt(t.md5, "its MD5"),
              pass: req(t.integer, "the latest pass"),
              passCompleted: req(t.boolean, "it completed"),
              finished: req(t.boolean, "the repair is finished"),
              cursor: req(t.integer, "the last blob the pass reached"),
              inProgress: req(t.nullable(t.object({ blob: req(t.integer, "the blob"), blobPath: req(t.string, "its path"), offsets: req(t.array(t.bytes), "parts done") })), "a blob part way through; null when none"),
              repaired: req(t.count, "blobs done in the pass"),
              unresolved: req(t.array(t.integer), "blobs left unresolved"),
              retry: req(t.nullable(t.array(t.integer)), "the blobs this pass retries; null in a first pass"),
              next: req(t.string, "what a rerun does, in words"),
            },
            false: {},
          },
        },
      },
    },
  },
  {
    command: "repair pathmap",
    path: ["repair", "pathmap"],
    stdout: "json",
    doc: "A RepairImport path map's entries.",
    sequence: [
      { type: "entry", count: "*", doc: "" },
      { type: "pathMap", count: "1", doc: "" },
    ],
    types: {
      entry: {
        doc: "An entry.",
        fields: { line: req(t.line, "its line"), filePath: req(t.string, "the copy log's FilePath"), target: req(t.nullable(t.string), "the local file given for it; null while empty") },
      },
      pathMap: { doc: "Counts.", fields: { entries: req(t.count, "entries"), filled: req(t.count, "with a target"), waiting: req(t.count, "without one") } },
    },
  },
  {
    command: "key new",
    path: ["key", "new"],
    stdout: "json",
    doc: "Fresh BitLocker recovery keys. The key is the output: keep the line as you would keep the key.",
    sequence: [{ type: "key", count: "1+", doc: "--count of them" }],
    types: { key: { doc: "A recovery key.", fields: { key: req(t.string, "8 groups of 6 digits joined by `-`") } } },
  },
  {
    command: "key check",
    path: ["key", "check"],
    stdout: "json",
    doc: "A recovery key's shape (never echoed). Exit 1 when invalid.",
    sequence: [{ type: "keyCheck", count: "1", doc: "" }],
    types: {
      keyCheck: {
        doc: "The verdict.",
        fields: { valid: req(t.boolean, "a valid key") },
        variants: { on: "valid", cases: { true: {}, false: { expected: req(t.string, "what a key is"), found: req(t.string, "what is wrong (the key is not shown)") } } },
      },
    },
  },
  {
    command: "name check",
    path: ["name", "check"],
    stdout: "json",
    doc: "Names against the service's rules. Exit 1 when any is invalid.",
    sequence: [{ type: "name", count: "1+", doc: "one per name, in option order" }],
    types: {
      name: {
        doc: "A name's verdict.",
        fields: {
          kind: req(t.oneOf("container", "blob-path", "blob-name", "account", "session-id", "metadata-name"), "the option it was given with"),
          name: req(t.string, "the name"),
          valid: req(t.boolean, "it follows the rules"),
        },
        variants: { on: "valid", cases: { true: {}, false: { expected: req(t.string, "the rule"), found: req(t.string, "what breaks it") } } },
      },
    },
  },
  {
    command: "rename",
    path: ["rename"],
    stdout: "json",
    doc: "The name the rename disposition gives a blob. No free name: an `error` line `RenameImpossible` (exit 1).",
    sequence: [{ type: "rename", count: "0..1", doc: "" }],
    types: {
      rename: {
        doc: "The name.",
        fields: { blobPath: req(t.string, "the name asked for"), name: req(t.string, "the name it gets"), renamed: req(t.boolean, "it differs") },
      },
    },
  },
  {
    command: "storage start",
    path: ["storage", "start"],
    stdout: "json",
    doc: "An azurite until Ctrl-C (SIGINT or SIGTERM).",
    sequence: [
      { type: "storageStarted", count: "1", doc: "once it answers" },
      { type: "storageStopped", count: "1", doc: "once it has stopped" },
    ],
    types: {
      storageStarted: {
        doc: "azurite is listening.",
        fields: {
          server: req(t.oneOf("azurite"), "what runs"),
          blobEndpoint: req(t.string, "its Blob endpoint URL"),
          port: req(t.integer, "its port"),
          account: req(t.string, "its account name"),
          connectionString: req(t.string, "a connection string for it: it holds azurite's published development key, which is not a secret"),
          dir: req(t.nullable(t.string), "where its data is"),
          pid: req(t.integer, "its process id"),
        },
      },
      storageStopped: { doc: "azurite has stopped.", fields: { signal: req(t.nullable(t.string), "the signal that stopped waie (SIGINT, SIGTERM); null when azurite stopped by itself cleanly") } },
    },
  },
  {
    command: "service import",
    path: ["service", "import"],
    stdout: "json",
    doc: "What the datacenter does with the drives of an import job. Exit 1, 3 or 6 as the README says; the `import` line carries it.",
    sequence: [
      { type: "embeddedStorage", count: "0..1", doc: "without storage credentials" },
      { type: "blob", count: "*", doc: "each blob of a drive, in manifest order, then that drive's line" },
      { type: "drive", count: "*", doc: "after its blobs" },
      { type: "import", count: "1", doc: "" },
    ],
    types: {
      embeddedStorage,
      blob: {
        doc: "A blob imported (or not).",
        fields: {
          drive: req(t.string, "the drive as given"),
          driveId: req(t.string, "its DriveId"),
          blobPath: req(t.string, "the blob written (after a rename, the new name)"),
          manifestBlobPath: opt(t.string, "the manifest's BlobPath, when the blob was renamed"),
          filePath: req(t.string, "the manifest's FilePath"),
          length: req(t.bytes, "the blob's length"),
          status: req(t.oneOf(...blobStatuses), "Blob/Status of the copy log"),
          disposition: opt(t.oneOf(...dispositions), "the disposition asked for"),
          dispositionStatus: opt(t.oneOf(...dispositionStatuses), "what it did"),
          ranges: req(statusCounts("range"), "blocks or page ranges per status"),
          metadata: opt(t.oneOf(...fileStatuses), "the metadata file's status"),
          properties: opt(t.oneOf(...fileStatuses), "the properties file's status"),
          problems: opt(t.array(t.string), "what went wrong, in words (the copy log has codes only)"),
        },
      },
      drive: {
        doc: "A drive's outcome and its copy logs.",
        fields: {
          drive: req(t.string, "the drive as given"),
          root: req(t.string, "its folder"),
          driveId: req(t.string, "its DriveId"),
          status: req(t.oneOf(...driveStatuses), "DriveLog/Status"),
          problem: opt(t.string, "the drive-level problem, when refused"),
          issues: opt(t.array(t.object(commonTypes.issue!.fields)), "the manifest's issues, when it was refused for them"),
          notes: opt(t.array(t.string), "notes (a manifest without a credential…)"),
          manifest: opt(t.string, "the manifest's local path"),
          manifestHash: opt(t.md5, "its MD5"),
          blobs: req(t.count, "blobs"),
          bytes: req(t.bytes, "their lengths"),
          blobStatus: req(statusCounts("blob"), ""),
          dispositionStatus: req(statusCounts("disposition"), ""),
          rangeStatus: req(statusCounts("range"), ""),
          failedBlobs: req(t.count, "blobs with anything not Completed"),
          verboseLog: req(t.string, "the verbose copy log's local path"),
          errorLog: req(t.string, "the error copy log's local path"),
          verboseLogBlob: req(t.string, "where it was uploaded (container/blob)"),
          errorLogBlob: req(t.string, "likewise"),
          uploaded: req(t.boolean, "the logs were uploaded"),
          uploadError: opt(t.string, "why not"),
          unreachable: opt(t.boolean, "storage could not be reached blob after blob: the rest was not attempted"),
        },
      },
      import: {
        doc: "The job's outcome.",
        fields: { job: req(t.string, "the job name (in the copy logs' names)"), drives: req(t.count, "drives"), statuses: req(t.array(t.oneOf(...driveStatuses)), "each drive's status, in order"), exitCode: req(t.integer, "the exit code") },
      },
    },
  },
  {
    command: "service export",
    path: ["service", "export"],
    stdout: "json",
    doc: "What the datacenter does for an export job. A failure of the job (blobs failed, drives full, a drive not empty) ends with an `error` line.",
    sequence: [
      { type: "embeddedStorage", count: "0..1", doc: "without storage credentials" },
      { type: "blob", count: "*", doc: "each blob as it is exported" },
      { type: "notExported", count: "*", doc: "each blob that cannot go on any drive, among the blob lines" },
      { type: "selection", count: "1", doc: "" },
      { type: "drive", count: "*", doc: "" },
      { type: "export", count: "1", doc: "" },
      { type: "error", count: "0..1", doc: "ExportBlobsFailed (6), ExportDrivesFull (5), ExportDriveNotEmpty (1)" },
    ],
    types: {
      embeddedStorage,
      blob: {
        doc: "A blob exported.",
        fields: {
          drive: req(t.string, "the drive as given"),
          driveId: req(t.driveId, "its DriveId"),
          blobPath: req(t.string, "container/blob"),
          filePath: req(t.string, "its file on the drive (`\\container\\blob`)"),
          length: req(t.bytes, "its length"),
          lastModified: req(t.isoTime, "the blob's Last-Modified"),
          status: req(t.oneOf(...blobStatuses), "Blob/Status of the copy log"),
          problem: opt(t.string, "what went wrong, in words"),
        },
      },
      notExported: {
        doc: "A blob that goes on no drive.",
        fields: {
          blobPath: req(t.string, "container/blob"),
          length: req(t.bytes, "its length"),
          reason: req(t.oneOf("too-big", "no-room"), "too big for any drive or manifest, or the drives are full"),
          detail: req(t.string, "in words"),
        },
      },
      selection: {
        doc: "What the blob list selected.",
        fields: {
          entries: req(t.count, "entries in the list"),
          unique: req(t.count, "distinct entries"),
          duplicate: req(t.count, "entries given again"),
          nonexistent: req(t.count, "distinct entries that selected nothing"),
          nonexistentEntries: req(t.array(listEntry), "those entries (the first 100)"),
          blobs: req(t.count, "blobs selected"),
          bytes: req(t.bytes, "their lengths"),
        },
      },
      drive: {
        doc: "A drive written.",
        fields: {
          drive: req(t.string, "as given"),
          root: req(t.string, "its folder"),
          driveId: req(t.driveId, "its DriveId"),
          blobs: req(t.count, "blobs placed on it"),
          bytes: req(t.bytes, "their lengths"),
          failed: req(t.count, "of those, blobs that did not export"),
          status: req(t.oneOf(...driveStatuses), "DriveLog/Status"),
          freeBytes: req(t.bytes, "free before the export"),
          footprint: req(t.bytes, "what placement reserved for the blobs"),
          manifest: req(t.string, "the manifest's local path"),
          manifestHash: req(t.md5, "its MD5"),
          verboseLog: req(t.string, "the verbose copy log's local path"),
          errorLog: req(t.string, "the error copy log's local path"),
          verboseLogBlob: req(t.string, "where it was uploaded (container/blob)"),
          errorLogBlob: req(t.string, "likewise"),
        },
      },
      export: {
        doc: "The job's outcome.",
        fields: {
          job: req(t.string, "the job name"),
          drives: req(t.count, "drives written"),
          exported: req(t.count, "blobs exported"),
          failed: req(t.count, "blobs that failed"),
          tooBig: req(t.count, "blobs too big for any drive"),
          notExported: req(t.count, "blobs left out because the drives are full"),
          notExportedBlobList: opt(t.string, "the blob list of those, for another run"),
        },
      },
    },
  },
  {
    command: "PreviewExport",
    path: ["preview-export"],
    stdout: "json",
    doc: "How many drives of a size a blob list needs.",
    sequence: [
      { type: "embeddedStorage", count: "0..1", doc: "without storage credentials" },
      { type: "blob", count: "*", doc: "each blob selected, as placed" },
      { type: "drive", count: "*", doc: "" },
      { type: "preview", count: "1", doc: "" },
    ],
    types: {
      embeddedStorage,
      blob: {
        doc: "A blob and its drive.",
        fields: {
          blobPath: req(t.string, "container/blob"),
          length: req(t.bytes, "its length"),
          footprint: req(t.bytes, "what it takes on a drive (data, side files, manifest share)"),
          drive: req(t.nullable(t.integer), "the drive's number, from 1; null: it cannot be exported"),
          reason: opt(t.string, "why not"),
        },
      },
      drive: {
        doc: "A drive needed.",
        fields: { drive: req(t.integer, "its number, from 1, in the order the drives fill"), blobs: req(t.count, "blobs on it"), bytes: req(t.bytes, "their lengths"), occupied: req(t.bytes, "their footprints") },
      },
      preview: {
        doc: "The answer.",
        fields: {
          unique: req(t.count, "distinct entries"),
          duplicate: req(t.count, "entries given again"),
          nonexistent: req(t.count, "entries that selected nothing"),
          nonexistentEntries: req(t.array(listEntry), "those entries (the first 100)"),
          driveSize: req(t.bytes, "/DriveSize"),
          reservePerDrive: req(t.bytes, "what each drive keeps for its manifest and file system"),
          blobs: req(t.count, "blobs selected"),
          bytes: req(t.bytes, "their lengths"),
          exportable: req(t.count, "blobs that fit a drive"),
          exportableBytes: req(t.bytes, "their lengths"),
          cannotExport: req(t.count, "blobs that fit no drive of that size"),
          cannotExportBytes: req(t.bytes, "their lengths"),
          drivesNeeded: req(t.count, "the answer"),
        },
      },
    },
  },
  repairRun("RepairImport", ["repair-import"]),
  repairRun("RepairExport", ["repair-export"]),
  {
    command: "demo",
    path: ["demo"],
    stdout: "json",
    doc: "Each step, then the lines of the command it runs (with --json, those are that command's JSON lines, as documented here), then the step's result.",
    sequence: [
      { type: "step", count: "1+", doc: "a step begins" },
      { type: "stepResult", count: "*", doc: "after a step's command (or act)" },
      { type: "verdict", count: "1", doc: "" },
    ],
    types: {
      step: {
        doc: "A step: the command a user would type, or what the demo does itself.",
        fields: {
          what: req(t.string, "what the step shows"),
          command: opt(t.string, "the command line (`waie …`; the account key shown as `<key>`); the step's lines follow"),
          commands: opt(t.array(t.string), "an act of the demo's own: the shell lines that would do the same"),
        },
      },
      stepResult: {
        doc: "How a step ended.",
        fields: {
          command: opt(t.string, "a command's step: the command line"),
          exit: opt(t.integer, "its exit code"),
          expected: opt(t.integer, "the exit code the step should give"),
          what: opt(t.string, "an act's step: what it was"),
          ok: opt(t.boolean, "the act gave the result it should"),
          result: opt(t.string, "the act's result, in words"),
        },
      },
      verdict: {
        doc: "The demo's verdict (exit 0 only when every step gave its expected result).",
        fields: { ok: req(t.boolean, "every step gave its expected result"), steps: req(t.count, "steps"), failed: req(t.array(t.string), "the steps that did not, in words") },
      },
    },
  },
]

/** The schema of a command line: its path, and the options it was given (canonical names). */
export const schemaFor = (path: ReadonlyArray<string>, options: ReadonlySet<string>): CommandSchema | undefined => {
  const same = commandSchemas.filter((s) => s.path.join(" ") === path.join(" "))
  return same.find((s) => s.mode !== undefined && options.has(s.mode)) ?? same.find((s) => s.mode === undefined)
}

/** The spec of a type in a command: its own, else a common one. */
export const typeSpec = (schema: CommandSchema | undefined, type: string): EventSpec | undefined => schema?.types[type] ?? commonTypes[type]

/**
 * A real line of each type, from a golden's expected.stdout or a real run; scripts/json-lines.test.ts
 * checks each against its type. `*`: a common type.
 */
export const exampleLines: ReadonlyArray<readonly [command: string, type: string, line: string]> = [
  ["*", "issue", String.raw`{"type":"issue","format":"properties","file":"../exported.properties","line":4,"column":8,"field":"Etag","expected":"only properties an import applies (Etag is written by export and ignored on import)","found":"<Etag>","severity":"warning","message":"../exported.properties:4:8: warning: Etag: expected only properties an import applies (Etag is written by export and ignored on import), found <Etag>"}`],
  ["*", "error", String.raw`{"type":"error","exitCode":5,"error":"DataDoesNotFit","message":"logs/job.jrn: session session#1 is interrupted: 1 file (9449529 bytes) fit on no drive:\n  /tmp/waie-demo-CvS93F/source/photos/large.bin (9449529 bytes)\nadd drives with /AdditionalDriveSet:<driveset.csv> /id:session#1, or abort the session with /AbortSession"}`],
  ["*", "note", String.raw`{"type":"note","message":"recorded in logs/job.jrn: drive WAIEB1E990307958 verified up to byte 4275 of the journal","recordedUpTo":4275}`],
  ["*", "embeddedStorage", String.raw`{"type":"embeddedStorage","server":"azurite","blobEndpoint":"http://127.0.0.1:42939/devstoreaccount1","account":"devstoreaccount1","dir":null,"pid":13273}`],
  ["*", "progress", String.raw`{"type":"progress","bytes":1800,"totalBytes":17550,"files":0,"totalFiles":6,"elapsedMs":35}`],
  ["PrepImport", "driveUsage", String.raw`{"type":"driveUsage","driveId":"WAIE5383230C43D0","files":27,"bytes":4633504,"freeLeft":2106912}`],
  ["PrepImport", "drive", String.raw`{"type":"drive","driveId":"WAIE1245A96A6155","drive":"/tmp/waie-demo-CvS93F/drive-h","root":"/tmp/waie-demo-CvS93F/drive-h","manifestFile":"\\DriveManifest.xml","manifestPath":"/tmp/waie-demo-CvS93F/drive-h/DriveManifest.xml","manifestHash":"8895445520FF92BFC3C82E249A76C9B4","manifestBytes":1242,"driveInfoFile":"logs/WAIE1245A96A6155.xml"}`],
  ["PrepImport", "session", String.raw`{"type":"session","sessionId":"session#2","status":"completed","files":6,"bytes":17550}`],
  ["PrepImport /ListDrives", "drive", String.raw`{"type":"drive","driveId":"WAIED4B32E3FFC44","root":"/tmp/waie-example/drive-g","name":"/tmp/waie-example/drive-g","sessionAdded":"session#1","identity":"file","encryption":"AlreadyEncrypted","manifestFile":"\\DriveManifest.xml","manifestHash":"F72867D0748CE7CDFE52C97954CF1774"}`],
  ["PrepImport /ListDrives", "summary", String.raw`{"type":"summary","journal":"logs/job.jrn","drives":2}`],
  ["PrepImport /ListCopySessions", "session", String.raw`{"type":"session","sessionId":"session#1","status":"completed","dataSet":"/tmp/waie-json-lines-td5MZX/dataset.csv","drives":["WAIEB1E990307958"],"filesStarted":3,"filesCompleted":3,"filesSkipped":0,"bytesStarted":5255072}`],
  ["PrepImport /ListCopySessions", "summary", String.raw`{"type":"summary","journal":"logs/job.jrn","sessions":2}`],
  ["PrepImport /AbortSession", "aborted", String.raw`{"type":"aborted","sessionId":"session#2","journal":"logs/job.jrn","journalRemoved":false}`],
  ["plan", "planDrive", String.raw`{"type":"planDrive","drive":"/tmp/waie-demo-CvS93F/drive-g","root":"/tmp/waie-demo-CvS93F/drive-g","known":false,"format":false,"freeNow":81394368512,"freeBytes":8000000,"files":27,"bytes":4633504,"footprint":4844512,"freeLeft":2106912,"problems":[]}`],
  ["plan", "planProblem", String.raw`{"type":"planProblem","drive":"G:","message":"drive G: has no --mount mapping; add --mount G=/path"}`],
  ["plan", "plan", String.raw`{"type":"plan","dataSet":"../dataset.csv","files":0,"bytes":0,"drives":1,"placedFiles":0,"placedBytes":0,"unplacedFiles":0,"unplacedBytes":0,"errors":4,"outcome":"refused","exitCode":1}`],
  ["plan", "planUnplaced", String.raw`{"type":"planUnplaced","source":"/tmp/waie-demo-CvS93F/source/photos/large.bin","length":9449529}`],
  ["plan", "planFile", String.raw`{"type":"planFile","index":2,"source":"/tmp/waie-json-lines-td5MZX/src/disk.vhd","blobPath":"disks/disk.vhd","blobType":"PageBlob","length":8192,"drive":"/tmp/waie-json-lines-td5MZX/drive-g"}`],
  ["plan", "planEstimate", String.raw`{"type":"planEstimate","seconds":0.019565724,"bytesPerSecond":419640663.10406,"secondsPerFile":0.0023476445868467017,"sampleFiles":3,"sampleBytes":5255072,"sampleSeconds":0.019565724,"method":"read and MD5 (hash pool) of a sample of the sources: the largest file and up to 15 drawn at random, at most 8 MiB each, 64 MiB in all; time = files × perFile + bytes / rate, fitted to the sample"}`],
  ["verify", "verify", String.raw`{"type":"verify","drive":"drive-g","manifest":"drive-g/DriveManifest.xml","ok":true,"driveId":"WAIEB1E990307958","manifestHash":"CC79708AFDE32AC230974698C8B2F9D9","manifestBytes":1727,"manifestComplete":true,"manifestErrors":0,"manifestWarnings":0,"blobs":3,"checkedBlobs":3,"bytes":5255072,"blocks":3,"pageRanges":1,"sideFiles":1,"problems":0,"omitted":0,"recordedUpTo":4275}`],
  ["verify", "problem", String.raw`{"type":"problem","kind":"changedBlock","file":"../damaged/session#1/pictures/koala.jpg","filePath":"\\session#1\\pictures\\koala.jpg","blobPath":"pictures/koala.jpg","offset":0,"length":10000,"expected":"MD5 A7C72ABC5D9C5FA7DEE4688B70CC73C2","found":"MD5 38455E4812498E859B1FE7C9508DAACB","line":23}`],
  ["dataset check", "row", String.raw`{"type":"row","line":2,"kind":"file","basePath":"F:\\50M_original\\100M_1.csv.txt","local":"/mnt/f/50M_original/100M_1.csv.txt","destination":"containername/100M_1.csv.txt","blobPath":"containername/100M_1.csv.txt","blobTypeFrom":"column","container":"containername","account":null,"blobType":"BlockBlob","disposition":"rename","metadataFile":null,"propertiesFile":null}`],
  ["dataset check", "result", String.raw`{"type":"result","ok":true,"file":"dataset-1.csv","rows":2,"files":0,"directories":2,"errors":0,"warnings":0,"omitted":0,"account":null}`],
  ["driveset check", "row", String.raw`{"type":"row","line":3,"drive":"H","driveKind":"letter","formatOption":"Format","silentOrPromptOnFormat":"SilentMode","encryption":"Encrypt","existingBitLockerKey":null}`],
  ["driveset check", "result", String.raw`{"type":"result","ok":true,"file":"drives-g.csv","drives":1,"errors":0,"warnings":0,"omitted":0}`],
  ["manifest check", "manifest", String.raw`{"type":"manifest","file":"../sample-published.xml","valid":false,"purpose":"import","complete":false,"stoppedAt":17,"errors":4,"warnings":1,"version":"2011-MM-DD","driveId":"drive-id","credential":"StorageAccountKey","blobLists":1,"blobs":0,"blocks":0,"pageRanges":0,"bytes":0,"hash":"12FDC01AFFDE0A2ED497C7D2337DAC12","fileBytes":1672}`],
  ["manifest json", "drive", String.raw`{"type":"drive","version":"2014-11-01","driveId":"9WM35C2V","containerSas":"*******","clientCreator":"waie 0.1.0"}`],
  ["manifest json", "blobList", String.raw`{"type":"blobList","index":0,"id":"session#1-0","metadataPath":{"path":"\\session#1\\metadata.xml","hash":"A6E1FC9220F9CD12E12D29093AF5CBDD"},"propertiesPath":{"path":"\\session#1\\properties.xml","hash":"4CD9EF9601EFCF46A1BFF376CFA05704"}}`],
  ["manifest json", "blob", String.raw`{"type":"blob","blobList":0,"blobPath":"pictures/animals/koala.jpg","filePath":"\\animals\\koala.jpg","clientData":"taken in 2016","length":5242880,"importDisposition":"rename","blocks":[{"offset":0,"length":4194304,"id":"AAAAAA==","hash":"B5CFA9D6C8FEBD618F91AC2843D50A1C"},{"offset":4194304,"length":1048576,"id":"AQAAAA==","hash":"B6D81B360A5672D80C27430F39153E2C"}],"metadataPath":{"path":"\\animals\\koala.jpg.metadata.xml","hash":"A6E1FC9220F9CD12E12D29093AF5CBDD"},"propertiesPath":{"path":"\\animals\\koala.jpg.properties.xml","hash":"4CD9EF9601EFCF46A1BFF376CFA05704"}}`],
  ["manifest write --out", "manifestWritten", String.raw`{"type":"manifestWritten","file":"rewritten.xml","bytes":1727,"hash":"CC79708AFDE32AC230974698C8B2F9D9"}`],
  ["journal json", "summary", String.raw`{"type":"summary","records":1,"tornTail":true}`],
  ["journal json", "record", String.raw`{"type":"record","line":132,"time":"2026/11/22 00:43:11.082","recordType":"CopySessionCompleted","checksum":true,"fields":[["SessionId","session#1"]]}`],
  ["journal json", "tornTail", String.raw`{"type":"tornTail","file":"logs/job.jrn","line":13,"reason":"[EndValue] missing for DriveState"}`],
  ["copylog check", "failedBlob", String.raw`{"type":"failedBlob","status":"FileNotFound","blobPath":"pictures/animals/koala.jpg","filePath":"\\animals\\koala.jpg","length":24248,"importDisposition":{"status":"Cancelled","value":"rename"},"list":"block","failures":{"status":"FileNotFound","ranges":[{"status":"Cancelled","kind":"block","count":4,"bytes":24248,"first":[{"offset":0,"length":6062},{"offset":6062,"length":6062},{"offset":12124,"length":6062}]}]},"description":"FileNotFound; 4 blocks Cancelled"}`],
  ["copylog check", "summary", String.raw`{"type":"summary","file":"../file-not-found.log","valid":true,"version":"2014-11-01","driveId":"9WM35C2V","driveStatus":"CompletedWithErrors","blobs":1,"bytes":24248,"blobStatus":{"FileNotFound":1},"dispositionStatus":{"Cancelled":1},"blocks":4,"pageRanges":0,"rangeStatus":{"Cancelled":4},"metadataStatus":{},"propertiesStatus":{},"failedBlobs":1,"failedRanges":4,"failedRangeBytes":24248}`],
  ["copylog json", "drive", String.raw`{"type":"drive","file":"copy.log","version":"2014-11-01","driveId":"9WM35C2V"}`],
  ["copylog json", "blob", String.raw`{"type":"blob","status":"CompletedWithErrors","blobPath":"pictures/wild/canyon.jpg","filePath":"\\pictures\\wild\\canyon.jpg","snapshot":"2012-09-19T08:00:00.1234567Z","length":163840,"lastModified":"2012-09-18T23:47:08Z","list":"block","blocks":[],"properties":{"status":"Failed"}}`],
  ["copylog json", "summary", String.raw`{"type":"summary","driveStatus":"CompletedWithErrors","blobs":1,"bytes":163840,"blobStatus":{"CompletedWithErrors":1},"dispositionStatus":{},"blocks":0,"pageRanges":0,"rangeStatus":{},"metadataStatus":{},"propertiesStatus":{"Failed":1},"failedBlobs":1,"failedRanges":0,"failedRangeBytes":0}`],
  ["metadata check", "metadata", String.raw`{"type":"metadata","file":"../author.xml","valid":true,"md5":"F2B1651AAAF52662D111C8BC9316E21D","bytes":168,"size":52,"pairs":[{"name":"Author","value":"Jane Doe"},{"name":"Project","value":"koala & friends"},{"name":"Reviewed_2024","value":"yes"}]}`],
  ["properties check", "properties", String.raw`{"type":"properties","file":"../koala.properties","valid":true,"md5":"64BCF5C96BF6D41A543EEA05EED14D37","bytes":310,"sets":{"Content-Type":"image/jpeg","Content-MD5":"Q2hlY2sgSW50ZWdyaXR5IQ==","Content-Encoding":"identity","Content-Language":"en-AU","Cache-Control":"max-age=86400, public"},"ignoredOnImport":{}}`],
  ["bloblist check", "entry", String.raw`{"type":"entry","line":6,"element":"BlobPathPrefix","value":"/vhds/","selects":"every blob in container vhds","duplicateOf":4}`],
  ["bloblist check", "summary", String.raw`{"type":"summary","file":"../sample.xml","valid":true,"entries":2,"blobPaths":1,"prefixes":1,"duplicates":0}`],
  ["repair json", "record", String.raw`{"type":"record","line":1,"time":"2026/11/22 02:50:04.827","record":"RepairStarted","kind":"RepairExport","copyLog":"export_verbose.xml","copyLogHash":"70210B7B7EEEE3E26930ADB677476D1F","driveId":"WAIE584CEEC8DADA","endpoint":"http://127.0.0.1:34821/devstoreaccount1","writer":"waie repair","manifest":"export_manifest.xml","manifestHash":"73767AF58C38CD5AE1CF895A2BEC1A64"}`],
  ["repair json", "state", String.raw`{"type":"state","records":true,"kind":"RepairExport","copyLog":"export_verbose.xml","copyLogHash":"70210B7B7EEEE3E26930ADB677476D1F","driveId":"WAIE584CEEC8DADA","manifest":"export_manifest.xml","manifestHash":"73767AF58C38CD5AE1CF895A2BEC1A64","pass":1,"passCompleted":true,"finished":true,"cursor":7,"inProgress":null,"repaired":4,"unresolved":[],"retry":null,"next":"nothing: the repair is finished","tornTail":false}`],
  ["repair json", "tornTail", String.raw`{"type":"tornTail","line":40,"offset":1104,"reason":"a record cut short by the end of the file"}`],
  ["repair pathmap", "entry", String.raw`{"type":"entry","line":2,"filePath":"\\session1\\pictures\\a.jpg","target":"/tmp/waie-repair-golden/elsewhere/a.jpg"}`],
  ["repair pathmap", "pathMap", String.raw`{"type":"pathMap","entries":1,"filled":1,"waiting":0}`],
  ["key new", "key", String.raw`{"type":"key","key":"566478-149809-207746-545413-290719-161304-482185-199782"}`],
  ["key check", "keyCheck", String.raw`{"type":"keyCheck","valid":false,"expected":"a BitLocker recovery key: 8 groups of 6 digits joined by '-', each group a multiple of 11 below 720896","found":"1 group"}`],
  ["name check", "name", String.raw`{"type":"name","kind":"container","name":"Photos","valid":false,"expected":"a container name of 3-63 lower-case letters, digits and single dashes, or $root","found":"\"Photos\" (upper-case letters)"}`],
  ["rename", "rename", String.raw`{"type":"rename","blobPath":"photos/Lisbon.jpg","name":"photos/Lisbon.jpg","renamed":false}`],
  ["storage start", "storageStarted", String.raw`{"type":"storageStarted","server":"azurite","blobEndpoint":"http://127.0.0.1:37609/devstoreaccount1","port":37609,"account":"devstoreaccount1","connectionString":"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:37609/devstoreaccount1;","dir":"/tmp/waie-json-lines-td5MZX/azurite","pid":13324}`],
  ["storage start", "storageStopped", String.raw`{"type":"storageStopped","signal":"SIGTERM"}`],
  ["service import", "blob", String.raw`{"type":"blob","drive":"drive-h","driveId":"WAIE1245A96A6155","blobPath":"pictures/large.bin","filePath":"\\session#1\\pictures\\large.bin","length":9449529,"status":"CompletedWithErrors","disposition":"rename","dispositionStatus":"Created","ranges":{"Committed":2,"Corrupted":1},"metadata":"Completed","properties":"Completed","problems":["\\session#1\\pictures\\large.bin: 4194304 bytes at 4194304 do not match their MD5 64DC1806547276EA9169AC1BA53247E0"]}`],
  ["service import", "drive", String.raw`{"type":"drive","drive":"drive-g","root":"/tmp/waie-demo-CvS93F/drive-g","driveId":"WAIE5383230C43D0","status":"Completed","manifest":"/tmp/waie-demo-CvS93F/drive-g/DriveManifest.xml","manifestHash":"61C43EEE11FE9CC35DC3019790FC20C9","blobs":33,"bytes":4651054,"blobStatus":{"Completed":33},"dispositionStatus":{"Created":33},"rangeStatus":{"Completed":35},"failedBlobs":0,"verboseLog":"/tmp/waie-demo-CvS93F/logs/demo_WAIE5383230C43D0_20261122-030733-243_verbose.xml","errorLog":"/tmp/waie-demo-CvS93F/logs/demo_WAIE5383230C43D0_20261122-030733-243_error.xml","verboseLogBlob":"waimportexport/waies/demo_WAIE5383230C43D0_20261122-030733-243_verbose.xml","errorLogBlob":"waimportexport/waies/demo_WAIE5383230C43D0_20261122-030733-243_error.xml","uploaded":true}`],
  ["service import", "import", String.raw`{"type":"import","job":"jl","drives":1,"statuses":["Completed"],"exitCode":0}`],
  ["service export", "blob", String.raw`{"type":"blob","drive":"export-1","driveId":"WAIE8A7864D788E0","blobPath":"files/one.txt","filePath":"\\files\\one.txt","length":4000,"lastModified":"2026-11-22T03:07:39Z","status":"Completed"}`],
  ["service export", "selection", String.raw`{"type":"selection","entries":3,"unique":3,"duplicate":0,"nonexistent":1,"nonexistentEntries":[{"line":5,"kind":"path","path":"nothing/here"}],"blobs":3,"bytes":5255072}`],
  ["service export", "drive", String.raw`{"type":"drive","drive":"export-1","root":"/tmp/waie-json-lines-td5MZX/export-1","driveId":"WAIE8A7864D788E0","blobs":3,"bytes":5255072,"failed":0,"status":"Completed","freeBytes":81449881600,"footprint":5313268,"manifest":"/tmp/waie-json-lines-td5MZX/export-1/DriveManifest.xml","manifestHash":"71EBF3FE70B6B4D4E055C585E274AFBD","verboseLog":"/tmp/waie-json-lines-td5MZX/logs/jx_WAIE8A7864D788E0_20261122-030740-893_verbose.xml","errorLog":"/tmp/waie-json-lines-td5MZX/logs/jx_WAIE8A7864D788E0_20261122-030740-893_error.xml","verboseLogBlob":"waimportexport/waies/jx_WAIE8A7864D788E0_20261122-030740-893_verbose.xml","errorLogBlob":"waimportexport/waies/jx_WAIE8A7864D788E0_20261122-030740-893_error.xml"}`],
  ["service export", "export", String.raw`{"type":"export","job":"jx","drives":1,"exported":3,"failed":0,"tooBig":0,"notExported":0}`],
  ["service export", "notExported", String.raw`{"type":"notExported","blobPath":"photos/big.bin","length":5242880,"reason":"too-big","detail":"its 5256796 bytes on a drive (data, side files, manifest entry) are more than the 2088960 usable bytes of the largest drive"}`],
  ["PreviewExport", "blob", String.raw`{"type":"blob","blobPath":"files/two.bin","length":5242880,"footprint":5265232,"drive":null,"reason":"its 5265232 bytes on a drive (data, side files, manifest entry) are more than a drive's 2951424 usable bytes"}`],
  ["PreviewExport", "drive", String.raw`{"type":"drive","drive":1,"blobs":2,"bytes":12192,"occupied":48036}`],
  ["PreviewExport", "preview", String.raw`{"type":"preview","unique":3,"duplicate":0,"nonexistent":1,"nonexistentEntries":[{"line":5,"kind":"path","path":"nothing/here"}],"driveSize":1000000000,"reservePerDrive":1048576,"blobs":3,"bytes":5255072,"exportable":3,"exportableBytes":5255072,"cannotExport":0,"cannotExportBytes":0,"drivesNeeded":1}`],
  ["RepairImport", "blob", String.raw`{"type":"blob","index":0,"blobPath":"pictures/large.bin","filePath":"\\session#1\\pictures\\large.bin","result":"repaired","parts":1,"source":"/tmp/waie-demo-CvS93F/source/photos/large.bin","detail":"1 block staged from /tmp/waie-demo-CvS93F/source/photos/large.bin; the block list (3 blocks) committed again"}`],
  ["RepairImport", "repair", String.raw`{"type":"repair","kind":"RepairImport","repairFile":"logs/drive-h.rep","driveId":"WAIE1245A96A6155","pass":2,"repaired":0,"unresolved":0,"alreadyFinished":true,"finished":true,"pathMap":"logs/drive-h.map","pathMapAdded":0,"pathMapWaiting":0}`],
  ["RepairExport", "blob", String.raw`{"type":"blob","index":4,"blobPath":"files/one.txt","filePath":"\\files\\one.txt","sweep":true,"result":"repaired","parts":0,"detail":"intact"}`],
  ["RepairExport", "repair", String.raw`{"type":"repair","kind":"RepairExport","repairFile":"logs/export.rep","driveId":"WAIE8A7864D788E0","pass":1,"repaired":3,"unresolved":0,"rewritten":1,"intact":2,"alreadyFinished":false,"finished":true}`],
  ["demo", "step", String.raw`{"type":"step","command":"waie driveset check drives-g.csv","what":"the first drive"}`],
  ["demo", "stepResult", String.raw`{"type":"stepResult","command":"waie dataset check dataset-1.csv","exit":0,"expected":0}`],
  ["demo", "verdict", String.raw`{"type":"verdict","ok":true,"steps":19,"failed":[]}`],
]

/** The example line of a type (a spec shared by two commands has one example). */
export const exampleOf = (spec: EventSpec): string | undefined => exampleLines.find(([command, type]) => (command === "*" ? sharedTypes[type] : commandSchemas.find((s) => s.command === command)?.types[type]) === spec)?.[2]
