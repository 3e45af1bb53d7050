/**
 * `--free-space DRIVE=SIZE` end to end: folder drives on a big disk placed as if they were the
 * small drives they will be copied to, with PrepImport, /AdditionalDriveSet and plan agreeing.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, test } from "node:test"
import { fileURLToPath } from "node:url"
import { Either } from "effect"
import { limitedFree, limitFor, parseFreeSpace } from "../lib/free-space.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const key = Buffer.alloc(64, 42).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
const dirs: Array<string> = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const waie = (cwd: string, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** 10 files of 200 kB in src/, two empty folder drives, a dataset and two drivesets. */
const world = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-free-"))
  dirs.push(dir)
  mkdirSync(path.join(dir, "src"))
  for (let i = 0; i < 10; i++) writeFileSync(path.join(dir, "src", `f${i}.bin`), Buffer.alloc(200_000, i + 1))
  for (const d of ["drive-g", "drive-h"]) mkdirSync(path.join(dir, d))
  writeFileSync(path.join(dir, "meta.xml"), '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Origin>waie test</Origin>\n</Metadata>\n')
  writeFileSync(path.join(dir, "dataset.csv"), `BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n"${dir}/src/","data/",BlockBlob,rename,"${dir}/meta.xml",None\n`)
  const set = (name: string) => `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${path.join(dir, name)},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`
  writeFileSync(path.join(dir, "g.csv"), set("drive-g"))
  writeFileSync(path.join(dir, "h.csv"), set("drive-h"))
  return dir
}

const blobsOn = (root: string): Array<string> => [...readFileSync(path.join(root, "DriveManifest.xml"), "utf8").matchAll(/<BlobPath>([^<]+)<\/BlobPath>/g)].map((m) => m[1]!)

test("a drive limited to 2 MB takes what fits in 2 MB less waie's 1 MiB reserve; the session stops as interrupted and /AdditionalDriveSet places the rest", () => {
  const dir = world()
  // plan first: it must say what PrepImport then does
  const plan = waie(dir, "plan", "/DataSet:dataset.csv", "/InitialDriveSet:g.csv", "/id:ses1", "--free-space", "drive-g=2MB", "--no-estimate", "--json")
  assert.equal(plan.code, 5, plan.stderr)
  const first = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", `/sk:${key}`, "/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "drive-g=2MB")
  assert.equal(first.code, 5, first.stderr)
  const journal = readFileSync(path.join(dir, "job.jrn"), "utf8")
  assert.match(journal, /FreeBytes: 2000000\n/)
  const cont = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", "/AdditionalDriveSet:h.csv")
  assert.equal(cont.code, 0, cont.stderr)
  const onG = blobsOn(path.join(dir, "drive-g"))
  const onH = blobsOn(path.join(dir, "drive-h"))
  // 2,000,000 − 1,048,576 reserve = 951,424 bytes: four 200 kB files with their footprint, not five
  assert.equal(onG.length, 4, `on G: ${onG.length}`)
  assert.equal(onG.length + onH.length, 10)
  assert.deepEqual([...onG, ...onH].sort(), Array.from({ length: 10 }, (_, i) => `data/f${i}.bin`))
  const usedOnG = readdirSync(path.join(dir, "drive-g", "ses1", "data")).length * 200_000
  assert.ok(usedOnG <= 2_000_000 - 1_048_576, `G holds ${usedOnG} bytes of data`)
  // the added drive got the blob list's metadata copy too (its manifest names it): verify reads every byte back
  for (const drive of ["drive-g", "drive-h"]) {
    const v = waie(dir, "verify", drive, "--journal", "job.jrn")
    assert.equal(v.code, 0, `${drive}: ${v.stdout}${v.stderr}`)
  }
})

test("a continued session refuses a blob list's metadata file that changed since the session began", () => {
  const dir = world()
  const first = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", `/sk:${key}`, "/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "drive-g=2MB")
  assert.equal(first.code, 5, first.stderr)
  writeFileSync(path.join(dir, "meta.xml"), '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Origin>changed</Origin>\n</Metadata>\n')
  const cont = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", "/AdditionalDriveSet:h.csv")
  assert.equal(cont.code, 1, cont.stderr)
  assert.match(cont.stderr, /meta\.xml: this metadata\/properties file changed since the session began \(MD5 [0-9A-F]{32}; the session recorded [0-9A-F]{32}/)
})

test("plan and PrepImport place the same files on a limited drive", () => {
  const dir = world()
  const plan = waie(dir, "plan", "/DataSet:dataset.csv", "/InitialDriveSet:g.csv", "/id:ses1", "--free-space", `${path.join(dir, "drive-g")}=1.5MB`, "--files", "--no-estimate", "--json")
  assert.equal(plan.code, 5, plan.stderr)
  const planned = plan.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.type === "planFile" && e.drive !== undefined && e.drive !== null)
    .map((e) => String(e.blobPath))
    .sort()
  const run = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", `/sk:${key}`, "/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "drive-g=1.5MB")
  assert.equal(run.code, 5, run.stderr)
  assert.ok(planned.length > 0, plan.stdout)
  const copied = readdirSync(path.join(dir, "drive-g", "ses1", "data")).map((f) => `data/${f}`).sort()
  assert.deepEqual(copied, planned)
})

test("a limit naming no drive of the session, a bad size, or a limit on a resume is a usage error that writes nothing", () => {
  const dir = world()
  const cases: Array<[Array<string>, RegExp]> = [
    [["/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "K=1MB"], /--free-space K: no drive of this session is K \(its drives: .*drive-g\)/],
    [["/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "drive-g=12 parsecs"], /--free-space drive-g: expected a size like 12MB/],
    [["/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "drive-g"], /--free-space: expected DRIVE=SIZE/],
    [["/InitialDriveSet:g.csv", "/DataSet:dataset.csv", "--free-space", "G=1MB", "--free-space", "g:=2MB"], /expected each drive once, found "G" and "g:"/],
    [["/ResumeSession", "--free-space", "drive-g=1MB"], /a resumed session keeps the room it recorded/],
  ]
  for (const [args, message] of cases) {
    const r = waie(dir, "PrepImport", "/j:job.jrn", "/id:ses1", `/sk:${key}`, ...args)
    assert.equal(r.code, 2, `${args.join(" ")}\n${r.stderr}`)
    assert.match(r.stderr, message)
    assert.ok(!r.stderr.includes(key))
    assert.equal(existsSync(path.join(dir, "job.jrn")), false)
    assert.deepEqual(readdirSync(path.join(dir, "drive-g")), [])
  }
})

test("limits are parsed and matched by letter (any case, with or without the colon) or by folder", () => {
  const limits = parseFreeSpace(["g=1MB", "./staging/h=2KiB"], (p) => path.resolve("/work", p))
  assert.ok(Either.isRight(limits))
  assert.equal(limitFor(limits.right, "G:", "/mnt/g")?.bytes, 1_000_000)
  assert.equal(limitFor(limits.right, "/work/staging/h", "/work/staging/h")?.bytes, 2048)
  assert.equal(limitFor(limits.right, "F:", "/mnt/f"), undefined)
  assert.equal(limitedFree(5_000_000, limitFor(limits.right, "G:", undefined)), 1_000_000)
  assert.equal(limitedFree(500, limitFor(limits.right, "G:", undefined)), 500)
})
