#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie properties check FILE`: is the properties file valid, what would an import set, its MD5 for the manifest. */
import { Effect } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { flag, runIfMain } from "../lib/cli.ts"
import { propertyElements, readPropertiesFile } from "../lib/blobprops.ts"
import { ExitCode, showValue } from "../lib/errors.ts"
import { plural, printIssues } from "../lib/output.ts"

export const command: CommandSpec = {
  path: ["properties", "check"],
  summary: "check a properties file (<Properties>): known elements, header values, Content-MD5; print what it sets and the file's MD5",
  args: [{ name: "file", description: "the properties file (XML, any extension)" }],
  options: [{ name: "export", takes: "flag", description: "the file comes from an export: Last-Modified, Etag and Content-Length are expected, not warned about" }],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const context = flag(parsed, "export") ? "export" : "import"
      const r = yield* readPropertiesFile(ctx.resolve(shown), shown, context)
      printIssues(ctx, "properties", r.issues)
      const present = propertyElements.filter((el) => r.value[el.key] !== undefined)
      if (ctx.out.json) {
        const sets = Object.fromEntries(present.filter((el) => el.importable).map((el) => [el.element, r.value[el.key]]))
        const ignored = Object.fromEntries(present.filter((el) => !el.importable).map((el) => [el.element, r.value[el.key]]))
        ctx.out.event("properties", { file: shown, valid: true, md5: r.md5, bytes: r.bytes, sets, ignoredOnImport: ignored })
        return ExitCode.Ok
      }
      const lines = [`${shown}: valid properties file: ${present.length === 0 ? "no properties" : plural(present.length, "property", "properties")}`, `MD5 (for the manifest's PropertiesPath Hash): ${r.md5}`]
      const sets = present.filter((el) => el.importable)
      const ignored = present.filter((el) => !el.importable)
      if (sets.length) lines.push("an import sets:")
      for (const el of sets) lines.push(`  ${el.element}: ${showValue(String(r.value[el.key]))}`)
      if (ignored.length) lines.push("ignored on import (written by export):")
      for (const el of ignored) lines.push(`  ${el.element}: ${showValue(String(r.value[el.key]))}`)
      ctx.io.stdout(lines.join("\n") + "\n")
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
