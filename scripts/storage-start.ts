#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie storage start [--dir D] [--port P]`: an azurite Blob endpoint on this machine, its data
 * kept on disk, for rehearsing imports and exports by hand. Runs until SIGINT or SIGTERM, then
 * stops azurite (which saves its data) and exits 0.
 *
 * It prints azurite's connection string on purpose: the account key in it is azurite's public
 * development key, the same in every azurite, and the user needs the string to point other tools
 * (or `waie service … --connection-string`) at this endpoint. No other command prints a key.
 */
import { Effect } from "effect"
import { AzuriteFailed, startAzurite } from "../lib/azurite.ts"
import { type CommandSpec, type Context, optionValue, runIfMain } from "../lib/cli.ts"
import { ExitCode, UsageError } from "../lib/errors.ts"

export const defaultDir = ".waie-azurite"
/** azurite's usual Blob port, so that `UseDevelopmentStorage=true` reaches it too */
export const defaultPort = 10000

/**
 * SIGINT and SIGTERM caught from now until the scope closes; `first` resolves with the first one.
 * Installed before the started line is printed: a reader may stop us as soon as it has the line,
 * and a signal before the handlers would kill waie without stopping azurite or saying so.
 */
const catchSignals = Effect.acquireRelease(
  Effect.sync(() => {
    let caught: (sig: NodeJS.Signals) => void = () => {}
    const first = new Promise<NodeJS.Signals>((resolve) => (caught = resolve))
    const int = () => caught("SIGINT")
    const term = () => caught("SIGTERM")
    process.on("SIGINT", int)
    process.on("SIGTERM", term)
    return {
      first,
      off: () => {
        process.off("SIGINT", int)
        process.off("SIGTERM", term)
      },
    }
  }),
  (h) => Effect.sync(h.off),
)

const failed = (ctx: Context, e: AzuriteFailed): number => {
  if (ctx.out.json) ctx.io.stdout(JSON.stringify({ type: "error", exitCode: ExitCode.Io, error: e._tag, reason: e.reason, output: e.output, message: e.message }) + "\n")
  else ctx.io.stderr(e.message + "\n")
  return ExitCode.Io
}

export const command: CommandSpec = {
  path: ["storage", "start"],
  summary: "run an azurite Blob endpoint here (data kept on disk) until Ctrl-C; prints its connection string",
  options: [
    { name: "dir", takes: "value", placeholder: "DIR", description: `where azurite keeps its data (default ${defaultDir}, created if missing)` },
    { name: "port", takes: "value", placeholder: "PORT", description: `the port to listen on, on 127.0.0.1 (default ${defaultPort}; 0: any free port)` },
  ],
  args: [],
  exitCodes: [[3, "azurite could not be started (its own message follows): e.g. the port is in use"]],
  run: (parsed, ctx) => {
    const portText = optionValue(parsed, "port") ?? String(defaultPort)
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN
    if (!(port >= 0 && port <= 65535)) return Effect.fail(new UsageError({ command: "storage start", message: `--port: expected a port number from 0 to 65535, found ${JSON.stringify(portText)}` }))
    const dir = ctx.resolve(optionValue(parsed, "dir") ?? defaultDir)
    return Effect.scoped(
      Effect.gen(function* () {
        const az = yield* startAzurite({ dir, port })
        const signals = yield* catchSignals
        ctx.out.event(
          "storageStarted",
          { server: "azurite", blobEndpoint: az.blobEndpoint, port: az.port, account: az.account, connectionString: az.connectionString, dir: az.dir ?? null, pid: az.pid },
          [
            `azurite is listening on ${az.blobEndpoint}, its data in ${az.dir}`,
            `connection string (azurite's public development key, not a secret):`,
            az.connectionString,
            `stop it with Ctrl-C (or SIGTERM to pid ${process.pid})`,
          ].join("\n"),
        )
        const how = yield* Effect.raceFirst(
          Effect.promise(() => signals.first).pipe(Effect.map((s) => ({ signal: s }) as const)),
          Effect.promise(() => az.exited).pipe(Effect.map((x) => ({ exited: x }) as const)),
        )
        if ("exited" in how) {
          // Ctrl-C in a terminal reaches azurite too (same process group), and it may be quicker
          // than us to stop: a clean exit is that, not a failure
          if (how.exited.code === 0) return null
          return yield* Effect.fail(new AzuriteFailed({ reason: `stopped by itself (${how.exited.signal ?? `exit code ${how.exited.code}`})`, output: "" }))
        }
        return how.signal as NodeJS.Signals | null
      }),
    ).pipe(
      // the scope is closed (azurite stopped) by the time this runs
      Effect.map((signal) => {
        ctx.out.event("storageStopped", { signal }, `azurite stopped${signal !== null ? ` (${signal})` : ""}; its data is in ${dir}`)
        return ExitCode.Ok
      }),
      Effect.catchTag("AzuriteFailed", (e) => Effect.succeed(failed(ctx, e))),
    )
  },
}

runIfMain(import.meta, command)
