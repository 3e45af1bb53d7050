/**
 * What the commands print the same way: the issues of a file they read, a count with its noun,
 * the closing verdict of a check. (lib/cli.ts has the output machinery; this is the wording.)
 */
import type { Context } from "./cli.ts"
import { formatIssue, type InputFormat, type Issue } from "./errors.ts"

/** `1 row`, `2 rows`; `plural(n, "directory", "directories")`. */
export const plural = (n: number, one: string, many: string = one + "s"): string => `${n} ${n === 1 ? one : many}`

/**
 * The issues of a file read by a command: with `--json`, an `{"type":"issue","format":…}` line each
 * on stdout (as a failure's issues are); otherwise `FILE:LINE:COLUMN: …` lines on stderr.
 */
export const printIssues = (ctx: Context, format: InputFormat, issues: Iterable<Issue>): void => {
  for (const issue of issues) {
    if (ctx.out.json) ctx.out.event("issue", { format, ...issue, message: formatIssue(issue) })
    else ctx.io.stderr(formatIssue(issue) + "\n")
  }
}

/** `FILE: valid, WHAT` or `FILE: invalid, N errors`, then `, N warnings` and ` (N not listed)` when there are any. */
export const verdict = (shown: string, counts: { readonly errors: number; readonly warnings: number; readonly omitted: number }, valid: string): string => {
  let text = counts.errors === 0 ? `${shown}: valid, ${valid}` : `${shown}: invalid, ${plural(counts.errors, "error")}`
  if (counts.warnings > 0) text += `, ${plural(counts.warnings, "warning")}`
  if (counts.omitted > 0) text += ` (${counts.omitted} not listed)`
  return text
}
