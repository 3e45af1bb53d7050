/**
 * How the repair commands report: a line per blob decided in this run, a summary, and the exit
 * code (0 finished; 6 blobs left unresolved; the refusals of lib/repair/errors.ts and
 * lib/cli.ts's own).
 */
import { Effect } from "effect"
import type { Context } from "../cli.ts"
import { ExitCode, UsageError } from "../errors.ts"
import { plural } from "../output.ts"
import type { StorageCredentials } from "../storage-credentials.ts"
import { repairExitCodes } from "./errors.ts"
import type { BlobResult } from "./session.ts"

/** A repair needs the account the job used: without credentials waie would start an empty azurite. */
export const requireCredentials = (credentials: StorageCredentials | undefined | UsageError, command: string): Effect.Effect<StorageCredentials, UsageError> => {
  if (credentials instanceof UsageError) return Effect.fail(credentials)
  if (credentials === undefined) {
    return Effect.fail(new UsageError({ command, message: `${command} needs the storage account of the job: /sn:ACCOUNT with /sk:KEY or /csas:SAS (or --connection-string, or $AZURE_STORAGE_CONNECTION_STRING)` }))
  }
  return Effect.succeed(credentials)
}

export interface BlobLine {
  readonly index: number
  readonly blobPath: string
  readonly filePath: string
  readonly result: BlobResult
}

/** One line per blob decided: JSON `blob` events, or a line for a person (sweeps' intact blobs are only counted). */
export const blobLine = (ctx: Context, b: BlobLine & { readonly sweep?: boolean }): void => {
  const r = b.result
  const data = {
    index: b.index,
    blobPath: r.blobPath,
    ...(r.blobPath !== b.blobPath ? { logBlobPath: b.blobPath } : {}),
    filePath: b.filePath,
    ...(b.sweep !== undefined ? { sweep: b.sweep } : {}),
    ...(r._tag === "Repaired" ? { result: "repaired", parts: r.parts, ...(r.source !== "" ? { source: r.source } : {}), detail: r.detail } : { result: "unresolved", ...(r.filePath !== "" ? { unresolvedPath: r.filePath } : {}), reason: r.reason }),
  }
  if (ctx.out.json) return ctx.out.event("blob", data)
  if (r._tag === "Repaired" && r.parts === 0 && b.sweep) return
  const human = r._tag === "Repaired" ? `repaired ${r.blobPath} (${b.filePath}): ${r.detail}` : `unresolved ${r.blobPath} (${r.filePath !== "" ? r.filePath : b.filePath}): ${r.reason}`
  ctx.io.stdout(human + "\n")
}

export const passSummary = (o: { readonly pass: number; readonly repaired: number; readonly unresolved: number; readonly finished: boolean }): string =>
  `pass ${o.pass}: ${plural(o.repaired, "blob")} done, ${o.unresolved} unresolved; ${o.finished ? "the repair is finished" : "run again once they can be resolved"}`

/** Report a repair refusal or outcome the common reporter does not know; anything else is passed on. */
export const catchRepairErrors = <A, E extends { readonly _tag: string }, R>(ctx: Context, e: Effect.Effect<A, E, R>): Effect.Effect<A | number, E, R> =>
  Effect.catchIf(
    e,
    (x): x is E => typeof x === "object" && x !== null && "_tag" in x && repairExitCodes[x._tag] !== undefined,
    (x) =>
      Effect.sync(() => {
        const code = repairExitCodes[x._tag] ?? ExitCode.Invalid
        const message = (x as unknown as Error).message
        if (ctx.out.json) ctx.io.stdout(JSON.stringify({ type: "error", exitCode: code, error: x._tag, message }) + "\n")
        else ctx.io.stderr(message + "\n")
        return code
      }),
  )
