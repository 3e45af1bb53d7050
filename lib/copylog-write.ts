/**
 * Copy-log writer: a pure incremental serializer (one event in, its text out) and a file writer
 * that streams the text to a temp file and renames it into place.
 *
 * The bytes: `<?xml version="1.0" encoding="utf-8"?>` (lower-case `utf-8`, as in the service's
 * samples), `<DriveLog Version="2014-11-01">`, two spaces per level, LF line ends, a final LF.
 * Blob children in the §1.2 order (BlobPath, FilePath, Snapshot, Length, LastModified,
 * ImportDisposition, list, Metadata, Properties); range attributes in the order Offset, Length,
 * Id, Hash, Status; a range closes as `"/>` (as in the §1.5 import sample) and an empty
 * container as `<BlockList />`, `<Properties Status="Failed" />` (as in the export sample).
 * The sample of §1.5 comes out byte for byte.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Stream } from "effect"
import type { FileUnwritable } from "./errors.ts"
import { escapeAttr, escapeText, hasCharsXmlCannotHold, xmlDeclarationFor } from "./xml.ts"
import {
  type BlobStart,
  blobStatuses,
  type CopyLogEvent,
  copyLogVersion,
  dispositionStatuses,
  driveStatuses,
  type FileEntry,
  type FileRef,
  fileStatuses,
  importDispositions,
  type Range,
  rangeStatuses,
} from "./copylog-model.ts"
import { writeTextAtomically } from "./write-atomic.ts"

export const copyLogDeclaration = xmlDeclarationFor("utf-8")

/** A caller broke the event grammar or gave a value the format cannot carry: a bug, not bad input. */
export class CopyLogWriteError extends Error {}

const text = (what: string, s: string): string => {
  if (hasCharsXmlCannotHold(s)) throw new CopyLogWriteError(`${what}: ${JSON.stringify(s)} holds characters XML 1.0 cannot carry`)
  return escapeText(s)
}

const attr = (what: string, s: string): string => {
  if (hasCharsXmlCannotHold(s)) throw new CopyLogWriteError(`${what}: ${JSON.stringify(s)} holds characters XML 1.0 cannot carry`)
  return escapeAttr(s)
}

const count = (what: string, n: number): string => {
  if (!Number.isSafeInteger(n) || n < 0) throw new CopyLogWriteError(`${what}: expected a non-negative whole number, got ${n}`)
  return String(n)
}

const code = (what: string, all: ReadonlyArray<string>, s: string): string => {
  if (!all.includes(s)) throw new CopyLogWriteError(`${what}: ${JSON.stringify(s)} is not one of ${all.join(", ")}`)
  return s
}

const fileRef = (element: string, ref: FileRef): string => {
  const hash = ref.hash !== undefined ? ` Hash="${attr(`${element}/@Hash`, ref.hash)}"` : ""
  return ref.path !== undefined ? `      <${element}${hash}>${text(element, ref.path)}</${element}>\n` : `      <${element}${hash} />\n`
}

const fileEntry = (element: "Metadata" | "Properties", e: FileEntry<string>): string => {
  const open = `    <${element} Status="${code(`${element}/@Status`, fileStatuses, e.status)}"`
  if (e.globalPath === undefined && e.path === undefined) return `${open} />\n`
  return `${open}>\n${e.globalPath ? fileRef("GlobalPath", e.globalPath) : ""}${e.path ? fileRef("Path", e.path) : ""}    </${element}>\n`
}

const range = (r: Range): string => {
  const id = r._tag === "Block" && r.id !== undefined ? ` Id="${attr("Block/@Id", r.id)}"` : ""
  const hash = r.hash !== undefined ? ` Hash="${attr(`${r._tag}/@Hash`, r.hash)}"` : ""
  return `      <${r._tag} Offset="${count(`${r._tag}/@Offset`, r.offset)}" Length="${count(`${r._tag}/@Length`, r.length)}"${id}${hash} Status="${code(`${r._tag}/@Status`, rangeStatuses, r.status)}"/>\n`
}

const blobHeader = (b: BlobStart): string => {
  let s = `  <Blob Status="${code("Blob/@Status", blobStatuses, b.status)}">\n`
  s += `    <BlobPath>${text("BlobPath", b.blobPath)}</BlobPath>\n`
  s += `    <FilePath>${text("FilePath", b.filePath)}</FilePath>\n`
  if (b.snapshot !== undefined) s += `    <Snapshot>${text("Snapshot", b.snapshot)}</Snapshot>\n`
  s += `    <Length>${count("Length", b.length)}</Length>\n`
  if (b.lastModified !== undefined) s += `    <LastModified>${text("LastModified", b.lastModified)}</LastModified>\n`
  if (b.importDisposition !== undefined) {
    const d = b.importDisposition
    s += `    <ImportDisposition Status="${code("ImportDisposition/@Status", dispositionStatuses, d.status)}">${code("ImportDisposition", importDispositions, d.value)}</ImportDisposition>\n`
  }
  return s
}

/**
 * Serializes one event at a time and checks that the events follow the grammar
 * `LogStart DriveId (BlobStart Range* BlobEnd)* DriveStatus LogEnd`.
 */
export class CopyLogSerializer {
  private state: "start" | "drive-id" | "blobs" | "blob" | "status" | "end" | "done" = "start"
  private list: BlobStart["list"] = "none"
  private ranges = 0

  write(e: CopyLogEvent): string {
    const expect = (ok: boolean, what: string) => {
      if (!ok) throw new CopyLogWriteError(`copy log events out of order: ${e._tag} where ${what} was expected`)
    }
    switch (e._tag) {
      case "LogStart":
        expect(this.state === "start", this.expected())
        if (e.version !== undefined && e.version !== copyLogVersion) throw new CopyLogWriteError(`waie writes copy logs of Version ${copyLogVersion} only, not ${JSON.stringify(e.version)}`)
        this.state = "drive-id"
        return `${copyLogDeclaration}<DriveLog Version="${copyLogVersion}">\n`
      case "DriveId":
        expect(this.state === "drive-id", this.expected())
        this.state = "blobs"
        return `  <DriveId>${text("DriveId", e.value)}</DriveId>\n`
      case "BlobStart":
        expect(this.state === "blobs", this.expected())
        this.state = "blob"
        this.list = e.list
        this.ranges = 0
        return blobHeader(e)
      case "Block":
      case "PageRange": {
        expect(this.state === "blob" && this.list === (e._tag === "Block" ? "block" : "page"), this.expected())
        const open = this.ranges++ === 0 ? (this.list === "block" ? "    <BlockList>\n" : "    <PageRangeList>\n") : ""
        return open + range(e)
      }
      case "BlobEnd": {
        expect(this.state === "blob", this.expected())
        this.state = "blobs"
        const element = this.list === "block" ? "BlockList" : "PageRangeList"
        let s = this.list === "none" ? "" : this.ranges > 0 ? `    </${element}>\n` : `    <${element} />\n`
        if (e.metadata) s += fileEntry("Metadata", e.metadata)
        if (e.properties) s += fileEntry("Properties", e.properties)
        return s + "  </Blob>\n"
      }
      case "DriveStatus":
        expect(this.state === "blobs", this.expected())
        this.state = "end"
        return `  <Status>${code("Status", driveStatuses, e.status)}</Status>\n`
      case "LogEnd":
        expect(this.state === "end", this.expected())
        this.state = "done"
        return "</DriveLog>\n"
    }
  }

  /** Throws unless the events so far make a whole log. */
  finish(): void {
    if (this.state !== "done") throw new CopyLogWriteError(`copy log events ended early: ${this.expected()} was expected`)
  }

  private expected(): string {
    switch (this.state) {
      case "start":
        return "LogStart"
      case "drive-id":
        return "DriveId"
      case "blobs":
        return "BlobStart or DriveStatus"
      case "blob":
        return this.list === "block" ? "Block or BlobEnd" : this.list === "page" ? "PageRange or BlobEnd" : "BlobEnd"
      case "status":
      case "end":
        return "LogEnd"
      case "done":
        return "nothing"
    }
  }
}

/** A whole log as one string (tests, small logs). */
export const serializeCopyLog = (events: Iterable<CopyLogEvent>): string => {
  const s = new CopyLogSerializer()
  let out = ""
  for (const e of events) out += s.write(e)
  s.finish()
  return out
}

/** The text of a log, a piece per event; dies with CopyLogWriteError on an out-of-order stream. */
export const copyLogText = <E, R>(events: Stream.Stream<CopyLogEvent, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const s = new CopyLogSerializer()
    return events.pipe(
      Stream.map((e) => s.write(e)),
      Stream.concat(Stream.fromEffect(Effect.sync(() => (s.finish(), "")))),
    )
  })

/** Write a copy log file: temp file, fsync, rename; a partial log never appears under `real`. */
export const writeCopyLogFile = <E, R>(
  real: string,
  events: Stream.Stream<CopyLogEvent, E, R>,
  shown: string = real,
): Effect.Effect<void, E | FileUnwritable, R | FileSystem.FileSystem> => writeTextAtomically(real, copyLogText(events), shown)
