/**
 * Metadata files and properties files (formats.md §2): the per-blob or session-wide XML files an
 * import applies to blobs and an export writes next to the files.
 *
 *   <Metadata><Author>Jane</Author>…</Metadata>       one child per metadata pair
 *   <Properties><Content-Type>image/jpeg</Content-Type>…</Properties>
 *
 * Readers return the model, the Base16 MD5 of the file bytes (the manifest names these files with
 * that hash) and every issue (errors and warnings). Writers produce deterministic bytes. The
 * mappings to the Blob SDK's `BlobHTTPHeaders` and metadata record are pure.
 *
 * Rules waie applies where the format is silent (README format notes):
 * - values are taken verbatim (no trimming) and must be valid HTTP header values: printable
 *   ASCII and spaces only; control characters, line breaks, tabs and DEL are errors; non-ASCII is
 *   an error (the Blob service carries these as headers, which have no defined encoding) —
 *   percent-encode such text; leading or trailing spaces are a warning (HTTP drops them);
 * - metadata names: `checkMetadataName` (ASCII C# identifiers), unique ignoring case, names and
 *   values together at most 8 KiB (UTF-8 bytes);
 * - `Last-Modified`, `Etag`, `Content-Length` are accepted, and ignored on import with a warning;
 *   `Content-Disposition` is accepted as a waie extension, with a warning that the service's format
 *   does not list it; any other element is an error; each element at most once;
 * - a file larger than 1 MiB is refused without parsing it (a valid one is a few KiB).
 */
import { FileSystem } from "@effect/platform"
import { Effect, Stream } from "effect"
import { createHash, type Hash } from "node:crypto"
import { type InputFormat, type Issue, InvalidInput, showValue } from "./errors.ts"
import type { FileUnreadable, FileUnwritable } from "./errors.ts"
import { fileBytes } from "./files.ts"
import { decodeBase64, hexToBase64, isMd5Hex } from "./hash.ts"
import { checkMetadataName, type NameProblem } from "./names.ts"
import { escapeText, hasCharsXmlCannotHold, xmlDeclaration, type XmlOpen, XmlTokenizer, XmlSyntaxError } from "./xml.ts"
import { FlatXmlWalk, IssueList, syntaxIssue } from "./xml-issues.ts"
import { writeTextAtomically } from "./write-atomic.ts"

// ---------------------------------------------------------------- model

export interface MetadataPair {
  readonly name: string
  readonly value: string
}
/** Metadata in file order (order is kept so that files round-trip byte for byte). */
export type BlobMetadata = ReadonlyArray<MetadataPair>

/** Names and values of all pairs together, in UTF-8 bytes (Blob service limit). */
export const maxMetadataBytes = 8 * 1024

/** A metadata or properties file bigger than this is refused unread. */
export const maxFileBytes = 1024 * 1024

export interface BlobProperties {
  /** export only */
  readonly lastModified?: string
  /** export only */
  readonly etag?: string
  /** export only */
  readonly contentLength?: number
  readonly contentType?: string
  /** Base64 of the 16-byte MD5, as in the file */
  readonly contentMD5?: string
  readonly contentEncoding?: string
  readonly contentLanguage?: string
  readonly cacheControl?: string
  /** a waie extension (not in the Import/Export properties format; the Blob service supports it) */
  readonly contentDisposition?: string
}

type PropertyKey = keyof BlobProperties

export interface PropertyElement {
  readonly element: string
  readonly key: PropertyKey
  /** applied on import (false: written by export, ignored on import) */
  readonly importable: boolean
  readonly extension?: true
}

/** The elements of a properties file, in the order the writer uses (the format's own order). */
export const propertyElements: ReadonlyArray<PropertyElement> = [
  { element: "Last-Modified", key: "lastModified", importable: false },
  { element: "Etag", key: "etag", importable: false },
  { element: "Content-Length", key: "contentLength", importable: false },
  { element: "Content-Type", key: "contentType", importable: true },
  { element: "Content-MD5", key: "contentMD5", importable: true },
  { element: "Content-Encoding", key: "contentEncoding", importable: true },
  { element: "Content-Language", key: "contentLanguage", importable: true },
  { element: "Cache-Control", key: "cacheControl", importable: true },
  { element: "Content-Disposition", key: "contentDisposition", importable: true, extension: true },
]

// ---------------------------------------------------------------- value rules

const hex = (cp: number): string => "U+" + cp.toString(16).toUpperCase().padStart(4, "0")

/** An HTTP header value as the Blob service takes it: printable ASCII and spaces. */
export const checkHeaderValue = (value: string): NameProblem | undefined => {
  let i = 0
  for (const ch of value) {
    i++
    const cp = ch.codePointAt(0)!
    if (cp < 0x20 || cp === 0x7f) {
      const what = cp === 0x0a || cp === 0x0d ? "a line break" : cp === 0x09 ? "a tab" : "a control character"
      return { expected: "a header value without control characters or line breaks", found: `${what} (${hex(cp)}) at character ${i}` }
    }
    if (cp > 0x7e) return { expected: "a header value in printable ASCII (percent-encode other text)", found: `${JSON.stringify(ch)} (${hex(cp)}) at character ${i}` }
  }
  return undefined
}

/** HTTP drops blanks at either end of a header value: the blob would get a different value. */
export const hasOuterBlanks = (value: string): boolean => value !== value.trim()

const md5Bytes = 16

export const checkContentMd5 = (value: string): NameProblem | undefined => {
  if (isMd5Hex(value)) {
    return { expected: "Base64 of a 16-byte MD5 (24 characters ending in ==)", found: `${showValue(value)}, a Base16 (hex) MD5 as the manifest writes it; in Base64 it is ${hexToBase64(value)}` }
  }
  const bytes = decodeBase64(value)
  if (bytes === undefined) return { expected: "Base64 of a 16-byte MD5 (24 characters ending in ==)", found: showValue(value) }
  if (bytes.length !== md5Bytes) return { expected: "Base64 of a 16-byte MD5 (24 characters ending in ==)", found: `${showValue(value)} (${bytes.length} bytes)` }
  return undefined
}

const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")

// ---------------------------------------------------------------- reading

export interface FileRead<A> {
  /** what could be read; complete only when `valid` */
  readonly value: A
  /** Base16 MD5 of the file bytes, upper-case */
  readonly md5: string
  readonly bytes: number
  /** errors and warnings, in file order */
  readonly issues: ReadonlyArray<Issue>
  readonly omitted: number
  /** no error among the issues (warnings allowed) */
  readonly valid: boolean
}

interface ElementRules {
  readonly format: InputFormat
  readonly root: "Metadata" | "Properties"
  /** an element directly under the root opens */
  readonly child: (t: XmlOpen) => boolean
  /** that element closes with its text */
  readonly value: (t: XmlOpen, text: string) => void
  readonly finish: (rootClose: { line: number; column: number }) => void
}

/** The shared skeleton: root, flat children holding text (`FlatXmlWalk`), hashing every byte. */
abstract class FlatXmlParser<A> {
  readonly issues: IssueList
  private readonly tokenizer = new XmlTokenizer()
  private readonly walk: FlatXmlWalk
  private readonly hash: Hash = createHash("md5")
  private size = 0
  private dead = false

  constructor(file: string) {
    this.issues = new IssueList(file)
    this.walk = new FlatXmlWalk(this.issues, {
      root: (t) => {
        if (t.name === this.rules.root) return true
        this.issue(t, "root element", `<${this.rules.root}> as the root element of a ${this.rules.format} file`, `<${t.name}>`)
        return false
      },
      child: (t) => this.rules.child(t),
      value: (t, text) => this.rules.value(t, text),
      end: (close) => this.rules.finish(close),
    })
  }

  protected abstract readonly rules: ElementRules
  protected abstract model(): A

  protected issue(at: { line: number; column: number }, field: string, expected: string, found: string, severity?: "warning"): void {
    this.issues.at(at, field, expected, found, severity)
  }

  write(bytes: Uint8Array): void {
    this.hash.update(bytes)
    this.size += bytes.length
    if (this.dead) return
    if (this.size > maxFileBytes) {
      this.issues.add({ expected: `a ${this.rules.format} file of at most ${maxFileBytes} bytes`, found: `more than ${maxFileBytes} bytes` })
      this.dead = true
      return
    }
    try {
      for (const t of this.tokenizer.write(bytes)) this.walk.token(t)
    } catch (e) {
      this.fatal(e)
    }
  }

  end(): FileRead<A> {
    if (!this.dead) {
      try {
        for (const t of this.tokenizer.end()) this.walk.token(t)
      } catch (e) {
        this.fatal(e)
      }
    }
    return {
      value: this.model(),
      md5: this.hash.digest("hex").toUpperCase(),
      bytes: this.size,
      issues: this.issues.sorted(),
      omitted: this.issues.omitted,
      valid: !this.issues.hasErrors,
    }
  }

  private fatal(e: unknown): void {
    if (!(e instanceof XmlSyntaxError)) throw e
    this.issues.add(syntaxIssue(e))
    this.dead = true
  }
}

/** The metadata file state machine; `parseMetadata` runs it over bytes in memory. */
export class MetadataParser extends FlatXmlParser<BlobMetadata> {
  private readonly pairs: Array<MetadataPair> = []
  private readonly seen = new Map<string, { name: string; line: number }>()
  private total = 0

  protected readonly rules: ElementRules = {
    format: "metadata",
    root: "Metadata",
    child: (t) => {
      const p = checkMetadataName(t.name)
      if (p) this.issue(t, "metadata name", p.expected, p.found)
      const key = t.name.toLowerCase()
      const first = this.seen.get(key)
      if (first) this.issue(t, "metadata name", `names that differ in more than letter case (the Blob service ignores case)`, `${showValue(t.name)}, already given as ${showValue(first.name)} on line ${first.line}`)
      else this.seen.set(key, { name: t.name, line: t.line })
      return true
    },
    value: (t, text) => {
      const p = checkHeaderValue(text)
      if (p) this.issue(t, t.name, p.expected, p.found)
      else if (hasOuterBlanks(text)) this.issue(t, t.name, "no spaces at the start or end (HTTP drops them, so the blob would get a different value)", showValue(text), "warning")
      this.total += utf8Length(t.name) + utf8Length(text)
      if (this.total <= maxMetadataBytes) this.pairs.push({ name: t.name, value: text })
    },
    finish: (at) => {
      if (this.total > maxMetadataBytes) this.issue(at, "Metadata", `names and values of at most ${maxMetadataBytes} bytes in all`, `${this.total} bytes`)
    },
  }

  protected model(): BlobMetadata {
    return this.pairs
  }
}

export type PropertiesContext = "import" | "export"

/** The properties file state machine. `context` says whether export-only elements deserve a warning. */
export class PropertiesParser extends FlatXmlParser<BlobProperties> {
  private readonly props: { -readonly [K in PropertyKey]?: BlobProperties[K] } = {}
  private readonly lines = new Map<string, number>()

  constructor(
    file: string,
    private readonly context: PropertiesContext = "import",
  ) {
    super(file)
  }

  protected readonly rules: ElementRules = {
    format: "properties",
    root: "Properties",
    child: (t) => {
      const el = propertyElements.find((p) => p.element === t.name)
      if (el === undefined) {
        this.issue(t, "Properties", `one of ${propertyElements.map((p) => p.element).join(", ")} (names are case-sensitive)`, `<${t.name}>`)
        return false
      }
      const first = this.lines.get(t.name)
      if (first !== undefined) {
        this.issue(t, t.name, `each property at most once`, `<${t.name}> again (first on line ${first})`)
        return false
      }
      this.lines.set(t.name, t.line)
      if (!el.importable && this.context === "import") this.issue(t, t.name, `only properties an import applies (${t.name} is written by export and ignored on import)`, `<${t.name}>`, "warning")
      if (el.extension) this.issue(t, t.name, `the properties of the Import/Export format (${t.name} is a waie extension the service's format does not list; waie applies it)`, `<${t.name}>`, "warning")
      return true
    },
    value: (t, text) => {
      const el = propertyElements.find((p) => p.element === t.name)!
      const p = checkHeaderValue(text)
      if (p) return this.issue(t, t.name, p.expected, p.found)
      if (el.key === "contentLength") {
        const n = /^\d+$/.test(text) ? Number(text) : NaN
        if (!Number.isSafeInteger(n)) return this.issue(t, t.name, "the blob's size in bytes (a whole number)", showValue(text))
        this.props.contentLength = n
        return
      }
      if (el.key === "contentMD5") {
        const q = checkContentMd5(text)
        if (q) return this.issue(t, t.name, q.expected, q.found)
      } else if (hasOuterBlanks(text)) this.issue(t, t.name, "no spaces at the start or end (HTTP drops them, so the blob would get a different value)", showValue(text), "warning")
      this.props[el.key] = text as never
    },
    finish: () => {},
  }

  protected model(): BlobProperties {
    // element order, whatever the file order
    const out: { -readonly [K in PropertyKey]?: BlobProperties[K] } = {}
    for (const el of propertyElements) if (this.props[el.key] !== undefined) out[el.key] = this.props[el.key] as never
    return out
  }
}

/** Parse a metadata file held in memory (tests; callers with the bytes at hand). */
export const parseMetadata = (bytes: Uint8Array, file: string): FileRead<BlobMetadata> => {
  const p = new MetadataParser(file)
  p.write(bytes)
  return p.end()
}

export const parseProperties = (bytes: Uint8Array, file: string, context: PropertiesContext = "import"): FileRead<BlobProperties> => {
  const p = new PropertiesParser(file, context)
  p.write(bytes)
  return p.end()
}

const readWith = <A>(format: InputFormat, real: string, shown: string, make: () => FlatXmlParser<A>): Effect.Effect<FileRead<A>, FileUnreadable, FileSystem.FileSystem> =>
  Effect.suspend(() => {
    const p = make()
    return Stream.runForEach(fileBytes(real, shown), (chunk) => Effect.sync(() => p.write(chunk))).pipe(Effect.map(() => p.end()))
  })

/** The result when the file is valid (warnings inside), else InvalidInput with every issue. */
const orInvalid =
  (format: InputFormat, shown: string) =>
  <A>(r: FileRead<A>): Effect.Effect<FileRead<A>, InvalidInput> =>
    r.valid ? Effect.succeed(r) : Effect.fail(new InvalidInput({ format, file: shown, issues: r.issues, ...(r.omitted > 0 ? { omitted: r.omitted } : {}) }))

/** Read a metadata file, streaming (memory stays flat whatever the file size). */
export const readMetadataFile = (real: string, shown: string = real): Effect.Effect<FileRead<BlobMetadata>, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  readWith("metadata", real, shown, () => new MetadataParser(shown)).pipe(Effect.flatMap(orInvalid("metadata", shown)))

export const readPropertiesFile = (
  real: string,
  shown: string = real,
  context: PropertiesContext = "import",
): Effect.Effect<FileRead<BlobProperties>, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  readWith("properties", real, shown, () => new PropertiesParser(shown, context)).pipe(Effect.flatMap(orInvalid("properties", shown)))

// ---------------------------------------------------------------- writing

/** The model breaks a rule of its file format: a bug in the caller, not bad input. */
export class BlobPropsWriteError extends Error {}

const checkedText = (what: string, value: string): string => {
  if (hasCharsXmlCannotHold(value)) throw new BlobPropsWriteError(`${what}: ${JSON.stringify(value)} holds characters XML 1.0 cannot carry`)
  const p = checkHeaderValue(value)
  if (p) throw new BlobPropsWriteError(`${what}: expected ${p.expected}, found ${p.found}`)
  return escapeText(value)
}

/**
 * `<?xml version="1.0" encoding="UTF-8"?>` (as in the format's documentation), `<Metadata>`, one
 * pair per line indented by two spaces, LF line ends; no pairs: `<Metadata />`.
 */
export const serializeMetadata = (pairs: BlobMetadata): string => {
  const seen = new Set<string>()
  let total = 0
  let body = ""
  for (const { name, value } of pairs) {
    const p = checkMetadataName(name)
    if (p) throw new BlobPropsWriteError(`metadata name: expected ${p.expected}, found ${p.found}`)
    if (seen.has(name.toLowerCase())) throw new BlobPropsWriteError(`metadata name ${JSON.stringify(name)} given twice (ignoring case)`)
    seen.add(name.toLowerCase())
    total += utf8Length(name) + utf8Length(value)
    body += `  <${name}>${checkedText(name, value)}</${name}>\n`
  }
  if (total > maxMetadataBytes) throw new BlobPropsWriteError(`metadata of ${total} bytes is more than the ${maxMetadataBytes} the Blob service takes`)
  return xmlDeclaration + (body === "" ? "<Metadata />\n" : `<Metadata>\n${body}</Metadata>\n`)
}

/** Same layout for `<Properties>`, elements in the format's order whatever the model's. */
export const serializeProperties = (props: BlobProperties): string => {
  let body = ""
  for (const el of propertyElements) {
    const v = props[el.key]
    if (v === undefined) continue
    let s: string
    if (el.key === "contentLength") {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new BlobPropsWriteError(`Content-Length: expected a whole number of bytes, found ${String(v)}`)
      s = String(v)
    } else {
      s = checkedText(el.element, String(v))
      if (el.key === "contentMD5") {
        const p = checkContentMd5(String(v))
        if (p) throw new BlobPropsWriteError(`Content-MD5: expected ${p.expected}, found ${p.found}`)
      }
    }
    body += `  <${el.element}>${s}</${el.element}>\n`
  }
  return xmlDeclaration + (body === "" ? "<Properties />\n" : `<Properties>\n${body}</Properties>\n`)
}

export const writeMetadataFile = (real: string, pairs: BlobMetadata, shown: string = real): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.suspend(() => writeTextAtomically(real, Stream.make(serializeMetadata(pairs)), shown))

export const writePropertiesFile = (real: string, props: BlobProperties, shown: string = real): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.suspend(() => writeTextAtomically(real, Stream.make(serializeProperties(props)), shown))

// ---------------------------------------------------------------- Blob SDK mapping

/** The field names of `@azure/storage-blob`'s `BlobHTTPHeaders` (no SDK import needed). */
export interface BlobHttpHeadersFields {
  blobContentType?: string
  blobContentMD5?: Uint8Array
  blobContentEncoding?: string
  blobContentLanguage?: string
  blobCacheControl?: string
  blobContentDisposition?: string
}

/**
 * What an import sets: the importable properties only (`Last-Modified`, `Etag`, `Content-Length`
 * are the service's to decide). Content-MD5 goes as its 16 bytes.
 */
export const toBlobHttpHeaders = (p: BlobProperties): BlobHttpHeadersFields => {
  const h: BlobHttpHeadersFields = {}
  if (p.contentType !== undefined) h.blobContentType = p.contentType
  if (p.contentMD5 !== undefined) {
    const bytes = decodeBase64(p.contentMD5)
    if (bytes === undefined || bytes.length !== md5Bytes) throw new BlobPropsWriteError(`Content-MD5: not Base64 of 16 bytes: ${JSON.stringify(p.contentMD5)}`)
    h.blobContentMD5 = bytes
  }
  if (p.contentEncoding !== undefined) h.blobContentEncoding = p.contentEncoding
  if (p.contentLanguage !== undefined) h.blobContentLanguage = p.contentLanguage
  if (p.cacheControl !== undefined) h.blobCacheControl = p.cacheControl
  if (p.contentDisposition !== undefined) h.blobContentDisposition = p.contentDisposition
  return h
}

/** The fields of the SDK's Get Blob Properties response that an export writes to a properties file. */
export interface BlobPropertiesResponseFields {
  lastModified?: Date
  etag?: string
  contentLength?: number
  contentType?: string
  contentMD5?: Uint8Array
  contentEncoding?: string
  contentLanguage?: string
  cacheControl?: string
  contentDisposition?: string
}

/** Export side: the SDK's blob properties as a properties model (Last-Modified in HTTP date form). */
export const fromBlobProperties = (r: BlobPropertiesResponseFields): BlobProperties => ({
  ...(r.lastModified !== undefined ? { lastModified: r.lastModified.toUTCString() } : {}),
  ...(r.etag !== undefined ? { etag: r.etag } : {}),
  ...(r.contentLength !== undefined ? { contentLength: r.contentLength } : {}),
  ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
  ...(r.contentMD5 !== undefined ? { contentMD5: Buffer.from(r.contentMD5).toString("base64") } : {}),
  ...(r.contentEncoding !== undefined ? { contentEncoding: r.contentEncoding } : {}),
  ...(r.contentLanguage !== undefined ? { contentLanguage: r.contentLanguage } : {}),
  ...(r.cacheControl !== undefined ? { cacheControl: r.cacheControl } : {}),
  ...(r.contentDisposition !== undefined ? { contentDisposition: r.contentDisposition } : {}),
})

/** Metadata as the SDK's `metadata` record (names as written). */
export const toMetadataRecord = (m: BlobMetadata): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const { name, value } of m) out[name] = value
  return out
}

/** The SDK's metadata record as pairs, sorted by name so that export output is deterministic. */
export const fromMetadataRecord = (r: Readonly<Record<string, string>>): BlobMetadata =>
  Object.keys(r)
    .sort()
    .map((name) => ({ name, value: r[name]! }))
