/**
 * Where an exported blob lands on its drive: `\<container>\<blob name with / as \>` (the
 * manifest format's own example: `pictures/bob/wild/desert.jpg` → `\pictures\bob\wild\desert.jpg`),
 * its properties file `<file>.properties` and its metadata file `<file>.metadata` beside it.
 *
 * Names NTFS cannot hold, names that differ only in case, and a blob `a/b` beside a blob `a/b/c`
 * are settled by lib/drive-paths.ts's `FilePathAllocator` (a non-portable or taken segment gets
 * `~<16 hex digits>` and keeps its extension), one allocator per drive, blobs in placement
 * order. The allocator puts everything under a session folder; export files sit at the drive
 * root, so the session segment is cut off. That is safe: the drive root holds nothing else an
 * allocated path could clash with (waie's own `DriveManifest.xml`, `waie-drive.json`,
 * `.waie…` files cannot be container names, which have no `.` or upper case).
 *
 * The side files are allocated as paths of their own, under the data file's folder as it was
 * allocated: so they take a name no blob has taken, and a later blob whose name is the same
 * (`a.jpg.properties`) is the one that gets the hashed name.
 */
import { FilePathAllocator } from "../drive-paths.ts"
import { metadataSuffix, propertiesSuffix } from "./export-sidefiles.ts"

/** The allocator's session folder, cut off every path it gives. */
const session = "export"
const cut = `\\${session}`

export interface ExportFilePaths {
  /** `\container\a\b.jpg` */
  readonly file: string
  readonly properties: string
  /** only when asked for (the blob has metadata) */
  readonly metadata?: string
}

export class ExportPathAllocator {
  private readonly allocator = new FilePathAllocator(session)

  private take(path: string): string {
    const full = this.allocator.allocate(path)
    if (!full.startsWith(cut + "\\")) throw new Error(`export paths: the allocator gave ${JSON.stringify(full)}, outside its session folder`)
    return full.slice(cut.length)
  }

  /** The FilePaths of one blob (`container/name`); call once per blob, in placement order. */
  allocate(blobPath: string, withMetadata: boolean): ExportFilePaths {
    const file = this.take(blobPath)
    // the data file's folder and name as given out, so the side files sit beside it
    const base = file.slice(1).split("\\").join("/")
    const properties = this.take(base + propertiesSuffix)
    return withMetadata ? { file, properties, metadata: this.take(base + metadataSuffix) } : { file, properties }
  }

  /** Bytes the allocator holds (bounded: see lib/drive-paths.ts). */
  get memoryBytes(): number {
    return this.allocator.memoryBytes
  }
}
