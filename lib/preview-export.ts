/**
 * PreviewExport (formats.md §4.1): how many drives of a given size an export blob list needs.
 *
 * It is `waie service export` without the copying: the same selection (lib/service/export-select.ts:
 * each blob once, containers then names in code point order, the unique/duplicate/nonexistent
 * counts) and the same placement (lib/service/export-plan.ts: first fit in selection order, a
 * blob never split, the same footprint per blob and the same 1 MiB reserve per drive), with
 * drives of `/DriveSize` bytes opened as they are needed. So the preview says what `service
 * export` then does onto drives offering that many free bytes: the same blobs on drive #1, #2, …
 *
 * `/DriveSize` is read as the space a drive offers once it is formatted (what `df` shows free on
 * the empty drive): waie cannot know the file system's own overhead on a drive it has not seen.
 * "Occupied space" of a drive is the sum of its blobs' footprints (data rounded up to 4 KiB
 * clusters, the properties and metadata files, file-system entries, the manifest entries);
 * the 1 MiB reserve comes on top, on every drive.
 *
 * Memory: the selection holds one container's selected blobs at a time; the packer one counter
 * set per drive.
 */
import { Effect, Stream } from "effect"
import type { BlobListItem } from "./bloblist.ts"
import { formatGB } from "./drive-size.ts"
import { blobPathOf, type BlobStore, type StorageError } from "./storage.ts"
import { ExportPacker, placeBlobs } from "./service/export-plan.ts"
import { selectBlobs, type SelectionCounts } from "./service/export-select.ts"
import { driveReserveBytes } from "./placement.ts"

export interface PreviewDrive {
  /** 1, 2, … in the order the drives fill */
  readonly drive: number
  readonly blobs: number
  /** the blobs' lengths */
  readonly bytes: number
  /** what the blobs take on the drive (their footprints) */
  readonly occupied: number
}

export interface CannotExport {
  readonly blobPath: string
  readonly length: number
  /** what it would take on a drive */
  readonly footprint: number
  readonly reason: string
}

export interface PreviewReport {
  readonly driveSize: number
  readonly counts: SelectionCounts
  /** blobs placed on a drive */
  readonly exportable: number
  readonly exportableBytes: number
  /** blobs too big for a drive of this size (or for a manifest) */
  readonly cannotExport: { readonly blobs: number; readonly bytes: number; readonly first: ReadonlyArray<CannotExport> }
  readonly drives: ReadonlyArray<PreviewDrive>
  /** per drive, besides the blobs */
  readonly reserveBytes: number
}

export interface PreviewListener {
  /** each blob placed, or not, in selection order */
  readonly blob?: (b: { readonly blobPath: string; readonly length: number; readonly footprint: number; readonly drive: number | undefined; readonly reason?: string }) => void
}

/** Blobs named in the report's list of those that cannot be exported (the count is exact). */
const listed = 100

/** The preview of a blob list's entries (as the blob-list reader gives them) on drives of `driveSize` bytes. */
export const previewExport = (items: ReadonlyArray<BlobListItem>, driveSize: number, listener: PreviewListener = {}): Effect.Effect<PreviewReport, StorageError, BlobStore> =>
  Effect.gen(function* () {
    const packer = new ExportPacker([], { freeBytes: driveSize })
    const selection = yield* selectBlobs(items)
    const cannot = { blobs: 0, bytes: 0, first: [] as Array<CannotExport> }
    let exportable = 0
    let exportableBytes = 0
    yield* placeBlobs(selection.blobs, packer).pipe(
      Stream.runForEach(({ item, placement }) =>
        Effect.sync(() => {
          const blobPath = blobPathOf(item.blob)
          const length = item.blob.length
          if (placement.kind === "placed") {
            exportable++
            exportableBytes += length
            listener.blob?.({ blobPath, length, footprint: placement.footprint, drive: placement.drive + 1 })
            return
          }
          // drives open as needed: a blob that fits an empty drive is always placed, so this is "too big"
          const reason = placement.kind === "too-big" ? placement.reason : "no drive had room"
          cannot.blobs++
          cannot.bytes += length
          if (cannot.first.length < listed) cannot.first.push({ blobPath, length, footprint: placement.footprint, reason })
          listener.blob?.({ blobPath, length, footprint: placement.footprint, drive: undefined, reason })
        }),
      ),
    )
    const counts = yield* selection.counts
    const drives = packer.usage().map((u, i): PreviewDrive => ({ drive: i + 1, blobs: u.blobs, bytes: u.bytes, occupied: u.footprint }))
    return { driveSize, counts, exportable, exportableBytes, cannotExport: cannot, drives, reserveBytes: driveReserveBytes }
  })

/** `0.01 GB` rounded up: an occupied space is never shown smaller than it is. */
export const formatGBUp = (bytes: number): string => {
  const hundredths = Math.ceil(bytes / 1e7)
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")} GB`
}

/**
 * The report in the original tool's form (formats.md §4.1): a label, a colon, a TAB, the value;
 * drives indented by a TAB. Sizes in decimal GB with two decimals: the drive size rounded down
 * (never more room than there is), occupied space rounded up.
 */
export const previewText = (r: PreviewReport): string => {
  const c = r.counts
  const lines = [
    `Number of unique blob paths/prefixes:\t${c.unique}`,
    `Number of duplicate blob paths/prefixes:\t${c.duplicate}`,
    `Number of nonexistent blob paths/prefixes:\t${c.nonexistent}`,
    `Drive size:\t${formatGB(r.driveSize)}`,
    `Number of blobs that can be exported:\t${r.exportable}`,
    `Number of blobs that cannot be exported:\t${r.cannotExport.blobs}`,
    `Number of drives needed:\t${r.drives.length}`,
    ...r.drives.map((d) => `\tDrive #${d.drive}:\tblobs = ${d.blobs}, occupied space = ${formatGBUp(d.occupied)}`),
  ]
  return lines.join("\n") + "\n"
}

/** What the short report leaves out, for a person: which entries selected nothing, which blobs cannot be exported. */
export const previewDetails = (r: PreviewReport): string => {
  const lines: Array<string> = []
  for (const i of r.counts.nonexistentEntries) lines.push(`nonexistent: line ${i.line}: ${i.entry.kind === "path" ? `BlobPath ${i.entry.path}` : `BlobPathPrefix ${i.entry.prefix}`}`)
  if (r.counts.nonexistent > r.counts.nonexistentEntries.length) lines.push(`nonexistent: … and ${r.counts.nonexistent - r.counts.nonexistentEntries.length} more`)
  for (const b of r.cannotExport.first) lines.push(`cannot be exported: ${b.blobPath} (${b.length} bytes): ${b.reason}`)
  if (r.cannotExport.blobs > r.cannotExport.first.length) lines.push(`cannot be exported: … and ${r.cannotExport.blobs - r.cannotExport.first.length} more`)
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}
