/**
 * BitLocker on a Windows volume given by its letter, through manage-bde (English output).
 *
 * Encrypt (`Encryption` = Encrypt, after the Format if any):
 *   1. `manage-bde -status G:` must show a volume that is unlocked and fully decrypted; anything
 *      else is refused before the drive is touched (see the table below);
 *   2. `manage-bde -on G: -rp` adds a numerical recovery password and starts the encryption,
 *      which goes on in the background while waie copies (BitLocker encrypts what is written
 *      meanwhile); the output names the new protector's ID;
 *   3. `manage-bde -protectors -get G: -Type RecoveryPassword` reads the password back: the one
 *      with that ID (or the only one when `-on` named none); it must pass lib/bitlocker.ts's
 *      check (8 groups of 6 digits, each a multiple of 11 below 720896).
 *
 * AlreadyEncrypted (a key in ExistingBitLockerKey):
 *   1. `manage-bde -status G:` is judged (table below);
 *   2. the key must be one of the volume's recovery passwords (`-protectors -get … -Type
 *      RecoveryPassword`): a key that does not open the drive would only be found at the
 *      datacenter.
 *
 * What manage-bde -status shows, and what waie does (decisions; the reference is silent):
 *
 * | state                                        | Encrypt            | AlreadyEncrypted          |
 * |----------------------------------------------|--------------------|---------------------------|
 * | Lock Status: Locked                          | refused (unlock)   | refused (unlock)          |
 * | Fully Decrypted                              | done               | refused: not encrypted    |
 * | Fully Encrypted / Used Space Only, Prot. On  | refused: already   | accepted                  |
 * | Fully Encrypted, Protection Off (suspended)  | refused: already   | refused: the key is in the clear on the drive; resume protection |
 * | Encryption in Progress                       | refused: already   | accepted, with a note: ship it once Fully Encrypted |
 * | Decryption in Progress, Paused, other        | refused            | refused                   |
 *
 * "Encryption in Progress" is accepted whatever its Protection Status, because Windows shows
 * Protection Off until the conversion ends; a drive without a numerical password (a factory
 * pre-provisioned volume, its key in the clear) is refused by the key check anyway.
 * Encrypt on a volume that is already BitLocker is refused rather than given one more password:
 * the other protectors would still open it, and they are not waie's to vouch for.
 *
 * Secrets: recovery passwords are never logged, never put in an error (outputs kept in errors go
 * through `maskRecoveryPasswords`), and leave here only as Redacted.
 */
import { Effect, Redacted } from "effect"
import { checkRecoveryKey } from "../bitlocker.ts"
import { CommandRunner } from "../commands-runner.ts"
import { maskKeys } from "../driveset.ts"
import { BitLockerFailed } from "../errors.ts"
import { BitLockerUnavailable, BitLockerVolumeRefused } from "./errors.ts"
import { systemTool } from "./tools.ts"

// ---------------------------------------------------------------- masking

/**
 * Text with every recovery password (and anything like one: digit groups joined by `-` or
 * blanks, 20 digits or more in all) replaced by `<recovery password>`.
 */
export const maskRecoveryPasswords = (text: string): string =>
  maskKeys(text.replace(/\d+(?:[ -]+\d+)+/g, (m) => (m.replace(/\D/g, "").length >= 20 ? "<recovery password>" : m)))

const digitsOf = (key: string): string => key.replace(/\D/g, "")

// ---------------------------------------------------------------- parsers

const splitLines = (text: string): Array<string> => text.split(/\r?\n|\r/)

export interface Protector {
  /** the heading as manage-bde writes it: `Numerical Password`, `TPM`, `External Key`, … */
  readonly type: string
  /** `{GUID}` in upper case */
  readonly id?: string
  /** a numerical password's 48 digits as written (`-` between groups) */
  readonly password?: string
}

const guid = /\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}/
const password48 = /\b\d{6}(?:[- ]\d{6}){7}\b/

/**
 * The key protectors listed by `manage-bde -protectors -get` (or added, in `manage-bde -on`'s
 * "Key Protectors Added"). A protector is a heading line (`Numerical Password:`) whose next
 * non-empty line is `ID: {…}`; its block runs to the next such heading or the end. Indentation
 * is not relied on. Inside a numerical password's block the password is the first 48-digit
 * group; the field label `Password:` inside the block is not a heading (no ID follows it).
 */
export const parseProtectors = (text: string): Array<Protector> => {
  const lines = splitLines(text)
  const nextNonEmpty = (i: number): string | undefined => {
    for (let j = i + 1; j < lines.length; j++) if (lines[j]!.trim() !== "") return lines[j]!.trim()
    return undefined
  }
  const headings: Array<{ line: number; type: string }> = []
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*([A-Za-z][A-Za-z0-9 ()/.-]*?):\s*$/.exec(lines[i]!)
    if (m && /^ID:\s*\{/i.test(nextNonEmpty(i) ?? "")) headings.push({ line: i, type: m[1]!.trim() })
  }
  return headings.map((h, k) => {
    // a block ends at the next heading, or at a section title (the -on output repeats the password under ACTIONS REQUIRED)
    const end = headings[k + 1]?.line ?? lines.length
    const block = lines.slice(h.line + 1, end)
    const cut = block.findIndex((l) => /^(ACTIONS REQUIRED|NOTE|ERROR|WARNING|Volume [A-Za-z]:|All Key Protectors|Key Protectors)\b/i.test(l.trim()))
    const body = (cut === -1 ? block : block.slice(0, cut)).join("\n")
    const id = guid.exec(body)?.[0].toUpperCase()
    const pw = password48.exec(body)?.[0].replace(/ /g, "-")
    return { type: h.type, ...(id !== undefined ? { id } : {}), ...(pw !== undefined ? { password: pw } : {}) }
  })
}

export interface BitLockerStatus {
  /** `G:` from `Volume G: [label]` */
  readonly volume?: string
  readonly conversion?: string
  readonly percentEncrypted?: string
  readonly protection?: string
  readonly lock?: string
  readonly method?: string
  /** the names under `Key Protectors:` (`None Found` gives none) */
  readonly protectors: ReadonlyArray<string>
}

/** The fields of `manage-bde -status G:`. */
export const parseStatus = (text: string): BitLockerStatus => {
  const fields = new Map<string, string>()
  const protectors: Array<string> = []
  let volume: string | undefined
  let inProtectors = false
  for (const raw of splitLines(text)) {
    const line = raw.trim()
    if (line === "") {
      inProtectors = false
      continue
    }
    // the names listed under "Key Protectors:" have no colon
    if (inProtectors && !line.includes(":")) {
      protectors.push(line)
      continue
    }
    inProtectors = false
    const v = /^Volume\s+([A-Za-z]:)/.exec(line)
    if (v) {
      volume ??= v[1]!.toUpperCase()
      continue
    }
    const kv = /^([A-Za-z][A-Za-z ]*?):\s*(.*)$/.exec(line)
    if (!kv) continue
    const key = kv[1]!.toLowerCase()
    const value = kv[2]!.trim()
    if (key === "key protectors") {
      inProtectors = value === ""
      if (value !== "" && !/^none/i.test(value)) protectors.push(value)
    } else if (!fields.has(key)) fields.set(key, value)
  }
  const field = (key: string, as: "conversion" | "percentEncrypted" | "protection" | "lock" | "method") => {
    const value = fields.get(key)
    return value === undefined ? {} : { [as]: value }
  }
  return {
    ...(volume !== undefined ? { volume } : {}),
    ...field("conversion status", "conversion"),
    ...field("percentage encrypted", "percentEncrypted"),
    ...field("protection status", "protection"),
    ...field("lock status", "lock"),
    ...field("encryption method", "method"),
    protectors,
  }
}

/** The `ERROR:` lines of manage-bde's output, each with the line after it when that explains it. */
export const manageBdeErrors = (text: string): Array<string> => {
  const lines = splitLines(text).map((l) => l.trim())
  const out: Array<string> = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^ERROR:/i.test(lines[i]!)) continue
    const next = lines[i + 1] ?? ""
    // "ERROR: An error occurred (code 0x80070005):" is followed by its words
    out.push(/:\s*$/.test(lines[i]!) && next !== "" ? `${lines[i]} ${next}` : lines[i]!)
  }
  return out
}

export type VolumeState = "locked" | "decrypted" | "encrypted" | "suspended" | "encrypting" | "decrypting" | "paused" | "unknown"

/** What the status says about the volume, in the terms of the table at the top of this file. */
export const volumeState = (s: BitLockerStatus): VolumeState => {
  if (/^locked$/i.test(s.lock ?? "")) return "locked"
  const c = (s.conversion ?? "").toLowerCase()
  if (c === "fully decrypted") return "decrypted"
  if (c === "fully encrypted" || c === "used space only encrypted") return /^protection on$/i.test(s.protection ?? "") ? "encrypted" : "suspended"
  if (c === "encryption in progress") return "encrypting"
  if (c === "decryption in progress") return "decrypting"
  if (c.includes("paused")) return "paused"
  return "unknown"
}

const shown = (s: BitLockerStatus): string =>
  [s.lock !== undefined ? `Lock Status: ${s.lock}` : undefined, s.conversion !== undefined ? `Conversion Status: ${s.conversion}` : "no Conversion Status", s.protection !== undefined ? `Protection Status: ${s.protection}` : undefined]
    .filter((x) => x !== undefined)
    .join(", ")

export type Verdict = { readonly ok: true; readonly notes: ReadonlyArray<string> } | { readonly ok: false; readonly problem: string; readonly remedy: string; readonly found: string }

/** Whether a volume in this state may be encrypted by waie (Encrypt). */
export const judgeForEncrypt = (s: BitLockerStatus, letter: string): Verdict => {
  const found = shown(s)
  switch (volumeState(s)) {
    case "decrypted":
      return { ok: true, notes: [] }
    case "locked":
      return { ok: false, found, problem: "the volume is locked by BitLocker", remedy: `it is already a BitLocker volume: unlock it (manage-bde -unlock ${letter}: -RecoveryPassword <key>) and list it with Encryption AlreadyEncrypted and that key` }
    case "encrypted":
    case "suspended":
    case "encrypting":
      return { ok: false, found, problem: "the volume is already a BitLocker volume", remedy: `list it with Encryption AlreadyEncrypted and its recovery password (manage-bde -protectors -get ${letter}: -Type RecoveryPassword), or decrypt it first (manage-bde -off ${letter}:)` }
    case "decrypting":
    case "paused":
      return { ok: false, found, problem: "BitLocker is converting the volume", remedy: `wait until manage-bde -status ${letter}: shows Fully Decrypted (manage-bde -resume ${letter}: continues a paused conversion)` }
    case "unknown":
      return { ok: false, found, problem: "manage-bde did not show a state waie knows", remedy: `check manage-bde -status ${letter}:` }
  }
}

/** Whether a volume in this state can be shipped as AlreadyEncrypted. */
export const judgeExisting = (s: BitLockerStatus, letter: string): Verdict => {
  const found = shown(s)
  switch (volumeState(s)) {
    case "encrypted":
      return { ok: true, notes: [] }
    case "encrypting":
      return { ok: true, notes: [`BitLocker is still encrypting ${letter}: (${s.percentEncrypted ?? "?"} done); ship the drive only once manage-bde -status ${letter}: shows Fully Encrypted`] }
    case "locked":
      return { ok: false, found, problem: "the volume is locked", remedy: `unlock it with its recovery password (manage-bde -unlock ${letter}: -RecoveryPassword <key>) and run again` }
    case "decrypted":
      return { ok: false, found, problem: "the volume is not encrypted", remedy: "list it with Encryption Encrypt (waie turns BitLocker on), or encrypt it yourself first" }
    case "suspended":
      return { ok: false, found, problem: "BitLocker protection is suspended, so the volume's key is stored in the clear on the drive", remedy: `resume it (manage-bde -protectors -enable ${letter}:)` }
    case "decrypting":
    case "paused":
      return { ok: false, found, problem: "BitLocker is decrypting the volume or its conversion is paused", remedy: `let the encryption finish (manage-bde -resume ${letter}:) until manage-bde -status ${letter}: shows Fully Encrypted` }
    case "unknown":
      return { ok: false, found, problem: "manage-bde did not show a state waie knows", remedy: `check manage-bde -status ${letter}:` }
  }
}

// ---------------------------------------------------------------- running manage-bde

const accessDenied = /access (is )?denied|access a required resource was denied|administrative rights|0x80070005/i

/**
 * Run manage-bde for one step. Its failures: the tool missing → BitLockerUnavailable (a Windows
 * Server without the BitLocker feature has no manage-bde.exe); a non-zero exit or an `ERROR:`
 * line → BitLockerFailed with manage-bde's words (recovery passwords masked), its code saying
 * "access denied" when the words do (not elevated). What manage-bde says on an edition without
 * BitLocker has not been seen: it is a BitLockerFailed with those words.
 */
export const manageBde = (drive: string, step: string, args: ReadonlyArray<string>): Effect.Effect<string, BitLockerFailed | BitLockerUnavailable> =>
  Effect.gen(function* () {
    const runner = yield* CommandRunner
    const tool = systemTool("manage-bde.exe")
    const out = yield* runner.run(tool, args, { timeoutMs: 5 * 60_000, maxBytes: 1024 * 1024 }).pipe(
      Effect.mapError((e) =>
        e.reason === "not found" ? new BitLockerUnavailable({ drive, reason: `${tool} is not on this system` }) : new BitLockerFailed({ drive, step, code: e.reason, output: e.detail }),
      ),
    )
    const text = `${out.stdout}\n${out.stderr}`
    const errors = manageBdeErrors(text)
    if (out.exitCode === 0 && errors.length === 0) return out.stdout
    const said = errors.length > 0 ? errors.join(" ") : (splitLines(text).map((l) => l.trim()).filter((l) => l !== "").pop() ?? "no output")
    const code = accessDenied.test(said) ? "access denied: run waie from an elevated prompt (Run as administrator)" : `exit ${out.exitCode}`
    return yield* Effect.fail(new BitLockerFailed({ drive, step, code, output: maskRecoveryPasswords(said) }))
  })

const readStatus = (drive: string, letter: string) => manageBde(drive, "manage-bde -status", ["-status", `${letter}:`]).pipe(Effect.map(parseStatus))

/**
 * The volume's recovery passwords. "No key protectors found" is an empty list, not a failure.
 */
const readRecoveryPasswords = (drive: string, letter: string): Effect.Effect<Array<Protector>, BitLockerFailed | BitLockerUnavailable> =>
  manageBde(drive, "manage-bde -protectors -get", ["-protectors", "-get", `${letter}:`, "-Type", "RecoveryPassword"]).pipe(
    Effect.map((text) => parseProtectors(text).filter((p) => /numerical password/i.test(p.type))),
    Effect.catchIf(
      (e): e is BitLockerFailed => e._tag === "BitLockerFailed" && /no key protectors? (were |was )?found/i.test(e.output),
      () => Effect.succeed([] as Array<Protector>),
    ),
  )

const refused = (drive: string, encryption: "Encrypt" | "AlreadyEncrypted", v: Extract<Verdict, { ok: false }>) =>
  new BitLockerVolumeRefused({ drive, encryption, found: v.found, problem: v.problem, remedy: v.remedy })

/** Before an Encrypt: the volume must be unlocked and fully decrypted. Reads only. */
export const checkCanEncrypt = (drive: string, letter: string): Effect.Effect<void, BitLockerFailed | BitLockerUnavailable | BitLockerVolumeRefused> =>
  Effect.gen(function* () {
    const v = judgeForEncrypt(yield* readStatus(drive, letter), letter)
    if (!v.ok) return yield* Effect.fail(refused(drive, "Encrypt", v))
  })

/**
 * AlreadyEncrypted: the volume is a BitLocker volume waie may ship, and `key` is one of its
 * recovery passwords. Reads only; returns notes for the person (an encryption still running).
 */
export const checkAlreadyEncrypted = (drive: string, letter: string, key: Redacted.Redacted<string>): Effect.Effect<ReadonlyArray<string>, BitLockerFailed | BitLockerUnavailable | BitLockerVolumeRefused> =>
  Effect.gen(function* () {
    const status = yield* readStatus(drive, letter)
    const v = judgeExisting(status, letter)
    if (!v.ok) return yield* Effect.fail(refused(drive, "AlreadyEncrypted", v))
    const passwords = (yield* readRecoveryPasswords(drive, letter)).filter((p) => p.password !== undefined)
    const found = `${passwords.length} recovery password${passwords.length === 1 ? "" : "s"} on the volume`
    if (passwords.length === 0) {
      return yield* Effect.fail(new BitLockerVolumeRefused({ drive, encryption: "AlreadyEncrypted", found, problem: "the volume has no numerical recovery password, the only key the datacenter can use", remedy: `add one (manage-bde -protectors -add ${letter}: -RecoveryPassword) and put it in ExistingBitLockerKey` }))
    }
    const want = digitsOf(Redacted.value(key))
    if (!passwords.some((p) => digitsOf(p.password!) === want)) {
      return yield* Effect.fail(new BitLockerVolumeRefused({ drive, encryption: "AlreadyEncrypted", found, problem: "the key in ExistingBitLockerKey is none of the volume's recovery passwords, so it would not open the drive", remedy: `copy the right one (manage-bde -protectors -get ${letter}: -Type RecoveryPassword)` }))
    }
    return v.notes
  })

/** The ID of the numerical password `manage-bde -on` says it added, if it says. */
export const addedProtectorId = (onOutput: string): string | undefined => parseProtectors(onOutput).find((p) => /numerical password/i.test(p.type) && p.id !== undefined)?.id

/** The password to keep: the one with `id`, or the only one when there is no id. */
export const pickRecoveryPassword = (protectors: ReadonlyArray<Protector>, id: string | undefined): { readonly password: string } | { readonly problem: string } => {
  const numerical = protectors.filter((p) => /numerical password/i.test(p.type))
  if (id !== undefined) {
    const p = numerical.find((x) => x.id === id)
    if (p === undefined) return { problem: `manage-bde -on added the numerical password ${id}, which -protectors -get does not list (it lists ${numerical.length})` }
    if (p.password === undefined) return { problem: `the numerical password ${id} is listed without its digits` }
    return { password: p.password }
  }
  const withDigits = numerical.filter((p) => p.password !== undefined)
  if (withDigits.length === 1) return { password: withDigits[0]!.password! }
  return { problem: withDigits.length === 0 ? "manage-bde lists no numerical password with its digits" : `manage-bde lists ${withDigits.length} numerical passwords and did not say which one it added` }
}

/**
 * Encrypt: turn BitLocker on with a new numerical recovery password and read it back. Run after
 * `checkCanEncrypt` (and the Format). Returns the password (Redacted) and a note.
 */
export const enableBitLocker = (drive: string, letter: string): Effect.Effect<{ readonly key: Redacted.Redacted<string>; readonly notes: ReadonlyArray<string> }, BitLockerFailed | BitLockerUnavailable> =>
  Effect.gen(function* () {
    const on = yield* manageBde(drive, "manage-bde -on", ["-on", `${letter}:`, "-rp"])
    const id = addedProtectorId(on)
    const step = "reading the recovery password"
    const picked = pickRecoveryPassword(yield* readRecoveryPasswords(drive, letter), id)
    if ("problem" in picked) return yield* Effect.fail(new BitLockerFailed({ drive, step, code: "no key", output: picked.problem }))
    const problem = checkRecoveryKey(picked.password)
    if (problem !== undefined) return yield* Effect.fail(new BitLockerFailed({ drive, step, code: "invalid key", output: `expected ${problem.expected}, found ${problem.found}` }))
    // -on printed the password too: the two must agree
    const shownByOn = parseProtectors(on).find((p) => p.id === id)?.password
    if (shownByOn !== undefined && digitsOf(shownByOn) !== digitsOf(picked.password)) {
      return yield* Effect.fail(new BitLockerFailed({ drive, step, code: "keys differ", output: "manage-bde -on and -protectors -get show different passwords for the same protector" }))
    }
    return { key: Redacted.make(picked.password), notes: [`BitLocker is encrypting ${letter}: in the background (a numerical recovery password was added and recorded); ship the drive only once manage-bde -status ${letter}: shows Fully Encrypted`] }
  })
