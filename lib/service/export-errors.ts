/** The typed outcomes of `waie service export` that end it with an exit code other than 0. */
import { Data } from "effect"
import { showValue } from "../errors.ts"

const aboutDrive = (drive: string): string => (drive.endsWith(":") ? `drive ${drive}` : `drive ${drive}:`)

/** An export writes onto empty drives only (waie's own files and file-system furniture aside). */
export class ExportDriveNotEmpty extends Data.TaggedError("ExportDriveNotEmpty")<{
  readonly drive: string
  readonly root: string
  /** a few of the names found */
  readonly names: ReadonlyArray<string>
  readonly count: number
}> {
  override get message(): string {
    const shown = this.names.map((n) => showValue(n)).join(", ") + (this.count > this.names.length ? ", …" : "")
    return `${aboutDrive(this.drive)} ${this.root} is not empty (${this.count} entr${this.count === 1 ? "y" : "ies"}: ${shown}); an export writes onto an empty drive: empty it, or give another`
  }
}

/** Some blobs fit on no drive because the drives were full; the others were exported. */
export class ExportDrivesFull extends Data.TaggedError("ExportDrivesFull")<{
  readonly blobs: number
  readonly bytes: number
  /** a few of their blob paths */
  readonly first: ReadonlyArray<string>
  /** a blob list of them, for a second export onto more drives */
  readonly blobList?: string
}> {
  override get message(): string {
    const which = this.first.map((p) => showValue(p)).join(", ") + (this.blobs > this.first.length ? ", …" : "")
    const next = this.blobList !== undefined ? `; export them onto more drives with --blob-list ${this.blobList}` : ""
    return `${this.blobs} blob${this.blobs === 1 ? "" : "s"} (${this.bytes} bytes) not exported: the drives are full (${which})${next}`
  }
}

/** Some blobs were placed but did not export (changed during the copy, a failed request, a write error): the copy logs say which. */
export class ExportBlobsFailed extends Data.TaggedError("ExportBlobsFailed")<{
  readonly blobs: number
  readonly first: ReadonlyArray<{ readonly blobPath: string; readonly status: string }>
  /** the error copy logs written */
  readonly logs: ReadonlyArray<string>
}> {
  override get message(): string {
    const which = this.first.map((f) => `${showValue(f.blobPath)} ${f.status}`).join(", ") + (this.blobs > this.first.length ? ", …" : "")
    return `${this.blobs} blob${this.blobs === 1 ? "" : "s"} failed to export (${which}); the error logs say what failed: ${this.logs.join(", ")}`
  }
}
