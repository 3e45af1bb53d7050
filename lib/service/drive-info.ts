/**
 * Reading a drive's job file, `<DriveId>.xml` (what PrepImport writes beside the journal and the
 * portal takes for each drive; lib/job-file.ts writes it):
 *
 *   <Drive><DriveId>…</DriveId><BitLockerKey>…</BitLockerKey><ManifestFile>\DriveManifest.xml</ManifestFile><ManifestHash>…</ManifestHash></Drive>
 *
 * The import executor takes from it where the manifest is (`ManifestFile`) and the MD5 the
 * manifest must have (`ManifestHash`; empty means "no manifest yet", which the executor treats as
 * no hash to check). Every element is required once; an unknown element is an error. The
 * BitLocker key is kept out of every message and kept only as a Redacted value.
 */
import { Effect, Redacted } from "effect"
import type { FileSystem } from "@effect/platform"
import { type Issue, InvalidInput, showValue, type FileUnreadable } from "../errors.ts"
import { readWhole } from "../files.ts"
import { isMd5Hex, normaliseHex } from "../hash.ts"
import { XmlSyntaxError, XmlTokenizer } from "../xml.ts"

export interface DriveInfo {
  readonly driveId: string
  readonly bitLockerKey: Redacted.Redacted<string>
  /** as written: `\DriveManifest.xml` */
  readonly manifestFile: string
  /** upper-case Base16 MD5, or undefined when the file gives none (an empty element) */
  readonly manifestHash: string | undefined
  /** the file, as the user named it */
  readonly file: string
}

const fields = ["DriveId", "BitLockerKey", "ManifestFile", "ManifestHash"] as const
type Field = (typeof fields)[number]

/** Parse the text of a job file; `file` names it in issues. */
export const parseDriveInfo = (bytes: Uint8Array, file: string): DriveInfo | InvalidInput => {
  const issues: Array<Issue> = []
  const values = new Map<Field, string>()
  const tokenizer = new XmlTokenizer()
  let depth = 0
  let root = false
  const add = (line: number | undefined, column: number | undefined, field: string | undefined, expected: string, found: string) =>
    issues.push({ file, ...(line !== undefined ? { line } : {}), ...(line !== undefined && column !== undefined ? { column } : {}), ...(field !== undefined ? { field } : {}), expected, found })
  try {
    for (const t of [...tokenizer.write(bytes), ...tokenizer.end()]) {
      if (t.kind === "open") {
        depth++
        if (depth === 1) {
          if (t.name !== "Drive") add(t.line, t.column, undefined, "a <Drive> root element (a drive's job file, <DriveId>.xml)", `<${t.name}>`)
          else root = true
        } else if (depth === 2 && root && !(fields as ReadonlyArray<string>).includes(t.name)) {
          add(t.line, t.column, `Drive/${t.name}`, `only ${fields.join(", ")} in <Drive>`, `<${t.name}>`)
        } else if (depth > 2 && root) add(t.line, t.column, t.name, "text only inside the elements of <Drive>", `an element <${t.name}>`)
        continue
      }
      depth--
      if (depth !== 1 || !root || !(fields as ReadonlyArray<string>).includes(t.name)) continue
      const name = t.name as Field
      if (values.has(name)) add(t.line, t.column, `Drive/${name}`, `one ${name}`, "a second one")
      else values.set(name, name === "BitLockerKey" ? t.text : t.text.trim())
    }
  } catch (e) {
    if (!(e instanceof XmlSyntaxError)) throw e
    add(e.line, e.column, undefined, e.expected, e.found)
    return new InvalidInput({ format: "driveinfo", file, issues })
  }
  if (root) {
    for (const f of fields) if (!values.has(f)) add(undefined, undefined, `Drive/${f}`, `a <${f}> in <Drive>`, "none")
  }
  const driveId = values.get("DriveId")
  if (driveId === "") add(undefined, undefined, "Drive/DriveId", "the drive's id", "an empty value")
  const manifestFile = values.get("ManifestFile")
  if (manifestFile === "") add(undefined, undefined, "Drive/ManifestFile", "the manifest's path on the drive (\\DriveManifest.xml)", "an empty value")
  const hash = values.get("ManifestHash")
  if (hash !== undefined && hash !== "" && !isMd5Hex(hash)) add(undefined, undefined, "Drive/ManifestHash", "32 hex digits (the MD5 of the manifest) or nothing", showValue(hash))
  if (issues.length > 0 || driveId === undefined || manifestFile === undefined) return new InvalidInput({ format: "driveinfo", file, issues })
  return {
    driveId,
    bitLockerKey: Redacted.make(values.get("BitLockerKey") ?? ""),
    manifestFile,
    manifestHash: hash === undefined || hash === "" ? undefined : normaliseHex(hash),
    file,
  }
}

/** Read and parse a job file. */
export const readDriveInfo = (real: string, shown: string = real): Effect.Effect<DriveInfo, InvalidInput | FileUnreadable, FileSystem.FileSystem> =>
  readWhole(real, shown).pipe(
    Effect.flatMap((bytes) => {
      const r = parseDriveInfo(bytes, shown)
      return r instanceof InvalidInput ? Effect.fail(r) : Effect.succeed(r)
    }),
  )
