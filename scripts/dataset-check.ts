#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie dataset check FILE [--mount L=/path ...]`: read a dataset CSV, list what each row will
 * copy where, and report every problem of the file. Only the file is checked: the sources it
 * names are not opened (PrepImport does that).
 */
import { Effect, Stream } from "effect"
import { type CommandSpec, optionValues, runIfMain } from "../lib/cli.ts"
import { type DatasetRow, readDatasetFile } from "../lib/dataset.ts"
import { ExitCode, InvalidArgument } from "../lib/errors.ts"
import { plural, printIssues, verdict as verdictLine } from "../lib/output.ts"
import { type MountEntry, makeMountMap, parseMount, type SourcePath } from "../lib/paths.ts"

const shownPath = (p: SourcePath): string => (p.local === p.raw ? p.raw : `${p.raw} (${p.local})`)

const typeText = (row: DatasetRow): string => {
  if (row.kind === "directory") return row.blobType === "auto" ? "BlockBlob (PageBlob for .vhd/.vhdx)" : row.blobType
  return row.blobTypeFrom === "extension" ? `${row.blobType} (by extension)` : row.blobType
}

const humanRow = (row: DatasetRow): string => {
  const what = row.kind === "directory" ? `directory ${shownPath(row.source)} -> blobs under ${row.prefix}` : `file ${shownPath(row.source)} -> blob ${row.blobPath}`
  let text = `line ${row.line}: ${what}, ${typeText(row)}, ${row.disposition}`
  if (row.metadataFile) text += `, metadata ${shownPath(row.metadataFile)}`
  if (row.propertiesFile) text += `, properties ${shownPath(row.propertiesFile)}`
  return text
}

const sourceJson = (p: SourcePath | undefined): Record<string, unknown> | null => (p ? { raw: p.raw, local: p.local } : null)

const jsonRow = (row: DatasetRow): Record<string, unknown> => ({
  line: row.line,
  kind: row.kind,
  basePath: row.source.raw,
  local: row.source.local,
  destination: row.raw.destination,
  ...(row.kind === "directory" ? { prefix: row.prefix } : { blobPath: row.blobPath, blobTypeFrom: row.blobTypeFrom }),
  container: row.container,
  account: row.account ?? null,
  blobType: row.blobType,
  disposition: row.disposition,
  metadataFile: sourceJson(row.metadataFile),
  propertiesFile: sourceJson(row.propertiesFile),
})

export const command: CommandSpec = {
  path: ["dataset", "check"],
  summary: "check a dataset CSV: its columns and every row (the file only; the sources are not opened)",
  options: [
    {
      name: "mount",
      takes: "values",
      placeholder: "L=/path",
      description: "where a Windows drive or share of the dataset is on this host: F=/mnt/f or '\\\\server\\share=/mnt/s' (repeatable)",
    },
  ],
  args: [{ name: "file", description: "the dataset CSV file" }],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const entries: Array<MountEntry> = []
      for (const value of optionValues(parsed, "mount")) {
        const m = parseMount(value)
        if ("expected" in m) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: m.expected, found: m.found }))
        entries.push(m)
      }
      const mounts = makeMountMap(entries, ctx.resolve)
      if ("expected" in mounts) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: mounts.expected, found: mounts.found }))
      const shown = parsed.args[0]!
      const reading = readDatasetFile(ctx.resolve(shown), shown, { mounts })
      yield* Stream.runForEach(reading.rows, (row) => Effect.sync(() => ctx.out.event("row", jsonRow(row), humanRow(row))))
      const report = reading.report()
      printIssues(ctx, "dataset", report.issues)
      const ok = report.errors === 0
      if (report.duplicateCheckLimit !== undefined) ctx.out.note(`note: duplicate destinations were looked for among the first ${report.duplicateCheckLimit} rows only`)
      let verdict = verdictLine(shown, report, `${plural(report.rows, "row")} (${plural(report.files, "file")}, ${plural(report.directories, "directory", "directories")})`)
      if (ok && report.account !== undefined) verdict += `, storage account ${report.account}`
      ctx.out.event(
        "result",
        {
          ok,
          file: shown,
          rows: report.rows,
          files: report.files,
          directories: report.directories,
          errors: report.errors,
          warnings: report.warnings,
          omitted: report.omitted,
          account: report.account ?? null,
        },
        verdict,
      )
      return ok ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
