#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie journal json FILE`: the records of a `.jrn` journal as JSON lines (credentials masked). */
import { Effect, Stream } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { runIfMain } from "../lib/cli.ts"
import { ExitCode } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { readJournalRecords } from "../lib/journal-records.ts"
import { maskSecretElements, shownValue } from "../lib/secrets.ts"

export const command: CommandSpec = {
  path: ["journal", "json"],
  summary: "print the records of a .jrn journal as JSON lines (credentials masked)",
  args: [{ name: "file", description: "the journal file (.jrn)" }],
  options: [],
  exitCodes: [[4, "the journal ends in a torn record (a crash while writing it); the intact records are printed"]],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      let records = 0
      let torn = false
      yield* readJournalRecords(shown, fileBytes(ctx.resolve(shown), shown)).pipe(
        Stream.runForEach((entry) =>
          Effect.sync(() => {
            if (entry._tag === "TornTail") {
              torn = true
              ctx.io.stdout(JSON.stringify({ type: "tornTail", file: shown, line: entry.line, reason: entry.reason }) + "\n")
              return
            }
            records++
            const fields = entry.fields.map(([k, v]) => [k, maskSecretElements(shownValue(k, v))])
            ctx.io.stdout(JSON.stringify({ type: "record", line: entry.line, time: entry.time, recordType: entry.type, checksum: entry.checked === true, fields }) + "\n")
          }),
        ),
      )
      ctx.io.stdout(JSON.stringify({ type: "summary", records, tornTail: torn }) + "\n")
      return torn ? 4 : ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
