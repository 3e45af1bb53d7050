/**
 * `waie service export` as a user runs it: the real command against an azurite the test starts
 * (blobs seeded with the Azure SDK), onto temp folders, and onto size-limited tmpfs drives where
 * the machine lets the test mount them (root). What the drives hold is checked by the export
 * testkit (manifest rules, every hash against the files) and by `waie manifest check --export`.
 */
import { BlobServiceClient } from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"
import { azuriteKey, type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { localPathOf } from "../lib/drive-paths.ts"
import { readExportDrive } from "../lib/service/export-testkit.ts"

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

let az: RunningAzurite
const temps: Array<string> = []
const mounted: Array<string> = []

const seed: Record<string, Buffer> = {
  "photos/a.jpg": bytes(1, 100_000),
  "photos/big.bin": bytes(2, 9 * MiB + 7),
  "photos/empty.txt": Buffer.alloc(0),
  "photos/trip day 1/b é.txt": bytes(3, 5),
  "$root/logo.bmp": bytes(4, 1000),
  "music/love.mp3": bytes(5, 10),
}

before(async () => {
  az = await startTestAzurite()
  const svc = BlobServiceClient.fromConnectionString(az.connectionString)
  for (const [p, data] of Object.entries(seed)) {
    const slash = p.indexOf("/")
    const c = svc.getContainerClient(p.slice(0, slash))
    await c.createIfNotExists()
    await c.getBlockBlobClient(p.slice(slash + 1)).uploadData(data, { metadata: p === "photos/a.jpg" ? { Author: "Jane" } : {} })
  }
})

after(async () => {
  for (const m of mounted.reverse()) spawnSync("umount", [m])
  await az?.stop()
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Run waie (asynchronously: azurite lives in this process's event loop). */
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

const list = (lines: ReadonlyArray<string>) => `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n${lines.map((l) => `  ${l}\n`).join("")}</BlobList>\n`
const mainList = list(["<BlobPathPrefix>/photos/</BlobPathPrefix>", "<BlobPath>$root/logo.bmp</BlobPath>", "<BlobPath>photos/a.jpg</BlobPath>", "<BlobPath>$root/logo.bmp</BlobPath>", "<BlobPathPrefix>/nothing/</BlobPathPrefix>"])
const selected = ["$root/logo.bmp", "photos/a.jpg", "photos/big.bin", "photos/empty.txt", "photos/trip day 1/b é.txt"]

const world = (xml: string, drives = 1) => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-svc-export-"))
  temps.push(dir)
  writeFileSync(path.join(dir, "list.xml"), xml)
  const roots = Array.from({ length: drives }, (_, i) => {
    const d = path.join(dir, `drive${i + 1}`)
    mkdirSync(d)
    return d
  })
  return { dir, drives: roots }
}

const exportArgs = (drives: ReadonlyArray<string>, extra: ReadonlyArray<string> = []) => ["service", "export", "--blob-list", "list.xml", ...drives.flatMap((d) => ["--drive", d]), "--job", "job7", "--logdir", "logs", "--connection-string", az.connectionString, ...extra]

const lines = (stdout: string): Array<Record<string, unknown>> => stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)

/** Mount a tmpfs of `bytes` at `at`, or false where this machine cannot. */
const tmpfs = (at: string, size: number): boolean => {
  mkdirSync(at, { recursive: true })
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at])
  if (r.status !== 0) return false
  mounted.push(at)
  return true
}

describe("waie service export", () => {
  it("one drive, --json: every blob exported and checked, counts, drive and summary lines; no key printed", async () => {
    const w = world(mainList)
    const r = await waie(w.dir, exportArgs(["drive1"], ["--json"]))
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.ok(!r.stdout.includes(azuriteKey) && !r.stderr.includes(azuriteKey))
    const events = lines(r.stdout)
    const sel = events.find((e) => e["type"] === "selection")!
    assert.deepEqual([sel["unique"], sel["duplicate"], sel["nonexistent"], sel["blobs"]], [4, 1, 1, 5])
    assert.deepEqual(sel["nonexistentEntries"], [{ line: 7, kind: "prefix", prefix: "/nothing/" }])
    assert.deepEqual(events.filter((e) => e["type"] === "blob").map((e) => [e["blobPath"], e["status"]]), selected.map((p) => [p, "Completed"]))
    const drive = events.find((e) => e["type"] === "drive")!
    assert.equal(drive["status"], "Completed")
    assert.deepEqual(events[events.length - 1], { type: "export", job: "job7", drives: 1, exported: 5, failed: 0, tooBig: 0, notExported: 0 })

    const d = await readExportDrive(path.join(w.dir, "drive1"))
    assert.equal(d.report.ok, true)
    assert.equal(d.report.hash, drive["manifestHash"])
    assert.deepEqual(d.blobs.map((b) => b.blobPath), selected)
    for (const b of d.blobs) assert.ok(seed[b.blobPath]!.equals(readFileSync(localPathOf(path.join(w.dir, "drive1"), b.filePath))), b.blobPath)
    // the manifest passes the check command, as an export manifest
    const check = spawnSync(process.execPath, [bin, "manifest", "check", path.join(w.dir, "drive1", "DriveManifest.xml"), "--export"], { encoding: "utf8" })
    assert.equal(check.status, 0, check.stdout + check.stderr)
    // the copy logs are in the log folder under the service's names
    const logs = readdirSync(path.join(w.dir, "logs")).sort()
    assert.equal(logs.length, 2)
    assert.match(logs[0]!, new RegExp(`^job7_${d.driveId}_\\d{8}-\\d{6}-\\d{3}_error\\.xml$`))
    assert.match(logs[1]!, /_verbose\.xml$/)
  })

  it("human output: what was selected, each drive, its manifest and logs", async () => {
    const w = world(mainList)
    const r = await waie(w.dir, exportArgs(["drive1"]))
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^blob list: 4 unique paths\/prefixes, 1 duplicate, 1 nonexistent; 5 blobs selected \(9\.54 MB\)\n  nonexistent: line 7: BlobPathPrefix \/nothing\/\ndrive drive1 \(DriveId WAIE[0-9A-F]{12}\): 5 blobs, 9\.54 MB: Completed\n  manifest .*DriveManifest\.xml \(ManifestHash [0-9A-F]{32}\)\n  copy logs .*_verbose\.xml, .*_error\.xml \(uploaded to waimportexport\/waies\/\)\n$/)
  })

  it("drives that run out: what fits is exported, the rest listed (exit 5) in a blob list a second export takes", async (t) => {
    const w = world(mainList)
    const g = path.join(w.dir, "g")
    const h = path.join(w.dir, "h")
    // room for the 9 MiB blob alone (1 MiB reserve + 9 MiB + 64 KiB), not after the two blobs before it
    if (!tmpfs(g, 10 * MiB + 64 * 1024)) {
      t.diagnostic("cannot mount tmpfs here (not root): drives that run out are covered in process by lib/service/export.test.ts")
      return
    }
    const r = await waie(w.dir, exportArgs(["g"]))
    assert.equal(r.status, 5, r.stdout + r.stderr)
    assert.match(r.stderr, /^1 blob \(9437191 bytes\) not exported: the drives are full \("photos\/big\.bin"\); export them onto more drives with --blob-list .*job7_\d{8}-\d{6}-\d{3}_not-exported\.xml\n$/)
    const rest = /--blob-list (\S+)\n$/.exec(r.stderr)![1]!
    const d = await readExportDrive(g)
    assert.deepEqual(d.blobs.map((b) => b.blobPath), selected.filter((p) => p !== "photos/big.bin"))
    // the second export takes the list as it is
    assert.ok(tmpfs(h, 16 * MiB))
    const again = await waie(w.dir, ["service", "export", "--blob-list", rest, "--drive", "h", "--logdir", "logs", "--connection-string", az.connectionString, "--json"])
    assert.equal(again.status, 0, again.stdout + again.stderr)
    assert.deepEqual((await readExportDrive(h)).blobs.map((b) => b.blobPath), ["photos/big.bin"])
  })

  it("two tmpfs drives: the blob too big for the first goes whole to the second", async (t) => {
    const w = world(mainList)
    const g = path.join(w.dir, "g")
    const h = path.join(w.dir, "h")
    if (!tmpfs(g, 4 * MiB)) {
      t.diagnostic("cannot mount tmpfs here (not root): placement over several drives is covered in process by lib/service/export.test.ts")
      return
    }
    assert.ok(tmpfs(h, 16 * MiB))
    const r = await waie(w.dir, exportArgs(["g", "h"], ["--json"]))
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const [dg, dh] = [await readExportDrive(g), await readExportDrive(h)]
    assert.deepEqual(dh.blobs.map((b) => b.blobPath), ["photos/big.bin"])
    assert.deepEqual(dg.blobs.map((b) => b.blobPath), selected.filter((p) => p !== "photos/big.bin"))
    assert.equal(lines(r.stdout).filter((e) => e["type"] === "drive").length, 2)
  })

  it("a malformed blob list: exit 1 naming the file, line and element; nothing written", async () => {
    const w = world(list(["<BlobPath>photos/a.jpg</BlobPath>", "<BlobPathPrefix>photos/</BlobPathPrefix>"]))
    const r = await waie(w.dir, exportArgs(["drive1"]))
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /^list\.xml: invalid bloblist \(1 problem\)\nlist\.xml:4:\d+: BlobPathPrefix: expected a prefix starting with '\/'/)
    assert.deepEqual(readdirSync(w.dir).sort(), ["drive1", "list.xml"])
    assert.deepEqual(readdirSync(path.join(w.dir, "drive1")), [])
  })

  it("a drive that is not empty: exit 1, nothing written on any drive", async () => {
    const w = world(mainList, 2)
    writeFileSync(path.join(w.drives[1]!, "notes.txt"), "mine")
    const r = await waie(w.dir, exportArgs(["drive1", "drive2"], ["--json"]))
    assert.equal(r.status, 1, r.stdout + r.stderr)
    const e = lines(r.stdout).at(-1)!
    assert.equal(e["error"], "ExportDriveNotEmpty")
    assert.match(String(e["message"]), /^drive drive2: .*drive2 is not empty \(1 entry: "notes\.txt"\); an export writes onto an empty drive/)
    assert.deepEqual(readdirSync(w.drives[0]!), [])
    assert.deepEqual(readdirSync(w.drives[1]!), ["notes.txt"])
    assert.equal(existsSync(path.join(w.dir, "logs")), false)
  })

  it("command-line mistakes are exit 2", async () => {
    const w = world(mainList)
    const noList = await waie(w.dir, ["service", "export", "--drive", "drive1"])
    assert.equal(noList.status, 2)
    assert.match(noList.stderr, /--blob-list FILE is required/)
    const noDrive = await waie(w.dir, ["service", "export", "--blob-list", "list.xml"])
    assert.equal(noDrive.status, 2)
    const twice = await waie(w.dir, exportArgs(["drive1", "./drive1"]))
    assert.equal(twice.status, 2, twice.stderr)
    assert.match(twice.stderr, /--drive.*each drive once/)
    assert.deepEqual(readdirSync(path.join(w.dir, "drive1")), [])
  })
})
