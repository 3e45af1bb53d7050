/**
 * Two waie processes on one journal or one drive, and what PrepImport prints and records about
 * its own surroundings: the journal's lock (`<journal>.lock`) and the drive's (`.waie.lock`)
 * refuse the second process, naming the holder, with nothing changed; a lock left by a process
 * that is gone is taken over with a plain note; `/logdir:` must name a folder, and defaults to
 * the command's folder. The first process is held still after a named journal append
 * (WAIE_TEST_PAUSE_AT, lib/journal.ts) while the others run.
 */
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { type Io, runCli } from "../lib/cli.ts"
import { loadCommands } from "./commands.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const key = Buffer.alloc(64, 7).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
const header = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey"

interface World {
  readonly dir: string
  readonly journal: string
  run(args: ReadonlyArray<string>, env?: Record<string, string>): { status: number | null; stdout: string; stderr: string }
}

const world = (): World => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-lock-"))
  for (const d of ["src", "g", "h", "jobs", "other"]) mkdirSync(path.join(dir, d))
  writeFileSync(path.join(dir, "src", "a.bin"), Buffer.alloc(300_000, 1))
  writeFileSync(path.join(dir, "src", "b.txt"), "b")
  writeFileSync(path.join(dir, "ds.csv"), `BasePath,DstBlobPathOrPrefix\n${dir}/src/,data/\n`)
  writeFileSync(path.join(dir, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n${dir}/src/b.txt,more/b.txt\n`)
  writeFileSync(path.join(dir, "g.csv"), `${header}\n${dir}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
  writeFileSync(path.join(dir, "h.csv"), `${header}\n${dir}/h,AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`)
  return {
    dir,
    journal: path.join(dir, "jobs", "j.jrn"),
    run: (args, env = {}) => {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } })
      return { status: r.status, stdout: r.stdout, stderr: r.stderr }
    },
  }
}

/** Names and MD5s of the files under a folder (what a refused command must leave as it was). */
const tree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[path.relative(dir, p)] = createHash("md5").update(readFileSync(p)).digest("hex")
    }
  }
  walk(dir)
  return out
}

/** A pid no process has: one that just ended. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(r.stdout)
}

const firstSession = (w: World, journal: string, drives: string, extra: ReadonlyArray<string> = []) => ["PrepImport", `/j:${journal}`, "/id:session#1", `/sk:${key}`, `/InitialDriveSet:${drives}`, "/DataSet:ds.csv", "/logdir:jobs", ...extra]

test("a second PrepImport on the journal, or on the drive with another journal, is refused while the first runs, naming it; nothing changes; the first completes", async () => {
  const w = world()
  const pauseFile = path.join(w.dir, "paused")
  const first = spawn(process.execPath, [bin, ...firstSession(w, "jobs/j.jrn", "g.csv")], {
    cwd: w.dir,
    env: { ...process.env, WAIE_TEST_PAUSE_AT: "2", WAIE_TEST_PAUSE_FILE: pauseFile },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let firstOut = ""
  first.stdout.on("data", (b: Buffer) => void (firstOut += b.toString()))
  first.stderr.on("data", (b: Buffer) => void (firstOut += b.toString()))
  const exited = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)))
  try {
    // the first holds the journal's lock and the drive's, its session started (2 appends) and not done
    while (!existsSync(pauseFile)) {
      if (first.exitCode !== null) assert.fail(`the first PrepImport ended before its pause: ${firstOut}`)
      await sleep(20)
    }
    assert.ok(existsSync(`${w.journal}.lock`), "the journal's lock")
    assert.ok(existsSync(path.join(w.dir, "g", ".waie.lock")), "the drive's lock")
    const holder = JSON.parse(readFileSync(`${w.journal}.lock`, "utf8")) as { pid: number; host: string; time: string }
    assert.equal(holder.pid, first.pid)
    assert.equal(holder.host, hostname())
    const holderPattern = (h: { time: string }) => new RegExp(`in use by waie \\(pid ${first.pid} on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} since ${h.time.replace(/\./g, "\\.")}`)
    const named = holderPattern(holder)
    const driveNamed = holderPattern(JSON.parse(readFileSync(path.join(w.dir, "g", ".waie.lock"), "utf8")) as { time: string })

    const before = { journal: readFileSync(w.journal), jobs: tree(path.join(w.dir, "jobs")), g: tree(path.join(w.dir, "g")), h: tree(path.join(w.dir, "h")), other: tree(path.join(w.dir, "other")) }
    const sameJournal: Array<[string, ReadonlyArray<string>]> = [
      ["a new session", ["PrepImport", "/j:jobs/j.jrn", "/id:session#2", "/DataSet:ds2.csv"]],
      ["a new session with its own drive", ["PrepImport", "/j:jobs/j.jrn", "/id:session#2", "/DataSet:ds2.csv", "/AdditionalDriveSet:h.csv"]],
      ["a resume", ["PrepImport", "/j:jobs/j.jrn", "/id:session#1", "/ResumeSession"]],
      ["an abort", ["PrepImport", "/j:jobs/j.jrn", "/id:session#1", "/AbortSession"]],
      ["drives added to the session", ["PrepImport", "/j:jobs/j.jrn", "/id:session#1", "/AdditionalDriveSet:h.csv"]],
    ]
    for (const [what, args] of sameJournal) {
      const r = w.run(args)
      assert.equal(r.status, 1, `${what}: ${r.stderr}`)
      assert.match(r.stderr, /jobs\/j\.jrn: the journal is in use by waie/, what)
      assert.match(r.stderr, named, what)
      const json = w.run([...args, "--json"])
      const error = JSON.parse(json.stdout.trim().split("\n").at(-1)!) as { type: string; error: string; exitCode: number }
      assert.deepEqual([error.type, error.error, error.exitCode], ["error", "JournalLocked", 1], what)
    }
    // the same drive with another journal: the drive's lock refuses it
    const otherJournal = w.run(firstSession(w, "other/j2.jrn", "g.csv"))
    assert.equal(otherJournal.status, 1, otherJournal.stderr)
    assert.match(otherJournal.stderr, driveNamed)
    assert.match(otherJournal.stderr, /journal .*jobs\/j\.jrn\)/)
    // a check that records into the journal waits its turn too
    const verify = w.run(["verify", "g", "--journal", "jobs/j.jrn", "--since-journal"])
    assert.equal(verify.status, 1, verify.stderr)
    assert.match(verify.stderr, driveNamed)
    assert.deepEqual(
      { journal: readFileSync(w.journal), jobs: tree(path.join(w.dir, "jobs")), g: tree(path.join(w.dir, "g")), h: tree(path.join(w.dir, "h")), other: tree(path.join(w.dir, "other")) },
      before,
      "a refused command changed something",
    )

    rmSync(pauseFile)
    assert.equal(await exited, 0, firstOut)
    assert.match(firstOut, /session session#1 completed: 2 files copied/)
    assert.equal(existsSync(`${w.journal}.lock`), false, "the journal's lock is released")
    assert.equal(existsSync(path.join(w.dir, "g", ".waie.lock")), false, "the drive's lock is released")
    const check = w.run(["verify", "g", "--journal", "jobs/j.jrn"])
    assert.equal(check.status, 0, check.stdout + check.stderr)
    // and once it is done, the next session runs
    assert.equal(w.run(["PrepImport", "/j:jobs/j.jrn", "/id:session#2", "/DataSet:ds2.csv"]).status, 0)
  } finally {
    if (first.exitCode === null) first.kill("SIGKILL")
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("locks left by a process that is gone are taken over, with plain notes (not Effect's logger), as lines or JSON notes", () => {
  const w = world()
  try {
    // a crash after the session's first file started: both locks are left behind by a dead process
    const crashed = w.run(firstSession(w, "jobs/j.jrn", "g.csv"), { WAIE_TEST_KILL_AT: "3" })
    assert.equal(crashed.status, null)
    assert.ok(existsSync(`${w.journal}.lock`) || existsSync(path.join(w.dir, "g", ".waie.lock")))
    const gone = deadPid()
    const stale = JSON.stringify({ pid: gone, host: hostname(), time: "2026-01-02T03:04:05.000Z" }) + "\n"
    writeFileSync(`${w.journal}.lock`, stale)
    writeFileSync(path.join(w.dir, "g", ".waie.lock"), JSON.stringify({ pid: gone, host: hostname(), time: "2026-01-02T03:04:05.000Z", journal: w.journal }) + "\n")
    const abort = w.run(["PrepImport", "/j:jobs/j.jrn", "/id:session#1", "/AbortSession"])
    assert.equal(abort.status, 0, abort.stderr)
    const notes = abort.stderr.split("\n")
    assert.ok(notes.includes(`jobs/j.jrn: took over the journal's lock left by waie pid ${gone} (since 2026-01-02T03:04:05.000Z), a process that is gone`), abort.stderr)
    assert.ok(notes.some((l) => l.startsWith("drive ") && l.includes(`took over the lock left by waie pid ${gone}`)), abort.stderr)
    assert.doesNotMatch(abort.stdout + abort.stderr, /level=INFO|fiber=#|timestamp=/)
    assert.equal(existsSync(`${w.journal}.lock`), false)

    // in JSON, a note line
    writeFileSync(`${w.journal}.lock`, stale)
    const json = w.run([...firstSession(w, "jobs/j.jrn", "g.csv"), "--json"])
    assert.equal(json.status, 0, json.stdout)
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; message?: string })
    assert.ok(lines.some((l) => l.type === "note" && l.message === `jobs/j.jrn: took over the journal's lock left by waie pid ${gone} (since 2026-01-02T03:04:05.000Z), a process that is gone`), json.stdout)
    assert.doesNotMatch(json.stdout + json.stderr, /level=INFO|fiber=#/)
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("a lock of another host, or one that cannot be read, is never taken over", () => {
  const w = world()
  try {
    assert.equal(w.run(firstSession(w, "jobs/j.jrn", "g.csv")).status, 0)
    const journalBefore = readFileSync(w.journal)
    writeFileSync(`${w.journal}.lock`, JSON.stringify({ pid: deadPid(), host: "another-host.example", time: "2026-01-02T03:04:05.000Z" }) + "\n")
    const foreign = w.run(["PrepImport", "/j:jobs/j.jrn", "/id:session#2", "/DataSet:ds2.csv"])
    assert.equal(foreign.status, 1, foreign.stderr)
    assert.match(foreign.stderr, /in use by waie \(pid \d+ on another-host\.example since 2026-01-02T03:04:05\.000Z\); wait for it to finish, or remove jobs\/j\.jrn\.lock if that process is gone/)
    writeFileSync(`${w.journal}.lock`, "garbage")
    const garbage = w.run(["PrepImport", "/j:jobs/j.jrn", "/id:session#2", "/DataSet:ds2.csv"])
    assert.equal(garbage.status, 1, garbage.stderr)
    assert.match(garbage.stderr, /locked by jobs\/j\.jrn\.lock, which cannot be read \(not JSON\)/)
    assert.deepEqual(readFileSync(w.journal), journalBefore)
    assert.equal(readFileSync(`${w.journal}.lock`, "utf8"), "garbage", "a lock waie cannot read is left for a person")
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("/logdir: naming a file is refused before anything is written; without it the log folder is the command's folder", async () => {
  const w = world()
  try {
    writeFileSync(path.join(w.dir, "not-a-folder.log"), "x")
    const before = { g: tree(path.join(w.dir, "g")), jobs: tree(path.join(w.dir, "jobs")) }
    const args = firstSession(w, "jobs/j.jrn", "g.csv").filter((a) => !a.startsWith("/logdir:"))
    const r = w.run([...args, "/logdir:not-a-folder.log"])
    assert.equal(r.status, 3, r.stderr)
    assert.equal(r.stderr.trim(), "not-a-folder.log: cannot write (ENOTDIR): a file, not a folder (/logdir: names the folder of the job's logs)")
    assert.deepEqual({ g: tree(path.join(w.dir, "g")), jobs: tree(path.join(w.dir, "jobs")) }, before)
    assert.equal(existsSync(w.journal), false)
    assert.equal(existsSync(path.join(w.dir, "g", "waie-drive.json")), false)

    // run inside another program whose own folder is elsewhere: the command's folder is the default
    assert.notEqual(process.cwd(), w.dir)
    let out = ""
    const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), cwd: w.dir, stderrIsTTY: false }
    const code = await runCli(await loadCommands(), ["prep-import", ...args.slice(1), "--json"], io)
    assert.equal(code, 0, out)
    const text = readFileSync(w.journal, "utf8")
    assert.match(text, new RegExp(`\\nLogDirectory: ${JSON.stringify(w.dir).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`))
    assert.ok(statSync(w.dir).isDirectory())
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})
