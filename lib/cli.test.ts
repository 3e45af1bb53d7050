import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect } from "effect"
import { type CommandSpec, type Io, optionValue, optionValues, flag, parseArgs, runCli } from "./cli.ts"
import { InvalidInput, UsageError } from "./errors.ts"

const prep: CommandSpec = {
  path: ["prep-import"],
  aliases: [["PrepImport"]],
  summary: "test spec",
  args: [],
  options: [
    { name: "journal", aliases: ["j"], takes: "value", description: "journal" },
    { name: "id", takes: "value", description: "session id" },
    { name: "silent-mode", aliases: ["silentmode"], takes: "flag", description: "no prompts" },
    { name: "mount", takes: "values", description: "mounts" },
  ],
  run: () => Effect.succeed(0),
}

const check: CommandSpec = {
  path: ["dataset", "check"],
  summary: "test spec",
  args: [{ name: "file", description: "the file" }],
  options: [],
  run: (p, ctx) =>
    p.args[0] === "bad.csv"
      ? Effect.fail(new InvalidInput({ format: "dataset", file: "bad.csv", issues: [{ file: "bad.csv", line: 2, field: "BasePath", expected: "an absolute path", found: '"x"' }] }))
      : Effect.sync(() => {
          ctx.out.event("result", { ok: true, file: p.args[0] }, `${p.args[0]}: valid`)
          return 0
        }),
}

const capture = () => {
  let stdout = ""
  let stderr = ""
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: "/tmp", stderrIsTTY: false }
  return { io, out: () => ({ stdout, stderr }) }
}

test("the original tool's syntax and long options give the same parse", () => {
  const a = parseArgs(prep, ["/j:x.jrn", "/id:session#1", "/silentmode"])
  const b = parseArgs(prep, ["--journal", "x.jrn", "--id=session#1", "--silent-mode"])
  assert.ok(!(a instanceof UsageError) && !(b instanceof UsageError))
  assert.equal(optionValue(a, "journal"), "x.jrn")
  assert.equal(optionValue(b, "journal"), "x.jrn")
  assert.equal(optionValue(a, "id"), "session#1")
  assert.equal(flag(a, "silent-mode"), true)
  assert.equal(flag(b, "silent-mode"), true)
})

test("original option names are case-insensitive and values keep their colons", () => {
  const p = parseArgs(prep, ["/J:C:\\jrn\\x.jrn", "/SILENTMODE", "/Id:s_1"])
  assert.ok(!(p instanceof UsageError))
  assert.equal(optionValue(p, "journal"), "C:\\jrn\\x.jrn")
  assert.equal(optionValue(p, "id"), "s_1")
})

test("POSIX paths are arguments, not options", () => {
  const p = parseArgs(check, ["/mnt/data/dataset.csv"])
  assert.ok(!(p instanceof UsageError))
  assert.deepEqual(p.args, ["/mnt/data/dataset.csv"])
})

test("repeatable options collect every value", () => {
  const p = parseArgs(prep, ["--mount", "F=/mnt/f", "/mount:G=/mnt/g"])
  assert.ok(!(p instanceof UsageError))
  assert.deepEqual(optionValues(p, "mount"), ["F=/mnt/f", "G=/mnt/g"])
})

test("command-line mistakes are UsageErrors that say what is wrong", () => {
  const cases: Array<[CommandSpec, Array<string>, RegExp]> = [
    [prep, ["/j"], /\/j needs a value/],
    [prep, ["--journal"], /--journal needs a value/],
    // an empty value names nothing (an empty path would mean the current folder)
    [prep, ["/j:"], /\/j needs a value/],
    [prep, ["--journal="], /--journal needs a value/],
    [prep, ["/silentmode:yes"], /takes no value/],
    [prep, ["/nope:1"], /unknown option \/nope/],
    [prep, ["--nope"], /unknown option --nope/],
    [prep, ["/j:a", "/j:b"], /more than once/],
    [check, [], /missing argument FILE/],
    [check, ["a", "b"], /unexpected argument "b"/],
  ]
  for (const [spec, argv, message] of cases) {
    const r = parseArgs(spec, argv)
    assert.ok(r instanceof UsageError, argv.join(" "))
    assert.match(r.message, message)
  }
})

test("runCli finds commands by path and alias, case-insensitively for aliases", async () => {
  const c = capture()
  assert.equal(await runCli([prep, check], ["prepimport", "/j:x"], c.io), 0)
  assert.equal(await runCli([prep, check], ["dataset", "check", "ok.csv"], c.io), 0)
  assert.equal(c.out().stdout, "ok.csv: valid\n")
})

test("exit codes: 1 invalid input, 2 usage, with the problem on stderr", async () => {
  const a = capture()
  assert.equal(await runCli([check], ["dataset", "check", "bad.csv"], a.io), 1)
  assert.equal(a.out().stdout, "")
  assert.match(a.out().stderr, /^bad\.csv: invalid dataset \(1 problem\)\nbad\.csv:2: BasePath: expected an absolute path, found "x"\n$/)
  const b = capture()
  assert.equal(await runCli([check], ["dataset", "frobnicate"], b.io), 2)
  assert.match(b.out().stderr, /unknown command/)
})

test("--json turns results and failures into JSON lines on stdout", async () => {
  const a = capture()
  assert.equal(await runCli([check], ["dataset", "check", "bad.csv", "--json"], a.io), 1)
  const lines = a.out().stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.equal(lines[0]?.["type"], "issue")
  assert.equal(lines[0]?.["line"], 2)
  assert.equal(lines[1]?.["type"], "error")
  assert.equal(lines[1]?.["exitCode"], 1)
  assert.equal(a.out().stderr, "")
  const b = capture()
  assert.equal(await runCli([check], ["dataset", "check", "--json"], b.io), 2)
  assert.equal((JSON.parse(b.out().stdout) as Record<string, unknown>)["error"], "UsageError")
})

test("a defect is reported as an internal error with exit code 70, without a stack trace", async () => {
  const boom: CommandSpec = { path: ["boom"], summary: "", args: [], options: [], run: () => Effect.die(new Error("kaboom")) }
  const c = capture()
  assert.equal(await runCli([boom], ["boom"], c.io), 70)
  assert.equal(c.out().stderr, "internal error in waie (please report it): kaboom\n")
})

test("--help prints usage and exit codes", async () => {
  const c = capture()
  assert.equal(await runCli([prep], ["PrepImport", "--help"], c.io), 0)
  assert.match(c.out().stdout, /--journal VALUE, \/j:/)
  assert.match(c.out().stdout, /Exit codes:/)
})
