/**
 * The import executor on real PrepImport drives, against the in-memory BlobStore (fast, and open
 * to fault injection). The end-to-end tests against azurite are in scripts/service-import.test.ts.
 */
import assert from "node:assert/strict"
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, Layer, Stream } from "effect"
import { type BlobRecord, type CopyLogGroup, groupCopyLog, readCopyLogFile } from "../copylog.ts"
import { StorageError } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { driveIdentity } from "./drive-check.ts"
import { readDriveInfo } from "./drive-info.ts"
import { type DriveResult, importDrive } from "./import.ts"
import { type BlobOutcome, defaultImportSettings, type ImportSettings } from "./import-blob.ts"
import { type MemoryStore, makeMemoryStore } from "./memory-store.ts"
import { bytes, md5, MiB, type PreparedDrive, prepareDrive } from "./test-drives.ts"

interface Run {
  readonly result: DriveResult
  readonly outcomes: ReadonlyArray<BlobOutcome>
  readonly verbose: ReadonlyArray<BlobRecord>
  readonly errors: ReadonlyArray<BlobRecord>
  readonly verboseText: string
  readonly errorText: string
}

const groups = async (file: string): Promise<Array<CopyLogGroup>> => Chunk.toArray(await Effect.runPromise(Stream.runCollect(groupCopyLog(readCopyLogFile(file))).pipe(Effect.provide(NodeContext.layer))))

const blobsOf = (gs: ReadonlyArray<CopyLogGroup>): Array<BlobRecord> => gs.flatMap((g) => (g._tag === "Blob" ? [g] : []))

const runImport = async (d: PreparedDrive, store: MemoryStore, o: { info?: boolean; settings?: ImportSettings; job?: string } = {}): Promise<Run> => {
  const logDir = mkdtempSync(path.join(tmpdir(), "waie-svc-logs-"))
  try {
    const outcomes: Array<BlobOutcome> = []
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const identity = yield* driveIdentity(d.root)
        const info = o.info ? yield* readDriveInfo(d.jobFile) : undefined
        return yield* importDrive(d.root, info, identity, { job: o.job ?? "test", logDir, ...(o.settings ? { settings: o.settings } : {}), onBlob: (_, b) => Effect.sync(() => void outcomes.push(b)) })
      }).pipe(Effect.provide(Layer.mergeAll(store.layer, NodeContext.layer, VolumesTest({}).pipe(Layer.provide(NodeContext.layer))))),
    )
    const v = await groups(result.logs.verbose.file)
    const e = await groups(result.logs.error.file)
    return { result, outcomes, verbose: blobsOf(v), errors: blobsOf(e), verboseText: readFileSync(result.logs.verbose.file, "utf8"), errorText: readFileSync(result.logs.error.file, "utf8") }
  } finally {
    rmSync(logDir, { recursive: true, force: true })
  }
}

const blob = (r: Run, p: string): BlobRecord => {
  const b = r.verbose.find((x) => x.blobPath === p)
  assert.ok(b, `${p} is not in the verbose log`)
  return b
}

const statuses = (b: BlobRecord): Array<string> => b.ranges.map((r) => r.status)

test("a prepared drive imports: every blob equals its source, sparse page ranges only, metadata and properties applied, logs say Completed", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore()
    const r = await runImport(d, store, { info: true })
    assert.equal(r.result.status, "Completed", r.result.problem)
    assert.equal(r.result.driveId, d.driveId)
    for (const [blobPath, src] of d.sources) {
      assert.equal(md5(store.content(blobPath)!), md5(readFileSync(src)), blobPath)
    }
    assert.deepEqual(store.info("vhds/d.vhd")!.pages, [
      { offset: 0, length: 4096 },
      { offset: 4096 + MiB, length: 512 },
    ])
    assert.equal(store.info("vhds/d.vhd")!.kind, "PageBlob")
    const a = store.info("pictures/a.jpg")!
    assert.deepEqual(a.metadata, [
      { name: "Trip", value: "2024" },
      { name: "Camera", value: "Nikon" },
    ])
    assert.deepEqual(a.properties, { contentType: "image/jpeg", cacheControl: "max-age=60" })
    assert.deepEqual(store.info("vhds/d.vhd")!.metadata, [])
    assert.equal(r.verbose.length, 4)
    assert.deepEqual(
      r.verbose.map((b) => [b.blobPath, b.status, b.importDisposition?.status]),
      [
        ["pictures/a.jpg", "Completed", "Created"],
        ["pictures/big.bin", "Completed", "Created"],
        ["pictures/empty.txt", "Completed", "Created"],
        ["vhds/d.vhd", "Completed", "Created"],
      ],
    )
    assert.deepEqual(statuses(blob(r, "pictures/big.bin")), ["Completed", "Completed", "Completed"])
    assert.equal(blob(r, "pictures/a.jpg").metadata?.status, "Completed")
    assert.equal(blob(r, "pictures/a.jpg").properties?.status, "Completed")
    assert.deepEqual(r.errors, [])
    assert.match(r.errorText, /<Status>Completed<\/Status>/)
    assert.equal(r.outcomes.length, 4)
    assert.ok(r.result.maxBuffers <= defaultImportSettings.rangesInFlight)
    assert.ok(store.maxInFlight() <= defaultImportSettings.rangesInFlight)
    assert.ok(store.names().includes(r.result.logs.verbose.blobPath))
  } finally {
    d.cleanup()
  }
})
