/**
 * The export blob list (formats.md §4.2): which blobs an export job (and PreviewExport) copies.
 *
 *   <BlobList>
 *     <BlobPath>pictures/animals/koala.jpg</BlobPath>   one blob, "equal to"
 *     <BlobPathPrefix>/vhds/</BlobPathPrefix>           every blob whose "/" + path starts with it
 *   </BlobList>
 *
 * Rules: root `BlobList`, any mix and order of the two elements (names case-sensitive), at least
 * one entry. A BlobPath is `container/blob` (one leading `/` is accepted and dropped, as in Data
 * Box's sample) and must pass `checkBlobPath`. A prefix starts with `/`: `/` is the whole account,
 * `/book` every container whose name starts with `book`, `/music/` the container `music`,
 * `/music/love` the blobs of `music` whose names start with `love`. Once the container part is
 * complete (a `/` follows it) it must be a valid container name; before that it must be able to
 * start one. Exact duplicates are warnings (PreviewExport counts them), not errors. Entries are
 * taken verbatim: no blanks are trimmed (a blob name may hold them).
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Stream } from "effect"
import { type FileUnreadable, type FileUnwritable, type InvalidInput, type Issue, showValue } from "./errors.ts"
import { fileBytes } from "./files.ts"
import { checkBlobName, checkBlobPath, checkContainer, type NameProblem, rootContainer } from "./names.ts"
import { escapeText, hasCharsXmlCannotHold, InputIssue, xmlDeclarationFor, type XmlOpen, type XmlToken } from "./xml.ts"
import { CollectingTokenParser, FlatXmlWalk, parseCollecting } from "./xml-issues.ts"
import { writeTextAtomically } from "./write-atomic.ts"

export type BlobListEntry = { readonly kind: "path"; readonly path: string } | { readonly kind: "prefix"; readonly prefix: string }

/** An entry as read: where it stands, and the line of an identical earlier entry. */
export interface BlobListItem {
  readonly entry: BlobListEntry
  readonly line: number
  readonly column: number
  readonly duplicateOf?: number
}

export const elementOf = (e: BlobListEntry): "BlobPath" | "BlobPathPrefix" => (e.kind === "path" ? "BlobPath" : "BlobPathPrefix")
export const valueOf = (e: BlobListEntry): string => (e.kind === "path" ? e.path : e.prefix)

// ---------------------------------------------------------------- rules

/** A BlobPath as written → the blob path it names (one leading `/` dropped), or what is wrong. */
export const parseBlobListPath = (raw: string): { path: string } | NameProblem => {
  const path = raw.startsWith("/") ? raw.slice(1) : raw
  const p = checkBlobPath(path)
  return p ?? { path }
}

/** Can `s` start a container name? (`boo`, `my-`, `$ro`) */
const containerStart = /^(?=.{1,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*$/

export const checkBlobPathPrefix = (prefix: string): NameProblem | undefined => {
  if (!prefix.startsWith("/")) {
    return { expected: "a prefix starting with '/' (/ = the whole account, /music/ = container music, /music/love = blobs of music starting with love)", found: showValue(prefix) }
  }
  const rest = prefix.slice(1)
  if (rest === "") return undefined
  const slash = rest.indexOf("/")
  if (slash === -1) {
    if (rootContainer.startsWith(rest) || containerStart.test(rest)) return undefined
    return { expected: "the start of a container name after '/' (lower-case letters, digits, single dashes; or $root)", found: showValue(prefix) }
  }
  const container = rest.slice(0, slash)
  const c = checkContainer(container)
  if (c) return { expected: c.expected, found: `${c.found} in prefix ${showValue(prefix)}` }
  const blob = rest.slice(slash + 1)
  if (blob === "") return undefined
  if (container === rootContainer && blob.includes("/")) return { expected: "no '/' after /$root/ (blobs of the root container have no '/' in their names)", found: showValue(prefix) }
  // the last segment of a prefix may be the start of a longer name (`.` of `.hidden`): only whole segments must not be `.` or `..`
  const segments = blob.split("/")
  const last = segments[segments.length - 1]!
  const b = checkBlobName(last === "." || last === ".." ? [...segments.slice(0, -1), "x".repeat(last.length)].join("/") : blob)
  if (b) return { expected: "a blob-name prefix after the container: " + b.expected.replace(/^a blob name of /, ""), found: b.found }
  return undefined
}

// ---------------------------------------------------------------- selection

/** Does this entry select the blob `container/blob`? */
export const selects = (entry: BlobListEntry, blobPath: string): boolean =>
  entry.kind === "path" ? entry.path === blobPath : ("/" + blobPath).startsWith(entry.prefix)

/** All entries of a list at once: a set of paths, prefixes looked up by length. */
export class BlobListMatcher {
  private readonly paths = new Map<string, BlobListEntry>()
  private readonly prefixes = new Map<string, BlobListEntry>()
  private readonly lengths: ReadonlyArray<number>

  constructor(entries: Iterable<BlobListEntry>) {
    for (const e of entries) {
      if (e.kind === "path") this.paths.set(e.path, e)
      else this.prefixes.set(e.prefix, e)
    }
    this.lengths = [...new Set([...this.prefixes.keys()].map((p) => p.length))].sort((a, b) => a - b)
  }

  selects(blobPath: string): boolean {
    if (this.paths.has(blobPath)) return true
    const full = "/" + blobPath
    for (const n of this.lengths) {
      if (n > full.length) break
      if (this.prefixes.has(full.slice(0, n))) return true
    }
    return false
  }

  /** The distinct entries that select the blob: its path, then prefixes from shortest to longest. */
  matching(blobPath: string): Array<BlobListEntry> {
    const out: Array<BlobListEntry> = []
    const p = this.paths.get(blobPath)
    if (p) out.push(p)
    const full = "/" + blobPath
    for (const n of this.lengths) {
      if (n > full.length) break
      const e = this.prefixes.get(full.slice(0, n))
      if (e) out.push(e)
    }
    return out
  }
}

/** What an entry selects, in words. */
export const describeEntry = (e: BlobListEntry): string => {
  if (e.kind === "path") {
    const slash = e.path.indexOf("/")
    const container = e.path.slice(0, slash)
    return `the blob ${showValue(e.path.slice(slash + 1))} in ${container === rootContainer ? "the root container" : `container ${container}`}`
  }
  const rest = e.prefix.slice(1)
  if (rest === "") return "every blob in the account"
  const slash = rest.indexOf("/")
  if (slash === -1) return `every blob of every container whose name starts with ${showValue(rest)}`
  const container = rest.slice(0, slash)
  const blob = rest.slice(slash + 1)
  const where = container === rootContainer ? "the root container" : `container ${container}`
  return blob === "" ? `every blob in ${where}` : `every blob in ${where} whose name starts with ${showValue(blob)}`
}

// ---------------------------------------------------------------- reading

/** The warning for an entry given again (PreviewExport counts duplicates; they are not errors). */
export const duplicateWarning = (item: BlobListItem, firstLine: number): Omit<Issue, "file"> => ({
  line: item.line,
  column: item.column,
  field: elementOf(item.entry),
  expected: "each blob path or prefix once (PreviewExport counts duplicates)",
  found: `${showValue(valueOf(item.entry))} again (first on line ${firstLine})`,
  severity: "warning",
})

export class BlobListParser extends CollectingTokenParser<BlobListItem> {
  private entries = 0
  /** value → line of its first occurrence (memory grows with the distinct entries) */
  private readonly seen = new Map<string, number>()
  private readonly walk = new FlatXmlWalk(this.issues, {
    root: (t) => {
      if (t.name !== "BlobList") throw new InputIssue({ line: t.line, column: t.column, field: "root element", expected: "<BlobList> as the root element of a blob list", found: `<${t.name}>` })
      return true
    },
    child: (t) => {
      this.entries++
      if (t.name === "BlobPath" || t.name === "BlobPathPrefix") return true
      this.issues.at(t, "BlobList", "<BlobPath> or <BlobPathPrefix> (names are case-sensitive)", `<${t.name}>`)
      return false
    },
    value: (t, text) => this.entry(t, text),
    end: (close) => {
      if (this.entries === 0) this.issues.at(close, "BlobList", "at least one <BlobPath> or <BlobPathPrefix>", "an empty <BlobList>")
    },
  })

  protected token(t: XmlToken): void {
    this.walk.token(t)
  }

  private entry(t: XmlOpen, text: string): void {
    let entry: BlobListEntry
    if (t.name === "BlobPath") {
      const r = parseBlobListPath(text)
      if ("expected" in r) return this.issues.at(t, "BlobPath", r.expected, r.found.startsWith('"') ? r.found : `${r.found} in ${showValue(text)}`)
      entry = { kind: "path", path: r.path }
    } else {
      const p = checkBlobPathPrefix(text)
      if (p) return this.issues.at(t, "BlobPathPrefix", p.expected, p.found)
      entry = { kind: "prefix", prefix: text }
    }
    const key = `${entry.kind}\u0000${valueOf(entry)}`
    const first = this.seen.get(key)
    const item: BlobListItem = { entry, line: t.line, column: t.column, ...(first !== undefined ? { duplicateOf: first } : {}) }
    if (first === undefined) this.seen.set(key, t.line)
    else this.issues.add(duplicateWarning(item, first))
    this.emit(item)
  }
}

export const readBlobList = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<BlobListItem, E | InvalidInput, R> =>
  parseCollecting("bloblist", file, bytes, (f) => new BlobListParser(f))

export const readBlobListFile = (real: string, shown: string = real): Stream.Stream<BlobListItem, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  readBlobList(shown, fileBytes(real, shown))

// ---------------------------------------------------------------- writing

export class BlobListWriteError extends Error {}

export const blobListDeclaration = xmlDeclarationFor("utf-8")

/** One entry's line (two-space indent, LF); the entry must pass the reader's rules. */
export const blobListLine = (e: BlobListEntry): string => {
  const value = valueOf(e)
  if (hasCharsXmlCannotHold(value)) throw new BlobListWriteError(`${JSON.stringify(value)} holds characters XML 1.0 cannot carry`)
  const p = e.kind === "path" ? checkBlobPath(value) : checkBlobPathPrefix(value)
  if (p) throw new BlobListWriteError(`${elementOf(e)}: expected ${p.expected}, found ${p.found}`)
  const name = elementOf(e)
  return `  <${name}>${escapeText(value)}</${name}>\n`
}

/** `<?xml version="1.0" encoding="utf-8"?>` (as in the format's sample), `<BlobList>`, an entry per line. */
export const serializeBlobList = (entries: Iterable<BlobListEntry>): string => {
  let body = ""
  for (const e of entries) body += blobListLine(e)
  if (body === "") throw new BlobListWriteError("a blob list needs at least one entry")
  return `${blobListDeclaration}<BlobList>\n${body}</BlobList>\n`
}

export const writeBlobListFile = <E, R>(real: string, entries: Stream.Stream<BlobListEntry, E, R>, shown: string = real): Effect.Effect<void, E | FileUnwritable, R | FileSystem.FileSystem> =>
  Effect.suspend(() => {
    let n = 0
    const text = Stream.make(blobListDeclaration + "<BlobList>\n").pipe(
      Stream.concat(Stream.map(entries, (e) => (n++, blobListLine(e)))),
      Stream.concat(
        Stream.fromEffect(
          Effect.sync(() => {
            if (n === 0) throw new BlobListWriteError("a blob list needs at least one entry")
            return "</BlobList>\n"
          }),
        ),
      ),
    )
    return writeTextAtomically(real, text, shown)
  })
