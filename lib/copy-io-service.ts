/**
 * The seam of the small-file path: how a DurableBatch (lib/copy-batch.ts) reads, writes, syncs
 * and renames its files, as a service.
 *
 * - `CopyIoLive` (what a batch uses when no CopyIo is provided): the I/O thread of synchronous
 *   node:fs calls (lib/copy-io.ts says why it is not the FileSystem service) and syncfs through
 *   `sync -f` (lib/durable.ts).
 * - `CopyIoFileSystem`: the same operations through the platform FileSystem service, one call at
 *   a time, with the same results (read into the shared-memory slots, one byte past the planned
 *   length to tell growth; write to the partial names, fdatasync as a File sync; rename). It
 *   offers no syncfs, so a batch on it makes data durable the portable way (each file synced,
 *   then the folders whose entries changed). Slower; meant for tests, where the FileSystem is
 *   the fault-injecting one (lib/fault-fs.ts) and every call of the small-file path is counted,
 *   failed or cut like those of the large-file path.
 *
 * The I/O thread's API is kept (`IoThread`: promises, per-file results) so that the batch's
 * pipeline is the same on both. A defect of the FileSystem (a simulated power cut) rejects the
 * promise: the batch turns it into a defect of its own.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer, Option, Runtime, type Scope } from "effect"
import { type IoResult, type IoThread, type ReadJob, startIoThread, type WriteJob } from "./copy-io.ts"
import { syncFileSystem, syncfsAvailable } from "./durable.ts"
import type { FileUnwritable } from "./errors.ts"
import { unwritable } from "./files.ts"

export interface CopyIoService {
  /** the I/O "thread" of one batch over its shared memory, for the life of the scope */
  readonly start: (memory: SharedArrayBuffer) => Effect.Effect<IoThread, never, Scope.Scope>
  /** whether `syncFileSystem` works for the file system holding `dir` */
  readonly syncfsAvailable: (dir: string) => Effect.Effect<boolean>
  /** make every write on the file system of `dir` durable (data and names) */
  readonly syncFileSystem: (dir: string, shown?: string) => Effect.Effect<void, FileUnwritable>
}

export class CopyIo extends Context.Tag("waie/CopyIo")<CopyIo, CopyIoService>() {}

export const copyIoLive: CopyIoService = { start: startIoThread, syncfsAvailable, syncFileSystem }

export const CopyIoLive: Layer.Layer<CopyIo> = Layer.succeed(CopyIo, copyIoLive)

/** The provided CopyIo, or the live one: callers that provide nothing get the I/O thread. */
export const currentCopyIo: Effect.Effect<CopyIoService> = Effect.map(Effect.serviceOption(CopyIo), Option.getOrElse(() => copyIoLive))

const failure = (e: unknown): IoResult => {
  if (typeof e === "object" && e !== null && "_tag" in e && (e._tag === "SystemError" || e._tag === "BadArgument")) {
    const u = unwritable("")(e as never)
    return { error: { code: u.code, message: u.reason } }
  }
  throw e
}

/** The operations of `IoThread` on a FileSystem, in effects (exported for tests). */
export const fileSystemIo = (fs: FileSystem.FileSystem, memory: SharedArrayBuffer) => {
  const bytes = new Uint8Array(memory)
  const readOne = (f: ReadJob): Effect.Effect<IoResult> =>
    Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(f.source, { flag: "r" })
        const info = yield* file.stat
        if (info.type !== "File") return { error: { code: info.type === "Directory" ? "EISDIR" : "EINVAL", message: `is ${info.type === "Directory" ? "a directory" : "not a regular file"}, not a file` } } satisfies IoResult
        const mtimeMs = Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })
        const size = Number(info.size)
        if (size !== f.length || (f.mtimeMs !== undefined && mtimeMs !== f.mtimeMs)) return { changed: `${size} bytes, modified at ${new Date(mtimeMs).toISOString()}`, mtimeMs } satisfies IoResult
        const want = f.length + 1
        let got = 0
        for (;;) {
          const r = Number(yield* file.read(bytes.subarray(f.offset + got, f.offset + want)))
          got += r
          if (r === 0 || got === want || got === f.length) break
        }
        if (got < f.length) return { changed: `${got} bytes: it ended early while it was being copied`, mtimeMs } satisfies IoResult
        if (got > f.length) return { changed: `more than ${f.length} bytes: it grew while it was being copied`, mtimeMs } satisfies IoResult
        return { ok: true } satisfies IoResult
      }),
    ).pipe(Effect.catchAll((e) => Effect.sync(() => failure(e))))
  const writeOne = (f: WriteJob, sync: boolean): Effect.Effect<IoResult> =>
    Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(f.partial, { flag: "w", mode: 0o644 })
        if (!f.data) {
          if (f.length > 0) yield* file.truncate(f.length)
        } else if (f.length > 0) yield* file.writeAll(bytes.subarray(f.offset, f.offset + f.length))
        if (sync) {
          yield* file.sync
          return { ok: true, synced: true } satisfies IoResult
        }
        return { ok: true } satisfies IoResult
      }),
    ).pipe(Effect.catchAll((e) => Effect.sync(() => failure(e))))
  const renameOne = ([from, to]: readonly [string, string]): Effect.Effect<IoResult> =>
    fs.rename(from, to).pipe(
      Effect.as({ ok: true } satisfies IoResult as IoResult),
      Effect.catchAll((e) => Effect.sync(() => failure(e))),
    )
  return {
    read: (files: ReadonlyArray<ReadJob>) => Effect.forEach(files, readOne),
    write: (files: ReadonlyArray<WriteJob>, sync: boolean) => Effect.forEach(files, (f) => writeOne(f, sync)),
    rename: (pairs: ReadonlyArray<readonly [string, string]>) => Effect.forEach(pairs, renameOne),
  }
}

/** The small-file path on the FileSystem service (see the module's comment). */
export const CopyIoFileSystem: Layer.Layer<CopyIo, never, FileSystem.FileSystem> = Layer.effect(
  CopyIo,
  Effect.map(FileSystem.FileSystem, (fs) => ({
    start: (memory: SharedArrayBuffer) =>
      Effect.map(Effect.runtime<never>(), (runtime): IoThread => {
        const io = fileSystemIo(fs, memory)
        const run = Runtime.runPromise(runtime)
        // one message at a time, in order, as the I/O thread takes them
        let queue: Promise<unknown> = Promise.resolve()
        const inOrder = <A>(f: () => Promise<A>): Promise<A> => {
          const next = queue.then(f, f)
          queue = next.catch(() => undefined)
          return next
        }
        return {
          read: (files) => inOrder(() => run(io.read(files))),
          write: (files, sync) => inOrder(() => run(io.write(files, sync))),
          rename: (pairs) => inOrder(() => run(io.rename(pairs))),
        }
      }),
    syncfsAvailable: () => Effect.succeed(false),
    syncFileSystem: (dir: string) => Effect.die(new Error(`CopyIoFileSystem has no syncfs (asked for ${dir})`)),
  })),
)
