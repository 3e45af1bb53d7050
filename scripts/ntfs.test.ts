/**
 * Real NTFS volumes, end to end: file-backed loop devices with a GPT partition, `mkfs.ntfs`,
 * mounted with ntfs-3g (FUSE), prepared by the real `waie PrepImport`, checked by `waie verify`,
 * imported by `waie service import` into an azurite the test starts, every blob compared with its
 * source. Then the drive canary on volumes that cannot keep data: one mounted read-only, and one
 * that accepts writes it cannot keep (its loop device's backing file lives on a full tmpfs, so
 * write() succeeds into the page cache and fsync reports EIO).
 *
 * Needs root, loop devices, FUSE, parted and ntfs-3g (`.ci/run` installs the last two with apt-get
 * where it can). Where any is missing every test here is skipped and says which.
 *
 * Everything made (loop devices, mounts, folders) is undone in `after`, also when a test fails.
 */
import { BlobServiceClient } from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, test } from "node:test"
import { type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { bitlocker, md5, MiB, metadataXml, propertiesXml, storageKey, waieBin } from "../lib/service/test-drives.ts"
import { linuxDeviceSerial, lsblkSerialFor, mountContaining, parseLsblk, parseMountInfo } from "../lib/volumes.ts"

// ---------------------------------------------------------------- the machine

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0

/** Why this machine cannot make NTFS volumes, or undefined when it can (as far as can be told before trying). */
const cannot = (): string | undefined => {
  if (process.platform !== "linux") return `loop devices and ntfs-3g are Linux's; this is ${process.platform}`
  if (process.getuid?.() !== 0) return "not root: attaching loop devices and mounting need root"
  if (!existsSync("/dev/loop-control")) return "no /dev/loop-control: this machine has no loop devices"
  if (!existsSync("/dev/fuse")) return "FUSE missing (no /dev/fuse): ntfs-3g cannot mount"
  for (const tool of ["losetup", "partx", "lsblk", "parted", "mkfs.ntfs", "ntfs-3g"]) {
    if (!has(tool)) return `${tool} is not installed${tool === "parted" || tool === "mkfs.ntfs" || tool === "ntfs-3g" ? " (apt-get install ntfs-3g parted; .ci/run does it where it can)" : ""}`
  }
  return undefined
}

class CannotMount extends Error {}

/** Run a setup command; its failure means the machine cannot, not that waie is wrong. */
const sh = (cmd: string, args: ReadonlyArray<string>): string => {
  const r = spawnSync(cmd, args, { encoding: "utf8" })
  if (r.status !== 0) throw new CannotMount(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? "")).trim().split("\n").slice(-2).join(" ")}`)
  return r.stdout
}

let work = ""
/** loop devices and mount points to undo, in the order made */
const loops: Array<string> = []
const mounts: Array<string> = []
let skipReason: string | undefined
let az: RunningAzurite | undefined

interface Volume {
  readonly image: string
  /** `/dev/loopN` */
  readonly loop: string
  /** the NTFS partition's block device */
  readonly partition: string
  /** `major:minor` of the partition */
  readonly majorMinor: string
  readonly mount: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The first partition of a loop device attached with `--partscan`. Here the kernel's scan at
 * attach time does not always see the GPT parted just wrote, so `partx -a` asks again; without
 * udev the device node comes from devtmpfs, or is made with mknod when /dev is not devtmpfs.
 */
const firstPartition = async (loop: string): Promise<{ partition: string; majorMinor: string }> => {
  const name = path.basename(loop)
  const sysDev = path.join("/sys/block", name, `${name}p1`, "dev")
  if (!existsSync(sysDev)) spawnSync("partx", ["-a", loop], { stdio: "ignore" })
  if (!existsSync(sysDev)) spawnSync("blockdev", ["--rereadpt", loop], { stdio: "ignore" })
  if (!existsSync(sysDev)) throw new CannotMount(`the kernel shows no partition on ${loop} after losetup --partscan, partx -a and blockdev --rereadpt`)
  const majorMinor = readFileSync(sysDev, "utf8").trim()
  const dev = `/dev/${name}p1`
  for (let i = 0; i < 50 && !existsSync(dev); i++) await sleep(20)
  if (existsSync(dev)) return { partition: dev, majorMinor }
  const [major, minor] = majorMinor.split(":")
  const made = path.join(work, `${name}p1`)
  sh("mknod", [made, "b", major!, minor!])
  return { partition: made, majorMinor }
}

/** A sparse image file of `mib` MiB: a GPT with one partition, NTFS on it, mounted with ntfs-3g. */
const ntfsVolume = async (name: string, mib: number, o: { readonly readOnly?: boolean; readonly imageDir?: string } = {}): Promise<Volume> => {
  const image = path.join(o.imageDir ?? work, `${name}.img`)
  const fd = openSync(image, "wx")
  ftruncateSync(fd, mib * MiB)
  closeSync(fd)
  sh("parted", ["-s", image, "mklabel", "gpt", "mkpart", "primary", "ntfs", "1MiB", "100%"])
  const loop = sh("losetup", ["--find", "--show", "--partscan", image]).trim()
  loops.push(loop)
  const { partition, majorMinor } = await firstPartition(loop)
  sh("mkfs.ntfs", ["-Q", "-F", "-L", name, partition])
  const mount = path.join(work, name)
  mkdirSync(mount)
  sh("ntfs-3g", [...(o.readOnly ? ["-o", "ro"] : []), partition, mount])
  mounts.push(mount)
  return { image, loop, partition, majorMinor, mount }
}

before(() => {
  skipReason = cannot()
  if (skipReason === undefined) work = mkdtempSync(path.join(tmpdir(), "waie-ntfs-"))
})

after(async () => {
  await az?.stop()
  for (const m of mounts.reverse()) {
    // ntfs-3g may still be flushing a moment after its last writer closed
    let ok = false
    for (let i = 0; i < 10 && !ok; i++) {
      ok = spawnSync("umount", [m], { stdio: "ignore" }).status === 0
      if (!ok) await sleep(200)
    }
    if (!ok) spawnSync("umount", ["-l", m], { stdio: "ignore" })
  }
  for (const l of loops.reverse()) spawnSync("losetup", ["-d", l], { stdio: "ignore" })
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

/**
 * Make the volumes a test needs, or skip it saying why the machine cannot. A failure of the
 * setup commands (not of waie) is a skip too, with the command and its message.
 */
const volumesOr = async <A>(t: { skip: (m: string) => void }, make: () => Promise<A>): Promise<A | undefined> => {
  if (skipReason !== undefined) {
    t.skip(`cannot mount NTFS volumes here: ${skipReason}`)
    return undefined
  }
  try {
    return await make()
  } catch (e) {
    if (!(e instanceof CannotMount)) throw e
    t.skip(`cannot mount NTFS volumes here: ${e.message}`)
    return undefined
  }
}

// ---------------------------------------------------------------- running waie

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/** Run waie (asynchronously: the test's azurite must keep answering meanwhile). */
const waie = (cwd: string, args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [waieBin, ...args], { cwd, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }))
  })

const jsonLines = (r: Ran): Array<Record<string, unknown>> =>
  r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

const driveset = (file: string, roots: ReadonlyArray<string>): string => {
  writeFileSync(file, ["DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey", ...roots.map((r) => `${r},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}`), ""].join("\n"))
  return file
}

/** The blob path → drive file pairs of a manifest. */
const manifestFiles = (root: string): Array<[string, string]> => {
  const xml = readFileSync(path.join(root, "DriveManifest.xml"), "utf8")
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")
  return [...xml.matchAll(/<BlobPath>([^<]*)<\/BlobPath>\s*<FilePath>([^<]*)<\/FilePath>/g)].map((m) => [unescape(m[1]!), path.join(root, ...unescape(m[2]!).split("\\").filter((s) => s !== ""))])
}

/** Deterministic bytes, fast enough for tens of MB (AES-CTR keystream of the seed). */
const data = (seed: number, n: number): Buffer => {
  const key = createHash("sha256").update(`ntfs-${seed}`).digest().subarray(0, 16)
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n))
}

const md5File = (f: string): string => createHash("md5").update(readFileSync(f)).digest("hex")

// ---------------------------------------------------------------- the tests

test("two NTFS volumes on GPT loop devices: PrepImport spreads a dataset over both, verify passes on each, service import into azurite gives every blob its source's bytes", async (t) => {
  const started = Date.now()
  const vols = await volumesOr(t, async () => [await ntfsVolume("g", 64), await ntfsVolume("h", 64)] as const)
  if (vols === undefined) return
  t.diagnostic(`two volumes made in ${Date.now() - started} ms`)
  const [g, h] = vols
  const dir = path.join(work, "job")
  const src = path.join(dir, "src")
  mkdirSync(path.join(src, "photos", "trip, day 1"), { recursive: true })
  mkdirSync(path.join(src, "disks"), { recursive: true })
  // 24 + 24 + 16 MiB of photos and an 8 MiB disk do not fit one 64 MiB volume (≈ 62 MB free)
  const sources = new Map<string, string>()
  const put = (rel: string, blob: string, content: Uint8Array) => {
    writeFileSync(path.join(src, rel), content)
    sources.set(blob, path.join(src, rel))
  }
  put("photos/a.jpg", "pictures/a.jpg", data(1, 100_000))
  put("photos/big1.bin", "pictures/big1.bin", data(2, 24 * MiB + 7))
  put("photos/big2.bin", "pictures/big2.bin", data(3, 24 * MiB + 3))
  put("photos/big3.bin", "pictures/big3.bin", data(4, 16 * MiB + 1))
  put("photos/trip, day 1/été \"quoted\".txt", "pictures/trip, day 1/été \"quoted\".txt", data(5, 5))
  put("photos/trip, day 1/empty.txt", "pictures/trip, day 1/empty.txt", new Uint8Array(0))
  // page blobs: data, 1 MiB of zeros, data; and 8 MiB of data with a zero MiB in the middle
  put("disks/d.vhd", "vhds/d.vhd", Buffer.concat([data(6, 4096), Buffer.alloc(MiB), data(7, 512)]))
  put("disks/e.vhd", "vhds/e.vhd", Buffer.concat([data(8, 4 * MiB), Buffer.alloc(MiB), data(9, 3 * MiB)]))
  writeFileSync(path.join(dir, "meta.xml"), metadataXml)
  writeFileSync(path.join(dir, "props.xml"), propertiesXml)
  writeFileSync(
    path.join(dir, "ds.csv"),
    [
      "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile",
      `"${src}/photos/","pictures/",BlockBlob,rename,"${dir}/meta.xml","${dir}/props.xml"`,
      `"${src}/disks/","vhds/",PageBlob,overwrite,None,None`,
      "",
    ].join("\n"),
  )
  const journal = path.join(dir, "logs", "j.jrn")
  const drives = driveset(path.join(dir, "drives.csv"), [g.mount, h.mount])

  const prep = await waie(dir, ["PrepImport", `/j:${journal}`, "/id:ntfs#1", `/sk:${storageKey}`, `/InitialDriveSet:${drives}`, "/DataSet:ds.csv", `/logdir:${path.join(dir, "logs")}`, "--json"])
  assert.equal(prep.status, 0, prep.stderr + prep.stdout)
  const total = [...sources.values()].reduce((n, f) => n + readFileSync(f).length, 0)
  t.diagnostic(`PrepImport wrote ${(total / 1e6).toFixed(1)} MB onto two ntfs-3g volumes in ${(prep.ms / 1000).toFixed(2)} s (${(total / 1e6 / (prep.ms / 1000)).toFixed(1)} MB/s, process start included)`)

  // identity: a loop device has no serial, in /sys or lsblk; waie names the drive by its identity file
  const info = parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"))
  const lsblk = sh("lsblk", ["-J", "-o", "NAME,SERIAL,MOUNTPOINT", g.loop])
  t.diagnostic(`lsblk -J -o NAME,SERIAL,MOUNTPOINT ${g.loop}: ${lsblk.replace(/\s+/g, " ")}`)
  const driveIds: Array<string> = []
  for (const v of [g, h]) {
    const m = mountContaining(info, v.mount)
    assert.deepEqual([m?.mountPoint, m?.fsType, m?.majorMinor], [v.mount, "fuseblk", v.majorMinor], "the volume is the ntfs-3g mount of the partition")
    assert.equal(existsSync(path.join("/sys/block", path.basename(v.loop), "device")), false, "a loop device has no hardware behind it")
    assert.equal(lsblkSerialFor(parseLsblk(sh("lsblk", ["-J", "-o", "NAME,SERIAL,MOUNTPOINT", v.loop])), v.mount), undefined)
    assert.equal(await linuxDeviceSerial(v.mount), undefined)
    const identity = JSON.parse(readFileSync(path.join(v.mount, "waie-drive.json"), "utf8")) as { driveId: string }
    assert.match(identity.driveId, /^WAIE[0-9A-F]{12}$/, "no serial: a DriveId of waie's own")
    const manifest = readFileSync(path.join(v.mount, "DriveManifest.xml"), "utf8")
    assert.equal(/<DriveId>([^<]+)<\/DriveId>/.exec(manifest)?.[1], identity.driveId)
    assert.equal(existsSync(path.join(v.mount, ".waie.lock")), false, "the lock is gone after the session")
    driveIds.push(identity.driveId)
  }

  // both drives hold blobs, every blob is on exactly one, and each file equals its source
  const onG = manifestFiles(g.mount)
  const onH = manifestFiles(h.mount)
  assert.ok(onG.length > 0 && onH.length > 0, `both drives are used (${onG.length} and ${onH.length} blobs)`)
  assert.deepEqual([...onG, ...onH].map(([b]) => b).sort(), [...sources.keys()].sort())
  for (const [blob, file] of [...onG, ...onH]) assert.equal(md5File(file), md5File(sources.get(blob)!), `${blob} on the drive`)

  for (const v of [g, h]) {
    const r = await waie(dir, ["verify", v.mount, "--journal", journal, "--json"])
    assert.equal(r.status, 0, `verify ${v.mount}: ${r.stdout}${r.stderr}`)
    t.diagnostic(`verify ${v.mount}: ${r.ms} ms`)
    assert.deepEqual(jsonLines(r).filter((l) => l["type"] === "problem"), [])
  }

  az = await startTestAzurite()
  const svc = BlobServiceClient.fromConnectionString(az.connectionString)
  mkdirSync(path.join(dir, "copylogs"))
  const imported = await waie(dir, [
    "service",
    "import",
    "--drive",
    g.mount,
    "--drive",
    h.mount,
    ...driveIds.flatMap((id) => ["--drive-info", path.join(dir, "logs", `${id}.xml`)]),
    "--job",
    "ntfs",
    "--logdir",
    path.join(dir, "copylogs"),
    "--connection-string",
    az.connectionString,
    "--json",
  ])
  assert.equal(imported.status, 0, imported.stdout + imported.stderr)
  t.diagnostic(`service import: ${imported.ms} ms`)
  assert.deepEqual(
    jsonLines(imported)
      .filter((l) => l["type"] === "drive")
      .map((l) => [l["driveId"], l["status"]]),
    driveIds.map((id) => [id, "Completed"]),
  )
  for (const [blob, file] of sources) {
    const slash = blob.indexOf("/")
    const client = svc.getContainerClient(blob.slice(0, slash)).getBlobClient(blob.slice(slash + 1))
    assert.equal(md5(await client.downloadToBuffer()), md5(readFileSync(file)), blob)
    const props = await client.getProperties()
    if (blob.startsWith("pictures/")) {
      assert.equal(props.blobType, "BlockBlob")
      assert.deepEqual(props.metadata, { trip: "2024", camera: "Nikon" }, `${blob}: metadata`)
      assert.equal(props.contentType, "image/jpeg", `${blob}: properties`)
    } else assert.equal(props.blobType, "PageBlob", blob)
  }
  const ranges = await svc.getContainerClient("vhds").getPageBlobClient("d.vhd").getPageRanges()
  assert.deepEqual(
    ranges.pageRange?.map((p) => [p.offset, (p.count ?? 0) + 1]),
    [
      [0, 4096],
      [4096 + MiB, 512],
    ],
    "only the non-zero ranges were written",
  )
})

/** A folder drive and the driveset putting it before `bad`: whatever PrepImport does to the first would show there. */
const refusedSession = async (name: string, bad: Volume): Promise<{ r: Ran; dir: string; folder: string; journal: string }> => {
  const dir = path.join(work, name)
  const folder = path.join(dir, "f")
  mkdirSync(path.join(dir, "src"), { recursive: true })
  mkdirSync(folder)
  writeFileSync(path.join(dir, "src", "x.bin"), data(11, 3 * MiB))
  writeFileSync(path.join(dir, "ds.csv"), `BasePath,DstBlobPathOrPrefix\n"${dir}/src/","data/"\n`)
  const journal = path.join(dir, "logs", "j.jrn")
  const drives = driveset(path.join(dir, "drives.csv"), [folder, bad.mount])
  const r = await waie(dir, ["PrepImport", `/j:${journal}`, "/id:session1", `/sk:${storageKey}`, `/InitialDriveSet:${drives}`, "/DataSet:ds.csv", `/logdir:${path.join(dir, "logs")}`, "--json"])
  return { r, dir, folder, journal }
}

const errorLine = (r: Ran): Record<string, unknown> | undefined => jsonLines(r).find((l) => l["type"] === "error")

test("an NTFS volume mounted read-only (ntfs-3g -o ro) is refused by the canary before any copy: DriveNotWritable (EROFS), nothing written anywhere", async (t) => {
  const ro = await volumesOr(t, () => ntfsVolume("ro", 16, { readOnly: true }))
  if (ro === undefined) return
  const before = md5File(ro.partition)
  const { r, dir, folder, journal } = await refusedSession("ro-job", ro)
  assert.equal(r.status, 3, r.stdout + r.stderr)
  const error = errorLine(r)
  assert.equal(error?.["error"], "DriveNotWritable", r.stdout)
  assert.match(String(error?.["message"]), new RegExp(`${ro.mount.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(EROFS\\)`))
  assert.deepEqual(readdirSync(folder), [], "the first drive is as it was")
  assert.equal(existsSync(journal), false, "no journal")
  assert.deepEqual(readdirSync(dir).sort(), ["drives.csv", "ds.csv", "f", "src"], "no log folder, no job file")
  assert.deepEqual(readdirSync(ro.mount).filter((n) => !n.startsWith("$")), [], "nothing on the read-only volume")
  assert.equal(md5File(ro.partition), before, "the partition's bytes are unchanged")
})

test("an NTFS volume that accepts writes it cannot keep (its loop device's backing file on a full tmpfs) is refused by the canary before any copy: fsync fails, nothing written elsewhere", async (t) => {
  const lost = await volumesOr(t, async () => {
    const backing = path.join(work, "backing")
    mkdirSync(backing)
    sh("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", backing])
    mounts.push(backing)
    const v = await ntfsVolume("lost", 32, { imageDir: backing })
    // fill the tmpfs: blocks the image has not written yet can no longer be allocated
    const fill = openSync(path.join(backing, "fill"), "w")
    const chunk = Buffer.alloc(MiB, 1)
    try {
      for (;;) writeSync(fill, chunk)
    } catch {
      // ENOSPC: full
    } finally {
      closeSync(fill)
    }
    return v
  })
  if (lost === undefined) return
  // the trick itself: a write is accepted, and only fsync tells that it went nowhere
  const probe = openSync(path.join(lost.mount, "probe"), "wx")
  writeSync(probe, data(12, 65536))
  let probeSync: string | undefined
  try {
    fsyncSync(probe)
  } catch (e) {
    probeSync = (e as NodeJS.ErrnoException).code
  } finally {
    closeSync(probe)
  }
  if (probeSync === undefined) {
    t.skip("the volume kept a write its backing file had no room for (this kernel or ntfs-3g reports no error): the trick does not work here")
    return
  }
  assert.equal(probeSync, "EIO")
  const { r, dir, folder, journal } = await refusedSession("lost-job", lost)
  assert.equal(r.status, 3, r.stdout + r.stderr)
  const error = errorLine(r)
  assert.ok(error?.["error"] === "DriveNotWritable" || error?.["error"] === "DriveDoesNotKeepData", r.stdout)
  assert.match(String(error?.["message"]), new RegExp(lost.mount.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
  assert.deepEqual(readdirSync(folder), [], "the first drive is as it was")
  assert.equal(existsSync(journal), false, "no journal")
  assert.deepEqual(readdirSync(dir).sort(), ["drives.csv", "ds.csv", "f", "src"], "no log folder, no job file")
  assert.deepEqual(readdirSync(lost.mount).filter((n) => !n.startsWith("$") && n !== "probe"), [], "no waie file on the volume: the canary removed its own, nothing else was written")
})
