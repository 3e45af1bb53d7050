/**
 * Reading a DriveManifest as a stream of events. A synchronous state machine on the XML tokens of
 * `lib/xml.ts`; it holds the data of one element at a time (the simple fields of the current
 * `<Blob>` until its list starts), never the file.
 *
 * Structural problems stop the reader (a reader cannot go on past them): malformed XML, a DOCTYPE,
 * an unknown element or attribute, an element in the wrong place or given twice, a missing required
 * element or attribute (BlobPath, FilePath, Length, Offset, Hash), an Offset or Length that is not
 * a non-negative integer. Everything else (hash format, block order, names…) is a rule for the
 * checker, which goes on and reports every violation.
 *
 * Tolerated: any `Version` (the checker warns on unknown ones), hashes in either case with white
 * space around them (normalised to upper case), numbers with white space around them, comments,
 * white space between elements, `xmlns` attributes. Strings (paths, ids, client data, credentials)
 * are kept exactly as written.
 */
import type { Stream } from "effect"
import { parseLength } from "./blocks.ts"
import { type InvalidInput, type Issue, showValue } from "./errors.ts"
import type { BlobFieldName, BlobListKind, DriveFieldName, FileRef, ManifestEvent, Pos } from "./manifest-model.ts"
import { normaliseHash } from "./manifest-model.ts"
import { InputIssue, parseXmlStream, type PushParser, type XmlClose, type XmlOpen, XmlSyntaxError, XmlTokenizer } from "./xml.ts"

type Kind = "DriveManifest" | "Drive" | "BlobList" | "Blob" | "BlockList" | "PageRangeList" | "Text" | "Empty"

interface Frame {
  readonly kind: Kind
  readonly name: string
  readonly line: number
  readonly column: number
  /** Text frames: where the value goes */
  readonly owner?: "Drive" | "BlobList" | "Blob"
  readonly hash?: string
}

const driveFields: ReadonlySet<string> = new Set<DriveFieldName>(["DriveId", "StorageAccountKey", "ContainerSas", "ClientCreator"])
const blobFields: ReadonlySet<string> = new Set<BlobFieldName>(["BlobPath", "FilePath", "ClientData", "Snapshot", "Length", "ImportDisposition"])

// Block and PageRange frames carry nothing of their own: shared, so that millions of blocks allocate none
const blockFrame: Frame = { kind: "Empty", name: "Block", line: 0, column: 0 }
const pageRangeFrame: Frame = { kind: "Empty", name: "PageRange", line: 0, column: 0 }

const isXmlns = (name: string): boolean => name === "xmlns" || name.startsWith("xmlns:")

interface BlobState {
  line: number
  column: number
  fields: Partial<Record<BlobFieldName, string>>
  at: Partial<Record<BlobFieldName | "List", { line: number; column: number }>>
  started: boolean
  list: BlobListKind
  metadataPath?: FileRef
  propertiesPath?: FileRef
}

interface ListState {
  line: number
  column: number
  id?: string
  metadataPath?: FileRef
  propertiesPath?: FileRef
  started: boolean
}

/** The manifest state machine: tokens in, events out. Throws InputIssue / XmlSyntaxError. */
export class ManifestParser implements PushParser<ManifestEvent> {
  private readonly tokenizer = new XmlTokenizer()
  private readonly stack: Array<Frame> = []
  private out: Array<ManifestEvent> = []
  private sawDrive = false
  private list: ListState | undefined
  private blob: BlobState | undefined

  /** a structural problem found after some events of the same chunk: those are returned first, it is thrown next */
  private pending: unknown = undefined
  private failed = false

  write(bytes: Uint8Array): Array<ManifestEvent> {
    return this.run(() => this.tokenizer.write(bytes))
  }

  /** the last call: a problem is thrown at once (nothing comes after it to carry it) */
  end(): Array<ManifestEvent> {
    return this.run(() => this.tokenizer.end(), true)
  }

  private run(tokens: () => ReadonlyArray<XmlOpen | XmlClose>, last = false): Array<ManifestEvent> {
    if (this.failed) throw this.pending
    try {
      this.consume(tokens())
    } catch (e) {
      this.failed = true
      this.pending = e
      if (this.out.length === 0 || last) throw e
    }
    const out = this.out
    this.out = []
    return out
  }

  private consume(tokens: ReadonlyArray<XmlOpen | XmlClose>): void {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!
      if (t.kind === "open") this.open(t)
      else this.close(t)
    }
  }

  private fail(at: { line: number; column: number }, field: string, expected: string, found: string): never {
    throw new InputIssue({ line: at.line, column: at.column, field, expected, found })
  }

  private attrs(t: XmlOpen, allowed: ReadonlyArray<string>): void {
    for (const k in t.attributes) {
      if (!allowed.includes(k) && !isXmlns(k)) {
        this.fail(t, `${t.name}/@${k}`, allowed.length ? `only the attributes ${allowed.join(", ")} on <${t.name}>` : `no attributes on <${t.name}>`, `an attribute ${k}`)
      }
    }
  }

  private required(t: XmlOpen, name: string): string {
    const v = t.attributes[name]
    if (v === undefined) this.fail(t, `${t.name}/@${name}`, `a ${name} attribute on <${t.name}>`, "none")
    return v
  }

  private integer(t: XmlOpen, name: string): number {
    const raw = this.required(t, name)
    const n = parseLength(raw)
    if (n === undefined) this.fail(t, `${t.name}/@${name}`, "a non-negative integer", showValue(raw))
    return n
  }

  private push(t: XmlOpen, kind: Kind, extra?: { owner: "Drive" | "BlobList" | "Blob"; hash?: string }): void {
    this.stack.push({ kind, name: t.name, line: t.line, column: t.column, ...(extra ?? {}) })
  }

  private wrongPlace(t: XmlOpen, parent: string, allowed: string): never {
    const known = ["DriveManifest", "Drive", "DriveId", "StorageAccountKey", "ContainerSas", "ClientCreator", "BlobList", "MetadataPath", "PropertiesPath", "Blob", ...blobFields, "BlockList", "PageRangeList", "Block", "PageRange"]
    const what = known.includes(t.name) ? `<${t.name}> (it does not belong here)` : `<${t.name}> (not a manifest element)`
    return this.fail(t, parent, `${allowed} in <${parent}>`, what)
  }

  private fileRef(t: XmlOpen, owner: "BlobList" | "Blob"): void {
    this.attrs(t, ["Hash"])
    const hash = normaliseHash(this.required(t, "Hash"))
    this.push(t, "Text", { owner, hash })
  }

  private open(t: XmlOpen): void {
    const top = this.stack[this.stack.length - 1]
    if (top === undefined) {
      if (t.name !== "DriveManifest") this.fail(t, "DriveManifest", "<DriveManifest> as the root element", `<${t.name}>`)
      this.attrs(t, ["Version"])
      const version = this.required(t, "Version")
      this.out.push({ _tag: "ManifestStart", version, line: t.line, column: t.column })
      this.push(t, "DriveManifest")
      return
    }
    switch (top.kind) {
      case "DriveManifest":
        if (t.name !== "Drive") this.wrongPlace(t, "DriveManifest", "only <Drive>")
        if (this.sawDrive) this.fail(t, "DriveManifest", "one <Drive> in <DriveManifest>", "a second <Drive>")
        this.attrs(t, [])
        this.sawDrive = true
        this.push(t, "Drive")
        return
      case "Drive":
        if (driveFields.has(t.name)) {
          this.attrs(t, [])
          this.push(t, "Text", { owner: "Drive" })
          return
        }
        if (t.name === "BlobList") {
          this.attrs(t, ["Id"])
          const id = t.attributes["Id"]
          this.list = { line: t.line, column: t.column, started: false, ...(id !== undefined ? { id } : {}) }
          this.push(t, "BlobList")
          return
        }
        return this.wrongPlace(t, "Drive", "<DriveId>, <StorageAccountKey>, <ContainerSas>, <ClientCreator> or <BlobList>")
      case "BlobList": {
        const list = this.list!
        if (t.name === "MetadataPath" || t.name === "PropertiesPath") {
          if (list.started) this.fail(t, `BlobList/${t.name}`, `<${t.name}> of a BlobList before its first <Blob>`, `<${t.name}> after a <Blob>`)
          if ((t.name === "MetadataPath" ? list.metadataPath : list.propertiesPath) !== undefined) this.fail(t, `BlobList/${t.name}`, `one <${t.name}> in a <BlobList>`, `a second <${t.name}>`)
          this.fileRef(t, "BlobList")
          return
        }
        if (t.name === "Blob") {
          this.attrs(t, [])
          this.startList()
          this.blob = { line: t.line, column: t.column, fields: {}, at: {}, started: false, list: "none" }
          this.push(t, "Blob")
          return
        }
        return this.wrongPlace(t, "BlobList", "<MetadataPath>, <PropertiesPath> or <Blob>")
      }
      case "Blob": {
        const blob = this.blob!
        if (blobFields.has(t.name)) {
          const name = t.name as BlobFieldName
          if (blob.started) this.fail(t, `Blob/${name}`, `<${name}> before the <BlockList> or <PageRangeList> of its Blob`, `<${name}> after it`)
          if (blob.fields[name] !== undefined) this.fail(t, `Blob/${name}`, `one <${name}> in a <Blob>`, `a second <${name}>`)
          this.attrs(t, [])
          blob.at[name] = { line: t.line, column: t.column }
          this.push(t, "Text", { owner: "Blob" })
          return
        }
        if (t.name === "MetadataPath" || t.name === "PropertiesPath") {
          if ((t.name === "MetadataPath" ? blob.metadataPath : blob.propertiesPath) !== undefined) this.fail(t, `Blob/${t.name}`, `one <${t.name}> in a <Blob>`, `a second <${t.name}>`)
          this.fileRef(t, "Blob")
          return
        }
        if (t.name === "BlockList" || t.name === "PageRangeList") {
          if (blob.started) this.fail(t, `Blob/${t.name}`, "one <BlockList> or <PageRangeList> in a <Blob>", `a second list, <${t.name}>`)
          this.attrs(t, [])
          blob.at.List = { line: t.line, column: t.column }
          this.startBlob(t, t.name === "BlockList" ? "block" : "page")
          this.push(t, t.name)
          return
        }
        return this.wrongPlace(t, "Blob", "<BlobPath>, <FilePath>, <ClientData>, <Snapshot>, <Length>, <ImportDisposition>, <BlockList>, <PageRangeList>, <MetadataPath> or <PropertiesPath>")
      }
      case "BlockList": {
        if (t.name !== "Block") this.wrongPlace(t, "BlockList", "only <Block>")
        this.attrs(t, ["Offset", "Length", "Id", "Hash"])
        const offset = this.integer(t, "Offset")
        const length = this.integer(t, "Length")
        const id = t.attributes["Id"]
        const hash = normaliseHash(this.required(t, "Hash"))
        this.out.push(id === undefined ? { _tag: "Block", offset, length, hash, line: t.line, column: t.column } : { _tag: "Block", offset, length, id, hash, line: t.line, column: t.column })
        this.stack.push(blockFrame)
        return
      }
      case "PageRangeList": {
        if (t.name !== "PageRange") this.wrongPlace(t, "PageRangeList", "only <PageRange>")
        this.attrs(t, ["Offset", "Length", "Hash"])
        const offset = this.integer(t, "Offset")
        const length = this.integer(t, "Length")
        const hash = normaliseHash(this.required(t, "Hash"))
        this.out.push({ _tag: "PageRange", offset, length, hash, line: t.line, column: t.column })
        this.stack.push(pageRangeFrame)
        return
      }
      case "Text":
      case "Empty":
        return this.fail(t, top.name, `no child elements in <${top.name}>`, `<${t.name}>`)
    }
  }

  private startList(): void {
    const list = this.list!
    if (list.started) return
    list.started = true
    const e: Record<string, unknown> = { _tag: "BlobListStart" }
    if (list.id !== undefined) e["id"] = list.id
    if (list.metadataPath) e["metadataPath"] = list.metadataPath
    if (list.propertiesPath) e["propertiesPath"] = list.propertiesPath
    e["line"] = list.line
    e["column"] = list.column
    this.out.push(e as unknown as ManifestEvent)
  }

  private startBlob(at: { line: number; column: number }, list: BlobListKind): void {
    const blob = this.blob!
    blob.started = true
    blob.list = list
    const f = blob.fields
    const where = list === "none" ? "in the <Blob>" : `before the <${list === "block" ? "BlockList" : "PageRangeList"}>`
    for (const name of ["BlobPath", "FilePath", "Length"] as const) {
      if (f[name] === undefined) this.fail(at, `Blob/${name}`, `a <${name}> ${where}`, "none")
    }
    const length = parseLength(f.Length!)
    if (length === undefined) this.fail(blob.at.Length!, "Blob/Length", "a non-negative integer", showValue(f.Length!))
    const e: Record<string, unknown> = { _tag: "BlobStart", blobPath: f.BlobPath, filePath: f.FilePath }
    if (f.ClientData !== undefined) e["clientData"] = f.ClientData
    if (f.Snapshot !== undefined) e["snapshot"] = f.Snapshot
    e["length"] = length
    if (f.ImportDisposition !== undefined) e["importDisposition"] = f.ImportDisposition
    e["list"] = list
    e["at"] = blob.at
    e["line"] = blob.line
    e["column"] = blob.column
    this.out.push(e as unknown as ManifestEvent)
  }

  private noText(t: XmlClose, top: Frame): void {
    if (t.mixed || (top.kind === "Empty" && t.text.trim() !== "")) this.fail(t, top.name, `only elements inside <${top.name}>`, "text")
  }

  private close(t: XmlClose): void {
    const top = this.stack.pop()!
    switch (top.kind) {
      case "Text": {
        const value = t.text
        const at: Pos = { line: top.line, column: top.column }
        if (top.owner === "Drive") {
          this.out.push({ _tag: "DriveField", name: top.name as DriveFieldName, value, line: top.line, column: top.column })
        } else if (top.hash !== undefined) {
          const ref: FileRef = { path: value, hash: top.hash, ...at }
          const holder = top.owner === "BlobList" ? this.list! : this.blob!
          if (top.name === "MetadataPath") holder.metadataPath = ref
          else holder.propertiesPath = ref
        } else {
          this.blob!.fields[top.name as BlobFieldName] = value
        }
        return
      }
      case "Empty":
        this.noText(t, top)
        return
      case "BlockList":
      case "PageRangeList":
        this.noText(t, top)
        return
      case "Blob": {
        this.noText(t, top)
        const blob = this.blob!
        if (!blob.started) this.startBlob(t, "none")
        const e: Record<string, unknown> = { _tag: "BlobEnd" }
        if (blob.metadataPath) e["metadataPath"] = blob.metadataPath
        if (blob.propertiesPath) e["propertiesPath"] = blob.propertiesPath
        e["line"] = t.line
        e["column"] = t.column
        this.out.push(e as unknown as ManifestEvent)
        this.blob = undefined
        return
      }
      case "BlobList":
        this.noText(t, top)
        this.startList()
        this.out.push({ _tag: "BlobListEnd", line: t.line, column: t.column })
        this.list = undefined
        return
      case "Drive":
        this.noText(t, top)
        return
      case "DriveManifest":
        this.noText(t, top)
        if (!this.sawDrive) this.fail(t, "DriveManifest", "a <Drive> in <DriveManifest>", "none")
        this.out.push({ _tag: "ManifestEnd", line: t.line, column: t.column })
        return
    }
  }
}

/** A structural failure of the reader as an Issue of `file` (undefined for anything else: a bug). */
export const readerIssue = (file: string, e: unknown): Issue | undefined => {
  if (e instanceof XmlSyntaxError) return { file, line: e.line, column: e.column, expected: e.expected, found: e.found }
  if (e instanceof InputIssue) return { file, ...e.issue }
  return undefined
}

/**
 * The events of a manifest, read from its bytes a chunk at a time. `file` is the path as shown to
 * the user. The stream fails with InvalidInput (format "manifest") at the first structural problem.
 */
export const readManifest = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<ManifestEvent, E | InvalidInput, R> =>
  parseXmlStream("manifest", file, bytes, () => new ManifestParser())
