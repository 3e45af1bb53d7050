/**
 * The import executor: what the Import/Export datacenter does with one drive of an import job
 * (issue 4), against any Blob endpoint (lib/storage.ts), producing the drive's two copy logs.
 *
 *   1. drive level (lib/service/drive-check.ts): the manifest found, its hash and format checked,
 *      its DriveId against the drive; a refused drive gets copy logs with its drive status and
 *      no blobs;
 *   2. blob by blob (lib/service/import-blob.ts), streaming the manifest a second time: the
 *      disposition decided in manifest order, the data read, checked and sent with several
 *      blobs and blocks in flight (bounded), each blob's outcome collected in manifest order;
 *   3. the verbose log written as the outcomes come (streaming), the error log derived from it,
 *      both uploaded (lib/service/copylog-output.ts).
 *
 * The drive's status: `ManifestFormatInvalid`/`ReadManifestFailed` if the manifest cannot be
 * read the second time (it changed or the disk failed under us; the blobs done so far are
 * listed), `BlobRequestForbidden` when blobs were refused with 403 and no request of the drive
 * ever succeeded (the credentials are wrong for everything), `CompletedWithErrors` when any
 * blob failed, `CompletedWithWarnings` when a disposition renamed or skipped a blob, else
 * `Completed`.
 *
 * Memory: one blob per stage (`blobsInFlight` uploading, as many waiting in order), and
 * `rangesInFlight` buffers of 4 MiB for the data, whatever the size of the manifest. The data's
 * MD5 is taken in a hash pool of the drive's own (lib/hashpool.ts), in those buffers.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Deferred, Effect, Either, Option, Queue, Stream } from "effect"
import { type CopyLogEvent, CopyLogTally, type CopyLogSummary, type DriveStatus } from "../copylog.ts"
import type { FileUnreadable, FileUnwritable, Issue } from "../errors.ts"
import { makeHashPool } from "../hashpool.ts"
import { BlobStore, type StorageError } from "../storage.ts"
import { BlobFiles } from "./blob-files.ts"
import { type CopyLogFiles, type CopyLogLocation, defaultCopyLogLocation, uploadCopyLogs, writeCopyLogs } from "./copylog-output.ts"
import { checkDrive, type DriveCheck, type DriveIdentity } from "./drive-check.ts"
import type { DriveInfo } from "./drive-info.ts"
import { type BlobOutcome, Breaker, BufferPool, ClaimLog, defaultImportSettings, defaultLookAhead, type ImportContext, type ImportSettings, prepareBlob, probeBlob, rangeHasher, stampBlob, uploadBlob } from "./import-blob.ts"
import { manifestBlobs } from "./manifest-blobs.ts"

export interface ImportOptions {
  /** the job's name: the first part of the copy logs' names */
  readonly job: string
  /** the local folder of the copy logs */
  readonly logDir: string
  readonly settings?: ImportSettings
  readonly location?: CopyLogLocation
  /** each blob's outcome, in manifest order, as its log entry is written */
  readonly onBlob?: (driveId: string, outcome: BlobOutcome) => Effect.Effect<void>
}

export interface DriveResult {
  /** the drive's folder */
  readonly root: string
  readonly driveId: string
  readonly status: DriveStatus
  /** the manifest, when the drive passed the drive-level checks */
  readonly manifest?: { readonly file: string; readonly manifestFile: string; readonly hash: string }
  /** the drive-level problem, when the drive was refused */
  readonly problem?: string
  readonly issues: ReadonlyArray<Issue>
  readonly notes: ReadonlyArray<string>
  /** counts per status, as `waie copylog check` gives them */
  readonly summary: CopyLogSummary
  readonly logs: CopyLogFiles
  /** the logs could not be uploaded (they are in the log folder all the same) */
  readonly uploadError?: StorageError | FileUnreadable
  /** the run stopped asking storage after blobs in a row could not reach it */
  readonly unreachable: boolean
  /** the most range buffers in use at once (never more than `rangesInFlight`) */
  readonly maxBuffers: number
}

type Item = { readonly _tag: "Blob"; readonly outcome: Deferred.Deferred<BlobOutcome> } | { readonly _tag: "End"; readonly status?: DriveStatus; readonly problem?: string }

const blobEvents = (o: BlobOutcome): Array<CopyLogEvent> => [
  { _tag: "BlobStart", ...o.start },
  ...o.ranges,
  { _tag: "BlobEnd", ...(o.metadata ? { metadata: o.metadata } : {}), ...(o.properties ? { properties: o.properties } : {}) },
]

const isWarning = (o: BlobOutcome): boolean => o.start.importDisposition?.status === "Renamed" || o.start.importDisposition?.status === "Skipped"

const isFailed = (o: BlobOutcome): boolean =>
  o.start.status !== "Completed" || o.ranges.some((r) => r.status !== "Completed") || (o.metadata !== undefined && o.metadata.status !== "Completed") || (o.properties !== undefined && o.properties.status !== "Completed")

/**
 * The blob outcomes of an accepted drive, in manifest order, as a stream; `end` gives the
 * drive-level failure that stopped the manifest part way, if any, once the stream is done.
 */
const runBlobs = (ctx: ImportContext, check: Extract<DriveCheck, { ok: true }>) =>
  Effect.gen(function* () {
    const { settings } = ctx
    const queue = yield* Queue.bounded<Item>(settings.blobsInFlight)
    const slots = yield* Effect.makeSemaphore(settings.blobsInFlight)
    // uploads are forked into the drive's scope: a fiber forked inside Stream.runForEach belongs to
    // the stream's machinery and is interrupted when the stream ends
    const scope = yield* Effect.scope
    const record = (o: BlobOutcome) => Effect.sync(() => ctx.breaker.record(o.job.blobPath.slice(0, o.job.blobPath.indexOf("/")), o.failure, o.storageOk))

    const producer = manifestBlobs(check.manifest).pipe(
      Stream.map((job) => stampBlob(ctx, job)),
      Stream.mapEffect((stamp) => probeBlob(ctx, stamp), { concurrency: Math.max(1, settings.lookAhead ?? defaultLookAhead) }),
      Stream.runForEach((probe) =>
        Effect.gen(function* () {
          const prepared = yield* prepareBlob(ctx, probe)
          const outcome = yield* Deferred.make<BlobOutcome>()
          if (prepared._tag === "Done") {
            yield* record(prepared.outcome)
            yield* Deferred.succeed(outcome, prepared.outcome)
          } else {
            yield* slots.take(1)
            yield* uploadBlob(ctx, prepared.plan).pipe(Effect.tap(record), Effect.intoDeferred(outcome), Effect.ensuring(slots.release(1)), Effect.forkIn(scope))
          }
          yield* Queue.offer(queue, { _tag: "Blob", outcome })
        }),
      ),
      Effect.either,
      Effect.flatMap((r) =>
        // the uploads still running finish before the end is announced (a parent's end would interrupt them)
        slots.take(settings.blobsInFlight).pipe(
          Effect.zipRight(
            Queue.offer(
              queue,
              Either.isRight(r)
                ? { _tag: "End" }
                : r.left._tag === "InvalidInput"
                  ? { _tag: "End", status: "ManifestFormatInvalid", problem: `${check.manifest} changed while it was imported: ${r.left.message.split("\n")[0]}` }
                  : { _tag: "End", status: "ReadManifestFailed", problem: r.left.message },
            ),
          ),
        ),
      ),
    )
    yield* Effect.forkScoped(producer)

    let end: Extract<Item, { _tag: "End" }> | undefined
    const outcomes = Stream.repeatEffectOption(
      Queue.take(queue).pipe(
        Effect.flatMap((item) => {
          if (item._tag === "End") {
            end = item
            return Effect.fail(Option.none())
          }
          return Deferred.await(item.outcome)
        }),
      ),
    )
    return { outcomes, end: () => end }
  })

/**
 * Import one drive: check it, run its blobs, write and upload its copy logs. Fails only when the
 * logs cannot be written locally (or the drive's files fail in a way no status covers).
 */
export const importDrive = (
  root: string,
  info: DriveInfo | undefined,
  identity: DriveIdentity,
  options: ImportOptions,
): Effect.Effect<DriveResult, FileUnwritable | FileUnreadable, FileSystem.FileSystem | BlobStore> =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* BlobStore
      const settings = options.settings ?? defaultImportSettings
      const location = options.location ?? defaultCopyLogLocation
      const time = new Date(yield* Clock.currentTimeMillis)
      const check = yield* checkDrive(root, info, identity)
      const tally = new CopyLogTally()
      const counted = <E, R>(s: Stream.Stream<CopyLogEvent, E, R>) => s.pipe(Stream.tap((e) => Effect.sync(() => tally.add(e))))
      const target = { job: options.job, driveId: check.driveId, time, logDir: options.logDir, location }
      const head: Array<CopyLogEvent> = [{ _tag: "LogStart", version: "2014-11-01" }, { _tag: "DriveId", value: check.driveId }]
      const tail = (status: DriveStatus): Array<CopyLogEvent> => [{ _tag: "DriveStatus", status }, { _tag: "LogEnd" }]

      const publish = (logs: CopyLogFiles) => uploadCopyLogs(logs, location).pipe(Effect.provideService(BlobStore, store), Effect.either)

      if (!check.ok) {
        const logs = yield* writeCopyLogs(target, counted(Stream.fromIterable([...head, ...tail(check.status)])))
        const up = yield* publish(logs)
        return {
          root,
          driveId: check.driveId,
          status: check.status,
          problem: check.problem,
          issues: check.issues,
          notes: check.notes,
          summary: tally.summary(),
          logs,
          ...(Either.isLeft(up) ? { uploadError: up.left } : {}),
          unreachable: false,
          maxBuffers: 0,
        }
      }

      const ctx: ImportContext = {
        store,
        root,
        settings,
        pool: new BufferPool(settings.rangesInFlight),
        // the drive's own pool: its workers start with the first large range, end with the drive
        md5: rangeHasher(settings.hashInWorkers === false ? undefined : yield* makeHashPool()),
        breaker: new Breaker(settings),
        files: new BlobFiles(root),
        containers: new Set(),
        claims: new Map(),
        claimLog: new ClaimLog(),
      }
      const run = yield* runBlobs(ctx, check)
      let failed = 0
      let warned = 0
      const blobs = run.outcomes.pipe(
        Stream.tap((o) =>
          Effect.gen(function* () {
            if (isFailed(o)) failed++
            else if (isWarning(o)) warned++
            if (options.onBlob) yield* options.onBlob(check.driveId, o)
          }),
        ),
        Stream.mapConcat(blobEvents),
      )
      let status: DriveStatus = "Completed"
      let problem: string | undefined
      const closing = Stream.suspend(() => {
        const end = run.end()
        if (end?.status !== undefined) {
          status = end.status
          problem = end.problem
        } else if (ctx.breaker.forbiddenBlobs > 0 && !ctx.breaker.anySuccess) {
          status = "BlobRequestForbidden"
          problem = "every request was refused (403): the credentials do not give access to the blobs"
        } else status = failed > 0 ? "CompletedWithErrors" : warned > 0 ? "CompletedWithWarnings" : "Completed"
        return Stream.fromIterable(tail(status))
      })
      const logs = yield* writeCopyLogs(target, counted(Stream.concat(Stream.concat(Stream.fromIterable(head), blobs), closing)))
      const up = yield* publish(logs)
      return {
        root,
        driveId: check.driveId,
        status,
        manifest: { file: check.manifest, manifestFile: check.manifestFile, hash: check.hash },
        ...(problem !== undefined ? { problem } : {}),
        issues: [],
        notes: check.notes,
        summary: tally.summary(),
        logs,
        ...(Either.isLeft(up) ? { uploadError: up.left } : {}),
        unreachable: ctx.breaker.unreachable,
        maxBuffers: ctx.pool.maxInUse,
      }
    }),
  )

