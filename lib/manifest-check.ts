/**
 * Checking a DriveManifest against the rules of the format (reference: 001_…, formats.md §6.3–§6.5):
 * every violation is collected with its line, column and element, not just the first. The rules
 * run on the reader's events as they come (plain synchronous code, per-blob state only), so a
 * manifest of millions of blocks is checked in constant memory — but for the duplicate BlobPath
 * check, which keeps 21 bytes per blob path (not per block) up to a cap (`duplicateCheckLimit`). The report also gives the MD5 of
 * the whole file: the ManifestHash a user compares with the journal's `<DriveId>.xml`.
 */
import { Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import type { Issue } from "./errors.ts"
import { showValue } from "./errors.ts"
import { blobLengthProblems, BlockListChecker, PageRangeChecker, type RuleProblem } from "./blocks.ts"
import { base64DecodedLength, isBase64, isMd5Hex } from "./hash.ts"
import { IssueLog } from "./issues.ts"
import type { BlobStart, DriveFieldName, FileRef, ManifestEvent, Pos } from "./manifest-model.ts"
import { importDispositions, knownVersions } from "./manifest-model.ts"
import { ManifestParser, readerIssue } from "./manifest-reader.ts"
import { checkBlobPath } from "./names.ts"

export type ManifestPurpose = "import" | "export"
export type Credential = "StorageAccountKey" | "ContainerSas" | "none"

export interface CheckOptions {
  /** import (default): exactly one credential, ImportDisposition allowed; export: no credential, no ImportDisposition */
  readonly purpose?: ManifestPurpose
  /**
   * import: a manifest without StorageAccountKey or ContainerSas is a warning, not an error.
   * For `waie service import`, which signs with its own storage options and takes export drives,
   * whose manifests carry none.
   */
  readonly credentialOptional?: boolean
  /** issues listed in the report; more are counted in `omitted` (default 1000) */
  readonly maxIssues?: number
  /** blob paths remembered for the duplicate check (default `duplicateCheckLimit`; tests make it small) */
  readonly duplicateLimit?: number
}

/**
 * Blob paths remembered for the duplicate check: 1,000,000, in at most 2^21 slots of 21 bytes
 * (44 MB, outside the JavaScript heap). Past it, the later blob paths are still compared with
 * the first million, not with each other, and a warning says so.
 */
export const duplicateCheckLimit = 1_000_000

export interface ManifestStats {
  readonly blobLists: number
  readonly blobs: number
  readonly blocks: number
  readonly pageRanges: number
  /** sum of the blobs' Length: the data the manifest describes */
  readonly bytes: number
}

export interface ManifestReport {
  /** no error (warnings allowed) */
  readonly ok: boolean
  readonly purpose: ManifestPurpose
  /** errors and warnings, in file order, at most `maxIssues` */
  readonly issues: ReadonlyArray<Issue>
  /** issues found beyond those listed */
  readonly omitted: number
  readonly errors: number
  readonly warnings: number
  /** false when reading stopped at a structural problem (the last issue): the rest was not checked */
  readonly complete: boolean
  /** the line of that structural problem */
  readonly stoppedAt?: number
  readonly stats: ManifestStats
  readonly version?: string
  readonly driveId?: string
  /** which credential the manifest carries (never its value) */
  readonly credential: Credential
  /** MD5 of the whole file, 32 upper-case hex digits */
  readonly hash: string
  /** size of the file */
  readonly fileBytes: number
}

type Where = Pos | undefined

const secretNotShown = "(the value is not shown: it is a secret)"

/** A relative path on the drive: the docs write them `\dir\file` (from the drive root) or `dir/file`. */
export const checkDrivePath = (p: string): { expected: string; found: string } | undefined => {
  const expected = "a path relative to the drive root"
  if (p === "") return { expected, found: "an empty path" }
  if (/^[A-Za-z]:/.test(p)) return { expected: `${expected} (no drive letter)`, found: showValue(p) }
  if (/^[\\/]{2}/.test(p)) return { expected: `${expected} (not a network path)`, found: showValue(p) }
  if (p.split(/[\\/]/).includes("..")) return { expected: `${expected} without '..' segments`, found: showValue(p) }
  return undefined
}

// ---------------------------------------------------------------- duplicate blob paths

const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** 0: rename (the default), 1: overwrite, 2: no-overwrite, 3: none given in an export manifest or another value */
const dispositionCode = (d: string | undefined, purpose: ManifestPurpose): number =>
  purpose === "export" ? 3 : d === undefined || d === "rename" ? 0 : d === "overwrite" ? 1 : d === "no-overwrite" ? 2 : 3
const dispositionName = ["rename", "overwrite", "no-overwrite", "none"] as const

/**
 * The blob paths seen so far, as 128-bit digests (four 32-bit multiply–xor lanes over the UTF-16
 * units, each finished by MurmurHash3's fmix32) in flat typed arrays with open addressing, with
 * the line and the disposition of each: no string is kept, and nothing on the JavaScript heap
 * grows with the blobs. Blob names are case-sensitive, so only exact duplicates match. Two paths
 * with one digest (odds about n²/2^129) would be reported as duplicates; none can hide one.
 */
class BlobPathSet {
  private keys = new Uint32Array(4 * 1024)
  private lines = new Int32Array(1024) // line + 1; 0 = an empty slot
  private dispositions = new Uint8Array(1024)
  size = 0
  private readonly h = new Uint32Array(4)

  private digest(s: string): void {
    let a = 0x811c9dc5
    let b = 0x9747b28c
    let c = 0x2545f491
    let d = 0x6a09e667
    for (let i = 0; i < s.length; i++) {
      const k = s.charCodeAt(i)
      a = Math.imul(a ^ k, 0x01000193)
      b = Math.imul(b ^ k, 0x5bd1e995)
      b ^= b >>> 13
      c = Math.imul(c ^ k, 0xcc9e2d51)
      c = (c << 15) | (c >>> 17)
      d = Math.imul(d + k, 0x1b873593) ^ (d >>> 11)
    }
    this.h[0] = fmix(a ^ s.length)
    this.h[1] = fmix(b ^ a)
    this.h[2] = fmix(c ^ b)
    this.h[3] = fmix(d ^ c)
  }

  /** The line and disposition a path was first seen with; undefined (and remembered, if `remember`) when new. */
  check(path: string, line: number, disposition: number, remember: boolean): { line: number; disposition: number } | undefined {
    this.digest(path)
    const [h0, h1, h2, h3] = this.h as unknown as [number, number, number, number]
    const mask = this.lines.length - 1
    let i = (h0 ^ h2) & mask
    while (this.lines[i] !== 0) {
      const k = 4 * i
      if (this.keys[k] === h0 && this.keys[k + 1] === h1 && this.keys[k + 2] === h2 && this.keys[k + 3] === h3) return { line: this.lines[i]! - 1, disposition: this.dispositions[i]! }
      i = (i + 1) & mask
    }
    if (!remember) return undefined
    this.keys.set(this.h, 4 * i)
    this.lines[i] = line + 1
    this.dispositions[i] = disposition
    this.size++
    if (this.size * 2 > this.lines.length) this.grow()
    return undefined
  }

  private grow(): void {
    const { keys, lines, dispositions } = this
    const n = lines.length * 2
    this.keys = new Uint32Array(4 * n)
    this.lines = new Int32Array(n)
    this.dispositions = new Uint8Array(n)
    const mask = n - 1
    for (let j = 0; j < lines.length; j++) {
      if (lines[j] === 0) continue
      let i = (keys[4 * j]! ^ keys[4 * j + 2]!) & mask
      while (this.lines[i] !== 0) i = (i + 1) & mask
      this.keys.set(keys.subarray(4 * j, 4 * j + 4), 4 * i)
      this.lines[i] = lines[j]!
      this.dispositions[i] = dispositions[j]!
    }
  }
}

/** What happens to two Blobs of one drive with one BlobPath, by their dispositions. */
const duplicateOutcome = (first: number, second: number): { severity: "error" | "warning"; what: string } => {
  if (first === 3 || second === 3) return { severity: "warning", what: "the blob is written twice" }
  if (first === 0 && second === 0) return { severity: "warning", what: "with ImportDisposition rename, both are imported, one of them under a new name, whichever the service takes second" }
  const both = first === second ? `ImportDisposition ${dispositionName[first]!}` : `ImportDisposition ${dispositionName[first]!} there and ${dispositionName[second]!} here`
  // what the one the service takes second does, by its disposition: rename, overwrite, no-overwrite
  const does = ["be renamed", "replace the other", "be skipped"] as const
  const rank = [2, 0, 1] // "replace the other or be skipped or be renamed"
  const [a, b] = [first, second].sort((x, y) => rank[x]! - rank[y]!) as [number, number]
  const what = first === second ? `one would ${does[first]!}` : `one would ${does[a]!} or ${does[b]!}, depending on the order the service takes them`
  return { severity: "error", what: `with ${both}, ${what}` }
}

/** The rules as a synchronous consumer of events. `report` gives the verdict. */
export class ManifestRules {
  private readonly purpose: ManifestPurpose
  private readonly credentialOptional: boolean
  private readonly log: IssueLog
  private complete = true
  private stoppedAt: number | undefined

  private version: string | undefined
  private driveId: string | undefined
  private readonly seen = new Map<DriveFieldName, Where>()
  private credential: Credential = "none"
  private firstList: Where
  private end: Where

  private blobLists = 0
  private blobs = 0
  private blocks = 0
  private pageRanges = 0
  private bytes = 0

  // per-blob state: the blob, and the checker of its list (it keeps the place of the elements it reports at the end)
  private blob: BlobStart | undefined
  private blockChecker: BlockListChecker<Pos> | undefined
  private pageChecker: PageRangeChecker<Pos> | undefined

  private readonly blobPaths = new BlobPathSet()
  private readonly duplicateLimit: number
  private duplicateLimitReached = false

  constructor(file: string, options: CheckOptions = {}) {
    this.purpose = options.purpose ?? "import"
    this.credentialOptional = options.credentialOptional ?? false
    this.log = new IssueLog(file, options.maxIssues ?? 1000)
    this.duplicateLimit = options.duplicateLimit ?? duplicateCheckLimit
  }

  private add(at: Where, field: string, expected: string, found: string, severity: "error" | "warning" = "error"): void {
    // keys in the order every issue of waie has: file, line, column, field, expected, found, severity
    this.log.add({
      ...(at?.line !== undefined ? { line: at.line } : {}),
      ...(at?.line !== undefined && at.column !== undefined ? { column: at.column } : {}),
      field,
      expected,
      found,
      ...(severity === "warning" ? { severity } : {}),
    })
  }

  /** The reader stopped: its problem is the last issue, and nothing after it was checked. */
  structural(issue: Issue): void {
    this.complete = false
    this.stoppedAt = issue.line
    this.log.add(issue)
  }

  private fileRef(ref: FileRef | undefined, field: string): void {
    if (ref === undefined) return
    if (!isMd5Hex(ref.hash)) this.add(ref, `${field}/@Hash`, "32 hex digits (the MD5 of the file)", showValue(ref.hash))
    const p = checkDrivePath(ref.path)
    if (p) this.add(ref, field, p.expected, p.found)
  }

  event(e: ManifestEvent): void {
    switch (e._tag) {
      case "Block":
        this.blocks++
        return this.listProblems(this.blockChecker?.add(e, e))
      case "PageRange":
        this.pageRanges++
        return this.listProblems(this.pageChecker?.add(e, e))
      case "BlobStart":
        return this.blobStart(e)
      case "BlobEnd":
        return this.blobEnd(e)
      case "ManifestStart":
        this.version = e.version
        if (!knownVersions.includes(e.version)) this.add(e, "DriveManifest/@Version", `a Version seen in the documentation (${knownVersions.join(" or ")})`, showValue(e.version), "warning")
        return
      case "DriveField":
        return this.driveField(e.name, e.value, e)
      case "BlobListStart":
        this.blobLists++
        if (this.firstList === undefined) this.firstList = { ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}) }
        this.fileRef(e.metadataPath, "BlobList/MetadataPath")
        this.fileRef(e.propertiesPath, "BlobList/PropertiesPath")
        return
      case "BlobListEnd":
        return
      case "ManifestEnd":
        this.end = e
        return
    }
  }

  private driveField(name: DriveFieldName, value: string, at: Where): void {
    const before = this.seen.get(name)
    if (this.seen.has(name)) this.add(at, `Drive/${name}`, `one ${name} in the Drive`, `a second one${before?.line !== undefined ? ` (the first is on line ${before.line})` : ""}`)
    else this.seen.set(name, at)
    switch (name) {
      case "DriveId":
        if (this.driveId === undefined) this.driveId = value
        if (value.trim() === "") this.add(at, "Drive/DriveId", "the drive's id (its serial number)", "an empty value")
        if (this.firstList !== undefined) this.add(at, "Drive/DriveId", "DriveId before any BlobList", `a DriveId after the BlobList${this.firstList.line !== undefined ? ` of line ${this.firstList.line}` : ""}`)
        return
      case "StorageAccountKey":
      case "ContainerSas": {
        if (this.purpose === "export") {
          this.add(at, `Drive/${name}`, "no StorageAccountKey or ContainerSas in an export manifest (the service omits them)", `a ${name}`, "warning")
        } else if (this.credential !== "none" && this.credential !== name) {
          this.add(at, `Drive/${name}`, "exactly one of StorageAccountKey and ContainerSas", `both (a ${this.credential} and a ${name})`)
        }
        if (this.credential === "none") this.credential = name
        if (value.trim() === "") {
          this.add(at, `Drive/${name}`, name === "StorageAccountKey" ? "a storage account key" : "a container SAS token", "an empty value")
        } else if (name === "StorageAccountKey") {
          const n = isBase64(value) ? base64DecodedLength(value) : undefined
          if (n === undefined) this.add(at, "Drive/StorageAccountKey", "a storage account key in Base64", `a value that is not Base64 ${secretNotShown}`)
          else if (n !== 64) this.add(at, "Drive/StorageAccountKey", "a storage account key of 64 bytes (88 Base64 characters)", `${n} bytes ${secretNotShown}`, "warning")
        } else if (!/(^|[?&])sig=/.test(value)) {
          this.add(at, "Drive/ContainerSas", "a container SAS token with a signature (sig=…)", `a value without sig= ${secretNotShown}`)
        }
        return
      }
      case "ClientCreator":
        return
    }
  }

  private blobStart(e: BlobStart): void {
    this.blobs++
    this.bytes += e.length
    this.blob = e
    this.blockChecker = e.list === "block" ? new BlockListChecker(e.length) : undefined
    this.pageChecker = e.list === "page" ? new PageRangeChecker(e.length) : undefined
    const at = e.at ?? {}
    const name = checkBlobPath(e.blobPath)
    if (name) this.add(at.BlobPath ?? e, "Blob/BlobPath", name.expected, name.found)
    this.duplicateBlobPath(e, at.BlobPath ?? e)
    const file = checkDrivePath(e.filePath)
    if (file) this.add(at.FilePath ?? e, "Blob/FilePath", file.expected, file.found)
    if (e.importDisposition !== undefined) {
      if (this.purpose === "export") this.add(at.ImportDisposition ?? e, "Blob/ImportDisposition", "no ImportDisposition in an export manifest", showValue(e.importDisposition))
      else if (!importDispositions.includes(e.importDisposition)) this.add(at.ImportDisposition ?? e, "Blob/ImportDisposition", "rename, no-overwrite or overwrite", showValue(e.importDisposition))
    }
    if (e.snapshot !== undefined && this.purpose === "import") this.add(at.Snapshot ?? e, "Blob/Snapshot", "no Snapshot in an import manifest (it names an exported blob snapshot)", showValue(e.snapshot), "warning")
    for (const p of blobLengthProblems(e.list === "page" ? "page" : "block", e.length)) this.add(at.Length ?? e, "Blob/Length", p.expected, p.found)
    if (e.list === "none" && e.length > 0) this.add(e, "Blob", `a BlockList or PageRangeList describing the blob's ${e.length} bytes`, "neither")
  }

  /** Two Blobs of the drive (a manifest is one drive's) writing one blob: exact duplicates only, blob names being case-sensitive. */
  private duplicateBlobPath(e: BlobStart, at: Pos): void {
    const remember = this.blobPaths.size < this.duplicateLimit
    const disposition = dispositionCode(e.importDisposition, this.purpose)
    const first = this.blobPaths.check(e.blobPath, at.line ?? 0, disposition, remember)
    if (first !== undefined) {
      const outcome = duplicateOutcome(first.disposition, disposition)
      this.add(at, "Blob/BlobPath", "each blob written by one Blob of the drive", `${showValue(e.blobPath)}, also the BlobPath of line ${first.line} (${outcome.what})`, outcome.severity)
    } else if (!remember && !this.duplicateLimitReached) {
      this.duplicateLimitReached = true
      this.add(at, "Blob/BlobPath", `at most ${this.duplicateLimit.toLocaleString("en-US")} blobs remembered for the duplicate check`, `more: the blob paths from here on are compared with the first ${this.duplicateLimit.toLocaleString("en-US")} only`, "warning")
    }
  }

  /** The problems the list checker found, at the element it names (at the list itself when it names none: an empty list). */
  private listProblems(problems: ReadonlyArray<RuleProblem<Pos>> | undefined): void {
    if (problems === undefined) return
    for (let i = 0; i < problems.length; i++) {
      const p = problems[i]!
      this.add(p.at ?? this.blob?.at?.List ?? this.blob, p.field, p.expected, p.found)
    }
  }

  private blobEnd(e: { metadataPath?: FileRef; propertiesPath?: FileRef }): void {
    this.listProblems(this.blockChecker?.finish())
    this.listProblems(this.pageChecker?.finish())
    this.fileRef(e.metadataPath, "Blob/MetadataPath")
    this.fileRef(e.propertiesPath, "Blob/PropertiesPath")
    this.blob = undefined
    this.blockChecker = undefined
    this.pageChecker = undefined
  }

  /** The verdict, after the last event (or the structural problem). */
  report(hash: string, fileBytes: number): ManifestReport {
    if (this.complete) {
      const at = this.firstList ?? this.end
      if (!this.seen.has("DriveId")) this.add(at, "Drive/DriveId", "a DriveId in the Drive (before any BlobList)", "none")
      if (this.purpose === "import" && this.credential === "none") this.add(at, "Drive", "a StorageAccountKey or a ContainerSas (an import manifest carries one)", "neither", this.credentialOptional ? "warning" : "error")
    }
    // file order: the checks made at the end (no DriveId, no credential) name earlier lines
    const issues = this.log.issues.map((issue, i) => [issue, i] as const)
    issues.sort(([a, i], [b, j]) => (a.line ?? Infinity) - (b.line ?? Infinity) || i - j)
    return {
      ok: this.log.ok,
      purpose: this.purpose,
      issues: issues.map(([issue]) => issue),
      omitted: this.log.omitted,
      errors: this.log.errors,
      warnings: this.log.warnings,
      complete: this.complete,
      ...(this.stoppedAt !== undefined ? { stoppedAt: this.stoppedAt } : {}),
      stats: { blobLists: this.blobLists, blobs: this.blobs, blocks: this.blocks, pageRanges: this.pageRanges, bytes: this.bytes },
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.driveId !== undefined ? { driveId: this.driveId } : {}),
      credential: this.credential,
      hash,
      fileBytes,
    }
  }
}

const parseSlice = 64 * 1024

/**
 * Check a manifest read from `bytes` (`file` is the path as shown). Never fails on the manifest's
 * content: every problem, the reader's structural one included, is an issue of the report. Fails
 * only with the byte stream's own error (an unreadable file).
 */
export const checkManifest = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>, options: CheckOptions = {}): Effect.Effect<ManifestReport, E, R> =>
  Effect.suspend(() => {
    const parser = new ManifestParser()
    const rules = new ManifestRules(file, options)
    const md5 = createHash("md5")
    let size = 0
    let stopped = false
    const feed = (events: () => ReadonlyArray<ManifestEvent>): void => {
      if (stopped) return
      try {
        const list = events()
        for (let i = 0; i < list.length; i++) rules.event(list[i]!)
      } catch (e) {
        const issue = readerIssue(file, e)
        if (issue === undefined) throw e
        stopped = true
        rules.structural(issue)
      }
    }
    return bytes.pipe(
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          md5.update(chunk)
          size += chunk.length
          // parse in small slices: the tokens and events of a slice die young, which keeps the
          // garbage collector cheap (with a 1 MiB slice they outlive a scavenge and get promoted)
          for (let at = 0; at < chunk.length; at += parseSlice) {
            const slice = chunk.subarray(at, Math.min(at + parseSlice, chunk.length))
            feed(() => parser.write(slice))
          }
        }),
      ),
      Effect.map(() => {
        feed(() => parser.end())
        return rules.report(md5.digest("hex").toUpperCase(), size)
      }),
    )
  })
