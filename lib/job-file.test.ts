import assert from "node:assert/strict"
import { test } from "node:test"
import { Redacted } from "effect"
import type { DrivesetRow } from "./driveset.ts"
import { drivesetRowOf, jobFileOf, jobFilePath, jobFileText, keyFromText } from "./job-file.ts"
import { applyEvent, type JournalEvent, type JournalState } from "./journal.ts"

const key = "060456-014509-132033-080300-252615-584177-672089-411631"

const stateOf = (events: ReadonlyArray<JournalEvent>): JournalState => {
  let state: JournalState | undefined
  events.forEach((e, i) => (state = applyEvent(state, { ...e, line: i + 1, offset: i, end: i + 1 })))
  return state!
}

const started: ReadonlyArray<JournalEvent> = [
  { _tag: "JournalCreated", journalId: "0123456789ABCDEF0123456789ABCDEF", writer: "waie 0.1.0" },
  { _tag: "SessionStarted", sessionId: "session#1", dataSet: "/d.csv", dataSetHash: "D41D8CD98F00B204E9800998ECF8427E", mounts: [] },
  { _tag: "DriveAdded", sessionId: "session#1", driveId: "WAIE0123456789AB", root: "/mnt/g", name: "/mnt/g", format: false, encryption: "AlreadyEncrypted", identity: "file", freeBytes: 1_000_000 },
]

test("the job file: the document, LF line ends, one LF at the end", () => {
  assert.equal(
    jobFileText("WAIE0123456789AB", key, "\\DriveManifest.xml", "0CC175B9C0F1B6A831C399E269772661"),
    `<?xml version="1.0" encoding="UTF-8"?>\n<Drive>\n  <DriveId>WAIE0123456789AB</DriveId>\n  <BitLockerKey>${key}</BitLockerKey>\n  <ManifestFile>\\DriveManifest.xml</ManifestFile>\n  <ManifestHash>0CC175B9C0F1B6A831C399E269772661</ManifestHash>\n</Drive>\n`,
  )
  assert.equal(jobFilePath("/jobs/logs/j.jrn", "WAIE0123456789AB"), "/jobs/logs/WAIE0123456789AB.xml")
})

test("a journal gives a drive's job file: an empty hash before its first manifest, then the last DriveInfo's", () => {
  const before = stateOf(started)
  assert.match(jobFileOf(before, "WAIE0123456789AB", key, "\\DriveManifest.xml")!, /<ManifestHash><\/ManifestHash>/)
  assert.equal(jobFileOf(before, "WAIEFFFFFFFFFFFF", key, "\\DriveManifest.xml"), undefined)
  const after = stateOf([
    ...started,
    { _tag: "DriveInfo", driveId: "WAIE0123456789AB", manifestFile: "\\DriveManifest.xml", manifestHash: "0CC175B9C0F1B6A831C399E269772661" },
    { _tag: "SessionCompleted", sessionId: "session#1" },
    { _tag: "SessionStarted", sessionId: "session#2", dataSet: "/d2.csv", dataSetHash: "D41D8CD98F00B204E9800998ECF8427E", mounts: [] },
    { _tag: "DriveInfo", driveId: "WAIE0123456789AB", manifestFile: "\\DriveManifest.xml", manifestHash: "900150983CD24FB0D6963F7D28E17F72" },
  ])
  assert.match(jobFileOf(after, "WAIE0123456789AB", key, "\\DriveManifest.xml")!, /<ManifestHash>900150983CD24FB0D6963F7D28E17F72<\/ManifestHash>/)
})

test("a key file: the key alone, blanks around it, groups joined by '-' or spaces; a bad key is named by its group, never shown", () => {
  assert.deepEqual(keyFromText("k", `${key}\n`), { key })
  assert.deepEqual(keyFromText("k", `\uFEFF  ${key.replace(/-/g, " ")}\r\n`), { key })
  const bad = keyFromText("k", key.slice(0, -1) + "2")
  assert.ok("issue" in bad)
  assert.deepEqual({ file: bad.issue.file, line: bad.issue.line, found: bad.issue.found }, { file: "k", line: 1, found: "group 8 is not a multiple of 11" })
  const two = keyFromText("k", `${key}\n${key}\n`)
  assert.ok("issue" in two)
  assert.ok(!JSON.stringify(two).includes("060456"), "the key is not shown")
})

test("the driveset row of a drive is found by the name the journal recorded", () => {
  const row = (line: number, drive: DrivesetRow["drive"]): DrivesetRow =>
    ({ line, drive, format: "AlreadyFormatted", prompt: "SilentMode", encryption: "AlreadyEncrypted", key: Redacted.make(key) }) as unknown as DrivesetRow
  const rows = [row(2, { kind: "letter", letter: "G" }), row(3, { kind: "path", path: "/mnt/h", form: "posix" })]
  assert.equal(drivesetRowOf(rows, "G:")?.line, 2)
  assert.equal(drivesetRowOf(rows, "/mnt/h")?.line, 3)
  assert.equal(drivesetRowOf(rows, "/mnt/g"), undefined)
})
