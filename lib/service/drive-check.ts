/**
 * The drive-level checks of an import (formats.md §1.3, the drive statuses): before any blob is
 * touched, the datacenter finds the drive's manifest, checks that it is the manifest the job
 * names (its MD5 against the job file's ManifestHash), that it follows the format, and that it
 * belongs to this drive (its DriveId against the drive's serial). A drive that fails any of these
 * gets a copy log with that drive status and no blobs.
 *
 * The drive's identity, as the service would read its serial: waie's identity file
 * (`waie-drive.json`, written by PrepImport on every drive, serial or not), else the device
 * serial (lib/volumes.ts). A folder with neither (a drive prepared by another tool and copied
 * into a folder) has no identity of its own: its manifest's DriveId is taken as its serial, the
 * DriveId check cannot be made, and a note says so.
 *
 * In order, the first that applies:
 *   DiskNotFound          the drive's folder does not exist or is not a folder (nothing mounted)
 *   ManifestNameInvalid   the job file's ManifestFile is no relative path on the drive
 *   ManifestNameTooLong   it is longer than 260 characters (MAX_PATH, as on the service's NTFS)
 *   ManifestNotFound      no such file
 *   ManifestAccessDenied  it cannot be opened (permissions, or a folder of that name)
 *   ReadManifestFailed    reading it failed part way (an I/O error)
 *   ManifestCorrupted     its MD5 is not the job file's ManifestHash (only with a job file)
 *   ManifestFormatInvalid it breaks a rule of the format (`waie manifest check` lists them all)
 *   ManifestDriveIdMismatch its DriveId is not the drive's
 *
 * One rule of the format is relaxed: a manifest without StorageAccountKey or ContainerSas passes
 * with a note. The rehearsal signs with its own storage options, and an export drive (whose
 * manifest has no credential) must import back.
 *
 * The manifest is read once here, streaming (the checker keeps per-blob state only); the import
 * reads it a second time to execute it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"
import * as path from "node:path"
import type { DriveStatus } from "../copylog.ts"
import { identityFileName, manifestFileName, parseIdentity } from "../drive.ts"
import type { FileUnreadable, Issue } from "../errors.ts"
import { fileBytes } from "../files.ts"
import { checkDrivePath, checkManifest, type ManifestStats } from "../manifest.ts"
import { Volumes } from "../volumes.ts"
import type { DriveInfo } from "./drive-info.ts"

/** The manifest of a drive when no job file names another: `\DriveManifest.xml`. */
export const defaultManifestFile = `\\${manifestFileName}`

/** Longest manifest path accepted (characters), as MAX_PATH on the service's Windows side. */
export const maxManifestNameLength = 260

export interface DriveIdentity {
  /** undefined: the drive has no identity of its own */
  readonly driveId: string | undefined
  readonly source: "file" | "serial" | "none"
  /** why the identity file was not used, when it is there but unusable */
  readonly note?: string
}

const isNotFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** The drive's identity: `waie-drive.json`, else the device serial. */
export const driveIdentity = (root: string): Effect.Effect<DriveIdentity, never, FileSystem.FileSystem | Volumes> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const volumes = yield* Volumes
    const file = path.join(root, identityFileName)
    const text: { text?: string; error?: string } = yield* fs.readFileString(file).pipe(
      Effect.map((t) => ({ text: t })),
      Effect.catchAll((e) => Effect.succeed(isNotFound(e) ? {} : { error: e.message })),
    )
    let note: string | undefined
    if (text.text !== undefined) {
      const id = parseIdentity(text.text)
      if (typeof id !== "string") return { driveId: id.driveId, source: "file" }
      note = `${file}: not a waie identity file (${id}); the device serial is used instead`
    } else if (text.error !== undefined) note = `${file}: cannot be read (${text.error}); the device serial is used instead`
    const serial = yield* volumes.deviceSerial(root)
    const base = serial !== undefined ? { driveId: serial, source: "serial" as const } : { driveId: undefined, source: "none" as const }
    return note !== undefined ? { ...base, note } : base
  })

/** A manifest path as the job file writes it (`\DriveManifest.xml`, `\dir\m.xml`) under the drive's folder. */
export const manifestPathOn = (root: string, manifestFile: string): string => path.join(root, ...manifestFile.split(/[\\/]/).filter((s) => s !== ""))

export interface DriveAccepted {
  readonly ok: true
  readonly driveId: string
  /** the manifest's file on this host, and as the job file names it */
  readonly manifest: string
  readonly manifestFile: string
  /** MD5 of the manifest, upper-case hex */
  readonly hash: string
  readonly stats: ManifestStats
  readonly notes: ReadonlyArray<string>
}

export interface DriveRefused {
  readonly ok: false
  /** the drive's identity, else the manifest's DriveId, else the folder's name (the copy log needs one) */
  readonly driveId: string
  readonly status: DriveStatus
  /** one line for a person */
  readonly problem: string
  readonly manifest: string
  readonly manifestFile: string
  /** ManifestFormatInvalid: the checker's issues (at most `maxIssuesShown`) */
  readonly issues: ReadonlyArray<Issue>
  readonly notes: ReadonlyArray<string>
}

export type DriveCheck = DriveAccepted | DriveRefused

/** Issues of a malformed manifest carried in the result (the rest are counted by `waie manifest check`). */
export const maxIssuesShown = 20

const statusOfUnreadable = (e: FileUnreadable): DriveStatus => {
  if (e.code === "ENOENT") return "ManifestNotFound"
  if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EISDIR") return "ManifestAccessDenied"
  return "ReadManifestFailed"
}

/**
 * Check one drive at `root` (a folder) against its job file, when there is one. Never fails: every
 * outcome is a DriveCheck.
 */
export const checkDrive = (root: string, info: DriveInfo | undefined, identity: DriveIdentity): Effect.Effect<DriveCheck, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const notes: Array<string> = identity.note !== undefined ? [identity.note] : []
    const manifestFile = info?.manifestFile ?? defaultManifestFile
    const manifest = manifestPathOn(root, manifestFile)
    const fallbackId = identity.driveId ?? info?.driveId ?? path.basename(path.resolve(root))
    const refuse = (status: DriveStatus, problem: string, issues: ReadonlyArray<Issue> = [], driveId = fallbackId): DriveRefused => ({ ok: false, driveId, status, problem, manifest, manifestFile, issues, notes })

    const fs = yield* FileSystem.FileSystem
    const folder = yield* fs.stat(root).pipe(Effect.either)
    if (folder._tag === "Left" || folder.right.type !== "Directory") return refuse("DiskNotFound", `${root}: ${folder._tag === "Left" ? "no such folder" : "not a folder"} (the drive is the folder its file system is mounted on)`)

    const name = checkDrivePath(manifestFile)
    if (name) return refuse("ManifestNameInvalid", `the manifest's name ${manifestFile}: expected ${name.expected}, found ${name.found}`)
    if ([...manifestFile].length > maxManifestNameLength) return refuse("ManifestNameTooLong", `the manifest's name is ${[...manifestFile].length} characters long, more than ${maxManifestNameLength}`)

    const result = yield* checkManifest(manifest, fileBytes(manifest), { purpose: "import", credentialOptional: true, maxIssues: maxIssuesShown }).pipe(Effect.either)
    if (result._tag === "Left") {
      const e = result.left
      const status = statusOfUnreadable(e)
      return refuse(status, status === "ManifestNotFound" ? `no manifest at ${manifest} (${manifestFile})` : `${manifest}: ${e.reason} (${e.code})`)
    }
    const report = result.right
    if (info?.manifestHash !== undefined && report.hash !== info.manifestHash) {
      return refuse("ManifestCorrupted", `${manifest}: its MD5 is ${report.hash}, the job file ${info.file} says ${info.manifestHash}`, [], identity.driveId ?? report.driveId ?? fallbackId)
    }
    if (!report.ok) {
      const errors = report.errors + report.omitted
      return refuse("ManifestFormatInvalid", `${manifest}: not a valid import manifest (${errors} problem${errors === 1 ? "" : "s"}; waie manifest check lists them)`, report.issues.filter((i) => i.severity !== "warning"), identity.driveId ?? report.driveId ?? fallbackId)
    }
    const manifestId = report.driveId!
    if (report.credential === "none") {
      notes.push(`${manifest}: no StorageAccountKey or ContainerSas (an export drive's manifest has none); the service wants one in an import manifest, waie signs with the command line's storage options`)
    }
    if (identity.driveId === undefined) {
      notes.push(`${root}: the drive has no identity of its own (no ${identityFileName}, no device serial); its manifest's DriveId ${manifestId} is taken as its serial, so the DriveId check is not made`)
      return { ok: true, driveId: manifestId, manifest, manifestFile, hash: report.hash, stats: report.stats, notes }
    }
    if (manifestId !== identity.driveId) {
      return refuse("ManifestDriveIdMismatch", `${manifest}: its DriveId is ${manifestId}, the drive is ${identity.driveId} (${identity.source === "file" ? identityFileName : "device serial"})`)
    }
    return { ok: true, driveId: identity.driveId, manifest, manifestFile, hash: report.hash, stats: report.stats, notes }
  })
