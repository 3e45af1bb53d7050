/**
 * The typed refusals and outcomes of RepairImport and RepairExport that lib/cli.ts does not know,
 * with their exit codes (the commands map them; see `repairExitCode`).
 */
import { Data } from "effect"
import { showValue } from "../errors.ts"

/** The repair file was started for another copy log (or another kind of repair, or another manifest). */
export class RepairFileMismatch extends Data.TaggedError("RepairFileMismatch")<{
  readonly repairFile: string
  /** the RepairStarted field that differs */
  readonly field: "Kind" | "CopyLogHash" | "ManifestHash"
  /** what this run has */
  readonly expected: string
  /** what the repair file records */
  readonly found: string
  /** the copy log (or manifest) the repair file names, for the message */
  readonly recorded?: string
}> {
  override get message(): string {
    const what =
      this.field === "Kind"
        ? `a ${this.found} repair, not a ${this.expected}`
        : this.field === "CopyLogHash"
          ? `the repair of another copy log${this.recorded !== undefined ? ` (${showValue(this.recorded)}` : " ("}, MD5 ${this.found}), not of this one (MD5 ${this.expected})`
          : `a repair that sweeps another manifest${this.recorded !== undefined ? ` (${showValue(this.recorded)})` : ""} (ManifestHash ${this.found === "" ? "none" : this.found}), not this run's (${this.expected === "" ? "none" : this.expected})`
    return `${this.repairFile}: this repair file records ${what}; it was left unchanged. Resume with the copy log it was started for, or give a new /r: file for a new repair`
  }
}

/** The copy log cannot be repaired by this command (an export log given to RepairImport, a drive refused as a whole, a log that leaves out what the repair needs). */
export class CopyLogRefused extends Data.TaggedError("CopyLogRefused")<{
  readonly copyLog: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.copyLog}: ${this.reason}`
  }
}

/** The copy log is another drive's than the drive (or manifest) the command was given. */
export class CopyLogOfAnotherDrive extends Data.TaggedError("CopyLogOfAnotherDrive")<{
  readonly copyLog: string
  readonly logDriveId: string
  /** what the other drive is: `the drive /mnt/e`, `the manifest E:\DriveManifest.xml` */
  readonly other: string
  readonly otherDriveId: string
}> {
  override get message(): string {
    return `${this.copyLog}: the copy log is of drive ${showValue(this.logDriveId)}, but ${this.other} is drive ${showValue(this.otherDriveId)}; give the copy log of that drive`
  }
}

/** A pass ended with blobs it could not repair: the path map (RepairImport) or the output says which. */
export class RepairUnfinished extends Data.TaggedError("RepairUnfinished")<{
  readonly kind: "RepairImport" | "RepairExport"
  readonly unresolved: number
  readonly repairFile: string
  readonly pathMap?: string
}> {
  override get message(): string {
    const n = `${this.unresolved} blob${this.unresolved === 1 ? "" : "s"}`
    const next =
      this.kind === "RepairImport"
        ? this.pathMap !== undefined
          ? `fill in their targets in the path map ${this.pathMap} (or fix the /d: folders), then run RepairImport again with the same /r: and /PathMapFile:`
          : "fix the /d: folders (or give /PathMapFile: to map their files), then run RepairImport again with the same /r:"
        : "run RepairExport again with the same /r: once the reason is fixed"
    return `${n} could not be repaired yet (${this.repairFile} keeps the progress); ${next}`
  }
}

/** Exit codes of the errors above (1: the input refuses the repair; 6: blobs left to repair). */
export const repairExitCodes: Readonly<Record<string, number>> = {
  RepairFileMismatch: 1,
  CopyLogRefused: 1,
  CopyLogOfAnotherDrive: 1,
  RepairUnfinished: 6,
}
