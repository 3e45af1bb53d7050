/**
 * A BlobStore held in memory, for the executors' tests: fast, deterministic, and open to fault
 * injection (a hook sees every request and may fail it with a StorageError of any status). It
 * keeps the rules the executors rely on: Put Block checks the transactional MD5 (400
 * `Md5Mismatch`), Put Block List makes the blob exactly the listed blocks (committed or
 * uncommitted, ids may repeat) and drops the rest, page blobs are zero until written and list
 * only written pages, a held lease refuses writes without its id (412 `LeaseIdMissing`) and a
 * second lease (409 `LeaseAlreadyPresent`), setting metadata or properties replaces them all.
 *
 * Not a model of azurite or Azure in everything (no snapshots, no ETag conditions on writes):
 * the end-to-end tests run against azurite for that.
 */
import { Effect, Layer, Stream } from "effect"
import { createHash, randomUUID } from "node:crypto"
import type { BlobMetadata, BlobProperties } from "../blobprops.ts"
import { hexToBase64 } from "../hash.ts"
import { type BlobInfo, type BlobKind, type BlobRef, BlobStore, type BlobStoreService, type PageRangeEntry, StorageError, type WriteOptions } from "../storage.ts"

interface StoredBlob {
  kind: BlobKind
  /** block blobs: the committed blocks in order; page blobs: unused */
  committed: Array<{ id: string; data: Uint8Array }>
  uncommitted: Map<string, Uint8Array>
  /** page blobs: 512-byte pages written (index → bytes) */
  pages: Map<number, Uint8Array>
  length: number
  properties: BlobProperties
  metadata: BlobMetadata
  lastModified: Date
  etag: number
  lease: string | undefined
}

export interface Request {
  readonly operation: string
  readonly ref: BlobRef | { readonly container: string; readonly name?: undefined }
  /** Put Block: the block id; Put Page: the offset */
  readonly detail?: string
}

export interface MemoryStoreOptions {
  /** called before each request; an error it returns fails the request */
  readonly fault?: (r: Request) => StorageError | undefined
  /** the clock of Last-Modified (tests give a fixed one) */
  readonly now?: () => Date
}

export interface MemoryStore {
  readonly service: BlobStoreService
  readonly layer: Layer.Layer<BlobStore>
  /** every request made, in order */
  readonly requests: Array<Request>
  /** a blob's content as a reader sees it (page blobs: zeros where nothing was written) */
  readonly content: (blobPath: string) => Uint8Array | undefined
  readonly info: (blobPath: string) => { kind: BlobKind; properties: BlobProperties; metadata: BlobMetadata; pages: ReadonlyArray<PageRangeEntry> } | undefined
  /** put a block blob as if someone else had (not recorded as a request) */
  readonly seed: (blobPath: string, data: Uint8Array, options?: { metadata?: BlobMetadata; leased?: boolean }) => void
  readonly names: () => Array<string>
  /** the largest number of Put Block / Put Page requests that were running at once */
  readonly maxInFlight: () => number
}

const b64md5 = (data: Uint8Array): string => createHash("md5").update(data).digest("base64")

const fail = (operation: string, target: string, status: number, code: string, detail = ""): StorageError => new StorageError({ operation, target, status, code, detail })

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const key = (ref: BlobRef): string => `${ref.container}/${ref.name}`

export const makeMemoryStore = (options: MemoryStoreOptions = {}): MemoryStore => {
  const containers = new Set<string>()
  const blobs = new Map<string, StoredBlob>()
  const requests: Array<Request> = []
  const now = options.now ?? (() => new Date())
  let etags = 0
  let inFlight = 0
  let maxInFlight = 0

  const request = (r: Request): Effect.Effect<void, StorageError> =>
    Effect.suspend(() => {
      requests.push(r)
      const e = options.fault?.(r)
      return e ? Effect.fail(e) : Effect.void
    })

  /** a data request: counted while it runs, so tests can see how many ran at once */
  const dataRequest = <A>(r: Request, body: () => A | StorageError): Effect.Effect<A, StorageError> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
      }),
      () =>
        request(r).pipe(
          Effect.zipRight(Effect.yieldNow()),
          Effect.flatMap(() => {
            const a = body()
            return a instanceof StorageError ? Effect.fail(a) : Effect.succeed(a)
          }),
        ),
      () => Effect.sync(() => void inFlight--),
    )

  const plain = <A>(r: Request, body: () => A | StorageError): Effect.Effect<A, StorageError> =>
    request(r).pipe(
      Effect.flatMap(() => {
        const a = body()
        return a instanceof StorageError ? Effect.fail(a) : Effect.succeed(a)
      }),
    )

  const noContainer = (op: string, ref: BlobRef): StorageError | undefined => (containers.has(ref.container) ? undefined : fail(op, key(ref), 404, "ContainerNotFound"))

  const leaseCheck = (op: string, ref: BlobRef, b: StoredBlob | undefined, leaseId: string | undefined): StorageError | undefined => {
    if (b?.lease === undefined) return leaseId !== undefined && b !== undefined ? fail(op, key(ref), 412, "LeaseNotPresentWithBlobOperation") : undefined
    if (leaseId === undefined) return fail(op, key(ref), 412, "LeaseIdMissing", "There is currently a lease on the blob and no lease ID was specified in the request.")
    if (leaseId !== b.lease) return fail(op, key(ref), 412, "LeaseIdMismatchWithBlobOperation")
    return undefined
  }

  const touch = (b: StoredBlob): void => {
    b.lastModified = now()
    b.etag = ++etags
  }

  const fresh = (kind: BlobKind, length: number, o: WriteOptions | undefined, old: StoredBlob | undefined): StoredBlob => ({
    kind,
    committed: [],
    uncommitted: old?.kind === "BlockBlob" && kind === "BlockBlob" ? old.uncommitted : new Map(),
    pages: new Map(),
    length,
    properties: o?.properties ?? {},
    metadata: o?.metadata ?? [],
    lastModified: now(),
    etag: ++etags,
    lease: old?.lease,
  })

  const contentOf = (b: StoredBlob): Uint8Array => {
    if (b.kind !== "PageBlob") return concat(b.committed.map((c) => c.data))
    const out = new Uint8Array(b.length)
    for (const [i, page] of b.pages) out.set(page, i * 512)
    return out
  }

  const pageRanges = (b: StoredBlob): Array<PageRangeEntry> => {
    const idx = [...b.pages.keys()].sort((x, y) => x - y)
    const out: Array<{ offset: number; length: number }> = []
    for (const i of idx) {
      const last = out[out.length - 1]
      if (last && last.offset + last.length === i * 512) last.length += 512
      else out.push({ offset: i * 512, length: 512 })
    }
    return out
  }

  const infoOf = (ref: BlobRef, b: StoredBlob): BlobInfo => ({
    container: ref.container,
    name: ref.name,
    kind: b.kind,
    length: b.kind === "PageBlob" ? b.length : b.committed.reduce((n, c) => n + c.data.length, 0),
    lastModified: b.lastModified.toISOString().replace(/\.\d{3}Z$/, "Z"),
    etag: `"0x${b.etag.toString(16).toUpperCase()}"`,
    leased: b.lease !== undefined,
    properties: b.properties,
    metadata: b.metadata,
  })

  const service: BlobStoreService = {
    endpoint: "memory://waie-test",
    account: "memory",
    ensureContainer: (container) => plain({ operation: "create container", ref: { container } }, () => void containers.add(container)),
    getBlob: (ref) =>
      plain({ operation: "get properties", ref }, () => {
        const b = blobs.get(key(ref))
        return b === undefined || b.length === -1 ? undefined : infoOf(ref, b)
      }),
    listBlobs: (container, prefix) =>
      Stream.unwrap(
        plain({ operation: "list blobs", ref: { container } }, () => {
          if (!containers.has(container)) return fail("list blobs", container, 404, "ContainerNotFound")
          const found = [...blobs.entries()]
            .filter(([k, b]) => k.startsWith(`${container}/${prefix}`) && b.length !== -1)
            .sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
            .map(([k, b]) => infoOf({ container, name: k.slice(container.length + 1) }, b))
          return Stream.fromIterable(found)
        }),
      ),
    listContainers: (prefix) => Stream.fromIterable([...containers].filter((c) => c.startsWith(prefix)).sort()),
    stageBlock: (ref, id, data, md5, leaseId) =>
      dataRequest({ operation: "stage block", ref, detail: id }, () => {
        const missing = noContainer("stage block", ref)
        if (missing) return missing
        if (b64md5(data) !== hexToBase64(md5)) return fail("stage block", key(ref), 400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
        let b = blobs.get(key(ref))
        const lease = leaseCheck("stage block", ref, b, leaseId)
        if (lease) return lease
        if (b === undefined) {
          // an uncommitted blob: invisible to readers until its first commit
          b = { ...fresh("BlockBlob", -1, undefined, undefined) }
          blobs.set(key(ref), b)
        }
        b.uncommitted.set(id, new Uint8Array(data))
        return undefined
      }),
    commitBlockList: (ref, ids, o) =>
      plain({ operation: "commit block list", ref }, () => {
        const missing = noContainer("commit block list", ref)
        if (missing) return missing
        const old = blobs.get(key(ref))
        const lease = leaseCheck("commit block list", ref, old, o?.leaseId)
        if (lease) return lease
        const parts: Array<{ id: string; data: Uint8Array }> = []
        for (const id of ids) {
          const data = old?.uncommitted.get(id) ?? old?.committed.find((c) => c.id === id)?.data
          if (data === undefined) return fail("commit block list", key(ref), 400, "InvalidBlockList", `block ${id} was never staged`)
          parts.push({ id, data })
        }
        const b = fresh("BlockBlob", 0, o, old)
        b.uncommitted = new Map()
        b.committed = parts
        blobs.set(key(ref), b)
        return undefined
      }),
    getBlockList: (ref) =>
      plain({ operation: "get block list", ref }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined || b.kind !== "BlockBlob") return { committed: [], uncommitted: [] }
        return {
          committed: b.committed.map((c) => ({ id: c.id, length: c.data.length })),
          uncommitted: [...b.uncommitted.entries()].map(([id, d]) => ({ id, length: d.length })),
        }
      }),
    createPageBlob: (ref, length, o) =>
      plain({ operation: "create page blob", ref }, () => {
        const missing = noContainer("create page blob", ref)
        if (missing) return missing
        if (length % 512 !== 0) return fail("create page blob", key(ref), 400, "InvalidHeaderValue", "length not a multiple of 512")
        const old = blobs.get(key(ref))
        const lease = leaseCheck("create page blob", ref, old, o?.leaseId)
        if (lease) return lease
        blobs.set(key(ref), fresh("PageBlob", length, o, old))
        return undefined
      }),
    putPages: (ref, offset, data, md5, leaseId) =>
      dataRequest({ operation: "put pages", ref, detail: String(offset) }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined || b.kind !== "PageBlob") return fail("put pages", key(ref), 404, "BlobNotFound")
        const lease = leaseCheck("put pages", ref, b, leaseId)
        if (lease) return lease
        if (offset % 512 !== 0 || data.length % 512 !== 0 || data.length > 4 * 1024 * 1024 || offset + data.length > b.length) return fail("put pages", key(ref), 416, "InvalidPageRange")
        if (b64md5(data) !== hexToBase64(md5)) return fail("put pages", key(ref), 400, "Md5Mismatch")
        for (let i = 0; i < data.length; i += 512) b.pages.set((offset + i) / 512, new Uint8Array(data.subarray(i, i + 512)))
        touch(b)
        return undefined
      }),
    getPageRanges: (ref) =>
      Stream.unwrap(
        plain({ operation: "get page ranges", ref }, () => {
          const b = blobs.get(key(ref))
          if (b === undefined || b.kind !== "PageBlob") return fail("get page ranges", key(ref), 404, "BlobNotFound")
          return Stream.fromIterable(pageRanges(b))
        }),
      ),
    setMetadata: (ref, metadata, leaseId) =>
      plain({ operation: "set metadata", ref }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined) return fail("set metadata", key(ref), 404, "BlobNotFound")
        const lease = leaseCheck("set metadata", ref, b, leaseId)
        if (lease) return lease
        b.metadata = metadata
        touch(b)
        return undefined
      }),
    setProperties: (ref, properties, leaseId) =>
      plain({ operation: "set properties", ref }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined) return fail("set properties", key(ref), 404, "BlobNotFound")
        const lease = leaseCheck("set properties", ref, b, leaseId)
        if (lease) return lease
        b.properties = properties
        touch(b)
        return undefined
      }),
    read: (ref, offset, length) =>
      plain({ operation: "read", ref }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined) return fail("read", key(ref), 404, "BlobNotFound")
        return contentOf(b).slice(offset, offset + length)
      }),
    deleteBlob: (ref, leaseId) =>
      plain({ operation: "delete blob", ref }, () => {
        const b = blobs.get(key(ref))
        const lease = leaseCheck("delete blob", ref, b, leaseId)
        if (lease) return lease
        blobs.delete(key(ref))
        return undefined
      }),
    acquireLease: (ref) =>
      plain({ operation: "acquire lease", ref }, () => {
        const b = blobs.get(key(ref))
        if (b === undefined) return fail("acquire lease", key(ref), 404, "BlobNotFound")
        if (b.lease !== undefined) return fail("acquire lease", key(ref), 409, "LeaseAlreadyPresent")
        b.lease = randomUUID()
        return b.lease
      }),
    releaseLease: (ref, leaseId) =>
      plain({ operation: "release lease", ref }, () => {
        const b = blobs.get(key(ref))
        if (b !== undefined && b.lease === leaseId) b.lease = undefined
        return undefined
      }),
    upload: (ref, data, o) =>
      Effect.gen(function* () {
        yield* request({ operation: "upload", ref })
        const parts: Array<Uint8Array> = []
        yield* Stream.runForEach(data, (c) => Effect.sync(() => void parts.push(c)))
        const missing = noContainer("upload", ref)
        if (missing) return yield* Effect.fail(missing)
        const b = fresh("BlockBlob", 0, o, blobs.get(key(ref)))
        b.committed = [{ id: "upload", data: concat(parts) }]
        b.uncommitted = new Map()
        blobs.set(key(ref), b)
      }),
  }

  return {
    service,
    layer: Layer.succeed(BlobStore, service),
    requests,
    content: (p) => {
      const b = blobs.get(p)
      return b === undefined || b.length === -1 ? undefined : contentOf(b)
    },
    info: (p) => {
      const b = blobs.get(p)
      if (b === undefined || b.length === -1) return undefined
      return { kind: b.kind, properties: b.properties, metadata: b.metadata, pages: b.kind === "PageBlob" ? pageRanges(b) : [] }
    },
    seed: (p, data, o) => {
      const slash = p.indexOf("/")
      containers.add(p.slice(0, slash))
      const b = fresh("BlockBlob", 0, o?.metadata ? { metadata: o.metadata } : undefined, undefined)
      b.committed = [{ id: "seed", data: new Uint8Array(data) }]
      if (o?.leased) b.lease = randomUUID()
      blobs.set(p, b)
    },
    names: () => [...blobs.entries()].filter(([, b]) => b.length !== -1).map(([k]) => k).sort(),
    maxInFlight: () => maxInFlight,
  }
}

