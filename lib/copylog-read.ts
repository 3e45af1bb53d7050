/**
 * Streaming reader of copy logs: bytes in, `CopyLogEvent`s out, memory bounded by one element.
 *
 * What it checks: the §1.2 skeleton (DriveLog → DriveId, Blob*, Status; Blob → BlobPath,
 * FilePath, Snapshot?, Length, LastModified?, ImportDisposition?, one range list?, Metadata?,
 * Properties?), every status code against its family, numbers, hashes (Base16 MD5), block ids
 * (Base64, ≤ 64 bytes), date-times, at most 50,000 blocks per BlockList, ranges inside the blob.
 * Every such problem is collected (the stream fails at its end with all of them); only malformed
 * XML, a DOCTYPE or a wrong root element stops the reader where it stands.
 *
 * Tolerated quirks of the documentation's samples: `Version` absent (RI1/RE1), `Hash` with a
 * leading space and lower- or upper-case hex (normalised to upper case), `LastModified` before
 * `Length` (the export samples) — the elements before the range list may come in any order.
 */
import type { FileSystem } from "@effect/platform"
import type { Stream } from "effect"
import { blockIdProblem, maxBlocksPerBlob, parseLength } from "./blocks.ts"
import type { FileUnreadable, InvalidInput } from "./errors.ts"
import { showValue } from "./errors.ts"
import { fileBytes } from "./files.ts"
import { isMd5Hex, normaliseHex } from "./hash.ts"
import { InputIssue, type XmlOpen, type XmlToken } from "./xml.ts"
import {
  type BlobStatus,
  blobStartFields,
  blobStatuses,
  type CopyLogEvent,
  copyLogVersion,
  type DispositionStatus,
  dispositionStatuses,
  driveStatuses,
  type FileRef,
  type FileEntry,
  fileStatuses,
  type ImportDisposition,
  importDispositions,
  isBlobStatus,
  isDispositionStatus,
  isDriveStatus,
  isFileStatus,
  isImportDisposition,
  isRangeStatus,
  type ListKind,
  type MetadataStatus,
  type Range,
  rangeStatuses,
} from "./copylog-model.ts"
import { attributeNames, CollectingTokenParser, parseCollecting } from "./xml-issues.ts"

/** ISO 8601 date-time as the service writes it: `2012-09-18T23:47:08Z`, fractions and offsets allowed. */
const dateTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$/

const oneOf = (values: ReadonlyArray<string>, what: string): string => `${what}: one of ${values.join(", ")}`

/** A code not in its family, with a hint when only the letter case is wrong (codes are case-sensitive). */
const foundCode = (raw: string, values: ReadonlyArray<string>): string => {
  const near = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase())
  return near !== undefined ? `${showValue(raw)} (codes are case-sensitive: ${near})` : showValue(raw)
}

type FrameKind = "DriveLog" | "Blob" | "List" | "File" | "Leaf"
interface Frame {
  readonly kind: FrameKind
  readonly name: string
  readonly open: XmlOpen
  /** a Block/PageRange checked at its opening, emitted at its close when nothing was wrong */
  range?: Range | undefined
}

interface BlobState {
  readonly open: XmlOpen
  status: BlobStatus | undefined
  broken: boolean
  readonly seen: Set<string>
  blobPath?: string
  filePath?: string
  snapshot?: string
  length?: number
  lastModified?: string
  dispositionStatus?: DispositionStatus | undefined
  disposition?: ImportDisposition
  hasDisposition: boolean
  started: boolean
  list: ListKind
  listName?: "Block" | "PageRange"
  ranges: number
  metadata?: FileEntry<MetadataStatus>
  properties?: FileEntry<MetadataStatus>
}

interface FileState {
  status: MetadataStatus | undefined
  globalPath?: FileRef
  path?: FileRef
  readonly seen: Set<string>
}

const headerElements = ["BlobPath", "FilePath", "Snapshot", "Length", "LastModified", "ImportDisposition"] as const

/** The copy-log state machine; `readCopyLog` runs it over a byte stream. */
export class CopyLogParser extends CollectingTokenParser<CopyLogEvent> {
  private readonly stack: Array<Frame> = []
  private skip = 0
  private phase: "root" | "drive-id" | "blobs" | "after-status" | "closed" = "root"
  private blob: BlobState | undefined
  private file: FileState | undefined

  private issue(at: { line: number; column: number }, field: string, expected: string, found: string): void {
    this.issues.at(at, field, expected, found)
  }

  protected token(t: XmlToken): void {
    if (t.kind === "open") this.open(t)
    else this.close(t.name, t.text, t.mixed, t)
  }

  // ------------------------------------------------------------ opening tags

  private open(t: XmlOpen): void {
    if (this.skip > 0) {
      this.skip++
      return
    }
    const parent = this.stack[this.stack.length - 1]
    if (parent === undefined) return this.openRoot(t)
    switch (parent.kind) {
      case "DriveLog":
        return this.openInDriveLog(t)
      case "Blob":
        return this.openInBlob(t)
      case "List":
        return this.openInList(t, parent)
      case "File":
        return this.openInFile(t, parent)
      case "Leaf":
        this.issue(t, parent.name, `text only in <${parent.name}>`, `a <${t.name}> element`)
        this.skip = 1
        return
    }
  }

  private unexpected(t: XmlOpen, parent: string, expected: string): void {
    this.issue(t, parent, expected, `<${t.name}>`)
    this.skip = 1
  }

  private checkAttributes(t: XmlOpen, allowed: ReadonlyArray<string>): void {
    for (const a of attributeNames(t.attributes)) {
      if (!allowed.includes(a)) this.issue(t, `${t.name}/@${a}`, allowed.length ? `only the attributes ${allowed.join(", ")} on <${t.name}>` : `no attributes on <${t.name}>`, `${a}=${showValue(t.attributes[a]!)}`)
    }
  }

  private push(kind: FrameKind, t: XmlOpen): Frame {
    const f: Frame = { kind, name: t.name, open: t }
    this.stack.push(f)
    return f
  }

  private openRoot(t: XmlOpen): void {
    if (t.name !== "DriveLog") {
      throw new InputIssue({ line: t.line, column: t.column, field: "root element", expected: "<DriveLog> as the root element of a copy log", found: `<${t.name}>` })
    }
    this.checkAttributes(t, ["Version"])
    const version = t.attributes["Version"]
    if (version !== undefined && version !== copyLogVersion) {
      const hint = version === "2018-10-01" ? " (the Data Box log format, which waie does not read)" : ""
      this.issue(t, "DriveLog/@Version", `Version="${copyLogVersion}" (or no Version attribute)`, showValue(version) + hint)
    }
    this.phase = "drive-id"
    this.push("DriveLog", t)
    this.emit(version === undefined ? { _tag: "LogStart" } : { _tag: "LogStart", version })
  }

  private missingDriveId(t: XmlOpen): void {
    if (this.phase !== "drive-id") return
    this.issue(t, "DriveLog/DriveId", "<DriveId> as the first child of <DriveLog>", `<${t.name}>`)
    this.phase = "blobs"
  }

  private openInDriveLog(t: XmlOpen): void {
    if (this.phase === "after-status") return this.unexpected(t, "DriveLog", "nothing after <Status> (it is the last child of <DriveLog>)")
    switch (t.name) {
      case "DriveId":
        if (this.phase !== "drive-id") return this.unexpected(t, "DriveLog", "one <DriveId>, first in <DriveLog>")
        this.checkAttributes(t, [])
        this.push("Leaf", t)
        return
      case "Blob": {
        this.missingDriveId(t)
        this.checkAttributes(t, ["Status"])
        const status = this.status(t, "Blob", blobStatuses, isBlobStatus, "a blob status")
        this.blob = { open: t, status, broken: status === undefined, seen: new Set(), hasDisposition: false, started: false, list: "none", ranges: 0 }
        this.push("Blob", t)
        return
      }
      case "Status":
        this.missingDriveId(t)
        this.checkAttributes(t, [])
        this.push("Leaf", t)
        return
      default:
        return this.unexpected(t, "DriveLog", "<DriveId>, <Blob> or <Status> in <DriveLog>")
    }
  }

  /** The Status attribute of `t`, checked against its code family (undefined after an issue). */
  private status<S extends string>(t: XmlOpen, element: string, all: ReadonlyArray<S>, is: (s: string) => s is S, what: string): S | undefined {
    const raw = t.attributes["Status"]
    if (raw === undefined) {
      this.issue(t, `${element}/@Status`, `a Status attribute on <${element}>`, "none")
      return undefined
    }
    const s = raw.trim()
    if (is(s)) return s
    this.issue(t, `${element}/@Status`, oneOf(all, what), foundCode(raw, all))
    return undefined
  }

  private openInBlob(t: XmlOpen): void {
    const b = this.blob!
    const name = t.name
    if ((headerElements as ReadonlyArray<string>).includes(name)) {
      if (b.started) return this.unexpected(t, "Blob", `<${name}> before the range list, <Metadata> and <Properties> of the blob`)
      if (b.seen.has(name)) return this.unexpected(t, "Blob", `one <${name}> per blob`)
      b.seen.add(name)
      if (name === "ImportDisposition") {
        this.checkAttributes(t, ["Status"])
        b.hasDisposition = true
        b.dispositionStatus = this.status(t, "ImportDisposition", dispositionStatuses, isDispositionStatus, "an import disposition status")
        if (b.dispositionStatus === undefined) b.broken = true
      } else this.checkAttributes(t, [])
      this.push("Leaf", t)
      return
    }
    if (name === "BlockList" || name === "PageRangeList") {
      if (b.list !== "none" || b.metadata || b.properties || b.seen.has("Metadata") || b.seen.has("Properties")) {
        return this.unexpected(t, "Blob", "at most one <BlockList> or <PageRangeList>, before <Metadata> and <Properties>")
      }
      this.checkAttributes(t, [])
      this.startBlob(name === "BlockList" ? "block" : "page")
      b.listName = name === "BlockList" ? "Block" : "PageRange"
      this.push("List", t)
      return
    }
    if (name === "Metadata" || name === "Properties") {
      if (b.seen.has(name)) return this.unexpected(t, "Blob", `one <${name}> per blob`)
      if (name === "Metadata" && b.seen.has("Properties")) return this.unexpected(t, "Blob", "<Metadata> before <Properties>")
      b.seen.add(name)
      this.checkAttributes(t, ["Status"])
      this.startBlob("none")
      const status = this.status(t, name, fileStatuses, isFileStatus, `a ${name} status`)
      this.file = { status, seen: new Set() }
      this.push("File", t)
      return
    }
    this.unexpected(t, "Blob", "<BlobPath>, <FilePath>, <Snapshot>, <Length>, <LastModified>, <ImportDisposition>, <BlockList>, <PageRangeList>, <Metadata> or <Properties> in <Blob>")
  }

  /** Emit BlobStart once the header is complete (at the list, Metadata, Properties or </Blob>). */
  private startBlob(list: ListKind): void {
    const b = this.blob!
    if (b.started) return
    b.started = true
    b.list = list
    for (const required of ["BlobPath", "FilePath", "Length"] as const) {
      if (!b.seen.has(required)) {
        this.issue(b.open, `Blob/${required}`, `a <${required}> in every <Blob>`, "none")
        b.broken = true
      }
    }
    if (b.hasDisposition && b.disposition === undefined) b.broken = true
    if (b.broken || b.status === undefined || b.blobPath === undefined || b.filePath === undefined || b.length === undefined) {
      b.broken = true
      return
    }
    const importDisposition = b.hasDisposition && b.dispositionStatus !== undefined && b.disposition !== undefined ? { status: b.dispositionStatus, value: b.disposition } : undefined
    this.emit({ _tag: "BlobStart", ...blobStartFields({ status: b.status, blobPath: b.blobPath, filePath: b.filePath, snapshot: b.snapshot, length: b.length, lastModified: b.lastModified, importDisposition, list }) })
  }

  private openInList(t: XmlOpen, parent: Frame): void {
    const b = this.blob!
    const want = b.listName!
    if (t.name !== want) return this.unexpected(t, parent.name, `only <${want}> elements in <${parent.name}>`)
    const frame = this.push("Leaf", t)
    b.ranges++
    // a BlockList describes at most as many blocks as the manifest's blob did
    if (want === "Block" && b.ranges === maxBlocksPerBlob + 1) {
      this.issue(t, "BlockList", `at most ${maxBlocksPerBlob} blocks per blob`, `block number ${maxBlocksPerBlob + 1}`)
    }
    const isBlock = want === "Block"
    this.checkAttributes(t, isBlock ? ["Offset", "Length", "Id", "Hash", "Status"] : ["Offset", "Length", "Hash", "Status"])
    let ok = true
    const count = (attr: "Offset" | "Length"): number | undefined => {
      const raw = t.attributes[attr]
      if (raw === undefined) {
        this.issue(t, `${want}/@${attr}`, `an ${attr} attribute on <${want}>`, "none")
        return undefined
      }
      const n = parseLength(raw)
      if (n === undefined) this.issue(t, `${want}/@${attr}`, "a non-negative whole number of bytes", showValue(raw))
      return n
    }
    const offset = count("Offset")
    const length = count("Length")
    if (offset === undefined || length === undefined) ok = false
    else if (b.length !== undefined && offset + length > b.length) {
      this.issue(t, want, `a range inside the blob's Length (${b.length})`, `Offset ${offset} + Length ${length} = ${offset + length}`)
      ok = false
    }
    let hash: string | undefined
    const rawHash = t.attributes["Hash"]
    if (rawHash !== undefined) {
      hash = normaliseHex(rawHash)
      if (!isMd5Hex(hash)) {
        this.issue(t, `${want}/@Hash`, "a Base16 MD5 hash (32 hex digits)", showValue(rawHash))
        ok = false
      }
    }
    let id: string | undefined
    if (isBlock) {
      id = t.attributes["Id"]
      const p = id === undefined ? undefined : blockIdProblem(id)
      if (p) {
        this.issue(t, "Block/@Id", p.expected, p.found)
        ok = false
      }
    }
    const status = this.status(t, want, rangeStatuses, isRangeStatus, `a ${want === "Block" ? "block" : "page range"} status`)
    if (!ok || status === undefined || offset === undefined || length === undefined) return
    frame.range = isBlock
      ? { _tag: "Block", offset, length, ...(id !== undefined ? { id } : {}), ...(hash !== undefined ? { hash } : {}), status }
      : { _tag: "PageRange", offset, length, ...(hash !== undefined ? { hash } : {}), status }
  }

  private openInFile(t: XmlOpen, parent: Frame): void {
    const f = this.file!
    if (t.name !== "GlobalPath" && t.name !== "Path") return this.unexpected(t, parent.name, `<GlobalPath> or <Path> in <${parent.name}>`)
    if (f.seen.has(t.name)) return this.unexpected(t, parent.name, `one <${t.name}> in <${parent.name}>`)
    f.seen.add(t.name)
    this.checkAttributes(t, ["Hash"])
    this.push("Leaf", t)
  }

  // ------------------------------------------------------------ closing tags

  private close(name: string, text: string, mixed: boolean, at: { line: number; column: number }): void {
    if (this.skip > 0) {
      this.skip--
      return
    }
    const frame = this.stack.pop()!
    if (frame.kind !== "Leaf" && mixed) this.issue(frame.open, frame.name, `only child elements in <${name}>`, "text between them")
    switch (frame.kind) {
      case "Leaf":
        return this.closeLeaf(frame, text)
      case "List":
        return
      case "File": {
        const b = this.blob!
        const f = this.file!
        this.file = undefined
        if (f.status === undefined) return
        const entry: FileEntry<MetadataStatus> = { status: f.status, ...(f.globalPath ? { globalPath: f.globalPath } : {}), ...(f.path ? { path: f.path } : {}) }
        if (name === "Metadata") b.metadata = entry
        else b.properties = entry
        return
      }
      case "Blob": {
        this.startBlob("none")
        const b = this.blob!
        this.blob = undefined
        if (b.broken) return
        this.emit({ _tag: "BlobEnd", ...(b.metadata ? { metadata: b.metadata } : {}), ...(b.properties ? { properties: b.properties } : {}) })
        return
      }
      case "DriveLog":
        if (this.phase === "drive-id") this.issue(at, "DriveLog/DriveId", "a <DriveId> in <DriveLog>", "none")
        if (this.phase !== "after-status") this.issue(at, "DriveLog/Status", "a <Status> as the last child of <DriveLog>", "none")
        this.phase = "closed"
        this.emit({ _tag: "LogEnd" })
        return
    }
  }

  private closeLeaf(frame: Frame, text: string): void {
    const t = frame.open
    const parent = this.stack[this.stack.length - 1]!
    if (parent.kind === "List") {
      if (text.trim() !== "") this.issue(t, frame.name, `no text in <${frame.name}>`, showValue(text))
      else if (frame.range && !this.blob!.broken) this.emit(frame.range)
      return
    }
    if (parent.kind === "File") {
      const f = this.file!
      let hash: string | undefined
      const raw = t.attributes["Hash"]
      if (raw !== undefined) {
        hash = normaliseHex(raw)
        if (!isMd5Hex(hash)) {
          // the log is invalid either way; the reference is kept without its hash
          this.issue(t, `${frame.name}/@Hash`, "a Base16 MD5 hash (32 hex digits)", showValue(raw))
          hash = undefined
        }
      }
      const ref: FileRef = { ...(text !== "" ? { path: text } : {}), ...(hash !== undefined ? { hash } : {}) }
      if (frame.name === "GlobalPath") f.globalPath = ref
      else f.path = ref
      return
    }
    if (parent.kind === "DriveLog") {
      if (frame.name === "DriveId") {
        if (text.trim() === "") this.issue(t, "DriveLog/DriveId", "the drive's serial number", "an empty <DriveId>")
        this.emit({ _tag: "DriveId", value: text })
        this.phase = "blobs"
        return
      }
      // Status
      const s = text.trim()
      this.phase = "after-status"
      if (isDriveStatus(s)) this.emit({ _tag: "DriveStatus", status: s })
      else this.issue(t, "DriveLog/Status", oneOf(driveStatuses, "a drive status"), foundCode(text, driveStatuses))
      return
    }
    // a header element of a Blob
    const b = this.blob!
    const field = `Blob/${frame.name}`
    switch (frame.name) {
      case "BlobPath":
      case "FilePath":
        if (text === "") {
          this.issue(t, field, `a non-empty <${frame.name}>`, "an empty element")
          b.broken = true
        } else if (frame.name === "BlobPath") b.blobPath = text
        else b.filePath = text
        return
      case "Length": {
        const n = parseLength(text)
        if (n === undefined) {
          this.issue(t, field, "the blob's length: a non-negative whole number of bytes", showValue(text))
          b.broken = true
        } else b.length = n
        return
      }
      case "Snapshot":
      case "LastModified": {
        const s = text.trim()
        if (!dateTimePattern.test(s)) {
          this.issue(t, field, "an ISO 8601 date-time such as 2012-09-18T23:47:08Z", showValue(text))
          b.broken = true
        } else if (frame.name === "Snapshot") b.snapshot = s
        else b.lastModified = s
        return
      }
      case "ImportDisposition": {
        const s = text.trim()
        if (isImportDisposition(s)) b.disposition = s
        else {
          this.issue(t, field, oneOf(importDispositions, "an import disposition"), foundCode(text, importDispositions))
          b.broken = true
        }
        return
      }
    }
  }
}

/** Read a copy log from bytes: its events, then a failure listing every issue if it has any. */
export const readCopyLog = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<CopyLogEvent, E | InvalidInput, R> =>
  parseCollecting("copylog", file, bytes, (f) => new CopyLogParser(f))

/** Read a copy log file. `shown` is the path as the user wrote it (used in messages). */
export const readCopyLogFile = (real: string, shown: string = real): Stream.Stream<CopyLogEvent, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  readCopyLog(shown, fileBytes(real, shown))
