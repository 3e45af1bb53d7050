#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie RepairExport /r:REPAIRFILE /d:DRIVE /CopyLogFile:LOG [/ManifestFile:MANIFEST] /sn: /sk:|/csas:`
 * (also `--repair-file`, `--drive`, `--copy-log-file`, `--manifest-file` and the storage
 * options): downloads again what the copy log (and the manifest) says is missing or wrong on an
 * export drive (README "RepairExport").
 */
import { Effect, Layer } from "effect"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { ExitCode, UsageError } from "../lib/errors.ts"
import { plural } from "../lib/output.ts"
import { runRepairExport } from "../lib/repair/export.ts"
import { RepairUnfinished } from "../lib/repair/errors.ts"
import { blobLine, catchRepairErrors, passSummary, requireCredentials } from "../lib/repair/output.ts"
import { blobStoreLayer, parseStorageCredentials, storageOptions } from "../lib/storage-credentials.ts"
import { VolumesLive } from "../lib/volumes.ts"

const name = "RepairExport"

export const command: CommandSpec = {
  path: ["repair-export"],
  aliases: [["RepairExport"]],
  summary: "download again the files of an export drive that its copy log (and manifest) says are missing or wrong",
  args: [],
  options: [
    { name: "repair-file", aliases: ["r", "RepairFile"], takes: "value", placeholder: "FILE", description: "the repair's progress file: a new one starts a repair, an existing one resumes it (one per drive)" },
    { name: "drive", aliases: ["d", "target-directories"], takes: "value", placeholder: "DIR", description: "the export drive's root folder (or a copy of it)" },
    { name: "copy-log-file", aliases: ["CopyLogFile", "copy-log"], takes: "value", placeholder: "FILE", description: "the drive's copy log (verbose or error)" },
    { name: "manifest-file", aliases: ["ManifestFile"], takes: "value", placeholder: "FILE", description: "the drive's manifest: also check every block, page range, metadata and properties file of every blob on the drive" },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "accepted for the original tool's syntax; waie writes no log there (the repair file and --json are the record)" },
    ...storageOptions.filter((o) => o.name !== "azurite-dir"),
  ],
  exitCodes: [
    [1, "the copy log, the drive, the manifest or the repair file refuse the repair (another drive's, another log's, an import log): nothing was changed"],
    [6, "some blobs could not be repaired yet (no longer in storage, changed during the repair): run again"],
  ],
  run: (parsed, ctx) =>
    catchRepairErrors(
      ctx,
      Effect.gen(function* () {
        const repairFile = optionValue(parsed, "repair-file")
        const drive = optionValue(parsed, "drive")
        const log = optionValue(parsed, "copy-log-file")
        const missing = [repairFile === undefined ? "/r:FILE (--repair-file)" : "", drive === undefined ? "/d:DIR (--drive)" : "", log === undefined ? "/CopyLogFile:FILE (--copy-log-file)" : ""].filter((s) => s !== "")
        if (missing.length > 0) return yield* Effect.fail(new UsageError({ command: name, message: `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} required` }))
        if (drive!.includes(";")) return yield* Effect.fail(new UsageError({ command: name, message: `/d: takes one folder for RepairExport (the drive's root), found ${JSON.stringify(drive)}` }))
        const credentials = yield* requireCredentials(parseStorageCredentials(parsed, process.env, name), name)
        const manifest = optionValue(parsed, "manifest-file")
        const given = (p: string) => ({ real: ctx.resolve(p), shown: p })
        const report = yield* runRepairExport(
          { repairFile: given(repairFile!), drive: given(drive!), copyLog: given(log!), ...(manifest !== undefined ? { manifest: given(manifest) } : {}) },
          { blob: (b) => blobLine(ctx, b) },
        ).pipe(Effect.provide(Layer.mergeAll(blobStoreLayer(credentials, { out: ctx.out }), VolumesLive)))
        for (const n of report.notes) ctx.out.note(n)
        const data = {
          kind: name,
          repairFile: report.repairFile,
          driveId: report.driveId,
          pass: report.pass,
          repaired: report.repaired,
          unresolved: report.unresolved,
          rewritten: report.rewritten,
          intact: report.intact,
          alreadyFinished: report.alreadyFinished,
          finished: report.finished,
        }
        if (report.alreadyFinished) ctx.out.event("repair", data, `the repair in ${report.repairFile} is finished: nothing to do`)
        else {
          const sweep = manifest !== undefined ? `; the manifest's sweep found ${plural(report.intact, "blob")} intact` : ""
          ctx.out.event("repair", data, `RepairExport of drive ${report.driveId}: ${plural(report.rewritten, "blob")} written in this run${sweep}\n${passSummary(report)}`)
        }
        if (report.unresolved > 0) return yield* Effect.fail(new RepairUnfinished({ kind: name, unresolved: report.unresolved, repairFile: report.repairFile }))
        return ExitCode.Ok
      }),
    ),
}

runIfMain(import.meta, command)
