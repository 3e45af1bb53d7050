/**
 * A driveset drive that is a whole Windows volume (a DriveLetter, on Windows, not mapped to a
 * folder with `--mount`): what openDrive (lib/drive.ts) does with it besides what it does with
 * any drive.
 *
 * Before anything is changed (`checkVolume`, read-only):
 *   - Format of the system drive (`%SystemDrive%`) is refused;
 *   - Encrypt: the volume must be unlocked and fully decrypted (lib/windows/bitlocker.ts);
 *   - AlreadyEncrypted: the volume must be encrypted (or encrypting) with protection on, and the
 *     driveset's key one of its recovery passwords.
 * Then, once every drive of the session has been checked (`prepareVolume`):
 *   - Format runs format.com on the volume (lib/windows/format.ts) instead of erasing the folder;
 *     the format erases waie's lock too, so `afterFormat` puts it back and writes and reads a
 *     test file again on the new file system;
 *   - Encrypt runs manage-bde -on and reads the recovery password back; it is returned
 *     (Redacted) for the journal and the `<DriveId>.xml`.
 */
import { type Effect as E, Effect, type Redacted } from "effect"
import { type BitLockerFailed, FormatRefused } from "../errors.ts"
import { checkAlreadyEncrypted, checkCanEncrypt, enableBitLocker } from "./bitlocker.ts"
import type { BitLockerUnavailable, BitLockerVolumeRefused, FormatFailed } from "./errors.ts"
import { formatVolume, systemDriveLetter, volumeLabel } from "./format.ts"

/** The driveset's Encryption for a drive: turn BitLocker on, or check the key of a volume that has it. */
export type DriveEncryption = { readonly kind: "encrypt" } | { readonly kind: "existing"; readonly key: Redacted.Redacted<string> }

export interface VolumeUse {
  /** the volume's letter, upper-case */
  readonly letter: string
  readonly format: boolean
  readonly encryption?: DriveEncryption
}

/** The question a person answers before format.com runs. */
export const volumeFormatQuestion = (drive: string, letter: string, answer: string): string =>
  `Format drive ${drive}? The whole volume ${letter}: will be formatted (format.com ${letter}: /FS:NTFS /Q) and everything on it erased. Type ${answer} to confirm: `

/** The read-only checks; returns notes for the person. `root` names the drive in a refusal. */
export const checkVolume = (
  drive: string,
  root: string,
  v: VolumeUse,
  env: Readonly<Record<string, string | undefined>> = process.env,
): E.Effect<ReadonlyArray<string>, FormatRefused | BitLockerVolumeRefused | BitLockerFailed | BitLockerUnavailable> =>
  Effect.gen(function* () {
    if (v.format && v.letter === systemDriveLetter(env)) {
      return yield* Effect.fail(new FormatRefused({ drive, root, kind: "system drive", path: `${v.letter}:\\`, relation: "is the drive" }))
    }
    if (v.encryption?.kind === "encrypt") yield* checkCanEncrypt(drive, v.letter)
    if (v.encryption?.kind === "existing") return yield* checkAlreadyEncrypted(drive, v.letter, v.encryption.key)
    return []
  })

export interface PreparedVolume {
  /** the recovery password manage-bde added (Encrypt) */
  readonly recoveryKey?: Redacted.Redacted<string>
  readonly notes: ReadonlyArray<string>
}

/**
 * The changes, in order: format.com then `afterFormat` (when Format), then BitLocker on (when
 * Encrypt). `driveId` is the DriveId the drive will carry; it becomes the volume label.
 */
export const prepareVolume = <Err>(drive: string, v: VolumeUse, driveId: string, afterFormat: E.Effect<void, Err>): E.Effect<PreparedVolume, FormatFailed | BitLockerFailed | BitLockerUnavailable | Err> =>
  Effect.gen(function* () {
    if (v.format) {
      yield* formatVolume(drive, v.letter, volumeLabel(driveId))
      yield* afterFormat
    }
    if (v.encryption?.kind !== "encrypt") return { notes: [] }
    const on = yield* enableBitLocker(drive, v.letter)
    return { recoveryKey: on.key, notes: on.notes }
  })
