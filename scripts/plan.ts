#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie plan /DataSet:… /InitialDriveSet:… [--mount L=/path]`: what `waie PrepImport` would do
 * with the same command line, without doing any of it: per drive the files, bytes and free space
 * left, what fits on no drive, every problem of the dataset and the drives, and a time estimate
 * measured on a sample of the sources. Writes nothing. Exits as PrepImport would: 0 (it would
 * copy everything), 5 (it would stop as interrupted: files fit on no drive), 1 (it would refuse).
 * `waie PrepImport … --dry-run` runs the same program.
 */
import { Effect, Either } from "effect"
import { type CommandSpec, flag, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { InvalidArgument } from "../lib/errors.ts"
import { freeSpaceOption, parseFreeSpace } from "../lib/free-space.ts"
import { hostPlatform, makeMountMap, type MountEntry, parseMount } from "../lib/paths.ts"
import { type Given, type PlanRequest } from "../lib/plan.ts"
import { runPlan } from "../lib/plan-report.ts"

export const command: CommandSpec = {
  path: ["plan"],
  summary: "what PrepImport would do with these drives and this dataset (placement, what does not fit, problems, time), writing nothing",
  args: [],
  options: [
    { name: "data-set", aliases: ["DataSet"], takes: "value", placeholder: "CSV", description: "what to copy" },
    { name: "initial-drive-set", aliases: ["InitialDriveSet"], takes: "value", placeholder: "CSV", description: "the drives of a journal's first session" },
    { name: "additional-drive-set", aliases: ["AdditionalDriveSet"], takes: "value", placeholder: "CSV", description: "drives a later session adds to the journal's" },
    { name: "journal", aliases: ["j"], takes: "value", placeholder: "FILE.jrn", description: "the journal, for a later session (its drives come first); read, never written" },
    { name: "id", takes: "value", placeholder: "SESSION", description: "the session id: checked against the journal, and gives each file its drive path (with --files)" },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "the log directory PrepImport would be given (a drive may not hold it)" },
    { name: "mount", takes: "values", placeholder: "L=/path", description: "where a Windows drive letter or share is on this host (repeatable)" },
    freeSpaceOption,
    { name: "files", takes: "flag", description: "list each file with the drive it goes to (a planFile line each with --json)" },
    { name: "no-estimate", takes: "flag", description: "do not read a sample of the sources to estimate the time" },
  ],
  exitCodes: [[5, "plan: PrepImport would stop the session as interrupted: some files fit on no drive"]],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const given = (name: string): Given | undefined => {
        const v = optionValue(parsed, name)
        return v === undefined ? undefined : { real: ctx.resolve(v), shown: v }
      }
      const entries: Array<MountEntry> = []
      for (const m of optionValues(parsed, "mount")) {
        const e = parseMount(m)
        if ("expected" in e) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: e.expected, found: e.found }))
        entries.push(e)
      }
      const mounts = makeMountMap(entries, ctx.resolve)
      if ("expected" in mounts) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: mounts.expected, found: mounts.found }))
      const freeSpace = parseFreeSpace(optionValues(parsed, "free-space"), ctx.resolve)
      if (Either.isLeft(freeSpace)) return yield* Effect.fail(freeSpace.left)
      const id = optionValue(parsed, "id")
      const journal = given("journal")
      const logDir = given("logdir")
      const initialDriveSet = given("initial-drive-set")
      const additionalDriveSet = given("additional-drive-set")
      const dataSet = given("data-set")
      const req: PlanRequest = {
        ...(journal ? { journal } : {}),
        ...(id !== undefined ? { sessionId: id } : {}),
        ...(logDir ? { logDir } : {}),
        ...(initialDriveSet ? { initialDriveSet } : {}),
        ...(additionalDriveSet ? { additionalDriveSet } : {}),
        ...(dataSet ? { dataSet } : {}),
        mounts,
        platform: hostPlatform(),
        ...(freeSpace.right.length > 0 ? { freeSpace: freeSpace.right } : {}),
      }
      return yield* runPlan(req, ctx, { files: flag(parsed, "files"), estimate: !flag(parsed, "no-estimate") })
    }),
}

runIfMain(import.meta, command)
