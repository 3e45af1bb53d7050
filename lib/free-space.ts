/**
 * `--free-space DRIVE=SIZE` (waie's extension to PrepImport and plan): count a drive as having at
 * most SIZE bytes free when a session starts. What it is for: preparing drives as folders on a
 * bigger disk (a staging array, a test machine) and copying each folder to a physical drive
 * later — the placement must fit the drive that will ship, not the disk the folder is on. The
 * measured free space still wins when it is smaller.
 *
 * DRIVE names a drive as the driveset does: a letter (`G`, `G:`; any case) or a folder path
 * (relative paths resolve against the current folder). A name that is no drive of the session is
 * refused before anything is opened, as is the same drive twice.
 */
import { Either } from "effect"
import * as path from "node:path"
import { parseByteSize } from "./drive-size.ts"
import { InvalidArgument, UsageError } from "./errors.ts"

/** The command-line option, shared by PrepImport and plan. */
export const freeSpaceOption = {
  name: "free-space",
  takes: "values",
  placeholder: "DRIVE=SIZE",
  description: "count DRIVE (a driveset letter or folder) as having at most SIZE free, e.g. G=900GB: for folders copied to smaller drives later (repeatable)",
} as const

export interface FreeSpaceLimit {
  /** as given on the command line */
  readonly name: string
  /** `G` for a letter, else the resolved folder */
  readonly key: string
  readonly bytes: number
}

const letter = /^([A-Za-z]):?$/

const keyOf = (name: string, resolve: (p: string) => string): string => {
  const m = letter.exec(name)
  return m ? m[1]!.toUpperCase() : path.resolve(resolve(name))
}

/** The limits of the `--free-space` values, or the first bad one as a typed error. */
export const parseFreeSpace = (values: ReadonlyArray<string>, resolve: (p: string) => string): Either.Either<ReadonlyArray<FreeSpaceLimit>, InvalidArgument> => {
  const limits: Array<FreeSpaceLimit> = []
  for (const v of values) {
    const eq = v.lastIndexOf("=")
    if (eq <= 0) return Either.left(new InvalidArgument({ argument: "--free-space", expected: "DRIVE=SIZE, like G=900GB or /staging/drive-g=12MB", found: JSON.stringify(v) }))
    const name = v.slice(0, eq)
    const size = parseByteSize(v.slice(eq + 1), `--free-space ${name}`)
    if (Either.isLeft(size)) return Either.left(size.left)
    const key = keyOf(name, resolve)
    const same = limits.find((l) => l.key === key)
    if (same) return Either.left(new InvalidArgument({ argument: "--free-space", expected: "each drive once", found: `${JSON.stringify(same.name)} and ${JSON.stringify(name)}` }))
    limits.push({ name, key, bytes: size.right })
  }
  return Either.right(limits)
}

/** The key a drive of a session is known by: its letter (`G:` → `G`), else its folder. */
export const driveKey = (driveName: string, resolve: (p: string) => string = (p) => p): string => keyOf(driveName, resolve)

/** The limit for a drive, if one was given. */
export const limitFor = (limits: ReadonlyArray<FreeSpaceLimit>, driveName: string, root: string | undefined): FreeSpaceLimit | undefined => {
  const key = driveKey(driveName)
  return limits.find((l) => l.key === key || (root !== undefined && l.key === path.resolve(root)))
}

/** Refuse limits that name no drive of the session (before any drive is opened). */
export const checkLimitsMatch = (command: string, limits: ReadonlyArray<FreeSpaceLimit>, drives: ReadonlyArray<{ readonly name: string; readonly root?: string }>): UsageError | undefined => {
  for (const l of limits) {
    if (!drives.some((d) => limitFor([l], d.name, d.root) !== undefined)) {
      return new UsageError({ command, message: `--free-space ${l.name}: no drive of this session is ${l.name} (its drives: ${drives.map((d) => d.name).join(", ") || "none"})` })
    }
  }
  return undefined
}

/** The free space a session counts on: what the drive has, or less when a limit says so. */
export const limitedFree = (measured: number, limit: FreeSpaceLimit | undefined): number => (limit === undefined ? measured : Math.min(measured, limit.bytes))
