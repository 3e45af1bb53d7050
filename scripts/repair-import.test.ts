/**
 * `waie RepairImport` end to end on azurite (started by the test): a drive prepared by the real
 * `waie PrepImport`, a copy of it kept (the folder RepairImport reads from), the drive damaged
 * (a flipped byte, a deleted file, a truncated file, a corrupt properties file), imported by the
 * real `waie service import`, then repaired by the real command. Afterwards every blob's bytes
 * equal its source (MD5 of the whole blob, downloaded with the SDK) with its properties and
 * metadata, and a second run changes nothing. Also: a moved source resolved through the path map
 * once the test fills it in (ambiguous and wrong files left unresolved), a crash half way resumed
 * from the repair file, and bad input refused with nothing changed.
 */
import { NodeContext } from "@effect/platform-node"
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob"
import { Chunk, Effect, Exit, Layer, Schedule, Stream } from "effect"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync, appendFileSync } from "node:fs"
import * as path from "node:path"
import { after, before, beforeEach, test } from "node:test"
import { azuriteAccount, azuriteKey, type RunningAzurite, startTestAzurite } from "../lib/azurite.ts"
import { readRepairFile } from "../lib/repair-file.ts"
import { runRepairImport } from "../lib/repair/import.ts"
import { makeBlobStore } from "../lib/storage-azure.ts"
import { BlobStore, type BlobStoreService, StorageError } from "../lib/storage.ts"
import { bytes, md5, MiB, type PreparedDrive, prepareDrive, waieBin } from "../lib/service/test-drives.ts"

let az: RunningAzurite
let svc: BlobServiceClient
let store: BlobStoreService

before(async () => {
  az = await startTestAzurite()
  svc = BlobServiceClient.fromConnectionString(az.connectionString)
  store = makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, { retrySchedule: Schedule.recurs(0) })
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

const storage = () => [`/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", az.blobEndpoint]

const container = (blobPath: string): [ContainerClient, string] => {
  const slash = blobPath.indexOf("/")
  return [svc.getContainerClient(blobPath.slice(0, slash)), blobPath.slice(slash + 1)]
}
const download = async (blobPath: string): Promise<Buffer> => {
  const [c, name] = container(blobPath)
  return c.getBlobClient(name).downloadToBuffer()
}

/** Every blob's name, ETag and MD5 (to show that storage did not change). */
const storageState = async (): Promise<Array<string>> => {
  const out: Array<string> = []
  for await (const c of svc.listContainers()) {
    for await (const b of svc.getContainerClient(c.name).listBlobsFlat()) {
      if (c.name === "waimportexport") continue
      out.push(`${c.name}/${b.name} ${b.properties.etag} ${md5(await download(`${c.name}/${b.name}`))}`)
    }
  }
  return out.sort()
}

/** Every blob equals its source file, with the properties and metadata PrepImport's dataset gave it. */
const assertStorageEqualsSources = async (d: PreparedDrive): Promise<void> => {
  for (const [blobPath, src] of d.sources) assert.equal(md5(await download(blobPath)), md5(readFileSync(src)), `${blobPath} = ${path.basename(src)}`)
  for (const p of ["pictures/a.jpg", "pictures/big.bin", "pictures/empty.txt"]) {
    const [c, name] = container(p)
    const props = await c.getBlobClient(name).getProperties()
    assert.deepEqual(props.metadata, { trip: "2024", camera: "Nikon" }, `${p} metadata`)
    assert.equal(props.contentType, "image/jpeg", `${p} Content-Type`)
    assert.equal(props.cacheControl, "max-age=60", `${p} Cache-Control`)
  }
}

const flip = (file: string, at: number): void => {
  const b = readFileSync(file)
  b[at] = b[at]! ^ 0xff
  writeFileSync(file, b)
}

/** The drive's global properties file (shared by the pictures). */
const propertiesFileOf = (d: PreparedDrive): string => {
  const manifest = readFileSync(path.join(d.root, "DriveManifest.xml"), "utf8")
  const p = /<PropertiesPath Hash="[0-9A-F]+">([^<]+)<\/PropertiesPath>/.exec(manifest)![1]!
  return path.join(d.root, ...p.split("\\").filter((s) => s !== ""))
}

/** Keep a copy of the drive as prepared (what RepairImport reads from), then import it damaged by `damage`. */
const importDamaged = async (d: PreparedDrive, damage: () => void): Promise<{ readonly copy: string; readonly verbose: string; readonly error: string }> => {
  const copy = path.join(d.dir, "copy")
  cpSync(d.root, copy, { recursive: true })
  damage()
  mkdirSync(path.join(d.dir, "copylogs"), { recursive: true })
  const r = await waie(d.dir, ["service", "import", "--drive", d.root, "--drive-info", d.jobFile, "--logdir", path.join(d.dir, "copylogs"), "--connection-string", az.connectionString, "--json"])
  assert.equal(r.status, 6, r.stdout + r.stderr)
  const drive = r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === "drive")!
  return { copy, verbose: drive.verboseLog as string, error: drive.errorLog as string }
}

test("a damaged import repaired from a copy of the drive: every blob equals its source; a second run changes nothing", async () => {
  const d = prepareDrive()
  try {
    const x = await importDamaged(d, () => {
      flip(d.fileOf("pictures/big.bin"), 4 * MiB + 10)
      unlinkSync(d.fileOf("pictures/a.jpg"))
      truncateSync(d.fileOf("vhds/d.vhd"), 4096 + MiB)
      appendFileSync(propertiesFileOf(d), "\n")
    })
    const log = readFileSync(x.verbose, "utf8")
    assert.match(log, /<Blob Status="FileNotFound">\s*<BlobPath>pictures\/a\.jpg/)
    assert.match(log, /Status="Corrupted"/)
    assert.match(log, /Status="FileUnexpectedEnd"/)
    assert.match(log, /<Properties Status="Corrupted">/)
    assert.notEqual(md5(await download("pictures/big.bin")), md5(readFileSync(d.sources.get("pictures/big.bin")!)))

    const r = await waie(d.dir, ["RepairImport", "/r:drive.rep", `/d:${x.copy}`, `/CopyLogFile:${x.verbose}`, ...storage()])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /repaired pictures\/a\.jpg \(\\session1\\pictures\\a\.jpg\): 1 block staged from .*; the block list \(1 block\) committed; metadata set from .*; properties set from .*/)
    assert.match(r.stdout, /repaired pictures\/big\.bin \(\\session1\\pictures\\big\.bin\): 1 block staged from .*; the block list \(3 blocks\) committed again; properties set from/)
    assert.match(r.stdout, /repaired pictures\/empty\.txt \(\\session1\\pictures\\empty\.txt\): properties set from/)
    assert.match(r.stdout, /repaired vhds\/d\.vhd \(\\session1\\vhds\\d\.vhd\): 1 page range put from/)
    assert.match(r.stdout, /RepairImport of drive .*: pass 1: 4 blobs done, 0 unresolved; the repair is finished/)
    await assertStorageEqualsSources(d)
    assert.ok(!r.stdout.includes(azuriteKey) && !readFileSync(path.join(d.dir, "drive.rep"), "utf8").includes(azuriteKey))

    const before = await storageState()
    const rep = readFileSync(path.join(d.dir, "drive.rep"))
    const again = await waie(d.dir, ["RepairImport", "/r:drive.rep", `/d:${x.copy}`, `/CopyLogFile:${x.verbose}`, ...storage()])
    assert.equal(again.status, 0, again.stderr)
    assert.match(again.stdout, /the repair in drive\.rep is finished: nothing to do/)
    assert.deepEqual(await storageState(), before, "storage unchanged")
    assert.ok(readFileSync(path.join(d.dir, "drive.rep")).equals(rep), "repair file unchanged")
  } finally {
    d.cleanup()
  }
})

test("the path map: a moved source and an ambiguous one are unresolved and listed; a wrong target is refused by its hash; the filled-in targets finish the repair", async () => {
  const d = prepareDrive()
  try {
    const x = await importDamaged(d, () => {
      unlinkSync(d.fileOf("pictures/a.jpg"))
      flip(d.fileOf("pictures/big.bin"), 10)
    })
    // a.jpg moved away from the copy; big.bin in a second folder too
    const moved = path.join(d.dir, "elsewhere", "a-moved.jpg")
    mkdirSync(path.dirname(moved))
    renameSync(path.join(x.copy, "session1", "pictures", "a.jpg"), moved)
    const extra = path.join(d.dir, "extra")
    mkdirSync(path.join(extra, "session1", "pictures"), { recursive: true })
    cpSync(path.join(x.copy, "session1", "pictures", "big.bin"), path.join(extra, "session1", "pictures", "big.bin"))
    const args = ["RepairImport", "--repair-file", "drive.rep", "--dir", `${x.copy};${extra}`, "--copy-log-file", x.error, "--path-map-file", "map.tsv", ...storage()]

    const first = await waie(d.dir, args)
    assert.equal(first.status, 6, first.stdout + first.stderr)
    assert.match(first.stdout, /unresolved pictures\/a\.jpg \(\\session1\\pictures\\a\.jpg\): not found under any of the 2 \/d: folders/)
    assert.match(first.stdout, /unresolved pictures\/big\.bin \(\\session1\\pictures\\big\.bin\): found under 2 \/d: folders .*ambiguous/)
    assert.match(first.stdout, /2 FilePaths added to the path map map\.tsv with an empty target/)
    assert.match(first.stderr, /2 blobs could not be repaired yet .*fill in their targets in the path map map\.tsv/)
    const map = readFileSync(path.join(d.dir, "map.tsv"), "utf8")
    assert.equal(map.split("\n").slice(1).join("\n"), "\\session1\\pictures\\a.jpg\t\n\\session1\\pictures\\big.bin\t\n")

    // a wrong file of the right size: refused by the logged hash, the user's target kept
    const wrong = path.join(d.dir, "elsewhere", "wrong.jpg")
    writeFileSync(wrong, bytes(99, 100_000))
    writeFileSync(path.join(d.dir, "map.tsv"), map.replace("\\session1\\pictures\\a.jpg\t\n", `\\session1\\pictures\\a.jpg\t${wrong}\n`).replace("\\session1\\pictures\\big.bin\t\n", `\\session1\\pictures\\big.bin\t${path.join(extra, "session1", "pictures", "big.bin")}\n`))
    const second = await waie(d.dir, args)
    assert.equal(second.status, 6, second.stdout + second.stderr)
    assert.match(second.stdout, /repaired pictures\/big\.bin/)
    assert.match(second.stdout, /unresolved pictures\/a\.jpg \(\\session1\\pictures\\a\.jpg\): .*wrong\.jpg: the 100000 bytes at offset 0 do not match the copy log's MD5/)
    assert.match(second.stdout, /pass 2: 1 blob done, 1 unresolved/)
    assert.ok(readFileSync(path.join(d.dir, "map.tsv"), "utf8").includes(wrong), "the user's target is kept")

    writeFileSync(path.join(d.dir, "map.tsv"), readFileSync(path.join(d.dir, "map.tsv"), "utf8").replace(wrong, moved))
    const third = await waie(d.dir, [...args, "--json"])
    assert.equal(third.status, 0, third.stdout)
    const lines = third.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines.filter((l) => l.type === "blob").map((l) => [l.blobPath, l.result, l.source]), [["pictures/a.jpg", "repaired", moved]])
    assert.deepEqual(lines.find((l) => l.type === "repair")!.pass, 3)
    await assertStorageEqualsSources(d)
    const fourth = await waie(d.dir, args)
    assert.equal(fourth.status, 0)
    assert.match(fourth.stdout, /finished: nothing to do/)
  } finally {
    d.cleanup()
  }
})

test("a crash half way (storage failing after two blocks) resumes from the repair file: only the block left is sent, then the list committed", async () => {
  const d = prepareDrive()
  try {
    const x = await importDamaged(d, () => {
      for (const at of [10, 4 * MiB + 10, 8 * MiB + 10]) flip(d.fileOf("pictures/big.bin"), at)
    })
    const staged: Array<string> = []
    const counting = (failAfter: number): BlobStoreService => ({
      ...store,
      stageBlock: (ref, id, data, hash, lease) =>
        Effect.suspend(() => {
          staged.push(`${ref.name} ${id}`)
          return staged.length > failAfter ? Effect.fail(new StorageError({ operation: "stage block", target: `${ref.container}/${ref.name}`, code: "Unreachable", detail: "test: the network went away" })) : store.stageBlock(ref, id, data, hash, lease)
        }),
    })
    const run = (s: BlobStoreService) =>
      Effect.runPromiseExit(
        runRepairImport({ repairFile: { real: path.join(d.dir, "crash.rep"), shown: "crash.rep" }, dirs: [{ real: x.copy, shown: "copy" }], copyLog: { real: x.verbose, shown: "verbose.xml" }, group: 1, rangesInFlight: 1 }).pipe(
          Effect.provide(Layer.mergeAll(Layer.succeed(BlobStore, s), NodeContext.layer)),
        ),
      )
    const first = await run(counting(2))
    assert.ok(Exit.isFailure(first), "the first run stops with the storage error")
    const records = Chunk.toArray(await Effect.runPromise(Stream.runCollect(readRepairFile(path.join(d.dir, "crash.rep"))).pipe(Effect.provide(NodeContext.layer))))
    assert.deepEqual(records.flatMap((e) => (e._tag === "PartsRepaired" ? e.offsets : [])), [0, 4 * MiB])
    staged.length = 0
    const second = await run(counting(Number.MAX_SAFE_INTEGER))
    assert.ok(Exit.isSuccess(second), Exit.isFailure(second) ? String(second.cause) : "")
    assert.equal(second.value.finished, true)
    assert.deepEqual(staged, ["big.bin AgAAAA=="], "only the block left is staged")
    await assertStorageEqualsSources(d)
  } finally {
    d.cleanup()
  }
})

test("bad input is refused with nothing changed: an unknown status, another drive's folder, an export log, another log's repair file, a bad path map, no credentials, an unreachable endpoint", async () => {
  const d = prepareDrive()
  const other = prepareDrive({ docs: true })
  try {
    const x = await importDamaged(d, () => unlinkSync(d.fileOf("pictures/a.jpg")))
    writeFileSync(path.join(d.dir, "map.tsv"), "\\session1\\pictures\\a.jpg\tnot/absolute\n")
    const state = await storageState()
    const mapBefore = readFileSync(path.join(d.dir, "map.tsv"))
    const refused = async (args: ReadonlyArray<string>, code: number, message: RegExp) => {
      const r = await waie(d.dir, ["RepairImport", "/r:bad.rep", ...args])
      assert.equal(r.status, code, `${args.join(" ")}: ${r.stdout}${r.stderr}`)
      assert.match(r.stderr, message)
      assert.ok(!r.stderr.includes(azuriteKey))
      assert.equal(existsSync(path.join(d.dir, "bad.rep")), false, "no repair file is created")
      assert.ok(readFileSync(path.join(d.dir, "map.tsv")).equals(mapBefore), "the path map is unchanged")
      assert.deepEqual(await storageState(), state, "storage is unchanged")
    }
    const text = readFileSync(x.verbose, "utf8")
    const line = text.slice(0, text.indexOf('Status="FileNotFound"')).split("\n").length
    writeFileSync(path.join(d.dir, "wonky.xml"), text.replace('Status="FileNotFound"', 'Status="FileVanished"'))
    await refused([`/d:${x.copy}`, "/CopyLogFile:wonky.xml", ...storage()], 1, new RegExp(`wonky\\.xml:${line}:\\d+: Blob/@Status: expected a blob status: one of Completed, .*, found "FileVanished"`))
    await refused([`/d:${x.copy};${other.root}`, `/CopyLogFile:${x.verbose}`, ...storage()], 1, new RegExp(`the copy log is of drive "${d.driveId}", but the /d: folder .* is drive "${other.driveId}"`))
    writeFileSync(path.join(d.dir, "export.xml"), text.replace(/<ImportDisposition Status="[A-Za-z]+">[a-z-]+<\/ImportDisposition>/g, "<LastModified>2024-01-01T00:00:00Z</LastModified>"))
    await refused([`/d:${x.copy}`, "/CopyLogFile:export.xml", ...storage()], 1, /this is the copy log of an export drive .*RepairExport repairs export drives/)
    await refused([`/d:${x.copy}`, `/CopyLogFile:${x.verbose}`, "/PathMapFile:map.tsv", ...storage()], 1, /map\.tsv:1:\d+: target: expected an absolute path \(or nothing\), found "not\/absolute"/)
    await refused([`/d:${x.copy}`, `/CopyLogFile:${x.verbose}`], 2, /RepairImport needs the storage account of the job/)
    await refused([`/d:${x.copy}`, `/CopyLogFile:${x.verbose}`, `/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", "http://127.0.0.1:9/devstoreaccount1"], 3, /^storage: get blob properties pictures\/a\.jpg: Unreachable/m)
    await refused([`/d:${path.join(d.dir, "nowhere")}`, `/CopyLogFile:${x.verbose}`, ...storage()], 3, /nowhere: cannot read \(ENOENT\)/)

    // a repair file of another log: refused, left as it is
    const done = await waie(d.dir, ["RepairImport", "/r:mine.rep", `/d:${x.copy}`, `/CopyLogFile:${x.verbose}`, ...storage()])
    assert.equal(done.status, 0, done.stdout + done.stderr)
    const rep = readFileSync(path.join(d.dir, "mine.rep"))
    const after = await storageState()
    const again = await waie(d.dir, ["RepairImport", "/r:mine.rep", `/d:${x.copy}`, `/CopyLogFile:${x.error}`, ...storage()])
    assert.equal(again.status, 1)
    assert.match(again.stderr, /mine\.rep: this repair file records the repair of another copy log .*; it was left unchanged/)
    assert.ok(readFileSync(path.join(d.dir, "mine.rep")).equals(rep))
    assert.deepEqual(await storageState(), after)
  } finally {
    d.cleanup()
    other.cleanup()
  }
})


