/**
 * The path map file of RepairImport (`/PathMapFile:`): which local file holds the data of a
 * FilePath that the repair could not resolve under its `/d:` folders.
 *
 * The reference says only "tab-delimited": the first run writes every unresolved FilePath with
 * an empty target, the user fills in the targets, and a rerun uses them. waie's rules where it
 * is silent:
 *
 *   - UTF-8; a byte-order mark is accepted (Notepad writes one) and not written.
 *   - One entry per line: the FilePath exactly as the copy log gives it (`\animals\koala.jpg`),
 *     one TAB, the target: empty, or an absolute local path (`/mnt/old/koala.jpg`, `D:\koala.jpg`).
 *   - Lines end with LF (written) or CRLF (accepted, as editors on Windows save them).
 *   - Blank lines are ignored, so are lines starting with `#` (waie writes one heading line
 *     saying what to do: the file explains itself to the user who has to edit it).
 *   - A FilePath appears once; a FilePath starts with `\`; a target is absolute. Anything else is
 *     an error naming the line, and nothing is repaired.
 *
 * A target may hold any character but TAB, CR and LF (FilePaths come from a copy log and cannot
 * hold them either).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import * as path from "node:path"
import { InvalidInput, type Issue, showValue } from "./errors.ts"
import { unreadable } from "./files.ts"
import type { FileUnreadable, FileUnwritable } from "./errors.ts"
import { writeFileDurably } from "./durable.ts"

export interface PathMapEntry {
  /** the FilePath of the copy log, relative to the original drive's root */
  readonly filePath: string
  /** the local file holding its data, or undefined while the user has not filled it in */
  readonly target: string | undefined
  /** 1-based line of the entry (reader only) */
  readonly line?: number
}

/** The heading line waie writes: what the file is and how to fill it in. */
export const pathMapHeading = "# waie path map: for each FilePath below, type the full path of the file that holds its data after the TAB, then run RepairImport again with the same /PathMapFile."

const isAbsoluteTarget = (t: string): boolean => path.posix.isAbsolute(t) || path.win32.isAbsolute(t)

const forbidden = /[\t\r\n]/

/** The text of a path map file, one entry per line, in the order given. */
export const serializePathMap = (entries: Iterable<PathMapEntry>): string => {
  let out = pathMapHeading + "\n"
  for (const e of entries) {
    if (forbidden.test(e.filePath) || (e.target !== undefined && forbidden.test(e.target))) {
      throw new RangeError(`a path map entry cannot hold a TAB, CR or LF: ${JSON.stringify(e.filePath)}`)
    }
    out += `${e.filePath}\t${e.target ?? ""}\n`
  }
  return out
}

/** All entries of a path map file, or InvalidInput listing every bad line. */
export const parsePathMap = (text: string, file: string): Array<PathMapEntry> | InvalidInput => {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text
  const lines = body.split("\n")
  if (lines.at(-1) === "") lines.pop()
  const entries: Array<PathMapEntry> = []
  const issues: Array<Issue> = []
  const seen = new Map<string, number>()
  lines.forEach((raw, i) => {
    const line = i + 1
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (content.trim() === "" || content.startsWith("#")) return
    if (content.includes("\r")) return void issues.push({ file, line, expected: "lines ending with LF or CRLF", found: "a CR inside the line" })
    const tab = content.indexOf("\t")
    if (tab === -1) return void issues.push({ file, line, expected: "a FilePath, a TAB and a target (empty or an absolute path)", found: `no TAB in ${showValue(content)}` })
    const filePath = content.slice(0, tab)
    const target = content.slice(tab + 1)
    if (!filePath.startsWith("\\")) return void issues.push({ file, line, column: 1, field: "FilePath", expected: "a FilePath of the copy log, starting with \\", found: showValue(filePath) })
    if (target.includes("\t")) return void issues.push({ file, line, column: tab + 2, field: "target", expected: "one TAB between the FilePath and the target", found: "a second TAB" })
    if (target !== "" && !isAbsoluteTarget(target)) return void issues.push({ file, line, column: tab + 2, field: "target", expected: "an absolute path (or nothing)", found: showValue(target) })
    const first = seen.get(filePath)
    if (first !== undefined) return void issues.push({ file, line, column: 1, field: "FilePath", expected: `each FilePath once (line ${first} has it already)`, found: showValue(filePath) })
    seen.set(filePath, line)
    entries.push({ filePath, target: target === "" ? undefined : target, line })
  })
  return issues.length > 0 ? new InvalidInput({ format: "pathmap", file, issues }) : entries
}

/** Read a path map file; a file that does not exist is an empty map (the first run creates it). */
export const readPathMapFile = (real: string, shown: string = real): Effect.Effect<Array<PathMapEntry>, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(real).pipe(Effect.mapError(unreadable(shown)))
    if (!exists) return []
    const text = yield* fs.readFileString(real, "utf-8").pipe(Effect.mapError(unreadable(shown)))
    const parsed = parsePathMap(text, shown)
    return parsed instanceof InvalidInput ? yield* Effect.fail(parsed) : parsed
  })

/** Replace a path map file durably (temp, fsync, rename): an edit in progress is never half-overwritten. */
export const writePathMapFile = (real: string, entries: Iterable<PathMapEntry>): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.suspend(() => writeFileDurably(real, new TextEncoder().encode(serializePathMap(entries)), 0o644))
