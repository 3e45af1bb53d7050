/**
 * How the input files of goldens/repair/ were produced (run by hand, not by the golden runner:
 * `node --import tsx goldens/repair/produce.ts`; it needs a few seconds and an azurite it starts).
 *
 * In a fixed folder (/tmp/waie-repair-golden, so the absolute paths in the files read the same
 * on every run): a drive prepared by the real `waie PrepImport` (lib/service/test-drives.ts), a
 * copy of it kept, the drive damaged (pictures/a.jpg deleted, a byte of pictures/big.bin
 * flipped), imported by `waie service import`; the copy's a.jpg then moved away, and the real
 * `waie RepairImport` run twice: once without the file (pass 1 leaves it unresolved, the path
 * map gets its FilePath), once after the target was filled in (pass 2 finishes). Then a drive
 * exported by `waie service export`, damaged, and repaired by `waie RepairExport` with its
 * manifest. The repair files, path maps and logs are copied here; times and the azurite port in
 * them are those of the run.
 */
import { BlobServiceClient } from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { azuriteAccount, azuriteKey, startTestAzurite } from "../../lib/azurite.ts"
import { bytes, MiB, prepareDrive, waieBin } from "../../lib/service/test-drives.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const work = "/tmp/waie-repair-golden"

const az = await startTestAzurite()
// not spawnSync: azurite lives in this process's event loop
const run = (args: ReadonlyArray<string>): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [waieBin, ...args], { cwd: work, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let stdout = ""
    let stderr = ""
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    c.on("close", (status) => resolve({ status, stdout, stderr }))
  })
const storage = [`/sn:${azuriteAccount}`, `/sk:${azuriteKey}`, "--blob-endpoint", az.blobEndpoint]

try {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work)
  // ---- import
  const d = prepareDrive()
  cpSync(d.root, path.join(work, "drive"), { recursive: true })
  cpSync(d.root, path.join(work, "copy"), { recursive: true })
  unlinkSync(path.join(work, "drive", "session1", "pictures", "a.jpg"))
  const big = path.join(work, "drive", "session1", "pictures", "big.bin")
  const b = readFileSync(big)
  b[4 * MiB + 10] = b[4 * MiB + 10]! ^ 0xff
  writeFileSync(big, b)
  mkdirSync(path.join(work, "logs"))
  const imp = await run(["service", "import", "--drive", "drive", "--job", "golden", "--logdir", "logs", "--connection-string", az.connectionString])
  assert.equal(imp.status, 6, imp.stdout + imp.stderr)
  const verbose = readdirSync(path.join(work, "logs")).find((n) => n.endsWith("_verbose.xml"))!
  copyFileSync(path.join(work, "logs", verbose), path.join(work, "import_verbose.xml"))
  mkdirSync(path.join(work, "elsewhere"))
  renameSync(path.join(work, "copy", "session1", "pictures", "a.jpg"), path.join(work, "elsewhere", "a.jpg"))
  const args = ["RepairImport", "/r:import.rep", "/d:copy", "/CopyLogFile:import_verbose.xml", "/PathMapFile:map.tsv", ...storage]
  const pass1 = await run(args)
  assert.equal(pass1.status, 6, pass1.stdout + pass1.stderr)
  copyFileSync(path.join(work, "import.rep"), path.join(work, "import-pass1.rep"))
  copyFileSync(path.join(work, "map.tsv"), path.join(work, "map-pass1.tsv"))
  writeFileSync(path.join(work, "map.tsv"), readFileSync(path.join(work, "map.tsv"), "utf8").replace("\\session1\\pictures\\a.jpg\t\n", `\\session1\\pictures\\a.jpg\t${path.join(work, "elsewhere", "a.jpg")}\n`))
  const pass2 = await run(args)
  assert.equal(pass2.status, 0, pass2.stdout + pass2.stderr)

  // ---- export
  const svc = BlobServiceClient.fromConnectionString(az.connectionString)
  const c = svc.getContainerClient("music")
  await c.createIfNotExists()
  await c.getBlockBlobClient("song.mp3").uploadData(bytes(7, 5 * MiB), { metadata: { Artist: "Ann" } })
  writeFileSync(path.join(work, "list.xml"), '<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPathPrefix>/music/</BlobPathPrefix>\n  <BlobPathPrefix>/pictures/</BlobPathPrefix>\n</BlobList>\n')
  mkdirSync(path.join(work, "e"))
  const exp = await run(["service", "export", "--blob-list", "list.xml", "--drive", "e", "--job", "golden", "--logdir", "elogs", "--connection-string", az.connectionString])
  assert.equal(exp.status, 0, exp.stdout + exp.stderr)
  const everbose = readdirSync(path.join(work, "elogs")).find((n) => n.endsWith("_verbose.xml"))!
  copyFileSync(path.join(work, "elogs", everbose), path.join(work, "export_verbose.xml"))
  copyFileSync(path.join(work, "e", "DriveManifest.xml"), path.join(work, "export_manifest.xml"))
  const song = path.join(work, "e", "music", "song.mp3")
  const s = readFileSync(song)
  s[4 * MiB + 1] = s[4 * MiB + 1]! ^ 0xff
  writeFileSync(song, s)
  unlinkSync(path.join(work, "e", "music", "song.mp3.metadata"))
  const rep = await run(["RepairExport", "/r:export.rep", "/d:e", "/CopyLogFile:export_verbose.xml", "/ManifestFile:export_manifest.xml", ...storage])
  assert.equal(rep.status, 0, rep.stdout + rep.stderr)

  for (const f of ["import_verbose.xml", "import-pass1.rep", "import.rep", "map-pass1.tsv", "map.tsv", "export_verbose.xml", "export_manifest.xml", "export.rep"]) copyFileSync(path.join(work, f), path.join(here, f))
  process.stdout.write(`${pass1.stdout}${pass1.stderr}\n${pass2.stdout}\n${rep.stdout}\n`)
  d.cleanup()
} finally {
  await az.stop()
}
