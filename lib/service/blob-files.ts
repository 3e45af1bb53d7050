/**
 * The metadata and properties files an import applies to a blob (formats.md §2): the BlobList's
 * global file and the blob's own, each read from the drive, its MD5 checked against the
 * manifest's, parsed, and given one of the copy log's file statuses:
 *
 *   FileNotFound      the file is not on the drive
 *   FileAccessDenied  it cannot be opened (permissions, a folder of that name)
 *   IOFailed          reading it failed part way
 *   Corrupted         its MD5 is not the one the manifest gives
 *   XmlReadFailed     it is not a valid metadata or properties file (or larger than 1 MiB)
 *
 * Combining (waie's decision; the format says a blob's own file "overrides" the global one): the
 * global pairs, then the blob's own, a name of the blob's own file replacing the same name
 * (ignoring case, as the Blob service compares them) of the global one; properties likewise, one
 * by one. A file that failed contributes nothing, the other still applies, and the entry's status
 * is the first failure (global, then own). Properties only an export writes (Last-Modified, Etag,
 * Content-Length) are not applied.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import { type BlobMetadata, type BlobProperties, maxFileBytes, parseMetadata, parseProperties, propertyElements } from "../blobprops.ts"
import type { FileEntry, FileRef as LogFileRef, MetadataStatus } from "../copylog.ts"
import type { FileUnreadable } from "../errors.ts"
import { fileBytes } from "../files.ts"
import { manifestPathOn } from "./drive-check.ts"
import type { BlobJob, FileRef } from "./manifest-blobs.ts"

export type FileStatus = MetadataStatus

export interface FileOutcome<A> {
  readonly status: FileStatus
  /** when Completed */
  readonly value?: A
  /** for a person: what was wrong */
  readonly problem?: string
}

const statusOf = (e: FileUnreadable, read: boolean): FileStatus =>
  e.code === "ENOENT" ? "FileNotFound" : e.code === "EACCES" || e.code === "EPERM" || e.code === "EISDIR" ? "FileAccessDenied" : read ? "IOFailed" : "FileAccessDenied"

/** Read, check and parse one file; never fails. */
export const readBlobFile = <A>(
  root: string,
  ref: FileRef,
  parse: (bytes: Uint8Array, shown: string) => { readonly valid: boolean; readonly value: A; readonly issues: ReadonlyArray<{ readonly expected: string; readonly found: string }> },
): Effect.Effect<FileOutcome<A>, never, FileSystem.FileSystem> =>
  Effect.suspend(() => {
    const real = manifestPathOn(root, ref.path)
    const md5 = createHash("md5")
    const kept: Array<Uint8Array> = []
    let size = 0
    let read = false
    return Stream.runForEach(fileBytes(real, ref.path), (chunk) =>
      Effect.sync(() => {
        read = true
        md5.update(chunk)
        size += chunk.length
        if (size <= maxFileBytes) kept.push(chunk)
      }),
    ).pipe(
      Effect.map((): FileOutcome<A> => {
        const hash = md5.digest("hex").toUpperCase()
        if (hash !== ref.hash.toUpperCase()) return { status: "Corrupted", problem: `${ref.path}: MD5 ${hash}, the manifest says ${ref.hash}` }
        if (size > maxFileBytes) return { status: "XmlReadFailed", problem: `${ref.path}: ${size} bytes, more than a metadata or properties file may hold (${maxFileBytes})` }
        const bytes = Buffer.concat(kept)
        const r = parse(bytes, ref.path)
        if (!r.valid) {
          const first = r.issues[0]
          return { status: "XmlReadFailed", problem: `${ref.path}: ${first ? `expected ${first.expected}, found ${first.found}` : "invalid"}` }
        }
        return { status: "Completed", value: r.value }
      }),
      Effect.catchAll((e) => Effect.succeed<FileOutcome<A>>({ status: statusOf(e, read), problem: e.message })),
    )
  })

export const readMetadataOf = (root: string, ref: FileRef) => readBlobFile<BlobMetadata>(root, ref, parseMetadata)
export const readPropertiesOf = (root: string, ref: FileRef) => readBlobFile<BlobProperties>(root, ref, (b, f) => parseProperties(b, f, "import"))

/** What a blob gets: the combined value to apply, and the copy log's entry (absent when the manifest names no file). */
export interface Applied<A> {
  readonly value: A | undefined
  readonly entry: FileEntry<FileStatus> | undefined
  readonly problems: ReadonlyArray<string>
}

const logRef = (r: FileRef): LogFileRef => ({ path: r.path, hash: r.hash })

const combine = <A>(global: FileRef | undefined, own: FileRef | undefined, g: FileOutcome<A> | undefined, o: FileOutcome<A> | undefined, merge: (a: A, b: A) => A): Applied<A> => {
  if (global === undefined && own === undefined) return { value: undefined, entry: undefined, problems: [] }
  const failed = [g, o].find((x) => x !== undefined && x.status !== "Completed")
  const values = [g?.value, o?.value].filter((v): v is A => v !== undefined)
  const value = values.length === 0 ? undefined : values.length === 1 ? values[0] : merge(values[0]!, values[1]!)
  return {
    value,
    entry: { status: failed?.status ?? "Completed", ...(global ? { globalPath: logRef(global) } : {}), ...(own ? { path: logRef(own) } : {}) },
    problems: [g, o].flatMap((x) => (x?.problem !== undefined ? [x.problem] : [])),
  }
}

export const mergeMetadata = (a: BlobMetadata, b: BlobMetadata): BlobMetadata => {
  const own = new Set(b.map((p) => p.name.toLowerCase()))
  return [...a.filter((p) => !own.has(p.name.toLowerCase())), ...b]
}

/** The properties an import sets: the importable ones only. */
export const importable = (p: BlobProperties): BlobProperties => {
  const out: Record<string, unknown> = {}
  for (const e of propertyElements) if (e.importable && p[e.key] !== undefined) out[e.key] = p[e.key]
  return out as BlobProperties
}

export const mergeProperties = (a: BlobProperties, b: BlobProperties): BlobProperties => importable({ ...importable(a), ...importable(b) })

/**
 * Reads the files of blobs, keeping the outcome of the few most recent global files: every blob of
 * a BlobList names the same ones, and reading them once per list is enough.
 */
export class BlobFiles {
  private readonly cache = new Map<string, FileOutcome<unknown>>()

  constructor(private readonly root: string) {}

  private cached<A>(kind: string, ref: FileRef, read: Effect.Effect<FileOutcome<A>, never, FileSystem.FileSystem>): Effect.Effect<FileOutcome<A>, never, FileSystem.FileSystem> {
    const key = `${kind}|${ref.hash}|${ref.path}`
    const hit = this.cache.get(key)
    if (hit !== undefined) return Effect.succeed(hit as FileOutcome<A>)
    return read.pipe(
      Effect.tap((o) =>
        Effect.sync(() => {
          if (this.cache.size >= 16) this.cache.clear()
          this.cache.set(key, o)
        }),
      ),
    )
  }

  forBlob(job: BlobJob): Effect.Effect<{ readonly metadata: Applied<BlobMetadata>; readonly properties: Applied<BlobProperties> }, never, FileSystem.FileSystem> {
    const { root } = this
    const gm = job.globalMetadata ? this.cached("m", job.globalMetadata, readMetadataOf(root, job.globalMetadata)) : Effect.succeed(undefined)
    const gp = job.globalProperties ? this.cached("p", job.globalProperties, readPropertiesOf(root, job.globalProperties)) : Effect.succeed(undefined)
    const om = job.metadata ? readMetadataOf(root, job.metadata) : Effect.succeed(undefined)
    const op = job.properties ? readPropertiesOf(root, job.properties) : Effect.succeed(undefined)
    return Effect.all([gm, om, gp, op]).pipe(
      Effect.map(([g1, o1, g2, o2]) => ({
        metadata: combine(job.globalMetadata, job.metadata, g1, o1, mergeMetadata),
        properties: combine(job.globalProperties, job.properties, g2, o2, mergeProperties),
      })),
    )
  }
}
