/**
 * A manifest's blobs, one at a time: the reader's events (lib/manifest-reader.ts) grouped into one
 * value per `<Blob>`, with the metadata and properties files of its `<BlobList>`. Memory holds the
 * blob being grouped (a BlockList has at most 50,000 blocks; a page blob's ranges as many as it
 * lists), never the manifest.
 */
import { Stream } from "effect"
import type { InvalidInput } from "../errors.ts"
import type { FileUnreadable } from "../errors.ts"
import type { FileSystem } from "@effect/platform"
import { fileBytes } from "../files.ts"
import { type BlobListKind, type ManifestEvent, readManifest } from "../manifest.ts"

/** A file the manifest names, with the MD5 it gives it. */
export interface FileRef {
  readonly path: string
  readonly hash: string
}

/** A block or page range as the manifest lists it (the block's index is its place in the list). */
export interface ManifestRange {
  readonly offset: number
  readonly length: number
  /** blocks only, when the manifest gives one */
  readonly id?: string
  readonly hash: string
}

export interface BlobJob {
  /** 0, 1, … in manifest order */
  readonly index: number
  readonly blobPath: string
  readonly filePath: string
  readonly length: number
  /** as written, when the manifest gives one (the default is rename) */
  readonly importDisposition?: string
  readonly list: BlobListKind
  readonly ranges: ReadonlyArray<ManifestRange>
  /** the BlobList's files, for every blob of the list */
  readonly globalMetadata?: FileRef
  readonly globalProperties?: FileRef
  /** the blob's own files */
  readonly metadata?: FileRef
  readonly properties?: FileRef
}

const ref = (r: FileRef | undefined): FileRef | undefined => (r === undefined ? undefined : { path: r.path, hash: r.hash })

/** Events in, blobs out. */
export class ManifestBlobGrouper {
  private globalMetadata: FileRef | undefined
  private globalProperties: FileRef | undefined
  private blob: Omit<BlobJob, "ranges" | "metadata" | "properties"> | undefined
  private ranges: Array<ManifestRange> = []
  private count = 0

  push(e: ManifestEvent): ReadonlyArray<BlobJob> {
    switch (e._tag) {
      case "BlobListStart":
        this.globalMetadata = ref(e.metadataPath)
        this.globalProperties = ref(e.propertiesPath)
        return []
      case "BlobListEnd":
        this.globalMetadata = undefined
        this.globalProperties = undefined
        return []
      case "BlobStart":
        this.ranges = []
        this.blob = {
          index: this.count++,
          blobPath: e.blobPath,
          filePath: e.filePath,
          length: e.length,
          ...(e.importDisposition !== undefined ? { importDisposition: e.importDisposition } : {}),
          list: e.list,
          ...(this.globalMetadata ? { globalMetadata: this.globalMetadata } : {}),
          ...(this.globalProperties ? { globalProperties: this.globalProperties } : {}),
        }
        return []
      case "Block":
        this.ranges.push(e.id !== undefined ? { offset: e.offset, length: e.length, id: e.id, hash: e.hash } : { offset: e.offset, length: e.length, hash: e.hash })
        return []
      case "PageRange":
        this.ranges.push({ offset: e.offset, length: e.length, hash: e.hash })
        return []
      case "BlobEnd": {
        const blob = this.blob
        if (blob === undefined) return []
        this.blob = undefined
        const ranges = this.ranges
        this.ranges = []
        const metadata = ref(e.metadataPath)
        const properties = ref(e.propertiesPath)
        return [{ ...blob, ranges, ...(metadata ? { metadata } : {}), ...(properties ? { properties } : {}) }]
      }
      default:
        return []
    }
  }
}

/** The blobs of a manifest file, streaming. */
export const manifestBlobs = (real: string, shown: string = real): Stream.Stream<BlobJob, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Stream.suspend(() => {
    const g = new ManifestBlobGrouper()
    return readManifest(shown, fileBytes(real, shown)).pipe(Stream.mapConcat((e) => g.push(e)))
  })
