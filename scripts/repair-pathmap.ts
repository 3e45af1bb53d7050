#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie repair pathmap FILE`: a RepairImport path map file (`/PathMapFile:`) read as RepairImport
 * reads it: each entry, whether its target is filled in, and every bad line (exit 1).
 */
import { Effect } from "effect"
import { type CommandSpec, runIfMain } from "../lib/cli.ts"
import { ExitCode } from "../lib/errors.ts"
import { readWhole } from "../lib/files.ts"
import { parsePathMap } from "../lib/pathmap.ts"
import { InvalidInput } from "../lib/errors.ts"

export const command: CommandSpec = {
  path: ["repair", "pathmap"],
  summary: "check a RepairImport path map file and list its entries (FilePath, then the local file the user gave, or none yet)",
  args: [{ name: "file", description: "the path map file (/PathMapFile:)" }],
  options: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const bytes = yield* readWhole(ctx.resolve(shown), shown)
      const entries = parsePathMap(new TextDecoder("utf-8").decode(bytes), shown)
      if (entries instanceof InvalidInput) return yield* Effect.fail(entries)
      const filled = entries.filter((e) => e.target !== undefined).length
      for (const e of entries) {
        ctx.out.event("entry", { line: e.line, filePath: e.filePath, target: e.target ?? null }, `line ${e.line}: ${e.filePath} -> ${e.target ?? "(no target yet: type the file's full path after the TAB)"}`)
      }
      ctx.out.event("pathMap", { entries: entries.length, filled, waiting: entries.length - filled }, `${shown}: ${entries.length} entr${entries.length === 1 ? "y" : "ies"}, ${filled} with a target, ${entries.length - filled} waiting for one`)
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
