/**
 * A manifest as JSON lines, safe to paste: the credential is masked. One line per drive, per blob
 * list and per blob, in file order, so that a manifest can be rebuilt from the lines (every field
 * is there; numbers are numbers; absent optional fields are absent keys):
 *
 *   {"type":"drive","version":"2014-11-01","driveId":"…","storageAccountKey":"*******","clientCreator":"…"}
 *   {"type":"blobList","index":0,"id":"session#1-0","metadataPath":{"path":"…","hash":"…"}}
 *   {"type":"blob","blobList":0,"blobPath":"…","filePath":"…","length":10,"blocks":[{"offset":0,"length":10,"id":"…","hash":"…"}]}
 *
 * A blob has `blocks` (a BlockList, maybe empty), `pageRanges` (a PageRangeList) or neither key (no
 * list). A blob's line is built whole before it is printed (a valid blob has at most 50,000 blocks),
 * so a reader that stops at a structural problem never leaves half a line.
 */
import { showValue } from "./errors.ts"
import type { DriveFieldName, FileRef, ManifestEvent } from "./manifest-model.ts"
import { hasCharsXmlCannotHold } from "./xml.ts"

export const masked = "*******"

const driveKeys: Record<DriveFieldName, string> = {
  DriveId: "driveId",
  StorageAccountKey: "storageAccountKey",
  ContainerSas: "containerSas",
  ClientCreator: "clientCreator",
}

const ref = (r: FileRef): { path: string; hash: string } => ({ path: r.path, hash: r.hash })

/** Events in, JSON text out (whole lines, or "" while a line is being built). */
export class ManifestJsonLines {
  private drive: Record<string, unknown> | undefined
  private driveWritten = false
  private lists = -1
  private blob = ""
  private first = true

  private flushDrive(): string {
    if (this.drive === undefined) return ""
    const line = JSON.stringify(this.drive) + "\n"
    this.drive = undefined
    this.driveWritten = true
    return line
  }

  event(e: ManifestEvent): string {
    switch (e._tag) {
      case "Block": {
        const b = e.id === undefined ? { offset: e.offset, length: e.length, hash: e.hash } : { offset: e.offset, length: e.length, id: e.id, hash: e.hash }
        this.blob += (this.first ? "" : ",") + JSON.stringify(b)
        this.first = false
        return ""
      }
      case "PageRange":
        this.blob += (this.first ? "" : ",") + JSON.stringify({ offset: e.offset, length: e.length, hash: e.hash })
        this.first = false
        return ""
      case "ManifestStart":
        this.drive = { type: "drive", version: e.version }
        return ""
      case "DriveField": {
        const key = driveKeys[e.name]
        const value = e.name === "StorageAccountKey" || e.name === "ContainerSas" ? masked : e.value
        let out = ""
        // a field given twice, or after the first blob list (both invalid), starts a further drive line
        if (this.drive !== undefined && key in this.drive) out = this.flushDrive()
        if (this.drive === undefined) this.drive = { type: "drive" }
        this.drive[key] = value
        if (this.driveWritten) out += this.flushDrive()
        return out
      }
      case "BlobListStart": {
        const line: Record<string, unknown> = { type: "blobList", index: ++this.lists }
        if (e.id !== undefined) line["id"] = e.id
        if (e.metadataPath) line["metadataPath"] = ref(e.metadataPath)
        if (e.propertiesPath) line["propertiesPath"] = ref(e.propertiesPath)
        return this.flushDrive() + JSON.stringify(line) + "\n"
      }
      case "BlobStart": {
        const head: Record<string, unknown> = { type: "blob", blobList: this.lists, blobPath: e.blobPath, filePath: e.filePath }
        if (e.clientData !== undefined) head["clientData"] = e.clientData
        if (e.snapshot !== undefined) head["snapshot"] = e.snapshot
        head["length"] = e.length
        if (e.importDisposition !== undefined) head["importDisposition"] = e.importDisposition
        const open = JSON.stringify(head).slice(0, -1)
        this.blob = e.list === "block" ? `${open},"blocks":[` : e.list === "page" ? `${open},"pageRanges":[` : open
        this.first = true
        this.listOpen = e.list !== "none"
        return ""
      }
      case "BlobEnd": {
        let s = this.blob + (this.listOpen ? "]" : "")
        if (e.metadataPath) s += `,"metadataPath":${JSON.stringify(ref(e.metadataPath))}`
        if (e.propertiesPath) s += `,"propertiesPath":${JSON.stringify(ref(e.propertiesPath))}`
        this.blob = ""
        return s + "}\n"
      }
      case "BlobListEnd":
        return ""
      case "ManifestEnd":
        return this.flushDrive()
    }
  }

  private listOpen = false
}

// ---------------------------------------------------------------- the way back: JSON lines → events

/** A JSON line that cannot be turned back into manifest events: where, and what was wrong. */
export class JsonLineIssue extends Error {
  constructor(
    readonly line: number,
    readonly field: string | undefined,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`line ${line}: ${field !== undefined ? `${field}: ` : ""}expected ${expected}, found ${found}`)
  }
}

/** The values that replace the masked credential (the JSON never carries it; see `masked`). */
export interface CredentialValues {
  readonly StorageAccountKey?: string
  readonly ContainerSas?: string
}

const driveFieldOf: Readonly<Record<string, DriveFieldName>> = Object.fromEntries(Object.entries(driveKeys).map(([k, v]) => [v, k as DriveFieldName]))

const showJson = (v: unknown): string => {
  if (v === undefined) return "none"
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 60)}…` : s
}

const typeName = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : typeof v === "string" ? `the string ${showJson(v)}` : `${typeof v} ${showJson(v)}`)

/**
 * JSON lines of `waie manifest json` back to manifest events, one line at a time (`line` numbers
 * them for messages). Strict: every key is known, every value has its type, lines come in the
 * order the lines of a manifest do (a drive first, each blob after its list). The masked
 * credential is replaced by the value given for its kind; without one it is an issue (a manifest
 * holding `*******` would be refused by the service).
 *
 * With the serializer (lib/manifest-writer.ts) this is the inverse of `ManifestJsonLines` on
 * every manifest in waie's layout: the bytes come back exactly (properties/manifest-json.test.ts).
 * A manifest in another layout (other indentation, comments, lower-case hashes) comes back with
 * the same content in waie's layout.
 */
export class ManifestJsonReader {
  private started = false
  private list: number | undefined
  private lastList = -1

  constructor(private readonly credentials: CredentialValues = {}) {}

  private fail(line: number, field: string | undefined, expected: string, found: string): never {
    throw new JsonLineIssue(line, field, expected, found)
  }

  private str(line: number, o: Record<string, unknown>, key: string, where: string, optional: true): string | undefined
  private str(line: number, o: Record<string, unknown>, key: string, where: string, optional?: false): string
  private str(line: number, o: Record<string, unknown>, key: string, where: string, optional = false): string | undefined {
    const v = o[key]
    if (v === undefined && optional) return undefined
    if (typeof v !== "string") this.fail(line, `${where}.${key}`, "a string", typeName(v))
    // checked here, so that the serializer never meets a value it cannot write and the line is named
    if (hasCharsXmlCannotHold(v)) this.fail(line, `${where}.${key}`, "characters XML 1.0 can carry (no control characters other than TAB, LF, CR; no lone surrogates)", showValue(v))
    return v
  }

  private length(line: number, o: Record<string, unknown>, key: string, where: string): number {
    const v = o[key]
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) this.fail(line, `${where}.${key}`, "a whole number ≥ 0", typeName(v))
    return v
  }

  private keys(line: number, o: Record<string, unknown>, allowed: ReadonlyArray<string>, where: string): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(line, where, `only the keys ${allowed.join(", ")}`, `a key ${showJson(k)}`)
  }

  private object(line: number, v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(line, where, "an object", typeName(v))
    return v as Record<string, unknown>
  }

  private fileRef(line: number, o: Record<string, unknown>, key: string, where: string): FileRef | undefined {
    if (o[key] === undefined) return undefined
    const r = this.object(line, o[key], `${where}.${key}`)
    this.keys(line, r, ["path", "hash"], `${where}.${key}`)
    return { path: this.str(line, r, "path", `${where}.${key}`), hash: this.str(line, r, "hash", `${where}.${key}`) }
  }

  private closeList(): Array<ManifestEvent> {
    if (this.list === undefined) return []
    this.list = undefined
    return [{ _tag: "BlobListEnd" }]
  }

  /** The events of one line (`text` without its line end). Blank lines give none. */
  line(text: string, line: number): Array<ManifestEvent> {
    if (text.trim() === "") return []
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch (e) {
      this.fail(line, undefined, "a JSON object (one per line, as `waie manifest json` prints them)", `text that is not JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    const o = this.object(line, v, "line")
    const type = o["type"]
    if (type === "drive") return this.drive(line, o)
    if (!this.started) this.fail(line, "type", 'a "drive" line first (with the manifest\'s "version")', showJson(type))
    switch (type) {
      case "blobList":
        return this.blobList(line, o)
      case "blob":
        return this.blob(line, o)
      case "issue":
      case "error":
        return this.fail(line, "type", "manifest lines (drive, blobList, blob)", `an ${type} line: \`waie manifest json\` stopped at a problem of the manifest, so these lines are not a whole manifest`)
      default:
        return this.fail(line, "type", '"drive", "blobList" or "blob"', showJson(type))
    }
  }

  private drive(line: number, o: Record<string, unknown>): Array<ManifestEvent> {
    const out: Array<ManifestEvent> = []
    const first = !this.started
    if (first) {
      this.started = true
      out.push({ _tag: "ManifestStart", version: this.str(line, o, "version", "drive") })
    } else {
      // a further drive line holds a field given twice (see ManifestJsonLines): before any list only
      if ("version" in o) this.fail(line, "drive.version", "one manifest (a version only on the first drive line)", "a second version")
      if (this.lastList >= 0) this.fail(line, "type", "drive lines before the first blob list (a manifest cannot hold a drive field after a <BlobList>)", "a drive line after a blob list")
    }
    for (const key of Object.keys(o)) {
      if (key === "type" || (first && key === "version")) continue
      const name = driveFieldOf[key]
      if (name === undefined) this.fail(line, "drive", `only the keys type, version, ${Object.values(driveKeys).join(", ")}`, `a key ${showJson(key)}`)
      if (name === "StorageAccountKey" || name === "ContainerSas") {
        const raw = o[key]
        // a credential written into the line (not masked) is used as it is, and never shown
        if (typeof raw !== "string" || hasCharsXmlCannotHold(raw)) this.fail(line, `drive.${key}`, "a string XML can carry", `${typeof raw === "string" ? "a string with control characters" : raw === null ? "null" : Array.isArray(raw) ? "an array" : `a ${typeof raw}`} (not shown: it may be a secret)`)
        const given = this.credentials[name]
        if (raw === masked && given === undefined) this.fail(line, `drive.${key}`, `the ${name === "StorageAccountKey" ? "storage account key (--sk or --key-file)" : "container SAS (--csas or --key-file)"} to put in place of the mask`, `${masked} and none given`)
        out.push({ _tag: "DriveField", name, value: given ?? raw })
        continue
      }
      out.push({ _tag: "DriveField", name, value: this.str(line, o, key, "drive") })
    }
    return out
  }

  private blobList(line: number, o: Record<string, unknown>): Array<ManifestEvent> {
    this.keys(line, o, ["type", "index", "id", "metadataPath", "propertiesPath"], "blobList")
    const index = this.length(line, o, "index", "blobList")
    if (index <= this.lastList) this.fail(line, "blobList.index", `an index above ${this.lastList} (lists come in order)`, String(index))
    const out = this.closeList()
    this.list = index
    this.lastList = index
    const id = this.str(line, o, "id", "blobList", true)
    const metadataPath = this.fileRef(line, o, "metadataPath", "blobList")
    const propertiesPath = this.fileRef(line, o, "propertiesPath", "blobList")
    out.push({ _tag: "BlobListStart", ...(id !== undefined ? { id } : {}), ...(metadataPath ? { metadataPath } : {}), ...(propertiesPath ? { propertiesPath } : {}) })
    return out
  }

  private blob(line: number, o: Record<string, unknown>): Array<ManifestEvent> {
    this.keys(line, o, ["type", "blobList", "blobPath", "filePath", "clientData", "snapshot", "length", "importDisposition", "blocks", "pageRanges", "metadataPath", "propertiesPath"], "blob")
    const list = this.length(line, o, "blobList", "blob")
    if (this.list === undefined || list !== this.list) this.fail(line, "blob.blobList", this.list === undefined ? "a blobList line before the first blob" : `the current list, ${this.list}`, String(list))
    if (o["blocks"] !== undefined && o["pageRanges"] !== undefined) this.fail(line, "blob", "blocks or pageRanges, not both", "both")
    const clientData = this.str(line, o, "clientData", "blob", true)
    const snapshot = this.str(line, o, "snapshot", "blob", true)
    const importDisposition = this.str(line, o, "importDisposition", "blob", true)
    const kind = o["blocks"] !== undefined ? "block" : o["pageRanges"] !== undefined ? "page" : "none"
    const out: Array<ManifestEvent> = [
      {
        _tag: "BlobStart",
        blobPath: this.str(line, o, "blobPath", "blob"),
        filePath: this.str(line, o, "filePath", "blob"),
        ...(clientData !== undefined ? { clientData } : {}),
        ...(snapshot !== undefined ? { snapshot } : {}),
        length: this.length(line, o, "length", "blob"),
        ...(importDisposition !== undefined ? { importDisposition } : {}),
        list: kind,
      },
    ]
    if (kind !== "none") {
      const key = kind === "block" ? "blocks" : "pageRanges"
      const items = o[key]
      if (!Array.isArray(items)) this.fail(line, `blob.${key}`, "an array", typeName(items))
      items.forEach((item, i) => {
        const where = `blob.${key}[${i}]`
        const r = this.object(line, item, where)
        if (kind === "block") {
          this.keys(line, r, ["offset", "length", "id", "hash"], where)
          const id = this.str(line, r, "id", where, true)
          out.push({ _tag: "Block", offset: this.length(line, r, "offset", where), length: this.length(line, r, "length", where), ...(id !== undefined ? { id } : {}), hash: this.str(line, r, "hash", where) })
        } else {
          this.keys(line, r, ["offset", "length", "hash"], where)
          out.push({ _tag: "PageRange", offset: this.length(line, r, "offset", where), length: this.length(line, r, "length", where), hash: this.str(line, r, "hash", where) })
        }
      })
    }
    const metadataPath = this.fileRef(line, o, "metadataPath", "blob")
    const propertiesPath = this.fileRef(line, o, "propertiesPath", "blob")
    out.push({ _tag: "BlobEnd", ...(metadataPath ? { metadataPath } : {}), ...(propertiesPath ? { propertiesPath } : {}) })
    return out
  }

  /** The events that close the manifest, after the last line. */
  end(line: number): Array<ManifestEvent> {
    if (!this.started) this.fail(line, undefined, 'the lines of `waie manifest json` (a "drive" line first)', "no line")
    return [...this.closeList(), { _tag: "ManifestEnd" }]
  }
}
