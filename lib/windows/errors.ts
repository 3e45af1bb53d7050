/**
 * Typed errors of the Windows platform layer (format.com, manage-bde). manage-bde failures that
 * fit no case below are the general `BitLockerFailed` of lib/errors.ts. No error here carries a
 * recovery password: outputs are masked before they are kept (`maskRecoveryPasswords`).
 */
import { Data } from "effect"

const aboutDrive = (drive: string): string => (drive.endsWith(":") ? `drive ${drive}` : `drive ${drive}:`)

export type FormatFailure = "access denied" | "in use" | "write protected" | "not run" | "failed"

const formatRemedy: Readonly<Record<FormatFailure, string>> = {
  "access denied": "run waie from an elevated prompt (Run as administrator), and check that the drive is not locked by BitLocker or another program",
  "in use": "close the programs and windows that use the drive (Explorer windows, antivirus scans, a terminal whose folder is on it) and run again",
  "write protected": "the drive refuses writes: remove its write protection (a switch, or diskpart 'attributes disk clear readonly') or use another drive",
  "not run": "format.com could not be run on this host",
  failed: "see format.com's words above; the drive may be partly erased",
}

/** format.com did not format the volume. */
export class FormatFailed extends Data.TaggedError("FormatFailed")<{
  readonly drive: string
  readonly letter: string
  readonly reason: FormatFailure
  /** the exit code, or why the tool did not run */
  readonly code: string
  /** the line of format.com's output that says what went wrong */
  readonly said: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} format.com ${this.letter}: /FS:NTFS /Q failed (${this.code}${this.reason === "failed" || this.reason === "not run" ? "" : `, ${this.reason}`}): ${this.said === "" ? "no explanation" : JSON.stringify(this.said)}; ${formatRemedy[this.reason]}`
  }
}

/** BitLocker cannot be used on this Windows (manage-bde is missing: a Server without the BitLocker feature, an edition without it). */
export class BitLockerUnavailable extends Data.TaggedError("BitLockerUnavailable")<{
  readonly drive: string
  readonly reason: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} BitLocker is not available on this Windows: ${this.reason}. On Windows Server add the feature (Install-WindowsFeature BitLocker, then restart); on an edition without BitLocker, encrypt the drive on another machine and list it with Encryption AlreadyEncrypted and its recovery password`
  }
}

/** The volume's BitLocker state does not allow what the driveset row asks (see lib/windows/bitlocker.ts for the rules). */
export class BitLockerVolumeRefused extends Data.TaggedError("BitLockerVolumeRefused")<{
  readonly drive: string
  readonly encryption: "Encrypt" | "AlreadyEncrypted"
  /** what manage-bde showed, in its words */
  readonly found: string
  readonly problem: string
  readonly remedy: string
}> {
  override get message(): string {
    return `${aboutDrive(this.drive)} Encryption ${this.encryption} refused: ${this.problem} (${this.found}); ${this.remedy}; nothing was changed`
  }
}
