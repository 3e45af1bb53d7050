#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie key check KEY`: is KEY a well-formed BitLocker recovery key? The reason, never the key, when not. */
import { Effect } from "effect"
import { type CommandSpec, runIfMain } from "../lib/cli.ts"
import { checkRecoveryKey } from "../lib/bitlocker.ts"
import { ExitCode } from "../lib/errors.ts"

export const command: CommandSpec = {
  path: ["key", "check"],
  summary: "check a BitLocker recovery key: 8 groups of 6 digits, each a multiple of 11 below 720896",
  options: [],
  args: [{ name: "key", description: "the recovery key, e.g. 442926-020713-108086-436744-137335-435358-242242-279598" }],
  run: (parsed, ctx) =>
    Effect.sync(() => {
      const problem = checkRecoveryKey(parsed.args[0]!)
      if (problem === undefined) {
        ctx.out.event("keyCheck", { valid: true }, "valid BitLocker recovery key")
        return ExitCode.Ok
      }
      if (ctx.out.json) ctx.out.event("keyCheck", { valid: false, expected: problem.expected, found: problem.found })
      else ctx.io.stderr(`invalid recovery key: expected ${problem.expected}, found ${problem.found}\n`)
      return ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
