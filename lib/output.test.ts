import assert from "node:assert/strict"
import { test } from "node:test"
import { type Context, makeOutput } from "./cli.ts"
import type { Issue } from "./errors.ts"
import { plural, printIssues, verdict } from "./output.ts"

const capture = (json: boolean) => {
  let stdout = ""
  let stderr = ""
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), cwd: "/", stderrIsTTY: false }
  const ctx: Context = { io, out: makeOutput(io, json), resolve: (p) => p }
  return { ctx, text: () => ({ stdout, stderr }) }
}

test("plural", () => {
  assert.equal(plural(1, "row"), "1 row")
  assert.equal(plural(0, "row"), "0 rows")
  assert.equal(plural(2, "directory", "directories"), "2 directories")
})

test("verdict: valid or invalid, then warnings and what was not listed", () => {
  assert.equal(verdict("d.csv", { errors: 0, warnings: 0, omitted: 0 }, "3 rows"), "d.csv: valid, 3 rows")
  assert.equal(verdict("d.csv", { errors: 1, warnings: 2, omitted: 5 }, "3 rows"), "d.csv: invalid, 1 error, 2 warnings (5 not listed)")
})

test("printIssues: lines on stderr, or issue lines on stdout with --json", () => {
  const issue: Issue = { file: "d.csv", line: 2, column: 3, field: "BasePath", expected: "x", found: "y", severity: "warning" }
  const human = capture(false)
  printIssues(human.ctx, "dataset", [issue])
  assert.deepEqual(human.text(), { stdout: "", stderr: "d.csv:2:3: warning: BasePath: expected x, found y\n" })
  const json = capture(true)
  printIssues(json.ctx, "dataset", [issue])
  assert.deepEqual(JSON.parse(json.text().stdout), { type: "issue", format: "dataset", ...issue, message: "d.csv:2:3: warning: BasePath: expected x, found y" })
  assert.equal(json.text().stderr, "")
})
