import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { test } from "node:test"
import { Effect } from "effect"
import { CommandRunner, type RecordedAnswer, type RecordedCall, recordedRunner } from "../commands-runner.ts"
import { formatArgs, formatVolume, readFormatOutput, systemDriveLetter, volumeLabel } from "./format.ts"

const sample = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8")
const crlf = (t: string): string => t.replace(/\n/g, "\r\n")

test("readFormatOutput: exit 0 is success; failures classified from format.com's words (LF and CRLF)", () => {
  for (const t of [sample("format-success.txt"), crlf(sample("format-success.txt"))]) assert.deepEqual(readFormatOutput({ exitCode: 0, stdout: t, stderr: "" }), { ok: true })
  const cases = [
    ["format-access-denied.txt", 1, "access denied", "Access denied as you do not have sufficient privileges or"],
    ["format-in-use.txt", 4, "in use", "Format cannot run because the volume is in use by another"],
    ["format-write-protected.txt", 4, "write protected", "Cannot format.  This media is write protected."],
  ] as const
  for (const [name, exitCode, reason, said] of cases) {
    for (const t of [sample(name), crlf(sample(name))]) assert.deepEqual(readFormatOutput({ exitCode, stdout: t, stderr: "" }), { ok: false, reason, said }, name)
  }
  assert.deepEqual(readFormatOutput({ exitCode: 4, stdout: "The type of the file system is RAW.\nThe new file system is NTFS.\nInvalid media or Track 0 bad - disk unusable.\n", stderr: "" }), { ok: false, reason: "failed", said: "Invalid media or Track 0 bad - disk unusable." })
  assert.deepEqual(readFormatOutput({ exitCode: 1, stdout: "", stderr: "" }), { ok: false, reason: "failed", said: "" })
  assert.deepEqual(readFormatOutput({ exitCode: 1, stdout: sample("format-success.txt"), stderr: "" }).ok, false, "words of success with a failing exit code are a failure")
})

test("volumeLabel and formatArgs: a label that needs no quoting, at most 32 characters; one letter", () => {
  assert.equal(volumeLabel("WAIE3F2A9C01B7D4"), "WAIE3F2A9C01B7D4")
  assert.equal(volumeLabel("0025_3887_91B2_1C4D."), "0025_3887_91B2_1C4D_")
  assert.equal(volumeLabel("A".repeat(64)).length, 32)
  assert.equal(volumeLabel("..."), "___")
  assert.deepEqual(formatArgs("G", "WAIE3F2A9C01B7D4"), ["G:", "/FS:NTFS", "/Q", "/V:WAIE3F2A9C01B7D4", "/Y"])
  for (const [l, label] of [["g", "X"], ["G:", "X"], ["G", "a b"], ["G", "x&del"], ["G", ""], ["G", "A".repeat(33)]] as const) assert.throws(() => formatArgs(l, label), RangeError)
  assert.equal(systemDriveLetter({ SystemDrive: "D:" }), "D")
  assert.equal(systemDriveLetter({}), "C")
})

const runFormat = (answers: ReadonlyArray<RecordedAnswer>, calls: Array<RecordedCall> = []) =>
  Effect.runPromise(Effect.either(formatVolume("G:", "G", "WAIE3F2A9C01B7D4").pipe(Effect.provideService(CommandRunner, recordedRunner([{ match: (f) => /\\format\.com$/.test(f), answers }], calls)))))

test("formatVolume: runs the system's format.com with the arguments; typed failures that say what to do", async () => {
  const calls: Array<RecordedCall> = []
  const ok = await runFormat([{ exitCode: 0, stdout: crlf(sample("format-success.txt")), stderr: "" }], calls)
  assert.ok(ok._tag === "Right")
  assert.deepEqual(calls[0]!.args, ["G:", "/FS:NTFS", "/Q", "/V:WAIE3F2A9C01B7D4", "/Y"])
  assert.match(calls[0]!.file, /^C:\\Windows\\(System32|Sysnative)\\format\.com$/)

  const denied = await runFormat([{ exitCode: 1, stdout: crlf(sample("format-access-denied.txt")), stderr: "" }])
  assert.ok(denied._tag === "Left" && denied.left._tag === "FormatFailed" && denied.left.reason === "access denied")
  assert.match(denied.left.message, /^drive G: format\.com G: \/FS:NTFS \/Q failed \(exit 1, access denied\): "Access denied as you do not have sufficient privileges or"; run waie from an elevated prompt/)
  const inUse = await runFormat([{ exitCode: 4, stdout: crlf(sample("format-in-use.txt")), stderr: "" }])
  assert.ok(inUse._tag === "Left" && inUse.left.reason === "in use" && /close the programs and windows that use the drive/.test(inUse.left.message))
  const gone = await runFormat([{ notRun: "not found" }])
  assert.ok(gone._tag === "Left" && gone.left.reason === "not run" && /format\.com G: \/FS:NTFS \/Q failed \(not found\)/.test(gone.left.message))
})
