import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { test } from "node:test"
import { Effect, Redacted } from "effect"
import { CommandRunner, type RecordedAnswer, type RecordedCall, recordedRunner } from "../commands-runner.ts"
import { checkVolume, prepareVolume, volumeFormatQuestion } from "./volume.ts"

const sample = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8").replace(/\n/g, "\r\n")
const out = (name: string, exitCode = 0): RecordedAnswer => ({ exitCode, stdout: sample(name), stderr: "" })
const tool = (name: RegExp, ...words: Array<string>) => (file: string, args: ReadonlyArray<string>) => name.test(file) && words.every((w) => args.includes(w))
const NEW_KEY = "257587-551232-097581-671033-159500-439989-029898-345565"

const runWith = <A, E>(e: Effect.Effect<A, E>, entries: Parameters<typeof recordedRunner>[0], calls: Array<RecordedCall> = []) =>
  Effect.runPromise(Effect.either(e.pipe(Effect.provideService(CommandRunner, recordedRunner(entries, calls)))))

test("checkVolume: Format of the system drive refused before anything runs; the BitLocker checks by Encryption", async () => {
  const calls: Array<RecordedCall> = []
  const sys = await runWith(checkVolume("D:", "D:\\", { letter: "D", format: true, encryption: { kind: "encrypt" } }, { SystemDrive: "D:" }), [], calls)
  assert.ok(sys._tag === "Left" && sys.left._tag === "FormatRefused")
  assert.equal(sys.left.message, "drive D: format of D:\\ refused: the system drive D:\\ is the drive; nothing was erased")
  assert.equal(calls.length, 0)
  const notFormatted = await runWith(checkVolume("D:", "D:\\", { letter: "D", format: false }, { SystemDrive: "D:" }), [])
  assert.ok(notFormatted._tag === "Right", "the system drive itself is only refused for a Format")
  const encrypt = await runWith(checkVolume("G:", "G:\\", { letter: "G", format: true, encryption: { kind: "encrypt" } }, {}), [{ match: tool(/manage-bde/, "-status"), answers: [out("bde-status-encrypted.txt")] }])
  assert.ok(encrypt._tag === "Left" && encrypt.left._tag === "BitLockerVolumeRefused")
  const existing = await runWith(checkVolume("G:", "G:\\", { letter: "G", format: false, encryption: { kind: "existing", key: Redacted.make(NEW_KEY) } }, {}), [
    { match: tool(/manage-bde/, "-status"), answers: [out("bde-status-encrypting.txt")] },
    { match: tool(/manage-bde/, "-protectors"), answers: [out("bde-protectors-one.txt")] },
  ])
  assert.ok(existing._tag === "Right" && existing.right.length === 1 && /still encrypting/.test(existing.right[0]!))
  assert.match(volumeFormatQuestion("G:", "G", "G"), /^Format drive G:\? The whole volume G: will be formatted \(format\.com G: \/FS:NTFS \/Q\) and everything on it erased\. Type G to confirm: $/)
})

test("prepareVolume: format.com with the DriveId as label, then afterFormat, then manage-bde; a failed format stops there", async () => {
  const calls: Array<RecordedCall> = []
  const order: Array<string> = []
  const after = Effect.sync(() => order.push(`after format (${calls.length} commands run)`))
  const ok = await runWith(prepareVolume("G:", { letter: "G", format: true, encryption: { kind: "encrypt" } }, "0025_3887_91B2_1C4D.", after), [
    { match: tool(/format\.com$/), answers: [out("format-success.txt")] },
    { match: tool(/manage-bde/, "-on"), answers: [out("bde-on.txt")] },
    { match: tool(/manage-bde/, "-protectors"), answers: [out("bde-protectors-one.txt")] },
  ], calls)
  assert.ok(ok._tag === "Right" && ok.right.recoveryKey !== undefined)
  assert.equal(Redacted.value(ok.right.recoveryKey), NEW_KEY)
  assert.deepEqual(calls.map((c) => c.args.join(" ")), ["G: /FS:NTFS /Q /V:0025_3887_91B2_1C4D_ /Y", "-on G: -rp", "-protectors -get G: -Type RecoveryPassword"])
  assert.deepEqual(order, ["after format (1 commands run)"])

  const failed: Array<RecordedCall> = []
  const r = await runWith(prepareVolume("G:", { letter: "G", format: true, encryption: { kind: "encrypt" } }, "WAIE3F2A9C01B7D4", Effect.void), [{ match: tool(/format\.com$/), answers: [out("format-in-use.txt", 4)] }], failed)
  assert.ok(r._tag === "Left" && r.left._tag === "FormatFailed")
  assert.equal(failed.length, 1, "no BitLocker after a failed format")

  const existing = await runWith(prepareVolume("G:", { letter: "G", format: false, encryption: { kind: "existing", key: Redacted.make(NEW_KEY) } }, "X", Effect.void), [])
  assert.deepEqual(existing._tag === "Right" ? existing.right : undefined, { notes: [] }, "AlreadyEncrypted, not formatted: nothing to run")
})
