/**
 * What the datacenter does with one blob of an import manifest, in two steps:
 *
 * 1. `prepareBlob` (one blob at a time, in manifest order): the file is on the drive and can be
 *    opened; the disposition (002_… ImportDisposition, default `rename`) against what storage
 *    holds — a new name is `Created`; an existing one is `Skipped` (no-overwrite: nothing sent),
 *    `Overwritten` (overwrite; a lease held on it → blob `LeasePresent`), or `Renamed` to the
 *    first free `name (n).ext` (lib/rename.ts; the names taken are found by listing the
 *    container from the name's stem, so one request covers any number of earlier copies).
 *    Before deciding, it waits for any blob still uploading under a name that could collide
 *    (the same name or one of its renamings), so that dispositions come out as if the blobs ran
 *    one after another.
 * 2. `uploadBlob` (several blobs at once): each block or page range is read from the drive (a
 *    shared pool of buffers bounds the bytes in flight for the whole run), its MD5 checked against
 *    the manifest (a mismatch is `Corrupted` and never sent), and sent with that MD5 as
 *    transactional MD5 (the service refuses bytes that changed on the way). Block blobs: the
 *    block list is committed in order with the properties and metadata; when some blocks
 *    failed, the good ones are committed anyway (`Committed`), so that a repair only stages what
 *    failed and commits again; a failed commit leaves them `Uncommitted`. Page blobs: created
 *    with the blob's Length, properties and metadata, then the ranges put (each `Completed` as
 *    it lands: page writes commit at once).
 *
 * Statuses (formats.md §1.3–§1.4), and waie's decisions where the format is silent:
 * - a blob-level failure first (file missing or unreadable, a lease, a refused request before
 *   any data moved, a rename impossible): the disposition, every range and the metadata and
 *   properties entries are `Cancelled`;
 * - `Skipped` (no-overwrite): blob `Completed`, its list present and empty, no metadata or
 *   properties entries (nothing was applied);
 * - a block past the file's end (the file is shorter than the manifest says) is
 *   `FileUnexpectedEnd`; a read error `IOFailed`; a refused request `BlobRequestFailed`;
 * - blob status: `BlobRequestForbidden` when a request got 403, else `LeasePresent` when a lease
 *   stopped a request, else `BlobRequestFailed` when a blob-level request (create, commit,
 *   delete) failed, else `CompletedWithErrors` when any range, the metadata or the properties
 *   failed, else `Completed`;
 * - no good block at all: nothing is committed (an overwrite keeps the old blob, a new name stays
 *   free), and the metadata and properties are `Cancelled`;
 * - overwrite of a blob of the other kind (a page blob where a block blob goes): it is deleted
 *   first (the service refuses Put Block on a page blob);
 * - block ids: the manifest's, else the 4-byte little-endian index in Base64 (`AAAAAA==`), as the
 *   tool writes them; the log lists the id used.
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Deferred, Effect, Either, Stream } from "effect"
import type { BlobMetadata, BlobProperties } from "../blobprops.ts"
import { blockId } from "../blocks.ts"
import type { BlobStart, BlobStatus, DispositionStatus, FileEntry, ImportDisposition, Range, RangeStatus } from "../copylog.ts"
import type { FileUnreadable } from "../errors.ts"
import { unreadable } from "../files.ts"
import { md5Hex } from "../hash.ts"
import type { HashPool } from "../hashpool.ts"
import { candidateIndex, firstFreeAmong, renamed } from "../rename.ts"
import { type BlobInfo, type BlobKind, type BlobRef, blobRefOf, type BlobStoreService, isForbidden, isLeaseConflict, isUnreachable, type StorageError, type WriteOptions } from "../storage.ts"
import { type BlobFiles, type FileStatus, importable } from "./blob-files.ts"
import { manifestPathOn } from "./drive-check.ts"
import type { BlobJob, ManifestRange } from "./manifest-blobs.ts"

// ---------------------------------------------------------------- settings and shared state

export interface ImportSettings {
  /** blocks or page ranges read and being sent at once, over all blobs (each holds a buffer of up to 4 MiB) */
  readonly rangesInFlight: number
  /** blobs uploading at once (their logs still come out in manifest order) */
  readonly blobsInFlight: number
  /** consecutive blobs of a container refused with 403 before the rest of that container is not attempted */
  readonly forbiddenCutoff: number
  /** consecutive blobs failing because storage cannot be reached before the rest of the drive is not attempted */
  readonly unreachableCutoff: number
  /** false: every MD5 on the main thread (default: ranges over `inlineHashBytes` in a hash pool) */
  readonly hashInWorkers?: boolean
  /** blobs whose file and name are looked up ahead of their turn (`probeBlob`; default 8, 0: none) */
  readonly lookAhead?: number
}

export const defaultImportSettings: ImportSettings = { rangesInFlight: 8, blobsInFlight: 4, forbiddenCutoff: 3, unreachableCutoff: 3 }

/** The largest block or page range (formats.md §8): the size of each pooled buffer. */
export const maxRangeBytes = 4 * 1024 * 1024

/**
 * Ranges up to this size are hashed on the main thread: a job through the hash pool costs about
 * 50 µs of messaging (bench/README.md), more than MD5 of a small range.
 */
export const inlineHashBytes = 64 * 1024

/**
 * The MD5 (upper-case hex) of a range read into a pooled buffer. With a hash pool, ranges larger
 * than `inlineHashBytes` are hashed in its workers, in the buffer's shared memory: MD5 on the
 * main thread competed with the HTTP client for it (bench/README.md "Import").
 */
export const rangeHasher = (pool: HashPool["Type"] | undefined) => (data: Uint8Array): Effect.Effect<string> => {
  const memory = data.buffer
  if (pool === undefined || data.length <= inlineHashBytes || !(memory instanceof SharedArrayBuffer)) return Effect.sync(() => md5Hex(data))
  return pool.describe({ kind: "block", memory, byteOffset: data.byteOffset, length: data.length, fileOffset: 0, firstIndex: 0 }).pipe(Effect.map((r) => r[0]!.hash))
}

/** Buffers for blocks in flight: at most `size` exist, each reused (in shared memory, for the hash pool's workers). */
export class BufferPool {
  private readonly free: Array<Uint8Array> = []
  private readonly permits: Effect.Semaphore
  private inUse = 0
  /** the most buffers in use at once (tests check the bound) */
  maxInUse = 0
  created = 0

  constructor(readonly size: number) {
    this.permits = Effect.unsafeMakeSemaphore(size)
  }

  use<A, E, R>(f: (buffer: Uint8Array) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return this.permits.withPermits(1)(
      Effect.acquireUseRelease(
        Effect.sync(() => {
          this.inUse++
          this.maxInUse = Math.max(this.maxInUse, this.inUse)
          const b = this.free.pop()
          if (b !== undefined) return b
          this.created++
          return new Uint8Array(new SharedArrayBuffer(maxRangeBytes))
        }),
        f,
        (b) =>
          Effect.sync(() => {
            this.inUse--
            this.free.push(b)
          }),
      ),
    )
  }
}

type FailureKind = "forbidden" | "lease" | "unreachable" | "other"

export const failureKind = (e: StorageError): FailureKind => (isForbidden(e) ? "forbidden" : isLeaseConflict(e) ? "lease" : isUnreachable(e) ? "unreachable" : "other")

/**
 * When to stop asking: a 403 is about the credentials, the same for every blob, so once
 * `forbiddenCutoff` blobs of a container in a row are refused (no success between them) the
 * rest of that container is recorded `BlobRequestForbidden` without requests. Likewise, after
 * `unreachableCutoff` blobs in a row fail because storage cannot be reached at all, the rest of
 * the drive is recorded `BlobRequestFailed` without requests. A success resets the count.
 */
export class Breaker {
  private readonly forbiddenRun = new Map<string, number>()
  private readonly forbidden = new Set<string>()
  private unreachableRun = 0
  unreachable = false
  /** some request of the drive succeeded */
  anySuccess = false
  /** blobs refused with 403 */
  forbiddenBlobs = 0

  constructor(private readonly settings: ImportSettings) {}

  /** nothing has failed for this container since its last success: asking ahead of turn is safe */
  healthy(container: string): boolean {
    return !this.unreachable && this.unreachableRun === 0 && !this.forbidden.has(container) && (this.forbiddenRun.get(container) ?? 0) === 0
  }

  blocked(container: string): "forbidden" | "unreachable" | undefined {
    return this.unreachable ? "unreachable" : this.forbidden.has(container) ? "forbidden" : undefined
  }

  record(container: string, failure: FailureKind | undefined, storageOk: boolean): void {
    if (storageOk) this.anySuccess = true
    if (failure === "forbidden") {
      this.forbiddenBlobs++
      const n = (this.forbiddenRun.get(container) ?? 0) + 1
      this.forbiddenRun.set(container, n)
      if (n >= this.settings.forbiddenCutoff) this.forbidden.add(container)
    } else if (storageOk) this.forbiddenRun.set(container, 0)
    if (failure === "unreachable") {
      this.unreachableRun++
      if (this.unreachableRun >= this.settings.unreachableCutoff) this.unreachable = true
    } else if (storageOk) this.unreachableRun = 0
  }
}

/**
 * The names this run has claimed (started writing), numbered, so that an answer about a name
 * asked ahead of its turn can be checked: it is stale if the name was claimed since. Holds only
 * the claims newer than the oldest answer still waiting for its turn.
 */
export class ClaimLog {
  private entries: Array<{ readonly seq: number; readonly path: string }> = []
  /** claims made so far */
  seq = 0

  add(path: string): void {
    this.entries.push({ seq: ++this.seq, path })
  }

  /** the name was claimed after `seq`; forgets claims at or before it (answers come in order) */
  claimedSince(path: string, seq: number): boolean {
    let drop = 0
    while (drop < this.entries.length && this.entries[drop]!.seq <= seq) drop++
    if (drop > 0) this.entries = this.entries.slice(drop)
    return this.entries.some((e) => e.path === path)
  }
}

/** What a blob run shares with the others of its drive. */
export interface ImportContext {
  readonly store: BlobStoreService
  readonly root: string
  readonly settings: ImportSettings
  readonly pool: BufferPool
  /** MD5 of a range in a pooled buffer (`rangeHasher`) */
  readonly md5: (data: Uint8Array) => Effect.Effect<string>
  readonly breaker: Breaker
  readonly files: BlobFiles
  /** containers created (or found) in this run */
  readonly containers: Set<string>
  /** blob paths being written by blobs still uploading, with what completes when they finish */
  readonly claims: Map<string, Deferred.Deferred<void>>
  readonly claimLog: ClaimLog
}

// ---------------------------------------------------------------- outcomes

export interface BlobOutcome {
  readonly job: BlobJob
  readonly start: Omit<BlobStart, "_tag">
  readonly ranges: ReadonlyArray<Range>
  readonly metadata?: FileEntry<FileStatus>
  readonly properties?: FileEntry<FileStatus>
  /** the first storage failure's kind (for the breaker) */
  readonly failure?: FailureKind
  /** some storage request for this blob succeeded */
  readonly storageOk: boolean
  /** for a person: what went wrong (storage errors, file problems), a few lines at most */
  readonly problems: ReadonlyArray<string>
}

const dispositionOf = (job: BlobJob): ImportDisposition => (job.importDisposition === "no-overwrite" || job.importDisposition === "overwrite" ? job.importDisposition : "rename")

const blobKind = (job: BlobJob): BlobKind => (job.list === "page" ? "PageBlob" : "BlockBlob")

const idOf = (r: ManifestRange, i: number): string => r.id ?? blockId(i)

const rangeEvents = (job: BlobJob, status: (i: number) => RangeStatus): Array<Range> =>
  job.list === "page"
    ? job.ranges.map((r, i) => ({ _tag: "PageRange", offset: r.offset, length: r.length, hash: r.hash, status: status(i) }))
    : job.list === "block"
      ? job.ranges.map((r, i) => ({ _tag: "Block", offset: r.offset, length: r.length, id: idOf(r, i), hash: r.hash, status: status(i) }))
      : []

const fileEntry = (job: BlobJob, kind: "metadata" | "properties", status: FileStatus): FileEntry<FileStatus> | undefined => {
  const global = kind === "metadata" ? job.globalMetadata : job.globalProperties
  const own = kind === "metadata" ? job.metadata : job.properties
  if (global === undefined && own === undefined) return undefined
  return { status, ...(global ? { globalPath: { path: global.path, hash: global.hash } } : {}), ...(own ? { path: { path: own.path, hash: own.hash } } : {}) }
}

const header = (job: BlobJob, status: BlobStatus, blobPath: string, disposition: DispositionStatus): Omit<BlobStart, "_tag"> => ({
  status,
  blobPath,
  filePath: job.filePath,
  length: job.length,
  importDisposition: { status: disposition, value: dispositionOf(job) },
  list: job.list,
})

/** A blob stopped before any data moved: everything Cancelled. */
const cancelled = (job: BlobJob, status: BlobStatus, problems: ReadonlyArray<string>, extra: { failure?: FailureKind; storageOk?: boolean } = {}): BlobOutcome => {
  const metadata = fileEntry(job, "metadata", "Cancelled")
  const properties = fileEntry(job, "properties", "Cancelled")
  return {
    job,
    start: header(job, status, job.blobPath, "Cancelled"),
    ranges: rangeEvents(job, () => "Cancelled"),
    ...(metadata ? { metadata } : {}),
    ...(properties ? { properties } : {}),
    ...(extra.failure ? { failure: extra.failure } : {}),
    storageOk: extra.storageOk ?? false,
    problems,
  }
}

const statusOfStorage = (e: StorageError): BlobStatus => {
  switch (failureKind(e)) {
    case "forbidden":
      return "BlobRequestForbidden"
    case "lease":
      return "LeasePresent"
    default:
      return "BlobRequestFailed"
  }
}

const refused = (job: BlobJob, e: StorageError, storageOk: boolean): BlobOutcome => cancelled(job, statusOfStorage(e), [e.message], { failure: failureKind(e), storageOk })

// ---------------------------------------------------------------- step 1: file and disposition

export interface BlobPlan {
  readonly job: BlobJob
  readonly target: BlobRef
  readonly targetPath: string
  readonly disposition: "Created" | "Renamed" | "Overwritten"
  /** an existing blob of the other kind to delete before writing */
  readonly deleteFirst: boolean
  /** completes when the blob is done (others waiting on its name go on) */
  readonly done: Deferred.Deferred<void>
}

export type Prepared = { readonly _tag: "Done"; readonly outcome: BlobOutcome } | { readonly _tag: "Go"; readonly plan: BlobPlan }

const done = (outcome: BlobOutcome): Prepared => ({ _tag: "Done", outcome })

/** The part of a blob path that every one of its renamings starts with: `c/photos/Seattle` for `c/photos/Seattle.jpg`. */
export const renameStem = (blobPath: string): string => {
  const second = renamed(blobPath, 2)
  let i = 0
  while (i < blobPath.length && blobPath[i] === second[i]) i++
  return blobPath.slice(0, i)
}

const fileProblem = (e: FileUnreadable): BlobStatus => (e.code === "ENOENT" ? "FileNotFound" : e.code === "EACCES" || e.code === "EPERM" ? "FileAccessDenied" : "IOFailed")

/**
 * What is found out about a blob ahead of its turn: its file, and — when its container was made
 * in this run and nothing has failed there since — whether its name exists. Dispositions are
 * still decided one at a time in manifest order (`prepareBlob`); asking ahead lets the requests
 * of several blobs overlap, which for small blobs is most of the time (bench/README.md "Import").
 * An answer is used only if this run claimed no such name between the stamp and the decision.
 */
export interface Probe {
  readonly job: BlobJob
  /** `ClaimLog.seq` when the blob was stamped, before anything was asked */
  readonly seq: number
  /** the file's problem, when it has one */
  readonly file?: { readonly status: BlobStatus; readonly problem: string }
  /** storage's answer for the name, when it was asked ahead */
  readonly existing?: { readonly info: BlobInfo | undefined }
}

/** Stamp a blob in manifest order, before it is probed (a name claimed after this makes the answer stale). */
export const stampBlob = (ctx: ImportContext, job: BlobJob): { readonly job: BlobJob; readonly seq: number; readonly busy: boolean } => ({
  job,
  seq: ctx.claimLog.seq,
  busy: ctx.claims.has(job.blobPath),
})

export const probeBlob = (ctx: ImportContext, stamp: ReturnType<typeof stampBlob>): Effect.Effect<Probe, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const { job, seq } = stamp
    const file = manifestPathOn(ctx.root, job.filePath)
    const info = yield* fs.stat(file).pipe(Effect.mapError(unreadable(job.filePath)), Effect.either)
    if (Either.isLeft(info)) return { job, seq, file: { status: fileProblem(info.left), problem: info.left.message } }
    if (info.right.type !== "File") return { job, seq, file: { status: "FileNotFound", problem: `${job.filePath}: not a file (${info.right.type})` } }
    const access = yield* fs.access(file, { readable: true }).pipe(Effect.mapError(unreadable(job.filePath)), Effect.either)
    if (Either.isLeft(access)) return { job, seq, file: { status: "FileAccessDenied", problem: access.left.message } }
    const ref = blobRefOf(job.blobPath)
    // ask ahead only where asking has worked: after a failure the blobs ask in turn, so that the
    // breaker's cutoffs still stop the requests
    if ((ctx.settings.lookAhead ?? defaultLookAhead) === 0 || ref === undefined || stamp.busy || !ctx.containers.has(ref.container) || !ctx.breaker.healthy(ref.container)) return { job, seq }
    const existing = yield* ctx.store.getBlob(ref).pipe(Effect.either)
    return Either.isRight(existing) ? { job, seq, existing: { info: existing.right } } : { job, seq }
  })

export const defaultLookAhead = 8

export const prepareBlob = (ctx: ImportContext, probe: Probe): Effect.Effect<Prepared, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const { job } = probe
    const ref = blobRefOf(job.blobPath)
    // the manifest checker refuses such paths before any blob runs: a bug if one gets here
    if (ref === undefined) return yield* Effect.dieMessage(`blob path without a container: ${job.blobPath}`)

    const blocked = ctx.breaker.blocked(ref.container)
    if (blocked === "forbidden") return done(cancelled(job, "BlobRequestForbidden", [`not attempted: requests for container ${ref.container} were refused (403) blob after blob`]))
    if (blocked === "unreachable") return done(cancelled(job, "BlobRequestFailed", [`not attempted: storage could not be reached blob after blob`]))

    if (probe.file !== undefined) return done(cancelled(job, probe.file.status, [probe.file.problem]))

    // wait for blobs still uploading under this name or one of its renamings
    for (const [name, finished] of [...ctx.claims]) {
      if (name === job.blobPath || candidateIndex(job.blobPath, name) !== undefined) yield* Deferred.await(finished)
    }

    let storageOk = false
    if (!ctx.containers.has(ref.container)) {
      const made = yield* ctx.store.ensureContainer(ref.container).pipe(Effect.either)
      if (Either.isLeft(made)) return done(refused(job, made.left, false))
      ctx.containers.add(ref.container)
      storageOk = true
    }
    const stale = ctx.claimLog.claimedSince(job.blobPath, probe.seq)
    const existing = probe.existing !== undefined && !stale ? Either.right(probe.existing.info) : yield* ctx.store.getBlob(ref).pipe(Effect.either)
    if (Either.isLeft(existing)) return done(refused(job, existing.left, storageOk))
    storageOk = true

    const go = (target: BlobRef, disposition: BlobPlan["disposition"], deleteFirst: boolean) =>
      Effect.gen(function* () {
        const finished = yield* Deferred.make<void>()
        const targetPath = `${target.container}/${target.name}`
        ctx.claims.set(targetPath, finished)
        ctx.claimLog.add(targetPath)
        return { _tag: "Go", plan: { job, target, targetPath, disposition, deleteFirst, done: finished } } as const
      })

    if (existing.right === undefined) return yield* go(ref, "Created", false)
    const disposition = dispositionOf(job)
    if (disposition === "no-overwrite") {
      return done({ job, start: { ...header(job, "Completed", job.blobPath, "Skipped"), list: job.list }, ranges: [], storageOk, problems: [] })
    }
    if (disposition === "overwrite") {
      if (existing.right.leased) return done(cancelled(job, "LeasePresent", [`${job.blobPath}: a lease is held on the existing blob`], { failure: "lease", storageOk }))
      return yield* go(ref, "Overwritten", existing.right.kind !== blobKind(job))
    }
    const stem = renameStem(job.blobPath)
    const taken = new Set<number>([1])
    const listed = yield* ctx.store.listBlobs(ref.container, stem.slice(ref.container.length + 1)).pipe(
      Stream.runForEach((b) =>
        Effect.sync(() => {
          const i = candidateIndex(job.blobPath, `${b.container}/${b.name}`)
          if (i !== undefined) taken.add(i)
        }),
      ),
      Effect.either,
    )
    if (Either.isLeft(listed)) return done(refused(job, listed.left, storageOk))
    // names still being written by other blobs are taken too
    for (const name of ctx.claims.keys()) {
      const i = candidateIndex(job.blobPath, name)
      if (i !== undefined) taken.add(i)
    }
    const free = firstFreeAmong(job.blobPath, taken)
    if (Either.isLeft(free)) return done(cancelled(job, "RenameFailed", [free.left.message], { storageOk }))
    return yield* go(blobRefOf(free.right)!, "Renamed", false)
  })

// ---------------------------------------------------------------- step 2: the data

/** Read `into.length` bytes at `offset`; fewer only at the end of the file. */
const readAt = (file: FileSystem.File, offset: number, into: Uint8Array): Effect.Effect<number, PlatformError> =>
  Effect.gen(function* () {
    yield* file.seek(offset, "start")
    let got = 0
    while (got < into.length) {
      const n = Number(yield* file.read(into.subarray(got)))
      if (n === 0) break
      got += n
    }
    return got
  })

/** What became of one range before the commit: sent, or why not. */
type Sent = { readonly sent: true } | { readonly sent: false; readonly status: RangeStatus; readonly error?: StorageError; readonly problem?: string }

export const uploadBlob = (ctx: ImportContext, plan: BlobPlan): Effect.Effect<BlobOutcome, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const { job, target } = plan
    const { store } = ctx
    const problems: Array<string> = []
    const errors: Array<StorageError> = []
    let storageOk = true // the disposition's requests succeeded
    const note = (p: string) => void (problems.length < 5 && problems.push(p))
    const failed = (e: StorageError) => {
      errors.push(e)
      note(e.message)
    }

    const applied = yield* ctx.files.forBlob(job)
    for (const p of [...applied.metadata.problems, ...applied.properties.problems]) note(p)
    const options: WriteOptions = {
      ...(applied.properties.value !== undefined ? { properties: importable(applied.properties.value) as BlobProperties } : {}),
      ...(applied.metadata.value !== undefined ? { metadata: applied.metadata.value as BlobMetadata } : {}),
    }
    let metadataStatus: FileStatus | undefined = applied.metadata.entry?.status
    let propertiesStatus: FileStatus | undefined = applied.properties.entry?.status
    const outcome = (status: BlobStatus, ranges: ReadonlyArray<Range>): BlobOutcome => {
      const metadata = applied.metadata.entry && metadataStatus ? { ...applied.metadata.entry, status: metadataStatus } : undefined
      const properties = applied.properties.entry && propertiesStatus ? { ...applied.properties.entry, status: propertiesStatus } : undefined
      const first = errors[0]
      return {
        job,
        start: header(job, status, plan.targetPath, plan.disposition),
        ranges,
        ...(metadata ? { metadata } : {}),
        ...(properties ? { properties } : {}),
        ...(first ? { failure: failureKind(first) } : {}),
        storageOk,
        problems,
      }
    }
    /** a blob-level request failed before any data moved */
    const stopped = (e: StorageError): BlobOutcome => cancelled(job, statusOfStorage(e), [...problems, e.message], { failure: failureKind(e), storageOk })

    if (plan.deleteFirst) {
      const d = yield* store.deleteBlob(target).pipe(Effect.either)
      if (Either.isLeft(d)) return stopped(d.left)
    }
    const page = job.list === "page"
    if (page) {
      const c = yield* store.createPageBlob(target, job.length, options).pipe(Effect.either)
      if (Either.isLeft(c)) return stopped(c.left)
    }

    // every range: read, check, send; the pool bounds how many are in flight over the whole run
    const results: Array<Sent> = yield* Effect.scoped(
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const real = manifestPathOn(ctx.root, job.filePath)
        const opened = yield* fs.open(real, { flag: "r" }).pipe(Effect.mapError(unreadable(job.filePath)), Effect.either)
        if (Either.isLeft(opened)) {
          note(opened.left.message)
          const status: RangeStatus = "IOFailed"
          return job.ranges.map((): Sent => ({ sent: false, status }))
        }
        const file = opened.right
        const size = Number((yield* file.stat.pipe(Effect.orElseSucceed(() => ({ size: BigInt(Number.MAX_SAFE_INTEGER) })))).size)
        const lock = yield* Effect.makeSemaphore(1)
        return yield* Effect.forEach(
          job.ranges,
          (r, i): Effect.Effect<Sent> => {
            if (r.offset + r.length > size) return Effect.succeed({ sent: false, status: "FileUnexpectedEnd", problem: `${job.filePath}: ${size} bytes, the manifest reads ${r.length} at ${r.offset}` })
            return ctx.pool.use((buffer) =>
              Effect.gen(function* () {
                const data = buffer.subarray(0, r.length)
                const got = yield* lock.withPermits(1)(readAt(file, r.offset, data)).pipe(Effect.either)
                if (Either.isLeft(got)) return { sent: false, status: "IOFailed", problem: `${job.filePath}: reading ${r.length} bytes at ${r.offset} failed: ${unreadable(job.filePath)(got.left).reason}` } as const
                if (got.right < r.length) return { sent: false, status: "FileUnexpectedEnd", problem: `${job.filePath}: ended at ${r.offset + got.right}, the manifest reads ${r.length} at ${r.offset}` } as const
                if ((yield* ctx.md5(data)) !== r.hash) return { sent: false, status: "Corrupted", problem: `${job.filePath}: ${r.length} bytes at ${r.offset} do not match their MD5 ${r.hash}` } as const
                const send = page ? store.putPages(target, r.offset, data, r.hash) : store.stageBlock(target, idOf(r, i), data, r.hash)
                const s = yield* send.pipe(Effect.either)
                if (Either.isLeft(s)) return { sent: false, status: "BlobRequestFailed", error: s.left } as const
                return { sent: true } as const
              }),
            )
          },
          { concurrency: ctx.settings.rangesInFlight },
        )
      }),
    )
    for (const r of results) {
      if (r.sent) storageOk = true
      else {
        if (r.error) failed(r.error)
        if (r.problem) note(r.problem)
      }
    }
    const anyRangeFailed = results.some((r) => !r.sent)
    const partFailed = () => anyRangeFailed || (metadataStatus !== undefined && metadataStatus !== "Completed") || (propertiesStatus !== undefined && propertiesStatus !== "Completed")
    const blobStatus = (blobLevel: StorageError | undefined): BlobStatus => {
      const all = blobLevel ? [...errors, blobLevel] : errors
      if (all.some(isForbidden)) return "BlobRequestForbidden"
      if (all.some(isLeaseConflict)) return "LeasePresent"
      if (blobLevel) return "BlobRequestFailed"
      return partFailed() ? "CompletedWithErrors" : "Completed"
    }
    const statusOf = (i: number, good: RangeStatus): RangeStatus => {
      const r = results[i]!
      return r.sent ? good : r.status
    }

    if (page) return outcome(blobStatus(undefined), rangeEvents(job, (i) => statusOf(i, "Completed")))

    const good = job.ranges.map((r, i) => (results[i]!.sent ? idOf(r, i) : undefined)).filter((id): id is string => id !== undefined)
    if (good.length === 0 && job.ranges.length > 0) {
      // nothing to commit: the metadata and properties had nothing to land on
      if (metadataStatus === "Completed") metadataStatus = "Cancelled"
      if (propertiesStatus === "Completed") propertiesStatus = "Cancelled"
      return outcome(blobStatus(undefined), rangeEvents(job, (i) => statusOf(i, "Cancelled")))
    }
    const commit = yield* store.commitBlockList(target, good, options).pipe(Effect.either)
    if (Either.isLeft(commit)) {
      failed(commit.left)
      if (metadataStatus === "Completed") metadataStatus = "BlobRequestFailed"
      if (propertiesStatus === "Completed") propertiesStatus = "BlobRequestFailed"
      return outcome(blobStatus(commit.left), rangeEvents(job, (i) => statusOf(i, "Uncommitted")))
    }
    storageOk = true
    return outcome(blobStatus(undefined), rangeEvents(job, (i) => statusOf(i, anyRangeFailed ? "Committed" : "Completed")))
  }).pipe(Effect.ensuring(Effect.suspend(() => {
    ctx.claims.delete(plan.targetPath)
    return Deferred.succeed(plan.done, undefined)
  })))

