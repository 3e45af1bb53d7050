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
import type { DriveFieldName, FileRef, ManifestEvent } from "./manifest-model.ts"

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
