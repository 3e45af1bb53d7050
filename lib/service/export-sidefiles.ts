/**
 * The files an export writes beside each blob's data file (formats.md §2): its properties
 * (`<file>.properties`, as in the RepairExport sample manifest: always written, since
 * Last-Modified, Etag and Content-Length always exist) and its metadata (`<file>.metadata`, by
 * analogy; only for a blob that has metadata, as the sample's blobs without metadata have no
 * MetadataPath).
 *
 * The text is lib/blobprops.ts's writer's, so the files read back with `waie properties check
 * --export` and `waie metadata check`. A blob whose values the format cannot carry (a metadata
 * value outside printable ASCII, say) gets no file: the copy log says `XmlWriteFailed`.
 */
import { type BlobMetadata, type BlobProperties, BlobPropsWriteError, serializeMetadata, serializeProperties } from "../blobprops.ts"
import type { BlobInfo } from "../storage.ts"

export const propertiesSuffix = ".properties"
export const metadataSuffix = ".metadata"

/** What the properties file of an exported blob says: the service's Last-Modified (HTTP date), Etag, Content-Length, then the blob's HTTP properties. */
export const exportProperties = (b: BlobInfo): BlobProperties => {
  const { lastModified: _l, etag: _e, contentLength: _c, ...http } = b.properties
  const date = new Date(b.lastModified)
  return {
    ...(Number.isNaN(date.getTime()) ? {} : { lastModified: date.toUTCString() }),
    etag: b.etag,
    contentLength: b.length,
    ...http,
  }
}

export type SideText = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly problem: string }

const encode = (make: () => string): SideText => {
  try {
    return { ok: true, bytes: new TextEncoder().encode(make()) }
  } catch (e) {
    if (e instanceof BlobPropsWriteError) return { ok: false, problem: e.message }
    throw e
  }
}

export const propertiesText = (b: BlobInfo): SideText => encode(() => serializeProperties(exportProperties(b)))

/** undefined: the blob has no metadata, so no file. */
export const metadataText = (b: BlobInfo): SideText | undefined => (b.metadata.length === 0 ? undefined : encode(() => serializeMetadata(sortedMetadata(b.metadata))))

/** Metadata by name, so the same blob always gives the same bytes whatever order the store answered in. */
export const sortedMetadata = (m: BlobMetadata): BlobMetadata => [...m].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

/** Bytes a side file takes (0 when it cannot be written). */
export const sideBytes = (t: SideText | undefined): number => (t !== undefined && t.ok ? t.bytes.length : 0)
