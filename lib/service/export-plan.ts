/**
 * Export placement: which drive each selected blob goes to, and what it costs that drive.
 * Shared by `waie service export` (fixed drives, their free space measured) and PreviewExport
 * (drives of one size, opened as needed).
 *
 * Packing rule: **first fit in selection order** (container, then name). Each drive starts with
 * its free space less a reserve of 1 MiB (identity file, lock, manifest head, slack); a blob goes
 * to the first drive where its footprint still fits, and is never split. A blob whose footprint
 * exceeds what an *empty* drive offers (or that no manifest can describe: a block blob of more
 * than 50,000 × 4 MiB) cannot be exported; it is reported and the others go on. A blob that
 * would fit an empty drive but finds no room left is *not exported* because the drives ran out
 * (with drives opened as needed, a new drive is opened instead).
 *
 * Footprint of a blob (an upper estimate of what it takes from the drive):
 * - its data file: the bytes it holds rounded up to clusters (4 KiB unless the drive says
 *   otherwise) — the blob's length for a block or append blob; for a page blob only its page
 *   ranges, since the file is sparse — plus a file-system entry of 4 KiB;
 * - its properties file and, when it has metadata, its metadata file: each its exact bytes
 *   rounded up to clusters, plus an entry;
 * - its manifest entry, counted **twice** (the manifest's records are spooled on the drive while
 *   blobs are copied, then the manifest is written from the spool): 400 bytes + 2 × the escaped
 *   UTF-8 length of its blob path + 130 bytes per block or page range + per side file 100 bytes
 *   and its path.
 * Copy logs are not on the drive (they go to the log folder and to storage).
 */
import { Effect, Stream } from "effect"
import { blockSize, maxBlockBlobLength, maxPageRangeLength } from "../blocks.ts"
import { defaultClusterBytes, driveReserveBytes, fileEntryBytes, manifestBlobBytes, manifestUnitBytes } from "../placement.ts"
import { type BlobInfo, BlobStore, blobPathOf, type PageRangeEntry } from "../storage.ts"
import { escapeText } from "../xml.ts"
import { metadataText, propertiesText, sideBytes } from "./export-sidefiles.ts"

/** A MetadataPath or PropertiesPath element besides its path. */
export const manifestSideRefBytes = 100

/** A selected blob as placement sees it. */
export interface ExportItem {
  readonly blob: BlobInfo
  /** bytes its data file holds: the length, or for a page blob the sum of its page ranges */
  readonly dataBytes: number
  /** blocks or page ranges its manifest entry lists */
  readonly units: number
  readonly propertiesBytes: number
  /** undefined: no metadata file */
  readonly metadataBytes: number | undefined
}

/** Page ranges cut at every 4 MiB boundary, so each is at most 4 MiB (the manifest's cap) and chunks line up with an import's. */
export const splitPageRange = (r: PageRangeEntry): Array<PageRangeEntry> => {
  const out: Array<PageRangeEntry> = []
  let at = r.offset
  const end = r.offset + r.length
  while (at < end) {
    const next = Math.min(end, (Math.floor(at / maxPageRangeLength) + 1) * maxPageRangeLength)
    out.push({ offset: at, length: next - at })
    at = next
  }
  return out
}

export const splitPageRanges = <E, R>(ranges: Stream.Stream<PageRangeEntry, E, R>): Stream.Stream<PageRangeEntry, E, R> => Stream.flatMap(ranges, (r) => Stream.fromIterable(splitPageRange(r)))

/** Placement's view of a blob; a page blob's ranges are listed (counted, not kept). */
export const exportItemOf = (blob: BlobInfo): Effect.Effect<ExportItem, never, BlobStore> =>
  Effect.gen(function* () {
    const propertiesBytes = sideBytes(propertiesText(blob))
    const m = metadataText(blob)
    const metadataBytes = m === undefined ? undefined : sideBytes(m)
    if (blob.kind !== "PageBlob") return { blob, dataBytes: blob.length, units: Math.ceil(blob.length / blockSize), propertiesBytes, metadataBytes }
    const store = yield* BlobStore
    const counted = yield* Stream.runFold(splitPageRanges(store.getPageRanges(blob)), { bytes: 0, units: 0 }, (acc, r) => ({ bytes: acc.bytes + r.length, units: acc.units + 1 })).pipe(
      // gone since it was listed, or its ranges refused: estimate it whole; its copy will say what happened
      Effect.orElseSucceed(() => ({ bytes: blob.length, units: Math.ceil(blob.length / maxPageRangeLength) })),
    )
    return { blob, dataBytes: counted.bytes, units: counted.units, propertiesBytes, metadataBytes }
  })

const roundUp = (n: number, unit: number): number => Math.ceil(n / unit) * unit

/** The manifest bytes a blob's entry takes (once). */
export const exportManifestBytes = (item: ExportItem): number => {
  const name = Buffer.byteLength(escapeText(blobPathOf(item.blob)), "utf8")
  const sides = 1 + (item.metadataBytes !== undefined ? 1 : 0)
  return manifestBlobBytes + 2 * name + manifestUnitBytes * item.units + sides * (manifestSideRefBytes + name + 12)
}

/** What a blob costs a drive of `clusterBytes` clusters (see the top of this file). */
export const exportFootprint = (item: ExportItem, clusterBytes: number = defaultClusterBytes): number => {
  let f = roundUp(item.dataBytes, clusterBytes) + fileEntryBytes
  f += roundUp(item.propertiesBytes, clusterBytes) + fileEntryBytes
  if (item.metadataBytes !== undefined) f += roundUp(item.metadataBytes, clusterBytes) + fileEntryBytes
  return f + 2 * exportManifestBytes(item)
}

export interface ExportDrive {
  readonly id: string
  /** free bytes before the export */
  readonly freeBytes: number
  readonly clusterBytes?: number
}

export type Placement =
  | { readonly kind: "placed"; readonly drive: number; readonly footprint: number }
  /** fits no empty drive, or no manifest can describe it */
  | { readonly kind: "too-big"; readonly footprint: number; readonly reason: string }
  /** would fit an empty drive, but the drives are full */
  | { readonly kind: "no-room"; readonly footprint: number }

export interface ExportDriveUsage {
  readonly id: string
  readonly blobs: number
  /** sum of the blobs' lengths */
  readonly bytes: number
  /** sum of their footprints */
  readonly footprint: number
  readonly freeBytes: number
  /** free bytes − reserve − footprint */
  readonly freeLeft: number
}

interface DriveState {
  readonly id: string
  readonly freeBytes: number
  readonly clusterBytes: number
  readonly capacity: number
  blobs: number
  bytes: number
  footprint: number
}

/** Why no manifest can list the blob, or undefined. */
export const unexportableReason = (blob: BlobInfo): string | undefined =>
  blob.kind !== "PageBlob" && blob.length > maxBlockBlobLength ? `a block blob of ${blob.length} bytes needs more than 50,000 blocks of 4 MiB, more than a manifest can list` : undefined

/**
 * First-fit packer. Pure and synchronous. With `grow`, a new drive of that size is opened whenever
 * a blob fits none of the open ones (PreviewExport); without, the drives are the given ones.
 */
export class ExportPacker {
  private readonly drives: Array<DriveState> = []

  constructor(
    drives: ReadonlyArray<ExportDrive>,
    private readonly grow?: { readonly freeBytes: number; readonly clusterBytes?: number },
  ) {
    for (const d of drives) this.open(d)
  }

  private open(d: ExportDrive): DriveState {
    if (!Number.isSafeInteger(d.freeBytes) || d.freeBytes < 0) throw new RangeError(`drive ${d.id}: free space must be a whole number of bytes ≥ 0, got ${d.freeBytes}`)
    const s: DriveState = { id: d.id, freeBytes: d.freeBytes, clusterBytes: d.clusterBytes ?? defaultClusterBytes, capacity: Math.max(0, d.freeBytes - driveReserveBytes), blobs: 0, bytes: 0, footprint: 0 }
    this.drives.push(s)
    return s
  }

  /** Usable bytes of an empty drive of `freeBytes`. */
  static usable(freeBytes: number): number {
    return Math.max(0, freeBytes - driveReserveBytes)
  }

  place(item: ExportItem): Placement {
    const reason = unexportableReason(item.blob)
    if (reason !== undefined) return { kind: "too-big", footprint: exportFootprint(item), reason }
    for (let i = 0; i < this.drives.length; i++) {
      const d = this.drives[i]!
      const f = exportFootprint(item, d.clusterBytes)
      if (d.footprint + f > d.capacity) continue
      d.blobs++
      d.bytes += item.blob.length
      d.footprint += f
      return { kind: "placed", drive: i, footprint: f }
    }
    if (this.grow !== undefined) {
      const f = exportFootprint(item, this.grow.clusterBytes ?? defaultClusterBytes)
      if (f > ExportPacker.usable(this.grow.freeBytes)) return { kind: "too-big", footprint: f, reason: `its ${f} bytes on a drive (data, side files, manifest entry) are more than a drive's ${ExportPacker.usable(this.grow.freeBytes)} usable bytes` }
      const d = this.open({ id: `#${this.drives.length + 1}`, ...this.grow })
      d.blobs++
      d.bytes += item.blob.length
      d.footprint += f
      return { kind: "placed", drive: this.drives.length - 1, footprint: f }
    }
    const fitsEmpty = this.drives.some((d) => exportFootprint(item, d.clusterBytes) <= d.capacity)
    const f = exportFootprint(item, this.drives[0]?.clusterBytes ?? defaultClusterBytes)
    if (!fitsEmpty) {
      const largest = Math.max(0, ...this.drives.map((d) => d.capacity))
      return { kind: "too-big", footprint: f, reason: `its ${f} bytes on a drive (data, side files, manifest entry) are more than the ${largest} usable bytes of the largest drive` }
    }
    return { kind: "no-room", footprint: f }
  }

  usage(): ReadonlyArray<ExportDriveUsage> {
    return this.drives.map((d) => ({ id: d.id, blobs: d.blobs, bytes: d.bytes, footprint: d.footprint, freeBytes: d.freeBytes, freeLeft: d.capacity - d.footprint }))
  }
}

/** Selected blobs in, each with its placement out (page ranges listed on the way). */
export const placeBlobs = <E, R>(blobs: Stream.Stream<BlobInfo, E, R>, packer: ExportPacker): Stream.Stream<{ readonly item: ExportItem; readonly placement: Placement }, E, R | BlobStore> =>
  Stream.mapEffect(blobs, (blob) => Effect.map(exportItemOf(blob), (item) => ({ item, placement: packer.place(item) })))
