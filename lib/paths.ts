/**
 * Source paths as the dataset writes them, and where they are on this host.
 *
 * A dataset path must be absolute, in one of three forms:
 *   - Windows drive  `F:\data\x.txt`, `F:/data/`        (`\` and `/` both separate)
 *   - UNC share      `\\server\share\data\`, `//server/share/data/`
 *   - POSIX          `/data/x.txt`                     (only `/` separates)
 * Windows' own long-path prefix `\\?\` is accepted and dropped (`\\?\UNC\server\share\…` too).
 * A trailing separator marks a directory; anything else names a file.
 *
 * On a POSIX host a Windows path needs a mapping from `--mount` (`F=/mnt/f`,
 * `\\server\share=/mnt/s`): `F:\a\b.txt` with `F=/mnt/f` is `/mnt/f/a/b.txt`. On a Windows host
 * Windows paths are used as they are unless a mapping is given; a POSIX path has no drive there
 * and is refused. Drive letters and share names match case-insensitively.
 *
 * Refused (decisions): relative paths (`data\x`, `.\x`, `F:x`, `\x` without a drive), `.` and
 * `..` segments (a path must name its place directly; `..` could leave the mapped mount),
 * control characters, and in Windows forms the characters Windows forbids in names (`<>:"|?*`).
 * Doubled separators are read as one.
 *
 * Long paths on Windows: a local path longer than 259 characters (MAX_PATH, 260 with its NUL)
 * — or a folder's longer than 247 (CreateDirectory keeps 12 for an 8.3 name) — is given the
 * `\\?\` prefix (`\\?\C:\…`, `\\?\UNC\server\share\…`), which lifts the limit to about
 * 32,767. The prefix turns off Windows' own path clean-up, so the path is written with `\` only
 * and has no `.` or `..` (both already refused). Node 20 itself namespaces every absolute path
 * it hands to the file system (`path.toNamespacedPath` in each `fs` call), so for waie's own
 * reads and writes this is a second guard; it matters for any path handed on to another
 * program, and it makes the long form visible in what waie prints.
 */
import { showCell } from "./csv.ts"
import type { NameProblem } from "./names.ts"

export type Platform = "posix" | "win32"

export const hostPlatform = (): Platform => (process.platform === "win32" ? "win32" : "posix")

export type PathForm = "drive" | "unc" | "posix"

export interface SourcePath {
  /** as written in the file */
  readonly raw: string
  readonly form: PathForm
  /** the upper-case drive letter (form "drive") */
  readonly drive?: string
  /** `\\server\share` as written (form "unc") */
  readonly share?: string
  /** the names below the drive, share or `/`, in order */
  readonly segments: ReadonlyArray<string>
  /** the path ends with a separator */
  readonly isDirectory: boolean
  /** where to open it on this host; a directory ends with the host's separator */
  readonly local: string
}

// ---------------------------------------------------------------- --mount

export type MountKey = { readonly kind: "drive"; readonly letter: string } | { readonly kind: "share"; readonly server: string; readonly share: string }

export interface MountEntry {
  readonly key: MountKey
  /** the local folder, as given (the command resolves a relative one) */
  readonly target: string
  /** the option value as written */
  readonly raw: string
}

export const mountExpected = "L=/local/folder (a drive letter) or \\\\server\\share=/local/folder"

/** Parse one `--mount` value: `F=/mnt/f`, `F:=/mnt/f`, `\\server\share=/mnt/s`. */
export const parseMount = (value: string): MountEntry | NameProblem => {
  const eq = value.indexOf("=")
  if (eq === -1) return { expected: mountExpected, found: `${quote(value)} (no '=')` }
  const left = value.slice(0, eq).trim()
  const target = value.slice(eq + 1).trim()
  if (target === "") return { expected: mountExpected, found: `${quote(value)} (no folder after '=')` }
  const drive = /^([A-Za-z]):?[\\/]?$/.exec(left)
  if (drive) return { key: { kind: "drive", letter: drive[1]!.toUpperCase() }, target, raw: value }
  const unc = /^(?:\\\\|\/\/)([^\\/]+)[\\/]([^\\/]+)[\\/]?$/.exec(left)
  if (unc) return { key: { kind: "share", server: unc[1]!, share: unc[2]! }, target, raw: value }
  return { expected: mountExpected, found: `${quote(value)} (${quote(left)} is neither a drive letter nor \\\\server\\share)` }
}

/** Drive letters and shares mapped to local folders. */
export interface MountMap {
  readonly drives: ReadonlyMap<string, string>
  /** keyed by lower-case `server\share` */
  readonly shares: ReadonlyMap<string, string>
}

export const emptyMounts: MountMap = { drives: new Map(), shares: new Map() }

const shareKey = (server: string, share: string): string => `${server}\\${share}`.toLowerCase()

const mountName = (key: MountKey): string => (key.kind === "drive" ? `${key.letter}:` : `\\\\${key.server}\\${key.share}`)

/**
 * Build the map from parsed entries; `resolve` turns each target into an absolute local folder.
 * The same drive or share mapped twice is a problem.
 */
export const makeMountMap = (entries: ReadonlyArray<MountEntry>, resolve: (target: string) => string = (t) => t): MountMap | NameProblem => {
  const drives = new Map<string, string>()
  const shares = new Map<string, string>()
  for (const e of entries) {
    const target = resolve(e.target)
    const map = e.key.kind === "drive" ? drives : shares
    const k = e.key.kind === "drive" ? e.key.letter : shareKey(e.key.server, e.key.share)
    if (map.has(k)) return { expected: "each drive or share mapped once", found: `${mountName(e.key)} mapped twice` }
    map.set(k, target)
  }
  return { drives, shares }
}

// ---------------------------------------------------------------- source paths

export const absolutePathExpected = "an absolute path (F:\\dir\\file, \\\\server\\share\\dir\\ or /dir/file)"

const quote = (s: string): string => showCell(s)

// eslint-disable-next-line no-control-regex
const controlChar = /[\u0000-\u001f\u007f]/
const windowsForbidden = /[<>:"|?*]/

export interface ResolveOptions {
  readonly mounts: MountMap
  readonly platform: Platform
}

/** Split the part after the root into segments; a trailing separator makes a directory. */
const segmentsOf = (rest: string, separators: RegExp, windows: boolean, raw: string): { segments: Array<string>; isDirectory: boolean } | NameProblem => {
  const parts = rest.split(separators)
  const isDirectory = rest === "" || parts[parts.length - 1] === ""
  const segments: Array<string> = []
  for (const part of parts) {
    if (part === "") continue
    if (part === "." || part === "..") return { expected: "a path without '.' or '..' segments", found: `${quote(raw)} (write the folder's own path)` }
    if (controlChar.test(part)) return { expected: "a path without control characters", found: quote(raw) }
    if (windows && windowsForbidden.test(part)) {
      const ch = windowsForbidden.exec(part)![0]
      return { expected: "a Windows path without < > : \" | ? * in its names", found: `${quote(raw)} ('${ch}' in ${quote(part)})` }
    }
    segments.push(part)
  }
  return { segments, isDirectory }
}

/** Paths up to this many characters need no prefix (MAX_PATH less the terminating NUL). */
export const maxPlainPathLength = 259
/** A folder up to this many characters needs none (CreateDirectory keeps 12 for an 8.3 name). */
export const maxPlainFolderLength = 247

/**
 * A Windows local path as Windows can open it at any length: over the limits above, an absolute
 * drive or UNC path gets the `\\?\` prefix (with `/` written as `\`); anything else (short,
 * already prefixed, relative, a device path) is returned as it is.
 */
export const windowsLongPath = (p: string): string => {
  // a folder is measured without its trailing separator
  const folder = /[\\/]$/.test(p)
  if ((folder ? p.length - 1 : p.length) <= (folder ? maxPlainFolderLength : maxPlainPathLength)) return p
  if (/^[\\/]{2}[?.][\\/]/.test(p)) return p
  const back = p.replace(/\//g, "\\")
  if (/^[A-Za-z]:\\/.test(back)) return `\\\\?\\${back}`
  const unc = /^\\\\([^\\]+\\[^\\]+(?:\\.*)?)$/s.exec(back)
  if (unc) return `\\\\?\\UNC\\${unc[1]}`
  return p
}

/** The ordinary form of a path that may carry the `\\?\` prefix (`\\?\UNC\s\h` → `\\s\h`), for comparing paths. */
export const stripLongPathPrefix = (p: string): string => {
  if (/^\\\\\?\\UNC\\/i.test(p)) return "\\\\" + p.slice(8)
  if (/^\\\\\?\\[A-Za-z]:/.test(p)) return p.slice(4)
  return p
}

const joinLocal = (root: string, segments: ReadonlyArray<string>, isDirectory: boolean): string => {
  const sep = /^[A-Za-z]:|^\\\\/.test(root) ? "\\" : "/"
  let base = root
  while (base.length > 1 && (base.endsWith("/") || base.endsWith("\\")) && !/^[A-Za-z]:[\\/]$/.test(base)) base = base.slice(0, -1)
  let p = base
  for (const s of segments) p += (p.endsWith(sep) ? "" : sep) + s
  if (isDirectory && !p.endsWith(sep)) p += sep
  return p
}

/**
 * Read a path from a dataset and find it on this host. Returns what is wrong instead when the
 * path is not absolute, has `.`/`..` segments or forbidden characters, or names a drive or share
 * this host cannot reach.
 */
export const resolveSourcePath = (raw: string, options: ResolveOptions): SourcePath | NameProblem => {
  if (raw === "") return { expected: absolutePathExpected, found: "an empty value" }
  let p = raw
  const extended = /^(?:\\\\|\/\/)([?.])[\\/]/.exec(p)
  if (extended) {
    if (extended[1] === ".") return { expected: absolutePathExpected, found: `${quote(raw)} (a device path)` }
    p = p.slice(4)
    if (/^UNC[\\/]/i.test(p)) p = "\\\\" + p.slice(4)
  }
  const drive = /^([A-Za-z]):(.*)$/s.exec(p)
  if (drive) {
    const letter = drive[1]!.toUpperCase()
    const rest = drive[2]!
    if (!/^[\\/]/.test(rest)) return { expected: absolutePathExpected, found: `${quote(raw)} (relative to the current folder of drive ${letter}:; did you mean ${quote(`${letter}:\\${rest}`)}?)` }
    const split = segmentsOf(rest.slice(1), /[\\/]/, true, raw)
    if ("expected" in split) return split
    const mapped = options.mounts.drives.get(letter)
    let local: string
    if (mapped !== undefined) local = joinLocal(mapped, split.segments, split.isDirectory)
    else if (options.platform === "win32") local = joinLocal(`${letter}:\\`, split.segments, split.isDirectory)
    else return { expected: "a path waie can reach on this host", found: `${quote(raw)} (drive ${letter}: has no --mount mapping; add --mount ${letter}=/path)` }
    return { raw, form: "drive", drive: letter, segments: split.segments, isDirectory: split.isDirectory, local: options.platform === "win32" ? windowsLongPath(local) : local }
  }
  const unc = /^[\\/]{2}([^\\/]+)[\\/]([^\\/]+)(?:([\\/])(.*))?$/s.exec(p)
  if (unc) {
    const server = unc[1]!
    const shareName = unc[2]!
    const share = `\\\\${server}\\${shareName}`
    if (unc[3] === undefined) return { expected: absolutePathExpected, found: `${quote(raw)} (a share is a folder: did you mean ${quote(raw + "\\")}?)` }
    const split = segmentsOf(unc[4]!, /[\\/]/, true, raw)
    if ("expected" in split) return split
    const mapped = options.mounts.shares.get(shareKey(server, shareName))
    let local: string
    if (mapped !== undefined) local = joinLocal(mapped, split.segments, split.isDirectory)
    else if (options.platform === "win32") local = joinLocal(share + "\\", split.segments, split.isDirectory)
    else return { expected: "a path waie can reach on this host", found: `${quote(raw)} (share ${share} has no --mount mapping; add --mount '${share}=/path')` }
    return { raw, form: "unc", share, segments: split.segments, isDirectory: split.isDirectory, local: options.platform === "win32" ? windowsLongPath(local) : local }
  }
  if (/^[\\/]{2}/.test(p)) return { expected: absolutePathExpected, found: `${quote(raw)} (a share path needs \\\\server\\share\\)` }
  if (p.startsWith("/")) {
    if (options.platform === "win32") return { expected: "an absolute Windows path on this Windows host (F:\\dir\\ or \\\\server\\share\\dir\\)", found: `${quote(raw)} (a POSIX path has no drive here)` }
    const split = segmentsOf(p.slice(1), /\//, false, raw)
    if ("expected" in split) return split
    return { raw, form: "posix", segments: split.segments, isDirectory: split.isDirectory, local: joinLocal("/", split.segments, split.isDirectory) }
  }
  if (p.startsWith("\\")) return { expected: absolutePathExpected, found: `${quote(raw)} (no drive letter)` }
  return { expected: absolutePathExpected, found: `${quote(raw)} (a relative path)` }
}

/** The last name of a path (a file's name); "" for a root. */
export const baseName = (p: SourcePath): string => p.segments[p.segments.length - 1] ?? ""
