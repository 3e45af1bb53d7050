/**
 * The drives of a plan, looked at without touching them: what `openDrive` (lib/drive.ts) would
 * refuse, read-only, and the free space PrepImport will measure once it has opened the drive.
 *
 * PrepImport measures a drive's free space after `openDrive` has taken the lock and (for a new
 * drive, or a formatted one) written the identity file, and after a Format has erased the drive.
 * So the plan's prediction is the free space now, plus what a Format would free (the allocated
 * blocks of everything it erases, `st_blocks × 512`), less one allocation unit (`statfs` bsize)
 * for each of those small files not there yet. Exact on file systems that allocate whole blocks to
 * small files (ext4, xfs, tmpfs, NTFS): the property in properties/plan.test.ts holds the plan's
 * placement equal to PrepImport's on tmpfs drives. The `VolumesTest` layer counts file sizes, not
 * blocks: there the prediction is a few hundred bytes short (conservative).
 *
 * What cannot be seen without writing is not checked: the canary write PrepImport makes (a drive
 * that loses data), and Windows' BitLocker. A folder that the user may not write to is reported
 * (access W_OK).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import * as fsp from "node:fs/promises"
import { hostname } from "node:os"
import * as path from "node:path"
import { type DriveUse, encryptionPlan, findOverlap, foreignEntries, identityFileName, lockFileName, manifestFileName, parseIdentity, parseLock, processAlive, type ProtectedPath, resolveDriveRoot } from "./drive.ts"
import { type DrivesetRow, driveName } from "./driveset.ts"
import { DriveBelongsToAnotherJournal, DriveIdentityInvalid, DriveIdentityMismatch, DriveLocked, DriveNotEmpty, DriveNotWritable, DriveOverlapsProtectedPath, DriveUnavailable, FormatRefused } from "./errors.ts"
import type { MountMap, Platform } from "./paths.ts"
import { Volumes } from "./volumes.ts"

export interface DriveLook {
  /** as the driveset or the journal names it: `G:` or the folder */
  readonly name: string
  /** the local folder ("" when it cannot be resolved) */
  readonly root: string
  /** a drive the journal already has */
  readonly known: boolean
  readonly format: boolean
  /** free bytes now (undefined when they cannot be read) */
  readonly freeNow?: number
  /** what PrepImport will measure once it has opened (and formatted) the drive */
  readonly freeBytes: number
  /** the file system's allocation unit (statfs bsize), counted per file waie adds before measuring */
  readonly clusterBytes: number
  /** what a Format would erase: entries in the root and their allocated bytes */
  readonly erases?: { readonly entries: number; readonly bytes: number }
  /** why PrepImport would refuse the drive (the message of the error it would fail with) */
  readonly problems: ReadonlyArray<string>
}

const blockOf = (root: string): Promise<number> =>
  fsp.statfs(root).then(
    (s) => Number(s.bsize) || 4096,
    () => 4096,
  )

/** Allocated bytes of a file or folder tree (st_blocks × 512; sizes in clusters where the system gives no blocks). */
const allocated = (fs: FileSystem.FileSystem, p: string, cluster: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    const info = yield* fs.stat(p).pipe(Effect.option)
    if (Option.isNone(info)) return 0
    const own = Option.match(info.value.blocks, { onNone: () => Math.ceil(Number(info.value.size) / cluster) * cluster, onSome: (b) => b * 512 })
    if (info.value.type !== "Directory") return own
    const names = yield* fs.readDirectory(p).pipe(Effect.orElseSucceed(() => [] as Array<string>))
    let total = own
    for (const n of names) total += yield* allocated(fs, path.join(p, n), cluster)
    return total
  })

interface LookOptions {
  readonly name: string
  readonly root: string
  readonly use: DriveUse
  readonly journalId?: string
  readonly journalPath?: string
  readonly protectedPaths: ReadonlyArray<ProtectedPath>
}

/**
 * Look at a drive as `openDrive` would open it, changing nothing. Never fails: what is wrong is
 * in `problems`.
 */
export const lookAtDrive = (o: LookOptions): Effect.Effect<DriveLook, never, FileSystem.FileSystem | Volumes> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const volumes = yield* Volumes
    const { name: drive, use } = o
    const root = path.resolve(o.root)
    const format = use.kind === "add" && use.format
    const problems: Array<string> = []
    const base = { name: drive, root, known: use.kind === "known", format }
    const info = yield* fs.stat(root).pipe(Effect.either)
    if (info._tag === "Left") {
      const missing = info.left._tag === "SystemError" && info.left.reason === "NotFound"
      problems.push(new DriveUnavailable({ drive, root, problem: missing ? "does not exist: mount the drive there, or check --mount" : `cannot be read (${info.left.message})` }).message)
      return { ...base, freeBytes: 0, clusterBytes: 4096, problems }
    }
    if (info.right.type !== "Directory") {
      problems.push(new DriveUnavailable({ drive, root, problem: "is not a folder: a drive is the folder its file system is mounted on" }).message)
      return { ...base, freeBytes: 0, clusterBytes: 4096, problems }
    }
    const overlap = yield* findOverlap(root, [...(o.journalPath !== undefined ? [{ kind: "journal" as const, path: o.journalPath }] : []), ...o.protectedPaths])
    if (overlap !== undefined) problems.push((format ? new FormatRefused({ drive, root, ...overlap }) : new DriveOverlapsProtectedPath({ drive, root, ...overlap })).message)
    const writable = yield* fs.access(root, { writable: true }).pipe(Effect.either)
    if (writable._tag === "Left") problems.push(new DriveNotWritable({ drive, root, code: "EACCES", reason: "this user may not write there" }).message)

    // the lock: another waie at work on the drive
    const lockPath = path.join(root, lockFileName)
    const lockText = yield* fs.readFileString(lockPath).pipe(Effect.option)
    if (Option.isSome(lockText)) {
      const holder = parseLock(lockText.value)
      if (typeof holder === "string") problems.push(new DriveLocked({ drive, root, lockPath, problem: holder }).message)
      else if (holder.host !== hostname() || processAlive(holder.pid)) problems.push(new DriveLocked({ drive, root, lockPath, holder }).message)
    }

    // whose drive it is
    const identityPath = path.join(root, identityFileName)
    const identityText = yield* fs.readFileString(identityPath).pipe(Effect.option)
    const identity = Option.isSome(identityText) ? parseIdentity(identityText.value) : undefined
    if (typeof identity === "string") problems.push(new DriveIdentityInvalid({ drive, path: identityPath, problem: identity }).message)
    const ownIdentity = identity !== undefined && typeof identity !== "string" && o.journalId !== undefined && identity.journalId === o.journalId ? identity : undefined
    if (identity !== undefined && typeof identity !== "string" && ownIdentity === undefined) {
      problems.push(new DriveBelongsToAnotherJournal({ drive, root, file: identityPath, otherJournalId: identity.journalId, driveId: identity.driveId }).message)
    }
    const manifestThere = yield* fs.exists(path.join(root, manifestFileName)).pipe(Effect.orElseSucceed(() => false))
    if (manifestThere && identity === undefined) problems.push(new DriveBelongsToAnotherJournal({ drive, root, file: path.join(root, manifestFileName) }).message)
    if (use.kind === "known") {
      if (identity === undefined) problems.push(new DriveIdentityMismatch({ drive, root, expected: use.driveId, found: `no ${identityFileName}` }).message)
      else if (typeof identity !== "string" && identity.driveId !== use.driveId) problems.push(new DriveIdentityMismatch({ drive, root, expected: use.driveId, found: `drive ${identity.driveId}` }).message)
    }

    // what is in it: a Format erases it, else it must be empty
    const names = yield* fs.readDirectory(root).pipe(Effect.orElseSucceed(() => [] as Array<string>))
    const cluster = yield* Effect.promise(() => blockOf(root))
    let erases: DriveLook["erases"]
    if (format) {
      const erasable = names.filter((n) => n !== lockFileName && n !== "lost+found" && n !== "System Volume Information")
      let bytes = 0
      for (const n of erasable) {
        const p = path.join(root, n)
        const i = yield* fs.stat(p).pipe(Effect.option)
        if (Option.isSome(i) && i.value.type === "Directory" && i.value.dev !== info.right.dev) problems.push(new FormatRefused({ drive, root, kind: "mount", path: p, relation: "is on the drive" }).message)
        bytes += yield* allocated(fs, p, cluster)
      }
      erases = { entries: erasable.length, bytes }
    } else if (use.kind === "add" && identity === undefined) {
      const foreign = foreignEntries(names)
      if (foreign.length > 0) problems.push(new DriveNotEmpty({ drive, root, names: foreign.slice(0, 5), count: foreign.length }).message)
    }

    const freeNow = yield* volumes.freeBytes(root).pipe(Effect.option)
    // the lock PrepImport takes (a stale one is replaced: no change), and the identity file it writes for a new or formatted drive
    const added = (Option.isSome(lockText) ? 0 : cluster) + (use.kind === "add" && (format || identity === undefined) ? cluster : 0)
    const free = Option.isSome(freeNow) ? Math.max(0, freeNow.value + (erases?.bytes ?? 0) - added) : 0
    if (Option.isNone(freeNow)) problems.push(new DriveUnavailable({ drive, root, problem: "has a free space that cannot be read" }).message)
    return { ...base, ...(Option.isSome(freeNow) ? { freeNow: freeNow.value } : {}), freeBytes: free, clusterBytes: cluster, ...(erases ? { erases } : {}), problems }
  })

/** A driveset row's drive, as PrepImport would add it. */
export const lookAtNewDrive = (row: DrivesetRow, o: { readonly mounts: MountMap; readonly platform: Platform; readonly journalId?: string; readonly journalPath?: string; readonly protectedPaths: ReadonlyArray<ProtectedPath> }) =>
  Effect.gen(function* () {
    const name = driveName(row.drive)
    const problems: Array<string> = []
    if (row.encryption === "Encrypt") {
      const plan = yield* encryptionPlan(row, o.platform).pipe(Effect.either)
      if (plan._tag === "Left") problems.push(plan.left.message)
    }
    const root = yield* resolveDriveRoot(row, o.mounts, o.platform).pipe(Effect.either)
    if (root._tag === "Left") return { name, root: "", known: false, format: row.format === "Format", freeBytes: 0, clusterBytes: 4096, problems: [...problems, root.left.message] } satisfies DriveLook
    const look = yield* lookAtDrive({
      name,
      root: root.right,
      use: { kind: "add", format: row.format === "Format", silent: true, confirmAnswer: "" },
      ...(o.journalId !== undefined ? { journalId: o.journalId } : {}),
      ...(o.journalPath !== undefined ? { journalPath: o.journalPath } : {}),
      protectedPaths: o.protectedPaths,
    })
    return { ...look, problems: [...problems, ...look.problems] } satisfies DriveLook
  })
