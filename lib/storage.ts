/**
 * The Blob endpoint the datacenter rehearsal talks to: the operations the import and export
 * executors (lib/service/) and the repair commands need, behind one service so that the same
 * program runs against real Azure, against the azurite waie starts, and against a
 * fault-injecting layer in tests.
 *
 * Blobs are named as the manifest and copy logs name them: `container/blob` (`$root/x` for the
 * root container). Hashes are upper-case Base16 MD5, as in every Import/Export file; the
 * implementation converts to the REST API's Base64 where it sends them (transactional MD5).
 *
 * Failures are one typed error, `StorageError`, carrying the HTTP status and the service's error
 * code so the executors can map them to copy-log statuses (403 → BlobRequestForbidden, a held
 * lease → LeasePresent, anything else → BlobRequestFailed). Its text never holds a key or a
 * SAS: the implementation strips them from whatever the SDK reports.
 *
 * Transient failures (network errors, 408, 429, 5xx) are retried by the implementation a
 * bounded number of times with exponential backoff; what still fails reaches the caller.
 */
import { Context, Data, type Effect, type Stream } from "effect"
import type { BlobMetadata, BlobProperties } from "./blobprops.ts"

/** A blob: its container (`$root` for the root container) and its name in the container. */
export interface BlobRef {
  readonly container: string
  readonly name: string
}

/** `container/blob`, the form every Import/Export file uses. */
export const blobPathOf = (ref: BlobRef): string => `${ref.container}/${ref.name}`

/** The inverse of `blobPathOf`; undefined when the path has no `/` or an empty part. */
export const blobRefOf = (blobPath: string): BlobRef | undefined => {
  const slash = blobPath.indexOf("/")
  if (slash <= 0 || slash === blobPath.length - 1) return undefined
  return { container: blobPath.slice(0, slash), name: blobPath.slice(slash + 1) }
}

export type BlobKind = "BlockBlob" | "PageBlob" | "AppendBlob"

/** What the service says about a blob (Get Blob Properties, or one entry of List Blobs). */
export interface BlobInfo extends BlobRef {
  readonly kind: BlobKind
  readonly length: number
  /** ISO 8601, UTC, whole seconds (`2012-09-18T23:47:08Z`), as copy logs print it */
  readonly lastModified: string
  /** unquoted, as properties files print it (`0x8CF8A2C1F1B4E11`); `read` takes it back as is */
  readonly etag: string
  /** a lease is held on the blob by someone */
  readonly leased: boolean
  /** the blob's HTTP properties (Content-Type, Content-MD5 in Base64, …) */
  readonly properties: BlobProperties
  readonly metadata: BlobMetadata
}

/** What may be set on a blob together with its content. */
export interface WriteOptions {
  readonly properties?: BlobProperties
  readonly metadata?: BlobMetadata
  /** the lease the caller holds on the blob, when it holds one */
  readonly leaseId?: string
}

export interface BlockEntry {
  readonly id: string
  readonly length: number
}

export interface PageRangeEntry {
  readonly offset: number
  readonly length: number
}

/** What went wrong talking to the Blob endpoint. */
export class StorageError extends Data.TaggedError("StorageError")<{
  /** the operation attempted: `stage block`, `commit block list`, `list blobs`, … */
  readonly operation: string
  /** `container/blob`, or the container, or the account endpoint */
  readonly target: string
  /** the HTTP status, when a response came back */
  readonly status?: number
  /**
   * the service's error code (`x-ms-error-code`: `Md5Mismatch`, `LeaseIdMissing`,
   * `AuthenticationFailed`, `BlobNotFound`, …), or waie's for failures without a response:
   * `Unreachable` (no connection), `Timeout`, `Aborted`
   */
  readonly code: string
  /** what the service or the system said, with any key or SAS removed */
  readonly detail: string
}> {
  override get message(): string {
    const status = this.status !== undefined ? `${this.status} ` : ""
    return `storage: ${this.operation} ${this.target}: ${status}${this.code}${this.detail !== "" ? `: ${this.detail}` : ""}`
  }
}

/** The request was refused for its credentials (a wrong key, an expired or too narrow SAS). */
export const isForbidden = (e: StorageError): boolean => e.status === 403

/** A lease held by someone else stopped the request. */
export const isLeaseConflict = (e: StorageError): boolean => (e.status === 409 || e.status === 412) && /^Lease/.test(e.code)

/** The blob, or its container, does not exist. */
export const isNotFound = (e: StorageError): boolean => e.status === 404

/** The endpoint could not be reached at all (wrong address, server down). */
export const isUnreachable = (e: StorageError): boolean => e.status === undefined && (e.code === "Unreachable" || e.code === "Timeout")

export interface BlobStoreService {
  /** where requests go, for messages: the endpoint URL without any query (no SAS) */
  readonly endpoint: string
  /** the account name, when the credentials name one */
  readonly account: string | undefined

  /** Create the container if it does not exist (with a container SAS: checks it is reachable). */
  readonly ensureContainer: (container: string) => Effect.Effect<void, StorageError>
  /** The blob's properties and metadata; `undefined` when the blob or its container does not exist. */
  readonly getBlob: (ref: BlobRef) => Effect.Effect<BlobInfo | undefined, StorageError>
  /** Blobs of a container whose names start with `prefix`, in name order, with properties and metadata. */
  readonly listBlobs: (container: string, prefix: string) => Stream.Stream<BlobInfo, StorageError>
  /** Containers whose names start with `prefix`, in name order. */
  readonly listContainers: (prefix: string) => Stream.Stream<string, StorageError>

  /** Put Block with the block's MD5 as transactional MD5: the service refuses bytes that do not match (`Md5Mismatch`). */
  readonly stageBlock: (ref: BlobRef, id: string, data: Uint8Array, md5: string, leaseId?: string) => Effect.Effect<void, StorageError>
  /** Put Block List: the blob becomes exactly these blocks, in order, with the given properties and metadata. */
  readonly commitBlockList: (ref: BlobRef, ids: ReadonlyArray<string>, options?: WriteOptions) => Effect.Effect<void, StorageError>
  /** The committed and uncommitted blocks of a block blob (empty lists when it does not exist). */
  readonly getBlockList: (ref: BlobRef) => Effect.Effect<{ readonly committed: ReadonlyArray<BlockEntry>; readonly uncommitted: ReadonlyArray<BlockEntry> }, StorageError>

  /** Create (or replace) a page blob of `length` bytes (a multiple of 512), all zero. */
  readonly createPageBlob: (ref: BlobRef, length: number, options?: WriteOptions) => Effect.Effect<void, StorageError>
  /** Put Page (update) at `offset`, 512-aligned, at most 4 MiB, with its MD5 as transactional MD5. */
  readonly putPages: (ref: BlobRef, offset: number, data: Uint8Array, md5: string, leaseId?: string) => Effect.Effect<void, StorageError>
  /** The non-empty page ranges of a page blob, in order, as offset and length. */
  readonly getPageRanges: (ref: BlobRef) => Stream.Stream<PageRangeEntry, StorageError>

  /** Replace all of the blob's metadata. */
  readonly setMetadata: (ref: BlobRef, metadata: BlobMetadata, leaseId?: string) => Effect.Effect<void, StorageError>
  /** Replace all of the blob's HTTP properties (those not given are cleared, as the REST API does). */
  readonly setProperties: (ref: BlobRef, properties: BlobProperties, leaseId?: string) => Effect.Effect<void, StorageError>

  /** `length` bytes at `offset`; with `etag`, fails (412 `ConditionNotMet`) if the blob changed since. */
  readonly read: (ref: BlobRef, offset: number, length: number, etag?: string) => Effect.Effect<Uint8Array, StorageError>
  /** Delete the blob (and its snapshots); succeeds when there is nothing to delete. */
  readonly deleteBlob: (ref: BlobRef, leaseId?: string) => Effect.Effect<void, StorageError>

  /** Take a lease (`seconds` 15–60, or -1 for infinite); fails (409 `LeaseAlreadyPresent`) if someone holds one. */
  readonly acquireLease: (ref: BlobRef, seconds: number) => Effect.Effect<string, StorageError>
  readonly releaseLease: (ref: BlobRef, leaseId: string) => Effect.Effect<void, StorageError>

  /** Upload a block blob from a stream of bytes (copy logs, bounded memory), replacing any blob of that name. */
  readonly upload: <E, R>(ref: BlobRef, data: Stream.Stream<Uint8Array, E, R>, options?: WriteOptions) => Effect.Effect<void, E | StorageError, R>
}

export class BlobStore extends Context.Tag("waie/BlobStore")<BlobStore, BlobStoreService>() {}
