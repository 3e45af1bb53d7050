#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie copylog json FILE`: a copy log as JSON lines: the drive, each blob with its ranges, a summary. */
import { Effect, Stream } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { runIfMain } from "../lib/cli.ts"
import { blobJson, CopyLogGrouper, CopyLogTally, readCopyLogFile } from "../lib/copylog.ts"
import { ExitCode } from "../lib/errors.ts"

export const command: CommandSpec = {
  path: ["copylog", "json"],
  summary: "print a copy log (DriveLog) as JSON lines: the drive, each blob with its blocks or page ranges, a summary",
  args: [{ name: "file", description: "the copy log: an error log or a verbose log of one drive" }],
  options: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      // the same JSON lines with or without --json: this command's output is JSON by nature
      const line = (type: string, data: Record<string, unknown>) => ctx.out.event(type, data, JSON.stringify({ type, ...data }))
      const grouper = new CopyLogGrouper()
      const tally = new CopyLogTally()
      yield* readCopyLogFile(ctx.resolve(shown), shown).pipe(
        Stream.runForEach((e) =>
          Effect.sync(() => {
            tally.add(e)
            for (const g of grouper.push(e)) {
              if (g._tag === "Drive") line("drive", { file: shown, ...(g.version !== undefined ? { version: g.version } : {}), driveId: g.driveId })
              else if (g._tag === "Blob") line("blob", blobJson(g))
            }
          }),
        ),
      )
      const { version: _v, driveId: _d, ...summary } = tally.summary()
      line("summary", summary)
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
