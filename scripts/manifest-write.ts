#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie manifest write [FILE]`: the JSON lines of `waie manifest json` (from FILE or standard
 * input) back into a manifest, on standard output or `--out FILE`. The lines mask the credential;
 * `--sk`, `--csas` or `--key-file` puts it back (the secret is never printed anywhere else).
 * So a manifest can be filtered or edited with jq in between:
 *
 *   waie manifest json DriveManifest.xml | jq -c 'select(.blobPath? != "box/old.bin")' | waie manifest write --key-file j.jrn.credential --out new.xml
 */
import { Chunk, Effect, Stream } from "effect"
import { type CommandSpec, optionValue, runIfMain } from "../lib/cli.ts"
import { type Credential, loadCredentialFile, parseAccountKey, parseContainerSas } from "../lib/credential.ts"
import { FileUnreadable, InvalidArgument, InvalidInput, UsageError } from "../lib/errors.ts"
import { fileBytes } from "../lib/files.ts"
import { type CredentialValues, JsonLineIssue, ManifestJsonReader } from "../lib/manifest-json.ts"
import type { ManifestEvent } from "../lib/manifest-model.ts"
import { ManifestSerializer, writeManifest } from "../lib/manifest-writer.ts"

const stdinBytes: Stream.Stream<Uint8Array, FileUnreadable> = Stream.fromAsyncIterable(process.stdin as AsyncIterable<Uint8Array>, (e) => new FileUnreadable({ path: "(standard input)", code: "EIO", reason: e instanceof Error ? e.message : String(e) }))

/** JSON lines → manifest events; a bad line fails the stream with InvalidInput naming it. */
export const manifestEventsFromJsonLines = <E, R>(shown: string, bytes: Stream.Stream<Uint8Array, E, R>, credentials: CredentialValues): Stream.Stream<ManifestEvent, E | InvalidInput, R> =>
  Stream.suspend(() => {
    const reader = new ManifestJsonReader(credentials)
    let line = 0
    const guarded = (f: () => Array<ManifestEvent>): Effect.Effect<Chunk.Chunk<ManifestEvent>, InvalidInput> =>
      Effect.suspend(() => {
        try {
          return Effect.succeed(Chunk.unsafeFromArray(f()))
        } catch (e) {
          if (e instanceof JsonLineIssue) {
            return Effect.fail(new InvalidInput({ format: "manifest", file: shown, issues: [{ file: shown, line: e.line, ...(e.field !== undefined ? { field: e.field } : {}), expected: e.expected, found: e.found }] }))
          }
          return Effect.die(e)
        }
      })
    return bytes.pipe(
      Stream.decodeText("utf-8"),
      Stream.splitLines,
      Stream.mapChunksEffect((lines) =>
        guarded(() => {
          const out: Array<ManifestEvent> = []
          for (const text of lines) {
            // one line may hold a blob of hundreds of thousands of ranges: appended one by one (a spread would overflow the stack)
            for (const e of reader.line(line === 0 ? text.replace(/^\uFEFF/, "") : text, ++line)) out.push(e)
          }
          return out
        }),
      ),
      Stream.concat(Stream.flatten(Stream.fromEffect(guarded(() => reader.end(line + 1)).pipe(Effect.map(Stream.fromChunk))))),
    )
  })

export const command: CommandSpec = {
  path: ["manifest", "write"],
  summary: "turn the JSON lines of 'waie manifest json' back into the manifest, byte for byte (the credential from --sk, --csas or --key-file)",
  options: [
    { name: "out", takes: "value", placeholder: "FILE", description: "write the manifest to FILE (temp file, fsync, rename; mode 0600) and print its hash, instead of standard output" },
    { name: "sk", aliases: ["storage-account-key"], takes: "value", placeholder: "KEY", description: "the storage account key to put in place of the masked one" },
    { name: "csas", aliases: ["container-sas"], takes: "value", placeholder: "SAS", description: "the container SAS to put in place of the masked one" },
    { name: "key-file", takes: "value", placeholder: "FILE", description: "a credential file ('StorageAccountKey: …' or 'ContainerSas: …', as PrepImport keeps beside its journal: <journal>.credential)" },
  ],
  args: [{ name: "file", description: "the JSON lines (default, or '-': standard input)", optional: true }],
  run: (parsed, ctx) =>
    Effect.gen(function* () {
      const given = parsed.args[0]
      const shown = given === undefined || given === "-" ? "(standard input)" : given
      const credentials: { StorageAccountKey?: string; ContainerSas?: string } = {}
      const add = (c: Credential | InvalidArgument) =>
        c instanceof InvalidArgument ? Effect.fail(c) : Effect.sync(() => void (credentials[c.kind] = c.value))
      const sk = optionValue(parsed, "sk")
      const csas = optionValue(parsed, "csas")
      const keyFile = optionValue(parsed, "key-file")
      if (sk !== undefined) yield* add(parseAccountKey(sk))
      if (csas !== undefined) yield* add(parseContainerSas(csas))
      if (keyFile !== undefined) {
        const c = yield* loadCredentialFile(ctx.resolve(keyFile)).pipe(Effect.mapError((e) => (e._tag === "CredentialFileMissing" ? new UsageError({ command: "manifest write", message: `--key-file ${keyFile}: not a credential file (one line 'StorageAccountKey: …' or 'ContainerSas: …')` }) : e)))
        if (credentials[c.kind] !== undefined) return yield* Effect.fail(new UsageError({ command: "manifest write", message: `give the ${c.kind} once (--key-file holds one, and it was given on the command line too)` }))
        credentials[c.kind] = c.value
      }
      const bytes = given === undefined || given === "-" ? stdinBytes : fileBytes(ctx.resolve(given), given)
      const events = manifestEventsFromJsonLines(shown, bytes, credentials)
      const out = optionValue(parsed, "out")
      if (out !== undefined) {
        const written = yield* writeManifest(ctx.resolve(out), events, out)
        ctx.out.event("manifestWritten", { file: out, bytes: written.bytes, hash: written.hash }, `${out}: ${written.bytes} bytes, MD5 ${written.hash} (its ManifestHash)`)
        return 0
      }
      const serializer = new ManifestSerializer()
      yield* Stream.runForEachChunk(events, (chunk) =>
        Effect.sync(() => {
          let text = ""
          for (const e of chunk) text += serializer.push(e)
          if (text !== "") ctx.io.stdout(text)
        }),
      )
      return 0
    }),
}

runIfMain(import.meta, command)
