/**
 * The export executor end to end on azurite (started and stopped by the test): blobs seeded
 * with the Azure SDK itself (block blobs of 0 bytes to more than 4 MiB, a sparse page blob,
 * metadata and properties, a `$root` blob, names with spaces and non-ASCII), exported by paths
 * and prefixes onto one and onto two small drives (VolumesTest sizes), then read back
 * independently: every file's bytes equal its blob (downloaded again with the SDK), the page
 * ranges listed are exactly the non-empty ones azurite reports, the properties and metadata
 * files hold what the blob has, the manifest passes the export rules and its hashes verify, the
 * copy logs (local and uploaded) list every blob with its LastModified; and a blob rewritten
 * after its first range was read is BlobUnexpectedChange.
 */
import { NodeContext } from "@effect/platform-node"
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob"
import { Effect, Exit, Layer, Schedule } from "effect"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { type RunningAzurite, startTestAzurite } from "../azurite.ts"
import { parseMetadata, parseProperties } from "../blobprops.ts"
import { localPathOf } from "../drive-paths.ts"
import { makeBlobStore } from "../storage-azure.ts"
import { BlobStore, type BlobStoreService } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { type ExportReport, exportVerdict, runExport } from "./export.ts"
import { changeAfterFirstRead, logBlobs, readExportDrive, readLog } from "./export-testkit.ts"

const MiB = 1024 * 1024

const bytes = (seed: number, n: number): Buffer => {
  const out = Buffer.alloc(n)
  let block = createHash("sha256").update(String(seed)).digest()
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i))
    block = createHash("sha256").update(block).digest()
  }
  return out
}

let az: RunningAzurite
let svc: BlobServiceClient
let store: BlobStoreService
const temps: Array<string> = []

const container = async (name: string): Promise<ContainerClient> => {
  const c = svc.getContainerClient(name)
  await c.createIfNotExists()
  return c
}

const blobs = {
  "photos/a.jpg": bytes(1, 100_000),
  "photos/big.bin": bytes(2, 9 * MiB + 7),
  "photos/empty.txt": Buffer.alloc(0),
  "photos/trip day 1/b é ü.txt": bytes(3, 5),
  "$root/logo.bmp": bytes(4, 1000),
  "music/love.mp3": bytes(5, 10),
  "music/lovely.mp3": bytes(6, 11),
  "music/other.mp3": bytes(7, 12),
} as const

before(async () => {
  az = await startTestAzurite()
  svc = BlobServiceClient.fromConnectionString(az.connectionString)
  store = makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, { retrySchedule: Schedule.recurs(0) })
  for (const [p, data] of Object.entries(blobs)) {
    const slash = p.indexOf("/")
    const c = await container(p.slice(0, slash))
    const b = c.getBlockBlobClient(p.slice(slash + 1))
    // big.bin in blocks (no Content-MD5 stored), the others in one Put Blob
    if (p === "photos/big.bin") await b.uploadData(data, { blockSize: 4 * MiB, maxSingleShotSize: 1 })
    else await b.upload(data, data.length)
  }
  const a = (await container("photos")).getBlockBlobClient("a.jpg")
  await a.setHTTPHeaders({ blobContentType: "image/jpeg", blobContentLanguage: "en-GB", blobCacheControl: "max-age=60" })
  await a.setMetadata({ Author: "Jane", album: "Trip 2024" })
  // a sparse page blob of 12 MiB: 4 KiB at 0, 2 KiB across the 4 MiB boundary, 512 bytes at 9 MiB
  const vhd = (await container("disks")).getPageBlobClient("d.vhd")
  await vhd.create(12 * MiB)
  await vhd.uploadPages(bytes(11, 4096), 0, 4096)
  await vhd.uploadPages(bytes(12, 2048), 4 * MiB - 1024, 2048)
  await vhd.uploadPages(bytes(13, 512), 9 * MiB, 512)
})

after(async () => {
  await az?.stop()
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

const list = `<?xml version="1.0" encoding="utf-8"?>
<BlobList>
  <BlobPathPrefix>/photos/</BlobPathPrefix>
  <BlobPath>photos/a.jpg</BlobPath>
  <BlobPath>$root/logo.bmp</BlobPath>
  <BlobPathPrefix>/disks/</BlobPathPrefix>
  <BlobPathPrefix>/music/love</BlobPathPrefix>
  <BlobPathPrefix>/music/love</BlobPathPrefix>
  <BlobPath>music/missing.mp3</BlobPath>
</BlobList>
`
const selected = ["$root/logo.bmp", "disks/d.vhd", "music/love.mp3", "music/lovely.mp3", "photos/a.jpg", "photos/big.bin", "photos/empty.txt", "photos/trip day 1/b é ü.txt"]

const world = (driveCount: number) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-export-az-"))
  temps.push(dir)
  writeFileSync(path.join(dir, "list.xml"), list)
  const drives = Array.from({ length: driveCount }, (_, i) => {
    const d = path.join(dir, `d${i + 1}`)
    mkdirSync(d)
    return d
  })
  return { dir, drives, logs: path.join(dir, "logs") }
}

/** `wrap` changes a blob mid-copy: one read in flight then, so "after the first range" is exact. */
const exportOn = (w: ReturnType<typeof world>, capacities: ReadonlyArray<number>, wrap?: Layer.Layer<BlobStore, never, BlobStore>) => {
  const base = Layer.succeed(BlobStore, store)
  const layers = Layer.mergeAll(wrap ? wrap.pipe(Layer.provide(base)) : base, VolumesTest(Object.fromEntries(w.drives.map((d, i) => [d, capacities[i]!]))).pipe(Layer.provide(NodeContext.layer)), NodeContext.layer)
  return runExport({ blobList: { real: path.join(w.dir, "list.xml"), shown: "list.xml" }, drives: w.drives.map((d) => ({ real: d, shown: d })), job: "azjob", logDir: { real: w.logs, shown: "logs" }, ...(wrap ? { readAhead: 1 } : {}) }).pipe(Effect.provide(layers))
}

const ok = async (e: Effect.Effect<ExportReport, unknown>): Promise<ExportReport> => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isFailure(exit)) assert.fail(`export failed: ${String(exit.cause)}`)
  return exit.value
}

const download = async (blobPath: string): Promise<Buffer> => {
  const slash = blobPath.indexOf("/")
  return svc.getContainerClient(blobPath.slice(0, slash)).getBlobClient(blobPath.slice(slash + 1)).downloadToBuffer()
}

describe("service export on azurite", () => {
  it("one drive: bytes, page ranges, properties, metadata, manifest and copy logs are what the blobs are", async () => {
    const w = world(1)
    const r = await ok(exportOn(w, [64 * MiB]))
    assert.equal(exportVerdict(r), undefined)
    assert.deepEqual({ unique: r.counts.unique, duplicate: r.counts.duplicate, nonexistent: r.counts.nonexistent }, { unique: 6, duplicate: 1, nonexistent: 1 })
    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true, JSON.stringify(drive.report.issues))
    assert.equal(drive.report.warnings, 0)
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), selected)
    for (const b of drive.blobs) assert.ok((await download(b.blobPath)).equals(readFileSync(localPathOf(w.drives[0]!, b.filePath))), `${b.blobPath}: file = blob`)

    const byPath = new Map(drive.blobs.map((b) => [b.blobPath, b]))
    // page ranges: exactly the non-empty ones azurite reports, cut at 4 MiB
    const vhd = byPath.get("disks/d.vhd")!
    const reported: Array<[number, number]> = []
    for await (const page of svc.getContainerClient("disks").getPageBlobClient("d.vhd").listPageRanges().byPage()) for (const pr of page.pageRange ?? []) reported.push([pr.start, pr.end - pr.start + 1])
    assert.deepEqual(reported, [[0, 4096], [4 * MiB - 1024, 2048], [9 * MiB, 512]])
    assert.deepEqual(vhd.ranges.map((x) => [x.offset, x.length]), [[0, 4096], [4 * MiB - 1024, 1024], [4 * MiB, 1024], [9 * MiB, 512]])
    assert.equal(statSync(localPathOf(w.drives[0]!, vhd.filePath)).size, 12 * MiB)

    // blocks of 4 MiB, 0 bytes → no blocks
    assert.deepEqual(byPath.get("photos/big.bin")!.ranges.map((x) => x.length), [4 * MiB, 4 * MiB, MiB + 7])
    assert.deepEqual(byPath.get("photos/empty.txt")!.ranges, [])
    assert.equal(byPath.get("photos/trip day 1/b é ü.txt")!.filePath, "\\photos\\trip day 1\\b é ü.txt")
    assert.equal(byPath.get("$root/logo.bmp")!.filePath, "\\$root\\logo.bmp")

    // properties and metadata as the service has them
    const a = byPath.get("photos/a.jpg")!
    const p = (await svc.getContainerClient("photos").getBlobClient("a.jpg").getProperties())
    const props = parseProperties(readFileSync(localPathOf(w.drives[0]!, a.propertiesPath!.path)), "a.properties", "export")
    assert.equal(props.valid, true, JSON.stringify(props.issues))
    assert.equal(props.value.lastModified, p.lastModified!.toUTCString())
    assert.equal(props.value.contentLength, 100_000)
    assert.equal(props.value.contentType, "image/jpeg")
    assert.equal(props.value.contentLanguage, "en-GB")
    assert.equal(props.value.cacheControl, "max-age=60")
    // (Set Blob Properties cleared the Content-MD5 Put Blob stored: the file has one exactly when the blob does)
    assert.equal(props.value.contentMD5, p.contentMD5 === undefined ? undefined : Buffer.from(p.contentMD5).toString("base64"))
    const music = byPath.get("music/love.mp3")!
    const musicProps = parseProperties(readFileSync(localPathOf(w.drives[0]!, music.propertiesPath!.path)), "m.properties", "export")
    const mp = await svc.getContainerClient("music").getBlobClient("love.mp3").getProperties()
    assert.equal(musicProps.value.contentMD5, mp.contentMD5 === undefined ? undefined : Buffer.from(mp.contentMD5).toString("base64"))
    assert.equal(musicProps.value.etag, mp.etag!.replace(/"/g, ""))
    const meta = parseMetadata(readFileSync(localPathOf(w.drives[0]!, a.metadataPath!.path)), "a.metadata")
    assert.deepEqual(meta.value, [{ name: "Author", value: "Jane" }, { name: "album", value: "Trip 2024" }])
    assert.equal(byPath.get("photos/big.bin")!.metadataPath, undefined)

    // copy logs: every blob with its LastModified as the service reports it; uploaded as written
    const d = r.drives[0]!
    const logged = logBlobs(await readLog(d.logs.verbose.file))
    assert.deepEqual(logged.map((b) => b.start.blobPath), selected)
    for (const b of logged) {
      const last = (await svc.getContainerClient(b.start.blobPath.slice(0, b.start.blobPath.indexOf("/"))).getBlobClient(b.start.blobPath.slice(b.start.blobPath.indexOf("/") + 1)).getProperties()).lastModified!
      assert.equal(b.start.lastModified, last.toISOString().replace(/\.\d{3}Z$/, "Z"))
      assert.equal(b.start.status, "Completed")
    }
    assert.ok((await download(d.logs.verbose.blobPath)).equals(readFileSync(d.logs.verbose.file)))
    assert.ok((await download(d.logs.error.blobPath)).equals(readFileSync(d.logs.error.file)))
    assert.match(d.logs.verbose.blobPath, /^waimportexport\/waies\/azjob_/)
  })

  it("two small drives: each blob whole on one drive, both manifests check", async () => {
    const w = world(2)
    const r = await ok(exportOn(w, [MiB + 2 * MiB, MiB + 12 * MiB]))
    assert.equal(exportVerdict(r), undefined)
    const [a, b] = [await readExportDrive(w.drives[0]!), await readExportDrive(w.drives[1]!)]
    assert.equal(a.report.ok && b.report.ok, true)
    assert.ok(b.blobs.some((x) => x.blobPath === "photos/big.bin"))
    assert.deepEqual([...a.blobs, ...b.blobs].map((x) => x.blobPath).sort(), [...selected].sort())
    for (const [i, d] of [a, b].entries()) for (const x of d.blobs) assert.ok((await download(x.blobPath)).equals(readFileSync(localPathOf(w.drives[i]!, x.filePath))))
  })

  it("a blob too big for any drive is reported and left out; the others export and the run succeeds", async () => {
    const w = world(1)
    const r = await ok(exportOn(w, [MiB + 4 * MiB]))
    assert.equal(exportVerdict(r), undefined)
    assert.deepEqual(r.tooBig.first.map((n) => [n.blobPath, n.length]), [["photos/big.bin", 9 * MiB + 7]])
    assert.match(r.tooBig.first[0]!.detail, /more than the \d+ usable bytes of the largest drive/)
    const drive = await readExportDrive(w.drives[0]!)
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), selected.filter((p) => p !== "photos/big.bin"))
    assert.deepEqual(logBlobs(await readLog(r.drives[0]!.logs.verbose.file)).map((b) => b.start.blobPath), selected.filter((p) => p !== "photos/big.bin"))
  })

  it("a blob rewritten after its first range was read is BlobUnexpectedChange (azurite refuses the conditional reads that follow)", async () => {
    const w = world(1)
    const rewrite = changeAfterFirstRead({ container: "photos", name: "big.bin" }, () => Effect.promise(() => svc.getContainerClient("photos").getBlockBlobClient("big.bin").upload(bytes(2, 9 * MiB + 7), 9 * MiB + 7)).pipe(Effect.asVoid))
    const r = await ok(exportOn(w, [64 * MiB], rewrite))
    assert.equal(exportVerdict(r)?._tag, "ExportBlobsFailed")
    assert.deepEqual(r.failed.first.map((f) => [f.blobPath, f.status]), [["photos/big.bin", "BlobUnexpectedChange"]])
    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true)
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), selected.filter((p) => p !== "photos/big.bin"))
    const errors = logBlobs(await readLog(r.drives[0]!.logs.error.file))
    assert.deepEqual(errors.map((e) => [e.start.blobPath, e.start.status]), [["photos/big.bin", "BlobUnexpectedChange"]])
  })
})
