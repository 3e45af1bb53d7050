/**
 * Collecting every issue of an XML input, not only the first. `lib/xml.ts` stops at the first
 * thrown problem; the format readers of copy logs, metadata/properties files and blob lists
 * instead record value-level problems (an unknown status code, a bad number) in an `IssueList`
 * and go on, so that one run shows everything wrong with a file. Only malformed XML (or a wrong
 * root element) stops a reader, and the issues found before it are kept.
 */
import { Stream } from "effect"
import { type InputFormat, type Issue, InvalidInput } from "./errors.ts"
import { parseXmlStream, type PushParser, type XmlSyntaxError } from "./xml.ts"

/** Issues kept per file; beyond that they are only counted (memory stays bounded). */
export const maxIssues = 100

export class IssueList {
  readonly issues: Array<Issue> = []
  omitted = 0
  private errors = 0

  constructor(readonly file: string) {}

  add(issue: Omit<Issue, "file">): void {
    if (issue.severity !== "warning") this.errors++
    if (this.issues.length < maxIssues) this.issues.push({ file: this.file, ...issue })
    else this.omitted++
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

/** A non-negative decimal integer that fits a JS number exactly; blanks around it are tolerated. */
export const parseCount = (s: string): number | undefined => {
  const t = s.trim()
  if (!/^\d+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Text of an element that takes no attributes: names of those it has anyway. */
export const attributeNames = (attrs: Readonly<Record<string, string>>): Array<string> => Object.keys(attrs).filter((k) => k !== "xmlns" && !k.startsWith("xmlns:"))
