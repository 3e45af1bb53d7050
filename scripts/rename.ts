#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie rename NAME [EXISTING ...] [--existing-file F]`: the name the `rename` import disposition
 * gives NAME when the listed blobs already exist (lib/rename.ts has the rule).
 */
import { Effect, Either, Stream } from "effect"
import { type CommandSpec, optionValues, runIfMain } from "../lib/cli.ts"
import { ExitCode, InvalidArgument, InvalidInput } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { candidateIndex, firstFreeAmong } from "../lib/rename.ts"

/**
 * The lines of an existing-names file. Text that is not UTF-8 (UTF-16, Latin-1, binary) is
 * refused: read leniently, its names would match nothing and the answer would be silently wrong.
 */
const existingNames = <E, R>(file: string, bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E | InvalidInput, R> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder("utf-8", { fatal: true })
    let line = 1
    const refuse = (found: string) =>
      new InvalidInput({ format: "name", file, issues: [{ file, line, expected: "UTF-8 text, one blob path a line", found }] })
    const decode = (chunk: Uint8Array, last: boolean): Effect.Effect<string, InvalidInput> =>
      Effect.suspend(() => {
        let text: string
        try {
          text = decoder.decode(chunk, { stream: !last })
        } catch {
          // the line of the first bad byte: the newlines of what decodes before it
          const probe = new TextDecoder("utf-8", { fatal: true })
          let good = 0
          try {
            for (; good < chunk.length; good++) probe.decode(chunk.subarray(good, good + 1), { stream: true })
          } catch {
            // good is the first byte that does not decode
          }
          for (let i = 0; i < good; i++) if (chunk[i] === 0x0a) line++
          return Effect.fail(refuse(line === 1 && (chunk[0] === 0xff || chunk[0] === 0xfe) ? "UTF-16 text (a byte order mark)" : "bytes that are not UTF-8"))
        }
        const nul = text.indexOf("\u0000")
        if (nul !== -1) {
          for (let i = 0; i < nul; i++) if (text.charCodeAt(i) === 10) line++
          return Effect.fail(refuse("a NUL character (UTF-16 text, or a binary file)"))
        }
        for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++
        return Effect.succeed(text)
      })
    return bytes.pipe(
      Stream.mapEffect((chunk) => decode(chunk, false)),
      Stream.concat(Stream.fromEffect(decode(new Uint8Array(0), true))),
      Stream.splitLines,
    )
  })

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
        yield* existingNames(file, fileBytes(ctx.resolve(file), file)).pipe(Stream.runForEach((line) => Effect.sync(() => line !== "" && see(line))))
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
