/**
 * `waie PreviewExport` as a user runs it, against an azurite the test starts, on an account
 * seeded with blobs of known sizes: the counts, the drives needed and each drive's blobs and
 * occupied space against figures computed by hand from the footprint rule in the README; one
 * byte less per drive changes the answer; and the preview equals what `service export` then does
 * onto drives offering that much free space.
 */
import { NodeContext } from "@effect/platform-node"
import { BlobServiceClient } from "@azure/storage-blob"
import { Effect, Exit, Layer, Schedule } from "effect"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"
import { azuriteAccount, azuriteKey, type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { runExport } from "../lib/service/export.ts"
import { makeBlobStore } from "../lib/storage-azure.ts"
import { BlobStore } from "../lib/storage.ts"
import { VolumesTest } from "../lib/volumes.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")

let az: RunningAzurite
let dir: string

/** 7 blobs of 1,000,000 bytes in `data`, one of 3,200,000 in `big`; no metadata. */
const names = ["f01", "f02", "f03", "f04", "f05", "f06", "f07"].map((n) => `data/${n}.bin`)

before(async () => {
  az = await startTestAzurite()
  const svc = BlobServiceClient.fromConnectionString(az.connectionString)
  const put = async (p: string, n: number) => {
    const slash = p.indexOf("/")
    const c = svc.getContainerClient(p.slice(0, slash))
    await c.createIfNotExists()
    await c.getBlockBlobClient(p.slice(slash + 1)).uploadData(Buffer.alloc(n, 7))
  }
  for (const p of names) await put(p, 1_000_000)
  await put("big/huge.bin", 3_200_000)
  dir = mkdtempSync(path.join(tmpdir(), "waie-preview-"))
  writeFileSync(
    path.join(dir, "list.xml"),
    `<?xml version="1.0" encoding="utf-8"?>
<BlobList>
  <BlobPathPrefix>/data/</BlobPathPrefix>
  <BlobPath>data/f01.bin</BlobPath>
  <BlobPathPrefix>/data/</BlobPathPrefix>
  <BlobPath>big/huge.bin</BlobPath>
  <BlobPath>data/missing.bin</BlobPath>
  <BlobPathPrefix>/nothing/</BlobPathPrefix>
</BlobList>
`,
  )
})

after(async () => {
  await az?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const waie = (args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const storage = () => [`/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", az.blobEndpoint]

/**
 * By hand, from the README's footprint: a 1,000,000-byte block blob `data/fNN.bin` (12 bytes of
 * path) takes 1,003,520 (245 clusters) + 4,096 (its entry) for the data, 4,096 + 4,096 for its
 * properties file (under one cluster), and twice its manifest entry, 400 + 2 × 12 + 130 × 1 block
 * + (100 + 12 + 12) for the PropertiesPath = 678: 1,017,164 bytes. Three of them and the 1 MiB
 * reserve make 4,100,068 bytes.
 */
const footprint = 1_003_520 + 4_096 + 8_192 + 2 * 678
const threePerDrive = 1024 * 1024 + 3 * footprint

describe("PreviewExport on azurite", () => {
  it("counts, drives needed and per-drive occupancy are the hand-computed ones (formats.md §4.1 form)", async () => {
    assert.equal(threePerDrive, 4_100_068)
    const r = await waie(["PreviewExport", ...storage(), "/ExportBlobListFile:list.xml", `/DriveSize:${threePerDrive / 1e9}GB`])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(
      r.stdout,
      [
        "Number of unique blob paths/prefixes:\t5",
        "Number of duplicate blob paths/prefixes:\t1",
        "Number of nonexistent blob paths/prefixes:\t2",
        "Drive size:\t0.00 GB",
        "Number of blobs that can be exported:\t7",
        "Number of blobs that cannot be exported:\t1",
        "Number of drives needed:\t3",
        "\tDrive #1:\tblobs = 3, occupied space = 0.01 GB",
        "\tDrive #2:\tblobs = 3, occupied space = 0.01 GB",
        "\tDrive #3:\tblobs = 1, occupied space = 0.01 GB",
        "",
      ].join("\n"),
    )
    assert.match(r.stderr, /nonexistent: line 7: BlobPath data\/missing\.bin/)
    assert.match(r.stderr, /nonexistent: line 8: BlobPathPrefix \/nothing\//)
    assert.match(r.stderr, /cannot be exported: big\/huge\.bin \(3200000 bytes\)/)

    const j = await waie(["PreviewExport", ...storage(), "--blob-list", "list.xml", "--drive-size", "0.004100068 GB", "--json"])
    assert.equal(j.status, 0, j.stdout)
    const lines = j.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    const drives = lines.filter((l) => l.type === "drive").map((d) => [d.drive, d.blobs, d.occupied, d.bytes])
    assert.deepEqual(drives, [
      [1, 3, 3 * footprint, 3_000_000],
      [2, 3, 3 * footprint, 3_000_000],
      [3, 1, footprint, 1_000_000],
    ])
    const preview = lines.find((l) => l.type === "preview")!
    assert.deepEqual(
      [preview.unique, preview.duplicate, preview.nonexistent, preview.exportable, preview.cannotExport, preview.drivesNeeded, preview.driveSize, preview.reservePerDrive],
      [5, 1, 2, 7, 1, 3, 4_100_068, 1024 * 1024],
    )
    const blobs = lines.filter((l) => l.type === "blob")
    assert.deepEqual(blobs.map((b) => [b.blobPath, b.drive]), [["big/huge.bin", null], ...names.map((n, i) => [n, Math.floor(i / 3) + 1])])
    assert.ok(!j.stdout.includes(azuriteKey), "the key is never printed")
  })

  it("one byte less per drive: two blobs per drive, four drives", async () => {
    const r = await waie(["PreviewExport", ...storage(), "/ExportBlobListFile:list.xml", `/DriveSize:${(threePerDrive - 1) / 1e9}GB`, "--json"])
    assert.equal(r.status, 0, r.stdout)
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines.filter((l) => l.type === "drive").map((d) => d.blobs), [2, 2, 2, 1])
  })

  it("equals what service export does onto drives offering that much free space", async () => {
    const w = mkdtempSync(path.join(dir, "export-"))
    const drives = ["e1", "e2", "e3"].map((d) => path.join(w, d))
    for (const d of drives) mkdirSync(d)
    const store = makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, { retrySchedule: Schedule.recurs(0) })
    // a little over three blobs' worth: what the drive's own files take is measured by the export
    const capacity = threePerDrive + 64 * 1024
    const layers = Layer.mergeAll(Layer.succeed(BlobStore, store), VolumesTest(Object.fromEntries(drives.map((d) => [d, capacity]))).pipe(Layer.provide(NodeContext.layer)), NodeContext.layer)
    const exit = await Effect.runPromiseExit(
      runExport({ blobList: { real: path.join(dir, "list.xml"), shown: "list.xml" }, drives: drives.map((d) => ({ real: d, shown: d })), job: "preview", logDir: { real: path.join(w, "logs"), shown: "logs" } }).pipe(Effect.provide(layers)),
    )
    if (Exit.isFailure(exit)) assert.fail(String(exit.cause))
    const report = exit.value
    const free = report.drives.map((d) => d.freeBytes)
    assert.ok(free.every((f) => f === free[0]), `the drives offer the same free space: ${free.join(", ")}`)
    const r = await waie(["PreviewExport", ...storage(), "/ExportBlobListFile:list.xml", `/DriveSize:${free[0]! / 1e9}GB`, "--json"])
    assert.equal(r.status, 0, r.stdout)
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(
      lines.filter((l) => l.type === "drive").map((d) => [d.blobs, d.bytes, d.occupied]),
      report.drives.map((d) => [d.blobs, d.bytes, d.footprint]),
    )
    const preview = lines.find((l) => l.type === "preview")!
    assert.equal(preview.cannotExport, report.tooBig.blobs)
    assert.equal(report.noRoom.blobs, 0)
    // and the blobs on each drive are the ones the preview put there
    const placed = lines.filter((l) => l.type === "blob" && l.drive !== null)
    for (const [i, d] of drives.entries()) {
      const onDrive = readdirSync(path.join(d, "data")).filter((n) => n.endsWith(".bin")).map((n) => `data/${n}`)
      assert.deepEqual(onDrive.sort(), placed.filter((b) => b.drive === i + 1).map((b) => b.blobPath).sort())
    }
  })

  it("bad input: a malformed size is a usage error; an unreachable endpoint a storage error without the key", async () => {
    const bad = await waie(["PreviewExport", ...storage(), "/ExportBlobListFile:list.xml", "/DriveSize:500MB"])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /\/DriveSize: expected a size in GB or TB.*found the unit "MB"/)
    const missing = await waie(["PreviewExport", ...storage(), "/ExportBlobListFile:list.xml"])
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /\/DriveSize:SIZE \(--drive-size\) is required/)
    const away = await waie(["PreviewExport", `/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", "http://127.0.0.1:9/devstoreaccount1", "/ExportBlobListFile:list.xml", "/DriveSize:1TB"])
    assert.equal(away.status, 3)
    assert.match(away.stderr, /^storage: .*Unreachable/m)
    assert.ok(!away.stderr.includes(azuriteKey))
  })
})
