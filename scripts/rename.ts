/**
 * `waie rename NAME [EXISTING ...] [--existing-file F]`: the name the `rename` import disposition
 * gives NAME when the listed blobs already exist (lib/rename.ts has the rule).
 */
import { Effect, Either, Stream } from "effect"
import { type CommandSpec, optionValues, runIfMain } from "../lib/cli.ts"
import { ExitCode, InvalidArgument } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { candidateIndex, firstFreeAmong } from "../lib/rename.ts"

export const command: CommandSpec = {
  path: ["rename"],
  summary: "give the name the rename disposition gives a blob, given the blobs that exist",
  options: [{ name: "existing-file", takes: "values", placeholder: "FILE", description: "a UTF-8 file of existing blob paths, one a line (may repeat)" }],
  args: [
    { name: "name", description: "the blob path to import, as in the manifest: container/blob" },
    { name: "existing", description: "blob paths that already exist", variadic: true },
  ],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const [name, ...existing] = parsed.args as [string, ...Array<string>]
      if (name === "") return yield* Effect.fail(new InvalidArgument({ argument: "NAME", expected: "a blob path (container/blob)", found: "an empty name" }))
      // Only the names that are NAME itself or one of its candidates matter: keep their numbers,
      // so a long list is streamed, never held.
      const taken = new Set<number>()
      const see = (e: string) => {
        const i = candidateIndex(name, e)
        if (i !== undefined) taken.add(i)
      }
      existing.forEach(see)
      for (const file of optionValues(parsed, "existing-file")) {
        yield* fileBytes(ctx.resolve(file), file).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) => Effect.sync(() => line !== "" && see(line))),
        )
      }
      const result = firstFreeAmong(name, taken)
      if (Either.isRight(result)) {
        ctx.out.event("rename", { blobPath: name, name: result.right, renamed: result.right !== name }, result.right)
        return ExitCode.Ok
      }
      const e = result.left
      if (ctx.out.json) ctx.out.event("error", { exitCode: ExitCode.Invalid, error: e._tag, blobPath: e.blobPath, number: e.number, length: e.length, maxLength: e.maxLength, message: e.message })
      else ctx.io.stderr(e.message + "\n")
      return ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
