/**
 * A manifest check's report for people and for JSON lines: the verdict, what the manifest holds,
 * and its hash (the issues themselves are printed like every issue of waie, by the caller).
 */
import type { ManifestReport } from "./manifest-check.ts"

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")
const count = (n: number, one: string, many = `${one}s`): string => `${grouped(n)} ${n === 1 ? one : many}`

/** The report's verdict and figures: a JSON object (`type` added by the caller) and the same for a person. */
export const reportSummary = (file: string, r: ManifestReport): { data: Record<string, unknown>; human: string } => {
  const data: Record<string, unknown> = {
    file,
    valid: r.ok,
    purpose: r.purpose,
    complete: r.complete,
    ...(r.stoppedAt !== undefined ? { stoppedAt: r.stoppedAt } : {}),
    errors: r.errors,
    warnings: r.warnings,
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.driveId !== undefined ? { driveId: r.driveId } : {}),
    credential: r.credential,
    ...r.stats,
    hash: r.hash,
    fileBytes: r.fileBytes,
  }
  const verdict = r.ok
    ? `${file}: valid ${r.purpose} manifest${r.warnings ? ` (${count(r.warnings, "warning")})` : ""}`
    : `${file}: invalid ${r.purpose} manifest (${count(r.errors, "error")}${r.warnings ? `, ${count(r.warnings, "warning")}` : ""})`
  const lines = [verdict]
  if (!r.complete) lines.push(`  reading stopped${r.stoppedAt !== undefined ? ` at line ${r.stoppedAt}` : ""}: the rest of the file was not checked`)
  lines.push(
    `  version     ${r.version ?? "(none)"}`,
    `  drive id    ${r.driveId ?? "(none)"}`,
    `  credential  ${r.credential === "none" ? "none" : `${r.credential} (value not shown)`}`,
    `  contents    ${count(r.stats.blobLists, "blob list")}, ${count(r.stats.blobs, "blob")}, ${count(r.stats.blocks, "block")}, ${count(r.stats.pageRanges, "page range")}, ${count(r.stats.bytes, "byte")} of data${r.complete ? "" : " (in the part read)"}`,
    `  hash        ${r.hash} (MD5 of the file's ${count(r.fileBytes, "byte")}: its ManifestHash)`,
  )
  return { data, human: lines.join("\n") + "\n" }
}
