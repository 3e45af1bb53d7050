/**
 * Export, then import (issue 4's round trip): blobs seeded in one azurite with the Azure SDK,
 * `waie service export` onto a folder drive, `waie service import` of that drive into a second
 * azurite (and back into the first, where the names are taken), every blob compared with its
 * original: bytes (MD5 of the whole blob), type, length, page ranges, metadata and the HTTP
 * properties. The real commands, as a user runs them.
 *
 * An export drive is not an import drive: its manifest carries no credential and no
 * ImportDisposition, and its properties files carry Last-Modified, Etag and Content-Length. The
 * import takes it (a note for the missing credential; the disposition is 001's default, rename;
 * the three properties the service sets are ignored) — these tests fail if it refuses or
 * mishandles any of that.
 */
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { azuriteKey, type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { bytes, MiB, waieBin } from "../lib/service/test-drives.ts"

let src: RunningAzurite
let dst: RunningAzurite
let source: BlobServiceClient
let target: BlobServiceClient
const temps: Array<string> = []

interface Seed {
  readonly blobPath: string
  readonly kind: "block" | "blockStaged" | "page" | "append"
  readonly data: Buffer
  /** page blobs: the ranges written (offset, length), the rest of the blob never written */
  readonly pages?: ReadonlyArray<readonly [number, number]>
  readonly metadata?: Record<string, string>
  readonly headers?: {
    blobContentType?: string
    blobContentEncoding?: string
    blobContentLanguage?: string
    blobCacheControl?: string
    blobContentDisposition?: string
  }
}

const pageBlob = (length: number, pages: ReadonlyArray<readonly [number, number]>, seed: number): Buffer => {
  const data = Buffer.alloc(length)
  pages.forEach(([offset, n], i) => bytes(seed + i, n).copy(data, offset))
  return data
}

const vhdPages: ReadonlyArray<readonly [number, number]> = [
  [0, 4096],
  [MiB + 512, 512],
  // across the 4 MiB boundary: the export cuts it in two ranges, the import puts both
  [4 * MiB - 8192, 3 * 8192],
  [6 * MiB - 512, 512],
]

const seeds: ReadonlyArray<Seed> = [
  { blobPath: "photos/a.jpg", kind: "block", data: bytes(1, 100_000), metadata: { Author: "Jane", trip: "2024" }, headers: { blobContentType: "image/jpeg", blobCacheControl: "max-age=60", blobContentLanguage: "fr-CA", blobContentDisposition: 'attachment; filename="a.jpg"' } },
  // more than 4 MiB in one Put Blob (the service computes its Content-MD5)
  { blobPath: "photos/big.bin", kind: "block", data: bytes(2, 9 * MiB + 7), headers: { blobContentType: "application/octet-stream", blobContentEncoding: "identity" } },
  // more than 4 MiB in staged blocks of 1 MiB (no Content-MD5): the import's blocks are 4 MiB
  { blobPath: "photos/staged.bin", kind: "blockStaged", data: bytes(3, 5 * MiB + 3), metadata: { x: "1" } },
  { blobPath: "photos/empty.txt", kind: "block", data: Buffer.alloc(0), metadata: { note: "nothing here" }, headers: { blobContentType: "text/plain" } },
  { blobPath: "photos/trip day 1/naïve café ☕.txt", kind: "block", data: bytes(4, 5), headers: { blobContentType: "text/plain; charset=utf-8" } },
  { blobPath: "photos/写真/東京 (1).jpg", kind: "block", data: bytes(5, 4 * MiB), metadata: { place: "Tokyo" } },
  { blobPath: "$root/logo.bmp", kind: "block", data: bytes(6, 1000) },
  { blobPath: "vhds/disk one.vhd", kind: "page", data: pageBlob(6 * MiB, vhdPages, 10), pages: vhdPages, metadata: { os: "linux" }, headers: { blobContentType: "application/octet-stream" } },
  { blobPath: "vhds/blank.vhd", kind: "page", data: Buffer.alloc(MiB), pages: [] },
  // the manifest has no kind for an append blob: it comes back a block blob of the same bytes
  { blobPath: "logs/app.log", kind: "append", data: bytes(7, 3000), metadata: { rotated: "no" }, headers: { blobContentType: "text/plain" } },
]

const containerOf = (svc: BlobServiceClient, blobPath: string): [ContainerClient, string] => {
  const slash = blobPath.indexOf("/")
  return [svc.getContainerClient(blobPath.slice(0, slash)), blobPath.slice(slash + 1)]
}

const seedInto = async (svc: BlobServiceClient): Promise<void> => {
  for (const s of seeds) {
    const [c, name] = containerOf(svc, s.blobPath)
    await c.createIfNotExists()
    const options = { metadata: s.metadata ?? {}, blobHTTPHeaders: s.headers ?? {} }
    if (s.kind === "block") await c.getBlockBlobClient(name).uploadData(s.data, options)
    else if (s.kind === "blockStaged") await c.getBlockBlobClient(name).uploadData(s.data, { ...options, maxSingleShotSize: MiB, blockSize: MiB })
    else if (s.kind === "append") {
      const a = c.getAppendBlobClient(name)
      await a.create(options)
      for (let at = 0; at < s.data.length; at += 1024) await a.appendBlock(s.data.subarray(at, at + 1024), Math.min(1024, s.data.length - at))
    } else {
      const p = c.getPageBlobClient(name)
      await p.create(s.data.length, options)
      for (const [offset, n] of s.pages ?? []) await p.uploadPages(s.data.subarray(offset, offset + n), offset, n)
    }
  }
}

before(async () => {
  ;[src, dst] = await Promise.all([startTestAzurite(), startTestAzurite()])
  source = BlobServiceClient.fromConnectionString(src.connectionString)
  target = BlobServiceClient.fromConnectionString(dst.connectionString)
  await seedInto(source)
})

after(async () => {
  await Promise.all([src?.stop(), dst?.stop()])
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Run waie (asynchronously: both azurites live in this process's event loop). */
const waie = (cwd: string, args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [waieBin, ...args], { cwd, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const lines = (r: Ran, type: string): Array<Record<string, unknown>> =>
  r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e["type"] === type)

const lowerKeys = (r: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]))

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex")

/** Everything an import should give back, as one comparable value. */
const snapshot = async (svc: BlobServiceClient, blobPath: string) => {
  const [c, name] = containerOf(svc, blobPath)
  const b = c.getBlobClient(name)
  const p = await b.getProperties()
  const data = p.contentLength === 0 ? Buffer.alloc(0) : await b.downloadToBuffer()
  // the SDK's `count` is the last byte's offset less the first's; adjacent ranges are merged
  // because azurite lists pages as they were put (the export cuts a range at 4 MiB, the import
  // puts both halves): the pages written are the same, the listing's granularity is not
  const ranges =
    p.blobType === "PageBlob" ? merged(((await c.getPageBlobClient(name).getPageRanges()).pageRange ?? []).map((r) => [r.offset, (r.count ?? 0) + 1] as const)) : undefined
  return {
    blobType: p.blobType,
    length: p.contentLength,
    md5: md5(data),
    ranges,
    metadata: p.metadata,
    contentType: p.contentType,
    contentMD5: p.contentMD5 === undefined ? undefined : Buffer.from(p.contentMD5).toString("base64"),
    contentEncoding: p.contentEncoding,
    contentLanguage: p.contentLanguage,
    cacheControl: p.cacheControl,
    contentDisposition: p.contentDisposition,
  }
}

/** Merged page ranges as [offset, length]. */
const merged = (pages: ReadonlyArray<readonly [number, number]>): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  for (const [o, n] of [...pages].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1]
    if (last && last[0] + last[1] === o) last[1] += n
    else out.push([o, n])
  }
  return out
}

const blobList = `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPathPrefix>/photos/</BlobPathPrefix>\n  <BlobPathPrefix>/vhds/</BlobPathPrefix>\n  <BlobPathPrefix>/logs/</BlobPathPrefix>\n  <BlobPath>$root/logo.bmp</BlobPath>\n</BlobList>\n`

/** Export the seeds from `src` onto a fresh folder drive; its folder. */
const exportDrive = async (): Promise<{ dir: string; drive: string; driveId: string }> => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-roundtrip-"))
  temps.push(dir)
  writeFileSync(path.join(dir, "list.xml"), blobList)
  mkdirSync(path.join(dir, "drive"))
  const r = await waie(dir, ["service", "export", "--blob-list", "list.xml", "--drive", "drive", "--job", "out", "--logdir", "export-logs", "--connection-string", src.connectionString, "--json"])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.equal(lines(r, "blob").length, seeds.length)
  const driveId = lines(r, "drive")[0]!["driveId"] as string
  return { dir, drive: path.join(dir, "drive"), driveId }
}

describe("export then import", () => {
  it("into another account: every blob identical (bytes, type, length, page ranges, metadata, properties); Created, the drive Completed", async () => {
    const x = await exportDrive()
    const manifest = readFileSync(path.join(x.drive, "DriveManifest.xml"), "utf8")
    assert.doesNotMatch(manifest, /StorageAccountKey|ContainerSas|ImportDisposition/, "an export manifest, as the service writes it")
    const props = /<PropertiesPath Hash="[0-9A-F]{32}">([^<]+)<\/PropertiesPath>/.exec(manifest)
    assert.ok(props, "the blobs' own properties files are in the manifest")
    assert.match(readFileSync(path.join(x.drive, ...props[1]!.split("\\").filter((p) => p !== "")), "utf8"), /<Last-Modified>[^<]+<\/Last-Modified>[\s\S]*<Etag>[\s\S]*<Content-Length>/)

    const r = await waie(x.dir, ["service", "import", "--drive", "drive", "--job", "back", "--logdir", "import-logs", "--connection-string", dst.connectionString, "--json"])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.ok(!r.stdout.includes(azuriteKey) && !r.stderr.includes(azuriteKey))
    assert.deepEqual(
      lines(r, "blob").map((b) => [b["blobPath"], b["status"], b["dispositionStatus"]]),
      lines(r, "blob").map((b) => [b["manifestBlobPath"] ?? b["blobPath"], "Completed", "Created"]),
    )
    assert.deepEqual(new Set(lines(r, "blob").map((b) => b["blobPath"])), new Set(seeds.map((s) => s.blobPath)))
    // every blob's own properties file applied (it carries Last-Modified, Etag, Content-Length: ignored, not refused), and its metadata file where it has one
    assert.deepEqual(
      lines(r, "blob").map((b) => [b["blobPath"], b["properties"], b["metadata"]]),
      lines(r, "blob").map((b) => [b["blobPath"], "Completed", Object.keys(seeds.find((s) => s.blobPath === b["blobPath"])!.metadata ?? {}).length > 0 ? "Completed" : undefined]),
    )
    const drive = lines(r, "drive")[0]!
    assert.equal(drive["status"], "Completed")
    assert.equal(drive["driveId"], x.driveId)

    for (const s of seeds) {
      const before = await snapshot(source, s.blobPath)
      const after = await snapshot(target, s.blobPath)
      assert.deepEqual(after, s.kind === "append" ? { ...before, blobType: "BlockBlob" } : before, s.blobPath)
      // and the original is what was seeded (the comparison above is not between two empty blobs)
      assert.equal(before.md5, md5(s.data), s.blobPath)
      assert.equal(before.blobType, s.kind === "page" ? "PageBlob" : s.kind === "append" ? "AppendBlob" : "BlockBlob")
      assert.deepEqual(before.metadata, lowerKeys(s.metadata ?? {}), s.blobPath)
      if (s.headers?.blobContentType !== undefined) assert.equal(before.contentType, s.headers.blobContentType, s.blobPath)
      if (s.kind === "page") assert.deepEqual(after.ranges, merged(s.pages ?? []), s.blobPath)
    }
    // Content-MD5 both ways: set by Put Blob and carried in the properties file, absent after staged blocks and kept absent
    assert.ok((await snapshot(target, "photos/big.bin")).contentMD5 !== undefined)
    assert.equal((await snapshot(target, "photos/staged.bin")).contentMD5, undefined)
  })

  it("back into the same account, every name taken: each blob renamed to `name (2).ext` (an export manifest has no ImportDisposition: rename, 001's default), identical; a note for the missing credential", async () => {
    const x = await exportDrive()
    const r = await waie(x.dir, ["service", "import", "--drive", "drive", "--job", "again", "--logdir", "import-logs", "--connection-string", src.connectionString])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /: CompletedWithWarnings \(/)
    assert.match(r.stdout, new RegExp(`dispositions: Renamed ${seeds.length}\n`))
    assert.match(r.stdout, /note: .*DriveManifest\.xml: no StorageAccountKey or ContainerSas/)
    for (const s of seeds) {
      const dot = s.blobPath.lastIndexOf(".")
      const copy = `${s.blobPath.slice(0, dot)} (2)${s.blobPath.slice(dot)}`
      const original = await snapshot(source, s.blobPath)
      assert.deepEqual(await snapshot(source, copy), s.kind === "append" ? { ...original, blobType: "BlockBlob" } : original, copy)
    }
  })
})
