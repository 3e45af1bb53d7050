/**
 * The golden runner. Every folder below goldens/ that holds a `cmd` file is one worked example:
 *
 *   cmd              the command line after `waie`, one argument per line (run in that folder)
 *   expected.stdout  the exact bytes waie prints on stdout
 *   expected.stderr  the exact bytes on stderr (absent = nothing)
 *   expected.exit    the exit code
 *
 * Inputs sit beside `cmd` (or one folder up, shared by the cases of a format). To re-record after
 * an intended change of output: `npm run goldens:record` (add `WAIE_GOLDENS=<folder>` to record one
format only), then read the diff before committing.
 * CI never records: a missing or different expected file fails the test.
 *
 * A format folder may hold `generate.ts` exporting `generate()`: inputs too big to commit, written
 * (deterministically) before any case runs. See goldens/hostile/README.md.
 */
import assert from "node:assert/strict"
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath, pathToFileURL } from "node:url"
import { runCli, type Io } from "../lib/cli.ts"
import { loadCommands } from "../scripts/commands.ts"

const root = path.dirname(fileURLToPath(import.meta.url))
const recording = process.env["WAIE_RECORD_GOLDENS"] === "1"

const cases = (dir: string): Array<string> => {
  const found: Array<string> = []
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name)
    if (!statSync(p).isDirectory()) continue
    if (existsSync(path.join(p, "cmd"))) found.push(p)
    found.push(...cases(p))
  }
  return found
}

const commands = await loadCommands()
for (const name of readdirSync(root).sort()) {
  const generator = path.join(root, name, "generate.ts")
  if (existsSync(generator)) ((await import(pathToFileURL(generator).href)) as { generate: () => void }).generate()
}
// WAIE_GOLDENS=manifest runs (or records) only the cases whose path starts with that prefix
const only = process.env["WAIE_GOLDENS"]
const all = cases(root).filter((d) => only === undefined || path.relative(root, d).startsWith(only))

test("there are golden cases", () => {
  assert.ok(all.length > 0, "no golden case found under goldens/")
})

for (const dir of all) {
  const name = path.relative(root, dir)
  test(`golden ${name}`, async () => {
    const argv = readFileSync(path.join(dir, "cmd"), "utf8").split("\n").filter((l, i, a) => !(l === "" && i === a.length - 1))
    let stdout = ""
    let stderr = ""
    const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: dir, stderrIsTTY: false }
    const exit = await runCli(commands, argv, io)
    const files = { stdout: path.join(dir, "expected.stdout"), stderr: path.join(dir, "expected.stderr"), exit: path.join(dir, "expected.exit") }
    if (recording) {
      writeFileSync(files.stdout, stdout)
      if (stderr !== "") writeFileSync(files.stderr, stderr)
      writeFileSync(files.exit, `${exit}\n`)
      return
    }
    assert.ok(existsSync(files.stdout) && existsSync(files.exit), `${name}: expected.stdout/expected.exit missing (record with npm run goldens:record)`)
    assert.equal(stdout, readFileSync(files.stdout, "utf8"), `${name}: stdout differs`)
    assert.equal(stderr, existsSync(files.stderr) ? readFileSync(files.stderr, "utf8") : "", `${name}: stderr differs`)
    assert.equal(exit, Number(readFileSync(files.exit, "utf8").trim()), `${name}: exit code differs`)
  })
}
