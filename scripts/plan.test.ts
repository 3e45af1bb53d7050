/**
 * `waie plan` and `waie PrepImport --dry-run` as a user runs them: the same plan from both, nothing
 * written (not even for a later session of an existing journal), the exit code PrepImport would
 * give (0, 5 when files fit nowhere, 1 when it would refuse), every dataset problem listed, and a
 * time estimate that says how it was measured.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, test } from "node:test"
import { fileURLToPath } from "node:url"
import { type CommandSpec, type Io, runCommand } from "../lib/cli.ts"
import { command as plan } from "./plan.ts"
import { command as prepImport } from "./prep-import.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const key = Buffer.alloc(64, 42).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"

let dir = ""
const cli = async (spec: CommandSpec, args: ReadonlyArray<string>) => {
  let stdout = ""
  let stderr = ""
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: dir, stderrIsTTY: false }
  const status = await runCommand(spec, args, io)
  return { status, stdout, stderr, lines: stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>) }
}

const tree = (d: string): Array<string> =>
  readdirSync(d)
    .sort()
    .flatMap((name) => {
      const p = path.join(d, name)
      const s = lstatSync(p)
      const line = `${p} ${s.isDirectory() ? "d" : "f"} ${s.isDirectory() ? 0 : s.size} ${s.mtimeMs}`
      return s.isDirectory() ? [line, ...tree(p)] : [line]
    })

const driveset = (name: string, roots: ReadonlyArray<string>) => {
  writeFileSync(path.join(dir, name), ["DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey", ...roots.map((r) => `${r},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}`), ""].join("\n"))
  return name
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "waie-plan-"))
  mkdirSync(path.join(dir, "src", "a"), { recursive: true })
  writeFileSync(path.join(dir, "src", "a", "one.bin"), Buffer.alloc(300_000, 1))
  writeFileSync(path.join(dir, "src", "a", "two.txt"), "two\n")
  writeFileSync(path.join(dir, "ds.csv"), `BasePath,DstBlobPathOrPrefix\n"${dir}/src/a/","box/"\n`)
  mkdirSync(path.join(dir, "g"))
  driveset("drives.csv", [path.join(dir, "g")])
})

after(() => rmSync(dir, { recursive: true, force: true }))

const strip = (lines: ReadonlyArray<Record<string, unknown>>) => lines.filter((l) => l["type"] !== "planEstimate").map((l) => (l["type"] === "planDrive" ? { ...l, freeNow: 0, freeBytes: 0, freeLeft: 0 } : l))

test("a first session: the plan, the same from PrepImport --dry-run, and nothing written", async () => {
  const before = tree(dir)
  const r = await cli(plan, ["/DataSet:ds.csv", "/InitialDriveSet:drives.csv", "/id:session#1", "--files", "--json"])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(
    r.lines.filter((l) => l["type"] === "planFile").map((l) => [l["source"], l["drive"], l["filePath"]]),
    [
      [path.join(dir, "src", "a", "one.bin"), path.join(dir, "g"), "\\session#1\\box\\one.bin"],
      [path.join(dir, "src", "a", "two.txt"), path.join(dir, "g"), "\\session#1\\box\\two.txt"],
    ],
  )
  const summary = r.lines.find((l) => l["type"] === "plan")!
  assert.deepEqual([summary["files"], summary["bytes"], summary["outcome"], summary["exitCode"]], [2, 300_004, "complete", 0])
  const estimate = r.lines.find((l) => l["type"] === "planEstimate")!
  assert.ok(typeof estimate["seconds"] === "number" && estimate["seconds"] >= 0)
  assert.equal(estimate["sampleFiles"], 2)
  assert.match(String(estimate["method"]), /sample of the sources/)
  const dry = await cli(prepImport, [`/j:${path.join(dir, "logs", "j.jrn")}`, "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", "--dry-run", "--json"])
  assert.equal(dry.status, 0)
  assert.deepEqual(strip(dry.lines), strip(r.lines.filter((l) => l["type"] !== "planFile")))
  assert.deepEqual(tree(dir), before, "plan or --dry-run wrote something")
  // in words, with the estimate and how it was made
  const human = await cli(plan, ["/DataSet:ds.csv", "/InitialDriveSet:drives.csv"])
  assert.match(human.stdout, /\/g: 2 files, 300,004 bytes;/)
  assert.match(human.stdout, /estimate: about \d\d:\d\d to read and hash .* measured: 2 sample files/)
  assert.match(human.stdout, /PrepImport would copy everything/)
})

test("a later session of a journal: its drives first, its rules, and the journal untouched", async () => {
  const j = path.join(dir, "logs", "j.jrn")
  const first = spawnSync(process.execPath, [bin, "PrepImport", `/j:${j}`, "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv"], { cwd: dir, encoding: "utf8" })
  assert.equal(first.status, 0, first.stderr)
  const journalBytes = readFileSync(j)
  const before = tree(dir)
  mkdirSync(path.join(dir, "h"))
  driveset("more.csv", [path.join(dir, "h")])
  const afterH = tree(dir)
  const r = await cli(plan, [`/j:${j}`, "/id:session#2", "/DataSet:ds.csv", "/AdditionalDriveSet:more.csv", "--json", "--no-estimate"])
  assert.equal(r.status, 0, r.stdout)
  assert.deepEqual(r.lines.filter((l) => l["type"] === "planDrive").map((l) => [l["drive"], l["known"], l["files"]]), [[path.join(dir, "g"), true, 2], [path.join(dir, "h"), false, 0]])
  assert.equal(r.lines.some((l) => l["type"] === "planEstimate"), false)
  assert.deepEqual(readFileSync(j), journalBytes)
  assert.deepEqual(tree(dir), afterH)
  // a session id already used, and /InitialDriveSet for a later session: what PrepImport refuses
  const reused = await cli(plan, [`/j:${j}`, "/id:session#1", "/DataSet:ds.csv", "/InitialDriveSet:drives.csv", "--json", "--no-estimate"])
  assert.equal(reused.status, 1)
  assert.deepEqual(
    reused.lines.filter((l) => l["type"] === "planProblem").map((l) => l["message"]),
    [
      "session id session#1 is already used in this journal; a new session needs a new /id",
      "/InitialDriveSet is for the first session of a journal; later sessions use its drives (add drives with /AdditionalDriveSet)",
      `drives ${path.join(dir, "g")} and ${path.join(dir, "g")} are the same folder, ${path.join(dir, "g")}`,
    ],
  )
  rmSync(path.join(dir, "h"), { recursive: true })
  rmSync(path.join(dir, "more.csv"))
  assert.deepEqual(tree(dir), before)
})

test("every problem of the dataset and of the drives; exit 1", async () => {
  writeFileSync(path.join(dir, "bad.csv"), `BasePath,DstBlobPathOrPrefix\n"${dir}/src/a/","box/"\n"${dir}/src/none/","box2/"\n"${dir}/src/a/two.txt","Bad/two.txt"\n`)
  mkdirSync(path.join(dir, "full"))
  writeFileSync(path.join(dir, "full", "x"), "x")
  driveset("bad-drives.csv", [path.join(dir, "full"), path.join(dir, "absent")])
  const r = await cli(plan, ["/DataSet:bad.csv", "/InitialDriveSet:bad-drives.csv", "--json", "--no-estimate"])
  assert.equal(r.status, 1)
  assert.deepEqual(
    r.lines.filter((l) => l["type"] === "issue").map((l) => [l["line"], l["field"]]),
    [
      [3, "BasePath"],
      [4, "DstBlobPathOrPrefix"],
    ],
  )
  assert.deepEqual(
    r.lines.filter((l) => l["type"] === "planProblem").map((l) => String(l["message"]).replaceAll(dir, "")),
    ['drive /full: /full is not empty (1 entry: "x"); use an empty drive, or FormatOption Format to erase it', "drive /absent: /absent does not exist: mount the drive there, or check --mount"],
  )
  assert.equal(r.lines.find((l) => l["type"] === "plan")?.["outcome"], "refused")
})

test("usage: a plan needs a dataset, and a first session its drives", async () => {
  assert.equal((await cli(plan, ["/InitialDriveSet:drives.csv"])).status, 2)
  assert.equal((await cli(plan, ["/DataSet:ds.csv"])).status, 2)
  assert.equal((await cli(prepImport, ["/j:x.jrn", "/ResumeSession", "--dry-run"])).status, 2)
})

test("files that fit on no drive (a 2 MiB tmpfs): listed, exit 5 as PrepImport's", async (t) => {
  const small = path.join(dir, "small")
  mkdirSync(small)
  if (process.getuid?.() !== 0 || spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small]).status !== 0) {
    t.skip("cannot mount tmpfs here")
    return
  }
  try {
    writeFileSync(path.join(dir, "src", "big.bin"), Buffer.alloc(3 * 1024 * 1024, 2))
    writeFileSync(path.join(dir, "big.csv"), `BasePath,DstBlobPathOrPrefix\n"${dir}/src/a/two.txt","box/two.txt"\n"${dir}/src/big.bin","box/big.bin"\n`)
    driveset("small.csv", [small])
    const r = await cli(plan, ["/DataSet:big.csv", "/InitialDriveSet:small.csv", "--json", "--no-estimate"])
    assert.equal(r.status, 5)
    assert.deepEqual(r.lines.filter((l) => l["type"] === "planUnplaced"), [{ type: "planUnplaced", source: path.join(dir, "src", "big.bin"), length: 3 * 1024 * 1024 }])
    const d = r.lines.find((l) => l["type"] === "planDrive")!
    // the free space PrepImport will see: 2 MiB less the lock and the identity file (a page each)
    assert.equal(d["freeBytes"], 2 * 1024 * 1024 - 2 * 4096)
    assert.equal(d["files"], 1)
  } finally {
    spawnSync("umount", [small])
  }
})
