#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie verify DRIVE [--journal J] [--since-journal]`: re-read every file a drive's manifest
 * lists and check every block and page range, the metadata and properties files, the manifest's
 * rules and, with the journal, its ManifestHash and the drive's identity. Each problem is a line
 * (`{"type":"problem",…}` with --json: kind, file, offset, length, expected, found); exit 1 if any.
 */
import { Effect, Layer } from "effect"
import { type CommandSpec, flag, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { PromptLive } from "../lib/drive.ts"
import { ExitCode, formatIssue, InvalidArgument, UsageError } from "../lib/errors.ts"
import { HashPoolLive } from "../lib/hashpool.ts"
import { plural } from "../lib/output.ts"
import { makeMountMap, type MountEntry, parseMount } from "../lib/paths.ts"
import { formatProblem, type Given, type VerifyOptions, type VerifyProblem, type VerifyResult, verifyDrive, verifySinceJournal } from "../lib/verify.ts"
import { VolumesLive } from "../lib/volumes.ts"

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")
const count = (n: number, one: string, many = `${one}s`): string => `${grouped(n)} ${n === 1 ? one : many}`

export const command: CommandSpec = {
  path: ["verify"],
  summary: "check a prepared drive against its manifest: every block, page range, metadata file, the manifest's rules and hash",
  args: [{ name: "drive", description: "the drive's folder (or its letter with --mount L=/path)" }],
  options: [
    { name: "journal", aliases: ["j"], takes: "value", placeholder: "FILE.jrn", description: "the journal that prepared the drive: check the ManifestHash it and the job file recorded, and the drive's identity" },
    { name: "since-journal", takes: "flag", description: "check only the files the journal records as written since this drive's last verify, and record this one when it finds nothing wrong (needs --journal)" },
    { name: "manifest", takes: "value", placeholder: "FILE", description: "the manifest to check the drive against (default: DriveManifest.xml in the drive's folder)" },
    { name: "mount", takes: "values", placeholder: "L=/path", description: "where a drive letter is on this host (repeatable)" },
    { name: "max-problems", takes: "value", placeholder: "N", description: "problems listed (the others are counted; default 1000)" },
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const drive = parsed.args[0]!
      const entries: Array<MountEntry> = []
      for (const m of optionValues(parsed, "mount")) {
        const e = parseMount(m)
        if ("expected" in e) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: e.expected, found: e.found }))
        entries.push(e)
      }
      const mounts = makeMountMap(entries, ctx.resolve)
      if ("expected" in mounts) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: mounts.expected, found: mounts.found }))
      const letter = /^([A-Za-z]):$/.exec(drive)?.[1]?.toUpperCase()
      const mapped = letter === undefined ? undefined : mounts.drives.get(letter)
      if (letter !== undefined && mapped === undefined && process.platform !== "win32") {
        return yield* Effect.fail(new UsageError({ command: "verify", message: `drive ${letter}: has no --mount mapping; add --mount ${letter}=/path (or give the drive's folder)` }))
      }
      const root: Given = { real: mapped !== undefined ? ctx.resolve(mapped) : ctx.resolve(letter !== undefined ? `${letter}:\\` : drive), shown: drive }
      const given = (name: string): Given | undefined => {
        const v = optionValue(parsed, name)
        return v === undefined ? undefined : { real: ctx.resolve(v), shown: v }
      }
      const journal = given("journal")
      const manifest = given("manifest")
      const since = flag(parsed, "since-journal")
      if (since && journal === undefined) return yield* Effect.fail(new UsageError({ command: "verify", message: "--since-journal needs --journal (the journal says what was written since the last verify)" }))
      const maxText = optionValue(parsed, "max-problems")
      const maxProblems = maxText === undefined ? 1000 : Number(maxText)
      if (!Number.isSafeInteger(maxProblems) || maxProblems < 0) return yield* Effect.fail(new InvalidArgument({ argument: "--max-problems", expected: "a whole number ≥ 0", found: JSON.stringify(maxText) }))

      const onProblem = (p: VerifyProblem) => ctx.out.event("problem", { ...p }, formatProblem(p))
      const options: VerifyOptions = { root, ...(manifest ? { manifest } : {}), ...(journal ? { journal } : {}), maxProblems, onProblem }
      const layers = Layer.mergeAll(HashPoolLive(), VolumesLive, PromptLive)
      const outcome = since ? yield* verifySinceJournal({ ...options, journal: journal! }).pipe(Effect.provide(layers)) : { result: (yield* verifyDrive(options).pipe(Effect.provide(layers))).result }
      const r: VerifyResult = outcome.result
      for (const issue of r.manifest.issues) {
        if (ctx.out.json) ctx.io.stdout(JSON.stringify({ type: "issue", format: "manifest", ...issue, message: formatIssue(issue) }) + "\n")
        else ctx.io.stdout(formatIssue(issue) + "\n")
      }
      const recorded = "recorded" in outcome ? outcome.recorded : undefined
      const notRecorded = "notRecorded" in outcome ? outcome.notRecorded : undefined
      const m = r.manifest
      const data: Record<string, unknown> = {
        drive,
        manifest: r.manifestFile,
        ok: r.ok,
        ...(r.driveId !== undefined ? { driveId: r.driveId } : {}),
        manifestHash: m.hash,
        manifestBytes: m.fileBytes,
        manifestComplete: m.complete,
        manifestErrors: m.errors,
        manifestWarnings: m.warnings,
        blobs: r.blobs,
        checkedBlobs: r.checkedBlobs,
        bytes: r.bytes,
        blocks: r.blocks,
        pageRanges: r.pageRanges,
        sideFiles: r.sideFiles,
        problems: r.problems,
        omitted: r.omitted,
        ...(r.since !== undefined ? { since: r.since } : {}),
        ...(recorded !== undefined ? { recordedUpTo: recorded } : {}),
      }
      const what = `${count(r.checkedBlobs, "blob")}${r.checkedBlobs !== r.blobs ? ` of ${grouped(r.blobs)} (written since the last verify)` : ""}, ${grouped(r.bytes)} bytes, ${count(r.blocks, "block")}, ${count(r.pageRanges, "page range")}, ${count(r.sideFiles, "metadata/properties file")}`
      const manifestWords = m.ok ? (m.warnings > 0 ? `valid (${plural(m.warnings, "warning")})` : "valid") : `invalid (${plural(m.errors, "error")})`
      const human = [
        `${drive}: ${r.ok ? "verified, nothing wrong" : `${count(r.problems + m.errors, "problem")} found`}${m.complete ? "" : " (the manifest could not be read to its end: the blobs after the place it stops were not checked)"}`,
        `  checked   ${what}`,
        `  manifest  ${r.manifestFile}: ${manifestWords}, MD5 ${m.hash} (its ManifestHash)${r.driveId !== undefined ? `, DriveId ${r.driveId}` : ""}`,
        ...(r.omitted > 0 ? [`  ${count(r.omitted, "more problem")} not listed (--max-problems)`] : []),
      ].join("\n")
      ctx.out.event("verify", data, human)
      if (recorded !== undefined) ctx.out.note(`recorded in ${journal!.shown}: drive ${r.driveId} verified up to byte ${recorded} of the journal`, { recordedUpTo: recorded })
      if (notRecorded !== undefined) ctx.out.note(`not recorded: ${notRecorded}`)
      return r.ok ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
