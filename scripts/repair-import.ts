#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie RepairImport /r:REPAIRFILE /d:DIR1;DIR2 /CopyLogFile:LOG [/PathMapFile:MAP] /sn: /sk:|/csas:`
 * (also `--repair-file`, `--dir` (repeatable), `--copy-log-file`, `--path-map-file` and the
 * storage options): sends again what the copy log of an import drive says did not make it,
 * from local copies of the drive's files (README "RepairImport").
 */
import { Effect, Layer } from "effect"
import { type CommandSpec, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { ExitCode, UsageError } from "../lib/errors.ts"
import { RepairUnfinished } from "../lib/repair/errors.ts"
import { runRepairImport } from "../lib/repair/import.ts"
import { blobLine, catchRepairErrors, passSummary, requireCredentials } from "../lib/repair/output.ts"
import { blobStoreLayer, parseStorageCredentials, storageOptions } from "../lib/storage-credentials.ts"

const name = "RepairImport"

export const command: CommandSpec = {
  path: ["repair-import"],
  aliases: [["RepairImport"]],
  summary: "send again what an import drive's copy log says did not reach storage, from local copies of the drive's files",
  args: [],
  options: [
    { name: "repair-file", aliases: ["r", "RepairFile"], takes: "value", placeholder: "FILE", description: "the repair's progress file: a new one starts a repair, an existing one resumes it (one per drive)" },
    { name: "dir", aliases: ["d", "target-directories"], takes: "values", placeholder: "DIRS", description: "folders holding copies of the drive's files (FilePaths are looked up under each); ;-separated or repeated" },
    { name: "copy-log-file", aliases: ["CopyLogFile", "copy-log"], takes: "value", placeholder: "FILE", description: "the drive's copy log (the verbose one; an error log does for blobs whose blocks it lists)" },
    { name: "path-map-file", aliases: ["PathMapFile"], takes: "value", placeholder: "FILE", description: "the path map: FilePaths that could not be resolved are added with an empty target for you to fill in; filled targets are used" },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "accepted for the original tool's syntax; waie writes no log there (the repair file and --json are the record)" },
    ...storageOptions.filter((o) => o.name !== "azurite-dir"),
  ],
  exitCodes: [
    [1, "the copy log, a /d: folder, the path map or the repair file refuse the repair (another drive's, another log's, an export log): nothing was changed"],
    [6, "some blobs could not be repaired yet: their files were not found (or not once, or not with the logged bytes); see the path map"],
  ],
  run: (parsed, ctx) =>
    catchRepairErrors(
      ctx,
      Effect.gen(function* () {
        const repairFile = optionValue(parsed, "repair-file")
        const dirs = optionValues(parsed, "dir").flatMap((d) => d.split(";")).filter((d) => d !== "")
        const log = optionValue(parsed, "copy-log-file")
        const missing = [repairFile === undefined ? "/r:FILE (--repair-file)" : "", dirs.length === 0 ? "/d:DIR1;DIR2 (--dir)" : "", log === undefined ? "/CopyLogFile:FILE (--copy-log-file)" : ""].filter((s) => s !== "")
        if (missing.length > 0) return yield* Effect.fail(new UsageError({ command: name, message: `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} required` }))
        const credentials = yield* requireCredentials(parseStorageCredentials(parsed, process.env, name), name)
        const pathMap = optionValue(parsed, "path-map-file")
        const given = (p: string) => ({ real: ctx.resolve(p), shown: p })
        const report = yield* runRepairImport(
          { repairFile: given(repairFile!), dirs: dirs.map(given), copyLog: given(log!), ...(pathMap !== undefined ? { pathMap: given(pathMap) } : {}) },
          { blob: (b) => blobLine(ctx, b) },
        ).pipe(Effect.provide(Layer.mergeAll(blobStoreLayer(credentials, { out: ctx.out }))))
        for (const n of report.notes) ctx.out.note(n)
        const data = {
          kind: name,
          repairFile: report.repairFile,
          driveId: report.driveId,
          pass: report.pass,
          repaired: report.repaired,
          unresolved: report.unresolved,
          alreadyFinished: report.alreadyFinished,
          finished: report.finished,
          ...(report.pathMap !== undefined ? { pathMap: report.pathMap.file, pathMapAdded: report.pathMap.added, pathMapWaiting: report.pathMap.waiting } : {}),
        }
        const map = report.pathMap !== undefined && report.pathMap.added > 0 ? `\n${report.pathMap.added} FilePath${report.pathMap.added === 1 ? "" : "s"} added to the path map ${report.pathMap.file} with an empty target` : ""
        if (report.alreadyFinished) ctx.out.event("repair", data, `the repair in ${report.repairFile} is finished: nothing to do`)
        else ctx.out.event("repair", data, `RepairImport of drive ${report.driveId}: ${passSummary(report)}${map}`)
        if (report.unresolved > 0) return yield* Effect.fail(new RepairUnfinished({ kind: name, unresolved: report.unresolved, repairFile: report.repairFile, ...(report.pathMap !== undefined ? { pathMap: report.pathMap.file } : {}) }))
        return ExitCode.Ok
      }),
    ),
}

runIfMain(import.meta, command)
