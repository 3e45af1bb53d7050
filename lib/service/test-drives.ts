/**
 * Test fixture: real import drives, prepared by a real `waie PrepImport` on folders in a temp
 * folder (as scripts/prep-import.test.ts does), with deterministic source bytes. Used by the
 * import executor's tests (unit, on the in-memory store, and end to end on azurite).
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const waieBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/waie.mjs")
export const storageKey = Buffer.alloc(64, 42).toString("base64")
export const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
export const MiB = 1024 * 1024

/** Deterministic bytes: the same seed, the same file, on every machine. */
export const bytes = (seed: number, n: number): Buffer => {
  const out = Buffer.alloc(n)
  let block = createHash("sha256").update(String(seed)).digest()
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i))
    block = createHash("sha256").update(block).digest()
  }
  return out
}

export const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex").toUpperCase()

export const metadataXml = '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Trip>2024</Trip>\n  <Camera>Nikon</Camera>\n</Metadata>\n'
export const propertiesXml = '<?xml version="1.0" encoding="UTF-8"?>\n<Properties>\n  <Content-Type>image/jpeg</Content-Type>\n  <Cache-Control>max-age=60</Cache-Control>\n</Properties>\n'

export interface PreparedDrive {
  /** the temp folder holding everything */
  readonly dir: string
  /** the drive's folder */
  readonly root: string
  readonly driveId: string
  /** the job file `<DriveId>.xml` PrepImport wrote */
  readonly jobFile: string
  /** blob path → its source file */
  readonly sources: ReadonlyMap<string, string>
  /** the drive file of a blob */
  readonly fileOf: (blobPath: string) => string
  readonly cleanup: () => void
}

export interface DriveOptions {
  /** the disposition of the photos (default rename) */
  readonly photos?: "rename" | "no-overwrite" | "overwrite"
  /** add `docs/c.txt` with no-overwrite */
  readonly docs?: boolean
}

/**
 * Blobs: `pictures/a.jpg` (100,000 bytes, one block), `pictures/big.bin` (9 MiB + 7: three
 * blocks), `pictures/empty.txt` (0 bytes) with a global metadata and properties file;
 * `vhds/d.vhd` (a page blob: 4 KiB of data, 1 MiB of zeros, 512 bytes of data) with overwrite.
 */
export const prepareDrive = (o: DriveOptions = {}): PreparedDrive => {
  // PrepImport runs once per kind of drive and process; each test gets its own copy of the folder
  const key = JSON.stringify([o.photos ?? "rename", o.docs ?? false])
  let template = templates.get(key)
  if (template === undefined) {
    template = prepareTemplate(o)
    templates.set(key, template)
  }
  const dir = mkdtempSync(path.join(tmpdir(), "waie-svc-"))
  cpSync(template.dir, dir, { recursive: true })
  return located(dir, template.driveId, template.blobs)
}

interface Template {
  readonly dir: string
  readonly driveId: string
  /** blob path → source file, relative to the folder */
  readonly blobs: ReadonlyArray<readonly [string, string]>
}

const templates = new Map<string, Template>()
process.on("exit", () => {
  for (const t of templates.values()) rmSync(t.dir, { recursive: true, force: true })
})

const located = (dir: string, driveId: string, blobs: ReadonlyArray<readonly [string, string]>): PreparedDrive => {
  const root = path.join(dir, "g")
  const manifest = readFileSync(path.join(root, "DriveManifest.xml"), "utf8")
  const fileOf = (blobPath: string): string => {
    const esc = blobPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    const m = new RegExp(`<BlobPath>${esc}</BlobPath>\\s*<FilePath>([^<]*)</FilePath>`).exec(manifest)
    assert.ok(m, `${blobPath} is not in the manifest`)
    return path.join(root, ...m[1]!.split("\\").filter((s) => s !== ""))
  }
  return {
    dir,
    root,
    driveId,
    jobFile: path.join(dir, "logs", `${driveId}.xml`),
    sources: new Map(blobs.map(([b, rel]) => [b, path.join(dir, rel)])),
    fileOf,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

const prepareTemplate = (o: DriveOptions): Template => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-svc-template-"))
  const src = path.join(dir, "src")
  mkdirSync(path.join(src, "photos"), { recursive: true })
  mkdirSync(path.join(src, "disks"), { recursive: true })
  mkdirSync(path.join(src, "docs"), { recursive: true })
  const sources = new Map<string, string>()
  const put = (rel: string, blob: string, data: Uint8Array) => {
    writeFileSync(path.join(src, rel), data)
    sources.set(blob, path.join(src, rel))
  }
  put("photos/a.jpg", "pictures/a.jpg", bytes(1, 100_000))
  put("photos/big.bin", "pictures/big.bin", bytes(3, 9 * MiB + 7))
  put("photos/empty.txt", "pictures/empty.txt", new Uint8Array(0))
  put("disks/d.vhd", "vhds/d.vhd", Buffer.concat([bytes(4, 4096), Buffer.alloc(MiB), bytes(5, 512)]))
  if (o.docs) put("docs/c.txt", "docs/c.txt", bytes(9, 1234))
  writeFileSync(path.join(dir, "meta.xml"), metadataXml)
  writeFileSync(path.join(dir, "props.xml"), propertiesXml)
  writeFileSync(
    path.join(dir, "ds.csv"),
    [
      "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile",
      `"${src}/photos/","pictures/",BlockBlob,${o.photos ?? "rename"},"${dir}/meta.xml","${dir}/props.xml"`,
      `"${src}/disks/","vhds/",PageBlob,overwrite,None,None`,
      ...(o.docs ? [`"${src}/docs/c.txt","docs/c.txt",BlockBlob,no-overwrite,None,None`] : []),
      "",
    ].join("\n"),
  )
  const root = path.join(dir, "g")
  mkdirSync(root)
  writeFileSync(path.join(dir, "drives.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${root},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
  const journal = path.join(dir, "logs", "j.jrn")
  const r = spawnSync(process.execPath, [waieBin, "PrepImport", `/j:${journal}`, "/id:session1", `/sk:${storageKey}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", `/logdir:${path.join(dir, "logs")}`], { cwd: dir, encoding: "utf8" })
  assert.equal(r.status, 0, `PrepImport failed: ${r.stderr}${r.stdout}`)
  const manifest = readFileSync(path.join(root, "DriveManifest.xml"), "utf8")
  const driveId = /<DriveId>([^<]+)<\/DriveId>/.exec(manifest)![1]!
  return { dir, driveId, blobs: [...sources].map(([b, f]) => [b, path.relative(dir, f)] as const) }
}
