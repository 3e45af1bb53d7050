/**
 * Bad input changes nothing on disk. Every case of goldens/hostile is run again in-process with
 * its folder tree snapshotted before and after (names, types, sizes, modification times and, for
 * files, SHA-256); then PrepImport is refused, one bad input at a time, on a world of real
 * folders (sources, drives, a journal with a finished session), snapshotted the same way.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { type Io, runCli } from "../lib/cli.ts"
import { generate, generatedDir } from "../goldens/hostile/generate.ts"
import { loadCommands } from "./commands.ts"

const hostile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../goldens/hostile")
const commands = await loadCommands()

/** path → what can be seen of it. `hash: false` skips contents (the generated files: 90 MB). */
const snapshot = (root: string, hash = true): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name)
      const s = lstatSync(p)
      const rel = path.relative(root, p)
      if (s.isDirectory()) {
        out.set(rel, `dir mtime=${s.mtimeMs}`)
        walk(p)
      } else {
        const digest = hash && s.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : "-"
        out.set(rel, `${s.isFile() ? "file" : "other"} size=${s.size} mtime=${s.mtimeMs} mode=${s.mode.toString(8)} sha256=${digest}`)
      }
    }
  }
  walk(root)
  return out
}

/** `touched`: folders whose own modification time may change (see `refused`); their contents may not. */
const assertSame = (before: Map<string, string>, after: Map<string, string>, what: string, touched: ReadonlyArray<string> = []) => {
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
    (k) => before.get(k) !== after.get(k) && !(touched.includes(k) && before.get(k)?.startsWith("dir ") && after.get(k)?.startsWith("dir ")),
  )
  assert.deepEqual(
    changed.map((k) => `${k}: ${before.get(k) ?? "(absent)"} -> ${after.get(k) ?? "(absent)"}`),
    [],
    `${what} changed something on disk`,
  )
}

const run = async (argv: ReadonlyArray<string>, cwd: string): Promise<{ exit: number; out: string }> => {
  let out = ""
  const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), cwd, stderrIsTTY: false }
  const exit = await runCli(commands, argv, io)
  return { exit, out }
}

const argvOf = (dir: string): Array<string> => {
  const lines = readFileSync(path.join(dir, "cmd"), "utf8").split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

const caseDirs = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "generated")
    .flatMap((e) => {
      const p = path.join(dir, e.name)
      return existsSync(path.join(p, "cmd")) ? [p] : caseDirs(p)
    })
    .sort()

test("every hostile case leaves the corpus as it was: its own folder, its neighbours, the generated inputs", async () => {
  generate()
  const all = caseDirs(hostile)
  assert.ok(all.length >= 150, `only ${all.length} hostile cases`)
  const whole = snapshot(hostile, false)
  const generatedBefore = snapshot(generatedDir)
  for (const dir of all) {
    const name = path.relative(hostile, dir)
    const before = snapshot(path.dirname(dir))
    const { exit, out } = await run(argvOf(dir), dir)
    assert.ok([0, 1, 2, 3, 4].includes(exit), `${name}: exit ${exit}\n${out.slice(0, 500)}`)
    assertSame(before, snapshot(path.dirname(dir)), name)
  }
  assertSame(generatedBefore, snapshot(generatedDir), "the hostile corpus (generated inputs)")
  assertSame(whole, snapshot(hostile, false), "the hostile corpus")
  // the command lines name folders that must not come into being
  for (const p of ["/nonexistent-waie-drive", "/nonexistent-waie-source"]) assert.equal(existsSync(p), false, p)
})

// ---------------------------------------------------------------- PrepImport on real folders

const key = Buffer.from("WAIESECRETKEY-dont-leak-".repeat(3)).subarray(0, 64).toString("base64")
const recoveryKey = "060456-014509-132033-080300-252615-584177-672089-411631"
const drivesetHeader = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey"

interface World {
  readonly dir: string
  readonly run: (argv: ReadonlyArray<string>) => Promise<{ exit: number; out: string }>
  readonly write: (name: string, content: string | Buffer) => string
}

const world = (): World => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-unchanged-"))
  mkdirSync(path.join(dir, "src", "photos"), { recursive: true })
  writeFileSync(path.join(dir, "src", "photos", "a.jpg"), Buffer.alloc(70_000, 7))
  writeFileSync(path.join(dir, "src", "photos", "b.txt"), "b")
  mkdirSync(path.join(dir, "g"))
  mkdirSync(path.join(dir, "h"))
  mkdirSync(path.join(dir, "jobs"))
  const write = (name: string, content: string | Buffer) => {
    writeFileSync(path.join(dir, name), content)
    return name
  }
  write("ds.csv", `BasePath,DstBlobPathOrPrefix\n${dir}/src/photos/,pictures/\n`)
  write("drives.csv", `${drivesetHeader}\n${dir}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
  return { dir, write, run: (argv) => run(argv, dir) }
}

/**
 * A refused command: its exit code is one of the documented refusals and the world is as it was.
 * A drive is checked by writing to it (a canary written, synced, read back and removed; the
 * lock taken and released), so a drive refused for what it holds may keep a new modification
 * time on its root folder — listed in `touched` — and nothing else.
 */
const refused = async (w: World, argv: ReadonlyArray<string>, codes: ReadonlyArray<number>, pattern?: RegExp, touched: ReadonlyArray<string> = []) => {
  const before = snapshot(w.dir)
  const { exit, out } = await w.run(argv)
  assert.ok(codes.includes(exit), `${argv.join(" ")}: exit ${exit}, expected ${codes.join(" or ")}\n${out}`)
  if (pattern) assert.match(out, pattern, argv.join(" "))
  assert.doesNotMatch(out, /^ {4}at /m, "a stack trace")
  assert.ok(!out.includes(key), "the key was printed")
  assertSame(before, snapshot(w.dir), argv.join(" "), touched)
}

const first = (extra: Record<string, string> = {}): Array<string> => {
  const o = { j: "jobs/j.jrn", id: "session#1", sk: key, InitialDriveSet: "drives.csv", DataSet: "ds.csv", ...extra }
  return ["PrepImport", ...Object.entries(o).filter(([, v]) => v !== "").map(([k, v]) => `/${k}:${v}`)]
}

test("PrepImport refuses a first session with any bad input, and nothing on disk changes", async () => {
  const w = world()
  try {
    const badRow = w.write("bad-row.csv", `BasePath,DstBlobPathOrPrefix\n${w.dir}/src/photos/,pictures/\n${w.dir}/src/photos/a.jpg,Pictures/a.jpg\n`)
    const missing = w.write("missing.csv", `BasePath,DstBlobPathOrPrefix\n${w.dir}/src/nope/,pictures/\n`)
    const dotdot = w.write("dotdot.csv", `BasePath,DstBlobPathOrPrefix\n${w.dir}/src/../src/photos/,pictures/\n`)
    const utf16 = w.write("utf16.csv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`BasePath,DstBlobPathOrPrefix\n${w.dir}/src/photos/,pictures/\n`, "utf16le")]))
    const garbage = w.write("garbage.csv", Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 151 + 7) % 256)))
    const badKey = w.write("bad-key.csv", `${drivesetHeader}\n${w.dir}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,060456-014509\n`)
    const twice = w.write("twice.csv", `${drivesetHeader}\n${w.dir}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n${w.dir}/g/,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
    const onSource = w.write("on-source.csv", `${drivesetHeader}\n${w.dir}/src,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
    const onJournal = w.write("on-journal.csv", `${drivesetHeader}\n${w.dir}/jobs,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
    writeFileSync(path.join(w.dir, "h", "already-here.txt"), "something")
    const notEmpty = w.write("not-empty.csv", `${drivesetHeader}\n${w.dir}/h,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
    const cases: Array<[Record<string, string>, Array<number>, RegExp?, Array<string>?]> = [
      [{ DataSet: badRow }, [1], /bad-row\.csv:3/],
      [{ DataSet: missing }, [1], /missing\.csv:2/],
      [{ DataSet: dotdot }, [1], /dotdot\.csv:2/],
      [{ DataSet: utf16 }, [1], /UTF-16/],
      [{ DataSet: garbage }, [1], /garbage\.csv/],
      [{ DataSet: "no-such.csv" }, [3], /no-such\.csv/],
      [{ DataSet: "src" }, [3], /EISDIR/],
      [{ InitialDriveSet: badKey }, [1], /bad-key\.csv:2/],
      [{ InitialDriveSet: twice }, [1], /twice\.csv:3/],
      [{ InitialDriveSet: garbage }, [1], /garbage\.csv/],
      [{ InitialDriveSet: onSource }, [1]],
      [{ InitialDriveSet: onJournal }, [1]],
      [{ InitialDriveSet: notEmpty }, [1], /already-here\.txt|not empty/, ["h"]],
      [{ sk: "not a key!" }, [2]],
      [{ sk: "", csas: "pictures?sv=2020-08-04&sp=rwl" }, [2]],
      [{ sk: "" }, [2]],
      [{ id: "../../etc" }, [2]],
      [{ id: "" }, [2]],
      [{ InitialDriveSet: "" }, [2]],
    ]
    for (const [extra, codes, pattern, touched] of cases) await refused(w, first(extra), codes, pattern, touched)
    assert.equal(existsSync(path.join(w.dir, "jobs", "j.jrn")), false, "no journal was created")
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})

test("PrepImport refuses later sessions, resumes and aborts with bad input, and the journal, its drives and their manifests stay as they were", async () => {
  const w = world()
  try {
    const ok = await w.run(first())
    assert.equal(ok.exit, 0, ok.out)
    const journal = path.join(w.dir, "jobs", "j.jrn")
    assert.ok(existsSync(path.join(w.dir, "g", "DriveManifest.xml")))
    const otherKey = Buffer.alloc(64, 9).toString("base64")
    const badRow = w.write("bad-row.csv", `BasePath,DstBlobPathOrPrefix\n${w.dir}/src/photos/b.txt,PICTURES/b.txt\n`)
    const more = w.write("more.csv", `${drivesetHeader}\n${w.dir}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
    const j = "/j:jobs/j.jrn"
    await refused(w, ["PrepImport", j, "/id:session#2", `/DataSet:${badRow}`], [1], /bad-row\.csv:2/)
    await refused(w, ["PrepImport", j, "/id:session#1", "/DataSet:ds.csv"], [1], /session#1/)
    await refused(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds.csv", `/sk:${otherKey}`], [1])
    await refused(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds.csv", "/InitialDriveSet:drives.csv"], [1, 2])
    await refused(w, ["PrepImport", j, "/id:session#1", "/ResumeSession"], [1, 2])
    await refused(w, ["PrepImport", j, "/id:session#1", "/AbortSession"], [1, 2])
    await refused(w, ["PrepImport", j, "/id:session#2", `/AdditionalDriveSet:${more}`], [1, 2])
    await refused(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds.csv", "/ResumeSession", "/AbortSession"], [2])
    // the journal itself damaged: a record changed behind its checksum, then an intact one
    const text = readFileSync(journal, "utf8")
    const damaged = text.replace(/SessionId: session#1\n/, "SessionId: session#9\n")
    assert.notEqual(damaged, text)
    writeFileSync(journal, damaged)
    for (const argv of [
      ["PrepImport", j, "/id:session#2", "/DataSet:ds.csv"],
      ["PrepImport", j, "/id:session#1", "/ResumeSession"],
      ["PrepImport", j, "/id:session#1", "/AbortSession"],
      ["PrepImport", j, "/ListDrives"],
      ["journal", "manifest", "jobs/j.jrn", "--drive-id", "X"],
    ]) {
      await refused(w, argv, [1], /j\.jrn:\d+/)
    }
    // garbage appended: no crash writes that, so it is not cut off as a torn tail
    writeFileSync(journal, text + "garbage that no crash writes\n")
    await refused(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds.csv"], [1], /text outside a record/)
    await refused(w, ["PrepImport", j, "/id:session#1", "/ResumeSession"], [1], /text outside a record/)
  } finally {
    rmSync(w.dir, { recursive: true, force: true })
  }
})
