#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie service import --drive DIR… [--drive-info FILE…] [--job NAME] [--logdir D] <storage options>`:
 * what the Import/Export service does with the drives of an import job, against any Blob endpoint
 * (a connection string, an account and key, a SAS, or — with none — an azurite waie starts).
 * Each drive gets its verbose and error copy logs, in the log folder and in storage.
 *
 * Exit codes (README "service import"): 0 every drive Completed or CompletedWithWarnings; 6 some
 * blob failed (the error logs say which); 1 a drive was refused at drive level (its manifest
 * missing, malformed, another drive's, not the job file's); 3 storage could not be used (not
 * reachable, refused every request, or the copy logs could not be uploaded); 2 the command line.
 * When several apply, the first of 3, 1, 6.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Layer } from "effect"
import { type CommandSpec, type Context, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { blobFailures, type BlobRecord, describeFailures, statusMeaning } from "../lib/copylog.ts"
import { ExitCode, formatIssue, UsageError } from "../lib/errors.ts"
import { unwritable } from "../lib/files.ts"
import { plural } from "../lib/output.ts"
import { BlobStore } from "../lib/storage.ts"
import { blobStoreLayer, parseStorageCredentials, type StorageCredentials, storageOptions } from "../lib/storage-credentials.ts"
import { VolumesLive } from "../lib/volumes.ts"
import { type CopyLogLocation, defaultCopyLogLocation } from "../lib/service/copylog-output.ts"
import { type DriveIdentity, driveIdentity } from "../lib/service/drive-check.ts"
import { type DriveInfo, readDriveInfo } from "../lib/service/drive-info.ts"
import { type DriveResult, importDrive } from "../lib/service/import.ts"
import type { BlobOutcome } from "../lib/service/import-blob.ts"

const name = "service import"

/** The job name in the copy logs' names when --job is not given. */
export const defaultJob = "waie-import"

/** Failed blobs listed per drive in human output (JSON lists every blob). */
const maxListed = 20

/**
 * Where the copy logs go: `waimportexport/waies/` with an account key (the service's default);
 * with a container SAS, the virtual folder `waimportexport/waies/` of that container (formats.md §1.1).
 */
export const copyLogLocationFor = (c: StorageCredentials | undefined): CopyLogLocation =>
  c?.kind === "sas" && c.container !== undefined ? { container: c.container, prefix: `${defaultCopyLogLocation.container}/${defaultCopyLogLocation.prefix}` } : defaultCopyLogLocation

const recordOf = (o: BlobOutcome): BlobRecord => ({ ...o.start, ranges: o.ranges, ...(o.metadata ? { metadata: o.metadata } : {}), ...(o.properties ? { properties: o.properties } : {}) })

const isFailed = (o: BlobOutcome): boolean => describeFailures(blobFailures(recordOf(o))) !== ""

const counts = (r: Readonly<Record<string, number>>): string =>
  Object.entries(r)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ")

const rangeCounts = (o: BlobOutcome): Record<string, number> => {
  const c: Record<string, number> = {}
  for (const r of o.ranges) c[r.status] = (c[r.status] ?? 0) + 1
  return c
}

const blobEvent = (drive: string, driveId: string, o: BlobOutcome): Record<string, unknown> => ({
  drive,
  driveId,
  blobPath: o.start.blobPath,
  ...(o.start.blobPath !== o.job.blobPath ? { manifestBlobPath: o.job.blobPath } : {}),
  filePath: o.start.filePath,
  length: o.start.length,
  status: o.start.status,
  disposition: o.start.importDisposition?.value,
  dispositionStatus: o.start.importDisposition?.status,
  ranges: rangeCounts(o),
  ...(o.metadata ? { metadata: o.metadata.status } : {}),
  ...(o.properties ? { properties: o.properties.status } : {}),
  ...(o.problems.length > 0 ? { problems: o.problems } : {}),
})

/** Statuses of a drive that the executor reached the blobs of. */
const ranBlobs = (s: string): boolean => s === "Completed" || s === "CompletedWithWarnings" || s === "CompletedWithErrors"

/** 3 storage, 1 a drive refused, 6 a blob failed, 0 fine. */
export const exitCodeOf = (drives: ReadonlyArray<DriveResult>): number => {
  if (drives.some((d) => d.uploadError !== undefined || d.unreachable || d.status === "BlobRequestForbidden")) return ExitCode.Io
  if (drives.some((d) => !ranBlobs(d.status))) return ExitCode.Invalid
  if (drives.some((d) => d.status === "CompletedWithErrors")) return ExitCode.BlobsFailed
  return ExitCode.Ok
}

const driveLines = (shown: string, d: DriveResult, failed: ReadonlyArray<BlobOutcome>, failedCount: number, location: CopyLogLocation): Array<string> => {
  const s = d.summary
  const lines = [`drive ${shown} (DriveId ${d.driveId}): ${d.status} (${statusMeaning[d.status] ?? "?"})`]
  if (d.problem !== undefined) lines.push(`  ${d.problem}`)
  for (const i of d.issues) lines.push(`  ${formatIssue(i)}`)
  for (const n of d.notes) lines.push(`  note: ${n}`)
  if (d.manifest) lines.push(`  manifest ${d.manifest.file} (${d.manifest.manifestFile}, MD5 ${d.manifest.hash})`)
  if (ranBlobs(d.status) || s.blobs > 0) {
    lines.push(`  blobs: ${s.blobs}${s.blobs > 0 ? ` (${plural(s.bytes, "byte")}): ${counts(s.blobStatus)}` : ""}`)
    if (Object.keys(s.dispositionStatus).length) lines.push(`  dispositions: ${counts(s.dispositionStatus)}`)
    if (s.blocks > 0 || s.pageRanges > 0) {
      const what = [s.blocks > 0 ? plural(s.blocks, "block") : "", s.pageRanges > 0 ? plural(s.pageRanges, "page range") : ""].filter((x) => x).join(" and ")
      lines.push(`  ranges: ${what}: ${counts(s.rangeStatus)}`)
    }
    if (Object.keys(s.metadataStatus).length) lines.push(`  metadata: ${counts(s.metadataStatus)}`)
    if (Object.keys(s.propertiesStatus).length) lines.push(`  properties: ${counts(s.propertiesStatus)}`)
    for (const o of failed) lines.push(`  failed: ${o.start.blobPath} (file ${o.start.filePath}): ${describeFailures(blobFailures(recordOf(o)))}${o.problems[0] !== undefined ? ` — ${o.problems[0]}` : ""}`)
    if (failedCount > failed.length) lines.push(`  … and ${failedCount - failed.length} more failed blobs (the error log lists them all)`)
  }
  if (d.unreachable) lines.push("  storage could not be reached blob after blob: the rest of the drive was not attempted")
  lines.push(`  copy logs ${d.logs.verbose.file}`)
  lines.push(`            ${d.logs.error.file}`)
  lines.push(d.uploadError === undefined ? `  uploaded to ${location.container}/${location.prefix}` : `  NOT uploaded: ${d.uploadError.message}`)
  return lines
}

export const command: CommandSpec = {
  path: ["service", "import"],
  summary: "rehearse an import job: what the datacenter does with prepared drives, against a Blob endpoint, with the copy logs",
  args: [],
  options: [
    { name: "drive", takes: "values", placeholder: "DIR", description: "a prepared drive: the folder it is mounted on (repeatable; imported in the order given)" },
    { name: "drive-info", takes: "values", placeholder: "FILE", description: "a drive's job file <DriveId>.xml (PrepImport writes it beside the journal): where its manifest is and the MD5 it must have (repeatable; matched to the drives by DriveId)" },
    { name: "job", takes: "value", placeholder: "NAME", description: `the job name in the copy logs' names (default ${defaultJob})` },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "where the copy logs are written (default: the current folder)" },
    ...storageOptions,
  ],
  exitCodes: [
    [1, "a drive was refused at drive level (no manifest, malformed, another drive's, not the job file's): its copy logs say which"],
    [3, "storage could not be used (unreachable, every request refused, or the copy logs not uploaded)"],
    [6, "some blobs failed (corrupted, missing or short files, refused requests): the error copy logs say which"],
  ],
  run: (parsed, ctx) => run(parsed, ctx),
}

const usage = (message: string) => Effect.fail(new UsageError({ command: name, message }))

const run = (parsed: Parameters<CommandSpec["run"]>[0], ctx: Context) =>
  Effect.gen(function* () {
    const drives = optionValues(parsed, "drive")
    if (drives.length === 0) return yield* usage("give at least one --drive DIR")
    const credentials = parseStorageCredentials(parsed, process.env, name)
    if (credentials instanceof UsageError) return yield* Effect.fail(credentials)
    const job = optionValue(parsed, "job") ?? defaultJob
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(job)) return yield* usage(`--job: expected letters, digits and '-' (a job name; it goes into blob names), found ${JSON.stringify(job)}`)
    const logDir = ctx.resolve(optionValue(parsed, "logdir") ?? ".")
    const azuriteDir = optionValue(parsed, "azurite-dir")
    const location = copyLogLocationFor(credentials)
    const out = ctx.out

    const infos: Array<DriveInfo> = []
    for (const f of optionValues(parsed, "drive-info")) infos.push(yield* readDriveInfo(ctx.resolve(f), f))

    const identities: Array<DriveIdentity> = yield* Effect.forEach(drives, (d) => driveIdentity(ctx.resolve(d))).pipe(Effect.provide(VolumesLive))
    const seen = new Map<string, string>()
    for (const [i, id] of identities.entries()) {
      if (id.driveId === undefined) continue
      const other = seen.get(id.driveId)
      if (other !== undefined) return yield* usage(`--drive ${drives[i]} and --drive ${other} are the same drive (DriveId ${id.driveId})`)
      seen.set(id.driveId, drives[i]!)
    }
    const infoOf = new Map<string, DriveInfo>()
    for (const info of infos) {
      if (infoOf.has(info.driveId)) return yield* usage(`two --drive-info files name drive ${info.driveId}`)
      if (!seen.has(info.driveId)) {
        const known = [...seen.keys()]
        return yield* usage(`--drive-info ${info.file} is the job file of drive ${info.driveId}, which is none of the drives given (${known.length ? known.join(", ") : "none has an identity: no waie-drive.json, no device serial"})`)
      }
      infoOf.set(info.driveId, info)
    }

    // the copy logs are written after a drive's blobs: their folder must be there before any blob is
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(logDir, { recursive: true }).pipe(Effect.mapError(unwritable(optionValue(parsed, "logdir") ?? ".")))

    const program = Effect.gen(function* () {
      const store = yield* BlobStore
      // storage must be usable before any drive is touched: the copy logs go there
      yield* store.ensureContainer(location.container)
      const results: Array<DriveResult> = []
      for (const [i, shown] of drives.entries()) {
        const identity = identities[i]!
        const failed: Array<BlobOutcome> = []
        let failedCount = 0
        const result = yield* importDrive(ctx.resolve(shown), identity.driveId !== undefined ? infoOf.get(identity.driveId) : undefined, identity, {
          job,
          logDir,
          location,
          onBlob: (driveId, o) =>
            Effect.sync(() => {
              if (out.json) out.event("blob", blobEvent(shown, driveId, o))
              else if (isFailed(o)) {
                failedCount++
                if (failed.length < maxListed) failed.push(o)
              }
            }),
        })
        results.push(result)
        if (out.json) {
          out.event("drive", {
            drive: shown,
            root: result.root,
            driveId: result.driveId,
            status: result.status,
            ...(result.problem !== undefined ? { problem: result.problem } : {}),
            ...(result.issues.length > 0 ? { issues: result.issues } : {}),
            ...(result.notes.length > 0 ? { notes: result.notes } : {}),
            ...(result.manifest ? { manifest: result.manifest.file, manifestHash: result.manifest.hash } : {}),
            blobs: result.summary.blobs,
            bytes: result.summary.bytes,
            blobStatus: result.summary.blobStatus,
            dispositionStatus: result.summary.dispositionStatus,
            rangeStatus: result.summary.rangeStatus,
            failedBlobs: result.summary.failedBlobs,
            verboseLog: result.logs.verbose.file,
            errorLog: result.logs.error.file,
            verboseLogBlob: result.logs.verbose.blobPath,
            errorLogBlob: result.logs.error.blobPath,
            uploaded: result.uploadError === undefined,
            ...(result.uploadError !== undefined ? { uploadError: result.uploadError.message } : {}),
            ...(result.unreachable ? { unreachable: true } : {}),
          })
        } else ctx.io.stdout(driveLines(shown, result, failed, failedCount, location).join("\n") + "\n")
      }
      return results
    })
    const store = blobStoreLayer(credentials, { out, ...(azuriteDir !== undefined ? { azuriteDir: ctx.resolve(azuriteDir) } : {}) })
    const results = yield* program.pipe(Effect.provide(Layer.mergeAll(store, VolumesLive)))
    const code = exitCodeOf(results)
    if (out.json) out.event("import", { job, drives: results.length, statuses: results.map((r) => r.status), exitCode: code })
    return code
  })

runIfMain(import.meta, command)
