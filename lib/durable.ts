/**
 * Durability primitives of the copy engine: making folders, folder entries and whole file
 * systems durable.
 *
 * - `syncDirectory(dir)`: fsync of a folder, so that the names created, renamed or removed in it
 *   survive a crash (through the platform FileSystem: a folder opened read-only, then synced;
 *   Windows cannot open a folder, and there a rename is as durable as it gets).
 * - `ensureDirectory(dir, created)`: `mkdir -p` that reports the folders whose entries changed
 *   (the parent of every folder it made), so that a caller can make the new folders durable.
 * - `syncFileSystem(dir)`: syncfs(2) of the whole file system holding `dir`. Node has no binding
 *   for it, so it runs coreutils' `sync -f DIR` (Linux, coreutils ≥ 8.24, busybox too) in a child
 *   process: one call makes every file written on that file system durable, data and names.
 *   `syncfsAvailable(dir)` probes it once per folder (false elsewhere, or when `sync -f` is
 *   missing or fails), so that callers fall back to per-file fsync.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { FileUnwritable } from "./errors.ts"
import { unwritable } from "./files.ts"

/**
 * The temp name a whole-file write goes through beside `target`: `.<name>.waie-tmp`, or
 * `.<md5 of the name>.waie-tmp` when that would pass 255 bytes. Deterministic, so that a write
 * cut short by a crash leaves no litter once the same file is written again (and PrepImport's
 * abort knows what to remove).
 */
export const tempPathOf = (target: string): string => {
  const base = path.basename(target)
  const name = `.${base}.waie-tmp`
  return path.join(path.dirname(target), Buffer.byteLength(name) <= 255 ? name : `.${createHash("md5").update(base).digest("hex").toUpperCase()}.waie-tmp`)
}

/** fsync a folder (its entries). A no-op on Windows, where a folder cannot be opened. */
export const syncDirectory = (dir: string, shown: string = dir): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  process.platform === "win32"
    ? Effect.void
    : Effect.flatMap(FileSystem.FileSystem, (fs) =>
        Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)).pipe(Effect.mapError(unwritable(shown))),
      )

/**
 * `mkdir -p dir`. Every folder whose entries it changed (the parent of each folder it made) is
 * added to `changed`, so that the caller can sync them once the new folders must be durable.
 * A folder that exists is left alone (and nothing is added).
 */
export const ensureDirectory = (dir: string, changed: Set<string>, shown: string = dir): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const missing: Array<string> = []
    let at = path.resolve(dir)
    for (;;) {
      const exists = yield* fs.stat(at).pipe(
        Effect.map((info) => (info.type === "Directory" ? true : "file")),
        Effect.catchAll((e) => (e._tag === "SystemError" && e.reason === "NotFound" ? Effect.succeed(false) : Effect.fail(unwritable(shown)(e)))),
      )
      if (exists === "file") return yield* Effect.fail(new FileUnwritable({ path: shown, code: "ENOTDIR", reason: `${at} is a file, not a folder` }))
      if (exists) break
      missing.push(at)
      const parent = path.dirname(at)
      if (parent === at) break
      at = parent
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      const d = missing[i]!
      yield* fs.makeDirectory(d).pipe(
        Effect.catchAll((e) => (e._tag === "SystemError" && e.reason === "AlreadyExists" ? Effect.void : Effect.fail(unwritable(shown)(e)))),
      )
      changed.add(path.dirname(d))
    }
  })

/**
 * syncfs(2) of the file system that holds `dir`, through `sync -f DIR`. Fails with
 * FileUnwritable (code `EIO`, the tool's message as the reason) when the sync reports an error,
 * (code `ENOENT`) when there is no `sync` program.
 */
export const syncFileSystem = (dir: string, shown: string = dir): Effect.Effect<void, FileUnwritable> =>
  Effect.async<void, FileUnwritable>((resume) => {
    let stderr = ""
    let done = false
    const finish = (e: Effect.Effect<void, FileUnwritable>) => {
      if (!done) {
        done = true
        resume(e)
      }
    }
    const child = spawn("sync", ["-f", dir], { stdio: ["ignore", "ignore", "pipe"] })
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (s: string) => {
      if (stderr.length < 2000) stderr += s
    })
    child.on("error", (e: NodeJS.ErrnoException) =>
      finish(Effect.fail(new FileUnwritable({ path: shown, code: e.code ?? "ENOENT", reason: `cannot run sync -f: ${e.message}` }))),
    )
    child.on("close", (code, signal) => {
      if (code === 0) finish(Effect.void)
      else finish(Effect.fail(new FileUnwritable({ path: shown, code: "EIO", reason: `sync -f failed (${signal ?? `exit ${code}`}): ${stderr.trim() || "no message"}` })))
    })
  })

const probed = new Map<string, boolean>()

/** Whether `sync -f` works for the file system of `dir` (Linux only; probed once per folder and cached). */
export const syncfsAvailable = (dir: string): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    if (process.platform !== "linux") return Effect.succeed(false)
    const known = probed.get(dir)
    if (known !== undefined) return Effect.succeed(known)
    return syncFileSystem(dir).pipe(
      Effect.as(true),
      Effect.orElseSucceed(() => false),
      Effect.tap((ok) => Effect.sync(() => probed.set(dir, ok))),
    )
  })

/**
 * Write a small whole file durably under its final name: temp beside it, fsync, chmod, rename,
 * folder fsync — and the fsync of the parent of every folder made for it, without which the
 * file's folder itself could vanish in a crash.
 */
export const writeFileDurably = (target: string, bytes: Uint8Array, mode: number): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = unwritable(target)
    const made = new Set<string>()
    yield* ensureDirectory(path.dirname(target), made)
    const temp = tempPathOf(target)
    yield* Effect.scoped(
      Effect.gen(function* () {
        const f = yield* fs.open(temp, { flag: "w", mode }).pipe(Effect.mapError(fail))
        yield* f.writeAll(bytes).pipe(Effect.mapError(fail))
        yield* f.sync.pipe(Effect.mapError(fail))
      }),
    )
    yield* fs.chmod(temp, mode).pipe(Effect.mapError(fail))
    yield* fs.rename(temp, target).pipe(Effect.mapError(fail))
    yield* syncDirectory(path.dirname(target))
    for (const dir of made) if (dir !== path.dirname(target)) yield* syncDirectory(dir)
  })

