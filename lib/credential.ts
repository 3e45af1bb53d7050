/**
 * The storage credential of a journal: an account key (`/sk:`) or a container SAS (`/csas:`).
 * The manifest must carry it (the service needs it) but the journal never does: it is kept in
 * `<journal>.credential`, a file only its owner can read (0600), beside the journal, so that
 * later sessions and resumes can rewrite manifests without asking again. The journal keeps a
 * fingerprint, so a different key given later is caught.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Data, Effect } from "effect"
import { type FileUnreadable, type FileUnwritable, InvalidArgument } from "./errors.ts"
import { writeFileDurably } from "./durable.ts"
import { readWhole } from "./files.ts"
import { isBase64 } from "./hash.ts"
import type { CredentialKind } from "./journal.ts"
import { credentialFingerprint } from "./journal.ts"

export interface Credential {
  readonly kind: CredentialKind
  /** the secret itself: never printed, logged or journaled */
  readonly value: string
}

export const credentialFile = (journal: string): string => `${journal}.credential`

/** `/sk:` — an account key is Base64 (64 bytes for Azure; other lengths are accepted for emulators). */
export const parseAccountKey = (value: string): Credential | InvalidArgument => {
  if (value.trim() === "" || !isBase64(value.trim())) return new InvalidArgument({ argument: "/sk (storage account key)", expected: "the account key in Base64", found: "a value that is not Base64 (not shown: it is a secret)" })
  return { kind: "StorageAccountKey", value: value.trim() }
}

/** `/csas:` — `<container>?<sas token>` (v1 form) or a bare token; it must carry a signature. */
export const parseContainerSas = (value: string): Credential | InvalidArgument => {
  const v = value.trim()
  if (!/(^|[?&])sig=[^&]+/.test(v)) return new InvalidArgument({ argument: "/csas (container SAS)", expected: "a container SAS with a signature (container?sv=…&sig=…)", found: "no sig= parameter (the value is not shown: it is a secret)" })
  return { kind: "ContainerSas", value: v }
}

export const fingerprintOf = (c: Credential): string => credentialFingerprint(c.value)

export class CredentialMismatch extends Data.TaggedError("CredentialMismatch")<{ readonly journal: string; readonly kind: CredentialKind }> {
  override get message(): string {
    return `${this.journal}: this journal was started with another ${this.kind === "StorageAccountKey" ? "storage account key" : "container SAS"}; one journal prepares drives for one storage account with one credential`
  }
}

export class CredentialFileMissing extends Data.TaggedError("CredentialFileMissing")<{ readonly path: string }> {
  override get message(): string {
    return `${this.path}: the journal's credential file is missing or unreadable; give the key again with /sk: (or /csas:)`
  }
}

/** Keep the credential beside the journal, readable by its owner only. */
export const saveCredential = (journal: string, c: Credential): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  writeFileDurably(credentialFile(journal), new TextEncoder().encode(`${c.kind}: ${c.value}\n`), 0o600)

export const loadCredential = (journal: string): Effect.Effect<Credential, CredentialFileMissing | FileUnreadable, FileSystem.FileSystem> => loadCredentialFile(credentialFile(journal))

/** A credential file (`StorageAccountKey: …` or `ContainerSas: …`, one line). */
export const loadCredentialFile = (file: string): Effect.Effect<Credential, CredentialFileMissing | FileUnreadable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const bytes = yield* readWhole(file).pipe(Effect.mapError(() => new CredentialFileMissing({ path: file })))
    const m = /^(StorageAccountKey|ContainerSas): (.+)\n?$/.exec(new TextDecoder().decode(bytes))
    if (!m) return yield* Effect.fail(new CredentialFileMissing({ path: file }))
    return { kind: m[1] as CredentialKind, value: m[2]! }
  })

/**
 * The credential of a session: the one given on the command line (checked against the journal's
 * fingerprint when the journal has one), else the one kept beside the journal.
 */
export const sessionCredential = (
  journal: string,
  given: Credential | undefined,
  recorded: { readonly kind: CredentialKind; readonly fingerprint: string } | undefined,
): Effect.Effect<Credential, CredentialMismatch | CredentialFileMissing | FileUnreadable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    if (given !== undefined) {
      if (recorded !== undefined && (recorded.kind !== given.kind || recorded.fingerprint !== fingerprintOf(given))) return yield* Effect.fail(new CredentialMismatch({ journal, kind: recorded.kind }))
      return given
    }
    const kept = yield* loadCredential(journal)
    if (recorded !== undefined && fingerprintOf(kept) !== recorded.fingerprint) return yield* Effect.fail(new CredentialMismatch({ journal, kind: recorded.kind }))
    return kept
  })
