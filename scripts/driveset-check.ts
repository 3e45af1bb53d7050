#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie driveset check FILE`: read a driveset CSV (/InitialDriveSet, /AdditionalDriveSet), list
 * what will be done to each drive, and report every problem of the file. Only the file is
 * checked: the drives are not looked at.
 */
import { Effect, Stream } from "effect"
import { type CommandSpec, runIfMain } from "../lib/cli.ts"
import { type DrivesetRow, keyMask, readDrivesetFile } from "../lib/driveset.ts"
import { ExitCode } from "../lib/errors.ts"
import { plural, printIssues, verdict } from "../lib/output.ts"

const humanRow = (row: DrivesetRow): string => {
  const format =
    row.format === "AlreadyFormatted"
      ? "keep its data (AlreadyFormatted)"
      : row.prompt === "SilentMode"
        ? "format it without asking (Format, SilentMode)"
        : "format it after asking for confirmation (Format, PromptOnFormat)"
  const encryption =
    row.encryption === "Encrypt" ? "encrypt it with BitLocker and a new recovery key (Encrypt)" : `unlock it with its BitLocker recovery key ${keyMask} (AlreadyEncrypted)`
  const name = row.drive.kind === "letter" ? row.drive.letter : row.drive.path
  return `line ${row.line}: drive ${name}: ${format}; ${encryption}`
}

const jsonRow = (row: DrivesetRow): Record<string, unknown> => ({
  line: row.line,
  drive: row.drive.kind === "letter" ? row.drive.letter : row.drive.path,
  driveKind: row.drive.kind,
  formatOption: row.format,
  silentOrPromptOnFormat: row.prompt,
  encryption: row.encryption,
  existingBitLockerKey: row.key ? keyMask : null,
})

export const command: CommandSpec = {
  path: ["driveset", "check"],
  summary: "check a driveset CSV: its columns and every drive's options (the file only; the drives are not touched)",
  options: [],
  args: [{ name: "file", description: "the driveset CSV file" }],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const reading = readDrivesetFile(ctx.resolve(shown), shown)
      yield* Stream.runForEach(reading.rows, (row) => Effect.sync(() => ctx.out.event("row", jsonRow(row), humanRow(row))))
      const report = reading.report()
      printIssues(ctx, "driveset", report.issues)
      const ok = report.errors === 0
      ctx.out.event("result", { ok, file: shown, drives: report.drives, errors: report.errors, warnings: report.warnings, omitted: report.omitted }, verdict(shown, report, plural(report.drives, "drive")))
      return ok ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
