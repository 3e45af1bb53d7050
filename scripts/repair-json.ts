#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie repair json FILE`: the records of a RepairImport/RepairExport repair file (`/r:`) as JSON
 * lines, then where the repair stands (the state a rerun resumes from). Every record is checked
 * as a rerun would check it (exit 1 naming the line otherwise); a torn last record (a crash
 * while it was appended) is reported and dropped, as a rerun drops it (exit 4).
 */
import { Effect, Stream } from "effect"
import { type CommandSpec, runIfMain } from "../lib/cli.ts"
import { ExitCode, InvalidInput } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { readJournalRecords } from "../lib/journal-records.ts"
import { applyRepairEvent, decodeRepairEntry, type RepairState } from "../lib/repair-file.ts"

export const command: CommandSpec = {
  path: ["repair", "json"],
  summary: "print the records of a RepairImport/RepairExport repair file as JSON lines, and where the repair stands",
  args: [{ name: "file", description: "the repair file (/r:)" }],
  options: [],
  exitCodes: [[4, "the repair file ends in a torn record (a crash while writing it); a rerun drops it, as this listing does"]],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      let state: RepairState | undefined
      let torn = false
      yield* readJournalRecords(shown, fileBytes(ctx.resolve(shown), shown)).pipe(
        Stream.mapError((e) => (e instanceof InvalidInput ? new InvalidInput({ ...e, format: "repair" }) : e)),
        Stream.runForEach((entry) =>
          Effect.gen(function* () {
            if (entry._tag === "TornTail") {
              torn = true
              ctx.io.stdout(JSON.stringify({ type: "tornTail", line: entry.line, offset: entry.offset, reason: entry.reason }) + "\n")
              return
            }
            const event = decodeRepairEntry(shown, entry)
            if (event instanceof InvalidInput) return yield* Effect.fail(event)
            state = yield* Effect.try({ try: () => applyRepairEvent(shown, state, { ...event, line: entry.line ?? 0 }, entry.end ?? 0), catch: (e) => e as InvalidInput })
            const { _tag, ...fields } = event
            ctx.io.stdout(JSON.stringify({ type: "record", line: entry.line, time: entry.time, record: _tag, ...fields }) + "\n")
          }),
        ),
      )
      const s = state
      ctx.io.stdout(
        JSON.stringify({
          type: "state",
          records: s !== undefined,
          ...(s !== undefined
            ? {
                kind: s.started.kind,
                copyLog: s.started.copyLog,
                copyLogHash: s.started.copyLogHash,
                driveId: s.started.driveId,
                ...(s.started.manifestHash !== undefined ? { manifest: s.started.manifest, manifestHash: s.started.manifestHash } : {}),
                pass: s.pass,
                passCompleted: s.passCompleted,
                finished: s.finished,
                cursor: s.cursor,
                inProgress: s.inProgress === undefined ? null : { blob: s.inProgress.blob, blobPath: s.inProgress.blobPath, offsets: [...s.inProgress.offsets].sort((a, b) => a - b) },
                repaired: s.repaired,
                unresolved: [...s.unresolved].sort((a, b) => a - b),
                retry: s.retry === undefined ? null : [...s.retry].sort((a, b) => a - b),
                next: s.finished ? "nothing: the repair is finished" : s.passCompleted ? `pass ${s.pass + 1} retries the unresolved blobs` : `pass ${s.pass} continues after blob ${s.cursor}`,
              }
            : {}),
          tornTail: torn,
        }) + "\n",
      )
      return torn ? 4 : ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
