import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { checkEvent, checkOutput, checkValue, formatLineProblem } from "./json-lines-check.ts"
import { type CommandSchema, commandSchemas, schemaFor } from "./json-schema.ts"

const schema = (command: string): CommandSchema => {
  const s = commandSchemas.find((c) => c.command === command)
  assert.ok(s, command)
  return s
}

const fields = (problems: ReadonlyArray<{ readonly field?: string; readonly message: string }>) => problems.map((p) => `${p.field ?? ""}: ${p.message}`)

const verifyLine = {
  type: "verify",
  drive: "drive-g",
  manifest: "drive-g/DriveManifest.xml",
  ok: true,
  driveId: "WAIEB1E990307958",
  manifestHash: "CC79708AFDE32AC230974698C8B2F9D9",
  manifestBytes: 1727,
  manifestComplete: true,
  manifestErrors: 0,
  manifestWarnings: 0,
  blobs: 3,
  checkedBlobs: 3,
  bytes: 5255072,
  blocks: 3,
  pageRanges: 1,
  sideFiles: 1,
  problems: 0,
  omitted: 0,
}

describe("checkEvent", () => {
  it("passes a line that follows the schema", () => {
    assert.deepEqual(checkEvent(schema("verify"), verifyLine), [])
  })

  it("names a type the command does not document, and what it documents", () => {
    const p = fields(checkEvent(schema("verify"), { type: "verified", ok: true }))
    assert.equal(p.length, 1)
    assert.match(p[0]!, /^type: unknown type "verified": waie verify documents "problem", "verify", "issue", "error", "note"$/)
  })

  it("accepts the common types in any command, and only those without a command", () => {
    assert.deepEqual(checkEvent(schema("key new"), { type: "error", exitCode: 2, error: "UsageError", message: "x" }), [])
    assert.equal(checkEvent(undefined, { type: "key", key: "x" }).length, 1)
  })

  it("names a missing field, an undocumented one and one of another JSON type", () => {
    const { bytes: _bytes, ...rest } = verifyLine
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...rest, size: 3 })), ["bytes: missing (integer (bytes), always there)", "size: not documented (found an integer 3)"])
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...verifyLine, bytes: "5255072" })), ['bytes: expected integer (bytes), found a string "5255072"'])
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...verifyLine, bytes: 1.5 })), ["bytes: expected integer (bytes), found a number 1.5"])
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...verifyLine, ok: null })), ["ok: expected a boolean, found null null"])
  })

  it("wants type first", () => {
    const { type: _t, ...rest } = verifyLine
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...rest, type: "verify" })), ['type: expected "type" as the first key, found "drive" first'])
    assert.deepEqual(fields(checkEvent(schema("verify"), rest)), ["type: missing"])
  })

  it("checks shapes: upper-case hex MD5, enums, ISO times, journal times", () => {
    assert.deepEqual(fields(checkEvent(schema("verify"), { ...verifyLine, manifestHash: "cc79708afde32ac230974698c8b2f9d9" })), ['manifestHash: expected an MD5 as 32 upper-case hex digits, found "cc79708afde32ac230974698c8b2f9d9"'])
    assert.equal(checkValue({ kind: "string", values: ["import", "export"] }, "Import", "purpose").length, 1)
    assert.equal(checkValue({ kind: "string", format: "isoTime" }, "Tue, 18 Sep 2012 23:47:08 GMT", "lastModified").length, 1)
    assert.deepEqual(checkValue({ kind: "string", format: "isoTime" }, "2012-09-19T08:00:00.1234567Z", "snapshot"), [])
    assert.deepEqual(checkValue({ kind: "string", format: "journalTime" }, "2026/11/22 02:58:01.415", "time"), [])
    assert.equal(checkValue({ kind: "string", format: "journalTime" }, "2026-11-22T02:58:01Z", "time").length, 1)
  })

  it("checks nested objects, arrays, tuples and maps, naming the place", () => {
    const failed = {
      type: "failedBlob",
      status: "FileNotFound",
      blobPath: "p/a.jpg",
      filePath: "\\a.jpg",
      length: 10,
      list: "block",
      failures: { ranges: [{ status: "Cancelled", kind: "block", count: 1, bytes: 10, first: [{ offset: 0, length: "10" }], extra: 1 }] },
      description: "x",
    }
    assert.deepEqual(fields(checkEvent(schema("copylog check"), failed)), ['failures.ranges[0].first[0].length: expected integer (bytes), found a string "10"', "failures.ranges[0].extra: not documented (found an integer 1)"])
    assert.deepEqual(checkValue({ kind: "map", keys: "status", of: { kind: "integer" } }, { Completed: "3" }, "blobStatus"), [{ field: "blobStatus.Completed", message: 'expected integer, found a string "3"' }])
    assert.equal(checkValue({ kind: "tuple", of: [{ kind: "string" }, { kind: "string" }] }, ["a"], "fields[0]").length, 1)
  })

  it("adds the fields of the variant the line is, and refuses a value with none", () => {
    const repair = schema("repair json")
    const base = { type: "record", line: 10, time: "2026/11/22 02:49:52.002" }
    assert.deepEqual(checkEvent(repair, { ...base, record: "PassStarted", pass: 1 }), [])
    assert.deepEqual(fields(checkEvent(repair, { ...base, record: "PassStarted", pass: 1, blob: 3 })), ["blob: not documented (found an integer 3)"])
    assert.deepEqual(fields(checkEvent(repair, { ...base, record: "PassCompleted", pass: 1 })), ["repaired: missing (integer (count), always there)", "unresolved: missing (integer (count), always there)"])
    assert.equal(fields(checkEvent(repair, { ...base, record: "PassForgotten" })).filter((p) => p.startsWith("record:")).length, 2)
    // booleans choose variants too
    assert.deepEqual(checkEvent(schema("key check"), { type: "keyCheck", valid: true }), [])
    assert.deepEqual(fields(checkEvent(schema("key check"), { type: "keyCheck", valid: true, found: "x" })), ["found: not documented (found a string \"x\")"])
  })
})

describe("checkOutput", () => {
  it("numbers problems by output line and finds text in JSON output", () => {
    const out = `${JSON.stringify(verifyLine)}\nverified, nothing wrong\n`
    assert.deepEqual(checkOutput(schema("verify"), out, 5), [{ line: 6, message: 'expected a JSON object, found text "verified, nothing wrong"' }])
    assert.equal(checkOutput(schema("verify"), JSON.stringify(verifyLine)).length, 1, "no line end")
  })

  it("leaves a document command's document alone and checks its JSON lines", () => {
    const doc = schemaFor(["journal", "manifest"], new Set())
    assert.equal(doc?.stdout, "document")
    assert.deepEqual(checkOutput(doc, '<?xml version="1.0"?>\n<DriveManifest>\n'), [])
    assert.equal(checkOutput(doc, '{"type":"error","exitCode":3,"error":"FileUnreadable","message":"x","path":"j.jrn"}\n').length, 1, "code missing")
  })

  it("refuses a second once-only line and a line out of order", () => {
    const plan = schema("plan")
    const planLine = { type: "plan", dataSet: "d.csv", files: 0, bytes: 0, drives: 0, placedFiles: 0, placedBytes: 0, unplacedFiles: 0, unplacedBytes: 0, errors: 0, outcome: "complete", exitCode: 0 }
    const unplaced = { type: "planUnplaced", source: "/a", length: 1 }
    const out = [planLine, unplaced, planLine].map((o) => JSON.stringify(o) + "\n").join("")
    assert.deepEqual(
      checkOutput(plan, out).map((p) => `${p.line} ${p.message}`),
      ['2 "planUnplaced" after "plan": waie plan prints them the other way round', '3 a second "plan" line: waie plan prints at most one'],
    )
    // repeating groups are fine: a blob, its drive, the next drive's blob
    const imp = schema("service import")
    const blob = { type: "blob", drive: "g", driveId: "D", blobPath: "c/b", filePath: "\\b", length: 1, status: "Completed", ranges: {} }
    const drive = { type: "drive", drive: "g", root: "/g", driveId: "D", status: "Completed", blobs: 1, bytes: 1, blobStatus: {}, dispositionStatus: {}, rangeStatus: {}, failedBlobs: 0, verboseLog: "v", errorLog: "e", verboseLogBlob: "v", errorLogBlob: "e", uploaded: true }
    assert.deepEqual(checkOutput(imp, [blob, drive, blob, drive].map((o) => JSON.stringify(o) + "\n").join("")), [])
  })

  it("formats a problem with the run, the line and the field", () => {
    assert.equal(formatLineProblem("goldens/x/expected.stdout (waie verify)", { line: 3, field: "bytes", message: "missing" }), "goldens/x/expected.stdout (waie verify): stdout line 3: bytes: missing")
  })
})

describe("schemaFor", () => {
  it("picks a command's mode by its options, and the plain command without one", () => {
    assert.equal(schemaFor(["prep-import"], new Set(["journal", "list-drives"]))?.command, "PrepImport /ListDrives")
    assert.equal(schemaFor(["prep-import"], new Set(["journal", "dry-run"]))?.command, "PrepImport --dry-run")
    assert.equal(schemaFor(["prep-import"], new Set(["journal", "data-set"]))?.command, "PrepImport")
    assert.equal(schemaFor(["manifest", "write"], new Set(["out"]))?.command, "manifest write --out")
    assert.equal(schemaFor(["nothing"], new Set()), undefined)
  })
})
