#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie journal driveinfo JOURNAL --drive-id ID (--driveset CSV | --key-file FILE)`: the job file
 * `<DriveId>.xml` a journal gives for one of its drives — the bytes PrepImport wrote beside the
 * journal. The journal keeps no BitLocker key (its DriveInfo records mask it), so the key comes
 * from the driveset that added the drive, or from a file holding the key alone. Useful to rebuild
 * a lost job file, or to check one.
 */
import { Effect, Redacted } from "effect"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { driveName, loadDriveset, readDrivesetFile } from "../lib/driveset.ts"
import { InvalidArgument, InvalidInput, UsageError } from "../lib/errors.ts"
import { readWhole } from "../lib/files.ts"
import { drivesetRowOf, jobFileOf, keyFromText } from "../lib/job-file.ts"
import { replayJournal } from "../lib/journal.ts"
import { manifestFilePath } from "../lib/prep-import.ts"

const name = "journal driveinfo"

export const command: CommandSpec = {
  path: ["journal", "driveinfo"],
  summary: "print the job file <DriveId>.xml a journal gives for one of its drives (what PrepImport wrote beside it)",
  args: [{ name: "journal", description: "the journal (.jrn)" }],
  options: [
    { name: "drive-id", takes: "value", placeholder: "ID", description: "the drive (see PrepImport /ListDrives)" },
    { name: "driveset", takes: "value", placeholder: "CSV", description: "the driveset that added the drive: its ExistingBitLockerKey is the key" },
    { name: "key-file", takes: "value", placeholder: "FILE", description: "a file holding the drive's recovery key alone (instead of --driveset)" },
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const shown = parsed.args[0]!
      const driveId = optionValue(parsed, "drive-id")
      if (driveId === undefined) return yield* Effect.fail(new UsageError({ command: name, message: "--drive-id ID is required" }))
      const driveset = optionValue(parsed, "driveset")
      const keyFile = optionValue(parsed, "key-file")
      if ((driveset === undefined) === (keyFile === undefined)) {
        return yield* Effect.fail(new UsageError({ command: name, message: "give --driveset CSV or --key-file FILE (one of them): the journal keeps no BitLocker key" }))
      }
      const state = yield* replayJournal(ctx.resolve(shown), shown)
      const drive = state.drives.get(driveId)
      if (drive === undefined) {
        return yield* Effect.fail(new InvalidArgument({ argument: "--drive-id", expected: `a drive of the journal (${[...state.drives.keys()].join(", ") || "it has none"})`, found: JSON.stringify(driveId) }))
      }
      let key: string
      if (keyFile !== undefined) {
        const read = keyFromText(keyFile, new TextDecoder().decode(yield* readWhole(ctx.resolve(keyFile), keyFile)))
        if ("issue" in read) return yield* Effect.fail(new InvalidInput({ format: "key", file: keyFile, issues: [read.issue] }))
        key = read.key
      } else {
        const { rows } = yield* loadDriveset(readDrivesetFile(ctx.resolve(driveset!), driveset!))
        const row = drivesetRowOf(rows, drive.name)
        if (row === undefined) return yield* Effect.fail(new InvalidArgument({ argument: "--driveset", expected: `a driveset with a row for drive ${drive.name} (${driveId})`, found: `${driveset}, whose drives are ${rows.map((r) => JSON.stringify(driveName(r.drive))).join(", ")}` }))
        if (row.key === undefined) return yield* Effect.fail(new InvalidArgument({ argument: "--driveset", expected: `an ExistingBitLockerKey for drive ${drive.name}`, found: `none on line ${row.line} of ${driveset}` }))
        key = Redacted.value(row.key)
      }
      ctx.io.stdout(jobFileOf(state, driveId, key, manifestFilePath)!)
      return 0
    }),
}

runIfMain(import.meta, command)
