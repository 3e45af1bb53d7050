/**
 * Export selection: the blobs an export blob list (formats.md §4.2) names, read from a BlobStore.
 *
 * - `BlobPath` selects one blob (Get Blob Properties); `BlobPathPrefix` lists: `/` every container,
 *   `/book` every container whose name starts with `book`, `/music/` all of container `music`,
 *   `/music/love` the blobs of `music` whose names start with `love`.
 * - Each blob comes once, however many entries select it, in a deterministic order: containers,
 *   then names, both in Unicode code point order (= UTF-8 byte order, the order the Blob
 *   service lists in), whatever order the store answered in.
 * - Counts as PreviewExport prints them: unique entries, duplicate entries (the same element
 *   and value again), nonexistent entries (a unique entry that selects no blob: a missing blob,
 *   container or prefix with nothing under it).
 *
 * Memory: the entries, the container names, and the selected blobs of *one container* at a time
 * (they are sorted before they are passed on); not the whole selection. The counts are final
 * once the blob stream has ended.
 *
 * Snapshots: the BlobStore lists base blobs only, so a prefix selects no snapshots here (the
 * service's prefixes also select snapshots; the blob list has no syntax for them either).
 */
import { Effect, Ref, Stream } from "effect"
import { type BlobListEntry, type BlobListItem, BlobListMatcher, valueOf } from "../bloblist.ts"
import { type BlobInfo, BlobStore, blobPathOf, isNotFound, type StorageError } from "../storage.ts"

/** Code point order (UTF-8 byte order): JavaScript's `<` compares UTF-16 units, which puts U+E000–U+FFFF after astral characters. */
export const compareNames = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const sx = x >= 0xd800 && x <= 0xdfff
    const sy = y >= 0xd800 && y <= 0xdfff
    if (sx === sy) return x - y
    return sx ? 1 : -1
  }
  return a.length - b.length
}

export interface SelectionCounts {
  /** entries in the list */
  readonly entries: number
  /** distinct entries */
  readonly unique: number
  /** entries given again */
  readonly duplicate: number
  /** distinct entries that selected no blob */
  readonly nonexistent: number
  /** those entries, in list order (the first 100) */
  readonly nonexistentEntries: ReadonlyArray<BlobListItem>
  /** blobs selected (each once) */
  readonly blobs: number
  /** their bytes */
  readonly bytes: number
}

export interface Selection {
  /** the selected blobs, each once, by container then name */
  readonly blobs: Stream.Stream<BlobInfo, StorageError>
  /** the counts; final once `blobs` has ended */
  readonly counts: Effect.Effect<SelectionCounts>
}

const keyOf = (e: BlobListEntry): string => `${e.kind}\u0000${valueOf(e)}`

/** A prefix entry read as its parts: a container prefix (`/book`), or a container and a blob-name prefix (`/music/`, `/music/love`). */
type PrefixShape = { readonly kind: "containers"; readonly start: string } | { readonly kind: "blobs"; readonly container: string; readonly start: string }

const shapeOf = (prefix: string): PrefixShape => {
  const rest = prefix.slice(1)
  const slash = rest.indexOf("/")
  return slash === -1 ? { kind: "containers", start: rest } : { kind: "blobs", container: rest.slice(0, slash), start: rest.slice(slash + 1) }
}

/** Drop the strings another one of the list starts with (`love` covers `lovely`): what is left selects disjoint sets. */
export const minimalPrefixes = (prefixes: Iterable<string>): Array<string> => {
  const sorted = [...new Set(prefixes)].sort(compareNames)
  const out: Array<string> = []
  for (const p of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && p.startsWith(last)) continue
    out.push(p)
  }
  return out
}

/** A missing container lists as empty (it is a nonexistent entry, not a failure). */
const listOrEmpty = (container: string, prefix: string) =>
  Stream.unwrap(
    Effect.map(BlobStore, (store) =>
      store.listBlobs(container, prefix).pipe(Stream.catchAll((e) => (isNotFound(e) ? Stream.empty : Stream.fail(e)))),
    ),
  )

/** Read the selection of `items` (as the blob-list reader gives them, duplicates marked). */
export const selectBlobs = (items: ReadonlyArray<BlobListItem>): Effect.Effect<Selection, never, BlobStore> =>
  Effect.gen(function* () {
    const store = yield* BlobStore
    const unique = items.filter((i) => i.duplicateOf === undefined)
    const index = new Map<string, number>()
    unique.forEach((item, i) => index.set(keyOf(item.entry), i))
    const hit = new Array<boolean>(unique.length).fill(false)
    const matcher = new BlobListMatcher(unique.map((i) => i.entry))
    const totals = yield* Ref.make({ blobs: 0, bytes: 0 })

    const paths = unique.flatMap((i) => (i.entry.kind === "path" ? [i.entry.path] : []))
    const shapes = unique.flatMap((i) => (i.entry.kind === "prefix" ? [shapeOf(i.entry.prefix)] : []))
    const containerStarts = minimalPrefixes(shapes.flatMap((s) => (s.kind === "containers" ? [s.start] : [])))

    /** Every container any entry may reach, sorted: listed ones, and the ones entries name (which may not exist). */
    const containers: Effect.Effect<Array<string>, StorageError> = Effect.gen(function* () {
      const names = new Set<string>()
      for (const start of containerStarts) yield* Stream.runForEach(store.listContainers(start), (c) => Effect.sync(() => void names.add(c)))
      for (const s of shapes) if (s.kind === "blobs") names.add(s.container)
      for (const p of paths) names.add(p.slice(0, p.indexOf("/")))
      return [...names].sort(compareNames)
    })

    /** The selected blobs of one container, sorted by name. */
    const ofContainer = (container: string): Stream.Stream<BlobInfo, StorageError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const found = new Map<string, BlobInfo>()
          const keep = (b: BlobInfo) => Effect.sync(() => void found.set(b.name, b))
          const whole = containerStarts.some((s) => container.startsWith(s)) || shapes.some((s) => s.kind === "blobs" && s.container === container && s.start === "")
          const starts = whole ? [""] : minimalPrefixes(shapes.flatMap((s) => (s.kind === "blobs" && s.container === container ? [s.start] : [])))
          for (const start of starts) yield* Stream.runForEach(listOrEmpty(container, start), keep).pipe(Effect.provideService(BlobStore, store))
          for (const p of paths) {
            if (!p.startsWith(container + "/")) continue
            const name = p.slice(container.length + 1)
            if (starts.some((s) => name.startsWith(s)) || found.has(name)) continue
            const b = yield* store.getBlob({ container, name })
            if (b !== undefined) yield* keep(b)
          }
          const sorted = [...found.values()].sort((a, b) => compareNames(a.name, b.name))
          // a listing may hold blobs no entry selects (a store that ignores the prefix): keep the selected ones only
          const selected = sorted.filter((b) => matcher.selects(blobPathOf(b)))
          for (const b of selected) for (const e of matcher.matching(blobPathOf(b))) hit[index.get(keyOf(e))!] = true
          yield* Ref.update(totals, (t) => ({ blobs: t.blobs + selected.length, bytes: t.bytes + selected.reduce((n, b) => n + b.length, 0) }))
          return Stream.fromIterable(selected)
        }),
      )

    const blobs = Stream.unwrap(Effect.map(containers, (cs) => Stream.flatMap(Stream.fromIterable(cs), ofContainer)))
    const counts = Effect.map(Ref.get(totals), (t): SelectionCounts => {
      const missing = unique.filter((_, i) => !hit[i])
      return {
        entries: items.length,
        unique: unique.length,
        duplicate: items.length - unique.length,
        nonexistent: missing.length,
        nonexistentEntries: missing.slice(0, 100),
        blobs: t.blobs,
        bytes: t.bytes,
      }
    })
    return { blobs, counts }
  })

/** Convenience for tests and small selections: every selected blob and the counts. */
export const selectAll = (items: ReadonlyArray<BlobListItem>): Effect.Effect<{ readonly blobs: ReadonlyArray<BlobInfo>; readonly counts: SelectionCounts }, StorageError, BlobStore> =>
  Effect.gen(function* () {
    const s = yield* selectBlobs(items)
    const blobs = Array.from(yield* Stream.runCollect(s.blobs))
    return { blobs, counts: yield* s.counts }
  })
