#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie key new [--count N]`: fresh BitLocker recovery keys, one a line. */
import { Effect } from "effect"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { generateRecoveryKey } from "../lib/bitlocker.ts"
import { ExitCode, InvalidArgument, showValue } from "../lib/errors.ts"

const maxCount = 10_000

export const command: CommandSpec = {
  path: ["key", "new"],
  summary: "print fresh BitLocker recovery keys (48 digits each, from the system's cryptographic random source)",
  options: [{ name: "count", takes: "value", placeholder: "N", description: `how many keys to print (1 to ${maxCount}, default 1)` }],
  args: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const raw = optionValue(parsed, "count")
      const count = raw === undefined ? 1 : /^[0-9]{1,6}$/.test(raw) ? Number(raw) : Number.NaN
      if (!(count >= 1 && count <= maxCount)) {
        return yield* Effect.fail(new InvalidArgument({ argument: "--count", expected: `a whole number from 1 to ${maxCount}`, found: showValue(raw ?? "") }))
      }
      for (let i = 0; i < count; i++) {
        const key = generateRecoveryKey()
        ctx.out.event("key", { key }, key)
      }
      return ExitCode.Ok
    }),
}

runIfMain(import.meta, command)
