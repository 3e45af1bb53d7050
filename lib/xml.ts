/**
 * XML for every format of the service: an escaping writer, and a streaming tokenizer on saxes
 * that refuses DOCTYPE (so no entity can be declared, let alone expanded), insists on UTF-8, and
 * reports malformed input with its line and column. Format readers are synchronous state machines
 * on top of the tokens; `parseXmlStream` lifts one onto an Effect Stream of bytes, a chunk at a
 * time, so memory stays bounded by the largest element, never the file.
 */
import { Chunk, Effect, Stream } from "effect"
import { SaxesParser } from "saxes"
import { type InputFormat, type Issue, InvalidInput } from "./errors.ts"

// ---------------------------------------------------------------- writing

/** Escape element text. `\r` becomes a reference so that a reader gets it back (XML folds raw CRs). */
export const escapeText = (s: string): string =>
  /[&<>\r]/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;") : s

/** Escape an attribute value (double-quoted); whitespace other than space is kept by references. */
export const escapeAttr = (s: string): string =>
  /[&<>"\r\n\t]/.test(s)
    ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/\r/g, "&#13;").replace(/\n/g, "&#10;").replace(/\t/g, "&#9;")
    : s

/** Characters XML 1.0 cannot carry at all, even escaped. A writer must refuse them. */
export const hasCharsXmlCannotHold = (s: string): boolean =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/**
 * The XML declaration and its LF. The service's documents spell the encoding `UTF-8` (manifest,
 * metadata and properties files) or `utf-8` (copy logs, export blob lists); each writer keeps the
 * bytes of its format.
 */
export const xmlDeclarationFor = (encoding: "UTF-8" | "utf-8"): string => `<?xml version="1.0" encoding="${encoding}"?>\n`

/** `<?xml version="1.0" encoding="UTF-8"?>` and its LF: the manifest's, metadata's and properties' declaration. */
export const xmlDeclaration = xmlDeclarationFor("UTF-8")

/** `<Name a="1">text</Name>` on one line; attributes in the order given. */
export const element = (name: string, text: string, attrs?: ReadonlyArray<readonly [string, string | number | undefined]>): string =>
  `<${name}${attributes(attrs)}>${escapeText(text)}</${name}>`

export const emptyElement = (name: string, attrs?: ReadonlyArray<readonly [string, string | number | undefined]>): string => `<${name}${attributes(attrs)} />`

const attributes = (attrs?: ReadonlyArray<readonly [string, string | number | undefined]>): string => {
  if (!attrs) return ""
  let s = ""
  for (const [k, v] of attrs) if (v !== undefined) s += ` ${k}="${escapeAttr(String(v))}"`
  return s
}

// ---------------------------------------------------------------- reading

export interface XmlOpen {
  readonly kind: "open"
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly line: number
  readonly column: number
}
export interface XmlClose {
  readonly kind: "close"
  readonly name: string
  /** the text directly inside the element when it has no child elements, else "" */
  readonly text: string
  /** true when non-whitespace text stood between child elements (mixed content) */
  readonly mixed: boolean
  readonly line: number
  readonly column: number
}
export type XmlToken = XmlOpen | XmlClose

/** Thrown by the tokenizer; format readers turn it into an Issue of their file. */
export class XmlSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`expected ${expected}, found ${found}`)
  }
}

/**
 * Bytes in, tokens out, synchronously. UTF-8 only (a BOM is dropped); DOCTYPE refused. After a
 * syntax error (malformed XML, bytes that are not UTF-8), the tokens before it are still
 * delivered and the error is thrown by the next call, with the place of the error: a reader
 * can feed whole chunks and still report what it found on earlier lines.
 */
export class XmlTokenizer {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true })
  private readonly parser = new SaxesParser({ position: true })
  private out: Array<XmlToken> = []
  /** one frame per open element: its direct text, whether it has children, whether text stood between them */
  private readonly frames: Array<{ text: string; hadChild: boolean; mixed: boolean }> = []
  private failure: XmlSyntaxError | undefined
  private sawRoot = false
  private bytesSeen = 0
  /** the start of a character split between writes, held back by the decoder (for `decodablePrefix`) */
  private heldBack: Uint8Array = new Uint8Array(0)

  constructor() {
    const p = this.parser
    p.on("doctype", () => this.fail("no DOCTYPE (waie refuses DTDs and entity declarations)", "a DOCTYPE declaration"))
    p.on("opentag", (tag) => {
      if (this.failure) return
      this.sawRoot = true
      const parent = this.frames[this.frames.length - 1]
      if (parent) {
        if (parent.text.trim() !== "") parent.mixed = true
        parent.text = ""
        parent.hadChild = true
      }
      this.frames.push({ text: "", hadChild: false, mixed: false })
      this.out.push({ kind: "open", name: tag.name, attributes: tag.attributes as Record<string, string>, line: p.line, column: p.column })
    })
    p.on("text", (t) => {
      const top = this.frames[this.frames.length - 1]
      if (top) top.text += t
    })
    p.on("cdata", (t) => {
      const top = this.frames[this.frames.length - 1]
      if (top) top.text += t
    })
    p.on("closetag", (tag) => {
      if (this.failure) return
      const frame = this.frames.pop() ?? { text: "", hadChild: false, mixed: false }
      const text = frame.hadChild ? "" : frame.text
      const mixed = frame.mixed || (frame.hadChild && frame.text.trim() !== "")
      this.out.push({ kind: "close", name: tag.name, text, mixed, line: p.line, column: p.column })
    })
    p.on("error", (e) => {
      // saxes messages look like "file:line:col: text"; keep the text
      const msg = e.message.replace(/^(?:[^:]*:)?\d+:\d+: /, "")
      this.fail("well-formed XML", msg)
    })
  }

  private fail(expected: string, found: string): void {
    if (this.failure === undefined) this.failure = new XmlSyntaxError(this.parser.line, this.parser.column + 1, expected, found)
  }

  /**
   * The tokens read so far. After a syntax error, the tokens before it are still delivered (so a
   * reader can report what it found on earlier lines); the error is thrown by the next call.
   */
  private drain(): Array<XmlToken> {
    if (this.failure && this.out.length === 0) throw this.failure
    const out = this.out
    this.out = []
    return out
  }

  write(bytes: Uint8Array): Array<XmlToken> {
    if (this.failure) return this.drain()
    if (this.bytesSeen === 0) {
      const utf16 = utf16Signature(bytes)
      if (utf16 !== undefined) {
        this.bytesSeen += bytes.length
        this.fail("UTF-8 text", utf16)
        return this.drain()
      }
    }
    this.bytesSeen += bytes.length
    let s: string
    try {
      s = this.decoder.decode(bytes, { stream: true })
    } catch {
      // read what comes before the bad bytes: its tokens are delivered, and the error points at them
      s = this.decodablePrefix(bytes)
      if (s.length) this.parser.write(s)
      this.fail("UTF-8 text", "bytes that are not UTF-8")
      return this.drain()
    }
    this.heldBack = heldBackAfter(this.heldBack, bytes)
    if (s.length) this.parser.write(s)
    return this.drain()
  }

  end(): Array<XmlToken> {
    if (this.failure) throw this.failure
    let s: string
    try {
      s = this.decoder.decode()
    } catch {
      throw new XmlSyntaxError(this.parser.line, this.parser.column + 1, "UTF-8 text", "a truncated UTF-8 sequence at the end")
    }
    if (s.length) this.parser.write(s)
    if (!this.sawRoot && this.failure === undefined) {
      throw new XmlSyntaxError(this.parser.line, this.parser.column + 1, "an XML document", this.bytesSeen === 0 ? "an empty file" : "no root element")
    }
    if (this.failure === undefined) this.parser.close()
    if (this.failure) throw this.failure
    return this.drain()
  }

  /**
   * The text of the longest start of (held-back bytes + `bytes`) that is UTF-8, decoded afresh
   * (the streaming decoder is of no use once it has thrown). Only on the error path: a binary
   * search, each step a decode.
   */
  private decodablePrefix(bytes: Uint8Array): string {
    const data = Buffer.concat([this.heldBack, bytes])
    // a BOM is dropped only at the very start of the input
    const atStart = this.bytesSeen === data.length
    const decode = (n: number): string => new TextDecoder("utf-8", { fatal: true, ignoreBOM: !atStart }).decode(data.subarray(0, n), { stream: true })
    const decodes = (n: number): boolean => {
      try {
        decode(n)
        return true
      } catch {
        return false
      }
    }
    let good = 0
    let bad = data.length
    while (bad - good > 1) {
      const mid = (good + bad) >>> 1
      if (decodes(mid)) good = mid
      else bad = mid
    }
    return decode(good)
  }
}

const noBytes = new Uint8Array(0)

/**
 * UTF-16 named as such (a byte order mark, or `<` beside a zero byte: the service's documents
 * start with `<`), so that the message says what the file is, not which byte broke.
 */
export const utf16Signature = (bytes: Uint8Array): string | undefined => {
  if (bytes.length < 2) return undefined
  const [a, b] = [bytes[0], bytes[1]]
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) return "UTF-16 text (a UTF-16 byte order mark); save the file as UTF-8"
  if (a === 0x3c && b === 0x00) return "UTF-16 text (little-endian, without a byte order mark); save the file as UTF-8"
  if (a === 0x00 && b === 0x3c) return "UTF-16 text (big-endian, without a byte order mark); save the file as UTF-8"
  return undefined
}

/**
 * The bytes at the end of the input so far that a streaming UTF-8 decoder holds back: the start
 * of a character whose other bytes are still to come (0 to 3 bytes). `before` is what was held
 * back before `bytes`; the input so far is known to be valid UTF-8.
 */
const heldBackAfter = (before: Uint8Array, bytes: Uint8Array): Uint8Array => {
  const end = bytes.length >= 3 ? bytes.subarray(bytes.length - 3) : Buffer.concat([before, bytes]).subarray(-3)
  for (let i = end.length - 1; i >= 0; i--) {
    const b = end[i]!
    if ((b & 0xc0) === 0x80) continue // a continuation byte: its lead is further back
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return size > end.length - i ? end.slice(i) : noBytes
  }
  return noBytes
}

/** A format reader: bytes in, its own events out, issues via thrown XmlSyntaxError or InputIssue. */
export interface PushParser<A> {
  write(bytes: Uint8Array): Iterable<A>
  end(): Iterable<A>
}

/** A rule broken at a place in the file; thrown by format state machines. */
export class InputIssue extends Error {
  constructor(readonly issue: Omit<Issue, "file">) {
    super(`expected ${issue.expected}, found ${issue.found}`)
  }
}

const toInvalid = (format: InputFormat, file: string, e: unknown): InvalidInput | undefined => {
  if (e instanceof XmlSyntaxError) return new InvalidInput({ format, file, issues: [{ file, line: e.line, column: e.column, expected: e.expected, found: e.found }] })
  if (e instanceof InputIssue) return new InvalidInput({ format, file, issues: [{ file, ...e.issue }] })
  return undefined
}

/**
 * Run a push parser over a byte stream. The stream fails with InvalidInput at the first
 * structural problem (a reader cannot go on past malformed XML); anything else thrown is a defect.
 */
export const parseXmlStream = <A, E, R>(
  format: InputFormat,
  file: string,
  bytes: Stream.Stream<Uint8Array, E, R>,
  make: () => PushParser<A>,
): Stream.Stream<A, E | InvalidInput, R> =>
  Stream.suspend(() => {
    const parser = make()
    const step = (f: () => Iterable<A>): Effect.Effect<Chunk.Chunk<A>, InvalidInput> =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(Chunk.fromIterable(f()))
        } catch (e) {
          const invalid = toInvalid(format, file, e)
          return invalid ? Effect.fail(invalid) : Effect.die(e)
        }
      })
    return bytes.pipe(
      Stream.mapEffect((chunk) => step(() => parser.write(chunk))),
      Stream.concat(Stream.fromEffect(step(() => parser.end()))),
      Stream.flattenChunks,
    )
  })

/** Names of the attributes on a token that are not in `allowed`. */
export const unknownAttributes = (token: XmlOpen, allowed: ReadonlyArray<string>): Array<string> =>
  Object.keys(token.attributes).filter((k) => !allowed.includes(k))
