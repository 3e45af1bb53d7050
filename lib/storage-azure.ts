/**
 * The BlobStore service (lib/storage.ts) on @azure/storage-blob: real Azure or any Blob endpoint
 * (azurite), through a connection string, an account name and key, or a SAS.
 *
 * Retries are ours, not the SDK's: the SDK is set to one try per call, and Effect retries the
 * transient failures (no response, 408, 429, 500, 502, 503, 504) on a bounded exponential
 * schedule. One place decides, the schedule can be swapped (tests pass one without delays), and
 * a request that keeps failing surfaces as a StorageError with the last status instead of
 * hanging in the SDK's 4 × up-to-120 s default.
 *
 * Every SDK failure becomes a StorageError whose text has been through `scrub`: the key, the SAS
 * token and the connection string of these credentials are cut out literally, and `redact`
 * (lib/secrets.ts) removes any other signature or key-looking parameter.
 */
import { type ContainerClient, AnonymousCredential, BlobServiceClient, newPipeline, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob"
import { Chunk, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"
import type { Readable } from "node:stream"
import { fromBlobProperties, fromMetadataRecord, toBlobHttpHeaders, toMetadataRecord, type BlobPropertiesResponseFields } from "./blobprops.ts"
import { isMd5Hex } from "./hash.ts"
import { mask, redact } from "./secrets.ts"
import { type BlobInfo, type BlobKind, type BlobRef, BlobStore, type BlobStoreService, blobPathOf, type BlockEntry, type PageRangeEntry, StorageError, type WriteOptions } from "./storage.ts"

/** How waie reaches a Blob endpoint. Parsed from the command line by lib/storage-credentials.ts. */
export type StorageCredentials =
  | { readonly kind: "connection-string"; readonly connectionString: string }
  | { readonly kind: "shared-key"; readonly account: string; readonly key: string; readonly blobEndpoint: string }
  /** a SAS token (`sv=…&sig=…`, no `?`) sent with every request to `blobEndpoint` */
  | { readonly kind: "sas"; readonly blobEndpoint: string; readonly sas: string; readonly account?: string; readonly container?: string }

export interface BlobStoreOptions {
  /**
   * When to try a transient failure again (what counts as transient is fixed). Default: up to 3
   * more tries, 100 ms doubling with jitter. Tests pass `Schedule.recurs(n)` to not wait.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, StorageError>
  /** one request's time limit before it counts as a `Timeout` (default 120 s) */
  readonly tryTimeout?: Duration.DurationInput
  /** entries asked for per list request (default 1000; tests use a few to cross pages) */
  readonly listPageSize?: number
}

export const defaultRetrySchedule: Schedule.Schedule<unknown, StorageError> = Schedule.exponential("100 millis", 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))

/** The REST API's own limit for one Put Block or Put Page body at older API versions, and a good request size. */
export const uploadBlockBytes = 4 * 1024 * 1024

const transientStatus = new Set([408, 429, 500, 502, 503, 504])

/** Worth another try: no response at all, or a status the service uses for overload and hiccups. */
export const isTransient = (e: StorageError): boolean =>
  e.status === undefined ? e.code === "Unreachable" || e.code === "Timeout" : transientStatus.has(e.status)

/** Network error codes that mean the endpoint was not reached. */
const unreachableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED", "REQUEST_SEND_ERROR", "EADDRNOTAVAIL"])
const timeoutCodes = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "TIMEOUT"])

interface SdkErrorLike {
  readonly name?: string
  readonly message?: string
  readonly statusCode?: number
  readonly code?: string
  readonly details?: { readonly errorCode?: string }
  readonly cause?: { readonly code?: string }
}

/** Builds StorageErrors whose text cannot carry these credentials' secrets. */
const makeScrub = (secrets: ReadonlyArray<string>): ((text: string) => string) => {
  // longest first, so that a connection string goes before the key inside it
  const literal = secrets.filter((s) => s.length >= 8).sort((a, b) => b.length - a.length)
  return (text) => {
    let t = text
    for (const s of literal) t = t.split(s).join(mask)
    return redact(t)
      .replace(/(SharedKey(?:Lite)?\s+[^:\s]+:)[^\s'"]+/g, `$1${mask}`)
      .replace(/(signature found in the HTTP request ')[^']*'/gi, `$1${mask}'`)
  }
}

export const toStorageError = (scrub: (t: string) => string, operation: string, target: string, e: unknown): StorageError => {
  const err = (typeof e === "object" && e !== null ? e : { message: String(e) }) as SdkErrorLike
  const firstLine = (err.message ?? "").split("\n")[0]!.trim()
  const detail = scrub(firstLine)
  if (typeof err.statusCode === "number" && err.statusCode > 0) {
    let code = err.details?.errorCode ?? err.code ?? `Http${err.statusCode}`
    // azurite answers a transactional MD5 mismatch with 400 InvalidOperation; Azure with 400
    // Md5Mismatch. Callers map the code to a copy-log status, so give them Azure's.
    if (err.statusCode === 400 && code === "InvalidOperation" && /contentMD5 doesn't match/i.test(firstLine)) code = "Md5Mismatch"
    return new StorageError({ operation, target, status: err.statusCode, code, detail })
  }
  const sys = err.code ?? err.cause?.code ?? ""
  if (err.name === "AbortError") return new StorageError({ operation, target, code: "Aborted", detail })
  if (timeoutCodes.has(sys)) return new StorageError({ operation, target, code: "Timeout", detail })
  if (unreachableCodes.has(sys)) return new StorageError({ operation, target, code: "Unreachable", detail: detail !== "" ? detail : sys })
  // a failure with no response and no code we know: still no answer from the endpoint
  return new StorageError({ operation, target, code: "Unreachable", detail: detail !== "" ? detail : sys })
}

/** `2012-09-18T23:47:08Z`: what copy logs print. */
export const isoSeconds = (d: Date | undefined): string => (d === undefined ? "" : d.toISOString().replace(/\.\d{3}Z$/, "Z"))

/**
 * An ETag as properties files print it (`0x8CF8A2C1F1B4E11`): Get Blob Properties quotes it (an
 * HTTP entity tag), List Blobs does not. One form, so the two can be compared.
 */
export const bareEtag = (etag: string | undefined): string => (etag ?? "").replace(/^"(.*)"$/, "$1")
const quotedEtag = (etag: string): string => (etag.startsWith('"') || etag === "*" ? etag : `"${etag}"`)

const kindOf = (t: string | undefined): BlobKind => (t === "PageBlob" ? "PageBlob" : t === "AppendBlob" ? "AppendBlob" : "BlockBlob")

const readAll = async (body: NodeJS.ReadableStream | undefined, expected: number): Promise<Uint8Array> => {
  if (body === undefined) return new Uint8Array(0)
  const out = Buffer.allocUnsafe(expected)
  let at = 0
  const extra: Array<Buffer> = []
  for await (const chunk of body as Readable) {
    const b = chunk as Buffer
    if (at + b.length <= expected) {
      b.copy(out, at)
      at += b.length
    } else extra.push(b)
  }
  if (extra.length > 0) return Buffer.concat([out.subarray(0, at), ...extra])
  return at === expected ? out : out.subarray(0, at)
}

/** The 16 bytes the SDK sends (as Base64) for a Base16 MD5. Anything else is a caller's bug: Buffer would truncate it silently. */
const md5Bytes = (hex: string): Uint8Array => {
  if (!isMd5Hex(hex)) throw new TypeError(`not a Base16 MD5: ${JSON.stringify(hex.slice(0, 40))}`)
  return Buffer.from(hex, "hex")
}

/** Upload block IDs: fixed length (the service requires one length per blob), in order. */
const uploadBlockId = (i: number): string => Buffer.from(`waie-upload-${String(i).padStart(8, "0")}`).toString("base64")

interface Clients {
  readonly service: BlobServiceClient
  readonly endpoint: string
  readonly account: string | undefined
  readonly secrets: ReadonlyArray<string>
  readonly sas: boolean
}

const pipelineOptions: StoragePipelineOptions = { retryOptions: { maxTries: 1 } }

const withoutQuery = (url: string): string => {
  const q = url.indexOf("?")
  return (q === -1 ? url : url.slice(0, q)).replace(/\/+$/, "")
}

const connectionStringSecrets = (cs: string): Array<string> => {
  const out = [cs]
  for (const part of cs.split(";")) {
    const eq = part.indexOf("=")
    if (eq === -1) continue
    const k = part.slice(0, eq).trim().toLowerCase()
    if (k === "accountkey" || k === "sharedaccesssignature") out.push(part.slice(eq + 1).trim())
  }
  return out
}

const makeClients = (c: StorageCredentials): Clients => {
  switch (c.kind) {
    case "connection-string": {
      const service = BlobServiceClient.fromConnectionString(c.connectionString, pipelineOptions)
      return { service, endpoint: withoutQuery(service.url), account: service.accountName || undefined, secrets: connectionStringSecrets(c.connectionString), sas: /SharedAccessSignature=/i.test(c.connectionString) }
    }
    case "shared-key": {
      const service = new BlobServiceClient(c.blobEndpoint, newPipeline(new StorageSharedKeyCredential(c.account, c.key), pipelineOptions))
      return { service, endpoint: withoutQuery(c.blobEndpoint), account: c.account, secrets: [c.key], sas: false }
    }
    case "sas": {
      const sas = c.sas.replace(/^\?/, "")
      const service = new BlobServiceClient(`${withoutQuery(c.blobEndpoint)}?${sas}`, newPipeline(new AnonymousCredential(), pipelineOptions))
      return { service, endpoint: withoutQuery(c.blobEndpoint), account: c.account ?? (service.accountName || undefined), secrets: [sas, ...sas.split("&").filter((p) => p.startsWith("sig=")).map((p) => p.slice(4))], sas: true }
    }
  }
}

/** The service on these credentials. Throws (a StorageError) only if the SDK refuses them outright. */
export const makeBlobStore = (credentials: StorageCredentials, options: BlobStoreOptions = {}): BlobStoreService => {
  let clients: Clients
  const scrubAll = makeScrub(credentials.kind === "connection-string" ? connectionStringSecrets(credentials.connectionString) : credentials.kind === "shared-key" ? [credentials.key] : [credentials.sas])
  try {
    clients = makeClients(credentials)
  } catch (e) {
    const target = credentials.kind === "connection-string" ? "(connection string)" : withoutQuery(credentials.blobEndpoint)
    throw new StorageError({ operation: "connect", target, code: "InvalidCredentials", detail: scrubAll(e instanceof Error ? e.message : String(e)) })
  }
  const scrub = makeScrub(clients.secrets)
  const schedule = options.retrySchedule ?? defaultRetrySchedule
  const tryTimeout = options.tryTimeout ?? Duration.seconds(120)
  const maxPageSize = options.listPageSize ?? 1000
  const { service } = clients

  /** One SDK call: a typed error, a per-try time limit, our retries. Interruption aborts the request. */
  const call = <A>(operation: string, target: string, f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, StorageError> =>
    Effect.tryPromise({ try: f, catch: (e) => toStorageError(scrub, operation, target, e) }).pipe(
      Effect.timeoutFail({ duration: tryTimeout, onTimeout: () => new StorageError({ operation, target, code: "Timeout", detail: `no answer within ${Duration.format(tryTimeout)}` }) }),
      Effect.retry({ schedule, while: isTransient }),
    )

  const container = (name: string): ContainerClient => service.getContainerClient(name)
  const blob = (ref: BlobRef) => container(ref.container).getBlobClient(ref.name)
  const lease = (leaseId: string | undefined) => (leaseId !== undefined ? { conditions: { leaseId } } : {})

  const info = (ref: BlobRef, p: BlobPropertiesResponseFields & { blobType?: string; leaseState?: string; lastModified?: Date; etag?: string; contentLength?: number }, metadata: Record<string, string> | undefined): BlobInfo => {
    const etag = bareEtag(p.etag)
    return {
      container: ref.container,
      name: ref.name,
      kind: kindOf(p.blobType),
      length: p.contentLength ?? 0,
      lastModified: isoSeconds(p.lastModified),
      etag,
      leased: p.leaseState === "leased" || p.leaseState === "breaking",
      properties: fromBlobProperties({ ...p, ...(p.etag !== undefined ? { etag } : {}) }),
      metadata: fromMetadataRecord(metadata ?? {}),
    }
  }

  const headersOf = (o: WriteOptions | undefined) => ({
    ...(o?.properties !== undefined ? { blobHTTPHeaders: toBlobHttpHeaders(o.properties) } : {}),
    ...(o?.metadata !== undefined ? { metadata: toMetadataRecord(o.metadata) } : {}),
    ...lease(o?.leaseId),
  })

  const stageBlock = (ref: BlobRef, id: string, data: Uint8Array, md5: string, leaseId?: string): Effect.Effect<void, StorageError> =>
    isMd5Hex(md5) ? stageChecked(ref, id, data, md5, leaseId) : Effect.die(new TypeError(`stage block ${blobPathOf(ref)}: not a Base16 MD5: ${JSON.stringify(md5.slice(0, 40))}`))

  const stageChecked = (ref: BlobRef, id: string, data: Uint8Array, md5: string, leaseId?: string): Effect.Effect<void, StorageError> =>
    call("stage block", blobPathOf(ref), (abortSignal) =>
      container(ref.container)
        .getBlockBlobClient(ref.name)
        .stageBlock(id, data, data.length, { transactionalContentMD5: md5Bytes(md5), abortSignal, ...lease(leaseId) }),
    ).pipe(Effect.asVoid)

  const commitBlockList = (ref: BlobRef, ids: ReadonlyArray<string>, o?: WriteOptions): Effect.Effect<void, StorageError> =>
    call("commit block list", blobPathOf(ref), (abortSignal) => container(ref.container).getBlockBlobClient(ref.name).commitBlockList([...ids], { abortSignal, ...headersOf(o) })).pipe(Effect.asVoid)

  const notFoundAs =
    <B>(value: B) =>
    <A>(e: Effect.Effect<A, StorageError>): Effect.Effect<A | B, StorageError> =>
      Effect.catchIf(e, (err) => err.status === 404, () => Effect.succeed(value))

  /**
   * Get Blob Properties returns metadata as headers, and Node lower-cases header names
   * (`Author` comes back `author`); List Blobs returns them in XML as written. A one-entry listing
   * from the blob's own name (which sorts first among the names it prefixes) recovers the case.
   * Undefined when that listing is not allowed (a SAS without list permission) or races a delete.
   */
  const metadataAsWritten = (ref: BlobRef): Effect.Effect<Record<string, string> | undefined> =>
    call("list blobs", blobPathOf(ref), async (abortSignal) => {
      const it = container(ref.container).listBlobsFlat({ prefix: ref.name, includeMetadata: true, abortSignal }).byPage({ maxPageSize: 1 })
      const page = (await it.next()).value as { segment: { blobItems: Array<{ name: string; metadata?: Record<string, string> }> } } | undefined
      const item = page?.segment.blobItems[0]
      return item !== undefined && item.name === ref.name ? (item.metadata ?? {}) : undefined
    }).pipe(Effect.orElseSucceed(() => undefined))

  const store: BlobStoreService = {
    endpoint: clients.endpoint,
    account: clients.account,

    ensureContainer: (name) =>
      clients.sas
        ? // a container SAS cannot create containers, and may not be allowed to read the
          // container's properties either (403): then the first write tells
          call("check container", name, (abortSignal) => container(name).getProperties({ abortSignal })).pipe(
            Effect.asVoid,
            Effect.catchIf((e) => e.status === 403, () => Effect.void),
          )
        : call("create container", name, (abortSignal) => container(name).createIfNotExists({ abortSignal })).pipe(Effect.asVoid),

    getBlob: (ref) =>
      call("get blob properties", blobPathOf(ref), (abortSignal) => blob(ref).getProperties({ abortSignal })).pipe(
        Effect.flatMap((p) =>
          Object.keys(p.metadata ?? {}).length === 0
            ? Effect.succeed(info(ref, p, p.metadata))
            : metadataAsWritten(ref).pipe(Effect.map((m): BlobInfo => info(ref, p, m ?? p.metadata))),
        ),
        notFoundAs(undefined),
      ),

    listBlobs: (name, prefix) =>
      Stream.paginateChunkEffect(undefined as string | undefined, (token) =>
        call("list blobs", `${name}/${prefix}`, async (abortSignal) => {
          const it = container(name)
            .listBlobsFlat({ prefix, includeMetadata: true, abortSignal })
            .byPage({ maxPageSize, ...(token !== undefined ? { continuationToken: token } : {}) })
          const page = (await it.next()).value as { segment: { blobItems: Array<{ name: string; properties: Parameters<typeof info>[1]; metadata?: Record<string, string> }> }; continuationToken?: string } | undefined
          return page
        }).pipe(
          Effect.map((page) => {
            const items = (page?.segment.blobItems ?? []).map((b) => info({ container: name, name: b.name }, b.properties, b.metadata))
            const next = page?.continuationToken
            return [Chunk.fromIterable(items), next !== undefined && next !== "" ? Option.some(next) : Option.none()] as const
          }),
        ),
      ),

    listContainers: (prefix) =>
      Stream.paginateChunkEffect(undefined as string | undefined, (token) =>
        call("list containers", prefix === "" ? clients.endpoint : `${prefix}*`, async (abortSignal) => {
          const it = service.listContainers({ prefix, abortSignal }).byPage({ maxPageSize, ...(token !== undefined ? { continuationToken: token } : {}) })
          return (await it.next()).value as { containerItems?: Array<{ name: string }>; continuationToken?: string } | undefined
        }).pipe(
          Effect.map((page) => {
            const next = page?.continuationToken
            return [Chunk.fromIterable((page?.containerItems ?? []).map((c) => c.name)), next !== undefined && next !== "" ? Option.some(next) : Option.none()] as const
          }),
        ),
      ),

    stageBlock,
    commitBlockList,

    getBlockList: (ref) =>
      call("get block list", blobPathOf(ref), (abortSignal) => container(ref.container).getBlockBlobClient(ref.name).getBlockList("all", { abortSignal })).pipe(
        Effect.map((r) => {
          const entries = (l: ReadonlyArray<{ name: string; size: number }> | undefined): ReadonlyArray<BlockEntry> => (l ?? []).map((b) => ({ id: b.name, length: b.size }))
          return { committed: entries(r.committedBlocks), uncommitted: entries(r.uncommittedBlocks) }
        }),
        notFoundAs({ committed: [], uncommitted: [] }),
      ),

    createPageBlob: (ref, length, o) =>
      call("create page blob", blobPathOf(ref), (abortSignal) => container(ref.container).getPageBlobClient(ref.name).create(length, { abortSignal, ...headersOf(o) })).pipe(Effect.asVoid),

    putPages: (ref, offset, data, md5, leaseId) =>
      !isMd5Hex(md5)
        ? Effect.die(new TypeError(`put pages ${blobPathOf(ref)}: not a Base16 MD5: ${JSON.stringify(md5.slice(0, 40))}`))
        : call("put pages", blobPathOf(ref), (abortSignal) =>
        container(ref.container)
          .getPageBlobClient(ref.name)
          .uploadPages(data, offset, data.length, { transactionalContentMD5: md5Bytes(md5), abortSignal, ...lease(leaseId) }),
      ).pipe(Effect.asVoid),

    getPageRanges: (ref) =>
      Stream.paginateChunkEffect(undefined as string | undefined, (token) =>
        call("get page ranges", blobPathOf(ref), async (abortSignal) => {
          const it = container(ref.container)
            .getPageBlobClient(ref.name)
            .listPageRanges(0, undefined, { abortSignal })
            .byPage({ maxPageSize, ...(token !== undefined ? { continuationToken: token } : {}) })
          return (await it.next()).value as { pageRange?: Array<{ start: number; end: number }>; continuationToken?: string } | undefined
        }).pipe(
          Effect.map((page) => {
            // start and end are both inclusive byte offsets (Range header semantics)
            const ranges = (page?.pageRange ?? []).map((r): PageRangeEntry => ({ offset: r.start, length: r.end - r.start + 1 }))
            const next = page?.continuationToken
            return [Chunk.fromIterable(ranges), next !== undefined && next !== "" ? Option.some(next) : Option.none()] as const
          }),
        ),
      ),

    setMetadata: (ref, metadata, leaseId) =>
      call("set blob metadata", blobPathOf(ref), (abortSignal) => blob(ref).setMetadata(toMetadataRecord(metadata), { abortSignal, ...lease(leaseId) })).pipe(Effect.asVoid),

    setProperties: (ref, properties, leaseId) =>
      call("set blob properties", blobPathOf(ref), (abortSignal) => blob(ref).setHTTPHeaders(toBlobHttpHeaders(properties), { abortSignal, ...lease(leaseId) })).pipe(Effect.asVoid),

    read: (ref, offset, length, etag) =>
      length === 0
        ? Effect.succeed(new Uint8Array(0))
        : call("read blob", blobPathOf(ref), async (abortSignal) => {
            const r = await blob(ref).download(offset, length, { abortSignal, ...(etag !== undefined ? { conditions: { ifMatch: quotedEtag(etag) } } : {}) })
            return readAll(r.readableStreamBody, length)
          }),

    deleteBlob: (ref, leaseId) =>
      call("delete blob", blobPathOf(ref), (abortSignal) => blob(ref).deleteIfExists({ deleteSnapshots: "include", abortSignal, ...lease(leaseId) })).pipe(Effect.asVoid),

    acquireLease: (ref, seconds) =>
      call("acquire lease", blobPathOf(ref), (abortSignal) => blob(ref).getBlobLeaseClient().acquireLease(seconds, { abortSignal })).pipe(Effect.map((r) => r.leaseId ?? "")),

    releaseLease: (ref, leaseId) =>
      call("release lease", blobPathOf(ref), (abortSignal) => blob(ref).getBlobLeaseClient(leaseId).releaseLease({ abortSignal })).pipe(Effect.asVoid),

    upload: <E, R>(ref: BlobRef, data: Stream.Stream<Uint8Array, E, R>, o?: WriteOptions): Effect.Effect<void, E | StorageError, R> =>
      Effect.suspend(() => {
        // one block buffer, reused: each block is staged (and acknowledged) before the next fills it
        const block = Buffer.allocUnsafe(uploadBlockBytes)
        let filled = 0
        const ids: Array<string> = []
        const flush = (): Effect.Effect<void, StorageError> => {
          if (filled === 0) return Effect.void
          const bytes = block.subarray(0, filled)
          const id = uploadBlockId(ids.length)
          const md5 = createHash("md5").update(bytes).digest("hex")
          return stageBlock(ref, id, bytes, md5, o?.leaseId).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                ids.push(id)
                filled = 0
              }),
            ),
          )
        }
        const take = (chunk: Uint8Array): Effect.Effect<void, StorageError> =>
          Effect.gen(function* () {
            let at = 0
            while (at < chunk.length) {
              const n = Math.min(chunk.length - at, uploadBlockBytes - filled)
              block.set(chunk.subarray(at, at + n), filled)
              filled += n
              at += n
              if (filled === uploadBlockBytes) yield* flush()
            }
          })
        return Stream.runForEach(data, take).pipe(
          Effect.zipRight(Effect.suspend(flush)),
          Effect.zipRight(Effect.suspend(() => commitBlockList(ref, ids, o))),
        )
      }),
  }
  return store
}

/** The live layer. Fails (StorageError, operation `connect`) when the SDK refuses the credentials' form. */
export const BlobStoreLive = (credentials: StorageCredentials, options: BlobStoreOptions = {}): Layer.Layer<BlobStore, StorageError> =>
  Layer.effect(
    BlobStore,
    Effect.try({
      try: () => makeBlobStore(credentials, options),
      catch: (e) => (e instanceof StorageError ? e : new StorageError({ operation: "connect", target: "", code: "InvalidCredentials", detail: "" })),
    }),
  )
