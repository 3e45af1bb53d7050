#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie copylog check FILE`: is the copy log valid, what is the drive's status, which blobs failed and how. */
import { Effect, Stream } from "effect"
import type { CommandSpec } from "../lib/cli.ts"
import { runIfMain } from "../lib/cli.ts"
import { CopyLogTally, describeFailureSummary, type FailedBlob, FailedBlobFinder, readCopyLogFile, statusMeaning } from "../lib/copylog.ts"
import { ExitCode } from "../lib/errors.ts"
import { plural } from "../lib/output.ts"

/** Failed blobs listed in human output; JSON lists them all. */
const maxListed = 1000

const counts = (r: Readonly<Record<string, number>>): string =>
  Object.entries(r)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ")

export const command: CommandSpec = {
  path: ["copylog", "check"],
  summary: "check a copy log (DriveLog): the drive's status, counts per status, each failed blob with what failed",
  args: [{ name: "file", description: "the copy log: an error log or a verbose log of one drive" }],
  options: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const tally = new CopyLogTally()
      const finder = new FailedBlobFinder()
      const listed: Array<FailedBlob> = []
      let failed = 0
      yield* readCopyLogFile(ctx.resolve(shown), shown).pipe(
        Stream.runForEach((e) =>
          Effect.sync(() => {
            tally.add(e)
            const f = finder.push(e)
            if (f === undefined) return
            failed++
            if (ctx.out.json) ctx.out.event("failedBlob", { ...f.blob, failures: f.failures, description: describeFailureSummary(f.failures) })
            else if (listed.length < maxListed) listed.push(f)
          }),
        ),
      )
      const s = tally.summary()
      if (ctx.out.json) {
        ctx.out.event("summary", { file: shown, valid: true, ...s })
        return ExitCode.Ok
      }
      const lines: Array<string> = []
      lines.push(`${shown}: valid copy log${s.version !== undefined ? ` (Version ${s.version})` : " (no Version attribute)"} of drive ${s.driveId ?? "?"}`)
      lines.push(`drive status: ${s.driveStatus} (${statusMeaning[s.driveStatus ?? ""] ?? "?"})`)
      lines.push(`blobs: ${s.blobs}${s.blobs > 0 ? ` (${plural(s.bytes, "byte")}): ${counts(s.blobStatus)}` : ""}`)
      if (Object.keys(s.dispositionStatus).length) lines.push(`import dispositions: ${counts(s.dispositionStatus)}`)
      if (s.blocks > 0 || s.pageRanges > 0) {
        const what = [s.blocks > 0 ? plural(s.blocks, "block") : "", s.pageRanges > 0 ? plural(s.pageRanges, "page range") : ""].filter((x) => x).join(" and ")
        lines.push(`ranges: ${what}: ${counts(s.rangeStatus)}`)
      }
      if (Object.keys(s.metadataStatus).length) lines.push(`metadata: ${counts(s.metadataStatus)}`)
      if (Object.keys(s.propertiesStatus).length) lines.push(`properties: ${counts(s.propertiesStatus)}`)
      if (failed === 0) lines.push("failed blobs: none")
      else {
        lines.push(`failed blobs: ${failed}${s.failedRanges > 0 ? ` (${plural(s.failedRanges, "range")} not completed, ${plural(s.failedRangeBytes, "byte")})` : ""}`)
        for (const f of listed) lines.push(`  ${f.blob.blobPath} (file ${f.blob.filePath}): ${describeFailureSummary(f.failures)}`)
        if (failed > listed.length) lines.push(`  … and ${failed - listed.length} more (--json lists them all)`)
      }
      ctx.io.stdout(lines.join("\n") + "\n")
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
