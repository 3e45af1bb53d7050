/**
 * Every command of waie: each `scripts/*.ts` file that exports a `command` spec. Found by
 * listing the folder so that adding a command is adding one file.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as path from "node:path"
import type { CommandSpec } from "../lib/cli.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const skip = new Set(["commands.ts", "waie.ts"])

export const loadCommands = async (): Promise<ReadonlyArray<CommandSpec>> => {
  const files = readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !skip.has(f))
    .sort()
  const specs: Array<CommandSpec> = []
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { command?: CommandSpec }
    if (mod.command) specs.push(mod.command)
  }
  return specs.sort((a, b) => a.path.join(" ").localeCompare(b.path.join(" ")))
}
