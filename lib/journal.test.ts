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
  { _tag: "SessionCompleted", sessionId: "session#1" },
  { _tag: "DriveInfo", driveId: "WAIE0123456789AB", manifestFile: "\\DriveManifest.xml", manifestHash: "0CC175B9C0F1B6A831C399E269772661" },
  // waie verify --since-journal, outside any session
  { _tag: "DriveVerified", driveId: "WAIE0123456789AB", verifiedUpTo: 4321, manifestHash: "0CC175B9C0F1B6A831C399E269772661", blobs: 2, bytes: 1029 },
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
    assert.equal(after.sessions[0]?.filesCompleted, 2)
    assert.equal(after.drives.get("WAIE0123456789AB")?.manifestHash, "0CC175B9C0F1B6A831C399E269772661")
    assert.equal(after.drives.get("WAIE0123456789AB")?.verifiedUpTo, 4321)
    // a verify record is no session's: the session's counts and phase are as they were
    assert.equal(after.sessions[0]?.phase, 0)
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
