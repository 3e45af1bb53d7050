/**
 * A plan for people and for JSON lines, and the program `waie plan` and `waie PrepImport
 * --dry-run` both run. JSON lines, in this order:
 *
 *   {"type":"planFile",…}      with --files: each file, its drive (absent: fits nowhere) and FilePath
 *   {"type":"planDrive",…}     each drive: free now, free as PrepImport will measure it, files, bytes, left, problems
 *   {"type":"planUnplaced",…}  each file that fits on no drive (the first 1,000)
 *   {"type":"issue",…}         each problem of the dataset and its sources (warnings too)
 *   {"type":"planProblem",…}   each reason PrepImport would refuse the session or a drive
 *   {"type":"planEstimate",…}  the time estimate and how it was measured
 *   {"type":"plan",…}          the summary and the outcome
 */
import { Effect, Layer } from "effect"
import type { Context } from "./cli.ts"
import { ExitCode, formatIssue } from "./errors.ts"
import { HashPoolLive } from "./hashpool.ts"
import { plural } from "./output.ts"
import { type PlannedFile, type PlanRequest, type PlanResult, planSession } from "./plan.ts"
import { humanBytes, humanDuration } from "./progress.ts"
import { VolumesLive } from "./volumes.ts"

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")

/** The exit code of a plan: what PrepImport would exit with. */
export const planExitCode = (r: PlanResult): number => (r.outcome === "refused" ? ExitCode.Invalid : r.outcome === "interrupted" ? 5 : ExitCode.Ok)

const estimateWords = (r: PlanResult): string | undefined => {
  const e = r.estimate
  if (e === undefined) return undefined
  const rate = Number.isFinite(e.bytesPerSecond) ? `${humanBytes(e.bytesPerSecond)}/s` : "too fast to measure"
  return (
    `about ${humanDuration(e.seconds)} to read and hash ${humanBytes(r.bytes)} (${plural(r.files, "file")}); ` +
    `measured: ${plural(e.sampleFiles, "sample file")}, ${humanBytes(e.sampleBytes)} read and hashed in ${e.sampleSeconds.toFixed(2)} s (${rate}, ${(e.secondsPerFile * 1000).toFixed(2)} ms per file); ` +
    "not measured: writing and syncing on the drives (a plan writes nothing), and cold reads (files read lately come from the page cache)"
  )
}

/** Print a plan (the per-file lines are printed as they come, by `onFile`). */
export const printPlan = (ctx: Context, r: PlanResult): void => {
  const out = ctx.out
  for (const d of r.drives) {
    const data = {
      drive: d.name,
      root: d.root,
      known: d.known,
      format: d.format,
      ...(d.freeNow !== undefined ? { freeNow: d.freeNow } : {}),
      freeBytes: d.freeBytes,
      ...(d.erases ? { erases: d.erases } : {}),
      files: d.files,
      bytes: d.bytes,
      footprint: d.footprint,
      freeLeft: d.freeLeft,
      problems: d.problems,
    }
    const name = d.root !== "" && d.root !== d.name ? `${d.name} (${d.root})` : d.name
    const free = d.freeNow === undefined ? "free space unknown" : `${grouped(d.freeBytes)} bytes free for PrepImport (${grouped(d.freeNow)} now${d.erases ? `; Format erases ${plural(d.erases.entries, "entry", "entries")}, ${grouped(d.erases.bytes)} bytes` : ""})`
    out.event("planDrive", data, `  ${name.endsWith(":") ? name : `${name}:`}${d.known ? " (the journal's drive)" : ""} ${plural(d.files, "file")}, ${grouped(d.bytes)} bytes; ${free}; ${grouped(Math.max(0, d.freeLeft))} bytes left after the copy`)
  }
  if (r.unplaced.files > 0) {
    if (!out.json) ctx.io.stdout(`fits on no drive: ${plural(r.unplaced.files, "file")}, ${grouped(r.unplaced.bytes)} bytes\n`)
    for (const u of r.unplaced.listed) out.event("planUnplaced", { source: u.source, length: u.length }, `  ${u.source} (${grouped(u.length)} bytes)`)
    if (r.unplaced.files > r.unplaced.listed.length && !out.json) ctx.io.stdout(`  … and ${r.unplaced.files - r.unplaced.listed.length} more\n`)
  }
  const driveProblems = r.drives.flatMap((d) => d.problems.map((p) => ({ drive: d.name, message: p })))
  if (!out.json && (r.issues.length > 0 || driveProblems.length > 0 || r.sessionProblems.length > 0)) ctx.io.stdout(r.errors > 0 ? "problems (PrepImport would refuse the session):\n" : "warnings:\n")
  for (const issue of r.issues) {
    if (out.json) ctx.io.stdout(JSON.stringify({ type: "issue", format: "dataset", ...issue, message: formatIssue(issue) }) + "\n")
    else ctx.io.stdout(`  ${formatIssue(issue)}\n`)
  }
  if (r.omittedIssues > 0 && !out.json) ctx.io.stdout(`  … and ${r.omittedIssues} more\n`)
  for (const p of driveProblems) out.event("planProblem", p, `  ${p.message}`)
  for (const p of r.sessionProblems) out.event("planProblem", { message: p }, `  ${p}`)
  for (const n of r.notes) out.note(n)
  const words = estimateWords(r)
  if (r.estimate && words) out.event("planEstimate", { ...r.estimate, bytesPerSecond: Number.isFinite(r.estimate.bytesPerSecond) ? r.estimate.bytesPerSecond : null, method: "read and MD5 (hash pool) of a sample of the sources: the largest file and up to 15 drawn at random, at most 8 MiB each, 64 MiB in all; time = files × perFile + bytes / rate, fitted to the sample" }, `estimate: ${words}`)
  const outcome =
    r.outcome === "complete"
      ? "PrepImport would copy everything"
      : r.outcome === "interrupted"
        ? `PrepImport would stop the session as interrupted (exit 5): ${plural(r.unplaced.files, "file")} fit${r.unplaced.files === 1 ? "s" : ""} on no drive; add drives with /AdditionalDriveSet`
        : `PrepImport would refuse the session (exit 1): ${plural(r.errors, "problem")}`
  out.event(
    "plan",
    {
      dataSet: r.dataSet,
      ...(r.sessionId !== undefined ? { sessionId: r.sessionId } : {}),
      files: r.files,
      bytes: r.bytes,
      drives: r.drives.length,
      placedFiles: r.files - r.unplaced.files,
      placedBytes: r.bytes - r.unplaced.bytes,
      unplacedFiles: r.unplaced.files,
      unplacedBytes: r.unplaced.bytes,
      errors: r.errors,
      outcome: r.outcome,
      exitCode: planExitCode(r),
    },
    outcome,
  )
}

export interface RunPlanOptions {
  readonly files: boolean
  readonly estimate: boolean
}

/** The program of `waie plan` and `waie PrepImport --dry-run`: plan, print, exit as PrepImport would. */
export const runPlan = (req: PlanRequest, ctx: Context, o: RunPlanOptions) =>
  Effect.gen(function* () {
    // the heading comes before the first line of the plan (not before a usage error)
    let headed = ctx.out.json
    const heading = () => {
      if (headed) return
      headed = true
      const drives = req.initialDriveSet ?? req.additionalDriveSet
      ctx.io.stdout(`plan${req.sessionId !== undefined ? ` of session ${req.sessionId}` : ""}: ${req.dataSet?.shown ?? "?"}${drives ? ` onto the drives of ${drives.shown}` : ""}${req.journal ? ` (journal ${req.journal.shown})` : ""}\n`)
    }
    const onFile = o.files
      ? (f: PlannedFile) => {
          heading()
          ctx.out.event("planFile", { ...f }, `  ${f.source} → ${f.drive ?? "no drive"}${f.filePath !== undefined ? ` ${f.filePath}` : ""} (${grouped(f.length)} bytes)`)
        }
      : undefined
    const result = yield* planSession(req, { estimate: o.estimate, ...(onFile ? { onFile } : {}) }).pipe(Effect.provide(Layer.mergeAll(VolumesLive, HashPoolLive())))
    heading()
    printPlan(ctx, result)
    return planExitCode(result)
  })
