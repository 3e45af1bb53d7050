/**
 * Collecting every issue of an XML input, not only the first. `lib/xml.ts` stops at the first
 * thrown problem; the format readers of copy logs, metadata/properties files and blob lists
 * instead record value-level problems (an unknown status code, a bad number) in an `IssueList`
 * and go on, so that one run shows everything wrong with a file. Only malformed XML (or a wrong
 * root element) stops a reader, and the issues found before it are kept.
 */
import { Stream } from "effect"
import { type InputFormat, type Issue, InvalidInput, showValue } from "./errors.ts"
import { IssueLog } from "./issues.ts"
import { parseXmlStream, type PushParser, type XmlClose, type XmlOpen, type XmlSyntaxError, type XmlToken, XmlTokenizer } from "./xml.ts"

/** Issues kept per file; beyond that they are only counted (memory stays bounded). */
export const maxIssues = 100

/** An `IssueLog` of at most `maxIssues`, sorted in file order, that becomes the InvalidInput of a reader. */
export class IssueList extends IssueLog {
  constructor(file: string) {
    super(file, maxIssues)
  }

  get hasErrors(): boolean {
    return this.errors > 0
  }

  /** In file order (line, then column; issues without a line last), found order among equals. */
  sorted(): Array<Issue> {
    const key = (i: Issue) => (i.line === undefined ? Number.MAX_SAFE_INTEGER : i.line * 1e6 + (i.column ?? 0))
    return this.issues.map((i, n) => [i, n] as const).sort(([a, n], [b, m]) => key(a) - key(b) || n - m).map(([i]) => i)
  }

  toInvalid(format: InputFormat): InvalidInput {
    return new InvalidInput({ format, file: this.file, issues: this.sorted(), ...(this.omitted > 0 ? { omitted: this.omitted } : {}) })
  }
}

export const syntaxIssue = (e: XmlSyntaxError): Omit<Issue, "file"> => ({ line: e.line, column: e.column, expected: e.expected, found: e.found })

/** A push parser that records its issues instead of throwing them. */
export interface CollectingParser<A> extends PushParser<A> {
  readonly issues: IssueList
}

/**
 * A collecting parser on the XML tokens: bytes go to the tokenizer whole, each token to `token`,
 * and the values it `emit`s come out of that write (or of `end`).
 */
export abstract class CollectingTokenParser<A> implements CollectingParser<A> {
  readonly issues: IssueList
  private readonly tokenizer = new XmlTokenizer()
  private out: Array<A> = []

  constructor(file: string) {
    this.issues = new IssueList(file)
  }

  protected abstract token(t: XmlToken): void

  protected emit(a: A): void {
    this.out.push(a)
  }

  write(bytes: Uint8Array): Iterable<A> {
    for (const t of this.tokenizer.write(bytes)) this.token(t)
    return this.drain()
  }

  end(): Iterable<A> {
    for (const t of this.tokenizer.end()) this.token(t)
    return this.drain()
  }

  private drain(): Array<A> {
    const out = this.out
    this.out = []
    return out
  }
}

/** What a flat XML format decides; `FlatXmlWalk` does the rest. */
export interface FlatXmlFormat {
  /** the root element opened: false to skip it (the format reported why; or it throws to stop) */
  readonly root: (t: XmlOpen) => boolean
  /** an element under the root opened: false to skip it (the format reported why) */
  readonly child: (t: XmlOpen) => boolean
  /** that element closed with its text */
  readonly value: (t: XmlOpen, text: string) => void
  /** the root closed */
  readonly end: (close: XmlClose) => void
}

/**
 * The walk over a flat XML document, shared by the blob list and the metadata and properties
 * files: a root element whose children hold text only. Attributes (`xmlns` ones aside) on the
 * root or a child, an element inside a child and text between the children are issues; the
 * format decides on the root, each child and each value.
 */
export class FlatXmlWalk {
  private depth = 0
  /** open elements being skipped (a wrong root, a child the format refused, an element in a value) */
  private skip = 0
  private root: XmlOpen | undefined
  private child: XmlOpen | undefined

  constructor(
    private readonly issues: IssueList,
    private readonly format: FlatXmlFormat,
  ) {}

  token(t: XmlToken): void {
    if (t.kind === "open") {
      if (this.skip > 0) return void this.skip++
      if (this.depth === 0) {
        if (!this.format.root(t)) return void (this.skip = 1)
        this.root = t
      } else if (this.depth === 1) {
        if (!this.format.child(t)) return void (this.skip = 1)
        this.child = t
      } else {
        const child = this.child!
        this.issues.at(t, child.name, `text only in <${child.name}>`, `a <${t.name}> element`)
        return void (this.skip = 1)
      }
      for (const a of attributeNames(t.attributes)) this.issues.at(t, `${t.name}/@${a}`, `no attributes on <${t.name}>`, `${a}=${showValue(t.attributes[a]!)}`)
      this.depth++
      return
    }
    if (this.skip > 0) return void this.skip--
    this.depth--
    if (this.depth === 1) {
      this.format.value(this.child!, t.text)
      this.child = undefined
    } else if (this.depth === 0) {
      const root = this.root!.name
      if (t.mixed) this.issues.at(t, root, `only elements in <${root}>`, "text between them")
      this.format.end(t)
    }
  }
}

/**
 * `parseXmlStream` for a collecting parser: the stream ends by failing with InvalidInput holding
 * every issue recorded (warnings included) when any of them is an error; a fatal problem (malformed
 * XML) is added after the ones recorded before it.
 */
export const parseCollecting = <A, E, R>(
  format: InputFormat,
  file: string,
  bytes: Stream.Stream<Uint8Array, E, R>,
  make: (file: string) => CollectingParser<A>,
): Stream.Stream<A, E | InvalidInput, R> =>
  Stream.suspend(() => {
    let parser: CollectingParser<A> | undefined
    const events = parseXmlStream(format, file, bytes, () => (parser = make(file)))
    const merged = (fatal: InvalidInput): InvalidInput => {
      const list = parser?.issues ?? new IssueList(file)
      for (const i of fatal.issues) list.add(i)
      return list.toInvalid(format)
    }
    return events.pipe(
      Stream.catchAll((e: E | InvalidInput) => Stream.fail(e instanceof InvalidInput && e.file === file && e.format === format ? merged(e) : e)),
      Stream.concat(Stream.suspend(() => (parser !== undefined && parser.issues.hasErrors ? Stream.fail(parser.issues.toInvalid(format)) : Stream.empty))),
    )
  })

// ---------------------------------------------------------------- small value checks

/** Text of an element that takes no attributes: names of those it has anyway. */
export const attributeNames = (attrs: Readonly<Record<string, string>>): Array<string> => Object.keys(attrs).filter((k) => k !== "xmlns" && !k.startsWith("xmlns:"))
