/**
 * Command lines: one declarative spec per command, parsed from either the original tool's syntax
 * (`/j:x.jrn /id:session#1 /silentmode`, case-insensitive) or long options (`--journal x.jrn`),
 * and the two output modes (human text, `--json` lines). Why not @effect/cli: the original
 * syntax needs its own tokeniser anyway, and every command-line mistake must come out as our
 * own typed UsageError with exit code 2, not as another library's help screen.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Cause, Effect, Exit, Layer, Logger, Option } from "effect"
import * as path from "node:path"
import {
  ExitCode,
  FileTooLargeForManifest,
  FileUnreadable,
  FileUnwritable,
  formatIssue,
  InvalidArgument,
  InvalidInput,
  PageBlobLengthUnaligned,
  RenameImpossible,
  UsageError,
} from "./errors.ts"

/** Where a command writes. Tests and the golden runner pass their own to capture the bytes. */
export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** relative paths on the command line resolve against this folder */
  readonly cwd: string
  readonly stderrIsTTY: boolean
}

let pipeHandled = false

/** The process's own streams. A reader that goes away (`waie … | head`) ends us quietly. */
export const processIo = (): Io => {
  if (!pipeHandled) {
    pipeHandled = true
    for (const stream of [process.stdout, process.stderr]) {
      stream.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0)
        throw e
      })
    }
  }
  return {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  cwd: process.cwd(),
  stderrIsTTY: process.stderr.isTTY === true,
  }
}

export interface OptionSpec {
  /** canonical long name, kebab-case: `--journal` */
  readonly name: string
  /** other spellings, matched case-insensitively: the original tool's `j`, `logdir`… */
  readonly aliases?: ReadonlyArray<string>
  /** flag: no value; value: exactly one; values: may repeat (each occurrence adds one) */
  readonly takes: "flag" | "value" | "values"
  readonly placeholder?: string
  readonly description: string
}

export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly optional?: boolean
  readonly variadic?: boolean
}

export interface Parsed {
  readonly options: ReadonlyMap<string, ReadonlyArray<string> | true>
  readonly args: ReadonlyArray<string>
  readonly json: boolean
}

/** What a command's program gets besides its parsed command line. */
export interface Context {
  readonly io: Io
  readonly out: Output
  /** a path from the command line, resolved against the caller's folder */
  readonly resolve: (p: string) => string
}

export interface CommandSpec {
  /** words after `waie`: ["dataset", "check"] */
  readonly path: ReadonlyArray<string>
  /** other spellings of the whole path, matched case-insensitively: [["PrepImport"]] */
  readonly aliases?: ReadonlyArray<ReadonlyArray<string>>
  readonly summary: string
  readonly options: ReadonlyArray<OptionSpec>
  readonly args: ReadonlyArray<ArgSpec>
  /** extra exit codes beyond the common ones, for the help text */
  readonly exitCodes?: ReadonlyArray<readonly [number, string]>
  readonly run: (parsed: Parsed, ctx: Context) => Effect.Effect<number, unknown, NodeContext.NodeContext>
}

const jsonOption: OptionSpec = { name: "json", takes: "flag", description: "print JSON lines on stdout" }
const helpOption: OptionSpec = { name: "help", aliases: ["h", "?"], takes: "flag", description: "show this help" }

/** The original tool's options look like `/name` or `/name:value`; a POSIX path never matches both rules. */
const slashOption = /^\/([A-Za-z?][A-Za-z0-9_-]*)(?::([\s\S]*))?$/

const findOption = (specs: ReadonlyArray<OptionSpec>, name: string): OptionSpec | undefined => {
  const n = name.toLowerCase()
  return specs.find((s) => s.name.toLowerCase() === n || (s.aliases ?? []).some((a) => a.toLowerCase() === n))
}

/** Parse a command's own words (after its path). Fails with UsageError naming the bad word. */
export const parseArgs = (spec: CommandSpec, argv: ReadonlyArray<string>): Parsed | UsageError => {
  const specs = [...spec.options, jsonOption, helpOption]
  const options = new Map<string, Array<string> | true>()
  const args: Array<string> = []
  const command = spec.path.join(" ")
  const set = (opt: OptionSpec, value: string | undefined, shown: string): UsageError | undefined => {
    if (opt.takes === "flag") {
      if (value !== undefined) return new UsageError({ command, message: `${shown} takes no value, found ${JSON.stringify(value)}` })
      options.set(opt.name, true)
      return undefined
    }
    // `/j:` or `--journal=` name nothing: an empty path would quietly mean the current folder
    if (value === undefined || (value === "" && opt.takes === "value")) return new UsageError({ command, message: `${shown} needs a value${opt.placeholder ? ` (${opt.placeholder})` : ""}` })
    const prev = options.get(opt.name)
    if (opt.takes === "value" && prev !== undefined) return new UsageError({ command, message: `${shown} is given more than once` })
    options.set(opt.name, [...(Array.isArray(prev) ? prev : []), value])
    return undefined
  }
  let onlyArgs = false
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (onlyArgs) {
      args.push(word)
      continue
    }
    if (word === "--") {
      onlyArgs = true
      continue
    }
    if (word.startsWith("--") && word.length > 2) {
      const eq = word.indexOf("=")
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq)
      const opt = findOption(specs, name)
      if (opt === undefined) return new UsageError({ command, message: `unknown option --${name}` })
      let value: string | undefined = eq === -1 ? undefined : word.slice(eq + 1)
      if (value === undefined && opt.takes !== "flag") {
        if (i + 1 >= argv.length) return new UsageError({ command, message: `--${name} needs a value${opt.placeholder ? ` (${opt.placeholder})` : ""}` })
        value = argv[++i]!
      }
      const e = set(opt, value, `--${name}`)
      if (e) return e
      continue
    }
    const m = slashOption.exec(word)
    if (m) {
      const opt = findOption(specs, m[1]!)
      if (opt !== undefined) {
        const value = m[2] === undefined ? undefined : m[2]
        const e = set(opt, value, `/${m[1]}`)
        if (e) return e
        continue
      }
      if (m[2] !== undefined) return new UsageError({ command, message: `unknown option /${m[1]}` })
    }
    if (word.startsWith("-") && word.length > 1 && !/^-\d/.test(word)) {
      const opt = findOption(specs, word.slice(1))
      if (opt === undefined) return new UsageError({ command, message: `unknown option ${word}` })
      let value: string | undefined
      if (opt.takes !== "flag") {
        if (i + 1 >= argv.length) return new UsageError({ command, message: `${word} needs a value` })
        value = argv[++i]!
      }
      const e = set(opt, value, word)
      if (e) return e
      continue
    }
    args.push(word)
  }
  if (options.has("help")) return { options, args, json: options.has("json") }
  const required = spec.args.filter((a) => !a.optional && !a.variadic).length
  const variadic = spec.args.some((a) => a.variadic)
  if (args.length < required) {
    const missing = spec.args[args.length]!
    return new UsageError({ command, message: `missing argument ${missing.name.toUpperCase()} (${missing.description})` })
  }
  if (!variadic && args.length > spec.args.length) {
    return new UsageError({ command, message: `unexpected argument ${JSON.stringify(args[spec.args.length])}` })
  }
  return { options, args, json: options.has("json") }
}

export const optionValue = (p: Parsed, name: string): string | undefined => {
  const v = p.options.get(name)
  return Array.isArray(v) ? v[v.length - 1] : undefined
}
export const optionValues = (p: Parsed, name: string): ReadonlyArray<string> => {
  const v = p.options.get(name)
  return Array.isArray(v) ? v : []
}
export const flag = (p: Parsed, name: string): boolean => p.options.get(name) === true

/** Human text or JSON lines; one object per event, `type` first. */
export interface Output {
  readonly json: boolean
  /** a result: in JSON mode a line on stdout; in human mode `human` (if any) on stdout */
  readonly event: (type: string, data: Record<string, unknown>, human?: string) => void
  /** a note for a person (warnings, progress); JSON mode turns it into a `note` line */
  readonly note: (text: string, data?: Record<string, unknown>) => void
}

export const makeOutput = (io: Io, json: boolean): Output => ({
  json,
  event: (type, data, human) => {
    if (json) io.stdout(JSON.stringify({ type, ...data }) + "\n")
    else if (human !== undefined) io.stdout(human.endsWith("\n") ? human : human + "\n")
  },
  note: (text, data) => {
    if (json) io.stdout(JSON.stringify({ type: "note", message: text, ...(data ?? {}) }) + "\n")
    else io.stderr(text.endsWith("\n") ? text : text + "\n")
  },
})

/**
 * Effect's own log lines (`Effect.logInfo`…) as notes of the command's Output: plain lines, or
 * `note` JSON lines, never the default logger's `timestamp=… level=INFO fiber=#0` text.
 */
export const noteLogger = (out: Output): Layer.Layer<never> =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => out.note((Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : String(m))).join(" "))),
  )

/**
 * The exit code of each typed error that carries no data of its own to print (its message says
 * it all). 1: the input or the state of a drive or journal refuses the operation; 2: the command
 * line must change; 3: a device or file could not be used; 5: an interrupted session.
 */
const exitCodeByTag: Readonly<Record<string, number>> = {
  DriveLocked: 1,
  JournalLocked: 1,
  JournalChanged: 1,
  DriveBelongsToAnotherJournal: 1,
  DriveNotEmpty: 1,
  DriveIdentityInvalid: 1,
  DriveIdentityMismatch: 1,
  DriveOverlapsProtectedPath: 1,
  FormatRefused: 1,
  FormatNotConfirmed: 1,
  EncryptUnsupported: 1,
  SourceChanged: 1,
  BlobListFileChanged: 1,
  CredentialMismatch: 1,
  DriveUnreachable: 2,
  PromptUnavailable: 2,
  CredentialFileMissing: 2,
  DriveUnavailable: 3,
  DriveNotWritable: 3,
  DriveDoesNotKeepData: 3,
  BitLockerFailed: 3,
  BitLockerUnavailable: 1,
  BitLockerVolumeRefused: 1,
  FormatFailed: 3,
  PartialCopyLost: 3,
  JournalWriteFailed: 3,
  StorageError: 3,
  SessionRefused: 1,
  DataDoesNotFit: 5,
  DriveFull: 5,
  AzuriteFailed: 3,
}

/**
 * Report a failure in the current output mode and give its exit code. Known typed errors map to
 * their codes; anything else is a bug in waie (exit 70) and says so, without a stack trace.
 */
export const reportFailure = (out: Output, io: Io, error: unknown): number => {
  const emit = (code: number, data: Record<string, unknown>, human: string) => {
    if (out.json) io.stdout(JSON.stringify({ type: "error", exitCode: code, ...data }) + "\n")
    else io.stderr(human.endsWith("\n") ? human : human + "\n")
    return code
  }
  if (error instanceof InvalidInput) {
    if (out.json) {
      for (const issue of error.issues) io.stdout(JSON.stringify({ type: "issue", format: error.format, ...issue, message: formatIssue(issue) }) + "\n")
    }
    return emit(ExitCode.Invalid, { error: error._tag, format: error.format, file: error.file, issues: error.issues.length, omitted: error.omitted ?? 0, message: error.message.split("\n")[0] }, error.message)
  }
  if (error instanceof UsageError) {
    const hint = error.command ? `\nrun 'waie ${error.command} --help' for its usage` : "\nrun 'waie --help' for the commands"
    return emit(ExitCode.Usage, { error: error._tag, message: error.message }, `usage error: ${error.message}${hint}`)
  }
  if (error instanceof InvalidArgument) {
    return emit(ExitCode.Usage, { error: error._tag, argument: error.argument, expected: error.expected, found: error.found, message: error.message }, error.message)
  }
  if (error instanceof FileUnreadable || error instanceof FileUnwritable) {
    return emit(ExitCode.Io, { error: error._tag, path: error.path, code: error.code, message: error.message }, error.message)
  }
  if (error instanceof FileTooLargeForManifest || error instanceof PageBlobLengthUnaligned || error instanceof RenameImpossible) {
    return emit(ExitCode.Invalid, { error: error._tag, message: error.message }, error.message)
  }
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String((error as { _tag: unknown })._tag) : undefined
  const code = tag !== undefined ? exitCodeByTag[tag] : undefined
  if (code !== undefined && error instanceof Error) return emit(code, { error: tag, message: error.message }, error.message)
  const message = error instanceof Error ? error.message : String(error)
  return emit(ExitCode.Internal, { error: "InternalError", message }, `internal error in waie (please report it): ${message}`)
}

const helpText = (spec: CommandSpec): string => {
  const lines = [`waie ${spec.path.join(" ")}${spec.args.map((a) => " " + (a.optional || a.variadic ? `[${a.name.toUpperCase()}${a.variadic ? " ..." : ""}]` : a.name.toUpperCase())).join("")} [options]`, "", spec.summary, ""]
  if (spec.args.length) {
    lines.push("Arguments:")
    for (const a of spec.args) lines.push(`  ${a.name.toUpperCase().padEnd(22)} ${a.description}`)
    lines.push("")
  }
  lines.push("Options:")
  for (const o of [...spec.options, jsonOption, helpOption]) {
    const names = [`--${o.name}${o.takes === "flag" ? "" : ` ${o.placeholder ?? "VALUE"}`}`, ...(o.aliases ?? []).map((a) => `/${a}${o.takes === "flag" ? "" : ":"}`)]
    lines.push(`  ${names.join(", ").padEnd(40)} ${o.description}`)
  }
  lines.push("", "Exit codes:", "  0   success", "  1   the input is invalid (each problem is listed)", "  2   the command line is wrong", "  3   a file could not be read or written")
  for (const [code, what] of spec.exitCodes ?? []) lines.push(`  ${String(code).padEnd(3)} ${what}`)
  lines.push("  70  a bug in waie")
  return lines.join("\n") + "\n"
}

const matches = (words: ReadonlyArray<string>, argv: ReadonlyArray<string>): boolean =>
  words.length <= argv.length && words.every((w, i) => w.toLowerCase() === argv[i]!.toLowerCase())

/** Run one command spec on its own words (the part of argv after the command path). */
export const runCommand = async (spec: CommandSpec, argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const wantsJson = argv.some((a) => a === "--json" || a.toLowerCase() === "/json")
  const parsed = parseArgs(spec, argv)
  if (parsed instanceof UsageError) return reportFailure(makeOutput(io, wantsJson), io, parsed)
  const out = makeOutput(io, parsed.json)
  if (parsed.options.has("help")) {
    io.stdout(helpText(spec))
    return ExitCode.Ok
  }
  const ctx: Context = { io, out, resolve: (p) => path.resolve(io.cwd, p) }
  const exit = await Effect.runPromiseExit(spec.run(parsed, ctx).pipe(Effect.provide(noteLogger(out)), Effect.provide(NodeContext.layer)))
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return reportFailure(out, io, failure.value)
  const defect = Cause.squash(exit.cause)
  return reportFailure(out, io, defect instanceof Error ? defect : new Error(Cause.pretty(exit.cause)))
}

/** Find the command for argv among specs (longest path first) and run it. */
export const runCli = async (specs: ReadonlyArray<CommandSpec>, argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const candidates = specs.flatMap((s) => [s.path, ...(s.aliases ?? [])].map((words) => ({ s, words })))
  candidates.sort((a, b) => b.words.length - a.words.length)
  const hit = candidates.find((c) => matches(c.words, argv))
  if (hit === undefined) {
    const wantsJson = argv.includes("--json")
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "help" || argv[0] === "-h") {
      io.stdout(overview(specs))
      return argv.length === 0 ? ExitCode.Usage : ExitCode.Ok
    }
    return reportFailure(makeOutput(io, wantsJson), io, new UsageError({ message: `unknown command ${JSON.stringify(argv.filter((a) => !a.startsWith("-")).slice(0, 2).join(" "))}` }))
  }
  return runCommand(hit.s, argv.slice(hit.words.length), io)
}

export const overview = (specs: ReadonlyArray<CommandSpec>): string =>
  ["waie: prepare, verify and repair drives for Azure Import/Export", "", "Commands:", ...specs.map((s) => `  waie ${s.path.join(" ").padEnd(24)} ${s.summary}`), "", "Run 'waie COMMAND --help' for a command's options and exit codes.", ""].join("\n")

/** When a script file is run directly, run its command on process.argv and exit with its code. */
export const runIfMain = (meta: ImportMeta, spec: CommandSpec): void => {
  const entry = process.argv[1]
  if (entry === undefined) return
  const self = new URL(meta.url).pathname
  if (path.resolve(entry) !== self && path.resolve(entry) !== self.replace(/\.ts$/, "")) return
  void runCommand(spec, process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code
  })
}
