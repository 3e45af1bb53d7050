#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/** `waie COMMAND ...`: finds the command among scripts/ and runs it; the exit code is the command's. */
import { processIo, runCli } from "../lib/cli.ts"
import { findCommand, loadCommands } from "./commands.ts"

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const one = await findCommand(argv)
  return runCli(one ? [one] : await loadCommands(), argv, processIo())
}

process.exitCode = await main(process.argv.slice(2))
