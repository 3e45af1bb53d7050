/**
 * The meaning of waie's `.jrn` journal: what each record says about sessions, drives and the
 * files copied, how a journal is appended durably, and how it is read back. The record syntax
 * (time, type, `Key: value` lines, checksum, torn tails) is lib/journal-records.ts.
 *
 * The records, in the order a session writes them (values that may hold any character — paths,
 * blob names — are JSON strings, so every record stays line-based and unambiguous):
 *
 *   NewJournalFile        VocabularyVersion 2013-02-01, Writer, JournalId     (first record)
 *   ActivityRecord        ActivityId PrepImportDriveCommandContext, LogDirectory
 *   ActivityRecord        ActivityId PrepImportDriveCommandContext, StorageAccountKey or
 *                         ContainerSas = *******, CredentialFingerprint (SHA-256, 16 hex)
 *   CopySessionStarted    SessionId, DataSet, DataSetHash, Mounts
 *   DriveAdded            SessionId, DriveId, Root, Name, Format, Encryption, Identity, FreeBytes
 *                         (every drive of the session, the journal's earlier drives included)
 *   BlobListDefined       SessionId, BlobList, Metadata/Properties (source, drive path, hash)
 *   FileStarted           SessionId, File, DriveId, Source, Length, MtimeMs, BlobPath, FilePath,
 *                         BlobType, Disposition, BlobList          (before its data is written)
 *   FileSkipped           SessionId, File, Source, Length, Reason  (fits on no drive)
 *   BlocksDurable         SessionId, File, From, Hashes            (after the data is fsynced)
 *   RangesDurable         SessionId, File, Upto, Ranges            (page blobs; same rule)
 *   FilesCompleted        SessionId, Files                         (after rename + dir fsync)
 *   CopySessionCompleted  SessionId
 *   ActivityRecord        ActivityId DriveInfo, DriveState = the <Drive> XML (key masked),
 *                         SaveCommandOutput Completed              (per drive, after its manifest)
 *
 * and, outside sessions, written by `waie verify --since-journal` when a drive checked clean:
 *
 *   DriveVerified         DriveId, VerifiedUpTo (the journal's length when the check began:
 *                         files completed in records before it were checked), ManifestHash,
 *                         Blobs, Bytes
 *
 * DriveVerified has no SessionId: session replays (phases, resume, abort) do not see it; an
 * abort that cuts the journal back before it forgets it, which only makes the next verify check
 * more. A waie older than the record refuses a journal that holds one (an unknown record type).
 *
 * Secrets never enter the journal: the credential is `*******` with a fingerprint that lets a
 * later session check it was given the same key, and BitLocker keys are masked.
 *
 * Order: every reader of the events checks the vocabulary's sequence rules (JournalOrder, below),
 * because a record's checksum covers that record only: a record moved, duplicated or dropped
 * whole keeps every checksum intact, and the manifest rebuilt from such a journal would silently
 * list the wrong blobs. A chained checksum (each record's covering the previous one's) would
 * catch any such edit, but it was not chosen: it changes the bytes of every journal waie writes
 * (a second format to read for ever, the journals already out there being per-record), a
 * CRC chain is no protection against an edit made on purpose (anyone can recompute it), and it
 * says only *that* the records changed, where the rules say which record breaks which promise
 * PrepImport makes — and they hold every journal, old or new.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Data, Effect, Scope, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, writeFileSync } from "node:fs"
import { type FileUnreadable, type FileUnwritable, InvalidInput } from "./errors.ts"
import { blockSize } from "./blocks.ts"
import { fileBytes, unwritable } from "./files.ts"
import { type JournalChanged, type JournalLocked, lockJournalAsRead } from "./journal-lock.ts"
import { field, FieldProblem as Bad, formatRecord, intField as int, type JournalRecord, journalTime, needField as need, oneOfField as oneOf, readJournalRecords, stringField as str, type TornTail } from "./journal-records.ts"
import { mask } from "./secrets.ts"
import { escapeText } from "./xml.ts"

export const vocabularyVersion = "2013-02-01"
export const writerName = "waie"

export type CredentialKind = "StorageAccountKey" | "ContainerSas"
export type BlobType = "BlockBlob" | "PageBlob"
export type Disposition = "rename" | "no-overwrite" | "overwrite"

/** A metadata or properties file of a blob list, as copied onto the drives. */
export interface FileCopyRef {
  readonly source: string
  /** where it is on a drive, relative to the root, with `\` (the manifest's MetadataPath) */
  readonly path: string
  readonly hash: string
}

export interface PageRangeRef {
  readonly offset: number
  readonly length: number
  readonly hash: string
}

export type JournalEvent =
  | { readonly _tag: "JournalCreated"; readonly journalId: string; readonly writer: string }
  | { readonly _tag: "LogDirectory"; readonly path: string }
  | { readonly _tag: "Credential"; readonly kind: CredentialKind; readonly fingerprint: string }
  | { readonly _tag: "SessionStarted"; readonly sessionId: string; readonly dataSet: string; readonly dataSetHash: string; readonly mounts: ReadonlyArray<string> }
  | {
      readonly _tag: "DriveAdded"
      readonly sessionId: string
      readonly driveId: string
      readonly root: string
      /** as the driveset wrote it: `G` or `/mnt/g` */
      readonly name: string
      readonly format: boolean
      readonly encryption: "Encrypt" | "AlreadyEncrypted"
      readonly identity: "serial" | "file"
      readonly freeBytes: number
    }
  | { readonly _tag: "BlobListDefined"; readonly sessionId: string; readonly blobList: number; readonly metadata?: FileCopyRef; readonly properties?: FileCopyRef }
  | {
      readonly _tag: "FileStarted"
      readonly sessionId: string
      readonly file: number
      readonly driveId: string
      readonly source: string
      readonly length: number
      readonly mtimeMs: number
      readonly blobPath: string
      readonly filePath: string
      readonly blobType: BlobType
      readonly disposition: Disposition
      readonly blobList: number
    }
  | { readonly _tag: "FileSkipped"; readonly sessionId: string; readonly file: number; readonly source: string; readonly length: number; readonly reason: string }
  | { readonly _tag: "BlocksDurable"; readonly sessionId: string; readonly file: number; readonly from: number; readonly hashes: ReadonlyArray<string> }
  | {
      readonly _tag: "RangesDurable"
      readonly sessionId: string
      readonly file: number
      /** the partial file holds the source's bytes up to here durably (ranges skip zero pages, so it says more than the ranges) */
      readonly upto: number
      readonly ranges: ReadonlyArray<PageRangeRef>
    }
  | { readonly _tag: "FilesCompleted"; readonly sessionId: string; readonly files: ReadonlyArray<number> }
  | { readonly _tag: "SessionCompleted"; readonly sessionId: string }
  | { readonly _tag: "DriveInfo"; readonly driveId: string; readonly manifestFile: string; readonly manifestHash: string }
  | {
      readonly _tag: "DriveVerified"
      readonly driveId: string
      /** the journal's length (the end of its last intact record) when the check began */
      readonly verifiedUpTo: number
      /** MD5 of the manifest that was checked */
      readonly manifestHash: string
      /** blobs and their bytes checked (with --since-journal: those written since the previous check) */
      readonly blobs: number
      readonly bytes: number
    }

/** An event read back, with where it stands in the file. */
export type PlacedEvent = JournalEvent & { readonly line: number; readonly offset: number; readonly end: number }

// ---------------------------------------------------------------- encoding

type Fields = Array<readonly [string, string]>

const json = (s: string): string => JSON.stringify(s)
const num = (n: number): string => String(n)
const context = "PrepImportDriveCommandContext"

/** The `<Drive>` document of a DriveInfo record and of the `<DriveId>.xml` file. */
export const driveInfoXml = (driveId: string, bitLockerKey: string, manifestFile: string, manifestHash: string): string =>
  [
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<Drive>",
    `  <DriveId>${escapeText(driveId)}</DriveId>`,
    `  <BitLockerKey>${escapeText(bitLockerKey)}</BitLockerKey>`,
    `  <ManifestFile>${escapeText(manifestFile)}</ManifestFile>`,
    `  <ManifestHash>${escapeText(manifestHash)}</ManifestHash>`,
    "</Drive>",
  ].join("\n")

const ranges = (rs: ReadonlyArray<PageRangeRef>): string => rs.map((r) => `${r.offset}+${r.length}:${r.hash}`).join(",")
const fileRef = (r: FileCopyRef | undefined): string => (r === undefined ? "" : JSON.stringify([r.source, r.path, r.hash]))

/** The record type and fields of an event. */
export const encodeEvent = (e: JournalEvent): readonly [string, Fields] => {
  switch (e._tag) {
    case "JournalCreated":
      return ["NewJournalFile", [["VocabularyVersion", vocabularyVersion], ["Writer", e.writer], ["JournalId", e.journalId]]]
    case "LogDirectory":
      return ["ActivityRecord", [["ActivityId", context], ["LogDirectory", json(e.path)]]]
    case "Credential":
      return ["ActivityRecord", [["ActivityId", context], [e.kind, mask], ["CredentialFingerprint", e.fingerprint]]]
    case "SessionStarted":
      return ["CopySessionStarted", [["SessionId", e.sessionId], ["DataSet", json(e.dataSet)], ["DataSetHash", e.dataSetHash], ["Mounts", JSON.stringify(e.mounts)]]]
    case "DriveAdded":
      return [
        "DriveAdded",
        [
          ["SessionId", e.sessionId],
          ["DriveId", json(e.driveId)],
          ["Root", json(e.root)],
          ["Name", json(e.name)],
          ["Format", e.format ? "Format" : "AlreadyFormatted"],
          ["Encryption", e.encryption],
          ["Identity", e.identity],
          ["FreeBytes", num(e.freeBytes)],
        ],
      ]
    case "BlobListDefined":
      return ["BlobListDefined", [["SessionId", e.sessionId], ["BlobList", num(e.blobList)], ["Metadata", fileRef(e.metadata)], ["Properties", fileRef(e.properties)]]]
    case "FileStarted":
      return [
        "FileStarted",
        [
          ["SessionId", e.sessionId],
          ["File", num(e.file)],
          ["DriveId", json(e.driveId)],
          ["Source", json(e.source)],
          ["Length", num(e.length)],
          ["MtimeMs", num(e.mtimeMs)],
          ["BlobPath", json(e.blobPath)],
          ["FilePath", json(e.filePath)],
          ["BlobType", e.blobType],
          ["Disposition", e.disposition],
          ["BlobList", num(e.blobList)],
        ],
      ]
    case "FileSkipped":
      return ["FileSkipped", [["SessionId", e.sessionId], ["File", num(e.file)], ["Source", json(e.source)], ["Length", num(e.length)], ["Reason", json(e.reason)]]]
    case "BlocksDurable":
      return ["BlocksDurable", [["SessionId", e.sessionId], ["File", num(e.file)], ["From", num(e.from)], ["Hashes", e.hashes.join(",")]]]
    case "RangesDurable":
      return ["RangesDurable", [["SessionId", e.sessionId], ["File", num(e.file)], ["Upto", num(e.upto)], ["Ranges", ranges(e.ranges)]]]
    case "FilesCompleted":
      return ["FilesCompleted", [["SessionId", e.sessionId], ["Files", e.files.join(",")]]]
    case "SessionCompleted":
      return ["CopySessionCompleted", [["SessionId", e.sessionId]]]
    case "DriveInfo":
      return ["ActivityRecord", [["ActivityId", "DriveInfo"], ["DriveState", driveInfoXml(e.driveId, mask, e.manifestFile, e.manifestHash)], ["SaveCommandOutput", "Completed"]]]
    case "DriveVerified":
      return ["DriveVerified", [["DriveId", json(e.driveId)], ["VerifiedUpTo", num(e.verifiedUpTo)], ["ManifestHash", e.manifestHash], ["Blobs", num(e.blobs)], ["Bytes", num(e.bytes)]]]
  }
}

/** The text of an event as one record (with its checksum). */
export const formatEvent = (time: string, e: JournalEvent): string => {
  const [type, fields] = encodeEvent(e)
  return formatRecord(time, type, fields)
}

// ---------------------------------------------------------------- decoding

const hex32 = /^[0-9A-F]{32}$/
const hashes = (r: JournalRecord, key: string): Array<string> => {
  const v = need(r, key)
  const hs = v === "" ? [] : v.split(",")
  for (const h of hs) if (!hex32.test(h)) throw new Bad(key, "MD5 hashes (32 upper-case hex digits) separated by commas", JSON.stringify(h.slice(0, 40)))
  return hs
}
const rangeList = (r: JournalRecord, key: string): Array<PageRangeRef> => {
  const v = need(r, key)
  if (v === "") return []
  return v.split(",").map((part) => {
    const m = /^(\d{1,16})\+(\d{1,8}):([0-9A-F]{32})$/.exec(part)
    if (!m) throw new Bad(key, "ranges offset+length:hash separated by commas", JSON.stringify(part.slice(0, 60)))
    return { offset: Number(m[1]), length: Number(m[2]), hash: m[3]! }
  })
}
const optRef = (r: JournalRecord, key: string): FileCopyRef | undefined => {
  const v = need(r, key)
  if (v === "") return undefined
  try {
    const a = JSON.parse(v) as unknown
    if (Array.isArray(a) && a.length === 3 && a.every((x) => typeof x === "string") && hex32.test(a[2] as string)) return { source: a[0] as string, path: a[1] as string, hash: a[2] as string }
  } catch {
    // fall through
  }
  throw new Bad(key, "a JSON array [source, drive path, MD5]", JSON.stringify(v.slice(0, 60)))
}
const intList = (r: JournalRecord, key: string): Array<number> => {
  const v = need(r, key)
  if (!/^\d{1,16}(,\d{1,16})*$/.test(v)) throw new Bad(key, "file numbers separated by commas", JSON.stringify(v.slice(0, 60)))
  return v.split(",").map(Number)
}
const stringList = (r: JournalRecord, key: string): Array<string> => {
  const v = need(r, key)
  try {
    const a = JSON.parse(v) as unknown
    if (Array.isArray(a) && a.every((x) => typeof x === "string")) return a as Array<string>
  } catch {
    // fall through
  }
  throw new Bad(key, "a JSON array of strings", JSON.stringify(v.slice(0, 60)))
}

const driveInfoFromXml = (xml: string): { driveId: string; manifestFile: string; manifestHash: string } => {
  const get = (name: string): string => {
    const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
    if (!m) throw new Bad("DriveState", `a <${name}> element`, "none")
    return m[1]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#13;/g, "\r").replace(/&amp;/g, "&")
  }
  return { driveId: get("DriveId"), manifestFile: get("ManifestFile"), manifestHash: get("ManifestHash") }
}

/** The event a record states; throws Bad on a malformed one. */
const decodeRecord = (r: JournalRecord): JournalEvent => {
  switch (r.type) {
    case "NewJournalFile":
      return { _tag: "JournalCreated", journalId: need(r, "JournalId"), writer: need(r, "Writer") }
    case "ActivityRecord": {
      const activity = need(r, "ActivityId")
      if (activity === "DriveInfo") return { _tag: "DriveInfo", ...driveInfoFromXml(need(r, "DriveState")) }
      if (activity !== context) throw new Bad("ActivityId", `${context} or DriveInfo`, JSON.stringify(activity))
      if (field(r, "LogDirectory") !== undefined) return { _tag: "LogDirectory", path: str(r, "LogDirectory") }
      const kind: CredentialKind = field(r, "StorageAccountKey") !== undefined ? "StorageAccountKey" : "ContainerSas"
      need(r, kind)
      return { _tag: "Credential", kind, fingerprint: need(r, "CredentialFingerprint") }
    }
    case "CopySessionStarted":
      return { _tag: "SessionStarted", sessionId: need(r, "SessionId"), dataSet: str(r, "DataSet"), dataSetHash: need(r, "DataSetHash"), mounts: stringList(r, "Mounts") }
    case "DriveAdded":
      return {
        _tag: "DriveAdded",
        sessionId: need(r, "SessionId"),
        driveId: str(r, "DriveId"),
        root: str(r, "Root"),
        name: str(r, "Name"),
        format: oneOf(r, "Format", ["Format", "AlreadyFormatted"]) === "Format",
        encryption: oneOf(r, "Encryption", ["Encrypt", "AlreadyEncrypted"]),
        identity: oneOf(r, "Identity", ["serial", "file"]),
        freeBytes: int(r, "FreeBytes"),
      }
    case "BlobListDefined": {
      const metadata = optRef(r, "Metadata")
      const properties = optRef(r, "Properties")
      return { _tag: "BlobListDefined", sessionId: need(r, "SessionId"), blobList: int(r, "BlobList"), ...(metadata ? { metadata } : {}), ...(properties ? { properties } : {}) }
    }
    case "FileStarted":
      return {
        _tag: "FileStarted",
        sessionId: need(r, "SessionId"),
        file: int(r, "File"),
        driveId: str(r, "DriveId"),
        source: str(r, "Source"),
        length: int(r, "Length"),
        mtimeMs: int(r, "MtimeMs"),
        blobPath: str(r, "BlobPath"),
        filePath: str(r, "FilePath"),
        blobType: oneOf(r, "BlobType", ["BlockBlob", "PageBlob"]),
        disposition: oneOf(r, "Disposition", ["rename", "no-overwrite", "overwrite"]),
        blobList: int(r, "BlobList"),
      }
    case "FileSkipped":
      return { _tag: "FileSkipped", sessionId: need(r, "SessionId"), file: int(r, "File"), source: str(r, "Source"), length: int(r, "Length"), reason: str(r, "Reason") }
    case "BlocksDurable":
      return { _tag: "BlocksDurable", sessionId: need(r, "SessionId"), file: int(r, "File"), from: int(r, "From"), hashes: hashes(r, "Hashes") }
    case "RangesDurable":
      return { _tag: "RangesDurable", sessionId: need(r, "SessionId"), file: int(r, "File"), upto: int(r, "Upto"), ranges: rangeList(r, "Ranges") }
    case "FilesCompleted":
      return { _tag: "FilesCompleted", sessionId: need(r, "SessionId"), files: intList(r, "Files") }
    case "CopySessionCompleted":
      return { _tag: "SessionCompleted", sessionId: need(r, "SessionId") }
    case "DriveVerified": {
      const manifestHash = need(r, "ManifestHash")
      if (!hex32.test(manifestHash)) throw new Bad("ManifestHash", "an MD5 (32 upper-case hex digits)", JSON.stringify(manifestHash.slice(0, 40)))
      return { _tag: "DriveVerified", driveId: str(r, "DriveId"), verifiedUpTo: int(r, "VerifiedUpTo"), manifestHash, blobs: int(r, "Blobs"), bytes: int(r, "Bytes") }
    }
    default:
      throw new Bad("Type", "a record type this version of waie writes", JSON.stringify(r.type))
  }
}

// ---------------------------------------------------------------- the order of records

/** One started file, until its FilesCompleted: what is durable of it so far. */
interface InFlight {
  readonly blockBlob: boolean
  readonly length: number
  /** block blobs: blocks durable (the next BlocksDurable's From) */
  blocks: number
  /** page blobs: bytes durable (Upto) */
  upto: number
}

interface OpenSession {
  readonly sessionId: string
  readonly line: number
  completed: boolean
  readonly drives: Set<string>
  /** blob lists defined so far: the next BlobListDefined's number */
  blobLists: number
  /** the next file number the first pass over the dataset records */
  nextFile: number
  /** one bit per file number: recorded as fitting nowhere and not placed since */
  skipped: Uint8Array
  skippedCount: number
  readonly inFlight: Map<number, InFlight>
  /** 0, then one more for each group of DriveAdded records after other records (/AdditionalDriveSet) */
  phase: number
  lastWasDrive: boolean
}

const blocksOf = (length: number): number => Math.ceil(length / blockSize)

/**
 * The order rules of waie's vocabulary. Checksums are per record, so a record moved, duplicated
 * or dropped whole passes them; what the records mean does not: a session's files are numbered
 * in dataset order from 0, each recorded once as started or skipped (a later phase starts only
 * skipped ones), a file's blocks are recorded in order from where the durable ones end, and so on
 * (below). PrepImport writes only journals that keep these rules (a crash cuts a journal at a
 * record, a resume continues where the records stop, an abort cuts a whole session off), so a
 * record that breaks one is damage. The memory kept is per session and per drive, the files in
 * flight (started, not yet completed: a batch, or a crash's few) and one bit per file number of
 * the latest session.
 */
export class JournalOrder {
  private readonly sessionIds = new Set<string>()
  private readonly drives = new Set<string>()
  private session: OpenSession | undefined
  private records = 0
  private logDirectory = false
  private credential = false

  /** Check the next event; throws Bad when it breaks a rule. */
  check(e: PlacedEvent): void {
    const offset = e.offset
    this.records++
    switch (e._tag) {
      case "JournalCreated":
        if (this.records > 1) throw new Bad("Type", "one NewJournalFile record, the journal's first", "another")
        return
      case "LogDirectory":
        if (this.logDirectory) throw new Bad("LogDirectory", "one LogDirectory record (the log folder is given once, with the first session)", "a second one")
        this.logDirectory = true
        return
      case "Credential":
        if (this.credential) throw new Bad("CredentialFingerprint", "one credential record (the journal keeps the first session's key)", "a second one")
        this.credential = true
        return
      case "SessionStarted": {
        if (this.sessionIds.has(e.sessionId)) throw new Bad("SessionId", "a session id new to the journal (one CopySessionStarted per session)", `${JSON.stringify(e.sessionId)} again`)
        const before = this.session
        if (before !== undefined && !before.completed) throw new Bad("SessionId", `session ${JSON.stringify(before.sessionId)} (line ${before.line}) completed before another starts`, `it not completed`)
        this.sessionIds.add(e.sessionId)
        this.session = { sessionId: e.sessionId, line: e.line, completed: false, drives: new Set(), blobLists: 0, nextFile: 0, skipped: new Uint8Array(0), skippedCount: 0, inFlight: new Map(), phase: 0, lastWasDrive: true }
        return
      }
      case "DriveInfo":
        if (!this.drives.has(e.driveId)) throw new Bad("DriveState", "the DriveId of a drive the journal added (DriveAdded)", JSON.stringify(e.driveId))
        return
      case "DriveVerified":
        if (!this.drives.has(e.driveId)) throw new Bad("DriveId", "a drive the journal added (DriveAdded)", JSON.stringify(e.driveId))
        if (e.verifiedUpTo > offset) throw new Bad("VerifiedUpTo", `at most ${offset} (the record's own offset: a check is recorded after it began)`, String(e.verifiedUpTo))
        return
      default:
        break
    }
    const s = this.session
    if (s === undefined || s.sessionId !== e.sessionId) {
      throw new Bad("SessionId", s === undefined ? "a session started before (CopySessionStarted)" : `the latest session, ${JSON.stringify(s.sessionId)} (records of a session follow its start, and a later session starts only when it completed)`, JSON.stringify(e.sessionId))
    }
    if (s.completed) throw new Bad("SessionId", `a session still going (session ${JSON.stringify(s.sessionId)} completed)`, "a record after its CopySessionCompleted")
    if (e._tag === "DriveAdded") {
      if (!s.lastWasDrive) s.phase++
      s.lastWasDrive = true
    } else s.lastWasDrive = false
    switch (e._tag) {
      case "DriveAdded":
        if (s.drives.has(e.driveId)) throw new Bad("DriveId", "a drive not yet in the session (one DriveAdded per drive and session)", `${JSON.stringify(e.driveId)} again`)
        if (s.phase > 0 && this.drives.has(e.driveId)) throw new Bad("DriveId", "a drive new to the journal (/AdditionalDriveSet adds new drives)", `${JSON.stringify(e.driveId)}, a drive the journal has`)
        s.drives.add(e.driveId)
        this.drives.add(e.driveId)
        return
      case "BlobListDefined":
        if (e.blobList !== s.blobLists) throw new Bad("BlobList", `${s.blobLists} (a session's blob lists are numbered from 0 and defined once each)`, String(e.blobList))
        s.blobLists++
        return
      case "FileStarted": {
        if (!s.drives.has(e.driveId)) throw new Bad("DriveId", "a drive of the session (DriveAdded before FileStarted on it)", JSON.stringify(e.driveId))
        if (e.blobList >= s.blobLists) throw new Bad("BlobList", `a blob list defined before it (${s.blobLists === 0 ? "none is yet" : s.blobLists === 1 ? "BlobListDefined 0" : `BlobListDefined 0 to ${s.blobLists - 1}`})`, String(e.blobList))
        if (e.file === s.nextFile) s.nextFile++
        else if (s.phase > 0 && this.isSkipped(s, e.file)) this.setSkipped(s, e.file, false)
        else throw new Bad("File", this.nextFiles(s), String(e.file))
        s.inFlight.set(e.file, { blockBlob: e.blobType === "BlockBlob", length: e.length, blocks: 0, upto: 0 })
        return
      }
      case "FileSkipped":
        // a drive that ran out of space leaves its files in flight (and the one being placed) to a later phase (PrepImport's DriveFull)
        if (e.reason.startsWith("drive full: ") && s.inFlight.has(e.file)) {
          s.inFlight.delete(e.file)
          this.setSkipped(s, e.file, true)
          return
        }
        if (e.reason.startsWith("drive full: ") && s.phase > 0 && this.isSkipped(s, e.file)) return
        if (e.file !== s.nextFile) throw new Bad("File", `file ${s.nextFile} (the files of a session are recorded in order, from 0)`, String(e.file))
        s.nextFile++
        this.setSkipped(s, e.file, true)
        return
      case "BlocksDurable": {
        const f = this.started(s, e.file)
        if (!f.blockBlob) throw new Bad("Type", "RangesDurable (the file is a page blob)", "BlocksDurable")
        if (e.from !== f.blocks) throw new Bad("From", `${f.blocks} (the blocks of file ${e.file} durable so far: a file's blocks are recorded in order)`, String(e.from))
        f.blocks += e.hashes.length
        if (f.blocks > blocksOf(f.length)) throw new Bad("Hashes", `at most ${blocksOf(f.length)} blocks for file ${e.file} (${f.length} bytes)`, `${f.blocks} so far`)
        return
      }
      case "RangesDurable": {
        const f = this.started(s, e.file)
        if (f.blockBlob) throw new Bad("Type", "BlocksDurable (the file is a block blob)", "RangesDurable")
        if (e.upto < f.upto || e.upto > f.length) throw new Bad("Upto", `${f.upto} to ${f.length} (what is durable of file ${e.file} only grows, up to its length)`, String(e.upto))
        let at = f.upto
        for (const r of e.ranges) {
          if (r.offset < at || r.offset + r.length > e.upto) throw new Bad("Ranges", `ranges in order between ${f.upto} (durable before) and ${e.upto} (Upto)`, `${r.offset}+${r.length}`)
          at = r.offset + r.length
        }
        f.upto = e.upto
        return
      }
      case "FilesCompleted":
        for (const file of e.files) {
          const f = this.started(s, file)
          if (f.blockBlob ? f.blocks !== blocksOf(f.length) : f.upto !== f.length) {
            throw new Bad("Files", `files whose data is all durable (file ${file}: ${f.blockBlob ? `${blocksOf(f.length)} blocks` : `${f.length} bytes`})`, f.blockBlob ? `${f.blocks} blocks` : `${f.upto} bytes`)
          }
          s.inFlight.delete(file)
        }
        return
      case "SessionCompleted": {
        const open = s.inFlight.keys().next()
        if (!open.done) throw new Bad("SessionId", "a session whose started files all completed", `file ${open.value} not completed (${s.inFlight.size} in all)`)
        if (s.skippedCount > 0) throw new Bad("SessionId", "a session whose files were all placed", `${s.skippedCount} skipped (fitting on no drive) and never placed`)
        s.completed = true
        return
      }
    }
  }

  private started(s: OpenSession, file: number): InFlight {
    const f = s.inFlight.get(file)
    if (f === undefined) throw new Bad("File", `a file started and not yet completed (FileStarted before, FilesCompleted after)`, file < s.nextFile ? `file ${file}, ${this.isSkipped(s, file) ? "skipped" : "not in flight"}` : `file ${file}, never started`)
    return f
  }

  private nextFiles(s: OpenSession): string {
    const next = `file ${s.nextFile} (the files of a session are recorded in order, from 0)`
    return s.phase > 0 && s.skippedCount > 0 ? `${next}, or a file recorded as skipped (${s.skippedCount} are)` : next
  }

  private isSkipped(s: OpenSession, file: number): boolean {
    return ((s.skipped[file >>> 3] ?? 0) & (1 << (file & 7))) !== 0
  }

  private setSkipped(s: OpenSession, file: number, on: boolean): void {
    const byte = file >>> 3
    if (byte >= s.skipped.length) {
      if (!on) return
      const grown = new Uint8Array(Math.max(byte + 1, s.skipped.length * 2, 64))
      grown.set(s.skipped)
      s.skipped = grown
    }
    const was = this.isSkipped(s, file)
    if (on && !was) s.skippedCount++
    if (!on && was) s.skippedCount--
    s.skipped[byte] = on ? s.skipped[byte]! | (1 << (file & 7)) : s.skipped[byte]! & ~(1 << (file & 7))
  }
}

/**
 * A waie journal's events, streaming, each with its line and byte offsets. The first record must
 * be waie's NewJournalFile; a torn last record ends the stream with the TornTail (the caller
 * decides: readers ignore it, a writer cuts it off before appending).
 */
export const readJournal = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<PlacedEvent | TornTail, E | InvalidInput, R> =>
  Stream.suspend(() => {
    let first = true
    const order = new JournalOrder()
    return readJournalRecords(file, bytes).pipe(
      Stream.mapEffect((entry): Effect.Effect<PlacedEvent | TornTail, InvalidInput> => {
        if (entry._tag === "TornTail") return Effect.succeed(entry)
        try {
          const event = decodeRecord(entry)
          if (first && (event._tag !== "JournalCreated" || event.writer.split(" ")[0] !== writerName)) {
            throw new Bad("Writer", `a journal written by waie (NewJournalFile with Writer: ${writerName} …)`, event._tag === "JournalCreated" ? JSON.stringify(event.writer) : `a ${entry.type} record first`)
          }
          first = false
          const placed = { ...event, line: entry.line ?? 0, offset: entry.offset ?? 0, end: entry.end ?? 0 } as PlacedEvent
          order.check(placed)
          return Effect.succeed(placed)
        } catch (e) {
          if (e instanceof Bad) return Effect.fail(new InvalidInput({ format: "journal", file, issues: [{ file, line: entry.line ?? 0, field: e.fieldName, expected: e.expected, found: e.found }] }))
          return Effect.die(e)
        }
      }),
    )
  })

export const readJournalFile = (real: string, shown: string = real) => readJournal(shown, fileBytes(real, shown))

// ---------------------------------------------------------------- the state a journal describes

export interface SessionState {
  readonly sessionId: string
  readonly dataSet: string
  readonly dataSetHash: string
  readonly mounts: ReadonlyArray<string>
  /** byte offset of its CopySessionStarted record (an abort truncates the journal here) */
  readonly offset: number
  completed: boolean
  filesStarted: number
  filesSkipped: number
  filesCompleted: number
  bytesStarted: number
  /** the session's drives, in placement order */
  readonly drives: Array<string>
  /** each drive's free bytes when the session started (placement works from these) */
  readonly freeBytes: Map<string, number>
  /** 0, then one more for each group of drives added to the session (/AdditionalDriveSet) */
  phase: number
  lastWasDrive: boolean
}

export interface DriveState {
  readonly driveId: string
  readonly root: string
  readonly name: string
  readonly sessionAdded: string
  readonly format: boolean
  readonly encryption: "Encrypt" | "AlreadyEncrypted"
  readonly identity: "serial" | "file"
  readonly freeBytes: number
  manifestHash?: string
  manifestFile?: string
  /** the latest DriveVerified of the drive: the journal length it checked up to */
  verifiedUpTo?: number
}

export interface JournalState {
  readonly journalId: string
  readonly writer: string
  logDirectory?: string
  credential?: { readonly kind: CredentialKind; readonly fingerprint: string }
  readonly sessions: Array<SessionState>
  readonly drives: Map<string, DriveState>
  /** where appending continues: the end of the last intact record */
  end: number
  tornTail?: TornTail
}

/** Fold one event into the state (bounded: per session and per drive, never per file). */
export const applyEvent = (state: JournalState | undefined, e: PlacedEvent): JournalState => {
  if (state === undefined) {
    if (e._tag !== "JournalCreated") throw new Error("a journal starts with JournalCreated")
    return { journalId: e.journalId, writer: e.writer, sessions: [], drives: new Map(), end: e.end }
  }
  state.end = e.end
  const session = state.sessions[state.sessions.length - 1]
  if (session && "sessionId" in e && e.sessionId === session.sessionId && e._tag !== "SessionStarted") {
    if (e._tag === "DriveAdded") {
      if (!session.lastWasDrive) session.phase++
      session.lastWasDrive = true
    } else session.lastWasDrive = false
  }
  switch (e._tag) {
    case "LogDirectory":
      state.logDirectory = e.path
      break
    case "Credential":
      state.credential = { kind: e.kind, fingerprint: e.fingerprint }
      break
    case "SessionStarted":
      state.sessions.push({ sessionId: e.sessionId, dataSet: e.dataSet, dataSetHash: e.dataSetHash, mounts: e.mounts, offset: e.offset, completed: false, filesStarted: 0, filesSkipped: 0, filesCompleted: 0, bytesStarted: 0, drives: [], freeBytes: new Map(), phase: 0, lastWasDrive: true })
      break
    case "DriveAdded":
      // a drive is recorded in every session that uses it; it joined the journal in the first
      if (!state.drives.has(e.driveId)) state.drives.set(e.driveId, { driveId: e.driveId, root: e.root, name: e.name, sessionAdded: e.sessionId, format: e.format, encryption: e.encryption, identity: e.identity, freeBytes: e.freeBytes })
      if (session && !session.freeBytes.has(e.driveId)) session.drives.push(e.driveId)
      session?.freeBytes.set(e.driveId, e.freeBytes)
      break
    case "FileStarted":
      if (session) {
        session.filesStarted++
        session.bytesStarted += e.length
        // a later phase places only files an earlier one recorded as fitting nowhere
        if (session.phase > 0) session.filesSkipped--
      }
      break
    case "FileSkipped":
      if (session) session.filesSkipped++
      break
    case "FilesCompleted":
      if (session) session.filesCompleted += e.files.length
      break
    case "SessionCompleted":
      if (session) session.completed = true
      break
    case "DriveInfo": {
      const d = state.drives.get(e.driveId)
      if (d) {
        d.manifestHash = e.manifestHash
        d.manifestFile = e.manifestFile
      }
      break
    }
    case "DriveVerified": {
      const d = state.drives.get(e.driveId)
      if (d) d.verifiedUpTo = e.verifiedUpTo
      break
    }
    default:
      break
  }
  return state
}

/** Replay a whole journal into its state. */
export const replayJournal = (real: string, shown: string = real): Effect.Effect<JournalState, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    let state: JournalState | undefined
    let torn: TornTail | undefined
    yield* Stream.runForEach(readJournalFile(real, shown), (e) =>
      Effect.sync(() => {
        if (e._tag === "TornTail") torn = e
        else state = applyEvent(state, e)
      }),
    )
    if (state === undefined) {
      return yield* Effect.fail(new InvalidInput({ format: "journal", file: shown, issues: [{ file: shown, line: 1, expected: "a journal written by waie", found: torn ? "only a torn first record" : "an empty file" }] }))
    }
    if (torn) state.tornTail = torn
    return state
  })

// ---------------------------------------------------------------- writing

export const newJournalId = (): string => randomBytes(16).toString("hex").toUpperCase()

/** A credential's fingerprint: enough to tell two keys apart, nothing to recover one from. */
export const credentialFingerprint = (secret: string): string => createHash("sha256").update("waie-credential\0").update(secret).digest("hex").slice(0, 16).toUpperCase()

export class JournalWriteFailed extends Data.TaggedError("JournalWriteFailed")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: the journal could not be written: ${this.reason}`
  }
}

/**
 * Crash tests: with `WAIE_TEST_KILL_AT=N` in the environment, the process kills itself (SIGKILL,
 * no clean-up of any kind) right after its N-th append to a journal — a crash at a point a test
 * can name and repeat. Unset, this costs one comparison per append.
 */
const killAt = Number(process.env["WAIE_TEST_KILL_AT"] ?? "0")
let appends = 0
/** In-process tests (the model-based property) crash a run by a defect instead of a signal. */
let simulatedCrashAt = 0
export class SimulatedCrash extends Error {
  constructor(readonly at: number) {
    super(`simulated crash after journal append ${at}`)
  }
}
/** Make the `n`-th journal append from now throw SimulatedCrash (0: never). Tests only. */
export const simulateCrashAfterAppends = (n: number): void => {
  simulatedCrashAt = n
  appends = 0
}
/**
 * Concurrency tests: with `WAIE_TEST_PAUSE_AT=N` and `WAIE_TEST_PAUSE_FILE=F`, the process writes
 * its pid to F right after its N-th append and stands still (event loop and all, as on a stalled
 * disk), holding its locks, until F is removed.
 */
const pauseAt = Number(process.env["WAIE_TEST_PAUSE_AT"] ?? "0")
const pauseFile = process.env["WAIE_TEST_PAUSE_FILE"]
const pauseUntilRemoved = (file: string): void => {
  writeFileSync(file, String(process.pid))
  const cell = new Int32Array(new SharedArrayBuffer(4))
  while (existsSync(file)) Atomics.wait(cell, 0, 0, 20)
}
const crashPoint = (): void => {
  appends++
  if (killAt > 0 && appends === killAt) process.kill(process.pid, "SIGKILL")
  if (pauseAt > 0 && appends === pauseAt && pauseFile !== undefined) pauseUntilRemoved(pauseFile)
  if (simulatedCrashAt > 0 && appends === simulatedCrashAt) throw new SimulatedCrash(appends)
}

export interface JournalWriter {
  /** append events; with `sync`, they are durable when this succeeds */
  readonly append: (events: ReadonlyArray<JournalEvent>, options?: { readonly sync?: boolean }) => Effect.Effect<void, FileUnwritable>
  readonly sync: Effect.Effect<void, FileUnwritable>
}

/**
 * Open a journal for appending, under its lock (lib/journal-lock.ts), at `from` bytes (the end of its last intact record: anything
 * after it — a torn record — is cut off first, so that appending never buries damage). Times
 * come from the Clock, so tests can fix them.
 */
export const openJournalWriter = (real: string, from: number, shown: string = real): Effect.Effect<JournalWriter, FileUnwritable | JournalLocked | JournalChanged, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = unwritable(shown)
    // a caller that did not lock the journal before reading it locks it now, and checks nobody appended meanwhile
    yield* lockJournalAsRead(real, from, shown)
    const exists = yield* fs.exists(real).pipe(Effect.mapError(fail))
    if (!exists) yield* fs.writeFile(real, new Uint8Array(0), { mode: 0o600 }).pipe(Effect.mapError(fail))
    yield* fs.truncate(real, from).pipe(Effect.mapError(fail))
    const file = yield* fs.open(real, { flag: "a" }).pipe(Effect.mapError(fail))
    const encoder = new TextEncoder()
    const sync = file.sync.pipe(Effect.mapError(fail))
    const append = (events: ReadonlyArray<JournalEvent>, options?: { readonly sync?: boolean }) =>
      Effect.gen(function* () {
        if (events.length === 0) return
        const now = yield* Clock.currentTimeMillis
        const time = journalTime(now)
        const text = events.map((e) => formatEvent(time, e)).join("")
        yield* file.writeAll(encoder.encode(text)).pipe(Effect.mapError(fail))
        if (options?.sync) yield* sync
        crashPoint()
      })
    return { append, sync }
  })
