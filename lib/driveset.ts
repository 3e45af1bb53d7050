/**
 * The driveset CSV (the /InitialDriveSet and /AdditionalDriveSet files): the drives to prepare
 * and what to do to each. Every problem of the file is collected; the messages of the original
 * tool are kept word for word where the reference gives them:
 *   "When Format is specified, Encrypt must also be specified"
 *   "BitLocker Key should not be specified"
 *   "Incorrect value for SilentOrPromptOnFormat: none" (and `: <value>` for a wrong value; waie
 *   uses the same sentence for FormatOption and Encryption)
 *
 * Header (case-insensitive names, any order):
 *   DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption[,ExistingBitLockerKey]
 *
 * The BitLocker key is a secret: it is kept as an Effect `Redacted` (prints as `<redacted>`),
 * never appears in an issue, and anything in a message that looks like a key is masked.
 */
import { Effect, Redacted, Stream } from "effect"
import type { FileSystem } from "@effect/platform"
import { checkRecoveryKey } from "./bitlocker.ts"
import { type CsvOptions, type CsvReading, type CsvRecord, CsvTable, fieldPlace, isAbsent, readHeader, readTable, showCell, type TableHeader } from "./csv.ts"
import { type FileUnreadable, type Issue, InvalidInput } from "./errors.ts"
import { fileBytes } from "./files.ts"
import { emptyMounts, resolveSourcePath } from "./paths.ts"

// ---------------------------------------------------------------- the model

export type FormatOption = "Format" | "AlreadyFormatted"
export type PromptOption = "SilentMode" | "PromptOnFormat"
export type Encryption = "Encrypt" | "AlreadyEncrypted"

/** A drive letter, or (waie extension) the folder a drive is mounted on. */
export type DriveTarget = { readonly kind: "letter"; readonly letter: string } | { readonly kind: "path"; readonly path: string; readonly form: "posix" | "windows" }

export const keyMask = "******"

export interface DrivesetRow {
  readonly line: number
  readonly drive: DriveTarget
  readonly format: FormatOption
  readonly prompt: PromptOption
  readonly encryption: Encryption
  /** the recovery key of an AlreadyEncrypted drive, `-`-separated */
  readonly key?: Redacted.Redacted<string>
  /** the cells as written; the key only as `******` */
  readonly raw: {
    readonly driveLetter: string
    readonly formatOption: string
    readonly silentOrPromptOnFormat: string
    readonly encryption: string
    readonly existingBitLockerKey: string
  }
}

export interface DrivesetOptions {
  readonly csv?: CsvOptions
  readonly issueLimit?: number
}

export interface DrivesetReport {
  readonly file: string
  readonly issues: ReadonlyArray<Issue>
  readonly omitted: number
  readonly errors: number
  readonly warnings: number
  readonly drives: number
}

export const drivesetColumns = {
  driveLetter: "DriveLetter",
  formatOption: "FormatOption",
  prompt: "SilentOrPromptOnFormat",
  encryption: "Encryption",
  key: "ExistingBitLockerKey",
} as const
type Column = keyof typeof drivesetColumns

export const drivesetHeader = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey"

/** The number of drives one import job takes. */
export const maxDrivesPerJob = 10

// ---------------------------------------------------------------- values

/** Mask anything shaped like a recovery key (or a run of its 6-digit groups). */
export const maskKeys = (text: string): string => text.replace(/\d{6}(?:[- ]+\d{6})+/g, keyMask)

const pick = <T extends string>(value: string, allowed: ReadonlyArray<T>): T | undefined => allowed.find((a) => a.toLowerCase() === value.toLowerCase())

/** The original tool's sentence for a wrong or missing value. */
export const incorrectValue = (column: string, value: string | undefined): string => `Incorrect value for ${column}: ${isAbsent(value) ? "none" : value}`

export const driveExpected = "a drive letter (G or G:) or the absolute folder a drive is mounted on (/mnt/disk1, D:\\mounts\\disk1)"

/** Parse a DriveLetter cell. */
export const parseDrive = (raw: string): DriveTarget | { expected: string; found: string } => {
  const letter = /^([A-Za-z])(?::[\\/]?)?$/.exec(raw)
  if (letter) return { kind: "letter", letter: letter[1]!.toUpperCase() }
  if (/^[\\/]{2}/.test(raw)) return { expected: `${driveExpected}, not a network share`, found: showCell(raw) }
  const windows = /^[A-Za-z]:[\\/]/.test(raw)
  if (windows || raw.startsWith("/")) {
    const r = resolveSourcePath(raw, { mounts: emptyMounts, platform: windows ? "win32" : "posix" })
    if ("expected" in r) return { expected: r.expected, found: r.found }
    if (r.segments.length === 0) return { expected: `${driveExpected}, not the root of the system`, found: showCell(raw) }
    const path = r.local.replace(/[\\/]$/, "")
    return { kind: "path", path, form: windows ? "windows" : "posix" }
  }
  return { expected: driveExpected, found: showCell(raw) }
}

export const driveName = (d: DriveTarget): string => (d.kind === "letter" ? `${d.letter}:` : d.path)

/** BitLocker also shows keys with spaces between the groups; waie keeps them with `-`. */
const normaliseKey = (key: string): string => (/^\d{6}(?: +\d{6}){7}$/.test(key) ? key.replace(/ +/g, "-") : key)

// ---------------------------------------------------------------- the checker

class DrivesetChecker extends CsvTable<Column, TableHeader<Column>, DrivesetRow> {
  protected readonly onlyHeader = { expected: "at least one drive below the header", found: "only the header" }
  private drives = 0
  private readonly seen = new Map<string, number>()

  constructor(file: string, options: DrivesetOptions) {
    super(file, drivesetColumns, drivesetHeader, options.issueLimit ?? 1000)
  }

  /** Every issue: anything in it that looks like a recovery key masked. */
  protected override add(issue: Omit<Issue, "file">): void {
    this.log.add({ ...issue, found: maskKeys(issue.found) })
  }

  protected readColumns(record: CsvRecord): TableHeader<Column> {
    const errorsBefore = this.log.errors
    const { index, width } = readHeader(record, drivesetColumns, this.log, drivesetHeader.replace(/,/g, ", "))
    for (const k of ["driveLetter", "formatOption", "prompt", "encryption"] as const) {
      if (index[k] === undefined) this.add({ line: record.line, field: "header", expected: `a ${drivesetColumns[k]} column`, found: "none" })
    }
    return { index, width, ok: this.log.errors === errorsBefore }
  }

  protected checkRow(record: CsvRecord, header: TableHeader<Column>): DrivesetRow | undefined {
    const { index } = header
    const line = record.line
    const errorsBefore = this.log.errors
    const cell = (k: Column): string | undefined => {
      const i = index[k]
      return i === undefined ? undefined : (record.fields[i] ?? "")
    }
    const place = (k: Column) => {
      const i = index[k]
      return i === undefined || i >= record.fields.length ? { line } : fieldPlace(record, i)
    }
    const issue = (k: Column, expected: string, found: string, severity?: "warning") =>
      this.add({ ...place(k), field: drivesetColumns[k], expected, found, ...(severity ? { severity } : {}) })

    for (let i = header.width; i < record.fields.length; i++) {
      if (record.fields[i] !== "") {
        // the value is not shown: a shifted row could put a key there
        this.add({ ...fieldPlace(record, i), expected: `at most ${header.width} fields (as many as the header)`, found: `${record.fields.length} fields (field ${i + 1} is not empty)` })
        break
      }
    }

    // DriveLetter
    let drive: DriveTarget | undefined
    const driveRaw = cell("driveLetter")
    if (driveRaw !== undefined) {
      if (isAbsent(driveRaw)) issue("driveLetter", driveExpected, "nothing")
      else {
        const d = parseDrive(driveRaw)
        if ("expected" in d) issue("driveLetter", d.expected, d.found)
        else {
          const key = d.kind === "letter" ? d.letter : d.form === "windows" ? d.path.toLowerCase() : d.path
          const first = this.seen.get(key)
          if (first !== undefined) issue("driveLetter", "each drive listed once", `${driveName(d)} again (first on line ${first})`)
          else this.seen.set(key, line)
          drive = d
        }
      }
    }

    const choice = <T extends string>(k: Column, allowed: ReadonlyArray<T>): T | undefined => {
      const v = cell(k)
      if (v === undefined) return undefined
      const found = isAbsent(v) ? undefined : pick(v, allowed)
      if (found === undefined) issue(k, allowed.join(" or "), `${isAbsent(v) ? "nothing" : showCell(v)} (${incorrectValue(drivesetColumns[k], v)})`)
      return found
    }
    const format = choice("formatOption", ["Format", "AlreadyFormatted"] as const)
    const prompt = choice("prompt", ["SilentMode", "PromptOnFormat"] as const)
    const encryption = choice("encryption", ["Encrypt", "AlreadyEncrypted"] as const)

    // the key, by what Encryption says
    const keyRaw = cell("key") ?? ""
    const keyGiven = !isAbsent(keyRaw)
    let key: Redacted.Redacted<string> | undefined
    // waie extension: a drive given as a folder is erased file by file, which keeps the volume's
    // encryption, so Format goes with AlreadyEncrypted there; a letter keeps the original rule
    const folderDrive = drive?.kind === "path"
    if (format === "Format" && encryption === "AlreadyEncrypted" && !folderDrive) {
      issue("encryption", "Encrypt when FormatOption is Format (formatting removes the drive's encryption)", "AlreadyEncrypted (When Format is specified, Encrypt must also be specified)")
    } else if (encryption === "Encrypt" && keyGiven) {
      issue("key", "nothing when Encryption is Encrypt (a new key is made)", `a key (BitLocker Key should not be specified)`)
    } else if (encryption === "AlreadyEncrypted") {
      if (!keyGiven) issue("key", "the drive's BitLocker recovery key when Encryption is AlreadyEncrypted", "nothing")
      else {
        const k = normaliseKey(keyRaw)
        const problem = checkRecoveryKey(k)
        if (problem) issue("key", problem.expected, problem.found)
        else key = Redacted.make(k)
      }
    }

    if (this.log.errors !== errorsBefore || !header.ok || drive === undefined || format === undefined || prompt === undefined || encryption === undefined) return undefined
    this.drives++
    if (this.drives === maxDrivesPerJob + 1) {
      issue("driveLetter", `at most ${maxDrivesPerJob} drives in one import job`, `drive number ${this.drives} (the drives will need more than one job)`, "warning")
    }
    return {
      line,
      drive,
      format,
      prompt,
      encryption,
      ...(key ? { key } : {}),
      raw: {
        driveLetter: driveRaw ?? "",
        formatOption: cell("formatOption") ?? "",
        silentOrPromptOnFormat: cell("prompt") ?? "",
        encryption: cell("encryption") ?? "",
        existingBitLockerKey: keyGiven ? keyMask : "",
      },
    }
  }

  report(): DrivesetReport {
    return { file: this.file, issues: this.log.issues, omitted: this.log.omitted, errors: this.log.errors, warnings: this.log.warnings, drives: this.drives }
  }
}

// ---------------------------------------------------------------- reading

export type DrivesetReading<E, R> = CsvReading<DrivesetRow, DrivesetReport, E, R>

export const readDriveset = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>, options: DrivesetOptions = {}): DrivesetReading<E, R> =>
  readTable(bytes, options.csv, () => new DrivesetChecker(file, options))

export const readDrivesetFile = (path: string, shown: string, options: DrivesetOptions = {}): DrivesetReading<FileUnreadable, FileSystem.FileSystem> =>
  readDriveset(shown, fileBytes(path, shown), options)

/** All rows of a driveset (a driveset is small), or InvalidInput listing every problem. */
export const loadDriveset = <E, R>(reading: DrivesetReading<E, R>): Effect.Effect<{ rows: ReadonlyArray<DrivesetRow>; report: DrivesetReport }, E | InvalidInput, R> =>
  Effect.gen(function* () {
    const rows = yield* Stream.runCollect(reading.rows)
    const report = reading.report()
    if (report.errors > 0) return yield* Effect.fail(new InvalidInput({ format: "driveset", file: report.file, issues: report.issues, ...(report.omitted ? { omitted: report.omitted } : {}) }))
    return { rows: [...rows], report }
  })
