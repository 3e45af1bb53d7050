/**
 * Placement: which file goes to which drive of a session.
 *
 * Rule (deterministic, streaming): **first fit in dataset order**. The drives are taken in
 * driveset order, each with the free space it had when the session started, minus a fixed
 * reserve. Files come in the enumeration's order (lib/sources.ts); each goes to the first drive
 * where its footprint still fits. A file is never split across drives. A file that fits on no
 * drive at the moment it comes is *unplaced*: the session stops as interrupted and lists it, and
 * /AdditionalDriveSet continues with more drives (`addDrives`), on which the unplaced files are
 * placed by the same rule. Files placed later never make room, so an unplaced file would not fit
 * an earlier drive either.
 *
 * Footprint model (an upper estimate of what a file costs a drive):
 * - data: the file's length rounded up to whole clusters (4 KiB unless the drive says otherwise);
 * - its file-system entry: 4 KiB (an NTFS MFT record is 1 KiB, an ext4 inode is preallocated;
 *   the rest pays for directory growth and the directories the drive path creates);
 * - its manifest entry: 400 bytes + 2 × the XML-escaped UTF-8 length of its blob path (BlobPath
 *   and FilePath) + 130 bytes per block or page range; a block blob has ⌈length / 4 MiB⌉ blocks,
 *   a page blob is counted as ⌈length / 4 MiB⌉ ranges (one per 4 MiB chunk: a page blob whose
 *   non-zero pages alternate with zero ones has more, up to 4,096 per chunk; the model does not
 *   cover that case);
 *   the manifest is counted **twice**: it is written to a temporary file and renamed over the old
 *   one, so both exist for a moment;
 * - the first file on a drive that uses a given metadata/properties pair also pays for the copy
 *   of those files (their bytes rounded up to clusters, two entries) and the BlobList that lists
 *   them (2 × 300 bytes);
 * - each drive reserves 1 MiB besides (manifest head, the identity file, slack).
 *
 * Memory: per drive a few counters and the set of metadata/properties keys it holds (one string
 * per distinct pair); nothing per file.
 */
import { Effect, Stream } from "effect"
import { blockSize } from "./blocks.ts"
import type { BlobType } from "./dataset.ts"
import type { SourceFile } from "./sources.ts"
import { escapeText } from "./xml.ts"

export const defaultClusterBytes = 4096
export const fileEntryBytes = 4096
export const manifestBlobBytes = 400
export const manifestUnitBytes = 130
/** a BlobList element with its MetadataPath and PropertiesPath */
export const manifestBlobListBytes = 300
export const driveReserveBytes = 1024 * 1024
/** The Import/Export service takes at most 10 drives per job. */
export const maxDrivesPerJob = 10

/** What placement needs to know of a file. */
export interface PlacementItem {
  readonly length: number
  readonly blobType: BlobType
  /** `container/blob`; counted in the manifest estimate when given */
  readonly blobPath?: string
  /** the metadata/properties pair the file refers to: copied once per drive */
  readonly sideFiles?: { readonly key: string; readonly bytes: number }
}

export interface PlacementDrive {
  readonly id: string
  /** free bytes at session start */
  readonly freeBytes: number
  /** the file system's allocation unit; 4096 when not given */
  readonly clusterBytes?: number
}

export interface DriveUsage {
  readonly id: string
  readonly files: number
  /** sum of the placed files' lengths */
  readonly bytes: number
  /** sum of their footprints (data, entries, side files, 2 × manifest entries) */
  readonly footprint: number
  /** the manifest estimate (once) */
  readonly manifestBytes: number
  readonly freeBytes: number
  /** freeBytes − reserve − footprint */
  readonly freeLeft: number
}

const roundUp = (n: number, unit: number): number => Math.ceil(n / unit) * unit

const requireBytes = (what: string, n: number): void => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a whole number of bytes ≥ 0, got ${n}`)
}

/** Blocks (block blob) or at most page ranges (page blob, one per 4 MiB chunk) in the manifest. */
export const manifestUnits = (item: Pick<PlacementItem, "length" | "blobType">): number => Math.ceil(item.length / blockSize)

/** The manifest bytes a file adds (its Blob element), once. */
export const manifestBytesOf = (item: PlacementItem): number => {
  const name = item.blobPath === undefined ? 0 : Buffer.byteLength(escapeText(item.blobPath), "utf8")
  return manifestBlobBytes + 2 * name + manifestUnitBytes * manifestUnits(item)
}

/** What a file costs a drive without its side files: data in clusters, an entry, 2 × its manifest bytes. */
export const footprintOf = (item: PlacementItem, clusterBytes: number = defaultClusterBytes): number =>
  roundUp(item.length, clusterBytes) + fileEntryBytes + 2 * manifestBytesOf(item)

/** What a metadata/properties pair costs the first drive file that uses it. */
export const sideFilesFootprint = (bytes: number, clusterBytes: number = defaultClusterBytes): number =>
  roundUp(bytes, clusterBytes) + 2 * fileEntryBytes + 2 * manifestBlobListBytes

/** The placement view of an enumerated source file (its side files keyed by their two paths). */
export const placementItem = (file: SourceFile): PlacementItem => {
  const hasSide = file.metadataFile !== undefined || file.propertiesFile !== undefined
  return {
    length: file.length,
    blobType: file.blobType,
    blobPath: file.blobPath,
    ...(hasSide ? { sideFiles: { key: `${file.metadataFile ?? ""}\u0000${file.propertiesFile ?? ""}`, bytes: file.sideFileBytes } } : {}),
  }
}

/** The warning for more drives than a job takes, or undefined. */
export const driveCountWarning = (count: number): string | undefined =>
  count > maxDrivesPerJob ? `${count} drives: an Import/Export job takes at most ${maxDrivesPerJob} drives; the others need a second job` : undefined

interface DriveState {
  readonly id: string
  readonly freeBytes: number
  readonly clusterBytes: number
  capacity: number
  files: number
  bytes: number
  footprint: number
  manifestBytes: number
  readonly sideKeys: Set<string>
}

/**
 * First-fit placement over drives. Pure and synchronous: the same drives and the same sequence of
 * calls give the same answers (a resumed session rebuilds it from the free space recorded at the
 * start and replays its files).
 */
export class Placer {
  private readonly drives: Array<DriveState> = []
  private unplacedFiles = 0
  private unplacedBytes = 0

  constructor(drives: ReadonlyArray<PlacementDrive> = []) {
    this.addDrives(drives)
  }

  /** More drives, after the current ones (AdditionalDriveSet). Ids must be new. */
  addDrives(drives: ReadonlyArray<PlacementDrive>): void {
    for (const d of drives) {
      requireBytes(`drive ${d.id}: free space`, d.freeBytes)
      const clusterBytes = d.clusterBytes ?? defaultClusterBytes
      if (!Number.isSafeInteger(clusterBytes) || clusterBytes < 1) throw new RangeError(`drive ${d.id}: the cluster size must be a whole number ≥ 1, got ${clusterBytes}`)
      if (this.drives.some((e) => e.id === d.id)) throw new RangeError(`drive ${d.id} is already in the placement`)
      this.drives.push({
        id: d.id,
        freeBytes: d.freeBytes,
        clusterBytes,
        capacity: Math.max(0, d.freeBytes - driveReserveBytes),
        files: 0,
        bytes: 0,
        footprint: 0,
        manifestBytes: 0,
        sideKeys: new Set(),
      })
    }
  }

  get driveCount(): number {
    return this.drives.length
  }

  /** The drive-count warning (more than 10 drives), if any. */
  get warning(): string | undefined {
    return driveCountWarning(this.drives.length)
  }

  private drive(index: number): DriveState {
    const d = this.drives[index]
    if (d === undefined) throw new RangeError(`no drive ${index} (there are ${this.drives.length})`)
    return d
  }

  /** What the file would cost drive `index` now (its side files included when that drive lacks them). */
  footprintOn(item: PlacementItem, index: number): number {
    requireBytes("a file length", item.length)
    const d = this.drive(index)
    let f = footprintOf(item, d.clusterBytes)
    if (item.sideFiles !== undefined && !d.sideKeys.has(item.sideFiles.key)) f += sideFilesFootprint(item.sideFiles.bytes, d.clusterBytes)
    return f
  }

  /** Whether the file fits on drive `index` now. */
  fits(item: PlacementItem, index: number): boolean {
    const d = this.drive(index)
    return d.footprint + this.footprintOn(item, index) <= d.capacity
  }

  /** The drive the file goes to (its index in drive order), or undefined when it fits on none. */
  place(item: PlacementItem): number | undefined {
    requireBytes("a file length", item.length)
    for (let i = 0; i < this.drives.length; i++) {
      const d = this.drives[i]!
      const f = this.footprintOn(item, i)
      if (d.footprint + f > d.capacity) continue
      d.files++
      d.bytes += item.length
      d.footprint += f
      d.manifestBytes += manifestBytesOf(item)
      if (item.sideFiles !== undefined && !d.sideKeys.has(item.sideFiles.key)) {
        d.sideKeys.add(item.sideFiles.key)
        d.manifestBytes += manifestBlobListBytes
      }
      return i
    }
    this.unplacedFiles++
    this.unplacedBytes += item.length
    return undefined
  }

  /**
   * Drive `index` takes no more files: it ran out of room before its measured free space said it
   * would (PrepImport met ENOSPC there). What it holds stays counted.
   */
  markFull(index: number): void {
    const d = this.drive(index)
    d.capacity = Math.min(d.capacity, d.footprint)
  }

  usage(): ReadonlyArray<DriveUsage> {
    return this.drives.map((d) => ({
      id: d.id,
      files: d.files,
      bytes: d.bytes,
      footprint: d.footprint,
      manifestBytes: d.manifestBytes,
      freeBytes: d.freeBytes,
      freeLeft: d.capacity - d.footprint,
    }))
  }

  /** Files (and their bytes) that `place` could not place so far. */
  unplaced(): { readonly files: number; readonly bytes: number } {
    return { files: this.unplacedFiles, bytes: this.unplacedBytes }
  }
}

export interface Placed {
  readonly file: SourceFile
  /** index of the drive in the placer's order, or undefined: fits nowhere */
  readonly drive: number | undefined
}

/** Place a stream of files in order (first fit), one at a time. */
export const placeFiles = <E, R>(files: Stream.Stream<SourceFile, E, R>, placer: Placer): Stream.Stream<Placed, E, R> =>
  Stream.mapEffect(files, (file) => Effect.sync(() => ({ file, drive: placer.place(placementItem(file)) })))
