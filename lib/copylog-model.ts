/**
 * The copy log (DriveLog, `Version="2014-11-01"`) that the Import/Export service writes for each
 * drive: every status code of the format as a string-literal union (and as an array, for
 * validation and for listing the allowed values in messages), and the events a log is made of.
 *
 * A log is a flat sequence of events so that readers and writers stream:
 *
 *   LogStart, DriveId, (BlobStart, (Block | PageRange)*, BlobEnd)*, DriveStatus, LogEnd
 *
 * Reference: formats.md §1 (skeleton §1.2, codes §1.3, cascades §1.4, samples §1.5).
 */

/** The only classic log version waie reads and writes. */
export const copyLogVersion = "2014-11-01"

/** `DriveLog/Status`: the outcome for the whole drive. */
export const driveStatuses = [
  "Completed",
  "CompletedWithWarnings",
  "CompletedWithErrors",
  "DiskNotFound",
  "VolumeNotNtfs",
  "DiskOperationFailed",
  "BitLockerVolumeNotFound",
  "BitLockerNotActivated",
  "BitLockerProtectorNotFound",
  "BitLockerKeyInvalid",
  "BitLockerUnlockVolumeFailed",
  "BitLockerFailed",
  "ManifestNameInvalid",
  "ManifestNameTooLong",
  "ManifestNotFound",
  "ManifestAccessDenied",
  "ManifestCorrupted",
  "ManifestFormatInvalid",
  "ManifestDriveIdMismatch",
  "ReadManifestFailed",
  "BlobListFormatInvalid",
  "BlobRequestForbidden",
  "InternalError",
] as const
export type DriveStatus = (typeof driveStatuses)[number]

/** `Blob/@Status`. */
export const blobStatuses = [
  "Completed",
  "CompletedWithErrors",
  "FileNameInvalid",
  "FileNameTooLong",
  "FileNotFound",
  "FileAccessDenied",
  "BlobRequestFailed",
  "BlobRequestForbidden",
  "RenameFailed",
  "BlobUnexpectedChange",
  "LeasePresent",
  "IOFailed",
  "Failed",
] as const
export type BlobStatus = (typeof blobStatuses)[number]

/** `ImportDisposition/@Status` (import logs only). */
export const dispositionStatuses = ["Created", "Renamed", "Skipped", "Overwritten", "Cancelled"] as const
export type DispositionStatus = (typeof dispositionStatuses)[number]

/** The text of `ImportDisposition`: the disposition the manifest asked for. */
export const importDispositions = ["rename", "no-overwrite", "overwrite"] as const
export type ImportDisposition = (typeof importDispositions)[number]

/** `Block/@Status` and `PageRange/@Status`. */
export const rangeStatuses = [
  "Completed",
  "Committed",
  "Uncommitted",
  "Corrupted",
  "FileUnexpectedEnd",
  "BlobUnexpectedEnd",
  "BlobRequestFailed",
  "IOFailed",
  "Failed",
  "Cancelled",
] as const
export type RangeStatus = (typeof rangeStatuses)[number]

/** `Metadata/@Status` and `Properties/@Status`: one code set for both. */
export const fileStatuses = [
  "Completed",
  "FileNameInvalid",
  "FileNameTooLong",
  "FileNotFound",
  "FileAccessDenied",
  "Corrupted",
  "XmlReadFailed",
  "XmlWriteFailed",
  "BlobRequestFailed",
  "IOFailed",
  "Failed",
  "Cancelled",
] as const
export type MetadataStatus = (typeof fileStatuses)[number]
export type PropertiesStatus = (typeof fileStatuses)[number]
export const metadataStatuses: ReadonlyArray<MetadataStatus> = fileStatuses
export const propertiesStatuses: ReadonlyArray<PropertiesStatus> = fileStatuses

/** What each code means, in a few words (for human output). */
export const statusMeaning: Readonly<Record<string, string>> = {
  Completed: "done without errors",
  CompletedWithWarnings: "done; some blobs hit warnings from their import dispositions",
  CompletedWithErrors: "done, with errors in some blobs or parts of blobs",
  DiskNotFound: "no disk found on the drive",
  VolumeNotNtfs: "the first data volume is not NTFS",
  DiskOperationFailed: "an unknown failure in a disk operation",
  BitLockerVolumeNotFound: "no BitLocker-encryptable volume",
  BitLockerNotActivated: "BitLocker is not enabled on the volume",
  BitLockerProtectorNotFound: "no numerical-password key protector on the volume",
  BitLockerKeyInvalid: "the BitLocker key does not unlock the volume",
  BitLockerUnlockVolumeFailed: "an unknown failure unlocking the volume",
  BitLockerFailed: "an unknown failure in a BitLocker operation",
  ManifestNameInvalid: "the manifest file name is invalid",
  ManifestNameTooLong: "the manifest file name is too long",
  ManifestNotFound: "the manifest file is missing",
  ManifestAccessDenied: "the manifest file cannot be read",
  ManifestCorrupted: "the manifest does not match its hash",
  ManifestFormatInvalid: "the manifest does not follow the format",
  ManifestDriveIdMismatch: "the manifest's DriveId is not this drive's serial",
  ReadManifestFailed: "a disk I/O error reading the manifest",
  BlobListFormatInvalid: "the export blob list is malformed",
  BlobRequestForbidden: "storage access forbidden (account key or SAS)",
  InternalError: "an internal error of the service",
  FileNameInvalid: "the file name is invalid",
  FileNameTooLong: "the file name is too long",
  FileNotFound: "the file is missing",
  FileAccessDenied: "the file cannot be read",
  BlobRequestFailed: "a Blob service request failed",
  RenameFailed: "renaming the blob (import) or file (export) failed",
  BlobUnexpectedChange: "the blob changed during the export",
  LeasePresent: "a lease is held on the blob",
  IOFailed: "a disk or network I/O failure",
  Failed: "an unknown failure",
  Created: "a new blob was created",
  Renamed: "an existing blob was kept; this one was written under a new name",
  Skipped: "an existing blob was kept (no-overwrite)",
  Overwritten: "an existing blob was replaced (overwrite)",
  Cancelled: "not attempted: an earlier failure stopped processing",
  Committed: "uploaded and committed, but not as part of the full block list",
  Uncommitted: "uploaded, never committed",
  Corrupted: "the content does not match its MD5 hash",
  FileUnexpectedEnd: "the source file ended early",
  BlobUnexpectedEnd: "the blob ended early",
  XmlReadFailed: "the file is not in the required XML format",
  XmlWriteFailed: "writing the XML file failed",
}

// ---------------------------------------------------------------- events

export interface LogStart {
  readonly _tag: "LogStart"
  /** the `Version` attribute; absent in some documentation samples */
  readonly version?: string
}

export interface DriveIdEvent {
  readonly _tag: "DriveId"
  readonly value: string
}

export interface DispositionEntry {
  readonly status: DispositionStatus
  readonly value: ImportDisposition
}

/** Which range list a blob carries: `BlockList`, `PageRangeList` or none. */
export type ListKind = "block" | "page" | "none"

export interface BlobStart {
  readonly _tag: "BlobStart"
  readonly status: BlobStatus
  /** `container/blob`; after a `Renamed` disposition, the new name */
  readonly blobPath: string
  /** relative to the drive root, backslashes, leading `\` */
  readonly filePath: string
  /** export only */
  readonly snapshot?: string
  /** total length of the blob in bytes */
  readonly length: number
  /** export only */
  readonly lastModified?: string
  /** import only */
  readonly importDisposition?: DispositionEntry
  /** `block` and `page` mean the list element is present (possibly empty: `<BlockList />`) */
  readonly list: ListKind
}

export interface Block {
  readonly _tag: "Block"
  readonly offset: number
  readonly length: number
  readonly id?: string
  /** Base16 MD5, upper-case (the reader normalises case and blanks) */
  readonly hash?: string
  readonly status: RangeStatus
}

export interface PageRange {
  readonly _tag: "PageRange"
  readonly offset: number
  readonly length: number
  readonly hash?: string
  readonly status: RangeStatus
}

export type Range = Block | PageRange

/** `GlobalPath` (the session-wide file) or `Path` (the blob's own file), with its hash. */
export interface FileRef {
  /** the element text; absent when the element is empty */
  readonly path?: string
  readonly hash?: string
}

export interface FileEntry<S extends string> {
  readonly status: S
  readonly globalPath?: FileRef
  readonly path?: FileRef
}
export type MetadataEntry = FileEntry<MetadataStatus>
export type PropertiesEntry = FileEntry<PropertiesStatus>

export interface BlobEnd {
  readonly _tag: "BlobEnd"
  readonly metadata?: MetadataEntry
  readonly properties?: PropertiesEntry
}

export interface DriveStatusEvent {
  readonly _tag: "DriveStatus"
  readonly status: DriveStatus
}

export interface LogEnd {
  readonly _tag: "LogEnd"
}

export type CopyLogEvent = LogStart | DriveIdEvent | BlobStart | Block | PageRange | BlobEnd | DriveStatusEvent | LogEnd

// ---------------------------------------------------------------- helpers

/** The fields of a blob's header, as they may come (optional ones possibly undefined). */
export interface BlobStartInput {
  readonly status: BlobStatus
  readonly blobPath: string
  readonly filePath: string
  readonly snapshot?: string | undefined
  readonly length: number
  readonly lastModified?: string | undefined
  readonly importDisposition?: DispositionEntry | undefined
  readonly list: ListKind
}

/** A blob's header (`BlobStart` without its tag): the optional fields left out when undefined, the fields in the log's order. */
export const blobStartFields = (b: BlobStartInput): Omit<BlobStart, "_tag"> => ({
  status: b.status,
  blobPath: b.blobPath,
  filePath: b.filePath,
  ...(b.snapshot !== undefined ? { snapshot: b.snapshot } : {}),
  length: b.length,
  ...(b.lastModified !== undefined ? { lastModified: b.lastModified } : {}),
  ...(b.importDisposition !== undefined ? { importDisposition: b.importDisposition } : {}),
  list: b.list,
})

/** `Completed` is the only code that needs nothing more (for drives, blobs, ranges, files). */
export const isCompleted = (status: string): boolean => status === "Completed"

const member =
  <T extends string>(all: ReadonlyArray<T>) =>
  (s: string): s is T =>
    (all as ReadonlyArray<string>).includes(s)

export const isDriveStatus = member(driveStatuses)
export const isBlobStatus = member(blobStatuses)
export const isDispositionStatus = member(dispositionStatuses)
export const isImportDisposition = member(importDispositions)
export const isRangeStatus = member(rangeStatuses)
export const isFileStatus = member(fileStatuses)
