/**
 * The record syntax of the `.jrn` journal (000_… "Sample journal file"), the layer below the
 * journal's meaning (sessions, drives, progress: lib/journal.ts):
 *
 *   [BeginUpdateRecord][2016/11/02 18:24:14.735][Type:NewJournalFile]
 *   VocabularyVersion: 2013-02-01
 *   DriveState: [BeginValue]
 *   <multi-line value>
 *   [EndValue]
 *   Checksum: 1A2B3C4D
 *   [EndUpdateRecord]
 *
 * `Checksum` is waie's addition: CRC-32 of the record's canonical text (every line before it,
 * LF-terminated). Records without one (the samples, the original tool) are read as they are,
 * but a journal is all one or the other: mixing them is corruption.
 * A last record that is cut short or fails its checksum is a torn tail from a crash: it is
 * reported, not fatal. The same damage before an intact record is corruption: an error.
 * A tail can only look like what a crash leaves of an append: the start of a record, or zeros
 * (a file system that grew the file but lost its data). Other text outside a record, bytes that
 * are not UTF-8, or a second NewJournalFile in a checksummed journal (two journals pasted
 * together, or records moved) are corruption wherever they are. Byte offsets are counted on
 * the bytes themselves, so a writer that cuts a torn tail off cuts exactly there.
 * Times are written in UTC.
 */
import { Chunk, Effect, Stream } from "effect"
import { crc32 } from "node:zlib"
import { InvalidInput, type Issue } from "./errors.ts"

export interface JournalRecord {
  readonly _tag: "Record"
  readonly time: string
  readonly type: string
  readonly fields: ReadonlyArray<readonly [string, string]>
  /** line of `[BeginUpdateRecord]` (reader only) */
  readonly line?: number
  /** whether the record carried a checksum (reader only; a bad one never reaches a reader) */
  readonly checked?: boolean
  /** byte offsets of the record's first byte and of the byte after it (reader only) */
  readonly offset?: number
  readonly end?: number
}

export interface TornTail {
  readonly _tag: "TornTail"
  /** line where the torn record starts */
  readonly line: number
  /** byte offset where the torn record starts: a writer truncates the journal here before appending */
  readonly offset: number
  readonly reason: string
}

export type JournalEntry = JournalRecord | TornTail

const begin = /^\[BeginUpdateRecord\]\[(\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\]\[Type:([A-Za-z0-9_]+)\]$/
const endMarker = "[EndUpdateRecord]"
const keyPattern = /^[A-Za-z][A-Za-z0-9_]*$/
const maxRecordBytes = 16 * 1024 * 1024

/** `yyyy/MM/dd HH:mm:ss.fff` in UTC. */
export const journalTime = (ms: number): string => {
  const d = new Date(ms)
  const p = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`
}

const bodyText = (time: string, type: string, fields: ReadonlyArray<readonly [string, string]>): string => {
  let s = `[BeginUpdateRecord][${time}][Type:${type}]\n`
  for (const [k, v] of fields) {
    if (!keyPattern.test(k) || k === "Checksum") throw new RangeError(`journal key ${JSON.stringify(k)} is not allowed`)
    if (/[\r\n]/.test(v)) {
      if (/(^|\n)\[EndValue\](\r?\n|$)/.test(v) || v.includes("\r")) throw new RangeError(`journal value of ${k} cannot hold a line [EndValue] or a CR`)
      s += `${k}: [BeginValue]\n${v}\n[EndValue]\n`
    } else s += `${k}: ${v}\n`
  }
  return s
}

const checksumOf = (text: string): string => crc32(Buffer.from(text, "utf8")).toString(16).toUpperCase().padStart(8, "0")

/** The exact bytes of one record as waie writes it (with its checksum). */
export const formatRecord = (time: string, type: string, fields: ReadonlyArray<readonly [string, string]>): string => {
  if (!/^[A-Za-z0-9_]+$/.test(type)) throw new RangeError(`journal record type ${JSON.stringify(type)} is not allowed`)
  const body = bodyText(time, type, fields)
  return `${body}Checksum: ${checksumOf(body)}\n${endMarker}\n`
}

/**
 * Push parser: bytes in, entries out. Keeps only the current record. Damage is held back until
 * we know whether an intact record follows it (corruption) or the file ends (torn tail).
 */
export class JournalRecordParser {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
  /** bytes of the lines consumed so far */
  private offset = 0
  /** the bytes after the last newline seen: the start of a line still to come */
  private pending: Buffer = Buffer.alloc(0)
  private lineNo = 0
  /** records delivered so far (a second NewJournalFile is only allowed as the first) */
  private records = 0
  private current: { line: number; offset: number; time: string; type: string; lines: Array<string>; bytes: number } | undefined
  private damage: { line: number; offset: number; reason: string } | undefined
  /** set by the first record: a journal's records all carry a checksum (waie's) or none do */
  private checksummed: boolean | undefined
  private readonly out: Array<JournalEntry> = []

  constructor(private readonly file: string) {}

  private invalid(line: number, expected: string, found: string): never {
    const issue: Issue = { file: this.file, line, expected, found }
    throw new InvalidInput({ format: "journal", file: this.file, issues: [issue] })
  }

  private damaged(line: number, reason: string, offset: number = this.current?.offset ?? this.lineStart): void {
    if (this.damage === undefined) this.damage = { line, offset, reason }
    this.current = undefined
  }

  /** byte offset of the line being handled */
  private lineStart = 0

  private finishRecord(endLine: number): void {
    const r = this.current!
    this.current = undefined
    const fields: Array<readonly [string, string]> = []
    let checksum: string | undefined
    for (let i = 0; i < r.lines.length; i++) {
      const l = r.lines[i]!
      const m = /^([A-Za-z][A-Za-z0-9_]*): ?(.*)$/.exec(l)
      if (!m) return this.damaged(r.line + 1 + i, `a line that is not 'Key: value': ${JSON.stringify(l.slice(0, 60))}`, r.offset)
      const key = m[1]!
      if (checksum !== undefined) return this.damaged(r.line + 1 + i, "a field after Checksum", r.offset)
      if (m[2] === "[BeginValue]") {
        const stop = r.lines.indexOf("[EndValue]", i + 1)
        if (stop === -1) return this.damaged(r.line + 1 + i, `[EndValue] missing for ${key}`, r.offset)
        fields.push([key, r.lines.slice(i + 1, stop).join("\n")])
        i = stop
      } else if (key === "Checksum") checksum = m[2]!
      else fields.push([key, m[2]!])
    }
    if (checksum !== undefined && checksum.toUpperCase() !== checksumOf(bodyText(r.time, r.type, fields))) {
      return this.damaged(r.line, `a record whose checksum does not match (record ends at line ${endLine})`, r.offset)
    }
    // a tear cannot remove a checksum line and keep [EndUpdateRecord]: a mixed journal is corrupt
    if (this.checksummed !== undefined && this.checksummed !== (checksum !== undefined)) {
      this.invalid(r.line, this.checksummed ? "a Checksum line in every record (the journal's first record has one)" : "no Checksum line (the journal's first record has none)", checksum === undefined ? `a record without one (ending at line ${endLine})` : `a record with one (ending at line ${endLine})`)
    }
    this.checksummed = checksum !== undefined
    this.flushDamageBefore(r.line)
    // the original tool's journals are known from samples only: the rule is waie's
    if (r.type === "NewJournalFile" && this.records > 0 && this.checksummed) {
      this.invalid(r.line, "one NewJournalFile record, the journal's first (records are only ever appended)", `another at line ${r.line} (two journals pasted together, or records moved)`)
    }
    this.records++
    this.out.push({ _tag: "Record", time: r.time, type: r.type, fields, line: r.line, checked: checksum !== undefined, offset: r.offset, end: this.offset })
  }

  /** An intact record after damage: the damage was not a torn tail. */
  private flushDamageBefore(line: number): void {
    if (this.damage !== undefined) {
      const d = this.damage
      this.invalid(d.line, `intact journal records (only the last record may be torn by a crash, and an intact record follows at line ${line})`, d.reason)
    }
  }

  /** A complete line that is not UTF-8: no crash writes that, but it may sit inside a torn tail. */
  private onBadLine(): void {
    this.lineNo++
    if (this.current === undefined && this.damage === undefined) this.invalid(this.lineNo, "UTF-8 text", "bytes that are not UTF-8")
    this.damaged(this.current?.line ?? this.lineNo, `bytes that are not UTF-8 (line ${this.lineNo})`)
  }

  private onLine(raw: string): void {
    this.lineNo++
    let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (this.lineNo === 1 && line.startsWith("\uFEFF")) {
      line = line.slice(1)
      this.lineStart += 3 // the BOM's bytes are not part of the first record
    }
    if (this.current) {
      if (line === endMarker) return this.finishRecord(this.lineNo)
      const b = begin.exec(line)
      if (b) {
        this.damaged(this.current.line, "a record with no [EndUpdateRecord]")
        this.current = { line: this.lineNo, offset: this.lineStart, time: b[1]!, type: b[2]!, lines: [], bytes: 0 }
        return
      }
      this.current.lines.push(line)
      this.current.bytes += line.length
      if (this.current.bytes > maxRecordBytes) this.invalid(this.current.line, `a record of at most ${maxRecordBytes} bytes`, "a larger one")
      return
    }
    if (line === "") return
    const b = begin.exec(line)
    if (b) {
      this.current = { line: this.lineNo, offset: this.lineStart, time: b[1]!, type: b[2]!, lines: [], bytes: 0 }
      return
    }
    const found = `text outside a record: ${JSON.stringify(line.slice(0, 60))}`
    if (this.damage === undefined && !looksTorn(line)) this.invalid(this.lineNo, "journal records ([BeginUpdateRecord] … [EndUpdateRecord])", found)
    this.damaged(this.lineNo, found)
  }

  /** Complete lines only are decoded (a newline never falls inside a UTF-8 character), all of a chunk at once. */
  write(bytes: Uint8Array): Array<JournalEntry> {
    const data = this.pending.length === 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.concat([this.pending, bytes])
    const lastNl = data.lastIndexOf(0x0a)
    if (lastNl === -1) {
      this.pending = Buffer.from(data)
      if (this.pending.length > maxRecordBytes) this.invalid(this.lineNo + 1, `lines of at most ${maxRecordBytes} bytes`, "a longer line")
      return this.out.splice(0)
    }
    const complete = data.subarray(0, lastNl + 1)
    this.pending = Buffer.from(data.subarray(lastNl + 1))
    let text: string | undefined
    try {
      text = this.decoder.decode(complete)
    } catch {
      text = undefined
    }
    if (text !== undefined) {
      let start = 0
      let nl: number
      while ((nl = text.indexOf("\n", start)) !== -1) {
        const line = text.slice(start, nl)
        start = nl + 1
        this.lineStart = this.offset
        this.offset += Buffer.byteLength(line, "utf8") + 1
        this.onLine(line)
      }
    } else {
      // the error path: line by line, to find the lines that are not UTF-8
      let start = 0
      let nl: number
      while ((nl = complete.indexOf(0x0a, start)) !== -1) {
        const lineBytes = complete.subarray(start, nl)
        start = nl + 1
        this.lineStart = this.offset
        this.offset += lineBytes.length + 1
        let line: string | undefined
        try {
          line = this.decoder.decode(lineBytes)
        } catch {
          line = undefined
        }
        if (line === undefined) this.onBadLine()
        else this.onLine(line)
      }
    }
    if (this.pending.length > maxRecordBytes) this.invalid(this.lineNo + 1, `lines of at most ${maxRecordBytes} bytes`, "a longer line")
    return this.out.splice(0)
  }

  end(): Array<JournalEntry> {
    if (this.pending.length > 0) {
      // a last line without its newline: complete only if it closes a record. A crash may have
      // cut it inside a character, so it is decoded leniently: it is torn or a marker.
      const lastBytes = this.pending
      const last = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(lastBytes)
      this.pending = Buffer.alloc(0)
      this.lineStart = this.offset
      this.offset += lastBytes.length
      if (this.current && (last === endMarker || last === endMarker + "\r")) this.onLine(last)
      else if (this.current) this.damaged(this.current.line, "a record cut short by the end of the file")
      else this.onLine(last)
    }
    if (this.current) this.damaged(this.current.line, "a record cut short by the end of the file")
    if (this.damage) this.out.push({ _tag: "TornTail", line: this.damage.line, offset: this.damage.offset, reason: this.damage.reason })
    return this.out.splice(0)
  }
}

/**
 * What a crash can leave outside a record: the start of a `[BeginUpdateRecord]` line (an append
 * cut short), or zeros (the file grew, its data was lost), or both.
 */
const looksTorn = (line: string): boolean => {
  const text = line.replace(/\u0000+$/, "")
  if (text === "" || text.startsWith("\u0000")) return true
  return text.startsWith("[BeginUpdateRecord]") || "[BeginUpdateRecord]".startsWith(text)
}

/** The journal's entries, streaming; fails with InvalidInput on corruption before the tail. */
export const readJournalRecords = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<JournalEntry, E | InvalidInput, R> =>
  Stream.suspend(() => {
    const parser = new JournalRecordParser(file)
    const step = (f: () => Array<JournalEntry>) =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(Chunk.unsafeFromArray(f()))
        } catch (e) {
          return e instanceof InvalidInput ? Effect.fail(e) : Effect.die(e)
        }
      })
    return bytes.pipe(
      Stream.mapEffect((b) => step(() => parser.write(b))),
      Stream.concat(Stream.fromEffect(step(() => parser.end()))),
      Stream.flattenChunks,
    )
  })

/** The value of a field (the last one wins, as in an update record). */
export const field = (r: JournalRecord, key: string): string | undefined => {
  for (let i = r.fields.length - 1; i >= 0; i--) if (r.fields[i]![0] === key) return r.fields[i]![1]
  return undefined
}

// ---------------------------------------------------------------- field values (for the vocabularies above this layer)

/** A field of a record is missing or not of its form: the vocabulary's reader turns it into an issue at the record's line. */
export class FieldProblem extends Error {
  constructor(
    readonly fieldName: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(expected)
  }
}

export const needField = (r: JournalRecord, key: string): string => {
  const v = field(r, key)
  if (v === undefined) throw new FieldProblem(key, `a ${key} field`, "none")
  return v
}

/** A value that may hold any character, written as a JSON string. */
export const stringField = (r: JournalRecord, key: string): string => {
  const v = needField(r, key)
  try {
    const s = JSON.parse(v) as unknown
    if (typeof s === "string") return s
  } catch {
    // fall through
  }
  throw new FieldProblem(key, "a JSON string", JSON.stringify(v.slice(0, 60)))
}

export const intField = (r: JournalRecord, key: string): number => {
  const v = needField(r, key)
  if (/^\d{1,16}$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v)
  throw new FieldProblem(key, "a whole number", JSON.stringify(v.slice(0, 60)))
}

export const oneOfField = <A extends string>(r: JournalRecord, key: string, values: ReadonlyArray<A>): A => {
  const v = needField(r, key)
  if ((values as ReadonlyArray<string>).includes(v)) return v as A
  throw new FieldProblem(key, values.join(" or "), JSON.stringify(v.slice(0, 60)))
}
