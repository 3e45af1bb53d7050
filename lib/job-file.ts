/**
 * The job file of a drive, `<DriveId>.xml`: what the Azure portal (or `az import-export
 * --drive-list`) takes for each drive of an import job. PrepImport writes it beside the journal
 * when a drive joins a session (ManifestHash empty: there is no manifest yet) and again each time
 * it writes the drive's manifest:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <Drive>
 *     <DriveId>…</DriveId>
 *     <BitLockerKey>…</BitLockerKey>
 *     <ManifestFile>\DriveManifest.xml</ManifestFile>
 *     <ManifestHash>…</ManifestHash>
 *   </Drive>
 *
 * followed by one LF. The journal records the same document in its DriveInfo records with the key
 * masked, so the journal gives every byte of the file but the key; the key comes from the driveset
 * that added the drive or from a file the user kept it in (`waie journal driveinfo`).
 */
import * as path from "node:path"
import { checkRecoveryKey } from "./bitlocker.ts"
import { type DrivesetRow, driveName } from "./driveset.ts"
import type { Issue } from "./errors.ts"
import { driveInfoXml, type JournalState } from "./journal.ts"

/** Where PrepImport keeps a drive's job file: beside the journal. */
export const jobFilePath = (journal: string, driveId: string): string => path.join(path.dirname(journal), `${driveId}.xml`)

/** The bytes of a job file (as text). */
export const jobFileText = (driveId: string, bitLockerKey: string, manifestFile: string, manifestHash: string): string => driveInfoXml(driveId, bitLockerKey, manifestFile, manifestHash) + "\n"

/**
 * The job file a journal gives for one of its drives: its last DriveInfo record's manifest and
 * hash, or — before the drive's first manifest — the empty hash PrepImport writes when the drive
 * joins. `manifestFile` is the drive's manifest path, for that second case.
 */
export const jobFileOf = (state: JournalState, driveId: string, bitLockerKey: string, manifestFile: string): string | undefined => {
  const d = state.drives.get(driveId)
  if (d === undefined) return undefined
  return jobFileText(driveId, bitLockerKey, d.manifestFile ?? manifestFile, d.manifestHash ?? "")
}

/**
 * A recovery key read from a file the user kept it in: the key alone, blanks around it allowed,
 * its groups joined by `-` or by spaces (as BitLocker shows them). The issue never shows the key.
 */
export const keyFromText = (file: string, text: string): { key: string } | { issue: Issue } => {
  const trimmed = text.replace(/^\uFEFF/, "").trim()
  const key = /^\d{6}(?: +\d{6}){7}$/.test(trimmed) ? trimmed.replace(/ +/g, "-") : trimmed
  const problem = checkRecoveryKey(key)
  return problem === undefined ? { key } : { issue: { file, line: 1, expected: `${problem.expected}, alone in the file`, found: problem.found } }
}

/** The driveset row that names a drive of the journal (by the name PrepImport recorded for it). */
export const drivesetRowOf = (rows: ReadonlyArray<DrivesetRow>, name: string): DrivesetRow | undefined => rows.find((r) => driveName(r.drive) === name)
