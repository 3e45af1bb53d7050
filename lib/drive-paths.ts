/**
 * Where a blob's file sits on a drive: the manifest's FilePath, relative to the drive root,
 * written with `\`.
 *
 * Plain mapping: `\<sessionId>\<container>\<blob name with / as \>`, e.g. blob
 * `photos/2024/a.jpg` of session `session#1` → `\session#1\photos\2024\a.jpg`.
 *
 * The drive is read on Windows (NTFS) at the datacenter and written here on whatever file system
 * is mounted, so every segment must be *portable*:
 * - not empty; no `<>:"|?*\` `/`, no control character (U+0000–U+001F), no lone surrogate;
 * - not ending with `.` or a space (Windows drops them; `.` and `..` fall under this rule too);
 * - not a reserved device name, with any extension and case: CON PRN AUX NUL COM1–9 LPT1–9
 *   (and COM¹²³, LPT¹²³, CONIN$, CONOUT$), also with spaces before the extension (`con .txt`);
 * - at most 255 UTF-16 units (NTFS) and at most 255 UTF-8 bytes (Linux NAME_MAX: ext4, tmpfs);
 * and a whole FilePath is at most 32,000 UTF-16 units.
 * A segment that is not portable is replaced by `~<16 hex digits of SHA-256>` of the blob path up
 * to and including that segment (`container/a/b`), keeping the extension of a file's name when
 * it is 1–16 ASCII letters and digits (`~0123456789abcdef.vhd`). Sessions ids and container
 * names are portable by their own rules, except container names that are device names (`con`).
 *
 * Collisions. NTFS compares names case-insensitively; a blob path is case-sensitive, so
 * `a/B.txt` and `a/b.txt` are two blobs but one NTFS name. Also a blob `a/b` and a blob `a/b/c`
 * need `b` to be both a file and a directory. `FilePathAllocator` gives every blob path of one
 * session on one drive a FilePath no other has taken (compared case-insensitively), and uses the
 * same directory for every path under it spelled the same way: the second claimant of a name
 * (a file after anything, a directory after a file or after a directory spelled differently)
 * gets a hashed name instead (attempt n > 0 hashes `prefix + "\0" + n`).
 *
 * Case-insensitive comparison key: NFC, then JavaScript's full upper-casing, then NFC. NTFS
 * upper-cases each UTF-16 unit through its upcase table (Unicode's simple mappings), so this key
 * merges every pair NTFS merges and a few more (`ß`/`SS`, non-BMP letters, normalisation
 * variants — the latter also keep macOS volumes safe); merging more only costs a hashed name.
 *
 * Memory of the allocator (bounded, documented): one open-addressing table of 64-bit digests —
 * per file or directory given out, a key digest (8 bytes), a spelling digest (8 bytes) and a
 * kind (1 byte) in a table that doubles when half full: 34 to 68 bytes per entry, at most
 * 6.5 MiB for 100,000 files (nothing else grows with the files).
 * A digest collision can only make a name look taken (a hashed name results), never let two
 * paths share a name.
 *
 * Metadata and properties copies: `\<sessionId>\$waie\<kind>-<MD5 in upper-case hex>.xml`
 * (`kind` is `metadata` or `properties`); content-addressed, so one copy per distinct file per
 * session on a drive. `$waie` cannot clash with a container (container names have no `$`
 * except `$root`).
 */
import { createHash } from "node:crypto"
import { checkSessionId } from "./names.ts"
import { hostPlatform, type Platform, windowsLongPath } from "./paths.ts"

export const maxSegmentUnits = 255
export const maxSegmentBytes = 255
export const maxFilePathUnits = 32_000
/** the folder of a session holding the metadata and properties copies */
export const sideFolder = "$waie"

const reservedBase = /^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[1-9\u00B9\u00B2\u00B3]|LPT[1-9\u00B9\u00B2\u00B3])$/i
// eslint-disable-next-line no-control-regex
const forbiddenChar = /[<>:"|?*\\/\u0000-\u001F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why a name cannot be a file or folder name on NTFS (or on Linux), or undefined when it can. */
export const segmentProblem = (segment: string): string | undefined => {
  if (segment === "") return "an empty name"
  const bad = forbiddenChar.exec(segment)
  if (bad) {
    const c = bad[0]
    return `the character ${c.charCodeAt(0) < 0x20 || c.length === 1 && c >= "\uD800" && c <= "\uDFFF" ? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}` : `'${c}'`}`
  }
  if (segment.endsWith(".") || segment.endsWith(" ")) return "a name ending with '.' or a space"
  const dot = segment.indexOf(".")
  const base = (dot === -1 ? segment : segment.slice(0, dot)).replace(/ +$/, "")
  if (reservedBase.test(base)) return `a reserved device name (${base.toUpperCase()})`
  if (segment.length > maxSegmentUnits) return `${segment.length} UTF-16 units (at most ${maxSegmentUnits})`
  const bytes = Buffer.byteLength(segment, "utf8")
  if (bytes > maxSegmentBytes) return `${bytes} UTF-8 bytes (at most ${maxSegmentBytes})`
  return undefined
}

export const isPortableSegment = (segment: string): boolean => segmentProblem(segment) === undefined

/** A FilePath (`\a\b`) whose every segment is portable and whose length is within 32,000. */
export const isPortableFilePath = (filePath: string): boolean =>
  filePath.startsWith("\\") && filePath.length <= maxFilePathUnits && filePath.slice(1).split("\\").every(isPortableSegment)

/** The key two names share when NTFS (or a case- and normalisation-insensitive volume) sees one name. */
export const collisionKey = (name: string): string => name.normalize("NFC").toUpperCase().normalize("NFC")

/** `\<sessionId>\<container>\<blob name with / as \>`, whether portable or not. */
export const plainFilePath = (sessionId: string, blobPath: string): string => `\\${sessionId}\\${blobPath.replace(/\//g, "\\")}`

/** The extension a hashed file name keeps: `.` and 1–16 ASCII letters or digits, else "". */
export const safeExtension = (name: string): string => {
  const dot = name.lastIndexOf(".")
  if (dot <= 0) return ""
  const ext = name.slice(dot)
  return /^\.[A-Za-z0-9]{1,16}$/.test(ext) ? ext : ""
}

/** `~` + 16 lower-case hex digits of SHA-256 of `input` (attempt n > 0: of `input\0n`), + `ext`. */
export const hashedName = (input: string, ext = "", attempt = 0): string =>
  "~" +
  createHash("sha256")
    .update(attempt === 0 ? input : `${input}\u0000${attempt}`, "utf8")
    .digest("hex")
    .slice(0, 16) +
  ext

// ---------------------------------------------------------------- digests

/** Two 32-bit lanes over UTF-16 units, continued from a previous state (so prefixes chain). */
type Digest = { a: number; b: number }

const seed = (): Digest => ({ a: 0x811c9dc5, b: 0x9747b28c })

const mix = (d: Digest, s: string): Digest => {
  let a = d.a
  let b = d.b
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return { a: a >>> 0, b: b >>> 0 }
}

const finish = (d: Digest): Digest => {
  let a = d.a ^ (d.b >>> 16)
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b)
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35)
  let b = d.b ^ d.a
  b = Math.imul(b ^ (b >>> 16), 0x7feb352d)
  b = Math.imul(b ^ (b >>> 15), 0x846ca68b)
  return { a: (a ^ (a >>> 16)) >>> 0, b: (b ^ (b >>> 16)) >>> 0 }
}

const EMPTY = 0
const DIR = 1
const FILE = 2

/** Open-addressing set of (key digest → kind, spelling digest). */
class NameTable {
  private ka = new Uint32Array(1024)
  private kb = new Uint32Array(1024)
  private sa = new Uint32Array(1024)
  private sb = new Uint32Array(1024)
  private kind = new Uint8Array(1024)
  size = 0

  private slot(k: Digest): number {
    const mask = this.kind.length - 1
    let i = (k.a ^ Math.imul(k.b, 0x9e3779b1)) & mask
    while (this.kind[i] !== EMPTY && !(this.ka[i] === k.a && this.kb[i] === k.b)) i = (i + 1) & mask
    return i
  }

  /** The entry for a key: its kind and whether its spelling matches `s`; undefined when free. */
  get(k: Digest, s: Digest): { kind: number; sameSpelling: boolean } | undefined {
    const i = this.slot(k)
    if (this.kind[i] === EMPTY) return undefined
    return { kind: this.kind[i]!, sameSpelling: this.sa[i] === s.a && this.sb[i] === s.b }
  }

  put(k: Digest, s: Digest, kind: number): void {
    const i = this.slot(k)
    if (this.kind[i] === EMPTY) this.size++
    this.ka[i] = k.a
    this.kb[i] = k.b
    this.sa[i] = s.a
    this.sb[i] = s.b
    this.kind[i] = kind
    if (this.size * 2 > this.kind.length) this.grow()
  }

  private grow(): void {
    const { ka, kb, sa, sb, kind } = this
    const n = kind.length * 2
    this.ka = new Uint32Array(n)
    this.kb = new Uint32Array(n)
    this.sa = new Uint32Array(n)
    this.sb = new Uint32Array(n)
    this.kind = new Uint8Array(n)
    for (let j = 0; j < kind.length; j++) {
      if (kind[j] === EMPTY) continue
      const i = this.slot({ a: ka[j]!, b: kb[j]! })
      this.ka[i] = ka[j]!
      this.kb[i] = kb[j]!
      this.sa[i] = sa[j]!
      this.sb[i] = sb[j]!
      this.kind[i] = kind[j]!
    }
  }

  /** bytes held by the table */
  get bytes(): number {
    return this.kind.length * 17
  }
}

/** Bytes the allocator's table holds per slot; slots are at most twice the entries. */
export const allocatorBytesPerSlot = 17

/**
 * FilePaths for the blobs of one session on one drive, portable and distinct case-insensitively.
 * Deterministic: the same sequence of `allocate` calls gives the same paths (a resumed session
 * replays its files in enumeration order, or reads the paths back from its journal).
 */
export class FilePathAllocator {
  private readonly table = new NameTable()
  private readonly rootKey: Digest
  private readonly rootSpelling: Digest

  constructor(readonly sessionId: string) {
    const problem = checkSessionId(sessionId)
    if (problem) throw new RangeError(`a session id: expected ${problem.expected}, found ${problem.found}`)
    this.rootKey = mix(seed(), "\\" + collisionKey(sessionId))
    this.rootSpelling = mix(seed(), "\\" + sessionId)
    // the side-file folder is taken from the start
    this.table.put(finish(mix(this.rootKey, "\\" + collisionKey(sideFolder))), finish(mix(this.rootSpelling, "\\" + sideFolder)), DIR)
  }

  /** Entries remembered (files and directories given out). */
  get entries(): number {
    return this.table.size
  }

  /** Bytes the allocator's memory holds (the digest table). */
  get memoryBytes(): number {
    return this.table.bytes
  }

  /** The FilePath for `container/blob/name` (a blob path as the manifest writes it). */
  allocate(blobPath: string): string {
    const segments = blobPath.split("/")
    // Upper bound of the result: a hashed segment is at most 1 + 16 + 17 units.
    let bound = 1 + this.sessionId.length
    for (const s of segments) bound += 1 + Math.max(s.length, 34)
    if (bound > maxFilePathUnits) return this.allocateFlat(blobPath, segments)
    let key = this.rootKey
    let spelling = this.rootSpelling
    let out = "\\" + this.sessionId
    let prefix = ""
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!
      const last = i === segments.length - 1
      prefix = i === 0 ? seg : prefix + "/" + seg
      const r = this.claim(key, spelling, seg, prefix, last)
      key = r.key
      spelling = r.spelling
      out += "\\" + r.name
    }
    return out
  }

  /** Claim a name for one segment under a parent; the name used and the new digests. */
  private claim(parentKey: Digest, parentSpelling: Digest, segment: string, prefix: string, last: boolean, extFrom: string = segment): { name: string; key: Digest; spelling: Digest } {
    let name: string | undefined = isPortableSegment(segment) ? segment : undefined
    let attempt = 0
    for (;;) {
      const candidate = name ?? hashedName(prefix, last ? safeExtension(extFrom) : "", attempt)
      const key = mix(parentKey, "\\" + collisionKey(candidate))
      const spelling = mix(parentSpelling, "\\" + candidate)
      const k = finish(key)
      const s = finish(spelling)
      const found = this.table.get(k, s)
      if (found === undefined) {
        this.table.put(k, s, last ? FILE : DIR)
        return { name: candidate, key, spelling }
      }
      if (!last && found.kind === DIR && found.sameSpelling) return { name: candidate, key, spelling }
      if (name !== undefined) name = undefined
      else attempt++
    }
  }

  /** A path too long even with hashed segments: `\<session>\<container>\~<hash of the blob path>`. */
  private allocateFlat(blobPath: string, segments: ReadonlyArray<string>): string {
    const container = this.claim(this.rootKey, this.rootSpelling, segments[0]!, segments[0]!, false)
    const file = this.claim(container.key, container.spelling, "\u0000", blobPath, true, segments[segments.length - 1]!)
    return `\\${this.sessionId}\\${container.name}\\${file.name}`
  }
}

/** The FilePath of a metadata or properties copy: `\<sessionId>\$waie\<kind>-<MD5>.xml`. */
export const sideFilePath = (sessionId: string, kind: "metadata" | "properties", md5Hex: string): string => {
  if (!/^[0-9A-Fa-f]{32}$/.test(md5Hex)) throw new RangeError(`an MD5 is 32 hex digits, got ${JSON.stringify(md5Hex)}`)
  return `\\${sessionId}\\${sideFolder}\\${kind}-${md5Hex.toUpperCase()}.xml`
}

/**
 * Where a FilePath is on a drive mounted at `root`: on POSIX `\` becomes `/`; on Windows the path
 * keeps `\`, and one longer than 259 characters gets the `\\?\` prefix (`windowsLongPath`:
 * FilePaths may be up to 32,000 units). Throws RangeError for a FilePath that is not a plain relative path (empty, `.` or
 * `..` segments, `/` in a name on POSIX, a drive letter).
 */
export const localPathOf = (root: string, filePath: string, platform: Platform = hostPlatform()): string => {
  const parts = (filePath.startsWith("\\") ? filePath.slice(1) : filePath).split("\\")
  for (const p of parts) {
    if (p === "" || p === "." || p === ".." || p.includes("/") || /^[A-Za-z]:$/.test(p)) throw new RangeError(`not a FilePath below a drive root: ${JSON.stringify(filePath)}`)
  }
  const sep = platform === "win32" ? "\\" : "/"
  let base = root
  while (base.length > 1 && (base.endsWith("/") || base.endsWith("\\")) && !/^[A-Za-z]:[\\/]$/.test(base)) base = base.slice(0, -1)
  const local = (base.endsWith(sep) ? base : base + sep) + parts.join(sep)
  return platform === "win32" ? windowsLongPath(local) : local
}
