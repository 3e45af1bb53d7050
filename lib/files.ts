/**
 * Reading and writing whole files through the platform FileSystem service (so tests can swap in
 * a fault-injecting one), with platform errors turned into waie's typed file errors.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Stream } from "effect"
import { FileUnreadable, FileUnwritable } from "./errors.ts"

const codeOf = (e: PlatformError): string => {
  const cause = (e as { cause?: unknown }).cause as { code?: unknown } | undefined
  if (cause && typeof cause.code === "string") return cause.code
  return e._tag === "SystemError" ? e.reason : "BadArgument"
}

const reasonOf = (e: PlatformError): string => {
  if (e._tag === "SystemError") {
    switch (e.reason) {
      case "NotFound":
        return "no such file"
      case "PermissionDenied":
        return "permission denied"
      default: {
        const cause = (e as { cause?: unknown }).cause
        return cause instanceof Error ? cause.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "") : e.reason
      }
    }
  }
  return e.message
}

export const unreadable = (shown: string) => (e: PlatformError) => new FileUnreadable({ path: shown, code: codeOf(e), reason: reasonOf(e) })
export const unwritable = (shown: string) => (e: PlatformError) => new FileUnwritable({ path: shown, code: codeOf(e), reason: reasonOf(e) })

/** Read size for format files: big enough for few syscalls, small enough to keep memory flat. */
export const readChunk = 1024 * 1024

/**
 * The bytes of a file as a stream. `shown` is the path as the user wrote it (for messages);
 * `real` is the resolved one. A directory is refused up front with EISDIR.
 */
export const fileBytes = (real: string, shown: string = real): Stream.Stream<Uint8Array, FileUnreadable, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const info = yield* fs.stat(real).pipe(Effect.mapError(unreadable(shown)))
      if (info.type === "Directory") return yield* Effect.fail(new FileUnreadable({ path: shown, code: "EISDIR", reason: "is a directory, not a file" }))
      return fs.stream(real, { chunkSize: readChunk }).pipe(Stream.mapError(unreadable(shown)))
    }),
  )

/** A whole small file (CSV, metadata, properties, key files) as bytes. */
export const readWhole = (real: string, shown: string = real): Effect.Effect<Uint8Array, FileUnreadable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(real).pipe(Effect.mapError(unreadable(shown)))
    if (info.type === "Directory") return yield* Effect.fail(new FileUnreadable({ path: shown, code: "EISDIR", reason: "is a directory, not a file" }))
    return yield* fs.readFile(real).pipe(Effect.mapError(unreadable(shown)))
  })
