#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie PreviewExport /sn:ACCOUNT /sk:KEY|/csas:SAS /ExportBlobListFile:FILE /DriveSize:SIZE`
 * (also `--blob-list`, `--drive-size` and the storage options): how many drives of that size
 * an export of the blob list needs, and what each would hold (README "PreviewExport").
 */
import { Effect, Either, Stream } from "effect"
import { readBlobListFile } from "../lib/bloblist.ts"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { parseDriveSize } from "../lib/drive-size.ts"
import { ExitCode, UsageError } from "../lib/errors.ts"
import { previewDetails, previewExport, previewText } from "../lib/preview-export.ts"
import { blobStoreLayer, parseStorageCredentials, storageOptions } from "../lib/storage-credentials.ts"

const name = "PreviewExport"

export const command: CommandSpec = {
  path: ["preview-export"],
  aliases: [["PreviewExport"]],
  summary: "how many drives of a given size an export blob list needs, and what each holds (nothing is copied)",
  args: [],
  options: [
    { name: "blob-list", aliases: ["ExportBlobListFile", "export-blob-list-file"], takes: "value", placeholder: "FILE", description: "the export blob list (<BlobList> of BlobPath and BlobPathPrefix)" },
    { name: "drive-size", aliases: ["DriveSize"], takes: "value", placeholder: "SIZE", description: "the free space of one drive once formatted: 500GB, 500 GB, 1.5TB (1 GB = 10^9 bytes)" },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "accepted for the original tool's syntax; PreviewExport writes no file" },
    ...storageOptions,
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const list = optionValue(parsed, "blob-list")
      if (list === undefined) return yield* Effect.fail(new UsageError({ command: name, message: "/ExportBlobListFile:FILE (--blob-list) is required" }))
      const sizeText = optionValue(parsed, "drive-size")
      if (sizeText === undefined) return yield* Effect.fail(new UsageError({ command: name, message: "/DriveSize:SIZE (--drive-size) is required, e.g. /DriveSize:500GB" }))
      const size = parseDriveSize(sizeText)
      if (Either.isLeft(size)) return yield* Effect.fail(size.left)
      const credentials = parseStorageCredentials(parsed, process.env, name)
      if (credentials instanceof UsageError) return yield* Effect.fail(credentials)
      // the list first: a malformed one is refused before any endpoint is asked
      const items = Array.from(yield* Stream.runCollect(readBlobListFile(ctx.resolve(list), list)))
      const azuriteDir = optionValue(parsed, "azurite-dir")
      const out = ctx.out
      const report = yield* previewExport(
        items,
        size.right,
        out.json ? { blob: (b) => out.event("blob", { blobPath: b.blobPath, length: b.length, footprint: b.footprint, drive: b.drive ?? null, ...(b.reason !== undefined ? { reason: b.reason } : {}) }) } : {},
      ).pipe(Effect.provide(blobStoreLayer(credentials, { out, ...(azuriteDir !== undefined ? { azuriteDir: ctx.resolve(azuriteDir) } : {}) })))
      if (out.json) {
        const c = report.counts
        for (const d of report.drives) out.event("drive", { ...d })
        out.event("preview", {
          unique: c.unique,
          duplicate: c.duplicate,
          nonexistent: c.nonexistent,
          nonexistentEntries: c.nonexistentEntries.map((i) => ({ line: i.line, ...i.entry })),
          driveSize: report.driveSize,
          reservePerDrive: report.reserveBytes,
          blobs: c.blobs,
          bytes: c.bytes,
          exportable: report.exportable,
          exportableBytes: report.exportableBytes,
          cannotExport: report.cannotExport.blobs,
          cannotExportBytes: report.cannotExport.bytes,
          drivesNeeded: report.drives.length,
        })
      } else {
        ctx.io.stdout(previewText(report))
        const details = previewDetails(report)
        if (details !== "") ctx.io.stderr(details)
      }
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
