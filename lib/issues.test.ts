import assert from "node:assert/strict"
import { test } from "node:test"
import { IssueLog } from "./issues.ts"

test("the issue log keeps up to its limit and counts the rest", () => {
  const log = new IssueLog("f.csv", 2)
  log.add({ line: 1, expected: "e", found: "f" })
  log.add({ line: 2, expected: "e", found: "f", severity: "warning" })
  log.add({ line: 3, expected: "e", found: "f" })
  assert.equal(log.issues.length, 2)
  assert.equal(log.issues[0]!.file, "f.csv")
  assert.equal(log.omitted, 1)
  assert.equal(log.errors, 2)
  assert.equal(log.warnings, 1)
  assert.equal(log.ok, false)
})

test("at: an issue at a place, a warning when asked", () => {
  const log = new IssueLog("m.xml")
  log.at({ line: 3, column: 7 }, "Block/@Hash", "32 hex digits", '"x"')
  log.at({ line: 4, column: 1 }, "Blob/Snapshot", "none", "one", "warning")
  assert.deepEqual(log.issues, [
    { file: "m.xml", line: 3, column: 7, field: "Block/@Hash", expected: "32 hex digits", found: '"x"' },
    { file: "m.xml", line: 4, column: 1, field: "Blob/Snapshot", expected: "none", found: "one", severity: "warning" },
  ])
  assert.deepEqual([log.errors, log.warnings, log.ok], [1, 1, false])
})
