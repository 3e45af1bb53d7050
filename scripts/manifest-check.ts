#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie manifest check FILE [--export]`: every rule violation of a drive manifest, its figures and its hash. */
import { Effect } from "effect"
import { type CommandSpec, flag, runIfMain } from "../lib/cli.ts"
import { InvalidInput } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { checkManifest } from "../lib/manifest-check.ts"
import { reportSummary } from "../lib/manifest-report.ts"
import { printIssues } from "../lib/output.ts"

export const command: CommandSpec = {
  path: ["manifest", "check"],
  summary: "check a drive manifest (DriveManifest XML) against the format's rules; give its hash",
  options: [{ name: "export", takes: "flag", description: "an export drive's manifest: no credential, no ImportDisposition" }],
  args: [{ name: "file", description: "the manifest file" }],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const report = yield* checkManifest(shown, fileBytes(ctx.resolve(shown), shown), { purpose: flag(parsed, "export") ? "export" : "import" })
      const { data, human } = reportSummary(shown, report)
      ctx.out.event("manifest", data, human)
      if (!report.ok) {
        return yield* Effect.fail(new InvalidInput({ format: "manifest", file: shown, issues: report.issues, ...(report.omitted > 0 ? { omitted: report.omitted } : {}) }))
      }
      // valid, perhaps with warnings: they go where the framework puts issues
      printIssues(ctx, "manifest", report.issues)
      return 0
    }),
}

runIfMain(import.meta, command)
