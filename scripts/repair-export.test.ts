/**
 * `waie RepairExport` end to end on azurite (started by the test): blobs seeded with the Azure
 * SDK, exported onto a folder drive by the export executor, the drive damaged, then repaired by
 * the real command — from the copy log alone (a service-style log naming a failed block, a failed
 * page range, a failed properties file, and a blob the export dropped), and with the manifest
 * (damage the log knows nothing about). Afterwards every file equals its blob (downloaded again
 * with the SDK), every side file is what the export writes for the blob, and a second run changes
 * nothing. Also: a crash half way (storage failing after a few requests) resumes from the repair
 * file, and bad input is refused with nothing changed.
 */
import { NodeContext } from "@effect/platform-node"
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob"
import { Effect, Exit, Layer, Schedule } from "effect"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"
import { azuriteAccount, azuriteKey, type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { type CopyLogEvent, serializeCopyLog } from "../lib/copylog.ts"
import { localPathOf } from "../lib/drive-paths.ts"
import { readRepairFile } from "../lib/repair-file.ts"
import { runRepairExport } from "../lib/repair/export.ts"
import { runExport } from "../lib/service/export.ts"
import { changeAfterFirstRead, readExportDrive, readLog } from "../lib/service/export-testkit.ts"
import { metadataText, propertiesText } from "../lib/service/export-sidefiles.ts"
import { makeBlobStore } from "../lib/storage-azure.ts"
import { BlobStore, type BlobStoreService, StorageError } from "../lib/storage.ts"
import { VolumesTest } from "../lib/volumes.ts"
import { Chunk, Stream } from "effect"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
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
const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex").toUpperCase()

let az: RunningAzurite
let svc: BlobServiceClient
let store: BlobStoreService
const temps: Array<string> = []

const container = async (name: string): Promise<ContainerClient> => {
  const c = svc.getContainerClient(name)
  await c.createIfNotExists()
  return c
}

before(async () => {
  az = await startTestAzurite()
  svc = BlobServiceClient.fromConnectionString(az.connectionString)
  store = makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, { retrySchedule: Schedule.recurs(0) })
  const photos = await container("photos")
  await photos.getBlockBlobClient("a.jpg").upload(bytes(1, 100_000), 100_000)
  await photos.getBlockBlobClient("a.jpg").setHTTPHeaders({ blobContentType: "image/jpeg", blobCacheControl: "max-age=60" })
  await photos.getBlockBlobClient("a.jpg").setMetadata({ Author: "Jane" })
  await photos.getBlockBlobClient("big.bin").uploadData(bytes(2, 9 * MiB + 7), { blockSize: 4 * MiB, maxSingleShotSize: 1 })
  await photos.getBlockBlobClient("empty.txt").upload(Buffer.alloc(0), 0)
  await (await container("music")).getBlockBlobClient("love.mp3").upload(bytes(5, 10), 10)
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
  <BlobPathPrefix>/disks/</BlobPathPrefix>
  <BlobPath>music/love.mp3</BlobPath>
</BlobList>
`

interface Exported {
  readonly dir: string
  readonly drive: string
  readonly verbose: string
  readonly error: string
  readonly manifest: string
}

/** Export the list onto a fresh folder drive (optionally through a store wrapper). */
const exportDrive = async (wrap?: Layer.Layer<BlobStore, never, BlobStore>): Promise<Exported> => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-repexp-"))
  temps.push(dir)
  writeFileSync(path.join(dir, "list.xml"), list)
  const drive = path.join(dir, "e")
  mkdirSync(drive)
  const base = Layer.succeed(BlobStore, store)
  const layers = Layer.mergeAll(wrap ? wrap.pipe(Layer.provide(base)) : base, VolumesTest({ [drive]: 256 * MiB }).pipe(Layer.provide(NodeContext.layer)), NodeContext.layer)
  const exit = await Effect.runPromiseExit(runExport({ blobList: { real: path.join(dir, "list.xml"), shown: "list.xml" }, drives: [{ real: drive, shown: drive }], job: "repjob", logDir: { real: path.join(dir, "logs"), shown: "logs" }, ...(wrap ? { readAhead: 1 } : {}) }).pipe(Effect.provide(layers)))
  if (Exit.isFailure(exit)) assert.fail(String(exit.cause))
  const d = exit.value.drives[0]!
  return { dir, drive, verbose: d.logs.verbose.file, error: d.logs.error.file, manifest: d.manifest.file }
}

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const waie = (cwd: string, args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const storage = () => [`/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", az.blobEndpoint]

const download = async (blobPath: string): Promise<Buffer> => {
  const slash = blobPath.indexOf("/")
  return svc.getContainerClient(blobPath.slice(0, slash)).getBlobClient(blobPath.slice(slash + 1)).downloadToBuffer()
}

const flip = (file: string, at: number): void => {
  const b = readFileSync(file)
  b[at] = b[at]! ^ 0xff
  writeFileSync(file, b)
}

/** Every file of every blob the log lists equals its blob; every side file is what the export writes for the blob now. */
const assertDriveEqualsStorage = async (drive: string, logFile: string): Promise<void> => {
  const events = await readLog(logFile)
  for (const e of events) {
    if (e._tag !== "BlobStart") continue
    const data = readFileSync(localPathOf(drive, e.filePath))
    assert.ok(data.equals(await download(e.blobPath)), `${e.filePath} equals ${e.blobPath}`)
    const slash = e.blobPath.indexOf("/")
    const info = (await Effect.runPromise(store.getBlob({ container: e.blobPath.slice(0, slash), name: e.blobPath.slice(slash + 1) })))!
    const props = propertiesText(info)
    assert.ok(props.ok)
    assert.equal(md5(readFileSync(localPathOf(drive, `${e.filePath}.properties`))), md5(props.bytes), `${e.filePath}.properties`)
    const meta = metadataText(info)
    if (meta !== undefined && meta.ok) assert.equal(md5(readFileSync(localPathOf(drive, `${e.filePath}.metadata`))), md5(meta.bytes), `${e.filePath}.metadata`)
  }
}

/** Names, sizes and MD5s of every file under a folder (to show that nothing changed). */
const snapshot = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(`${path.relative(dir, p)} ${statSync(p).size} ${md5(readFileSync(p))}`)
    }
  }
  walk(dir)
  return out
}

const events = async (file: string): Promise<Array<CopyLogEvent>> => readLog(file)

describe("RepairExport on azurite", () => {
  it("from the copy log alone: a dropped blob downloaded whole, a failed block and page range downloaded in place, a failed properties file written again; a second run does nothing", async () => {
    // big.bin is rewritten after its first range is read: the export drops it (BlobUnexpectedChange)
    const changed = bytes(20, 5 * MiB + 3)
    const x = await exportDrive(changeAfterFirstRead({ container: "photos", name: "big.bin" }, (s) => s.upload({ container: "photos", name: "big.bin" }, Stream.make(changed))))
    const bigFile = localPathOf(x.drive, "\\photos\\big.bin")
    assert.equal(existsSync(bigFile), false, "the export dropped the changed blob")
    // the service's style (RE1): a blob CompletedWithErrors with one failed block, one failed page range, a failed properties file
    const crafted = (await events(x.verbose)).map((e): CopyLogEvent => e)
    let blob = ""
    const out: Array<CopyLogEvent> = []
    for (const e of crafted) {
      if (e._tag === "BlobStart") blob = e.blobPath
      if (e._tag === "BlobStart" && (blob === "photos/a.jpg" || blob === "disks/d.vhd")) out.push({ ...e, status: "CompletedWithErrors" })
      else if (e._tag === "Block" && blob === "photos/a.jpg") out.push({ _tag: "Block", offset: e.offset, length: e.length, ...(e.id !== undefined ? { id: e.id } : {}), status: "Failed" })
      else if (e._tag === "PageRange" && blob === "disks/d.vhd" && e.offset === 4 * MiB) out.push({ _tag: "PageRange", offset: e.offset, length: e.length, status: "IOFailed" })
      else if (e._tag === "BlobEnd" && blob === "photos/a.jpg") out.push({ ...e, properties: { ...e.properties!, status: "Failed" } })
      else out.push(e)
    }
    const log = path.join(x.dir, "service_error.xml")
    writeFileSync(log, serializeCopyLog(out))
    // and the drive damaged where the log says
    flip(localPathOf(x.drive, "\\photos\\a.jpg"), 50_000)
    unlinkSync(localPathOf(x.drive, "\\photos\\a.jpg.properties"))
    const vhd = localPathOf(x.drive, "\\disks\\d.vhd")
    const v = readFileSync(vhd)
    v.fill(0, 4 * MiB, 4 * MiB + 1024)
    writeFileSync(vhd, v)

    const r = await waie(x.dir, ["RepairExport", "/r:drive.rep", `/d:${x.drive}`, "/CopyLogFile:service_error.xml", ...storage()])
    assert.equal(r.status, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /repaired photos\/big\.bin \(\\photos\\big\.bin\): downloaded whole \(the export failed it: BlobUnexpectedChange\)/)
    assert.match(r.stdout, /repaired photos\/a\.jpg \(\\photos\\a\.jpg\): 1 block downloaded in place; \\photos\\a\.jpg\.properties written again/)
    assert.match(r.stdout, /repaired disks\/d\.vhd \(\\disks\\d\.vhd\): 1 page range downloaded in place/)
    assert.match(r.stdout, /pass 1: 3 blobs done, 0 unresolved; the repair is finished/)
    assert.ok(readFileSync(bigFile).equals(changed), "the blob as it is now")
    await assertDriveEqualsStorage(x.drive, log)
    assert.ok(!r.stdout.includes(azuriteKey) && !readFileSync(path.join(x.dir, "drive.rep"), "utf8").includes(azuriteKey))

    const before = snapshot(x.drive)
    const rep = readFileSync(path.join(x.dir, "drive.rep"))
    const again = await waie(x.dir, ["RepairExport", "/r:drive.rep", `/d:${x.drive}`, "/CopyLogFile:service_error.xml", ...storage(), "--json"])
    assert.equal(again.status, 0, again.stdout)
    assert.match(again.stdout, /"type":"repair".*"alreadyFinished":true/)
    assert.deepEqual(snapshot(x.drive), before)
    assert.ok(readFileSync(path.join(x.dir, "drive.rep")).equals(rep), "a finished repair does not touch its repair file")
    // the other tests expect big.bin as seeded
    await svc.getContainerClient("photos").getBlockBlobClient("big.bin").uploadData(bytes(2, 9 * MiB + 7), { blockSize: 4 * MiB, maxSingleShotSize: 1 })
  })

  it("with the manifest: damage the copy log knows nothing about is found and repaired; without it, it is not", async () => {
    const x = await exportDrive()
    const big = localPathOf(x.drive, "\\photos\\big.bin")
    flip(big, 4 * MiB + 17)
    truncateSync(localPathOf(x.drive, "\\photos\\a.jpg"), 1000)
    unlinkSync(localPathOf(x.drive, "\\photos\\empty.txt"))
    writeFileSync(localPathOf(x.drive, "\\photos\\a.jpg.metadata"), "<Metadata><Author>Bob</Author></Metadata>")
    unlinkSync(localPathOf(x.drive, "\\music\\love.mp3.properties"))
    const vhd = localPathOf(x.drive, "\\disks\\d.vhd")
    const v = readFileSync(vhd)
    v.fill(0, 9 * MiB, 9 * MiB + 512)
    writeFileSync(vhd, v)

    const without = await waie(x.dir, ["RepairExport", "/r:plain.rep", `/d:${x.drive}`, `/CopyLogFile:${x.verbose}`, ...storage()])
    assert.equal(without.status, 0, without.stderr)
    assert.match(without.stdout, /pass 1: 0 blobs done, 0 unresolved; the repair is finished/)
    assert.notEqual(md5(readFileSync(big)), md5(await download("photos/big.bin")), "the copy log alone says every blob is fine")

    const r = await waie(x.dir, ["RepairExport", "/r:drive.rep", `/d:${x.drive}`, `/CopyLogFile:${x.error}`, `/ManifestFile:${x.manifest}`, ...storage(), "--json"])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    const repaired = lines.filter((l) => l.type === "blob" && l.parts !== 0).map((l) => [l.blobPath, l.detail])
    assert.deepEqual(repaired.map((x) => x[0]).sort(), ["disks/d.vhd", "music/love.mp3", "photos/a.jpg", "photos/big.bin", "photos/empty.txt"])
    assert.match(String(repaired.find((x) => x[0] === "photos/big.bin")![1]), /^1 block differed from the manifest: downloaded in place$/)
    assert.match(String(repaired.find((x) => x[0] === "photos/a.jpg")![1]), /^downloaded whole \(its file is missing or not the manifest's length\)/)
    assert.match(String(repaired.find((x) => x[0] === "music/love.mp3")![1]), /love\.mp3\.properties was missing: written again/)
    const summary = lines.find((l) => l.type === "repair")!
    assert.deepEqual([summary.finished, summary.unresolved, summary.rewritten], [true, 0, 5])
    await assertDriveEqualsStorage(x.drive, x.verbose)
    const check = await readExportDrive(x.drive)
    assert.equal(check.report.ok, true)

    const before = snapshot(x.drive)
    const again = await waie(x.dir, ["RepairExport", "/r:drive.rep", `/d:${x.drive}`, `/CopyLogFile:${x.error}`, `/ManifestFile:${x.manifest}`, ...storage()])
    assert.equal(again.status, 0)
    assert.match(again.stdout, /the repair in drive\.rep is finished: nothing to do/)
    assert.deepEqual(snapshot(x.drive), before)
  })

  it("a crash half way (storage failing after a few reads) resumes from the repair file and downloads only what is left", async () => {
    const x = await exportDrive()
    const big = localPathOf(x.drive, "\\photos\\big.bin")
    for (const at of [10, 4 * MiB + 10, 8 * MiB + 10]) flip(big, at)
    const reads: Array<number> = []
    const failingAfter = (n: number): BlobStoreService => ({
      ...store,
      read: (ref, offset, length, etag) =>
        Effect.suspend(() => {
          reads.push(offset)
          return reads.length > n ? Effect.fail(new StorageError({ operation: "read blob", target: `${ref.container}/${ref.name}`, code: "Unreachable", detail: "test: the network went away" })) : store.read(ref, offset, length, etag)
        }),
    })
    const run = (s: BlobStoreService) =>
      Effect.runPromiseExit(
        runRepairExport({ repairFile: { real: path.join(x.dir, "crash.rep"), shown: "crash.rep" }, drive: { real: x.drive, shown: x.drive }, copyLog: { real: x.verbose, shown: "verbose.xml" }, manifest: { real: x.manifest, shown: "DriveManifest.xml" }, group: 1, rangesInFlight: 1 }).pipe(
          Effect.provide(Layer.mergeAll(Layer.succeed(BlobStore, s), VolumesTest({}).pipe(Layer.provide(NodeContext.layer)), NodeContext.layer)),
        ),
      )
    const first = await run(failingAfter(2))
    assert.ok(Exit.isFailure(first), `the first run stops with the storage error: ${JSON.stringify(Exit.isSuccess(first) ? first.value : "")} reads ${reads.join(",")}`)
    const records = Chunk.toArray(await Effect.runPromise(Stream.runCollect(readRepairFile(path.join(x.dir, "crash.rep"))).pipe(Effect.provide(NodeContext.layer))))
    const parts = records.flatMap((e) => (e._tag === "PartsRepaired" && e.blobPath === "photos/big.bin" ? e.offsets : []))
    assert.deepEqual(parts, [0, 4 * MiB], "two blocks written and recorded before the crash")
    assert.ok(!records.some((e) => e._tag === "BlobRepaired" && e.blobPath === "photos/big.bin"))
    reads.length = 0
    const second = await run({ ...store, read: (ref, offset, length, etag) => Effect.suspend(() => (reads.push(offset), store.read(ref, offset, length, etag))) })
    assert.ok(Exit.isSuccess(second), String(Exit.isFailure(second) ? second.cause : ""))
    assert.equal(second.value.finished, true)
    assert.deepEqual(reads, [8 * MiB], "only the block left is downloaded")
    assert.ok(readFileSync(big).equals(await download("photos/big.bin")))
  })

  it("bad input is refused with nothing changed: another drive's log, an import log, another log's repair file, an unknown status, another drive's manifest, no credentials, an unreachable endpoint", async () => {
    const x = await exportDrive()
    const y = await exportDrive()
    flip(localPathOf(x.drive, "\\photos\\a.jpg"), 5)
    const before = snapshot(x.drive)
    const base = ["RepairExport", "/r:bad.rep", `/d:${x.drive}`]
    const refused = async (args: ReadonlyArray<string>, code: number, message: RegExp) => {
      const r = await waie(x.dir, args)
      assert.equal(r.status, code, `${args.join(" ")}: ${r.stderr}${r.stdout}`)
      assert.match(r.stderr, message)
      assert.ok(!r.stderr.includes(azuriteKey))
      assert.deepEqual(snapshot(x.drive), before)
      assert.equal(existsSync(path.join(x.dir, "bad.rep")), false, "no repair file is created")
    }
    await refused([...base, `/CopyLogFile:${y.verbose}`, ...storage()], 1, /the copy log is of drive "WAIE[0-9A-F]+", but the drive .* is drive "WAIE[0-9A-F]+"; give the copy log of that drive/)
    await refused([...base, `/CopyLogFile:${x.verbose}`, `/ManifestFile:${y.manifest}`, ...storage()], 1, /but the manifest .* is drive/)
    const importLog = path.join(x.dir, "import.xml")
    writeFileSync(importLog, readFileSync(x.verbose, "utf8").replace(/<LastModified>[^<]*<\/LastModified>/g, '<ImportDisposition Status="Created">rename</ImportDisposition>'))
    await refused([...base, "/CopyLogFile:import.xml", ...storage()], 1, /this is the copy log of an import drive .*RepairImport repairs import jobs/)
    const wonky = path.join(x.dir, "wonky.xml")
    const text = readFileSync(x.verbose, "utf8")
    const line = text.slice(0, text.indexOf('Status="Completed"')).split("\n").length
    writeFileSync(wonky, text.replace('Status="Completed"', 'Status="Wonky"'))
    await refused([...base, "/CopyLogFile:wonky.xml", ...storage()], 1, new RegExp(`wonky\\.xml:${line}:\\d+: Blob/@Status: expected a blob status: one of Completed, CompletedWithErrors, .*found "Wonky"`))
    await refused([...base, `/CopyLogFile:${x.verbose}`], 2, /RepairExport needs the storage account of the job: \/sn:ACCOUNT with \/sk:KEY or \/csas:SAS/)
    await refused([...base, `/CopyLogFile:${x.verbose}`, `/ManifestFile:${x.manifest}`, `/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", "http://127.0.0.1:9/devstoreaccount1"], 3, /^storage: get blob properties disks\/d\.vhd: Unreachable/m)

    // a repair file of another log: left as it is
    const ok = await waie(x.dir, ["RepairExport", "/r:mine.rep", `/d:${y.drive}`, `/CopyLogFile:${y.verbose}`, ...storage()])
    assert.equal(ok.status, 0, ok.stderr)
    const rep = readFileSync(path.join(x.dir, "mine.rep"))
    const other = await waie(x.dir, ["RepairExport", "/r:mine.rep", `/d:${x.drive}`, `/CopyLogFile:${x.verbose}`, ...storage()])
    assert.equal(other.status, 1)
    assert.match(other.stderr, /mine\.rep: this repair file records the repair of another copy log .*; it was left unchanged/)
    assert.ok(readFileSync(path.join(x.dir, "mine.rep")).equals(rep))
    assert.deepEqual(snapshot(x.drive), before)
  })
})
