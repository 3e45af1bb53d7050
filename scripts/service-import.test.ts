/**
 * `waie service import` as a user runs it: drives prepared by a real `waie PrepImport`, imported
 * by the real command into an azurite the test starts (and stops), every blob read back with the
 * Azure SDK and compared with its source file.
 */
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { after, before, beforeEach, test } from "node:test"
import { type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { bytes, md5, MiB, type PreparedDrive, prepareDrive, waieBin } from "../lib/service/test-drives.ts"

let az: RunningAzurite
let svc: BlobServiceClient

before(async () => {
  az = await startTestAzurite()
  svc = BlobServiceClient.fromConnectionString(az.connectionString)
})

after(async () => {
  await az?.stop()
})

beforeEach(async () => {
  for await (const c of svc.listContainers()) await svc.getContainerClient(c.name).delete()
})

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Run waie (asynchronously: azurite lives in this process's event loop). */
const waie = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [waieBin, ...args], { cwd, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "", ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const importArgs = (d: PreparedDrive, extra: ReadonlyArray<string> = []): Array<string> => ["service", "import", "--drive", d.root, "--logdir", path.join(d.dir, "copylogs"), "--connection-string", az.connectionString, "--json", ...extra]

const lines = (r: Ran): Array<Record<string, unknown>> =>
  r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

const events = (r: Ran, type: string) => lines(r).filter((e) => e["type"] === type)

const container = (blobPath: string): [ContainerClient, string] => {
  const slash = blobPath.indexOf("/")
  return [svc.getContainerClient(blobPath.slice(0, slash)), blobPath.slice(slash + 1)]
}

const download = async (blobPath: string): Promise<Buffer> => {
  const [c, name] = container(blobPath)
  return c.getBlobClient(name).downloadToBuffer()
}

const exists = async (blobPath: string): Promise<boolean> => {
  const [c, name] = container(blobPath)
  return c.getBlobClient(name).exists()
}

const put = async (blobPath: string, data: Buffer, metadata: Record<string, string> = {}): Promise<void> => {
  const [c, name] = container(blobPath)
  await c.createIfNotExists()
  await c.getBlockBlobClient(name).uploadData(data, { metadata })
}

test("a prepared drive imports into azurite: every blob's bytes equal its source, sparse page ranges, metadata and properties, the copy logs in the log folder and in storage", async () => {
  const d = prepareDrive()
  try {
    mkdirSync(path.join(d.dir, "copylogs"))
    const r = await waie(d.dir, importArgs(d, ["--drive-info", d.jobFile, "--job", "rehearsal"]))
    assert.equal(r.status, 0, r.stdout + r.stderr)
    for (const [blobPath, src] of d.sources) assert.equal(md5(await download(blobPath)), md5(readFileSync(src)), blobPath)
    const [vhds] = container("vhds/d.vhd")
    const ranges = await vhds.getPageBlobClient("d.vhd").getPageRanges()
    assert.deepEqual(
      ranges.pageRange?.map((p) => [p.offset, (p.count ?? 0) + 1]),
      [
        [0, 4096],
        [4096 + MiB, 512],
      ],
      "only the non-zero ranges are written",
    )
    const [pictures] = container("pictures/a.jpg")
    const props = await pictures.getBlobClient("a.jpg").getProperties()
    assert.deepEqual(props.metadata, { trip: "2024", camera: "Nikon" })
    assert.equal(props.contentType, "image/jpeg")
    assert.equal(props.cacheControl, "max-age=60")

    const blobs = events(r, "blob")
    assert.deepEqual(
      blobs.map((b) => [b["blobPath"], b["status"], b["dispositionStatus"]]),
      [
        ["pictures/a.jpg", "Completed", "Created"],
        ["pictures/big.bin", "Completed", "Created"],
        ["pictures/empty.txt", "Completed", "Created"],
        ["vhds/d.vhd", "Completed", "Created"],
      ],
    )
    const [drive] = events(r, "drive")
    assert.equal(drive!["status"], "Completed")
    assert.equal(drive!["driveId"], d.driveId)
    const verbose = drive!["verboseLog"] as string
    assert.match(path.basename(verbose), new RegExp(`^rehearsal_${d.driveId}_\\d{8}-\\d{6}-\\d{3}_verbose\\.xml$`))
    assert.deepEqual(readdirSync(path.join(d.dir, "copylogs")).sort(), [path.basename(drive!["errorLog"] as string), path.basename(verbose)].sort())
    assert.equal((await download(drive!["verboseLogBlob"] as string)).toString("utf8"), readFileSync(verbose, "utf8"))
    assert.match(drive!["verboseLogBlob"] as string, /^waimportexport\/waies\/rehearsal_/)
    assert.equal((readFileSync(verbose, "utf8").match(/<Blob /g) ?? []).length, 4)
    assert.ok(!r.stdout.includes(az.key) && !r.stderr.includes(az.key), "no key in the output")
    const check = await waie(d.dir, ["copylog", "check", verbose])
    assert.equal(check.status, 0, check.stdout + check.stderr)
  } finally {
    d.cleanup()
  }
})

test("dispositions against azurite: rename to x (2).ext then x (3).ext; no-overwrite keeps the old bytes; overwrite replaces; a held lease is LeasePresent", async () => {
  const d = prepareDrive()
  const skip = prepareDrive({ photos: "no-overwrite" })
  const over = prepareDrive({ photos: "overwrite" })
  try {
    const first = await waie(d.dir, importArgs(d))
    assert.equal(first.status, 0, first.stdout + first.stderr)
    const second = await waie(d.dir, importArgs(d))
    assert.equal(second.status, 0, second.stdout + second.stderr)
    assert.equal(events(second, "drive")[0]!["status"], "CompletedWithWarnings")
    const third = await waie(d.dir, importArgs(d))
    assert.deepEqual(
      events(third, "blob").map((b) => [b["blobPath"], b["manifestBlobPath"], b["dispositionStatus"]]),
      [
        ["pictures/a (3).jpg", "pictures/a.jpg", "Renamed"],
        ["pictures/big (3).bin", "pictures/big.bin", "Renamed"],
        ["pictures/empty (3).txt", "pictures/empty.txt", "Renamed"],
        ["vhds/d.vhd", undefined, "Overwritten"],
      ],
    )
    const a = readFileSync(d.sources.get("pictures/a.jpg")!)
    for (const p of ["pictures/a.jpg", "pictures/a (2).jpg", "pictures/a (3).jpg"]) assert.equal(md5(await download(p)), md5(a), p)

    const old = bytes(99, 777)
    await put("pictures/a.jpg", old, { Old: "yes" })
    const s = await waie(skip.dir, importArgs(skip))
    assert.equal(s.status, 0, s.stdout + s.stderr)
    assert.equal(events(s, "blob").find((b) => b["blobPath"] === "pictures/a.jpg")!["dispositionStatus"], "Skipped")
    assert.equal(md5(await download("pictures/a.jpg")), md5(old), "no-overwrite leaves the old bytes")

    const o = await waie(over.dir, importArgs(over))
    assert.equal(o.status, 0, o.stdout + o.stderr)
    assert.equal(md5(await download("pictures/a.jpg")), md5(readFileSync(over.sources.get("pictures/a.jpg")!)), "overwrite replaces")
    const [pictures] = container("pictures/a.jpg")
    assert.deepEqual((await pictures.getBlobClient("a.jpg").getProperties()).metadata, { trip: "2024", camera: "Nikon" })

    await put("pictures/a.jpg", old)
    const lease = await pictures.getBlobClient("a.jpg").getBlobLeaseClient().acquireLease(-1)
    const l = await waie(over.dir, importArgs(over))
    assert.equal(l.status, 6, l.stdout + l.stderr)
    const la = events(l, "blob").find((b) => b["blobPath"] === "pictures/a.jpg")!
    assert.deepEqual([la["status"], la["dispositionStatus"], la["ranges"]], ["LeasePresent", "Cancelled", { Cancelled: 1 }])
    assert.equal(md5(await download("pictures/a.jpg")), md5(old))
    await pictures.getBlobClient("a.jpg").getBlobLeaseClient(lease.leaseId).releaseLease()
  } finally {
    d.cleanup()
    skip.cleanup()
    over.cleanup()
  }
})

test("damage on the drive: the copy logs say exactly what failed, nothing corrupted reaches storage, all else imports (exit 6)", async () => {
  const d = prepareDrive()
  try {
    const big = d.fileOf("pictures/big.bin")
    const b = readFileSync(big)
    b[4 * MiB + 10] = b[4 * MiB + 10]! ^ 0xff
    writeFileSync(big, b)
    unlinkSync(d.fileOf("pictures/a.jpg"))
    const manifest = readFileSync(path.join(d.root, "DriveManifest.xml"), "utf8")
    const props = /<PropertiesPath Hash="[0-9A-F]+">([^<]+)<\/PropertiesPath>/.exec(manifest)![1]!
    appendFileSync(path.join(d.root, ...props.split("\\").filter((s) => s !== "")), "\n")
    const r = await waie(d.dir, importArgs(d, ["--drive-info", d.jobFile]))
    assert.equal(r.status, 6, r.stdout + r.stderr)
    const [drive] = events(r, "drive")
    assert.equal(drive!["status"], "CompletedWithErrors")
    const errorLog = (await download(drive!["errorLogBlob"] as string)).toString("utf8")
    assert.equal(errorLog, readFileSync(drive!["errorLog"] as string, "utf8"))
    const blobsIn = (xml: string) => [...xml.matchAll(/<Blob Status="([^"]+)">\s*<BlobPath>([^<]+)<\/BlobPath>/g)].map((m) => [m[2], m[1]])
    assert.deepEqual(blobsIn(errorLog), [
      ["pictures/a.jpg", "FileNotFound"],
      ["pictures/big.bin", "CompletedWithErrors"],
      ["pictures/empty.txt", "CompletedWithErrors"],
    ])
    assert.match(errorLog, new RegExp(`<Block Offset="${4 * MiB}" Length="${4 * MiB}" Id="AQAAAA==" Hash="[0-9A-F]{32}" Status="Corrupted"/>`))
    assert.match(errorLog, /<Properties Status="Corrupted">/)
    assert.equal(blobsIn(readFileSync(drive!["verboseLog"] as string, "utf8")).length, 4)
    // the corrupted block never reached storage: the blob holds the two good blocks, nothing else staged
    const [pictures] = container("pictures/big.bin")
    const list = await pictures.getBlockBlobClient("big.bin").getBlockList("all")
    assert.deepEqual(list.committedBlocks?.map((x) => x.name), ["AAAAAA==", "AgAAAA=="])
    assert.deepEqual(list.uncommittedBlocks ?? [], [])
    assert.equal(await exists("pictures/a.jpg"), false)
    assert.equal(md5(await download("vhds/d.vhd")), md5(readFileSync(d.sources.get("vhds/d.vhd")!)))
    // the human summary names the failures
    const h = await waie(d.dir, ["service", "import", "--drive", d.root, "--logdir", path.join(d.dir, "copylogs"), "--connection-string", az.connectionString])
    assert.equal(h.status, 6)
    assert.match(h.stdout, /failed: pictures\/a \(2\)\.jpg|failed: pictures\/a\.jpg \(file [^)]+\): FileNotFound/)
  } finally {
    d.cleanup()
  }
})

test("drive level on azurite: a manifest that is not the job file's, then no manifest at all: exit 1, the drive status in the logs, no blob touched", async () => {
  const d = prepareDrive()
  try {
    const manifestFile = path.join(d.root, "DriveManifest.xml")
    const good = readFileSync(manifestFile, "utf8")
    writeFileSync(manifestFile, good.replace("<ClientCreator>", "<ClientCreator>x"))
    const corrupted = await waie(d.dir, importArgs(d, ["--drive-info", d.jobFile]))
    assert.equal(corrupted.status, 1, corrupted.stdout + corrupted.stderr)
    const [drive] = events(corrupted, "drive")
    assert.equal(drive!["status"], "ManifestCorrupted")
    assert.match((await download(drive!["errorLogBlob"] as string)).toString("utf8"), /<Status>ManifestCorrupted<\/Status>/)
    assert.equal(await exists("pictures/a.jpg"), false)

    unlinkSync(manifestFile)
    const missing = await waie(d.dir, ["service", "import", "--drive", d.root, "--logdir", path.join(d.dir, "copylogs"), "--connection-string", az.connectionString])
    assert.equal(missing.status, 1)
    assert.match(missing.stdout, /: ManifestNotFound \(the manifest file is missing\)/)
  } finally {
    d.cleanup()
  }
})

test("command line: a job file of no drive given, and storage that cannot be reached (exit 3, nothing on the drive changed, no secret printed)", async () => {
  const d = prepareDrive()
  try {
    const other = path.join(d.dir, "OTHER.xml")
    writeFileSync(other, readFileSync(d.jobFile, "utf8").replaceAll(d.driveId, "OTHER"))
    const u = await waie(d.dir, importArgs(d, ["--drive-info", other]))
    assert.equal(u.status, 2, u.stdout + u.stderr)
    assert.match(u.stdout, /drive OTHER, which is none of the drives given/)
    assert.ok(!u.stdout.includes("060456-014509"), "the BitLocker key is not shown")

    const key = "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy"
    const dead = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;`
    const r = await waie(d.dir, ["service", "import", "--drive", d.root, "--logdir", path.join(d.dir, "copylogs"), "--connection-string", dead])
    assert.equal(r.status, 3, r.stdout + r.stderr)
    assert.match(r.stderr, /Unreachable/)
    assert.ok(!(r.stdout + r.stderr).includes(key))
    assert.equal(existsSync(path.join(d.dir, "copylogs")) ? readdirSync(path.join(d.dir, "copylogs")).length : 0, 0)
  } finally {
    d.cleanup()
  }
})

test("without credentials waie imports into an azurite of its own (and says so)", async () => {
  const d = prepareDrive()
  try {
    const r = await waie(d.dir, ["service", "import", "--drive", d.root])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stderr, /azurite started by waie/)
    assert.match(r.stdout, /drive .* \(DriveId [^)]+\): Completed/)
    assert.equal(readdirSync(d.dir).filter((f) => f.endsWith("_verbose.xml")).length, 1, "the logs go to the current folder by default")
  } finally {
    d.cleanup()
  }
})
