import assert from "node:assert/strict"
import { test } from "node:test"
import { type Io, makeOutput } from "./cli.ts"
import { humanBytes, humanDuration, makeProgress, progressLine } from "./progress.ts"

test("the bar shows bytes, files, rate and time left", () => {
  const line = progressLine({ totalBytes: 4_000_000_000, totalFiles: 10, bytes: 1_000_000_000, files: 3, startedMs: 0 }, 10_000)
  assert.equal(line, "[######..................]  25.0%  1.00 GB of 4.00 GB  3/10 files  100 MB/s  ETA 00:30")
  assert.equal(humanBytes(999), "999 B")
  assert.equal(humanBytes(1_234_567), "1.23 MB")
  assert.equal(humanDuration(3725), "1:02:05")
})

test("a bar only on a terminal; JSON lines at most once a second; nothing on a pipe", () => {
  const run = (tty: boolean, json: boolean) => {
    let err = ""
    let out = ""
    let t = 0
    const io: Io = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: "/", stderrIsTTY: tty }
    const p = makeProgress(io, makeOutput(io, json), 100, 2, () => t)
    for (let i = 0; i < 20; i++) {
      t += 150
      p.add(5)
    }
    p.finish()
    return { err, out }
  }
  const tty = run(true, false)
  assert.match(tty.err, /^\r\[/)
  assert.ok(tty.err.endsWith("\n"))
  const pipe = run(false, false)
  assert.deepEqual(pipe, { err: "", out: "" })
  const json = run(false, true)
  const lines = json.out.trim().split("\n").map((l) => JSON.parse(l) as { type: string })
  assert.ok(lines.length >= 2 && lines.length <= 3, `${lines.length} progress lines in 3 s`)
  assert.ok(lines.every((l) => l.type === "progress"))
})
