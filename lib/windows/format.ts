/**
 * Format of a whole Windows volume given by its letter: `format.com G: /FS:NTFS /Q /V:<label> /Y`.
 *
 * Used only for a driveset row whose DriveLetter is a letter, on Windows, when the letter is the
 * volume itself (not mapped to a folder with `--mount`); a folder drive keeps waie's
 * erase-the-folder Format (lib/drive.ts). The person has confirmed first (unless SilentMode).
 *
 * - `/Q` quick format: the Import/Export drive is a new NTFS file system, not a wiped disk; the
 *   BitLocker encryption that follows covers the whole volume.
 * - `/V:<label>`: the DriveId waie is about to record (letters, digits, `-`, `_`; at most 32
 *   characters, NTFS's limit), so that a person holding the drive can tell it apart; given on
 *   the command line it also keeps format.com from asking for one.
 * - `/Y`: answers format.com's "Proceed with Format (Y/N)?". Standard input is closed by the
 *   runner, so any other question (a volume in use: "Would you like to force a dismount?") reads
 *   end-of-file and format.com stops; waie never forces a dismount (other programs' open files
 *   would be cut off).
 * - The system drive (`%SystemDrive%`) is refused before anything runs.
 *
 * Success is format.com's exit code 0 (its words differ with the Windows language). A failure is
 * classified from its English words (access denied: not elevated; in use; write protected), else
 * kept as it said. After a Format the caller writes and reads a test file again (the canary),
 * which also catches a volume that did not come back.
 */
import { Effect } from "effect"
import { type CommandOutput, CommandRunner } from "../commands-runner.ts"
import { FormatFailed, type FormatFailure } from "./errors.ts"
import { systemTool } from "./tools.ts"

/** A volume label from a DriveId: `[A-Za-z0-9_-]` kept (others become `_`), at most 32 characters. */
export const volumeLabel = (driveId: string): string => {
  const s = driveId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 32)
  return s === "" ? "WAIE" : s
}

export const formatArgs = (letter: string, label: string): Array<string> => {
  if (!/^[A-Z]$/.test(letter)) throw new RangeError(`a drive letter is one letter A-Z, got ${JSON.stringify(letter)}`)
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(label)) throw new RangeError(`a volume label of letters, digits, '-' and '_' (at most 32), got ${JSON.stringify(label)}`)
  return [`${letter}:`, "/FS:NTFS", "/Q", `/V:${label}`, "/Y"]
}

export type FormatOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: FormatFailure; readonly said: string }

const lines = (text: string): Array<string> =>
  text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== "")

const classes: ReadonlyArray<readonly [FormatFailure, RegExp]> = [
  ["access denied", /access (is )?denied|sufficient privileges|elevated mode|administrat(or|ive) (rights|privileges)/i],
  ["in use", /in use by another process|volume is in use|force a dismount/i],
  ["write protected", /write[- ]protected/i],
]

/** What format.com's output and exit code say. */
export const readFormatOutput = (out: CommandOutput): FormatOutcome => {
  if (out.exitCode === 0) return { ok: true }
  const all = lines(`${out.stdout}\n${out.stderr}`)
  for (const [reason, re] of classes) {
    const line = all.find((l) => re.test(l))
    if (line !== undefined) return { ok: false, reason, said: line }
  }
  // the most telling line: one that says it cannot, failed or is an error, else the last
  const said = all.find((l) => /cannot|can't|failed|error|invalid|not /i.test(l)) ?? all[all.length - 1] ?? ""
  return { ok: false, reason: "failed", said }
}

/** `C:` from `%SystemDrive%`, upper-case; `C` when unset. */
export const systemDriveLetter = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const m = /^([A-Za-z]):?\\?$/.exec(env["SystemDrive"] ?? env["SYSTEMDRIVE"] ?? "C:")
  return m ? m[1]!.toUpperCase() : "C"
}

/** Run format.com on `letter`; `drive` names the drive in errors. */
export const formatVolume = (drive: string, letter: string, label: string): Effect.Effect<void, FormatFailed> =>
  Effect.gen(function* () {
    const runner = yield* CommandRunner
    // a large drive's quick format takes seconds to a few minutes
    const out = yield* runner.run(systemTool("format.com"), formatArgs(letter, label), { timeoutMs: 30 * 60_000, maxBytes: 1024 * 1024 }).pipe(
      Effect.mapError((e) => new FormatFailed({ drive, letter, reason: "not run", code: e.reason, said: e.message })),
    )
    const r = readFormatOutput(out)
    if (!r.ok) return yield* Effect.fail(new FormatFailed({ drive, letter, reason: r.reason, code: `exit ${out.exitCode}`, said: r.said }))
  })
