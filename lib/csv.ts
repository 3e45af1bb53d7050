/**
 * CSV records for the dataset and driveset files, streamed: bytes in, records out, each with the
 * physical line it starts on and the line/column of each of its fields; malformed records become
 * issues, never exceptions, and reading goes on with the next record.
 *
 * Two layers:
 *  - a framer (plain synchronous code, one pass over the characters) finds where each record
 *    ends (a newline outside quotes), tracks line and column, enforces the record-size cap and
 *    checks the quoting. It only ever holds one record's text, so a hostile 1 GB line costs a
 *    scan, not memory.
 *  - csv-parse (its synchronous API) splits the records the framer accepted into fields:
 *    unquoting, doubled quotes, trimming. It only sees well-formed records, so its own error
 *    recovery (which cannot resume after a bad closing quote, and whose size cap drops the rest
 *    of its buffer when records with errors are skipped) is never needed, and each framed record
 *    comes back as exactly one parsed record. Records without any quote skip it: split on commas
 *    and trimmed, which gives what csv-parse gives (a property test holds the two equal).
 *
 * On top, for the formats (dataset, driveset): `CsvTable`, a header record then rows, each issue
 * named by its column, collected in an `IssueLog`; `readTable` streams a table's valid rows.
 *
 * The dialect (the decisions, also in the goldens' READMEs):
 *  - UTF-8 only; a UTF-8 byte order mark is dropped; UTF-16 text, a zip/xlsx workbook or bytes that
 *    are not UTF-8 give one issue at the first bad byte, and the rest of the file is not read.
 *  - Records end at LF or CRLF (a lone CR is an ordinary character). Lines that are empty or hold
 *    only spaces are skipped.
 *  - Fields are separated by `,`. A field may be quoted with `"`; inside quotes everything is kept
 *    (commas, newlines, spaces) and `""` stands for one `"`.
 *  - Spaces (and tabs and the other Unicode spaces) around a field are dropped; inside quotes
 *    they are kept. So `  "a b " ,x` gives `a b ` and `x`.
 *  - A quote inside an unquoted field (`a"b`), anything but spaces between a closing quote and
 *    the next `,` (`"a"b`), and a quote still open at the end of the file are issues.
 *  - A record longer than `maxRecordChars` characters (default 262,144) is an issue of its own.
 *  - Columns in issues count UTF-16 code units from 1 (what most editors show for text without
 *    emoji).
 */
import { pushAll } from "./arrays.ts"
import { parse } from "csv-parse/sync"
import { Stream } from "effect"
import type { Issue } from "./errors.ts"
import { IssueLog } from "./issues.ts"

/** One record: its fields, unquoted and trimmed, and where each field starts. */
export interface CsvRecord {
  /** the physical line (1-based) where the record starts */
  readonly line: number
  readonly fields: ReadonlyArray<string>
  /** line of each field's first character (differs from `line` after a quoted newline) */
  readonly fieldLines: ReadonlyArray<number>
  /** column (1-based) of each field's first character (the opening quote for a quoted field) */
  readonly fieldColumns: ReadonlyArray<number>
}

/** What the reader yields: records and, in file order between them, the problems found. */
export type CsvEvent = { readonly _tag: "record"; readonly record: CsvRecord } | CsvIssueEvent

/**
 * A problem of the CSV itself. `fieldIndex` is the (0-based) field the problem is in, when
 * known, so that a format reader can name its column; `fatal` means reading stopped there.
 */
export interface CsvIssueEvent {
  readonly _tag: "issue"
  readonly issue: Omit<Issue, "file">
  readonly fieldIndex?: number
  readonly fatal?: boolean
}

export interface CsvOptions {
  /** the longest record kept, in characters; longer ones are reported and skipped */
  readonly maxRecordChars?: number
}

export const defaultMaxRecordChars = 256 * 1024

/** The place of field `i` of a record, for an Issue (falls back to the record's line). */
export const fieldPlace = (record: CsvRecord, i: number): { line: number; column?: number } => {
  const line = record.fieldLines[i]
  const column = record.fieldColumns[i]
  return line !== undefined && column !== undefined ? { line, column } : { line: record.line }
}

// ---------------------------------------------------------------- characters

const LF = 10
const CR = 13
const QUOTE = 34
const COMMA = 44

/**
 * The characters trimmed around fields: csv-parse's own set (ECMAScript white space and line
 * terminators). The framer must not be looser than csv-parse, or a record it passes could fail
 * there; using the same set keeps both in step.
 */
const isSpace = (c: number): boolean =>
  c === 32 ||
  c === 9 ||
  c === CR ||
  c === 11 ||
  c === 12 ||
  (c >= 0xa0 &&
    (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff))

/**
 * A cell's text in a message: in double quotes as CSV writes it (`"` doubled), backslashes kept
 * as they are (JSON-style quoting would double every `\` of a Windows path), control characters
 * as `\u0001`, long values cut.
 */
export const showCell = (value: string, max = 120): string => {
  const cut = value.length > max ? value.slice(0, max) : value
  // eslint-disable-next-line no-control-regex
  const body = cut.replace(/"/g, '""').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return value.length > max ? `"${body}"… (${value.length} characters)` : `"${body}"`
}

/** A character in a message: `'x'`, control characters as `'\u0001'`. */
const showChar = (c: number): string => (c < 32 || c === 127 ? `'\\u${c.toString(16).padStart(4, "0")}'` : `'${String.fromCharCode(c)}'`)

// ---------------------------------------------------------------- UTF-8

/** Index of the first byte of `b[0..end)` that does not start a valid UTF-8 sequence, or -1. */
const firstInvalidUtf8 = (b: Uint8Array, end: number): number => {
  let i = 0
  while (i < end) {
    const x = b[i]!
    if (x < 0x80) {
      i++
      continue
    }
    let n: number
    let min: number
    if (x >= 0xc2 && x <= 0xdf) [n, min] = [1, 0x80]
    else if (x >= 0xe0 && x <= 0xef) [n, min] = [2, 0x800]
    else if (x >= 0xf0 && x <= 0xf4) [n, min] = [3, 0x10000]
    else return i
    if (i + n >= end) return i
    let cp = x & (n === 1 ? 0x1f : n === 2 ? 0x0f : 0x07)
    for (let k = 1; k <= n; k++) {
      const y = b[i + k]!
      if ((y & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (y & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += n + 1
  }
  return -1
}

/** Where an incomplete multi-byte sequence at the end of `b` starts (b.length when there is none). */
const incompleteTail = (b: Uint8Array): number => {
  const len = b.length
  for (let back = 1; back <= 3 && back <= len; back++) {
    const x = b[len - back]!
    if ((x & 0xc0) === 0x80) continue // a continuation byte: look further back
    if (x < 0xc2 || x > 0xf4) return len // ASCII, or a byte no sequence starts with: the decoder judges it
    const need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2
    return need > back ? len - back : len
  }
  return len
}

// ---------------------------------------------------------------- the framer

const FIELD_START = 0
const UNQUOTED = 1
const QUOTED = 2
const QUOTE_IN_QUOTED = 3
const AFTER_CLOSE = 4

interface Framed {
  readonly line: number
  readonly text: string
  readonly fieldLines: Array<number>
  readonly fieldColumns: Array<number>
  /** the record has a quoted field (else it is split without csv-parse) */
  readonly quoted: boolean
}

type FrameEvent = { readonly _tag: "framed"; readonly framed: Framed } | CsvIssueEvent

class Framer {
  private state = FIELD_START
  /** absolute character offset of the current scan position's line start */
  private lineStartAbs = 0
  private line = 1
  /** absolute offset of the first character of the current chunk */
  private chunkAbs = 0
  // the record in progress
  private recLine = 1
  private recStartAbs = 0
  private pending = ""
  private fieldLines: Array<number> = []
  private fieldColumns: Array<number> = []
  private fieldPlaced = false
  private commas = 0
  private quoted = false
  private quoteLine = 0
  private quoteColumn = 0
  private dropped = false // oversize or malformed: text no longer kept
  private oversize = false
  private problem: Omit<Issue, "file"> | undefined
  private problemField = 0
  private quoteField = 0
  private out: Array<FrameEvent> = []

  constructor(private readonly maxChars: number) {}

  private column(abs: number): number {
    return abs - this.lineStartAbs + 1
  }

  private placeField(abs: number): void {
    if (this.fieldPlaced) return
    this.fieldPlaced = true
    if (this.dropped) return
    this.fieldLines.push(this.line)
    this.fieldColumns.push(this.column(abs))
  }

  private fail(abs: number, expected: string, found: string): void {
    if (this.problem === undefined) {
      this.problem = { line: this.line, column: this.column(abs), expected, found }
      this.problemField = this.commas
    }
    this.dropped = true
    this.pending = ""
  }

  private startRecord(abs: number): void {
    this.state = FIELD_START
    this.recLine = this.line
    this.recStartAbs = abs
    this.pending = ""
    this.fieldLines = []
    this.fieldColumns = []
    this.fieldPlaced = false
    this.commas = 0
    this.quoted = false
    this.dropped = false
    this.oversize = false
    this.problem = undefined
  }

  /** The record ends at `abs` (a LF, or the end of the file); `text` is its text when kept. */
  private endRecord(abs: number, text: string): void {
    const length = abs - this.recStartAbs
    if (this.oversize) {
      this.out.push({
        _tag: "issue",
        issue: { line: this.recLine, column: 1, expected: `a record of at most ${this.maxChars} characters`, found: `a record of ${length} characters (skipped)` },
      })
    } else if (this.problem !== undefined) {
      this.out.push({ _tag: "issue", issue: this.problem, fieldIndex: this.problemField })
    } else if (this.state === FIELD_START && this.commas === 0) {
      // an empty or blank line
    } else {
      this.placeField(abs)
      let t = text
      if (t.charCodeAt(t.length - 1) === CR) t = t.slice(0, -1)
      this.out.push({ _tag: "framed", framed: { line: this.recLine, text: t, fieldLines: this.fieldLines, fieldColumns: this.fieldColumns, quoted: this.quoted } })
    }
  }

  write(s: string): Array<FrameEvent> {
    const base = this.chunkAbs
    let recStartIdx = this.recStartAbs - base // negative while a record continues from an earlier chunk
    const n = s.length
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      const abs = base + i
      if (c === LF) {
        if (this.state === QUOTED) {
          this.line++
          this.lineStartAbs = abs + 1
          continue
        }
        const text = this.dropped ? "" : this.pending + s.slice(Math.max(recStartIdx, 0), i)
        this.endRecord(abs, text)
        this.line++
        this.lineStartAbs = abs + 1
        this.startRecord(abs + 1)
        recStartIdx = i + 1
        continue
      }
      if (!this.oversize && abs - this.recStartAbs >= this.maxChars) {
        this.oversize = true
        this.dropped = true
        this.pending = ""
      }
      switch (this.state) {
        case QUOTED:
          if (c === QUOTE) this.state = QUOTE_IN_QUOTED
          break
        case QUOTE_IN_QUOTED:
          if (c === QUOTE) this.state = QUOTED
          else if (c === COMMA) this.nextField()
          else if (isSpace(c)) this.state = AFTER_CLOSE
          else {
            this.fail(abs, "',' or the end of the line after a closing quote", `${showChar(c)} (to put a quote inside a quoted field, double it: "")`)
            this.state = UNQUOTED
          }
          break
        case AFTER_CLOSE:
          if (c === COMMA) this.nextField()
          else if (!isSpace(c)) {
            this.fail(abs, "',' or the end of the line after a closing quote", `${showChar(c)} (to put a quote inside a quoted field, double it: "")`)
            this.state = UNQUOTED
          }
          break
        case FIELD_START:
          if (c === COMMA) {
            this.placeField(abs)
            this.nextField()
          } else if (c === QUOTE) {
            this.placeField(abs)
            this.quoted = true
            this.quoteLine = this.line
            this.quoteColumn = this.column(abs)
            this.quoteField = this.commas
            this.state = QUOTED
          } else if (!isSpace(c)) {
            this.placeField(abs)
            this.state = UNQUOTED
          }
          break
        default: // UNQUOTED
          if (c === COMMA) this.nextField()
          else if (c === QUOTE) this.fail(abs, "no quote inside an unquoted field", `'"' (quote the whole field and double the quote: "a""b")`)
      }
    }
    if (!this.dropped) this.pending += s.slice(Math.max(recStartIdx, 0))
    this.chunkAbs = base + n
    const out = this.out
    this.out = []
    return out
  }

  private nextField(): void {
    this.commas++
    this.state = FIELD_START
    this.fieldPlaced = false
  }

  end(): Array<FrameEvent> {
    const abs = this.chunkAbs
    if (this.state === QUOTED && !this.oversize && this.problem === undefined) {
      this.out.push({
        _tag: "issue",
        issue: { line: this.quoteLine, column: this.quoteColumn, expected: "a closing quote for the quote opened here", found: "the end of the file (everything after this quote was read as one field)" },
        fieldIndex: this.quoteField,
      })
    } else {
      this.endRecord(abs, this.dropped ? "" : this.pending)
    }
    this.startRecord(abs)
    const out = this.out
    this.out = []
    return out
  }

  /** A problem at the current scan position (encoding errors); the record in progress is dropped. */
  issueHere(expected: string, found: string): Omit<Issue, "file"> {
    return { line: this.line, column: this.column(this.chunkAbs), expected, found }
  }
}

// ---------------------------------------------------------------- the reader

const utf8Expected = 'UTF-8 text (save the file as "CSV UTF-8")'

const csvParseOptions = { trim: true, relax_column_count: true, skip_empty_lines: false, record_delimiter: "\n", bom: false } as const

/**
 * The push parser: `write` a chunk of bytes, get the events it completes; `end` at the end of the
 * file. Synchronous, so a caller can drive it from any stream.
 */
export class CsvReader {
  private readonly framer: Framer
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
  private carry: Uint8Array = new Uint8Array(0)
  private first = true
  /** true once the reader has given up on the file (bad encoding); later chunks are ignored */
  stopped = false

  constructor(options: CsvOptions = {}) {
    this.framer = new Framer(options.maxRecordChars ?? defaultMaxRecordChars)
  }

  write(chunk: Uint8Array): Array<CsvEvent> {
    if (this.stopped || chunk.length === 0) return []
    let bytes = chunk
    if (this.carry.length > 0) {
      bytes = new Uint8Array(this.carry.length + chunk.length)
      bytes.set(this.carry, 0)
      bytes.set(chunk, this.carry.length)
    }
    if (this.first) {
      if (bytes.length < 4) {
        this.carry = bytes // too little to recognise a signature yet
        return []
      }
      this.first = false
      const refused = this.refuseSignature(bytes)
      if (refused) return refused
    }
    const cut = incompleteTail(bytes)
    this.carry = bytes.slice(cut)
    return this.decodeAndFrame(bytes.subarray(0, cut))
  }

  end(): Array<CsvEvent> {
    if (this.stopped) return []
    const events: Array<CsvEvent> = []
    if (this.first) {
      this.first = false
      const refused = this.refuseSignature(this.carry)
      if (refused) return refused
    }
    if (this.carry.length > 0) {
      const bytes = this.carry
      this.carry = new Uint8Array(0)
      const cut = incompleteTail(bytes)
      pushAll(events, this.decodeAndFrame(bytes.subarray(0, cut)))
      if (this.stopped) return events
      if (cut < bytes.length) {
        this.stopped = true
        events.push({ _tag: "issue", issue: this.framer.issueHere("UTF-8 text", "a truncated UTF-8 sequence at the end of the file"), fatal: true })
        return events
      }
    }
    pushAll(events, this.frameToEvents(this.framer.end()))
    return events
  }

  /** UTF-16 and zip files (an .xlsx saved under a .csv name) are refused up front, with what they are. */
  private refuseSignature(bytes: Uint8Array): Array<CsvEvent> | undefined {
    let found: string | undefined
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) found = "UTF-16 text (a UTF-16 byte order mark)"
    // without a BOM, ASCII text in UTF-16 has a zero byte beside each character (a CSV never holds one)
    else if (bytes.length >= 4 && bytes[0] !== 0 && bytes[1] === 0 && bytes[2] !== 0 && bytes[3] === 0) found = "UTF-16 text (little-endian, without a byte order mark)"
    else if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] !== 0 && bytes[2] === 0 && bytes[3] !== 0) found = "UTF-16 text (big-endian, without a byte order mark)"
    else if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) found = "a zip file (an Excel workbook?), not CSV text"
    if (found === undefined) return undefined
    this.stopped = true
    return [{ _tag: "issue", issue: { line: 1, column: 1, expected: utf8Expected, found }, fatal: true }]
  }

  private decodeAndFrame(bytes: Uint8Array): Array<CsvEvent> {
    let text: string
    try {
      text = this.decoder.decode(bytes)
    } catch {
      const bad = Math.max(firstInvalidUtf8(bytes, bytes.length), 0)
      const good = this.decoder.decode(bytes.subarray(0, bad))
      const events = this.frameToEvents(this.framer.write(this.stripBom(good)))
      const byte = bytes[bad] ?? 0
      const hex = "0x" + byte.toString(16).toUpperCase().padStart(2, "0")
      events.push({ _tag: "issue", issue: this.framer.issueHere(utf8Expected, `the byte ${hex}, which is not UTF-8 (the rest of the file was not read)`), fatal: true })
      this.stopped = true
      return events
    }
    return this.frameToEvents(this.framer.write(this.stripBom(text)))
  }

  private bomChecked = false
  private stripBom(text: string): string {
    if (this.bomChecked || text.length === 0) return text
    this.bomChecked = true
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }

  /**
   * Split the framed records into fields. Records with a quoted field go to csv-parse, all of a
   * chunk in one call; a record without quotes is split on its commas and trimmed, which is what
   * csv-parse gives for it (the same white-space set; a property test holds the two equal) at a
   * fraction of the cost.
   */
  private frameToEvents(events: ReadonlyArray<FrameEvent>): Array<CsvEvent> {
    if (events.length === 0) return []
    const texts: Array<string> = []
    for (const e of events) if (e._tag === "framed" && e.framed.quoted) texts.push(e.framed.text)
    const parsed: Array<Array<string>> = texts.length ? (parse(texts.join("\n") + "\n", csvParseOptions) as Array<Array<string>>) : []
    if (parsed.length !== texts.length) throw new Error(`csv: the framer found ${texts.length} quoted records but csv-parse found ${parsed.length}`)
    const out: Array<CsvEvent> = []
    let k = 0
    for (const e of events) {
      if (e._tag === "issue") {
        out.push(e)
        continue
      }
      const f = e.framed
      const fields = f.quoted ? parsed[k++]! : splitPlain(f.text)
      if (fields.length !== f.fieldLines.length) throw new Error(`csv: line ${f.line}: the framer found ${f.fieldLines.length} fields but csv-parse found ${fields.length}`)
      out.push({ _tag: "record", record: { line: f.line, fields, fieldLines: f.fieldLines, fieldColumns: f.fieldColumns } })
    }
    return out
  }
}

/** A record without quotes: its fields are the text between commas, trimmed. */
export const splitPlain = (text: string): Array<string> => {
  const fields = text.split(",")
  for (let i = 0; i < fields.length; i++) fields[i] = fields[i]!.trim()
  return fields
}

/** csv-parse's reading of one record (for the property that holds splitPlain equal to it). */
export const parseWithCsvParse = (text: string): Array<string> => (parse(text + "\n", csvParseOptions) as Array<Array<string>>)[0] ?? []

const sliceSize = 64 * 1024

const slices = (chunk: Uint8Array): Array<Uint8Array> => {
  if (chunk.length <= sliceSize) return [chunk]
  const out: Array<Uint8Array> = []
  for (let i = 0; i < chunk.length; i += sliceSize) out.push(chunk.subarray(i, i + sliceSize))
  return out
}

/** The events of a CSV byte stream, in file order. Memory: one chunk plus one record. */
export const csvEvents = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: CsvOptions = {}): Stream.Stream<CsvEvent, E, R> =>
  Stream.suspend(() => {
    const reader = new CsvReader(options)
    return bytes.pipe(
      // slices of at most 64 KiB, one per stream chunk: the records of a slice are used and
      // dropped while still young, instead of a whole 1 MiB read's worth living at once
      Stream.mapConcat(slices),
      Stream.rechunk(1),
      Stream.takeWhile(() => !reader.stopped),
      Stream.mapConcat((chunk) => reader.write(chunk)),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(reader.end()))),
    )
  })

/** All events of a whole text at once (tests, small inputs). */
export const csvEventsOfText = (text: string | Uint8Array, options: CsvOptions = {}): Array<CsvEvent> => {
  const reader = new CsvReader(options)
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text
  return [...reader.write(bytes), ...reader.end()]
}

// ---------------------------------------------------------------- writing

/**
 * One field as a spreadsheet writes it: quoted when it holds a comma, a quote, a line break or
 * space at either end (which a reader would trim), or when it is empty and alone on its line.
 */
export const csvField = (value: string): string => {
  const needs = value.length > 0 && (/[",\r\n]/.test(value) || isSpace(value.charCodeAt(0)) || isSpace(value.charCodeAt(value.length - 1)))
  return needs ? `"${value.replace(/"/g, '""')}"` : value
}

/** One record with its CRLF line end (what Excel writes). */
export const csvLine = (fields: ReadonlyArray<string>): string => {
  if (fields.length === 1 && fields[0] === "") return '""\r\n'
  return fields.map(csvField).join(",") + "\r\n"
}

/** Empty, or `None` in any case (quoted or not), means the cell is not given. */
export const isAbsent = (v: string | undefined): boolean => v === undefined || v === "" || v.toLowerCase() === "none"

// ---------------------------------------------------------------- headers

/** Header analysis shared by the CSV formats: names matched case-insensitively, any order. */
export interface HeaderColumns<K extends string> {
  /** column key → index in the record */
  readonly index: Partial<Record<K, number>>
  /** the number of named columns (trailing unnamed ones are ignored) */
  readonly width: number
}

/**
 * Map a header record onto known column names. Unknown and duplicate names are issues (at the
 * header field); empty names at the end of the header (a trailing comma) are ignored, empty names
 * elsewhere are issues.
 */
export const readHeader = <K extends string>(record: CsvRecord, known: Readonly<Record<K, string>>, log: IssueLog, expectedList: string): HeaderColumns<K> => {
  const byLower = new Map<string, K>()
  for (const k of Object.keys(known) as Array<K>) byLower.set(known[k].toLowerCase(), k)
  const index: Partial<Record<K, number>> = {}
  let width = record.fields.length
  while (width > 0 && record.fields[width - 1] === "") width--
  for (let i = 0; i < width; i++) {
    const name = record.fields[i]!
    const place = fieldPlace(record, i)
    if (name === "") {
      log.add({ ...place, field: "header", expected: `a column name (${expectedList})`, found: "an empty name" })
      continue
    }
    const key = byLower.get(name.toLowerCase())
    if (key === undefined) {
      log.add({ ...place, field: "header", expected: `a column name (${expectedList})`, found: showCell(name) })
      continue
    }
    const seen = index[key]
    if (seen !== undefined) {
      log.add({ ...place, field: "header", expected: `each column once`, found: `${showCell(name)} again (first as column ${seen + 1})` })
      continue
    }
    index[key] = i
  }
  return { index, width }
}

// ---------------------------------------------------------------- a table: a header, then rows

/** The header as a format's checker keeps it: the columns found, and whether it was without error. */
export interface TableHeader<K extends string> extends HeaderColumns<K> {
  readonly ok: boolean
}

/**
 * What the CSV formats (dataset, driveset) share: the first record is the header, every other one
 * a row. A CSV problem is named by its column once the header is known; a first record that
 * names no known column is not a header (and no row is read); a file without a header or without
 * rows is an issue. A format gives its columns and checks its header and its rows.
 */
export abstract class CsvTable<K extends string, H extends TableHeader<K>, Row> {
  readonly log: IssueLog
  protected header: H | undefined
  private headerSeen = false
  /** reading stopped early (the file is not UTF-8) */
  private stopped = false
  private headerUsable = true
  private dataRows = 0

  constructor(
    readonly file: string,
    /** column key → its name in the header */
    private readonly columns: Readonly<Record<K, string>>,
    /** the header line as the documentation writes it, for messages */
    private readonly headerLine: string,
    issueLimit: number,
  ) {
    this.log = new IssueLog(file, issueLimit)
  }

  /** The issue when the header is the only record. */
  protected abstract readonly onlyHeader: Omit<Issue, "file" | "line">
  /** The columns of the header record (which names at least one known column). */
  protected abstract readColumns(record: CsvRecord): H
  /** One row: the value it makes, or undefined when it has errors (they are in the log). */
  protected abstract checkRow(record: CsvRecord, header: H): Row | undefined

  /** Every issue goes through here (a format with secrets masks them). */
  protected add(issue: Omit<Issue, "file">): void {
    this.log.add(issue)
  }

  /** A problem of the CSV itself: named by its column once the header is known. */
  csvIssue(e: CsvIssueEvent): void {
    if (e.fatal) this.stopped = true
    else if (this.headerSeen) this.dataRows++ // a broken row is a row
    else {
      // the header itself is broken: the rows cannot be read without it
      this.headerSeen = true
      this.headerUsable = false
    }
    const i = e.fieldIndex
    const header = this.header
    const column = i === undefined || header === undefined ? undefined : (Object.keys(header.index) as Array<K>).find((k) => header.index[k] === i)
    this.add({ ...e.issue, ...(column !== undefined ? { field: this.columns[column] } : {}) })
  }

  /** Take one record; give the valid row it makes, if any. */
  take(record: CsvRecord): Array<Row> {
    if (!this.headerSeen) {
      this.headerSeen = true
      const known = new Set(Object.values<string>(this.columns).map((n) => n.toLowerCase()))
      if (!record.fields.some((f) => known.has(f.toLowerCase()))) {
        this.headerUsable = false
        this.add({ line: record.line, column: 1, field: "header", expected: `a header line naming the columns (${this.headerLine})`, found: showCell(record.fields.join(",")) })
      } else this.header = this.readColumns(record)
      return []
    }
    if (!this.headerUsable || this.header === undefined) return []
    this.dataRows++
    const row = this.checkRow(record, this.header)
    return row ? [row] : []
  }

  /** After the last record: a file without a header, or with a header only. */
  finish(): Array<Row> {
    if (!this.headerSeen && !this.stopped) this.add({ line: 1, field: "header", expected: `a header line (${this.headerLine})`, found: "an empty file" })
    else if (this.headerUsable && this.dataRows === 0 && !this.stopped) this.add({ line: 1, ...this.onlyHeader })
    return []
  }
}

/** The valid rows of a CSV file as a stream, and the report of the last run of it. */
export interface CsvReading<Row, Report, E, R> {
  /** the valid rows, in file order; run it to the end before reading the report */
  readonly rows: Stream.Stream<Row, E, R>
  /** the issues and counts of the last run of `rows` */
  readonly report: () => Report
}

/** What `readTable` drives: a `CsvTable` with its report. */
export interface TableChecker<Row, Report> {
  csvIssue(e: CsvIssueEvent): void
  take(record: CsvRecord): ReadonlyArray<Row>
  finish(): ReadonlyArray<Row>
  report(): Report
}

/** Read a table from bytes with a checker made afresh for each run of the rows. */
export const readTable = <Row, Report, E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: CsvOptions | undefined, make: () => TableChecker<Row, Report>): CsvReading<Row, Report, E, R> => {
  let checker = make()
  const rows = Stream.suspend(() => {
    const c = make()
    checker = c
    return csvEvents(bytes, options).pipe(
      Stream.mapConcat((e) => {
        if (e._tag === "issue") {
          c.csvIssue(e)
          return []
        }
        return c.take(e.record)
      }),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(c.finish()))),
    )
  })
  return { rows, report: () => checker.report() }
}
