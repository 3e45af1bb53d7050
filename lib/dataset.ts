/**
 * The dataset CSV: which directories and files go to which containers, blobs and virtual
 * directories, streamed row by row. Every problem of the file is collected (with file, line,
 * column and column name); only valid rows come out of the stream.
 *
 * Header (case-insensitive names, any order; optional columns may be left out):
 *   BasePath,DstBlobPathOrPrefix[,BlobType][,Disposition][,MetadataFile][,PropertiesFile]
 * or the Azure Files tool's dialect, with DstItemPathOrPrefix for the destination and ItemType
 * for the type. Unknown, duplicate and empty column names are issues; empty names at the end of
 * the header (a trailing comma) are ignored.
 *
 * The rules, and the decisions where the reference is silent, are in goldens/dataset/README.md.
 */
import { Effect, Stream } from "effect"
import type { FileSystem } from "@effect/platform"
import { type FileUnreadable, type Issue, InvalidInput } from "./errors.ts"
import { fileBytes } from "./files.ts"
import { mask } from "./secrets.ts"
import { type CsvOptions, type CsvReading, type CsvRecord, CsvTable, fieldPlace, isAbsent, readHeader, readTable, showCell, type TableHeader } from "./csv.ts"
import { checkBlobName, checkContainer, checkStorageAccount, type NameProblem, nameLength, rootContainer } from "./names.ts"
import { baseName, hostPlatform, type MountMap, emptyMounts, type Platform, resolveSourcePath, type SourcePath } from "./paths.ts"

// ---------------------------------------------------------------- the model

export type BlobType = "BlockBlob" | "PageBlob"
export type Disposition = "rename" | "no-overwrite" | "overwrite"

/** The row's cells as written (after CSV unquoting and trimming), for messages. */
export interface DatasetRawRow {
  readonly basePath: string
  readonly destination: string
  readonly blobType?: string
  readonly itemType?: string
  readonly disposition?: string
  readonly metadataFile?: string
  readonly propertiesFile?: string
}

interface RowCommon {
  /** the line the row starts on */
  readonly line: number
  readonly source: SourcePath
  /** the storage account named by a full-URL destination */
  readonly account?: string
  readonly container: string
  readonly disposition: Disposition
  readonly metadataFile?: SourcePath
  readonly propertiesFile?: SourcePath
  readonly raw: DatasetRawRow
}

/** A directory: every file below it becomes a blob under `prefix`. */
export interface DirectoryRow extends RowCommon {
  readonly kind: "directory"
  /** `container/` or `container/virtual/dir/` (always ends with `/`) */
  readonly prefix: string
  /** "auto": decided per file, `.vhd`/`.vhdx` → PageBlob, else BlockBlob */
  readonly blobType: BlobType | "auto"
}

/** One file to one blob. */
export interface FileRow extends RowCommon {
  readonly kind: "file"
  /** `container/blob/name` */
  readonly blobPath: string
  readonly blobType: BlobType
  /** the type was written in the row, or decided by the file's extension */
  readonly blobTypeFrom: "column" | "extension"
}

export type DatasetRow = DirectoryRow | FileRow

export interface DatasetOptions {
  readonly mounts?: MountMap
  readonly platform?: Platform
  readonly csv?: CsvOptions
  /** issues kept for the report; more are only counted */
  readonly issueLimit?: number
  /** rows remembered for the duplicate-destination warning (memory bound); later rows are not compared */
  readonly duplicateLimit?: number
}

export interface DatasetReport {
  readonly file: string
  readonly issues: ReadonlyArray<Issue>
  readonly omitted: number
  readonly errors: number
  readonly warnings: number
  /** valid rows, split into files and directories */
  readonly rows: number
  readonly files: number
  readonly directories: number
  readonly dialect: "blob" | "item" | undefined
  /** the storage account named by full-URL destinations, if any */
  readonly account: string | undefined
  /** set when the file had more rows than the duplicate check remembers */
  readonly duplicateCheckLimit: number | undefined
}

export const datasetColumns = {
  basePath: "BasePath",
  dstBlob: "DstBlobPathOrPrefix",
  dstItem: "DstItemPathOrPrefix",
  blobType: "BlobType",
  itemType: "ItemType",
  disposition: "Disposition",
  metadataFile: "MetadataFile",
  propertiesFile: "PropertiesFile",
} as const
type Column = keyof typeof datasetColumns

export const datasetHeader = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile"
const headerList = "BasePath, DstBlobPathOrPrefix, BlobType, Disposition, MetadataFile, PropertiesFile; or DstItemPathOrPrefix, ItemType"

// ---------------------------------------------------------------- values

export { isAbsent } from "./csv.ts"

export const parseBlobType = (v: string): BlobType | undefined => {
  const l = v.toLowerCase()
  return l === "blockblob" || l === "block" ? "BlockBlob" : l === "pageblob" || l === "page" ? "PageBlob" : undefined
}

export const parseDisposition = (v: string): Disposition | undefined => {
  const l = v.toLowerCase()
  return l === "rename" || l === "no-overwrite" || l === "overwrite" ? l : undefined
}

/** `.vhd` and `.vhdx` files become page blobs, everything else block blobs. */
export const blobTypeByName = (name: string): BlobType => (/\.vhdx?$/i.test(name) ? "PageBlob" : "BlockBlob")

export interface Destination {
  /** the path relative to the account, percent-decoded when it came from a URL */
  readonly path: string
  readonly account?: string
}

const blobEndpoint = /^([A-Za-z0-9]+)\.blob\.core\.([A-Za-z0-9.-]+)$/

/**
 * A destination as written: `container/…`, or a full Blob-service URL
 * (`https://<account>.blob.core.<cloud suffix>/container/…`, also `http://`), which is reduced to
 * the path. A query string (a SAS) is refused and masked; a URL's path is percent-decoded.
 */
export const parseDestination = (raw: string): Destination | NameProblem => {
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/s.exec(raw)
  if (url) {
    const scheme = url[1]!.toLowerCase()
    const host = url[2]!
    const shown = `${url[1]}://${host}${url[3]}${url[4] !== undefined ? `?${mask}` : ""}${url[5] ?? ""}`
    if (scheme !== "https" && scheme !== "http") return { expected: "container/path, or https://<account>.blob.core.windows.net/container/path", found: showCell(shown) }
    const endpoint = blobEndpoint.exec(host)
    if (!endpoint) return { expected: "a Blob service address: https://<account>.blob.core.windows.net/ (or another cloud's blob.core suffix)", found: showCell(shown) }
    if (url[4] !== undefined) return { expected: "a destination without a query string (a SAS does not belong in the dataset)", found: showCell(shown) }
    if (url[5] !== undefined) return { expected: "a destination without a '#' fragment", found: showCell(shown) }
    const account = endpoint[1]!.toLowerCase()
    const accountProblem = checkStorageAccount(account)
    if (accountProblem) return accountProblem
    let path: string
    try {
      path = decodeURIComponent(url[3]!.replace(/^\//, ""))
    } catch {
      return { expected: "a URL with valid %-escapes", found: showCell(shown) }
    }
    if (path === "") return { expected: "a container after the account address (https://<account>.blob.core.windows.net/container/)", found: showCell(shown) }
    return { path, account }
  }
  return { path: raw }
}

// ---------------------------------------------------------------- destination shapes

type Report = (severity: "error" | "warning", expected: string, found: string) => void

const segmentEndsWithDot = /\.(?:\/|$)/

/** The container part, with a did-you-mean for Windows separators and a leading `/`. */
const containerOf = (path: string, raw: string, report: Report): { container: string; rest: string | undefined } | undefined => {
  if (path.startsWith("/")) {
    report("error", "a destination that starts with the container name, not '/'", `${showCell(raw)} (did you mean ${showCell(path.replace(/^\/+/, ""))}?)`)
    return undefined
  }
  const slash = path.indexOf("/")
  const container = slash === -1 ? path : path.slice(0, slash)
  if (container.includes("\\")) {
    report("error", "'/' between the container and the names below it", `${showCell(raw)} (did you mean ${showCell(path.replace(/\\/g, "/"))}?)`)
    return undefined
  }
  const problem = checkContainer(container)
  if (problem) {
    const lower = container.toLowerCase()
    const hint = lower !== container && checkContainer(lower) === undefined ? `; did you mean ${showCell(lower + path.slice(container.length))}?` : ""
    report("error", problem.expected, problem.found + hint)
    return undefined
  }
  return { container, rest: slash === -1 ? undefined : path.slice(slash + 1) }
}

const blobPartWarnings = (blob: string, report: Report): void => {
  if (blob.includes("\\")) report("warning", "'/' to separate virtual directories ('\\' is kept as part of the blob name)", showCell(blob))
  if (blob.includes("//") || blob.startsWith("/")) report("warning", "virtual directory names that are not empty", `${showCell(blob)} ('//' makes an empty name)`)
  if (segmentEndsWithDot.test(blob)) report("warning", "names that do not end with '.' (the Blob service advises against it)", showCell(blob))
}

/** A directory source: `container/` or `container/dir/…/`; `$root/` alone. */
export const checkDirectoryDestination = (path: string, raw: string, report: Report): { container: string; prefix: string } | undefined => {
  const c = containerOf(path, raw, report)
  if (!c) return undefined
  if (c.rest === undefined) {
    report("error", "container/ or container/virtual/dir/ (a directory's destination ends with '/')", `${showCell(raw)} (did you mean ${showCell(raw + "/")}?)`)
    return undefined
  }
  const vdir = c.rest
  if (vdir !== "" && !vdir.endsWith("/")) {
    report("error", "container/ or container/virtual/dir/ (a directory's destination ends with '/')", `${showCell(raw)} (did you mean ${showCell(raw + "/")}?)`)
    return undefined
  }
  if (c.container === rootContainer) {
    if (vdir !== "") {
      report("error", "$root/ alone (blobs in the root container cannot contain '/')", showCell(raw))
      return undefined
    }
    report("warning", "a destination that keeps the directory's subdirectories", "$root/ (only the files directly in the directory are copied: blobs in $root cannot contain '/', so subdirectories are skipped)")
  }
  if (vdir !== "") {
    const length = nameLength(vdir)
    if (length >= 1024) {
      report("error", "a virtual directory of at most 1023 characters (blob names are at most 1024)", `${length} characters`)
      return undefined
    }
    const problem = checkBlobName(vdir)
    if (problem) {
      report("error", problem.expected, problem.found)
      return undefined
    }
    blobPartWarnings(vdir, report)
  }
  return { container: c.container, prefix: `${c.container}/${vdir}` }
}

/** A file source: `container/blob`; `container/dir/` keeps the file's own name. */
export const checkFileDestination = (path: string, raw: string, fileName: string, report: Report): { container: string; blobPath: string } | undefined => {
  const c = containerOf(path, raw, report)
  if (!c) return undefined
  if (c.rest === undefined) {
    const hint = fileName !== "" ? ` (did you mean ${showCell(`${raw}/${fileName}`)}?)` : ""
    report("error", "container/blob for a file (or container/dir/ to keep the file's name)", `${showCell(raw)}${hint}`)
    return undefined
  }
  const blob = c.rest.endsWith("/") || c.rest === "" ? c.rest + fileName : c.rest
  if (blob === "") {
    report("error", "container/blob for a file", showCell(raw))
    return undefined
  }
  if (c.container === rootContainer && blob.includes("/")) {
    report("error", "$root/name without further '/' (blobs in the root container cannot contain '/')", showCell(raw))
    return undefined
  }
  const problem = checkBlobName(blob)
  if (problem) {
    report("error", problem.expected, problem.found)
    return undefined
  }
  blobPartWarnings(blob, report)
  return { container: c.container, blobPath: `${c.container}/${blob}` }
}

// ---------------------------------------------------------------- duplicate destinations

/**
 * The rows seen so far, for the duplicate-destination warning: a 64-bit hash of each key and the
 * line it was on, in flat typed arrays (open addressing), so a million rows cost ~24 MB and no
 * garbage. Two different keys with the same 64-bit hash are practically impossible.
 */
class SeenKeys {
  private hi = new Uint32Array(1024)
  private lo = new Uint32Array(1024)
  private lines = new Int32Array(1024) // line + 1; 0 = empty slot
  size = 0

  private static hash(s: string): [number, number] {
    let a = 0x811c9dc5
    let b = 0x9747b28c
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995)
      b ^= b >>> 13
    }
    return [a >>> 0, Math.imul(b ^ (b >>> 15), 0x27d4eb2d) >>> 0]
  }

  /** The line a key was first seen on; undefined (and remembered, if `remember`) when new. */
  check(key: string, line: number, remember: boolean): number | undefined {
    const [h, l] = SeenKeys.hash(key)
    const mask = this.lines.length - 1
    let i = (h ^ l) & mask
    while (this.lines[i] !== 0) {
      if (this.hi[i] === h && this.lo[i] === l) return this.lines[i]! - 1
      i = (i + 1) & mask
    }
    if (!remember) return undefined
    this.hi[i] = h
    this.lo[i] = l
    this.lines[i] = line + 1
    this.size++
    if (this.size * 2 > this.lines.length) this.grow()
    return undefined
  }

  private grow(): void {
    const { hi, lo, lines } = this
    const n = lines.length * 2
    this.hi = new Uint32Array(n)
    this.lo = new Uint32Array(n)
    this.lines = new Int32Array(n)
    const mask = n - 1
    for (let j = 0; j < lines.length; j++) {
      if (lines[j] === 0) continue
      let i = (hi[j]! ^ lo[j]!) & mask
      while (this.lines[i] !== 0) i = (i + 1) & mask
      this.hi[i] = hi[j]!
      this.lo[i] = lo[j]!
      this.lines[i] = lines[j]!
    }
  }
}

// ---------------------------------------------------------------- the checker

interface DatasetHeader extends TableHeader<Column> {
  readonly dialect: "blob" | "item"
}

class DatasetChecker extends CsvTable<Column, DatasetHeader, DatasetRow> {
  protected readonly onlyHeader = { severity: "warning", expected: "at least one row below the header", found: "only the header (nothing to copy)" } as const
  private files = 0
  private directories = 0
  private account: { name: string; line: number } | undefined
  private readonly seen = new SeenKeys()
  private duplicateCheckLimit: number | undefined
  private readonly mounts: MountMap
  private readonly platform: Platform
  private readonly duplicateLimit: number

  constructor(file: string, options: DatasetOptions) {
    super(file, datasetColumns, datasetHeader, options.issueLimit ?? 1000)
    this.mounts = options.mounts ?? emptyMounts
    this.platform = options.platform ?? hostPlatform()
    this.duplicateLimit = options.duplicateLimit ?? 1_000_000
    this.resolveOptions = { mounts: this.mounts, platform: this.platform }
  }

  protected readColumns(record: CsvRecord): DatasetHeader {
    const errorsBefore = this.log.errors
    const { index, width } = readHeader(record, datasetColumns, this.log, headerList)
    const at = (k: Column) => fieldPlace(record, index[k]!)
    if (index.dstBlob !== undefined && index.dstItem !== undefined) {
      this.log.add({ ...at("dstItem"), field: "header", expected: "one destination column: DstBlobPathOrPrefix or DstItemPathOrPrefix", found: "both" })
    }
    if (index.blobType !== undefined && index.itemType !== undefined) {
      this.log.add({ ...at("itemType"), field: "header", expected: "one type column: BlobType or ItemType", found: "both" })
    }
    if (index.basePath === undefined) {
      this.log.add({ line: record.line, field: "header", expected: "a BasePath column", found: "none" })
    }
    if (index.dstBlob === undefined && index.dstItem === undefined) {
      this.log.add({ line: record.line, field: "header", expected: "a DstBlobPathOrPrefix (or DstItemPathOrPrefix) column", found: "none" })
    }
    const dialect = index.dstItem !== undefined && index.dstBlob === undefined ? "item" : "blob"
    return { index, width, dialect, ok: this.log.errors === errorsBefore }
  }

  // the row being checked, for the helpers below (no closures per row: rows are many)
  private rec!: CsvRecord
  private index: Partial<Record<Column, number>> = {}
  private readonly resolveOptions: { mounts: MountMap; platform: Platform }
  private dstKey: Column = "dstBlob"
  private readonly dstReport: Report = (severity, expected, found) => this.issue(this.dstKey, severity, expected, found)

  private cell(k: Column): string | undefined {
    const i = this.index[k]
    return i === undefined ? undefined : (this.rec.fields[i] ?? "")
  }

  private place(k: Column): { line: number; column?: number } {
    const i = this.index[k]
    return i === undefined || i >= this.rec.fields.length ? { line: this.rec.line } : fieldPlace(this.rec, i)
  }

  private issue(k: Column, severity: "error" | "warning", expected: string, found: string): void {
    this.log.add({ ...this.place(k), field: datasetColumns[k], expected, found, ...(severity === "warning" ? { severity } : {}) })
  }

  protected checkRow(record: CsvRecord, header: DatasetHeader): DatasetRow | undefined {
    const { index } = header
    this.rec = record
    this.index = index
    const errorsBefore = this.log.errors
    const line = record.line

    // cells beyond the header
    for (let i = header.width; i < record.fields.length; i++) {
      if (record.fields[i] !== "") {
        this.log.add({ ...fieldPlace(record, i), expected: `at most ${header.width} fields (as many as the header)`, found: `${record.fields.length} fields (${showCell(record.fields[i]!)} in field ${i + 1})` })
        break
      }
    }

    // BasePath
    const basePathRaw = this.cell("basePath") ?? ""
    let source: SourcePath | undefined
    let kind: "directory" | "file" | undefined
    if (index.basePath !== undefined) {
      if (isAbsent(basePathRaw)) this.issue("basePath", "error", "an absolute path of a directory (ending with '\\' or '/') or of a file", "nothing")
      else {
        const r = resolveSourcePath(basePathRaw, this.resolveOptions)
        if ("expected" in r) {
          this.issue("basePath", "error", r.expected, r.found)
          kind = /[\\/]$/.test(basePathRaw) ? "directory" : "file" // a guess, to check the destination all the same
        } else {
          source = r
          kind = r.isDirectory ? "directory" : "file"
          if (r.form === "posix" && basePathRaw.endsWith("\\")) {
            this.issue("basePath", "warning", "a directory written with a trailing '/' (in a POSIX path '\\' is part of a name)", `${showCell(basePathRaw)} (read as a file)`)
          }
        }
      }
    }

    // destination
    const dstKey: Column = header.dialect === "item" ? "dstItem" : "dstBlob"
    this.dstKey = dstKey
    const destinationRaw = this.cell(dstKey) ?? ""
    let account: string | undefined
    let container: string | undefined
    let prefix: string | undefined
    let blobPath: string | undefined
    if (index[dstKey] !== undefined) {
      if (isAbsent(destinationRaw)) this.issue(dstKey, "error", "container/ or container/virtual/dir/ for a directory, container/blob for a file", "nothing")
      else {
        const d = parseDestination(destinationRaw)
        if ("expected" in d) this.issue(dstKey, "error", d.expected, d.found)
        else {
          if (d.account !== undefined) {
            if (this.account === undefined) this.account = { name: d.account, line }
            else if (this.account.name !== d.account) {
              this.issue(dstKey, "error", `the same storage account on every row (one session imports into one account)`, `${showCell(d.account)} (line ${this.account.line} names ${showCell(this.account.name)})`)
            }
            account = d.account
          }
          if (kind === "directory") {
            const r = checkDirectoryDestination(d.path, destinationRaw, this.dstReport)
            if (r) ({ container, prefix } = r)
          } else if (kind === "file") {
            const r = checkFileDestination(d.path, destinationRaw, source ? baseName(source) : lastName(basePathRaw), this.dstReport)
            if (r) ({ container, blobPath } = r)
          }
        }
      }
    }

    // BlobType / ItemType
    let blobType: BlobType | undefined
    const blobTypeRaw = this.cell("blobType")
    const itemTypeRaw = this.cell("itemType")
    if (!isAbsent(blobTypeRaw)) {
      blobType = parseBlobType(blobTypeRaw!)
      if (blobType === undefined) this.issue("blobType", "error", "BlockBlob, PageBlob, block or page (or nothing: .vhd/.vhdx files become page blobs, others block blobs)", showCell(blobTypeRaw!))
    }
    if (!isAbsent(itemTypeRaw)) {
      const l = itemTypeRaw!.toLowerCase()
      if (l === "file") this.issue("itemType", "error", "an ItemType for Blob storage: blob, BlockBlob or PageBlob (waie imports to Blob storage only)", `${showCell(itemTypeRaw!)} (Azure Files)`)
      else if (l !== "blob") {
        blobType = parseBlobType(itemTypeRaw!)
        if (blobType === undefined) this.issue("itemType", "error", "blob, BlockBlob, PageBlob, block or page", showCell(itemTypeRaw!))
      }
    }

    // Disposition
    let disposition: Disposition = "rename"
    const dispositionRaw = this.cell("disposition")
    if (!isAbsent(dispositionRaw)) {
      const d = parseDisposition(dispositionRaw!)
      if (d === undefined) this.issue("disposition", "error", "rename, no-overwrite or overwrite (or nothing: rename)", showCell(dispositionRaw!))
      else disposition = d
    }

    // MetadataFile / PropertiesFile
    const sideFile = (k: "metadataFile" | "propertiesFile"): SourcePath | undefined => {
      const v = this.cell(k)
      if (isAbsent(v)) return undefined
      if (/[\\/]$/.test(v!)) {
        this.issue(k, "error", "the absolute path of a file (not ending with '\\' or '/')", showCell(v!))
        return undefined
      }
      const r = resolveSourcePath(v!, this.resolveOptions)
      if ("expected" in r) {
        this.issue(k, "error", r.expected, r.found)
        return undefined
      }
      return r
    }
    const metadataFile = sideFile("metadataFile")
    const propertiesFile = sideFile("propertiesFile")

    if (this.log.errors !== errorsBefore || !header.ok || source === undefined || container === undefined) return undefined

    const raw: DatasetRawRow = {
      basePath: basePathRaw,
      destination: destinationRaw,
      ...(blobTypeRaw !== undefined ? { blobType: blobTypeRaw } : {}),
      ...(itemTypeRaw !== undefined ? { itemType: itemTypeRaw } : {}),
      ...(dispositionRaw !== undefined ? { disposition: dispositionRaw } : {}),
      ...(this.cell("metadataFile") !== undefined ? { metadataFile: this.cell("metadataFile")! } : {}),
      ...(this.cell("propertiesFile") !== undefined ? { propertiesFile: this.cell("propertiesFile")! } : {}),
    }
    const common = {
      line,
      source,
      ...(account !== undefined ? { account } : {}),
      container,
      disposition,
      ...(metadataFile ? { metadataFile } : {}),
      ...(propertiesFile ? { propertiesFile } : {}),
      raw,
    }
    let row: DatasetRow
    if (source.isDirectory && prefix !== undefined) {
      row = { kind: "directory", ...common, prefix, blobType: blobType ?? "auto" }
      this.duplicate(`d\u0000${source.local}\u0000${prefix}`, this.place(dstKey), datasetColumns[dstKey], "each directory listed once for a destination", directoryTwice)
      this.directories++
    } else if (!source.isDirectory && blobPath !== undefined) {
      row = { kind: "file", ...common, blobPath, blobType: blobType ?? blobTypeByName(baseName(source)), blobTypeFrom: blobType ? "column" : "extension" }
      this.duplicate(`f\u0000${blobPath}`, this.place(dstKey), datasetColumns[dstKey], "each blob written by one row", (l) => blobTwice(blobPath!, l, disposition))
      this.files++
    } else throw new Error(`dataset: line ${line}: a row without errors has no destination`)
    return row
  }

  private duplicate(key: string, where: { line: number; column?: number }, field: string, expected: string, found: (line: number) => string): void {
    const remember = this.seen.size < this.duplicateLimit
    const first = this.seen.check(key, where.line, remember)
    if (first !== undefined) this.log.add({ ...where, field, severity: "warning", expected, found: found(first) })
    else if (!remember) this.duplicateCheckLimit = this.duplicateLimit
  }

  report(): DatasetReport {
    return {
      file: this.file,
      issues: this.log.issues,
      omitted: this.log.omitted,
      errors: this.log.errors,
      warnings: this.log.warnings,
      rows: this.files + this.directories,
      files: this.files,
      directories: this.directories,
      dialect: this.header?.dialect,
      account: this.account?.name,
      duplicateCheckLimit: this.duplicateCheckLimit,
    }
  }
}

const directoryTwice = (l: number): string => `the same BasePath and destination as line ${l} (its files would be copied twice)`
const blobTwice = (blobPath: string, l: number, disposition: Disposition): string =>
  `${showCell(blobPath)}, also written by line ${l} (with disposition ${disposition}, one would ${disposition === "rename" ? "be renamed" : disposition === "overwrite" ? "replace the other" : "be skipped"})`

const lastName = (raw: string): string => raw.split(/[\\/]/).pop() ?? ""

// ---------------------------------------------------------------- reading

export type DatasetReading<E, R> = CsvReading<DatasetRow, DatasetReport, E, R>

/** Read a dataset from a byte stream. `file` is the name used in issues. */
export const readDataset = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>, options: DatasetOptions = {}): DatasetReading<E, R> =>
  readTable(bytes, options.csv, () => new DatasetChecker(file, options))

/** Read a dataset file: `path` to open, `shown` as the user wrote it (for messages). */
export const readDatasetFile = (path: string, shown: string, options: DatasetOptions = {}): DatasetReading<FileUnreadable, FileSystem.FileSystem> =>
  readDataset(shown, fileBytes(path, shown), options)

/** Check a whole dataset without keeping its rows: the report, or InvalidInput when there are errors. */
export const validateDataset = <E, R>(reading: DatasetReading<E, R>): Effect.Effect<DatasetReport, E | InvalidInput, R> =>
  Effect.gen(function* () {
    yield* Stream.runDrain(reading.rows)
    const report = reading.report()
    if (report.errors > 0) return yield* Effect.fail(new InvalidInput({ format: "dataset", file: report.file, issues: report.issues, ...(report.omitted ? { omitted: report.omitted } : {}) }))
    return report
  })
