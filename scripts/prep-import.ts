#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie PrepImport` (also `waie prep-import`): copy sessions onto drives with a journal, as the
 * original tool does, with its command line (`/j:x.jrn /id:session#1 /sk:… /InitialDriveSet:…
 * /DataSet:…`) or long options (`--journal x.jrn --id session#1 …`).
 */
import { Effect, Either, Layer } from "effect"
import { type CommandSpec, flag, optionValue, optionValues, runIfMain } from "../lib/cli.ts"
import { type Credential, parseAccountKey, parseContainerSas } from "../lib/credential.ts"
import { PromptLive } from "../lib/drive.ts"
import { InvalidArgument, UsageError } from "../lib/errors.ts"
import { freeSpaceOption, parseFreeSpace } from "../lib/free-space.ts"
import { HashPoolLive } from "../lib/hashpool.ts"
import { hostPlatform, type MountEntry, makeMountMap, parseMount } from "../lib/paths.ts"
import { type Given, prepImport, type PrepImportRequest } from "../lib/prep-import.ts"
import { VolumesLive } from "../lib/volumes.ts"

export const command: CommandSpec = {
  path: ["prep-import"],
  aliases: [["PrepImport"]],
  summary: "copy a dataset onto drives in journaled sessions and write each drive's manifest (resume, abort, list)",
  args: [],
  options: [
    { name: "journal", aliases: ["j"], takes: "value", placeholder: "FILE.jrn", description: "the journal of the drives (required; never on a target drive)" },
    { name: "id", takes: "value", placeholder: "SESSION", description: "the copy session id: 3-30 of letters, digits, _ - #" },
    { name: "logdir", aliases: ["log-dir"], takes: "value", placeholder: "DIR", description: "log directory (first session only; default: the current folder)" },
    { name: "sk", aliases: ["storage-account-key"], takes: "value", placeholder: "KEY", description: "the storage account key (first session; checked against the journal later)" },
    { name: "csas", aliases: ["container-sas"], takes: "value", placeholder: "SAS", description: "a container SAS instead of the key: container?sv=…&sig=…" },
    { name: "silent-mode", aliases: ["silentmode"], takes: "flag", description: "do not ask before formatting" },
    { name: "initial-drive-set", aliases: ["InitialDriveSet"], takes: "value", placeholder: "CSV", description: "the drives of the first session" },
    { name: "additional-drive-set", aliases: ["AdditionalDriveSet"], takes: "value", placeholder: "CSV", description: "drives to add (with /DataSet: a new session that adds them)" },
    { name: "data-set", aliases: ["DataSet"], takes: "value", placeholder: "CSV", description: "what to copy" },
    { name: "resume-session", aliases: ["ResumeSession"], takes: "flag", description: "continue the latest interrupted session" },
    { name: "abort-session", aliases: ["AbortSession"], takes: "flag", description: "roll the latest interrupted session back" },
    { name: "list-drives", aliases: ["ListDrives"], takes: "flag", description: "list the journal's drives" },
    { name: "list-copy-sessions", aliases: ["ListCopySessions"], takes: "flag", description: "list the journal's sessions" },
    { name: "mount", takes: "values", placeholder: "L=/path", description: "where a Windows drive letter or share is on this host (repeatable)" },
    freeSpaceOption,
    { name: "dry-run", takes: "flag", description: "plan the session instead (waie plan): placement, what does not fit, problems, time; writes nothing" },
  ],
  exitCodes: [[5, "PrepImport: the session is interrupted because some files fit on no drive, or a drive ran out of space (add drives, or abort)"]],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const given = (name: string): Given | undefined => {
        const v = optionValue(parsed, name)
        return v === undefined ? undefined : { real: ctx.resolve(v), shown: v }
      }
      const journal = given("journal")
      if (journal === undefined) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "/j:<JournalFile> is required" }))
      const modes = ["resume-session", "abort-session", "list-drives", "list-copy-sessions"].filter((m) => flag(parsed, m))
      if (modes.length > 1) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: `give only one of /ResumeSession, /AbortSession, /ListDrives, /ListCopySessions (found ${modes.length})` }))
      const sk = optionValue(parsed, "sk")
      const csas = optionValue(parsed, "csas")
      if (sk !== undefined && csas !== undefined) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "give /sk or /csas, not both" }))
      let credential: Credential | undefined
      if (sk !== undefined) {
        const c = parseAccountKey(sk)
        if (c instanceof InvalidArgument) return yield* Effect.fail(c)
        credential = c
      } else if (csas !== undefined) {
        const c = parseContainerSas(csas)
        if (c instanceof InvalidArgument) return yield* Effect.fail(c)
        credential = c
      }
      const mountTexts = optionValues(parsed, "mount")
      const entries: Array<MountEntry> = []
      for (const m of mountTexts) {
        const e = parseMount(m)
        if ("expected" in e) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: e.expected, found: e.found }))
        entries.push(e)
      }
      const mounts = makeMountMap(entries, ctx.resolve)
      if ("expected" in mounts) return yield* Effect.fail(new InvalidArgument({ argument: "--mount", expected: mounts.expected, found: mounts.found }))
      const freeSpace = parseFreeSpace(optionValues(parsed, "free-space"), ctx.resolve)
      if (Either.isLeft(freeSpace)) return yield* Effect.fail(freeSpace.left)
      const id = optionValue(parsed, "id")
      const logDir = given("logdir")
      const initialDriveSet = given("initial-drive-set")
      const additionalDriveSet = given("additional-drive-set")
      const dataSet = given("data-set")
      const req: PrepImportRequest = {
        action: flag(parsed, "resume-session") ? "resume" : flag(parsed, "abort-session") ? "abort" : flag(parsed, "list-drives") ? "list-drives" : flag(parsed, "list-copy-sessions") ? "list-sessions" : "session",
        journal,
        ...(id !== undefined ? { sessionId: id } : {}),
        ...(logDir ? { logDir } : {}),
        ...(credential ? { credential } : {}),
        silent: flag(parsed, "silent-mode"),
        ...(initialDriveSet ? { initialDriveSet } : {}),
        ...(additionalDriveSet ? { additionalDriveSet } : {}),
        ...(dataSet ? { dataSet } : {}),
        mounts,
        mountTexts,
        platform: hostPlatform(),
        ...(freeSpace.right.length > 0 ? { freeSpace: freeSpace.right } : {}),
      }
      if (req.freeSpace !== undefined && (req.action !== "session" || (req.dataSet === undefined && req.additionalDriveSet === undefined))) {
        return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "--free-space counts the room of drives a session starts with or adds (/InitialDriveSet, a later /DataSet, /AdditionalDriveSet); a resumed session keeps the room it recorded" }))
      }
      if (flag(parsed, "dry-run")) {
        if (req.action !== "session" || req.dataSet === undefined) return yield* Effect.fail(new UsageError({ command: "PrepImport", message: "--dry-run plans a new session: give /DataSet (with /InitialDriveSet for a journal's first session)" }))
        // loaded only here: a real session does not pay for the planner
        const { runPlan } = yield* Effect.promise(() => import("../lib/plan-report.ts"))
        return yield* runPlan(req, ctx, { files: false, estimate: true })
      }
      return yield* prepImport(req, ctx.out, ctx.io).pipe(Effect.provide(Layer.mergeAll(VolumesLive, PromptLive, HashPoolLive())))
    }),
}

runIfMain(import.meta, command)
