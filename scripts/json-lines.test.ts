/**
 * The JSON lines of every command against their schema (lib/json-schema.ts, rendered in
 * docs/json-lines.md): every line of every golden case that prints JSON lines, and the lines of
 * real end-to-end runs — `waie demo --json` (PrepImport in three sessions, verify, plan, service
 * import, copylog check, RepairImport) and a job of this test's own against azurite (keys,
 * plan --files, PrepImport interrupted and aborted, the journal's lists, journal and manifest as
 * JSON, manifest write, verify --since-journal, service import and export, PreviewExport with and
 * without credentials, copy logs, RepairExport with a manifest sweep, the repair file, storage
 * start). A type the command does not document, a field missing or not documented, a value of
 * another JSON type fails, naming the command, the line and the field.
 *
 * Also: every example line in the schema is valid, every documented type was seen in some run
 * (or is listed below with why not), and docs/json-lines.md is what the schema renders
 * (WAIE_RECORD_DOCS=1 rewrites it).
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"
import { startTestAzurite } from "../lib/azurite.ts"
import { type CommandSpec, type Io, parseArgs, runCli } from "../lib/cli.ts"
import { UsageError } from "../lib/errors.ts"
import { checkEvent, checkOutput, formatLineProblem } from "../lib/json-lines-check.ts"
import { type CommandSchema, commandSchemas, type EventSpec, exampleLines, exampleOf, schemaFor, sharedTypes, typeSpec } from "../lib/json-schema.ts"
import { renderDocs } from "../lib/json-schema-doc.ts"
import { loadCommands } from "./commands.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(root, "bin", "waie.mjs")
const commands = await loadCommands()

/** The command an argv runs, as runCli finds it, and the options it was given. */
const resolve = (argv: ReadonlyArray<string>): { spec: CommandSpec | undefined; schema: CommandSchema | undefined; json: boolean; help: boolean } => {
  const candidates = commands.flatMap((s) => [s.path, ...(s.aliases ?? [])].map((words) => ({ s, words })))
  candidates.sort((a, b) => b.words.length - a.words.length)
  const hit = candidates.find((c) => c.words.length <= argv.length && c.words.every((w, i) => w.toLowerCase() === argv[i]!.toLowerCase()))
  const json = argv.some((a) => a === "--json" || a.toLowerCase() === "/json")
  const help = argv.some((a) => ["--help", "-h", "/?", "/help", "-?"].includes(a.toLowerCase()))
  if (hit === undefined) return { spec: undefined, schema: undefined, json, help }
  const parsed = parseArgs(hit.s, argv.slice(hit.words.length))
  const options = new Set(parsed instanceof UsageError ? [] : parsed.options.keys())
  return { spec: hit.s, schema: schemaFor(hit.s.path, options), json, help }
}

/** Every type (its spec) some output printed: the coverage check at the end. */
const seen = new Set<EventSpec>()
const note = (schema: CommandSchema | undefined, stdout: string) => {
  for (const text of stdout.split("\n")) {
    if (!text.startsWith("{")) continue
    try {
      const o = JSON.parse(text) as { type?: unknown }
      const spec = typeof o.type === "string" ? typeSpec(schema, o.type) : undefined
      if (spec !== undefined) seen.add(spec)
    } catch {
      // reported by checkOutput
    }
  }
}

/** Check one command's output; the failure names the run, the command, the line and the field. */
const check = (where: string, argv: ReadonlyArray<string>, stdout: string, firstLine = 1): Array<string> => {
  const { schema } = resolve(argv)
  note(schema, stdout)
  const who = `${where} (waie ${schema?.command ?? argv[0] ?? ""})`
  return checkOutput(schema, stdout, firstLine).map((p) => formatLineProblem(who, p))
}

// ---------------------------------------------------------------- goldens

const goldenCases = (dir: string): Array<string> => {
  const found: Array<string> = []
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name)
    if (!statSync(p).isDirectory()) continue
    if (existsSync(path.join(p, "cmd"))) found.push(p)
    found.push(...goldenCases(p))
  }
  return found
}

describe("golden outputs", () => {
  it("every JSON line of every golden case that prints JSON lines follows the schema", () => {
    const problems: Array<string> = []
    let cases = 0
    let lines = 0
    for (const dir of goldenCases(path.join(root, "goldens"))) {
      const argv = readFileSync(path.join(dir, "cmd"), "utf8").split("\n").filter((l, i, a) => !(l === "" && i === a.length - 1))
      const r = resolve(argv)
      if (r.help || !(r.json || r.schema?.stdout === "always")) continue
      const file = path.join(dir, "expected.stdout")
      if (!existsSync(file)) continue
      const stdout = readFileSync(file, "utf8")
      cases++
      lines += stdout.split("\n").filter((l) => l.startsWith("{")).length
      problems.push(...check(path.relative(root, file), argv, stdout))
    }
    assert.ok(cases >= 40 && lines >= 250, `only ${cases} golden cases (${lines} JSON lines) found`)
    assert.deepEqual(problems, [])
  })
})

// ---------------------------------------------------------------- real runs

interface Run {
  readonly argv: ReadonlyArray<string>
  readonly stdout: string
  readonly exit: number
}

const exampleKey = Buffer.from("waie json-lines test: an example account key, not a real one....").toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"

describe("real runs", () => {
  let dir = ""
  const runs: Array<Run> = []
  let demo: Run | undefined

  const run = async (argv: ReadonlyArray<string>, exit: number, json = true): Promise<Run> => {
    let stdout = ""
    const io: Io = { stdout: (text) => void (stdout += text), stderr: () => {}, cwd: dir, stderrIsTTY: false }
    const full = json ? [...argv, "--json"] : [...argv]
    const exitCode = await runCli(commands, full, io)
    const done = { argv: full, stdout, exit: exitCode }
    assert.equal(done.exit, exit, `waie ${full.join(" ")}: exit ${done.exit}, expected ${exit}\n${stdout}`)
    runs.push(done)
    return done
  }

  const put = (rel: string, data: Buffer | string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), data)
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "waie-json-lines-"))
    // the demo first: it sets and restores AZURE_STORAGE_CONNECTION_STRING itself
    let stdout = ""
    const io: Io = { stdout: (text) => void (stdout += text), stderr: () => {}, cwd: dir, stderrIsTTY: false }
    const exit = await runCli(commands, ["demo", "--json"], io)
    demo = { argv: ["demo", "--json"], stdout, exit }

    put("src/a/one.txt", "one\n".repeat(1000))
    put("src/a/two.bin", Buffer.alloc(5 * 1024 * 1024, 7))
    put("src/b/three.txt", "three\n")
    put("src/disk.vhd", Buffer.alloc(8192, 1))
    put("meta.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Camera>test</Camera>\n</Metadata>\n')
    const head = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile"
    put("dataset.csv", [head, `"${dir}/src/a/","files/",BlockBlob,rename,"${dir}/meta.xml",None`, `"${dir}/src/disk.vhd","disks/disk.vhd",PageBlob,overwrite,None,None`, ""].join("\n"))
    put("dataset-2.csv", [head, `"${dir}/src/b/","more/",BlockBlob,no-overwrite,None,None`, ""].join("\n"))
    for (const d of ["drive-g", "drive-h", "logs", "export-1"]) mkdirSync(path.join(dir, d))
    const driveset = (d: string) => `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${path.join(dir, d)},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`
    put("drives-g.csv", driveset("drive-g"))
    put("drives-h.csv", driveset("drive-h"))
    put("bloblist.xml", '<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPathPrefix>/files/</BlobPathPrefix>\n  <BlobPath>/disks/disk.vhd</BlobPath>\n  <BlobPath>/nothing/here</BlobPath>\n</BlobList>\n')

    await run(["key", "new", "--count", "2"], 0)
    await run(["plan", "/DataSet:dataset.csv", "/InitialDriveSet:drives-g.csv", "--files"], 0)
    await run(["PrepImport", "/j:logs/job.jrn", "/id:session#1", `/sk:${exampleKey}`, "/InitialDriveSet:drives-g.csv", "/DataSet:dataset.csv", "/logdir:logs"], 0)
    // a second session that fits nowhere: interrupted (exit 5), then aborted
    await run(["PrepImport", "/j:logs/job.jrn", "/id:session#2", "/AdditionalDriveSet:drives-h.csv", "/DataSet:dataset-2.csv", "--free-space", `${path.join(dir, "drive-h")}=1KB`, "--free-space", `${path.join(dir, "drive-g")}=1KB`], 5)
    await run(["PrepImport", "/j:logs/job.jrn", "/ListDrives"], 0)
    await run(["PrepImport", "/j:logs/job.jrn", "/AbortSession"], 0)
    await run(["PrepImport", "/j:logs/job.jrn", "/ListCopySessions"], 0)
    await run(["PrepImport", "/j:logs/job.jrn", "/id:session#3", "/DataSet:dataset-2.csv", "--dry-run"], 0)
    await run(["journal", "json", "logs/job.jrn"], 0, false)
    const manifestJson = await run(["manifest", "json", "drive-g/DriveManifest.xml"], 0, false)
    writeFileSync(path.join(dir, "manifest.jsonl"), manifestJson.stdout)
    await run(["manifest", "write", "manifest.jsonl", "--out", "rewritten.xml", `--sk`, exampleKey], 0)
    await run(["manifest", "check", "rewritten.xml"], 0)
    const driveId = (JSON.parse(readFileSync(path.join(dir, "drive-g", "waie-drive.json"), "utf8")) as { driveId: string }).driveId
    await run(["verify", "drive-g", "--journal", "logs/job.jrn"], 0)
    await run(["verify", "drive-g", "--journal", "logs/job.jrn", "--since-journal"], 0)

    const az = await startTestAzurite()
    try {
      const cs = ["--connection-string", az.connectionString]
      await run(["service", "import", "--drive", "drive-g", "--drive-info", `logs/${driveId}.xml`, "--job", "jl", "--logdir", "logs", ...cs], 0)
      await run(["service", "export", "--blob-list", "bloblist.xml", "--drive", "export-1", "--job", "jx", "--logdir", "logs", ...cs], 0)
      await run(["PreviewExport", "/ExportBlobListFile:bloblist.xml", "/DriveSize:1GB", ...cs], 0)
      await run(["PreviewExport", "/ExportBlobListFile:bloblist.xml", "/DriveSize:0.004GB", ...cs], 0)
      const exportLog = readdirSync(path.join(dir, "logs")).find((f) => f.startsWith("jx_") && f.endsWith("_verbose.xml"))!
      await run(["copylog", "json", `logs/${exportLog}`], 0, false)
      await run(["copylog", "check", `logs/${exportLog}`], 0)
      // a byte of an exported file changed: the manifest's sweep finds and repairs it
      const two = readdirSync(path.join(dir, "export-1"), { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name === "two.bin")!
      const fd = openSync(path.join(two.parentPath, two.name), "r+")
      writeSync(fd, Buffer.from([0]), 0, 1, 100)
      closeSync(fd)
      await run(["RepairExport", "/r:logs/export.rep", "/d:export-1", `/CopyLogFile:logs/${exportLog}`, "/ManifestFile:export-1/DriveManifest.xml", ...cs], 0)
      await run(["repair", "json", "logs/export.rep"], 0, false)
    } finally {
      await az.stop()
    }
    // without credentials: an azurite of its own (and so an embeddedStorage line)
    const saved = process.env["AZURE_STORAGE_CONNECTION_STRING"]
    delete process.env["AZURE_STORAGE_CONNECTION_STRING"]
    try {
      await run(["PreviewExport", "/ExportBlobListFile:bloblist.xml", "/DriveSize:1GB"], 0)
    } finally {
      if (saved !== undefined) process.env["AZURE_STORAGE_CONNECTION_STRING"] = saved
    }
    runs.push(await storageStart(dir))
  })

  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  it("waie demo --json: its own lines and those of each command it runs follow the schema", () => {
    assert.ok(demo !== undefined)
    assert.equal(demo.exit, 0, demo.stdout.slice(-2000))
    const lines = demo.stdout.split("\n")
    lines.pop()
    const problems: Array<string> = []
    const own: Array<string> = []
    let sub: { argv: ReadonlyArray<string>; from: number; lines: Array<string> } | undefined
    const flush = () => {
      if (sub !== undefined) problems.push(...check(`demo, stdout from line ${sub.from}`, sub.argv, sub.lines.length ? sub.lines.join("\n") + "\n" : "", sub.from))
      sub = undefined
    }
    let commandsRun = 0
    lines.forEach((text, i) => {
      const o = JSON.parse(text) as { type?: string; command?: string }
      if (o.type === "step" && typeof o.command === "string" && o.command.startsWith("waie ")) {
        flush()
        commandsRun++
        own.push(text)
        sub = { argv: shellWords(o.command.slice(5)), from: i + 2, lines: [] }
        return
      }
      if (sub !== undefined && o.type === "stepResult" && typeof o.command === "string") {
        flush()
        own.push(text)
        return
      }
      if (sub !== undefined) sub.lines.push(text)
      else own.push(text)
    })
    flush()
    problems.push(...check("demo, its own lines", ["demo", "--json"], own.join("\n") + "\n"))
    assert.ok(commandsRun >= 12, `the demo ran ${commandsRun} commands`)
    assert.deepEqual(problems, [])
  })

  it("a job of the test's own: every command's lines follow the schema", () => {
    const problems = runs.flatMap((r) => check(`real run ${shown(r.argv)}`, r.argv, r.stdout))
    assert.ok(runs.length >= 24, `${runs.length} runs`)
    assert.deepEqual(problems, [])
  })

  it("every documented type was printed by some run (or is listed with why not)", () => {
    const notRun: ReadonlyArray<string> = [
      // needs a drive smaller than a blob: a size-limited tmpfs, root only (scripts/service-export.test.ts);
      // its example line is from such a run
      "service export notExported",
    ]
    const missing: Array<string> = []
    for (const [type, spec] of Object.entries(sharedTypes)) if (!seen.has(spec)) missing.push(`(common) ${type}`)
    for (const s of commandSchemas) {
      for (const [type, spec] of Object.entries(s.types)) if (!seen.has(spec) && !notRun.includes(`${s.command} ${type}`)) missing.push(`${s.command} ${type}`)
    }
    assert.deepEqual(missing, [])
  })
})

describe("the schema and its page", () => {
  it("every type has an example line, and it follows the schema", () => {
    const problems: Array<string> = []
    const specs: Array<readonly [string, CommandSchema | undefined, string, EventSpec]> = [
      ...Object.entries(sharedTypes).map(([type, spec]) => ["(common)", undefined, type, spec] as const),
      ...commandSchemas.flatMap((s) => Object.entries(s.types).map(([type, spec]) => [s.command, s, type, spec] as const)),
    ]
    for (const [name, schema, type, spec] of specs) {
      const example = exampleOf(spec)
      if (example === undefined) {
        problems.push(`${name} ${type}: no example`)
        continue
      }
      const o = JSON.parse(example) as { type?: unknown }
      if (o.type !== type) problems.push(`${name} ${type}: the example is a ${JSON.stringify(o.type)} line`)
      const owner = schema ?? commandSchemas.find((s) => s.types[type] === spec)
      for (const p of checkEvent(owner, o)) problems.push(`${name} ${type}: ${p.field ?? ""}: ${p.message}`)
    }
    for (const [command, type] of exampleLines) {
      const spec = command === "*" ? sharedTypes[type] : commandSchemas.find((s) => s.command === command)?.types[type]
      if (spec === undefined) problems.push(`the example of ${command} ${type}: no such type`)
    }
    assert.deepEqual(problems, [])
  })

  it("every command has a schema", () => {
    const missing = commands.filter((c) => !commandSchemas.some((s) => s.path.join(" ") === c.path.join(" "))).map((c) => `waie ${c.path.join(" ")}`)
    assert.deepEqual(missing, [])
    for (const s of commandSchemas) assert.ok(commands.some((c) => c.path.join(" ") === s.path.join(" ")), `the schema of ${s.command} names no command`)
  })

  it("docs/json-lines.md is what lib/json-schema.ts renders", () => {
    const file = path.join(root, "docs", "json-lines.md")
    const text = readFileSync(file, "utf8")
    const rendered = renderDocs(text)
    if (process.env["WAIE_RECORD_DOCS"] === "1") writeFileSync(file, rendered)
    else assert.equal(text, rendered, "docs/json-lines.md differs from the schema: WAIE_RECORD_DOCS=1 node --import tsx --test scripts/json-lines.test.ts rewrites it")
  })
})

// ---------------------------------------------------------------- helpers

/** A command line for a failure message, its credentials left out (the test's are examples, but a message is no place for a key). */
const shown = (argv: ReadonlyArray<string>): string =>
  argv
    .map((a, i) => (/^\/sk:/i.test(a) ? "/sk:…" : argv[i - 1] === "--connection-string" ? "…" : a))
    .slice(0, 6)
    .join(" ")

/** Words of a command line as the demo prints it (single quotes as a POSIX shell reads them). */
const shellWords = (line: string): Array<string> => {
  const out: Array<string> = []
  let word: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === " ") {
      if (word !== undefined) out.push(word)
      word = undefined
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      word = (word ?? "") + line.slice(i + 1, end)
      i = end
    } else if (c === "\\" && line[i + 1] === "'") {
      word = (word ?? "") + "'"
      i++
    } else word = (word ?? "") + c
  }
  if (word !== undefined) out.push(word)
  return out
}

/** `waie storage start --json` as a user runs it: a process of its own, stopped with SIGTERM once it has started. */
const storageStart = (dir: string): Promise<Run> =>
  new Promise((done, fail) => {
    const argv = ["storage", "start", "--port", "0", "--dir", path.join(dir, "azurite"), "--json"]
    const child = spawn(process.execPath, [bin, ...argv], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stopped = false
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString("utf8")
      if (!stopped && stdout.includes("\n")) {
        stopped = true
        child.kill("SIGTERM")
      }
    })
    child.on("error", fail)
    child.on("close", (code) => {
      clearTimeout(timer)
      done({ argv, stdout, exit: code ?? -1 })
    })
  })
