/**
 * For the export tests (memory store, azurite, the command): read back what an export wrote on a
 * drive and check it independently of the code that wrote it — the manifest passes the export
 * rules of `waie manifest check`, every block and page range hashes to the manifest's MD5 in the
 * file, every side file to its MD5, and the copy logs read back. Also a store wrapper that
 * changes a blob right after its first range was read (the mid-copy change the service reports
 * as BlobUnexpectedChange), and one that honours read conditions for stores that do not.
 */
import { Effect, Layer, Stream } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { readCopyLog } from "../copylog-read.ts"
import type { CopyLogEvent } from "../copylog-model.ts"
import { localPathOf } from "../drive-paths.ts"
import { checkManifest, type ManifestReport } from "../manifest-check.ts"
import type { ManifestEvent } from "../manifest-model.ts"
import { readManifest } from "../manifest-reader.ts"
import { type BlobRef, BlobStore, type BlobStoreService, blobPathOf, StorageError } from "../storage.ts"

export interface ExportedBlob {
  readonly blobPath: string
  readonly filePath: string
  readonly length: number
  readonly list: "block" | "page" | "none"
  readonly ranges: Array<{ offset: number; length: number; id?: string; hash: string }>
  metadataPath?: { path: string; hash: string }
  propertiesPath?: { path: string; hash: string }
}

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex").toUpperCase()

const run = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(e as Effect.Effect<A>)

/** The manifest's verdict with the export rules. */
export const checkExportManifest = (file: string): Promise<ManifestReport> => run(checkManifest(file, Stream.make(new Uint8Array(readFileSync(file))), { purpose: "export" }))

/** Every blob of a drive's manifest, each hash checked against the drive's files (throws naming the first mismatch). */
export const readExportDrive = async (root: string): Promise<{ readonly blobs: Array<ExportedBlob>; readonly driveId: string; readonly report: ManifestReport }> => {
  const file = `${root}/DriveManifest.xml`
  const report = await checkExportManifest(file)
  const events = Array.from(await run(Stream.runCollect(readManifest(file, Stream.make(new Uint8Array(readFileSync(file)))))) as Iterable<ManifestEvent>)
  const blobs: Array<ExportedBlob> = []
  let driveId = ""
  let current: ExportedBlob | undefined
  for (const e of events) {
    if (e._tag === "DriveField" && e.name === "DriveId") driveId = e.value
    if (e._tag === "BlobStart") current = { blobPath: e.blobPath, filePath: e.filePath, length: e.length, list: e.list, ranges: [] }
    if ((e._tag === "Block" || e._tag === "PageRange") && current) current.ranges.push({ offset: e.offset, length: e.length, ...(e._tag === "Block" && e.id !== undefined ? { id: e.id } : {}), hash: e.hash })
    if (e._tag === "BlobEnd" && current) {
      if (e.metadataPath) current.metadataPath = { path: e.metadataPath.path, hash: e.metadataPath.hash }
      if (e.propertiesPath) current.propertiesPath = { path: e.propertiesPath.path, hash: e.propertiesPath.hash }
      blobs.push(current)
      current = undefined
    }
  }
  for (const b of blobs) {
    const data = readFileSync(localPathOf(root, b.filePath))
    if (data.length !== b.length) throw new Error(`${b.filePath}: ${data.length} bytes on the drive, the manifest says ${b.length}`)
    for (const r of b.ranges) {
      const h = md5(data.subarray(r.offset, r.offset + r.length))
      if (h !== r.hash) throw new Error(`${b.filePath}: the range at ${r.offset} hashes to ${h}, the manifest says ${r.hash}`)
    }
    for (const side of [b.metadataPath, b.propertiesPath]) {
      if (side === undefined) continue
      const h = md5(readFileSync(localPathOf(root, side.path)))
      if (h !== side.hash) throw new Error(`${side.path}: hashes to ${h}, the manifest says ${side.hash}`)
    }
  }
  return { blobs, driveId, report }
}

/** A copy log file's events (it must read back). */
export const readLog = async (file: string): Promise<Array<CopyLogEvent>> => Array.from(await run(Stream.runCollect(readCopyLog(file, Stream.make(new Uint8Array(readFileSync(file)))))))

/** The blob entries of a copy log, each with its ranges and side entries. */
export const logBlobs = (events: ReadonlyArray<CopyLogEvent>) => {
  const out: Array<{ start: Extract<CopyLogEvent, { _tag: "BlobStart" }>; ranges: Array<Extract<CopyLogEvent, { _tag: "Block" | "PageRange" }>>; end?: Extract<CopyLogEvent, { _tag: "BlobEnd" }> }> = []
  for (const e of events) {
    if (e._tag === "BlobStart") out.push({ start: e, ranges: [] })
    else if (e._tag === "Block" || e._tag === "PageRange") out[out.length - 1]!.ranges.push(e)
    else if (e._tag === "BlobEnd") out[out.length - 1]!.end = e
  }
  return out
}

/** Reads fail (412) when the blob's etag is no longer the one given: for stores that ignore read conditions. */
export const honourReadConditions = (inner: BlobStoreService): BlobStoreService => ({
  ...inner,
  read: (ref, offset, length, etag) =>
    etag === undefined
      ? inner.read(ref, offset, length)
      : Effect.flatMap(inner.getBlob(ref), (b) =>
          b === undefined
            ? Effect.fail(new StorageError({ operation: "read", target: blobPathOf(ref), status: 404, code: "BlobNotFound", detail: "" }))
            : b.etag !== etag
              ? Effect.fail(new StorageError({ operation: "read", target: blobPathOf(ref), status: 412, code: "ConditionNotMet", detail: "" }))
              : inner.read(ref, offset, length),
        ),
})

/** After the first read of `target` succeeds, run `change` (which rewrites the blob through the store): every later read of it must fail. */
export const changeAfterFirstRead = (target: BlobRef, change: (store: BlobStoreService) => Effect.Effect<void, StorageError>): Layer.Layer<BlobStore, never, BlobStore> =>
  Layer.effect(
    BlobStore,
    Effect.map(BlobStore, (inner): BlobStoreService => {
      let done = false
      return {
        ...inner,
        read: (ref, offset, length, etag) =>
          inner.read(ref, offset, length, etag).pipe(
            Effect.tap(() => {
              if (done || ref.container !== target.container || ref.name !== target.name) return Effect.void
              done = true
              return change(inner)
            }),
          ),
      }
    }),
  )
