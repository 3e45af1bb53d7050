/**
 * `waie verify` on drives prepared by the real `waie PrepImport`: a clean drive passes; each kind
 * of damage (a flipped byte, a truncated, grown or deleted file, a changed metadata file, data in
 * a page blob's unlisted pages, a damaged manifest, another drive's identity) is reported with its
 * file, offset, length, expected and found, and makes the exit code 1. `--since-journal` checks
 * only what was written since the last verify, and records a clean one in the journal.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, test } from "node:test"
import { fileURLToPath } from "node:url"
import { type CommandSpec, type Io, runCommand } from "../lib/cli.ts"
import { command as journalJson } from "./journal-json.ts"
import { command as journalManifest } from "./journal-manifest.ts"
import { command as verifyCommand } from "./verify.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const key = Buffer.alloc(64, 42).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
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

let dir = ""
let journal = ""
let clean = "" // the prepared drive, never changed: each test damages a copy
let driveId = ""
const big = bytes(3, 9 * MiB + 7)
const vhd = Buffer.concat([bytes(4, 4096), Buffer.alloc(MiB), bytes(5, 512)])
const meta = '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Trip>2024</Trip>\n</Metadata>\n'

const run = (args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8" })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "waie-verify-"))
  const src = path.join(dir, "src")
  mkdirSync(path.join(src, "photos"), { recursive: true })
  mkdirSync(path.join(src, "disks"), { recursive: true })
  writeFileSync(path.join(src, "photos", "big.bin"), big)
  writeFileSync(path.join(src, "photos", "small.txt"), "hello, drive\n")
  writeFileSync(path.join(src, "photos", "empty.txt"), "")
  writeFileSync(path.join(src, "disks", "d.vhd"), vhd)
  writeFileSync(path.join(src, "meta.xml"), meta)
  writeFileSync(
    path.join(dir, "ds1.csv"),
    ["BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile", `"${src}/photos/","pictures/",,rename,"${src}/meta.xml",None`, `"${src}/disks/","vhds/",,overwrite,None,None`, ""].join("\n"),
  )
  clean = path.join(dir, "g")
  mkdirSync(clean)
  writeFileSync(path.join(dir, "drives.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${clean},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
  journal = path.join(dir, "logs", "j.jrn")
  const r = run(["PrepImport", `/j:${journal}`, "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds1.csv", `/logdir:${path.join(dir, "logs")}`])
  assert.equal(r.status, 0, r.stderr + r.stdout)
  driveId = /<DriveId>([^<]+)<\/DriveId>/.exec(readFileSync(path.join(clean, "DriveManifest.xml"), "utf8"))![1]!
})

after(() => rmSync(dir, { recursive: true, force: true }))

let copies = 0
/** A copy of the prepared drive to damage. */
const copy = (): string => {
  const d = path.join(dir, `copy${++copies}`)
  cpSync(clean, d, { recursive: true })
  return d
}

interface Line {
  readonly type: string
  readonly [k: string]: unknown
}

/** A command in this process, as the launcher runs it (without a node start per case). */
const cli = async (spec: CommandSpec, args: ReadonlyArray<string>) => {
  let stdout = ""
  let stderr = ""
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: dir, stderrIsTTY: false }
  const status = await runCommand(spec, args, io)
  return { status, stdout, stderr }
}

/** `waie verify DRIVE --json …`, its lines sorted out. */
const verify = async (drive: string, extra: ReadonlyArray<string> = ["--journal", journal]) => {
  const r = await cli(verifyCommand, [drive, "--json", ...extra])
  const lines = r.stdout.trimEnd().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line)
  const problems = lines.filter((l) => l.type === "problem").map(({ type: _t, line: _l, filePath: _f, blobPath: _b, ...p }) => p)
  const summary = lines.find((l) => l.type === "verify")
  return { status: r.status, problems, issues: lines.filter((l) => l.type === "issue"), summary, stderr: r.stderr, stdout: r.stdout }
}

const onDrive = (drive: string, ...parts: ReadonlyArray<string>): string => path.join(drive, "session#1", ...parts)
const flip = (file: string, at: number): void => {
  const b = readFileSync(file)
  b[at] = b[at]! ^ 0x01
  writeFileSync(file, b)
}
const block = (data: Buffer, i: number): Buffer => data.subarray(i * 4 * MiB, Math.min(data.length, (i + 1) * 4 * MiB))

test("a clean drive: exit 0, no problem, every blob read", async () => {
  const r = await verify(clean)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(r.problems, [])
  assert.deepEqual(r.issues, [])
  assert.equal(r.summary?.["ok"], true)
  assert.equal(r.summary?.["checkedBlobs"], 4)
  assert.equal(r.summary?.["blocks"], 4) // big.bin: 3, small.txt: 1 (the empty file has none)
  assert.equal(r.summary?.["pageRanges"], 2)
  assert.equal(r.summary?.["sideFiles"], 1)
  assert.equal(r.summary?.["bytes"], big.length + 13 + vhd.length)
  // the human form says so too
  const h = await cli(verifyCommand, [clean])
  assert.equal(h.status, 0)
  assert.match(h.stdout, /verified, nothing wrong/)
})

test("a flipped byte: the block it is in, with both MD5s", async () => {
  const d = copy()
  const file = onDrive(d, "pictures", "big.bin")
  flip(file, 5_000_000)
  const damaged = readFileSync(file)
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems, [{ kind: "changedBlock", file: file, offset: 4 * MiB, length: 4 * MiB, expected: `MD5 ${md5(block(big, 1))}`, found: `MD5 ${md5(block(damaged, 1))}` }])
  assert.equal(r.summary?.["ok"], false)
})

test("a truncated file: one file-length problem saying where it ends; the blocks before still checked", async () => {
  const d = copy()
  const file = onDrive(d, "pictures", "big.bin")
  truncateSync(file, 6_000_000)
  flip(file, 10) // in block 0, which is still whole
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems.map((p) => p["kind"]).sort(), ["changedBlock", "shortFile"])
  assert.deepEqual(
    r.problems.find((p) => p["kind"] === "shortFile"),
    { kind: "shortFile", file, offset: 6_000_000, length: big.length - 6_000_000, expected: `${big.length} bytes (the blob's Length)`, found: "6000000 bytes: the file ends early, what the manifest lists from offset 6000000 on is missing" },
  )
  assert.equal(r.problems.find((p) => p["kind"] === "changedBlock")?.["offset"], 0)
})

test("a file that grew: the bytes past the Length would not be imported", async () => {
  const d = copy()
  const file = onDrive(d, "pictures", "small.txt")
  appendFileSync(file, "more")
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems, [{ kind: "longFile", file, offset: 13, length: 4, expected: "13 bytes (the blob's Length)", found: "17 bytes: the bytes past the Length would not be imported" }])
})

test("a deleted file, and an empty file deleted", async () => {
  const d = copy()
  unlinkSync(onDrive(d, "pictures", "small.txt"))
  unlinkSync(onDrive(d, "pictures", "empty.txt"))
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems, [
    { kind: "missingFile", file: onDrive(d, "pictures", "empty.txt"), expected: "the blob's file (0 bytes)", found: "no such file" },
    { kind: "missingFile", file: onDrive(d, "pictures", "small.txt"), expected: "the blob's file (13 bytes)", found: "no such file" },
  ])
})

test("a changed metadata file: its MD5 against the manifest's (and it is checked once, however many blobs name it)", async () => {
  const d = copy()
  const side = path.join(d, "session#1", "$waie")
  const name = readdirSync(side)[0]!
  const changed = meta.replace("2024", "2025")
  writeFileSync(path.join(side, name), changed)
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems, [{ kind: "changedSideFile", file: path.join(side, name), expected: `MD5 ${md5(Buffer.from(meta))}`, found: `MD5 ${md5(Buffer.from(changed))}` }])
})

test("data in a page blob's unlisted pages: reported as a run of pages, since it would not be imported", async () => {
  const d = copy()
  const file = onDrive(d, "vhds", "d.vhd")
  const b = readFileSync(file)
  b[8192 + 100] = 7
  b[8192 + 600] = 7 // the next page: one run of two pages
  b[4096 + 512 * 100] = 1 // another run further on
  writeFileSync(file, b)
  const r = await verify(d)
  assert.equal(r.status, 1)
  const expected = "zeros (no PageRange lists these pages, so they would not be imported: the blob reads zeros there)"
  assert.deepEqual(r.problems, [
    { kind: "unlistedData", file, offset: 8192, length: 1024, expected, found: "non-zero bytes" },
    { kind: "unlistedData", file, offset: 4096 + 512 * 100, length: 512, expected, found: "non-zero bytes" },
  ])
})

test("a damaged manifest: a changed hash is a block problem and the ManifestHash no longer matches the journal's and the job file's", async () => {
  const d = copy()
  const m = path.join(d, "DriveManifest.xml")
  const text = readFileSync(m, "utf8")
  const real = md5(block(big, 2))
  const fake = "0".repeat(32)
  writeFileSync(m, text.replace(real, fake))
  const r = await verify(d)
  assert.equal(r.status, 1)
  const newHash = md5(readFileSync(m))
  const recorded = md5(Buffer.from(text))
  assert.deepEqual(r.problems, [
    { kind: "changedBlock", file: onDrive(d, "pictures", "big.bin"), offset: 8 * MiB, length: big.length - 8 * MiB, expected: `MD5 ${fake}`, found: `MD5 ${real}` },
    { kind: "manifestHash", file: journal, expected: `the MD5 of the manifest checked, ${newHash}`, found: `${recorded}, recorded by the journal: the manifest on the drive is not the one PrepImport wrote last` },
    { kind: "manifestHash", file: path.join(dir, "logs", `${driveId}.xml`), expected: `the MD5 of the manifest checked, ${newHash}`, found: recorded },
  ])
  // without the journal, only the block
  assert.deepEqual((await verify(d, [])).problems.map((p) => p["kind"]), ["changedBlock"])
})

test("a manifest broken by a rule, and one cut short: its issues, exit 1", async () => {
  const d = copy()
  const m = path.join(d, "DriveManifest.xml")
  const text = readFileSync(m, "utf8")
  writeFileSync(m, text.replace("<Length>13</Length>", "<Length>14</Length>"))
  const r = await verify(d, [])
  assert.equal(r.status, 1)
  assert.deepEqual(r.issues.map((i) => i["field"]), ["BlockList"])
  assert.deepEqual(r.problems.map((p) => p["kind"]), ["shortFile"])
  writeFileSync(m, text.slice(0, text.indexOf("<BlobPath>vhds/")))
  const cut = await verify(d, [])
  assert.equal(cut.status, 1)
  assert.equal(cut.summary?.["manifestComplete"], false)
  assert.equal(cut.issues.length, 1)
  assert.deepEqual(cut.problems, [])
})

test("another drive's identity file, and a drive the journal does not know", async () => {
  const d = copy()
  const idFile = path.join(d, "waie-drive.json")
  const id = JSON.parse(readFileSync(idFile, "utf8")) as Record<string, string>
  writeFileSync(idFile, JSON.stringify({ ...id, driveId: "WAIE000000000000" }))
  const r = await verify(d)
  assert.equal(r.status, 1)
  assert.deepEqual(r.problems, [{ kind: "driveIdentity", file: idFile, expected: `the manifest's DriveId ${driveId}`, found: "DriveId WAIE000000000000: the manifest is another drive's" }])
  writeFileSync(idFile, JSON.stringify(id))
  const m = path.join(d, "DriveManifest.xml")
  writeFileSync(m, readFileSync(m, "utf8").replace(`<DriveId>${driveId}</DriveId>`, "<DriveId>OTHER</DriveId>"))
  const k = (await verify(d)).problems.map((p) => `${p["kind"]}: ${String(p["found"])}`)
  assert.ok(k.includes("driveIdentity: DriveId OTHER"), k.join("\n"))
})

test("no manifest on the drive: exit 3, naming it; --since-journal without --journal: exit 2", async () => {
  const d = copy()
  unlinkSync(path.join(d, "DriveManifest.xml"))
  const r = await cli(verifyCommand, [d])
  assert.equal(r.status, 3)
  assert.match(r.stderr, /DriveManifest\.xml: cannot read \(ENOENT\)/)
  assert.equal((await cli(verifyCommand, [d, "--since-journal"])).status, 2)
})

test("--since-journal: the first checks everything and is recorded; after a second session, only its files are checked", async () => {
  // its own journal and drive: the records it adds must not change the other tests' journal
  const d = path.join(dir, "since")
  mkdirSync(d)
  const j = path.join(dir, "since-logs", "j.jrn")
  writeFileSync(path.join(dir, "since-drives.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${d},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
  assert.equal(run(["PrepImport", `/j:${j}`, "/id:session#1", `/sk:${key}`, "/InitialDriveSet:since-drives.csv", "/DataSet:ds1.csv", `/logdir:${path.dirname(j)}`]).status, 0)

  const first = await verify(d, ["--journal", j, "--since-journal"])
  assert.equal(first.status, 0, first.stdout + first.stderr)
  assert.equal(first.summary?.["checkedBlobs"], 4)
  const recorded = first.summary?.["recordedUpTo"]
  assert.equal(typeof recorded, "number")
  // the record is in the journal, which waie still reads (journal json, PrepImport's replay)
  const records = (await cli(journalJson, [j])).stdout
  assert.match(records, new RegExp(`"recordType":"DriveVerified".*"VerifiedUpTo","${String(recorded)}"`))
  const again = await verify(d, ["--journal", j, "--since-journal"])
  assert.equal(again.status, 0)
  assert.equal(again.summary?.["checkedBlobs"], 0, "nothing was written since")
  assert.equal(again.summary?.["since"], recorded)
  const mark = again.summary?.["recordedUpTo"]
  assert.ok(typeof mark === "number" && typeof recorded === "number" && mark > recorded, "a clean check moves the mark to the journal's end")

  // a second session adds files
  mkdirSync(path.join(dir, "src", "more"))
  writeFileSync(path.join(dir, "src", "more", "n.bin"), bytes(9, 5 * MiB))
  writeFileSync(path.join(dir, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n"${path.join(dir, "src", "more")}/","more/"\n`)
  const second = run(["PrepImport", `/j:${j}`, "/id:session#2", "/DataSet:ds2.csv"])
  assert.equal(second.status, 0, second.stderr + second.stdout)
  // damage in an old file is not looked at; damage in the new one is found
  flip(path.join(d, "session#1", "pictures", "big.bin"), 10)
  const newFile = path.join(d, "session#2", "more", "n.bin")
  flip(newFile, 4 * MiB + 1)
  const since = await verify(d, ["--journal", j, "--since-journal"])
  assert.equal(since.status, 1)
  assert.equal(since.summary?.["checkedBlobs"], 1)
  assert.equal(since.summary?.["since"], mark)
  assert.deepEqual(since.problems.map((p) => [p["kind"], p["file"], p["offset"]]), [["changedBlock", newFile, 4 * MiB]])
  assert.equal(since.summary?.["recordedUpTo"], undefined, "a check that found problems is not recorded")
  // a full verify finds both
  assert.deepEqual((await verify(d, ["--journal", j])).problems.map((p) => p["file"]).sort(), [path.join(d, "session#1", "pictures", "big.bin"), newFile].sort())
  // the failed check was not recorded: the next one still looks at the new file
  assert.equal((await verify(d, ["--journal", j, "--since-journal"])).summary?.["checkedBlobs"], 1)
  // and the journal still gives the manifest on the drive, byte for byte
  const rebuilt = await cli(journalManifest, [j, "--drive-id", /<DriveId>([^<]+)</.exec(readFileSync(path.join(d, "DriveManifest.xml"), "utf8"))![1]!])
  assert.equal(rebuilt.status, 0, rebuilt.stderr)
  assert.equal(rebuilt.stdout, readFileSync(path.join(d, "DriveManifest.xml"), "utf8"))
})
