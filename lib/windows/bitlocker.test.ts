import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { test } from "node:test"
import { Effect, Redacted } from "effect"
import { CommandRunner, type RecordedAnswer, type RecordedCall, recordedRunner } from "../commands-runner.ts"
import {
  addedProtectorId,
  checkAlreadyEncrypted,
  checkCanEncrypt,
  enableBitLocker,
  judgeExisting,
  judgeForEncrypt,
  manageBdeErrors,
  maskRecoveryPasswords,
  parseProtectors,
  parseStatus,
  pickRecoveryPassword,
  volumeState,
} from "./bitlocker.ts"

const sample = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8")
/** A sample as written (LF) and as Windows writes it (CRLF). */
const both = (name: string): Array<string> => {
  const t = sample(name)
  return [t, t.replace(/\n/g, "\r\n")]
}

const NEW_KEY = "257587-551232-097581-671033-159500-439989-029898-345565"
const OTHER_KEY = "122221-244442-366663-488884-611105-073326-085547-097768"
const NEW_ID = "{5C1A4E0B-8F3D-4B2A-9E61-0A7D3C2B1F90}"

// ---------------------------------------------------------------- parsers

test("parseStatus reads the recorded -status outputs (LF and CRLF)", () => {
  for (const t of both("bde-status-encrypted.txt")) {
    assert.deepEqual(parseStatus(t), {
      volume: "G:",
      conversion: "Fully Encrypted",
      percentEncrypted: "100.0%",
      protection: "Protection On",
      lock: "Unlocked",
      method: "XTS-AES 128",
      protectors: ["Numerical Password", "Password"],
    })
  }
  for (const t of both("bde-status-decrypted.txt")) {
    const s = parseStatus(t)
    assert.equal(s.conversion, "Fully Decrypted")
    assert.deepEqual(s.protectors, [], "'None Found' is no protector")
  }
  for (const t of both("bde-status-locked.txt")) assert.equal(parseStatus(t).lock, "Locked")
  for (const t of both("bde-status-encrypting.txt")) assert.equal(parseStatus(t).percentEncrypted, "12.4%")
})

test("volumeState: every recorded state lands where the table says", () => {
  const state = (name: string) => volumeState(parseStatus(sample(name)))
  assert.equal(state("bde-status-encrypted.txt"), "encrypted")
  assert.equal(state("bde-status-decrypted.txt"), "decrypted")
  assert.equal(state("bde-status-encrypting.txt"), "encrypting")
  assert.equal(state("bde-status-locked.txt"), "locked")
  assert.equal(state("bde-status-suspended.txt"), "suspended")
  assert.equal(volumeState({ conversion: "Decryption in Progress", protectors: [] }), "decrypting")
  assert.equal(volumeState({ conversion: "Encryption Paused", protectors: [] }), "paused")
  assert.equal(volumeState({ conversion: "Used Space Only Encrypted", protection: "Protection On", protectors: [] }), "encrypted")
  assert.equal(volumeState({ protectors: [] }), "unknown", "no Conversion Status at all")
})

test("judgeForEncrypt and judgeExisting: what is accepted and refused, with the remedy", () => {
  const s = (name: string) => parseStatus(sample(name))
  assert.deepEqual(judgeForEncrypt(s("bde-status-decrypted.txt"), "G"), { ok: true, notes: [] })
  for (const name of ["bde-status-encrypted.txt", "bde-status-encrypting.txt", "bde-status-suspended.txt", "bde-status-locked.txt"]) {
    const v = judgeForEncrypt(s(name), "G")
    assert.ok(!v.ok, name)
    assert.match(v.remedy, /AlreadyEncrypted/, name)
  }
  assert.deepEqual(judgeExisting(s("bde-status-encrypted.txt"), "G"), { ok: true, notes: [] })
  const running = judgeExisting(s("bde-status-encrypting.txt"), "G")
  assert.ok(running.ok && running.notes.length === 1 && /still encrypting G: \(12\.4% done\).*Fully Encrypted/.test(running.notes[0]!))
  const expectRefused = { "bde-status-decrypted.txt": /not encrypted/, "bde-status-locked.txt": /locked/, "bde-status-suspended.txt": /suspended.*in the clear/ }
  for (const [name, re] of Object.entries(expectRefused)) {
    const v = judgeExisting(s(name), "G")
    assert.ok(!v.ok && re.test(v.problem), name)
  }
  const suspended = judgeExisting(s("bde-status-suspended.txt"), "G")
  assert.ok(!suspended.ok && suspended.remedy === "resume it (manage-bde -protectors -enable G:)")
})

test("parseProtectors: numerical passwords with their IDs, other protectors by type, the inner 'Password:' label is no protector", () => {
  for (const t of both("bde-protectors-several.txt")) {
    assert.deepEqual(parseProtectors(t), [
      { type: "Password", id: "{0F6A2B11-73C4-4E5D-8A9B-1C2D3E4F5061}" },
      { type: "Numerical Password", id: "{9B8E7D6C-5B4A-4938-8271-605F4E3D2C1B}", password: OTHER_KEY },
      { type: "Numerical Password", id: NEW_ID, password: NEW_KEY },
      { type: "External Key", id: "{A1B2C3D4-E5F6-4789-9ABC-DEF012345678}" },
    ])
  }
  for (const t of both("bde-protectors-one.txt")) assert.deepEqual(parseProtectors(t), [{ type: "Numerical Password", id: NEW_ID, password: NEW_KEY }])
  for (const t of both("bde-on.txt")) assert.equal(addedProtectorId(t), NEW_ID)
  // the same output with its indentation gone
  const flat = sample("bde-protectors-several.txt").replace(/^\s+/gm, "")
  assert.deepEqual(
    parseProtectors(flat).map((p) => [p.type, p.password]),
    [
      ["Password", undefined],
      ["Numerical Password", OTHER_KEY],
      ["Numerical Password", NEW_KEY],
      ["External Key", undefined],
    ],
  )
  assert.deepEqual(parseProtectors(sample("bde-protectors-none.txt")), [])
})

test("pickRecoveryPassword: by the ID -on named; the only one without an ID; refused when it cannot tell", () => {
  const several = parseProtectors(sample("bde-protectors-several.txt"))
  assert.deepEqual(pickRecoveryPassword(several, NEW_ID), { password: NEW_KEY })
  assert.ok("problem" in pickRecoveryPassword(several, undefined), "two numerical passwords and no ID")
  assert.ok("problem" in pickRecoveryPassword(several, "{00000000-0000-0000-0000-000000000000}"))
  assert.deepEqual(pickRecoveryPassword(parseProtectors(sample("bde-protectors-one.txt")), undefined), { password: NEW_KEY })
})

test("manageBdeErrors and maskRecoveryPasswords", () => {
  assert.deepEqual(manageBdeErrors(sample("bde-protectors-none.txt")), ["ERROR: No key protectors found."])
  assert.deepEqual(manageBdeErrors("ERROR: An error occurred (code 0x80070005):\r\nAccess is denied.\r\n"), ["ERROR: An error occurred (code 0x80070005): Access is denied."])
  const masked = maskRecoveryPasswords(sample("bde-on.txt"))
  assert.ok(!masked.includes("257587") && !masked.includes("345565"))
  assert.match(masked, /<recovery password>|\*{6}/)
  assert.ok(!/\d{6}/.test(maskRecoveryPasswords("393943-22222-281721-555554-577984-77777-194700-99999 and 111111 222222 333333 444444")), "odd groups and blanks too")
  assert.equal(maskRecoveryPasswords("Size: 3726.02 GB, version 10.0.19041, 976,745,983 units"), "Size: 3726.02 GB, version 10.0.19041, 976,745,983 units")
})

// ---------------------------------------------------------------- running manage-bde (recorded)

const out = (name: string | undefined, exitCode = 0): RecordedAnswer => ({ exitCode, stdout: name === undefined ? "" : sample(name).replace(/\n/g, "\r\n"), stderr: "" })
const has = (...words: Array<string>) => (file: string, args: ReadonlyArray<string>) => /manage-bde\.exe$/i.test(file) && words.every((w) => args.includes(w))

const runWith = <A, E>(e: Effect.Effect<A, E>, entries: Parameters<typeof recordedRunner>[0], calls: Array<RecordedCall> = []) =>
  Effect.runPromise(Effect.either(e.pipe(Effect.provideService(CommandRunner, recordedRunner(entries, calls)))))

/** Everything a failure shows: its message and its data. */
const everything = (e: unknown): string => `${e instanceof Error ? e.message : ""} ${JSON.stringify(e)}`

test("enableBitLocker: -on G: -rp, then the password of the added protector read back with -protectors -get; redacted", async () => {
  const calls: Array<RecordedCall> = []
  const r = await runWith(enableBitLocker("G:", "G"), [
    { match: has("-on"), answers: [out("bde-on.txt")] },
    { match: has("-protectors", "-get"), answers: [out("bde-protectors-several.txt")] },
  ], calls)
  assert.ok(r._tag === "Right")
  assert.equal(Redacted.value(r.right.key), NEW_KEY, "the protector -on added, not the other one")
  assert.ok(!JSON.stringify(r.right).includes("257587") && !String(r.right.key).includes("257587"))
  assert.ok(r.right.notes.every((n) => !/\d{6}-\d{6}/.test(n)))
  assert.deepEqual(
    calls.map((c) => c.args),
    [
      ["-on", "G:", "-rp"],
      ["-protectors", "-get", "G:", "-Type", "RecoveryPassword"],
    ],
  )
  assert.match(calls[0]!.file, /^C:\\Windows\\(System32|Sysnative)\\manage-bde\.exe$/)
})

test("enableBitLocker failures are typed and never carry a password", async () => {
  const bad = NEW_KEY.replace(/5$/, "6")
  const cases: Array<{ name: string; entries: Parameters<typeof recordedRunner>[0]; tag: string; re: RegExp }> = [
    { name: "not elevated", entries: [{ match: has("-on"), answers: [out("bde-access-denied.txt", 4294967295)] }], tag: "BitLockerFailed", re: /manage-bde -on failed \(access denied: run waie from an elevated prompt/ },
    { name: "manage-bde missing", entries: [{ match: has("-on"), answers: [{ notRun: "not found" }] }], tag: "BitLockerUnavailable", re: /BitLocker is not available on this Windows: .*manage-bde\.exe is not on this system.*Install-WindowsFeature BitLocker/ },
    { name: "timed out", entries: [{ match: has("-on"), answers: [{ notRun: "timed out" }] }], tag: "BitLockerFailed", re: /manage-bde -on failed \(timed out\)/ },
    {
      name: "the key read back fails the 11·k check",
      entries: [
        { match: has("-on"), answers: [out("bde-on.txt")] },
        { match: has("-protectors"), answers: [{ exitCode: 0, stdout: sample("bde-protectors-one.txt").replace(NEW_KEY, bad), stderr: "" }] },
      ],
      tag: "BitLockerFailed",
      re: /reading the recovery password failed \(invalid key\): expected a BitLocker recovery key.*found group 8 is not a multiple of 11/,
    },
    {
      name: "the added protector is not listed",
      entries: [
        { match: has("-on"), answers: [out("bde-on.txt")] },
        { match: has("-protectors"), answers: [out("bde-protectors-none.txt", 4294967295)] },
      ],
      tag: "BitLockerFailed",
      re: /\(no key\): manage-bde -on added the numerical password \{5C1A4E0B/,
    },
    {
      name: "-on and -get disagree",
      entries: [
        { match: has("-on"), answers: [out("bde-on.txt")] },
        { match: has("-protectors"), answers: [{ exitCode: 0, stdout: sample("bde-protectors-one.txt").replace(NEW_KEY, OTHER_KEY), stderr: "" }] },
      ],
      tag: "BitLockerFailed",
      re: /\(keys differ\)/,
    },
  ]
  for (const c of cases) {
    const r = await runWith(enableBitLocker("G:", "G"), c.entries)
    assert.ok(r._tag === "Left", c.name)
    assert.equal(r.left._tag, c.tag, c.name)
    assert.match(r.left.message, c.re, c.name)
    const all = everything(r.left)
    for (const k of [NEW_KEY, OTHER_KEY, bad]) for (const g of k.split("-").filter((g, i) => i === 0 || i === 7)) assert.ok(!all.includes(g), `${c.name}: ${g} leaked`)
  }
})

test("checkCanEncrypt: only a decrypted, unlocked volume; refusals say what manage-bde showed", async () => {
  const ok = await runWith(checkCanEncrypt("G:", "G"), [{ match: has("-status"), answers: [out("bde-status-decrypted.txt")] }])
  assert.ok(ok._tag === "Right")
  const already = await runWith(checkCanEncrypt("G:", "G"), [{ match: has("-status"), answers: [out("bde-status-encrypted.txt")] }])
  assert.ok(already._tag === "Left" && already.left._tag === "BitLockerVolumeRefused")
  assert.match(already.left.message, /^drive G: Encryption Encrypt refused: the volume is already a BitLocker volume \(Lock Status: Unlocked, Conversion Status: Fully Encrypted, Protection Status: Protection On\); list it with Encryption AlreadyEncrypted/)
  assert.match(already.left.message, /nothing was changed$/)
  const locked = await runWith(checkCanEncrypt("G:", "G"), [{ match: has("-status"), answers: [out("bde-status-locked.txt")] }])
  assert.ok(locked._tag === "Left" && /locked by BitLocker/.test(locked.left.message))
})

test("checkAlreadyEncrypted: the state, then the key must be one of the volume's recovery passwords", async () => {
  const status = (name: string) => ({ match: has("-status"), answers: [out(name)] })
  const protectors = (name: string, exit = 0) => ({ match: has("-protectors", "-get"), answers: [out(name, exit)] })
  const check = (key: string, entries: Parameters<typeof recordedRunner>[0]) => runWith(checkAlreadyEncrypted("G:", "G", Redacted.make(key)), entries)

  const ok = await check(OTHER_KEY, [status("bde-status-encrypted.txt"), protectors("bde-protectors-several.txt")])
  assert.deepEqual(ok._tag === "Right" ? ok.right : ok.left, [])
  const spaced = await check(OTHER_KEY.replace(/-/g, " "), [status("bde-status-encrypted.txt"), protectors("bde-protectors-several.txt")])
  assert.ok(spaced._tag === "Right", "blanks instead of '-' are the same key")
  const running = await check(NEW_KEY, [status("bde-status-encrypting.txt"), protectors("bde-protectors-one.txt")])
  assert.ok(running._tag === "Right" && running.right.length === 1)

  const wrong = await check(OTHER_KEY, [status("bde-status-encrypted.txt"), protectors("bde-protectors-one.txt")])
  assert.ok(wrong._tag === "Left" && wrong.left._tag === "BitLockerVolumeRefused")
  assert.match(wrong.left.message, /the key in ExistingBitLockerKey is none of the volume's recovery passwords.*\(1 recovery password on the volume\)/)
  assert.ok(!everything(wrong.left).includes("122221") && !everything(wrong.left).includes("257587"))

  const none = await check(OTHER_KEY, [status("bde-status-encrypted.txt"), protectors("bde-protectors-none.txt", 4294967295)])
  assert.ok(none._tag === "Left" && /no numerical recovery password/.test(none.left.message) && /manage-bde -protectors -add G: -RecoveryPassword/.test(none.left.message))

  const calls: Array<RecordedCall> = []
  const decrypted = await runWith(checkAlreadyEncrypted("G:", "G", Redacted.make(OTHER_KEY)), [status("bde-status-decrypted.txt")], calls)
  assert.ok(decrypted._tag === "Left" && /not encrypted/.test(decrypted.left.message))
  assert.equal(calls.length, 1, "a refused state asks nothing more")
  const suspended = await check(OTHER_KEY, [status("bde-status-suspended.txt")])
  assert.ok(suspended._tag === "Left" && /protection is suspended/.test(suspended.left.message))
  const denied = await check(OTHER_KEY, [{ match: has("-status"), answers: [out("bde-access-denied.txt", 4294967295)] }])
  assert.ok(denied._tag === "Left" && denied.left._tag === "BitLockerFailed" && /access denied/.test(denied.left.message))
})
