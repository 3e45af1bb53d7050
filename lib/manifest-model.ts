/**
 * The DriveManifest as a sequence of events, so that nothing forces a manifest (hundreds of MB,
 * millions of `<Block>`s) into memory: the writer serializes events as they come, the reader
 * produces them a chunk of the file at a time, the checker keeps per-blob state only.
 *
 * The order of events mirrors the XML (reference: 001_… "manifest file format"):
 *
 *   ManifestStart  DriveField*  ( BlobListStart ( BlobStart (Block* | PageRange*) BlobEnd )* BlobListEnd )*  ManifestEnd
 *
 * Events read from a file also carry the place of their element (`line`, `column`: the end of the
 * element's start tag, as the XML tokenizer reports it) so that rule checks can point at it.
 */
import { isMd5Hex, normaliseHex } from "./hash.ts"

/** A place in the manifest file (1-based). */
export interface Pos {
  readonly line?: number
  readonly column?: number
}

/** `<MetadataPath Hash="…">path</MetadataPath>` or `<PropertiesPath …>`: a file on the drive and the MD5 of its bytes. */
export interface FileRef extends Pos {
  readonly path: string
  /** Base16 MD5 of the file (upper case when it is 32 hex digits; the reader keeps anything else as found) */
  readonly hash: string
}

export type DriveFieldName = "DriveId" | "StorageAccountKey" | "ContainerSas" | "ClientCreator"
export const driveFieldNames: ReadonlyArray<DriveFieldName> = ["DriveId", "StorageAccountKey", "ContainerSas", "ClientCreator"]

/** The simple children of `<Blob>` that precede its block or page range list. */
export type BlobFieldName = "BlobPath" | "FilePath" | "ClientData" | "Snapshot" | "Length" | "ImportDisposition"

/** Which list a blob has: a `<BlockList>` (block blob), a `<PageRangeList>` (page blob) or neither. */
export type BlobListKind = "block" | "page" | "none"

export interface ManifestStart extends Pos {
  readonly _tag: "ManifestStart"
  /** `DriveManifest/@Version`: waie writes 2014-11-01; the docs also show 2011-10-01 */
  readonly version: string
}
export interface DriveField extends Pos {
  readonly _tag: "DriveField"
  readonly name: DriveFieldName
  readonly value: string
}
export interface BlobListStart extends Pos {
  readonly _tag: "BlobListStart"
  /** `BlobList/@Id`, e.g. `session#1-0` (the tool's session id and a counter) */
  readonly id?: string
  readonly metadataPath?: FileRef
  readonly propertiesPath?: FileRef
}
export interface BlobStart extends Pos {
  readonly _tag: "BlobStart"
  readonly blobPath: string
  readonly filePath: string
  readonly clientData?: string
  readonly snapshot?: string
  readonly length: number
  readonly importDisposition?: string
  readonly list: BlobListKind
  /** where each field and the list were found (reader only) */
  readonly at?: Partial<Record<BlobFieldName | "List", Pos>>
}
export interface Block extends Pos {
  readonly _tag: "Block"
  readonly offset: number
  readonly length: number
  readonly id?: string
  readonly hash: string
}
export interface PageRange extends Pos {
  readonly _tag: "PageRange"
  readonly offset: number
  readonly length: number
  readonly hash: string
}
export interface BlobEnd extends Pos {
  readonly _tag: "BlobEnd"
  readonly metadataPath?: FileRef
  readonly propertiesPath?: FileRef
}
export interface BlobListEnd extends Pos {
  readonly _tag: "BlobListEnd"
}
export interface ManifestEnd extends Pos {
  readonly _tag: "ManifestEnd"
}

export type ManifestEvent = ManifestStart | DriveField | BlobListStart | BlobStart | Block | PageRange | BlobEnd | BlobListEnd | ManifestEnd

// ---------------------------------------------------------------- versions and values
// (the limits of blocks, page ranges and blob lengths are lib/blocks.ts's; MD5 and Base64 lib/hash.ts's)

/** The version waie writes for imports. */
export const importVersion = "2014-11-01"
/** Versions seen in the documentation (001_… shows 2014-11-01; the RepairExport sample 2011-10-01). */
export const knownVersions: ReadonlyArray<string> = ["2014-11-01", "2011-10-01"]

export const importDispositions: ReadonlyArray<string> = ["rename", "no-overwrite", "overwrite"]

// ---------------------------------------------------------------- value helpers

const normalMd5Hex = /^[0-9A-F]{32}$/

/** A Base16 MD5 as found in a file: surrounding white space dropped, upper-cased when it is 32 hex digits, otherwise kept as found (so that a message shows it as written). */
export const normaliseHash = (raw: string): string => {
  if (normalMd5Hex.test(raw)) return raw // the common case, millions of times in a large manifest: nothing to trim or upper-case
  const t = raw.trim()
  return isMd5Hex(t) ? normaliseHex(t) : t
}

/** Drop reader positions: what a writer needs, and what two reads of equal manifests share. */
export const withoutPositions = (e: ManifestEvent): ManifestEvent => {
  const { line: _l, column: _c, ...rest } = e as ManifestEvent & { at?: unknown }
  const r = rest as Record<string, unknown>
  delete r["at"]
  for (const k of ["metadataPath", "propertiesPath"]) {
    const ref = r[k] as FileRef | undefined
    if (ref !== undefined) r[k] = { path: ref.path, hash: ref.hash }
  }
  return r as unknown as ManifestEvent
}
