/**
 * Running the operating system's own tools (PowerShell, format.com, manage-bde) as a service, so
 * that what waie reads from them is tested on recorded outputs and the live layer is one small
 * function.
 *
 * Live: `execFile` — no shell (arguments are never parsed by cmd.exe, so a drive label or a
 * letter cannot smuggle a second command), `windowsHide`, standard input closed at once (a tool
 * that asks a question reads end-of-file and stops instead of waiting for ever), output bounded
 * (`maxBytes` per stream), a timeout after which the tool is killed.
 *
 * A tool that runs and exits with a non-zero code is *not* a failure here: format.com and
 * manage-bde explain their failures on standard output, and the callers' parsers turn that text
 * into typed errors. `CommandNotRun` is only for a tool that could not be started, was killed by
 * the timeout, or wrote more than the bound.
 *
 * `CommandRunner` is a Context.Reference whose default is the live runner: code that uses it
 * needs no extra layer, and tests swap in `recordedRunner` with `Effect.provideService`.
 */
import { Context, Data, Effect } from "effect"
import { execFile } from "node:child_process"

export interface CommandOutput {
  /** the exit code (Windows' unsigned codes as Node reports them) */
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** milliseconds before the tool is killed; default 120,000 */
  readonly timeoutMs?: number
  /** bytes each of stdout and stderr may hold; default 1 MiB */
  readonly maxBytes?: number
}

/** A tool that could not be run to its end. */
export class CommandNotRun extends Data.TaggedError("CommandNotRun")<{
  /** the program as given */
  readonly file: string
  readonly reason: "not found" | "timed out" | "too much output" | "could not be started"
  readonly detail: string
}> {
  override get message(): string {
    return `${this.file} ${this.reason === "could not be started" ? "could not be started" : this.reason === "not found" ? "was not found" : this.reason === "timed out" ? "did not finish in time and was stopped" : "wrote more output than waie reads"} (${this.detail})`
  }
}

export interface CommandRunnerService {
  readonly run: (file: string, args: ReadonlyArray<string>, options?: RunOptions) => Effect.Effect<CommandOutput, CommandNotRun>
}

const codeOf = (e: unknown): unknown => (typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined)

/** The live runner: execFile, no shell, hidden window, stdin closed, bounded, timed. */
export const liveRunner: CommandRunnerService = {
  run: (file, args, options = {}) =>
    Effect.async<CommandOutput, CommandNotRun>((resume) => {
      const timeout = options.timeoutMs ?? 120_000
      const maxBuffer = options.maxBytes ?? 1024 * 1024
      let child: ReturnType<typeof execFile>
      try {
        child = execFile(file, [...args], { shell: false, windowsHide: true, timeout, maxBuffer, encoding: "utf8", killSignal: "SIGKILL" }, (err, stdout, stderr) => {
          if (err === null) return resume(Effect.succeed({ exitCode: 0, stdout, stderr }))
          const code = codeOf(err)
          if (code === "ENOENT") return resume(Effect.fail(new CommandNotRun({ file, reason: "not found", detail: "ENOENT" })))
          if (code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return resume(Effect.fail(new CommandNotRun({ file, reason: "too much output", detail: `more than ${maxBuffer} bytes` })))
          if ((err as { killed?: boolean }).killed === true) return resume(Effect.fail(new CommandNotRun({ file, reason: "timed out", detail: `after ${timeout} ms` })))
          if (typeof code === "number") return resume(Effect.succeed({ exitCode: code, stdout, stderr }))
          const signal = (err as { signal?: unknown }).signal
          if (typeof signal === "string") return resume(Effect.fail(new CommandNotRun({ file, reason: "could not be started", detail: `ended by ${signal}` })))
          return resume(Effect.fail(new CommandNotRun({ file, reason: "could not be started", detail: typeof code === "string" ? code : err.message })))
        })
      } catch (e) {
        resume(Effect.fail(new CommandNotRun({ file, reason: "could not be started", detail: e instanceof Error ? e.message : String(e) })))
        return
      }
      // a question on stdin gets end-of-file, not a hang
      child.stdin?.on("error", () => {})
      child.stdin?.end()
      return Effect.sync(() => {
        child.kill("SIGKILL")
      })
    }),
}

export class CommandRunner extends Context.Reference<CommandRunner>()("waie/CommandRunner", { defaultValue: (): CommandRunnerService => liveRunner }) {}

/** One recorded answer: the output, or a tool that could not be run. */
export type RecordedAnswer = CommandOutput | { readonly notRun: CommandNotRun["reason"] }

export interface RecordedCall {
  readonly file: string
  readonly args: ReadonlyArray<string>
}

/**
 * A runner for tests: each call is matched by `match(file, args)` against the entries in order
 * (the first that matches and has answers left gives its next answer); calls are pushed to
 * `calls`. A call nothing answers is a defect: the test did not expect that command.
 */
export const recordedRunner = (
  entries: ReadonlyArray<{ readonly match: (file: string, args: ReadonlyArray<string>) => boolean; readonly answers: ReadonlyArray<RecordedAnswer> }>,
  calls: Array<RecordedCall> = [],
): CommandRunnerService => {
  const used = entries.map(() => 0)
  return {
    run: (file, args) =>
      Effect.suspend(() => {
        calls.push({ file, args: [...args] })
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!
          if (!e.match(file, args) || used[i]! >= e.answers.length) continue
          const answer = e.answers[used[i]!]!
          used[i] = used[i]! + 1
          if ("notRun" in answer) return Effect.fail(new CommandNotRun({ file, reason: answer.notRun, detail: "recorded" }))
          return Effect.succeed(answer)
        }
        return Effect.dieMessage(`unexpected command in a test: ${file} ${args.join(" ")}`)
      }),
  }
}
