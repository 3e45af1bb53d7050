#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie service export --blob-list FILE --drive DIR… [--job NAME] [--logdir D] <storage options>`:
 * what the Import/Export service does for an export job, against any Blob endpoint (a
 * connection string, an account and key, a SAS, or — with none — an azurite waie starts).
 */
import { Effect, Layer } from "effect"
import { type CommandSpec, type Context, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { ExitCode, UsageError } from "../lib/errors.ts"
import { plural } from "../lib/output.ts"
import { blobStoreLayer, parseStorageCredentials, storageOptions } from "../lib/storage-credentials.ts"
import { VolumesLive } from "../lib/volumes.ts"
import { type DriveReport, defaultJob, type ExportReport, exportVerdict, runExport } from "../lib/service/export.ts"
import type { BlobOutcome } from "../lib/service/export-copy.ts"

const name = "service export"

/** Exit codes of the outcomes lib/cli.ts does not know. */
const exitCodes: Readonly<Record<string, number>> = { ExportDriveNotEmpty: ExitCode.Invalid, ExportDrivesFull: 5, ExportBlobsFailed: ExitCode.BlobsFailed }

const fail = (ctx: Context, e: { readonly _tag: string; readonly message: string }): number => {
  const code = exitCodes[e._tag]!
  if (ctx.out.json) ctx.io.stdout(JSON.stringify({ type: "error", exitCode: code, error: e._tag, message: e.message }) + "\n")
  else ctx.io.stderr(e.message + "\n")
  return code
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`

const driveLines = (d: DriveReport): Array<string> => [
  `drive ${d.drive} (DriveId ${d.driveId}): ${plural(d.blobs, "blob")}, ${mb(d.bytes)}${d.failed > 0 ? `, ${d.failed} failed` : ""}: ${d.status}`,
  `  manifest ${d.manifest.file} (ManifestHash ${d.manifest.hash})`,
  `  copy logs ${d.logs.verbose.file}, ${d.logs.error.file} (uploaded to ${d.logs.verbose.blobPath.replace(/[^/]*$/, "")})`,
]

const human = (r: ExportReport): string => {
  const c = r.counts
  const lines = [
    `blob list: ${plural(c.unique, "unique path/prefix", "unique paths/prefixes")}, ${c.duplicate} duplicate, ${c.nonexistent} nonexistent; ${plural(c.blobs, "blob")} selected (${mb(c.bytes)})`,
    ...c.nonexistentEntries.map((i) => `  nonexistent: line ${i.line}: ${i.entry.kind === "path" ? `BlobPath ${i.entry.path}` : `BlobPathPrefix ${i.entry.prefix}`}`),
    ...r.drives.flatMap(driveLines),
  ]
  if (r.tooBig.blobs > 0) {
    lines.push(`cannot be exported (too big for any drive, or for a manifest): ${plural(r.tooBig.blobs, "blob")} (${mb(r.tooBig.bytes)})`)
    for (const n of r.tooBig.first) lines.push(`  ${n.blobPath}: ${n.detail}`)
  }
  if (r.noRoom.blobs > 0) {
    lines.push(`not exported (the drives are full): ${plural(r.noRoom.blobs, "blob")} (${mb(r.noRoom.bytes)})${r.noRoom.blobList !== undefined ? `, listed in ${r.noRoom.blobList}` : ""}`)
    for (const n of r.noRoom.first) lines.push(`  ${n.blobPath} (${n.length} bytes)`)
  }
  for (const f of r.failed.first) lines.push(`failed: ${f.blobPath}: ${f.status}${f.problem !== undefined ? ` (${f.problem})` : ""}`)
  return lines.join("\n") + "\n"
}

const blobEvent = (drive: string, driveId: string, o: BlobOutcome) => ({
  drive,
  driveId,
  blobPath: o.blobPath,
  filePath: o.filePath,
  length: o.length,
  lastModified: o.lastModified,
  status: o.status,
  ...(o.problem !== undefined ? { problem: o.problem } : {}),
})

export const command: CommandSpec = {
  path: ["service", "export"],
  summary: "rehearse an export job: copy the blobs a blob list selects onto drives, with manifests and copy logs",
  args: [],
  options: [
    { name: "blob-list", aliases: ["ExportBlobListFile"], takes: "value", placeholder: "FILE", description: "the export blob list (<BlobList> of BlobPath and BlobPathPrefix)" },
    { name: "drive", takes: "values", placeholder: "DIR", description: "an empty folder to export onto, the mounted drive (repeatable; filled in the order given)" },
    { name: "job", takes: "value", placeholder: "NAME", description: `the job name in the copy logs' names (default ${defaultJob})` },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "where the copy logs are written (default: the current folder); never on a drive" },
    ...storageOptions,
  ],
  exitCodes: [
    [5, "some blobs fit on no drive: the drives are full (a blob list of them is written to the log folder)"],
    [6, "some blobs failed to export (changed during the copy, a failed request): the error copy logs say which"],
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const list = optionValue(parsed, "blob-list")
      if (list === undefined) return yield* Effect.fail(new UsageError({ command: name, message: "--blob-list FILE is required" }))
      const drives = optionValues(parsed, "drive")
      if (drives.length === 0) return yield* Effect.fail(new UsageError({ command: name, message: "give at least one --drive DIR" }))
      const credentials = parseStorageCredentials(parsed, process.env, name)
      if (credentials instanceof UsageError) return yield* Effect.fail(credentials)
      const logDir = optionValue(parsed, "logdir") ?? "."
      const azuriteDir = optionValue(parsed, "azurite-dir")
      const store = blobStoreLayer(credentials, { out: ctx.out, ...(azuriteDir !== undefined ? { azuriteDir: ctx.resolve(azuriteDir) } : {}) })
      const out = ctx.out
      const report = yield* runExport(
        {
          blobList: { real: ctx.resolve(list), shown: list },
          drives: drives.map((d) => ({ real: ctx.resolve(d), shown: d })),
          job: optionValue(parsed, "job") ?? defaultJob,
          logDir: { real: ctx.resolve(logDir), shown: logDir },
        },
        out.json
          ? {
              notExported: (n) => out.event("notExported", { ...n }),
              blob: (drive, driveId, o) => out.event("blob", blobEvent(drive, driveId, o)),
            }
          : {},
      ).pipe(Effect.provide(Layer.mergeAll(store, VolumesLive)))
      if (out.json) {
        const c = report.counts
        out.event("selection", { entries: c.entries, unique: c.unique, duplicate: c.duplicate, nonexistent: c.nonexistent, nonexistentEntries: c.nonexistentEntries.map((i) => ({ line: i.line, ...i.entry })), blobs: c.blobs, bytes: c.bytes })
        for (const d of report.drives) {
          out.event("drive", {
            drive: d.drive,
            root: d.root,
            driveId: d.driveId,
            blobs: d.blobs,
            bytes: d.bytes,
            failed: d.failed,
            status: d.status,
            freeBytes: d.freeBytes,
            footprint: d.footprint,
            manifest: d.manifest.file,
            manifestHash: d.manifest.hash,
            verboseLog: d.logs.verbose.file,
            errorLog: d.logs.error.file,
            verboseLogBlob: d.logs.verbose.blobPath,
            errorLogBlob: d.logs.error.blobPath,
          })
        }
        out.event("export", {
          job: report.job,
          drives: report.drives.length,
          exported: report.drives.reduce((n, d) => n + d.blobs - d.failed, 0),
          failed: report.failed.blobs,
          tooBig: report.tooBig.blobs,
          notExported: report.noRoom.blobs,
          ...(report.noRoom.blobList !== undefined ? { notExportedBlobList: report.noRoom.blobList } : {}),
        })
      } else ctx.io.stdout(human(report))
      const verdict = exportVerdict(report)
      return verdict === undefined ? ExitCode.Ok : fail(ctx, verdict)
    }).pipe(Effect.catchTag("ExportDriveNotEmpty", (e) => Effect.succeed(fail(ctx, e)))),
}

runIfMain(import.meta, command)
