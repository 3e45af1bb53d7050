/**
 * Whole-file replacement that never leaves a partial file under the final name: write a temp file
 * beside the target, fsync it, rename it over the target, fsync the folder (where the platform
 * allows opening a folder; Windows does not, and there the rename is as durable as it gets).
 * Text arrives as a stream of strings and is written in ~1 MiB batches, so memory stays flat.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import * as path from "node:path"
import type { FileUnwritable } from "./errors.ts"
import { syncDirectory, tempPathOf } from "./durable.ts"
import { unwritable } from "./files.ts"

const batchBytes = 1024 * 1024

export const writeTextAtomically = <E, R>(
  real: string,
  text: Stream.Stream<string, E, R>,
  shown: string = real,
): Effect.Effect<void, E | FileUnwritable, R | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = path.dirname(real)
    const tmp = tempPathOf(real)
    const fail = unwritable(shown)
    const write = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(tmp, { flag: "w", mode: 0o644 }).pipe(Effect.mapError(fail))
        const encoder = new TextEncoder()
        let pending: Array<string> = []
        let size = 0
        const flush = Effect.suspend(() => {
          if (pending.length === 0) return Effect.void
          const bytes = encoder.encode(pending.join(""))
          pending = []
          size = 0
          return file.writeAll(bytes).pipe(Effect.mapError(fail))
        })
        yield* Stream.runForEach(text, (s) => {
          pending.push(s)
          size += s.length
          return size >= batchBytes ? flush : Effect.void
        })
        yield* flush
        yield* file.sync.pipe(Effect.mapError(fail))
      }),
    )
    yield* write.pipe(Effect.onError(() => fs.remove(tmp).pipe(Effect.ignore)))
    yield* fs.rename(tmp, real).pipe(
      Effect.mapError(fail),
      Effect.onError(() => fs.remove(tmp).pipe(Effect.ignore)),
    )
    // a failed folder fsync is an error like any other: the rename may not survive a crash (Windows cannot open a folder: a no-op there)
    yield* syncDirectory(dir, path.dirname(shown))
  })
