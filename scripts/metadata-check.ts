#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie metadata check FILE`: is the metadata file valid, what would it set, its MD5 for the manifest. */
import { Effect } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { runIfMain } from "../lib/cli.ts"
import { maxMetadataBytes, readMetadataFile } from "../lib/blobprops.ts"
import { ExitCode, showValue } from "../lib/errors.ts"
import { plural, printIssues } from "../lib/output.ts"

export const command: CommandSpec = {
  path: ["metadata", "check"],
  summary: "check a metadata file (<Metadata>): names, values, the 8 KiB limit; print the pairs and the file's MD5",
  args: [{ name: "file", description: "the metadata file (XML, any extension)" }],
  options: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const r = yield* readMetadataFile(ctx.resolve(shown), shown)
      const size = r.value.reduce((n, p) => n + Buffer.byteLength(p.name) + Buffer.byteLength(p.value), 0)
      printIssues(ctx, "metadata", r.issues)
      if (ctx.out.json) {
        ctx.out.event("metadata", { file: shown, valid: true, md5: r.md5, bytes: r.bytes, size, pairs: r.value })
        return ExitCode.Ok
      }
      const head = r.value.length === 0 ? "no pairs (an import would leave the blob without metadata)" : `${plural(r.value.length, "pair")}, ${size} of ${maxMetadataBytes} bytes of names and values`
      const lines = [`${shown}: valid metadata file: ${head}`, `MD5 (for the manifest's MetadataPath Hash): ${r.md5}`]
      for (const p of r.value) lines.push(`  ${p.name} = ${showValue(p.value)}`)
      ctx.io.stdout(lines.join("\n") + "\n")
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
