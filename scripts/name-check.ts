#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie name check --container X --blob-path Y …`: check names against the Blob service's and the tool's rules. */
import { Effect } from "effect"
import { type CommandSpec, optionValues, runIfMain } from "../lib/cli.ts"
import { ExitCode, showValue, UsageError } from "../lib/errors.ts"
import { checkBlobName, checkBlobPath, checkContainer, checkMetadataName, checkSessionId, checkStorageAccount, isForbiddenInBlobName, type NameProblem } from "../lib/names.ts"

/**
 * Code points a terminal does not show as themselves, so that a name could pass for another:
 * controls, format characters (bidi overrides and isolates such as U+202E, which turns
 * `invoice\u202Egpj.exe` into what looks like `invoiceexe.jpg`; zero-width characters; U+FEFF),
 * line and paragraph separators, spaces other than U+0020 (U+00A0 looks like one), surrogates,
 * private use, and the code points blob names forbid.
 */
const invisible = /^(?:[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]|(?! )\p{Zs})$/u

/** Text for a person's terminal: the invisible code points as \uXXXX (\u{XXXXX}) escapes. */
export const escapeInvisible = (text: string): string =>
  text.replace(/[\s\S]/gu, (ch) => {
    const cp = ch.codePointAt(0)!
    if (!invisible.test(ch) && !isForbiddenInBlobName(cp)) return ch
    return cp > 0xffff ? `\\u{${cp.toString(16).toUpperCase()}}` : `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`
  })

/** A name quoted for a person (JSON lines keep the real string). */
const shownName = (name: string): string => escapeInvisible(showValue(name))

const kinds: ReadonlyArray<readonly [option: string, kind: string, check: (name: string) => NameProblem | undefined, description: string]> = [
  ["container", "container", checkContainer, "a container name"],
  ["blob-path", "blob path", checkBlobPath, "a blob path: container/blob"],
  ["blob-name", "blob name", checkBlobName, "a blob name (the part after the container)"],
  ["account", "storage account", checkStorageAccount, "a storage account name"],
  ["session-id", "session id", checkSessionId, "a PrepImport session id"],
  ["metadata-name", "metadata name", checkMetadataName, "a blob metadata name"],
]

export const command: CommandSpec = {
  path: ["name", "check"],
  summary: "check container, blob, account, session-id and metadata names against their rules",
  options: kinds.map(([name, , , description]) => ({ name, takes: "values" as const, placeholder: "NAME", description: `${description} (may repeat)` })),
  args: [],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      let checked = 0
      let invalid = 0
      for (const [option, kind, check] of kinds) {
        for (const name of optionValues(parsed, option)) {
          checked++
          const problem = check(name)
          const shown = `${kind} ${shownName(name)}`
          if (problem === undefined) {
            ctx.out.event("name", { kind: option, name, valid: true }, `${shown}: valid`)
            continue
          }
          invalid++
          if (ctx.out.json) ctx.out.event("name", { kind: option, name, valid: false, expected: problem.expected, found: problem.found })
          else ctx.io.stderr(`${shown}: expected ${problem.expected}, found ${escapeInvisible(problem.found)}\n`)
        }
      }
      if (checked === 0) {
        return yield* Effect.fail(new UsageError({ command: "name check", message: `give at least one name to check: ${kinds.map(([o]) => `--${o}`).join(", ")}` }))
      }
      return invalid === 0 ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
