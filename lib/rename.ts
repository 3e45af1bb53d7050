/**
 * The `rename` import disposition (the default): when a blob of the same name already exists,
 * the new blob gets a modified name (reference: 002_… Blob/ImportDisposition).
 *
 * - A name without a dot gets ` (2)` appended: `BlobNameWithoutDot` → `BlobNameWithoutDot (2)`.
 * - A name with a dot gets ` (2)` inserted before its last dot (the part after it is the
 *   extension): `Seattle.jpg` → `Seattle (2).jpg`.
 * - If that name exists too, (3), (4)… replace (2) until a free name is found. The number always
 *   goes into the original name: `Seattle (2).jpg` existing gives `Seattle (3).jpg`, never
 *   `Seattle (2) (2).jpg`.
 *
 * waie's decisions where the documents are silent (README format notes):
 * - The rule applies to the last segment of the path only: a dot in a virtual directory is not
 *   an extension (`photos/a.b/c` → `photos/a.b/c (2)`).
 * - A dot that is the first character of the segment does not start an extension (a hidden-file
 *   name): `.bashrc` → `.bashrc (2)`; `.config.json` → `.config (2).json`.
 * - A trailing dot starts an empty extension: `name.` → `name (2).`.
 * - A path ending in `/` has an empty last segment, without a dot: `dir/` → `dir/ (2)`.
 * - Paths are blob paths as in the manifest (`container/blob name`). The blob name (after the
 *   first `/`; the whole text if there is none) may hold at most 1024 characters (code points);
 *   when the next candidate would be longer, renaming is impossible: `RenameImpossible`.
 */
import { Effect, Either } from "effect"
import { RenameImpossible } from "./errors.ts"
import { maxBlobNameLength, nameLength } from "./names.ts"

export { RenameImpossible } from "./errors.ts"

interface Parts {
  /** everything up to the last segment (ends with "/" or is empty) and the segment's base */
  readonly stem: string
  /** "" or the extension with its dot */
  readonly ext: string
}

const parts = (blobPath: string): Parts => {
  const segmentStart = blobPath.lastIndexOf("/") + 1
  const dot = blobPath.lastIndexOf(".")
  // a dot is an extension separator only inside the last segment and not as its first character
  if (dot <= segmentStart) return { stem: blobPath, ext: "" }
  return { stem: blobPath.slice(0, dot), ext: blobPath.slice(dot) }
}

/** The n-th candidate (n ≥ 2) of the rename rule: `photos/Seattle.jpg`, 3 → `photos/Seattle (3).jpg`. */
export const renamed = (blobPath: string, n: number): string => {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`a rename number is a whole number ≥ 2, got ${n}`)
  const { stem, ext } = parts(blobPath)
  return `${stem} (${n})${ext}`
}

/** Length of the blob name in a blob path, as the service counts it (code points after the container). */
export const blobNameLength = (blobPath: string): number => {
  const slash = blobPath.indexOf("/")
  return nameLength(slash === -1 ? blobPath : blobPath.slice(slash + 1))
}

const fits = (blobPath: string, n: number, candidate: string): RenameImpossible | undefined => {
  const length = blobNameLength(candidate)
  return length > maxBlobNameLength ? new RenameImpossible({ blobPath, candidate, number: n, length, maxLength: maxBlobNameLength }) : undefined
}

/**
 * Where `name` stands among the candidates for `blobPath`: 1 for the name itself, n for its
 * n-th renaming (decimal without leading zeros), undefined for any other name. Lets a caller keep
 * only the names that matter while reading a long list of existing blobs.
 */
export const candidateIndex = (blobPath: string, name: string): number | undefined => {
  if (name === blobPath) return 1
  const { stem, ext } = parts(blobPath)
  const prefix = `${stem} (`
  const suffix = `)${ext}`
  if (name.length <= prefix.length + suffix.length || !name.startsWith(prefix) || !name.endsWith(suffix)) return undefined
  const digits = name.slice(prefix.length, name.length - suffix.length)
  if (!/^[1-9][0-9]{0,15}$/.test(digits)) return undefined
  const n = Number(digits)
  return n >= 2 && Number.isSafeInteger(n) ? n : undefined
}

/**
 * The name the rename disposition gives `blobPath`, given which names exist: the name itself if
 * it is free, else the first free candidate, (2), (3)…. `exists` must be true for finitely many
 * names (a set of existing blobs); the loop stops there or at the 1024-character limit.
 */
export const firstFreeName = (blobPath: string, exists: (blobPath: string) => boolean): Either.Either<string, RenameImpossible> => {
  if (!exists(blobPath)) return Either.right(blobPath)
  for (let n = 2; ; n++) {
    const candidate = renamed(blobPath, n)
    const impossible = fits(blobPath, n, candidate)
    if (impossible) return Either.left(impossible)
    if (!exists(candidate)) return Either.right(candidate)
  }
}

/** `firstFreeName` given the candidate indices already taken (see `candidateIndex`). */
export const firstFreeAmong = (blobPath: string, taken: ReadonlySet<number>): Either.Either<string, RenameImpossible> =>
  firstFreeName(blobPath, (p) => {
    const i = candidateIndex(blobPath, p)
    return i !== undefined && taken.has(i)
  })

/** `firstFreeName` with an effectful existence check (a HEAD request against the Blob service). */
export const firstFreeNameEffect = <E, R>(
  blobPath: string,
  exists: (blobPath: string) => Effect.Effect<boolean, E, R>,
): Effect.Effect<string, RenameImpossible | E, R> =>
  Effect.gen(function* () {
    if (!(yield* exists(blobPath))) return blobPath
    for (let n = 2; ; n++) {
      const candidate = renamed(blobPath, n)
      const impossible = fits(blobPath, n, candidate)
      if (impossible) return yield* Effect.fail(impossible)
      if (!(yield* exists(candidate))) return candidate
    }
  })
