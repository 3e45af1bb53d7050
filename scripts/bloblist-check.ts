#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie bloblist check FILE`: is the export blob list valid, and what does each entry select. */
import { Effect, Stream } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { runIfMain } from "../lib/cli.ts"
import { describeEntry, duplicateWarning, elementOf, readBlobListFile, valueOf } from "../lib/bloblist.ts"
import { ExitCode, type Issue, showValue } from "../lib/errors.ts"
import { plural, printIssues } from "../lib/output.ts"

/** Entries listed in human output; JSON lists them all. */
const maxListed = 1000

export const command: CommandSpec = {
  path: ["bloblist", "check"],
  summary: "check an export blob list (<BlobList> of BlobPath and BlobPathPrefix) and show what each entry selects",
  args: [{ name: "file", description: "the blob list (XML)" }],
  options: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      let paths = 0
      let prefixes = 0
      let duplicates = 0
      const lines: Array<string> = []
      const warnings: Array<Issue> = []
      yield* readBlobListFile(ctx.resolve(shown), shown).pipe(
        Stream.runForEach((item) =>
          Effect.sync(() => {
            const e = item.entry
            if (e.kind === "path") paths++
            else prefixes++
            if (item.duplicateOf !== undefined) {
              duplicates++
              warnings.push({ file: shown, ...duplicateWarning(item, item.duplicateOf) })
            }
            const data = { line: item.line, element: elementOf(e), value: valueOf(e), selects: describeEntry(e), ...(item.duplicateOf !== undefined ? { duplicateOf: item.duplicateOf } : {}) }
            if (ctx.out.json) ctx.out.event("entry", data)
            else if (lines.length < maxListed) lines.push(`  line ${item.line}: ${data.element} ${value(data.value)}: ${item.duplicateOf !== undefined ? `duplicate of line ${item.duplicateOf}` : data.selects}`)
          }),
        ),
      )
      printIssues(ctx, "bloblist", warnings)
      const entries = paths + prefixes
      if (ctx.out.json) {
        ctx.out.event("summary", { file: shown, valid: true, entries, blobPaths: paths, prefixes, duplicates })
        return ExitCode.Ok
      }
      const kinds = `${plural(paths, "blob path")}, ${plural(prefixes, "prefix", "prefixes")}`
      const head = `${shown}: valid blob list: ${plural(entries, "entry", "entries")} (${kinds})${duplicates ? `, ${plural(duplicates, "duplicate")}` : ""}`
      if (entries > lines.length) lines.push(`  … and ${entries - lines.length} more (--json lists them all)`)
      ctx.io.stdout([head, ...lines].join("\n") + "\n")
      return ExitCode.Ok
    }),
}

/** Show a value bare when it is plain, quoted when blanks or control characters would hide in it. */
const value = (s: string): string => (/^[\x21-\x7e]+$/.test(s) ? s : showValue(s))

runIfMain(import.meta, command)
