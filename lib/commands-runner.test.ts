import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect } from "effect"
import { CommandRunner, liveRunner, type RecordedCall, recordedRunner } from "./commands-runner.ts"

const live = (file: string, args: ReadonlyArray<string>, options?: Parameters<typeof liveRunner.run>[2]) => Effect.runPromise(Effect.either(liveRunner.run(file, args, options)))
const node = process.execPath

test("live runner: output and exit code of a real program; a non-zero exit is an answer, not a failure", async () => {
  const ok = await live(node, ["-e", "process.stdout.write('out'); process.stderr.write('err')"])
  assert.deepEqual(ok._tag === "Right" ? ok.right : ok.left, { exitCode: 0, stdout: "out", stderr: "err" })
  const seven = await live(node, ["-e", "console.log('Access denied'); process.exit(7)"])
  assert.deepEqual(seven._tag === "Right" ? seven.right : seven.left, { exitCode: 7, stdout: "Access denied\n", stderr: "" })
})

test("live runner: arguments reach the program as they are (no shell)", async () => {
  const tricky = ["a b", "$(echo x)", "`id`", "; rm -rf /", "\"'", "*"]
  const r = await live(node, ["-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...tricky])
  assert.ok(r._tag === "Right")
  assert.deepEqual(JSON.parse(r.right.stdout), tricky)
})

test("live runner: standard input is closed, so a question gets end-of-file instead of a hang", async () => {
  const r = await live(node, ["-e", "let got=''; process.stdin.on('data', d => got += d); process.stdin.on('end', () => { console.log('eof:' + JSON.stringify(got)); process.exit(5) })"], { timeoutMs: 60_000 })
  assert.deepEqual(r._tag === "Right" ? r.right : r.left, { exitCode: 5, stdout: 'eof:""\n', stderr: "" })
})

test("live runner: a missing program, a timeout and too much output are CommandNotRun", async () => {
  const missing = await live("/nonexistent/waie-no-such-tool", [])
  assert.ok(missing._tag === "Left" && missing.left.reason === "not found")
  assert.match(missing.left.message, /^\/nonexistent\/waie-no-such-tool was not found \(ENOENT\)$/)
  const slow = await live(node, ["-e", "setTimeout(() => {}, 60_000)"], { timeoutMs: 300 })
  assert.ok(slow._tag === "Left" && slow.left.reason === "timed out")
  const loud = await live(node, ["-e", "process.stdout.write('x'.repeat(100000))"], { maxBytes: 1000 })
  assert.ok(loud._tag === "Left" && loud.left.reason === "too much output")
})

test("CommandRunner defaults to the live runner; recordedRunner answers in order and refuses the unexpected", async () => {
  const viaDefault = await Effect.runPromise(Effect.flatMap(CommandRunner, (r) => r.run(node, ["-e", "process.stdout.write('live')"])))
  assert.equal(viaDefault.stdout, "live")
  const calls: Array<RecordedCall> = []
  const fake = recordedRunner([{ match: (f) => f === "tool", answers: [{ exitCode: 0, stdout: "one", stderr: "" }, { notRun: "timed out" }] }], calls)
  const use = (file: string) => Effect.runPromiseExit(Effect.flatMap(CommandRunner, (r) => r.run(file, ["x"])).pipe(Effect.provideService(CommandRunner, fake)))
  const first = await use("tool")
  assert.ok(first._tag === "Success" && first.value.stdout === "one")
  const second = await use("tool")
  assert.ok(second._tag === "Failure")
  const third = await use("tool")
  assert.ok(third._tag === "Failure" && /unexpected command in a test: tool x/.test(String(third.cause)))
  assert.deepEqual(calls.map((c) => c.file), ["tool", "tool", "tool"])
})
