/**
 * Naming rules of the Blob service and the tool: containers, blobs, storage accounts, session
 * ids, metadata names. Each check returns undefined when the name is good, else what was expected
 * (the caller knows the file, line and field and builds the Issue).
 */

export interface NameProblem {
  readonly expected: string
  readonly found: string
}

const quote = (s: string): string => JSON.stringify(s.length > 80 ? s.slice(0, 80) + "…" : s)

/** The root container; blobs in it cannot contain `/`. */
export const rootContainer = "$root"

const containerPattern = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/

/** 3–63 of a-z 0-9 `-`, starting and ending with a letter or digit, no `--`; or `$root`. */
export const checkContainer = (name: string): NameProblem | undefined => {
  if (name === rootContainer || containerPattern.test(name)) return undefined
  let why: string
  if (name.length === 0) why = "an empty name"
  else if (name.length < 3 || name.length > 63) why = `${quote(name)} (${name.length} characters)`
  else if (/[A-Z]/.test(name)) why = `${quote(name)} (upper-case letters)`
  else if (/--/.test(name)) why = `${quote(name)} (two dashes in a row)`
  else if (/^-|-$/.test(name)) why = `${quote(name)} (a dash at the start or end)`
  else why = `${quote(name)} (a character other than a-z, 0-9 and -)`
  return { expected: "a container name of 3-63 lower-case letters, digits and single dashes, or $root", found: why }
}

export const maxBlobNameLength = 1024
export const maxBlobSegments = 254

/** Code points the Blob service does not accept in a blob name (reference: formats.md §6.2). */
export const isForbiddenInBlobName = (cp: number): boolean => {
  if (cp <= 0x1f) return true
  if (cp === 0x80 || cp === 0x81 || (cp >= 0x82 && cp <= 0x8c) || cp === 0x8e || (cp >= 0x91 && cp <= 0x9c) || cp === 0x9e || cp === 0x9f) return true
  if ((cp >= 0xfdd1 && cp <= 0xfddc) || (cp >= 0xfdde && cp <= 0xfdef) || (cp >= 0xfff0 && cp <= 0xffff)) return true
  if (cp >= 0xd800 && cp <= 0xdfff) return true // a lone surrogate (paired ones decode to cp > 0xffff)
  const plane = cp >> 16
  const low = cp & 0xffff
  if ((low === 0xfffe || low === 0xffff) && [1, 2, 3, 5, 6, 7, 9, 0xa, 0xb, 0xd, 0xe, 0xf].includes(plane)) return true
  return false
}

const hex = (cp: number): string => "U+" + cp.toString(16).toUpperCase().padStart(4, "0")

/** Count of characters as the service counts them (code points). */
export const nameLength = (name: string): number => {
  let n = 0
  for (const _ of name) n++
  return n
}

/** The blob name (the part after the container): 1–1024 characters, ≤ 254 segments, no forbidden code points. */
export const checkBlobName = (name: string): NameProblem | undefined => {
  const expected = "a blob name of 1-1024 characters in at most 254 segments, without control or non-character code points"
  if (name.length === 0) return { expected, found: "an empty name" }
  const length = nameLength(name)
  if (length > maxBlobNameLength) return { expected, found: `${length} characters` }
  const parts = name.split("/")
  const segments = parts.length
  if (segments > maxBlobSegments) return { expected, found: `${segments} segments` }
  // a URL resolves `.` and `..` away: the blob would get another name than the one asked for
  const dots = parts.findIndex((p) => p === "." || p === "..")
  if (dots !== -1) return { expected: "a blob name without '.' or '..' segments (URLs resolve them away, so the blob would be stored under another name)", found: `${quote(parts[dots]!)} as segment ${dots + 1} of ${quote(name)}` }
  let i = 0
  for (const ch of name) {
    const cp = ch.codePointAt(0)!
    if (isForbiddenInBlobName(cp)) return { expected, found: `${hex(cp)} at character ${i + 1}` }
    i++
  }
  return undefined
}

/** A blob path relative to the account: `container/blob`, `$root/blob` (no further `/`). */
export const checkBlobPath = (blobPath: string): NameProblem | undefined => {
  const slash = blobPath.indexOf("/")
  if (slash === -1) return { expected: "container/blob", found: `${quote(blobPath)} (no '/' after the container)` }
  const container = blobPath.slice(0, slash)
  const blob = blobPath.slice(slash + 1)
  const c = checkContainer(container)
  if (c) return c
  if (container === rootContainer && blob.includes("/")) return { expected: "a blob in $root without '/' (the root container has no virtual directories)", found: quote(blobPath) }
  return checkBlobName(blob)
}

const accountPattern = /^[a-z0-9]{3,24}$/

export const checkStorageAccount = (name: string): NameProblem | undefined =>
  accountPattern.test(name) ? undefined : { expected: "a storage account name of 3-24 lower-case letters and digits", found: quote(name) }

const sessionPattern = /^[A-Za-z0-9_#-]{3,30}$/

export const checkSessionId = (id: string): NameProblem | undefined =>
  sessionPattern.test(id) ? undefined : { expected: "a session id of 3-30 letters, digits, '_', '-' or '#'", found: quote(id) }

/** Metadata names travel as `x-ms-meta-<name>` headers and must be C# identifiers; we keep them ASCII. */
const metadataNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

export const checkMetadataName = (name: string): NameProblem | undefined =>
  metadataNamePattern.test(name) ? undefined : { expected: "a metadata name that is an ASCII C# identifier (letters, digits, '_', not starting with a digit)", found: quote(name) }
