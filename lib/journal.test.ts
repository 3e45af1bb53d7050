import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Stream, TestClock, TestContext } from "effect"
import { InvalidInput } from "./errors.ts"
import { formatRecord } from "./journal-records.ts"
import { type JournalEvent, openJournalWriter, readJournalFile, replayJournal } from "./journal.ts"

const events: ReadonlyArray<JournalEvent> = [
  { _tag: "JournalCreated", journalId: "0123456789ABCDEF0123456789ABCDEF", writer: "waie 0.1.0" },
  { _tag: "LogDirectory", path: "/var/log/waie" },
  { _tag: "Credential", kind: "StorageAccountKey", fingerprint: "0011223344556677" },
  { _tag: "SessionStarted", sessionId: "session#1", dataSet: "/data/set 1.csv", dataSetHash: "D41D8CD98F00B204E9800998ECF8427E", mounts: ["F=/mnt/f"] },
  { _tag: "DriveAdded", sessionId: "session#1", driveId: "WAIE0123456789AB", root: "/mnt/g", name: "G", format: false, encryption: "AlreadyEncrypted", identity: "file", freeBytes: 1_000_000 },
  { _tag: "BlobListDefined", sessionId: "session#1", blobList: 0, metadata: { source: "/m/meta.xml", path: "\\session#1\\$waie\\A.xml", hash: "0CC175B9C0F1B6A831C399E269772661" } },
  { _tag: "FileStarted", sessionId: "session#1", file: 0, driveId: "WAIE0123456789AB", source: '/src/a "quoted", name\n.txt', length: 5, mtimeMs: 1700000000123, blobPath: "c/a.txt", filePath: "\\session#1\\c\\a.txt", blobType: "BlockBlob", disposition: "rename", blobList: 0 },
  { _tag: "BlocksDurable", sessionId: "session#1", file: 0, from: 0, hashes: ["0CC175B9C0F1B6A831C399E269772661"] },
  { _tag: "FileStarted", sessionId: "session#1", file: 1, driveId: "WAIE0123456789AB", source: "/src/d.vhd", length: 1024, mtimeMs: 1, blobPath: "v/d.vhd", filePath: "\\session#1\\v\\d.vhd", blobType: "PageBlob", disposition: "overwrite", blobList: 0 },
  { _tag: "RangesDurable", sessionId: "session#1", file: 1, upto: 1024, ranges: [{ offset: 512, length: 512, hash: "0CC175B9C0F1B6A831C399E269772661" }] },
  { _tag: "FilesCompleted", sessionId: "session#1", files: [0, 1] },
  { _tag: "FileSkipped", sessionId: "session#1", file: 2, source: "/src/big", length: 10 ** 12, reason: "fits on no drive" },
  // /AdditionalDriveSet: a drive joins, the skipped file goes onto it
  { _tag: "DriveAdded", sessionId: "session#1", driveId: "WAIE0123456789CD", root: "/mnt/h", name: "H", format: true, encryption: "Encrypt", identity: "serial", freeBytes: 2 * 10 ** 12 },
  { _tag: "FileStarted", sessionId: "session#1", file: 2, driveId: "WAIE0123456789CD", source: "/src/big", length: 10 ** 12, mtimeMs: 2, blobPath: "c/big", filePath: "\\session#1\\c\\big", blobType: "PageBlob", disposition: "no-overwrite", blobList: 0 },
  { _tag: "RangesDurable", sessionId: "session#1", file: 2, upto: 10 ** 12, ranges: [] },
  { _tag: "FilesCompleted", sessionId: "session#1", files: [2] },
  { _tag: "SessionCompleted", sessionId: "session#1" },
  { _tag: "DriveInfo", driveId: "WAIE0123456789AB", manifestFile: "\\DriveManifest.xml", manifestHash: "0CC175B9C0F1B6A831C399E269772661" },
  // waie verify --since-journal, outside any session
  { _tag: "DriveVerified", driveId: "WAIE0123456789AB", verifiedUpTo: 1234, manifestHash: "0CC175B9C0F1B6A831C399E269772661", blobs: 2, bytes: 1029 },
]

const run = <A, E>(eff: Effect.Effect<A, E, never>) => Effect.runPromise(eff)

test("every event survives the journal's text form, and the journal holds no secret", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-jrn-"))
  try {
    const file = path.join(dir, "j.jrn")
    await run(
      Effect.scoped(
        Effect.gen(function* () {
          const w = yield* openJournalWriter(file, 0)
          yield* w.append(events, { sync: true })
        }),
      ).pipe(Effect.provide(NodeFileSystem.layer)),
    )
    const read = await run(Stream.runCollect(readJournalFile(file)).pipe(Effect.provide(NodeFileSystem.layer)))
    const back = [...read].map((e) => {
      if (e._tag === "TornTail") throw new Error("torn")
      const { line: _l, offset: _o, end: _e, ...rest } = e
      return rest
    })
    assert.deepEqual(back, events)
    const text = readFileSync(file, "utf8")
    assert.match(text, /StorageAccountKey: \*{7}\n/)
    assert.match(text, /<BitLockerKey>\*{7}<\/BitLockerKey>/)
    assert.equal(statSync(file).mode & 0o777, 0o600)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("replay gives the sessions and drives; appending after a torn tail cuts it off first", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-jrn-"))
  try {
    const file = path.join(dir, "j.jrn")
    const layer = NodeFileSystem.layer
    await run(Effect.scoped(Effect.flatMap(openJournalWriter(file, 0), (w) => w.append(events.slice(0, 9), { sync: true }))).pipe(Effect.provide(layer)))
    writeFileSync(file, readFileSync(file, "utf8") + "[BeginUpdateRecord][2026/01/01 00:00:00.000][Type:FilesCompleted]\nSessionId: ses")
    const state = await run(replayJournal(file).pipe(Effect.provide(layer)))
    assert.equal(state.sessions.length, 1)
    assert.equal(state.sessions[0]?.completed, false)
    assert.equal(state.sessions[0]?.filesStarted, 2)
    assert.equal(state.drives.get("WAIE0123456789AB")?.root, "/mnt/g")
    assert.ok(state.tornTail)
    await run(Effect.scoped(Effect.flatMap(openJournalWriter(file, state.end), (w) => w.append(events.slice(9), { sync: true }))).pipe(Effect.provide(layer)))
    const after = await run(replayJournal(file).pipe(Effect.provide(layer)))
    assert.equal(after.tornTail, undefined)
    assert.equal(after.sessions[0]?.completed, true)
    assert.equal(after.sessions[0]?.filesCompleted, 3)
    assert.equal(after.sessions[0]?.filesSkipped, 0)
    assert.equal(after.drives.get("WAIE0123456789AB")?.manifestHash, "0CC175B9C0F1B6A831C399E269772661")
    assert.equal(after.drives.get("WAIE0123456789AB")?.verifiedUpTo, 1234)
    // a verify record is no session's: the session's counts and phase are as they were
    assert.equal(after.sessions[0]?.phase, 1)
    assert.equal(after.sessions[0]?.lastWasDrive, false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("record times come from the Clock", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-jrn-"))
  try {
    const file = path.join(dir, "j.jrn")
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 10, 21, 10, 0, 0, 5))
        yield* Effect.scoped(Effect.flatMap(openJournalWriter(file, 0), (w) => w.append(events.slice(0, 1))))
      }).pipe(Effect.provide(NodeFileSystem.layer), Effect.provide(TestContext.TestContext)),
    )
    assert.match(readFileSync(file, "utf8"), /^\[BeginUpdateRecord\]\[2026\/11\/21 10:00:00\.005\]\[Type:NewJournalFile\]\n/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a journal not written by waie, or with a malformed field, is refused with its line", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-jrn-"))
  try {
    const a = path.join(dir, "a.jrn")
    writeFileSync(a, "[BeginUpdateRecord][2016/11/02 18:24:14.735][Type:NewJournalFile]\nVocabularyVersion: 2013-02-01\n[EndUpdateRecord]\n")
    const ea = await Effect.runPromise(Effect.flip(replayJournal(a)).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.ok(ea instanceof InvalidInput)
    const b = path.join(dir, "b.jrn")
    await run(Effect.scoped(Effect.flatMap(openJournalWriter(b, 0), (w) => w.append(events.slice(0, 1)))).pipe(Effect.provide(NodeFileSystem.layer)))
    writeFileSync(b, readFileSync(b, "utf8") + formatRecord("2026/01/01 00:00:00.000", "FilesCompleted", [["SessionId", "s"], ["Files", "1,x"]]))
    const eb = await Effect.runPromise(Effect.flip(replayJournal(b)).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.ok(eb instanceof InvalidInput)
    assert.equal(eb.issues[0]?.line, 7)
    assert.equal(eb.issues[0]?.field, "Files")
    assert.match(eb.issues[0]?.found ?? "", /1,x/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** Write events as a journal (each with its own valid checksum) and replay it. */
const replayEvents = async (list: ReadonlyArray<JournalEvent>) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-jrn-"))
  try {
    const file = path.join(dir, "j.jrn")
    await run(Effect.scoped(Effect.flatMap(openJournalWriter(file, 0), (w) => w.append(list, { sync: true }))).pipe(Effect.provide(NodeFileSystem.layer)))
    const lines = readFileSync(file, "utf8").split("\n")
    const recordLines = lines.flatMap((l, i) => (l.startsWith("[BeginUpdateRecord]") ? [i + 1] : []))
    const exit = await Effect.runPromiseExit(replayJournal(file).pipe(Effect.provide(NodeFileSystem.layer)))
    return { exit, recordLines }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test("records moved, duplicated or dropped behind intact checksums break the order rules: refused with the line and the rule", async () => {
  const ok = await replayEvents(events)
  assert.equal(ok.exit._tag, "Success")
  const at = (tag: JournalEvent["_tag"], n = 0) => events.map((e, i) => [e, i] as const).filter(([e]) => e._tag === tag)[n]![1]
  const without = (i: number) => events.filter((_, j) => j !== i)
  const twice = (i: number) => [...events.slice(0, i + 1), ...events.slice(i)]
  const moved = (from: number, to: number) => {
    const l = without(from)
    l.splice(to, 0, events[from]!)
    return l
  }
  const replaced = (i: number, e: JournalEvent) => events.map((x, j) => (j === i ? e : x))
  const fileStarted1 = at("FileStarted", 1)
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<JournalEvent>, number, string, RegExp]> = [
    // [what, journal, index of the record refused, field, what the message says]
    ["a FileStarted dropped", without(at("FileStarted")), at("BlocksDurable") - 1, "File", /never started/],
    ["a FileStarted duplicated", twice(fileStarted1), fileStarted1 + 1, "File", /expected file 2 .*found 1/],
    ["a BlobListDefined duplicated", twice(at("BlobListDefined")), at("BlobListDefined") + 1, "BlobList", /expected 1 /],
    ["a BlobListDefined after the file that uses it", moved(at("BlobListDefined"), at("FileStarted")), at("FileStarted") - 1, "BlobList", /defined before it \(none is yet\)/],
    ["a BlocksDurable duplicated", twice(at("BlocksDurable")), at("BlocksDurable") + 1, "From", /expected 1 /],
    ["a BlocksDurable dropped", without(at("BlocksDurable")), at("FilesCompleted") - 1, "Files", /all durable .*found 0 blocks/],
    ["a RangesDurable dropped", without(at("RangesDurable")), at("FilesCompleted") - 1, "Files", /1024 bytes.*found 0 bytes/],
    ["a FilesCompleted duplicated", twice(at("FilesCompleted")), at("FilesCompleted") + 1, "File", /not yet completed/],
    ["a FilesCompleted before the file's data", moved(at("FilesCompleted"), at("BlocksDurable")), at("BlocksDurable"), "Files", /all durable/],
    ["a FileSkipped duplicated", twice(at("FileSkipped")), at("FileSkipped") + 1, "File", /expected file 3 .*found 2/],
    ["a file skipped, then started with no drive added", moved(at("FileSkipped"), fileStarted1), fileStarted1, "File", /expected file 1 .*found 2/],
    ["the added drive dropped", without(at("DriveAdded", 1)), at("DriveAdded", 1), "DriveId", /DriveAdded before FileStarted/],
    ["a DriveAdded duplicated", twice(at("DriveAdded")), at("DriveAdded") + 1, "DriveId", /one DriveAdded per drive/],
    ["a CopySessionStarted duplicated", twice(at("SessionStarted")), at("SessionStarted") + 1, "SessionId", /one CopySessionStarted per session/],
    ["the session completed with a file in flight", moved(at("SessionCompleted"), at("FilesCompleted", 1)), at("FilesCompleted", 1), "SessionId", /started files all completed/],
    ["a CopySessionCompleted duplicated", twice(at("SessionCompleted")), at("SessionCompleted") + 1, "SessionId", /after its CopySessionCompleted/],
    ["a record of another session", replaced(at("FilesCompleted"), { _tag: "FilesCompleted", sessionId: "session#2", files: [0, 1] }), at("FilesCompleted"), "SessionId", /the latest session, "session#1"/],
    ["Upto going back", replaced(at("RangesDurable"), { _tag: "RangesDurable", sessionId: "session#1", file: 1, upto: 2048, ranges: [] }), at("RangesDurable"), "Upto", /up to its length/],
    ["blocks of a page blob", replaced(at("RangesDurable"), { _tag: "BlocksDurable", sessionId: "session#1", file: 1, from: 0, hashes: [] }), at("RangesDurable"), "Type", /RangesDurable/],
    ["a DriveInfo of a drive the journal never added", replaced(at("DriveInfo"), { _tag: "DriveInfo", driveId: "OTHER", manifestFile: "\\DriveManifest.xml", manifestHash: "0CC175B9C0F1B6A831C399E269772661" }), at("DriveInfo"), "DriveState", /a drive the journal added/],
    ["a LogDirectory duplicated", twice(at("LogDirectory")), at("LogDirectory") + 1, "LogDirectory", /one LogDirectory/],
  ]
  for (const [what, list, index, field, message] of cases) {
    const { exit, recordLines } = await replayEvents(list)
    assert.ok(exit._tag === "Failure", `${what}: accepted`)
    const error = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    assert.ok(error instanceof InvalidInput, `${what}: ${String(exit)}`)
    const issue = error.issues[0]!
    assert.equal(issue.line, recordLines[index], `${what}: line`)
    assert.equal(issue.field, field, `${what}: field`)
    assert.match(`expected ${issue.expected}, found ${issue.found}`, message, what)
  }
})

test("a skipped file is placed once, in a later phase; a session completes only when none is left", async () => {
  const S = "s"
  const drive = (driveId: string): JournalEvent => ({ _tag: "DriveAdded", sessionId: S, driveId, root: `/${driveId}`, name: driveId, format: false, encryption: "AlreadyEncrypted", identity: "file", freeBytes: 1 })
  const skip = (file: number): JournalEvent => ({ _tag: "FileSkipped", sessionId: S, file, source: `/f${file}`, length: 0, reason: "fits on no drive" })
  const start = (file: number, driveId: string): JournalEvent => ({ _tag: "FileStarted", sessionId: S, file, driveId, source: `/f${file}`, length: 0, mtimeMs: 0, blobPath: `c/f${file}`, filePath: `\\s\\c\\f${file}`, blobType: "BlockBlob", disposition: "rename", blobList: 0 })
  const done = (...files: Array<number>): Array<JournalEvent> => [...files.map((file): JournalEvent => ({ _tag: "BlocksDurable", sessionId: S, file, from: 0, hashes: [] })), { _tag: "FilesCompleted", sessionId: S, files }]
  const head: Array<JournalEvent> = [events[0]!, { _tag: "SessionStarted", sessionId: S, dataSet: "/d", dataSetHash: "D41D8CD98F00B204E9800998ECF8427E", mounts: [] }, drive("A"), { _tag: "BlobListDefined", sessionId: S, blobList: 0 }]
  const phase0 = [...head, skip(0), start(1, "A"), ...done(1), skip(2), skip(3)]
  // a crash in the first phase, drives added: the first phase goes on (file 4) before the skipped ones are placed
  const good = [...phase0, drive("B"), start(4, "A"), start(2, "B"), start(0, "B"), ...done(4, 2, 0), drive("C"), start(3, "C"), ...done(3), { _tag: "SessionCompleted", sessionId: S } as const]
  assert.equal((await replayEvents(good)).exit._tag, "Success")
  const refused = async (list: ReadonlyArray<JournalEvent>, field: string, message: RegExp) => {
    const { exit } = await replayEvents(list)
    const error = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    assert.ok(error instanceof InvalidInput, String(exit))
    assert.equal(error.issues[0]!.field, field)
    assert.match(`expected ${error.issues[0]!.expected}, found ${error.issues[0]!.found}`, message)
  }
  await refused([...phase0, drive("B"), start(2, "B"), ...done(2), start(2, "B")], "File", /or a file recorded as skipped \(2 are\), found 2/)
  await refused([...phase0, drive("B"), start(2, "B"), start(0, "B"), ...done(2, 0), { _tag: "SessionCompleted", sessionId: S }], "SessionId", /1 skipped .* never placed/)
  await refused([...phase0, drive("A")], "DriveId", /one DriveAdded per drive and session/)
})
