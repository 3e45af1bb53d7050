/** The README documents every command and exit code there is: docs that drift fail here. */
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { loadCommands } from "./commands.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const readme = readFileSync(path.join(root, "README.md"), "utf8")

test("the README opens with the two commands: the demo and the tests", () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ""
  assert.match(firstBlock, /npm ci && npm run demo/)
  assert.match(firstBlock, /npm test/)
})

test("every command has a line in the README's command table", async () => {
  for (const c of await loadCommands()) {
    assert.ok(readme.includes(`\`waie ${c.path.join(" ")}`), `README lacks waie ${c.path.join(" ")}`)
  }
})

test("every exit code a command declares is in the README's exit-code table", async () => {
  for (const c of await loadCommands()) {
    for (const [code] of c.exitCodes ?? []) assert.match(readme, new RegExp(`^\\| ${code} \\|`, "m"), `exit code ${code} of waie ${c.path.join(" ")}`)
  }
})

test("every command's file is named after its path and aliases, so the launcher loads only that file", async () => {
  const { commandFile } = await import("./commands.ts")
  const { existsSync } = await import("node:fs")
  for (const c of await loadCommands()) {
    for (const words of [c.path, ...(c.aliases ?? [])]) {
      assert.ok(existsSync(path.join(root, "scripts", commandFile(words))), `waie ${words.join(" ")} → scripts/${commandFile(words)}`)
    }
  }
})
