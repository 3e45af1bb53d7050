/**
 * Every command of waie: each `scripts/*.ts` file that exports a `command` spec. A command's file
 * is named after its path (`waie dataset check` → `dataset-check.ts`; an alias in CamelCase such
 * as `PrepImport` → `prep-import.ts`), so the launcher loads only the file it needs; `--help`
 * and an unknown command load them all.
 */
import { existsSync, readdirSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as path from "node:path"
import type { CommandSpec } from "../lib/cli.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const skip = new Set(["commands.ts", "waie.ts"])

const load = async (file: string): Promise<CommandSpec | undefined> => ((await import(pathToFileURL(path.join(here, file)).href)) as { command?: CommandSpec }).command

export const loadCommands = async (): Promise<ReadonlyArray<CommandSpec>> => {
  const files = readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !skip.has(f))
    .sort()
  const specs: Array<CommandSpec> = []
  for (const f of files) {
    const c = await load(f)
    if (c) specs.push(c)
  }
  return specs.sort((a, b) => a.path.join(" ").localeCompare(b.path.join(" ")))
}

/** `PrepImport` → `prep-import`; `check` → `check`. */
export const kebab = (word: string): string => word.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()

/** The file a command's words name: `dataset-check.ts` for a path, `prep-import.ts` for PrepImport. */
export const commandFile = (words: ReadonlyArray<string>): string => `${words.map(kebab).join("-")}.ts`

/** The command argv names, loading only its file; undefined when no file matches (load them all). */
export const findCommand = async (argv: ReadonlyArray<string>): Promise<CommandSpec | undefined> => {
  for (const n of [2, 1]) {
    if (argv.length < n || argv.slice(0, n).some((w) => w.startsWith("-") || w.startsWith("/"))) continue
    const file = commandFile(argv.slice(0, n))
    if (!/^[a-z0-9-]+\.ts$/.test(file) || skip.has(file) || !existsSync(path.join(here, file))) continue
    const spec = await load(file)
    if (spec) return spec
  }
  return undefined
}
