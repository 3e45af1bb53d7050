#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie journal manifest JOURNAL --drive-id ID`: the manifest a journal gives for one of its
 * drives, rebuilt from the journal alone (and the credential kept beside it), printed on stdout
 * — the same bytes PrepImport wrote on the drive. Useful to check a drive's manifest, or to
 * rebuild one that was lost.
 */
import { Effect, Stream } from "effect"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { CredentialFileMissing, loadCredential, loadCredentialFile } from "../lib/credential.ts"
import { InvalidArgument, UsageError } from "../lib/errors.ts"
import { replayJournal } from "../lib/journal.ts"
import { manifestEventsForDrive } from "../lib/manifest-build.ts"
import { ManifestSerializer } from "../lib/manifest-writer.ts"
import { clientCreator } from "../lib/prep-import.ts"

export const command: CommandSpec = {
  path: ["journal", "manifest"],
  summary: "print the manifest a journal gives for one of its drives (what PrepImport wrote there)",
  args: [{ name: "journal", description: "the journal (.jrn); its credential file is read from beside it" }],
  options: [
    { name: "drive-id", takes: "value", placeholder: "ID", description: "the drive (see PrepImport /ListDrives)" },
    { name: "credential-file", takes: "value", placeholder: "FILE", description: "where the storage credential is kept (default: JOURNAL.credential)" },
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const journal = ctx.resolve(shown)
      const driveId = optionValue(parsed, "drive-id")
      if (driveId === undefined) return yield* Effect.fail(new UsageError({ command: "journal manifest", message: "--drive-id ID is required" }))
      const state = yield* replayJournal(journal, shown)
      if (!state.drives.has(driveId)) {
        return yield* Effect.fail(new InvalidArgument({ argument: "--drive-id", expected: `a drive of the journal (${[...state.drives.keys()].join(", ") || "it has none"})`, found: JSON.stringify(driveId) }))
      }
      const credentialFile = optionValue(parsed, "credential-file")
      // messages name the credential file as the user would write it, not as resolved here
      const credential = yield* (credentialFile === undefined ? loadCredential(journal) : loadCredentialFile(ctx.resolve(credentialFile))).pipe(
        Effect.mapError((e) => (e._tag === "CredentialFileMissing" ? new CredentialFileMissing({ path: credentialFile ?? `${shown}.credential` }) : e)),
      )
      const serializer = new ManifestSerializer()
      yield* Stream.runForEach(
        manifestEventsForDrive({ journal, driveId, credential, clientCreator, sessions: state.sessions.filter((s) => s.completed).map((s) => s.sessionId) }),
        (e) => Effect.sync(() => ctx.io.stdout(serializer.push(e))),
      )
      return 0
    }),
}

runIfMain(import.meta, command)
