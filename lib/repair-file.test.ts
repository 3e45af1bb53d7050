import assert from "node:assert/strict"
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { InvalidInput } from "./errors.ts"
import { formatRecord } from "./journal-records.ts"
import { needsRepair, openRepairWriter, type RepairEvent, type RepairState, replayRepairFile, repairWriter } from "./repair-file.ts"

const started: RepairEvent = {
  _tag: "RepairStarted",
  kind: "RepairImport",
  copyLog: "logs/job_WAIE01_20260101-000000-000_error.xml",
  copyLogHash: "0CC175B9C0F1B6A831C399E269772661",
  driveId: "WAIE01",
  endpoint: "http://127.0.0.1:10000/devstoreaccount1",
  writer: repairWriter,
}

const run = <A, E>(eff: Effect.Effect<A, E, import("@effect/platform/FileSystem").FileSystem | import("effect").Scope.Scope>) =>
  Effect.runPromise(Effect.either(Effect.scoped(eff)).pipe(Effect.provide(NodeFileSystem.layer)))

const withDir = async (f: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-rep-"))
  try {
    await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const write = (file: string, events: ReadonlyArray<RepairEvent>, from = 0) =>
  run(Effect.flatMap(openRepairWriter(file, from), (w) => w.append(events)))

const replay = async (file: string): Promise<RepairState | undefined> => {
  const r = await run(replayRepairFile(file))
  if (Either.isLeft(r)) throw r.left
  return r.right
}

test("a repair file records a pass: blobs done are skipped on resume, the blob in progress keeps its parts", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "drive.rep")
    await write(file, [
      started,
      { _tag: "PassStarted", pass: 1 },
      { _tag: "BlobRepaired", blob: 0, blobPath: "c/a", source: "/src/a", parts: 2 },
      { _tag: "BlobUnresolved", blob: 2, blobPath: "c/b", filePath: "\\c\\b", reason: "no file at \\c\\b under /src" },
      { _tag: "PartsRepaired", blob: 5, blobPath: "c/d", offsets: [0, 4194304] },
    ])
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const s = await replay(file)
    assert.ok(s)
    assert.equal(s.pass, 1)
    assert.equal(s.passCompleted, false)
    assert.deepEqual([0, 2, 3, 5, 6].map((b) => needsRepair(s, b)), [false, false, false, true, true])
    assert.deepEqual([...(s.inProgress?.offsets ?? [])], [0, 4194304])
    assert.equal(s.started.copyLogHash, started._tag === "RepairStarted" ? started.copyLogHash : "")
    const text = readFileSync(file, "utf8")
    assert.match(text, /\[Type:RepairStarted\]\nKind: RepairImport\nCopyLog: "logs\/job_WAIE01_20260101-000000-000_error\.xml"\n/)
    assert.equal(s.end, Buffer.byteLength(text))
  })
})

test("a pass that leaves blobs unresolved makes the next pass retry only those; a clean pass finishes the repair", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "drive.rep")
    await write(file, [
      started,
      { _tag: "PassStarted", pass: 1 },
      { _tag: "BlobRepaired", blob: 0, blobPath: "c/a", source: "/src/a", parts: 1 },
      { _tag: "BlobUnresolved", blob: 1, blobPath: "c/b", filePath: "\\c\\b", reason: "two files" },
      { _tag: "BlobUnresolved", blob: 4, blobPath: "c/e", filePath: "\\c\\e", reason: "missing" },
      { _tag: "PassCompleted", pass: 1, repaired: 1, unresolved: 2 },
    ])
    let s = await replay(file)
    assert.deepEqual([0, 1, 2, 4].map((b) => needsRepair(s, b)), [false, true, false, true])
    await write(file, [{ _tag: "PassStarted", pass: 2 }, { _tag: "BlobRepaired", blob: 1, blobPath: "c/b", source: "/mnt/old/b", parts: 1 }], s!.end)
    s = await replay(file)
    assert.deepEqual([0, 1, 2, 4].map((b) => needsRepair(s, b)), [false, false, false, true])
    await write(file, [{ _tag: "BlobRepaired", blob: 4, blobPath: "c/e", source: "/mnt/old/e", parts: 3 }, { _tag: "PassCompleted", pass: 2, repaired: 2, unresolved: 0 }], s!.end)
    s = await replay(file)
    assert.equal(s?.finished, true)
    assert.deepEqual([0, 1, 2, 4].map((b) => needsRepair(s, b)), [false, false, false, false])
  })
})

test("a torn last record is dropped and the writer appends where the intact records end", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "drive.rep")
    await write(file, [started, { _tag: "PassStarted", pass: 1 }])
    const intact = statSync(file).size
    appendFileSync(file, '[BeginUpdateRecord][2026/01/01 00:00:00.000][Type:BlobRepaired]\nBlob: 0\nBlobPath: "c/')
    const s = await replay(file)
    assert.equal(s?.end, intact)
    await write(file, [{ _tag: "BlobRepaired", blob: 0, blobPath: "c/a", source: "/a", parts: 1 }], s!.end)
    const again = await replay(file)
    assert.equal(again?.repaired, 1)
    assert.ok(!readFileSync(file, "utf8").includes('BlobPath: "c/\n'))
  })
})

test("records out of order, a foreign record or a count that does not add up are refused with the line", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "drive.rep")
    const cases: Array<[ReadonlyArray<RepairEvent>, RegExp]> = [
      [[{ _tag: "PassStarted", pass: 1 }], /expected a RepairStarted record first, found a PassStarted record/],
      [[started, { _tag: "BlobRepaired", blob: 0, blobPath: "c/a", source: "", parts: 1 }], /expected a PassStarted record before blob records/],
      [[started, { _tag: "PassStarted", pass: 1 }, { _tag: "BlobRepaired", blob: 3, blobPath: "c/a", source: "", parts: 1 }, { _tag: "BlobRepaired", blob: 2, blobPath: "c/b", source: "", parts: 1 }], /expected a blob after blob 3/],
      [[started, { _tag: "PassStarted", pass: 1 }, { _tag: "PassCompleted", pass: 1, repaired: 1, unresolved: 0 }], /expected Repaired 0 and Unresolved 0/],
      [[started, { _tag: "PassStarted", pass: 2 }], /expected pass 1, found pass 2/],
    ]
    for (const [events, message] of cases) {
      rmSync(file, { force: true })
      await write(file, events)
      const r = await run(replayRepairFile(file, "drive.rep"))
      assert.ok(Either.isLeft(r) && r.left instanceof InvalidInput, `refused: ${message}`)
      assert.equal(r.left.format, "repair")
      assert.match(r.left.message, /^drive\.rep: invalid repair/)
      assert.match(r.left.message, message)
      assert.match(r.left.message, /drive\.rep:\d+:/)
    }
    writeFileSync(file, formatRecord("2026/01/01 00:00:00.000", "NewJournalFile", [["VocabularyVersion", "2013-02-01"]]))
    const foreign = await run(replayRepairFile(file, "drive.rep"))
    assert.ok(Either.isLeft(foreign) && foreign.left instanceof InvalidInput)
    assert.match(foreign.left.message, /expected a repair record/)
  })
})

test("RepairStarted keeps the manifest a RepairExport sweeps; the blob in progress keeps the BlobPath its parts were recorded under", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "export.rep")
    const withManifest: RepairEvent = { ...started, kind: "RepairExport", manifest: "E:\\DriveManifest.xml", manifestHash: "900150983CD24FB0D6963F7D28E17F72" } as RepairEvent
    await write(file, [withManifest, { _tag: "PassStarted", pass: 1 }, { _tag: "PartsRepaired", blob: 2, blobPath: "c/a (2).jpg", offsets: [] }, { _tag: "PartsRepaired", blob: 2, blobPath: "c/a (2).jpg", offsets: [4194304] }])
    const s = await replay(file)
    assert.deepEqual([s?.started.manifest, s?.started.manifestHash], ["E:\\DriveManifest.xml", "900150983CD24FB0D6963F7D28E17F72"])
    assert.deepEqual([s?.inProgress?.blob, s?.inProgress?.blobPath, [...(s?.inProgress?.offsets ?? [])]], [2, "c/a (2).jpg", [4194304]])
    assert.match(readFileSync(file, "utf8"), /Writer: [^\n]+\nManifest: "E:\\\\DriveManifest\.xml"\nManifestHash: 900150983CD24FB0D6963F7D28E17F72\n/)
    // without a manifest, neither field is written
    rmSync(file)
    await write(file, [started])
    assert.ok(!readFileSync(file, "utf8").includes("Manifest"))
    assert.equal((await replay(file))?.started.manifestHash, undefined)
    // one without the other is refused
    rmSync(file)
    writeFileSync(file, formatRecord("2026/01/01 00:00:00.000", "RepairStarted", [["Kind", "RepairExport"], ["CopyLog", '"l.xml"'], ["CopyLogHash", "900150983CD24FB0D6963F7D28E17F72"], ["DriveId", '"D"'], ["Endpoint", '"e"'], ["Writer", "w"], ["ManifestHash", "900150983CD24FB0D6963F7D28E17F72"]]))
    const r = await run(replayRepairFile(file, "export.rep"))
    assert.ok(Either.isLeft(r) && r.left instanceof InvalidInput)
    assert.match(r.left.message, /Manifest: expected Manifest and ManifestHash together, or neither/)
  })
})

test("a repair file that does not exist is a new repair", async () => {
  await withDir(async (dir) => assert.equal(await replay(path.join(dir, "none.rep")), undefined))
})

/**
 * The law a resume rests on: run a repair of a set of failed blobs, crash after any number of
 * appended records (a prefix of the file, possibly cut inside a record), resume from the replayed
 * state, and every failed blob is repaired exactly once across the runs, in order, and the
 * resumed pass skips nothing it had not done.
 */
test("property: crash anywhere, resume, and every failed blob is repaired exactly once", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.nat(40), { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(200), async (failedRaw, cut, cutBytes) => {
      const failed = [...failedRaw].sort((a, b) => a - b)
      await withDir(async (dir) => {
        const file = path.join(dir, "r.rep")
        const repairedBy: Array<number> = []
        const pass = (state: RepairState | undefined): Array<RepairEvent> => {
          const events: Array<RepairEvent> = state === undefined ? [started] : []
          if (state === undefined || state.passCompleted) events.push({ _tag: "PassStarted", pass: (state?.pass ?? 0) + 1 })
          let repaired = state !== undefined && !state.passCompleted ? state.repaired : 0
          for (const b of failed) {
            if (!needsRepair(state, b)) continue
            repairedBy.push(b)
            events.push({ _tag: "BlobRepaired", blob: b, blobPath: `c/${b}`, source: `/s/${b}`, parts: 1 })
            repaired++
          }
          events.push({ _tag: "PassCompleted", pass: (state !== undefined && !state.passCompleted ? state.pass : (state?.pass ?? 0) + 1), repaired, unresolved: 0 })
          return events
        }
        // first run, crashed: only some records reach the file, the last one maybe torn
        const first = pass(undefined)
        const kept = cut % (first.length + 1)
        if (kept > 0) await write(file, first.slice(0, kept))
        const tornFrom = kept < first.length ? first[kept] : undefined
        if (tornFrom !== undefined && kept > 0) appendFileSync(file, `[BeginUpdateRecord][2026/01/01 00:00:00.000][Type:${tornFrom._tag}]\n`.slice(0, cutBytes % 60))
        // what the first run really did: the blobs whose records are durable
        const durable = first.slice(0, kept).flatMap((e) => (e._tag === "BlobRepaired" ? [e.blob] : []))
        repairedBy.length = 0
        repairedBy.push(...durable)
        const state = await replay(file)
        await write(file, pass(state), state?.end ?? 0)
        const end = await replay(file)
        assert.equal(end?.finished, true)
        assert.deepEqual(repairedBy, failed)
      })
    }),
    { numRuns: 60 },
  )
})
