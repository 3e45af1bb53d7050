/**
 * Every command script runs by itself (`./scripts/verify.ts DRIVE`, from any folder) and gives
 * what `waie verify DRIVE` gives; and a user's own TypeScript can import a script's program and
 * run it with its own output and folder.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { type Io, runCli } from "../lib/cli.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "..")
const header = '#!/bin/sh\n":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"\n'

const commandScripts = (): Array<string> =>
  readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "commands.ts")
    .sort()

test("every command script starts with the two lines that let it run by itself, and is executable", () => {
  const scripts = commandScripts()
  assert.ok(scripts.length >= 30, `${scripts.length} scripts`)
  for (const f of scripts) {
    const p = path.join(here, f)
    assert.ok(readFileSync(p, "utf8").startsWith(header), `${f} starts with the sh/TypeScript header`)
    assert.ok((statSync(p).mode & 0o111) !== 0, `${f} is executable`)
  }
})

test("a script run by itself from another folder gives what waie gives", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-direct-"))
  try {
    const dataset = path.join(root, "goldens", "prepimport", "dataset.csv")
    const direct = spawnSync(path.join(here, "dataset-check.ts"), [dataset, "--json"], { cwd: dir, encoding: "utf8" })
    const viaWaie = spawnSync(process.execPath, [path.join(root, "bin", "waie.mjs"), "dataset", "check", dataset, "--json"], { cwd: dir, encoding: "utf8" })
    assert.equal(direct.status, viaWaie.status)
    assert.equal(direct.stdout, viaWaie.stdout)
    assert.ok(direct.stdout.length > 0)
    const bad = spawnSync(path.join(here, "key-check.ts"), ["123"], { cwd: dir, encoding: "utf8" })
    assert.equal(bad.status, 1, bad.stderr)
    assert.match(bad.stdout + bad.stderr, /expected/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a user's TypeScript imports a script's command and runs it with its own output", async () => {
  const { command } = await import("./key-check.ts")
  let out = ""
  const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), cwd: root, stderrIsTTY: false }
  const code = await runCli([command], ["key", "check", "060456-014509-132033-080300-252615-584177-672089-411631", "--json"], io)
  assert.equal(code, 0)
  assert.deepEqual(
    out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown),
    [{ type: "keyCheck", valid: true }],
  )
})
