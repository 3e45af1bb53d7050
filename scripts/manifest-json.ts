#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie manifest json FILE`: a drive manifest as JSON lines (drive, blob lists, blobs), the credential masked. */
import { Effect, Stream } from "effect"
import { type CommandSpec, makeOutput, reportFailure, runIfMain } from "../lib/cli.ts"
import { fileBytes } from "../lib/files.ts"
import { ManifestJsonLines } from "../lib/manifest-json.ts"
import { readManifest } from "../lib/manifest-reader.ts"

export const command: CommandSpec = {
  path: ["manifest", "json"],
  summary: "print a drive manifest as JSON lines, one per drive, blob list and blob (credential masked)",
  options: [],
  args: [{ name: "file", description: "the manifest file" }],
  run: (parsed, ctx) => {
    const shown = parsed.args[0]!
    const lines = new ManifestJsonLines()
    return readManifest(shown, fileBytes(ctx.resolve(shown), shown)).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.sync(() => {
          let text = ""
          for (const e of chunk) text += lines.event(e)
          if (text !== "") ctx.io.stdout(text)
        }),
      ),
      Effect.as(0),
      // always JSON, problems included (with or without --json)
      Effect.catchAll((e) => Effect.succeed(reportFailure(makeOutput(ctx.io, true), ctx.io, e))),
    )
  },
}

runIfMain(import.meta, command)
