/**
 * The I/O thread of a DurableBatch: a worker (`copy-io-worker.mjs`) that reads small files
 * into shared memory, writes them to their partial names and renames them with synchronous
 * node:fs calls, a group of files per message.
 *
 * Why not the platform FileSystem, nor node's asynchronous calls: a small file needs seven
 * system calls (open, fstat, read, close; open, write, close) and a rename. Measured on the
 * 2-core bench machine with 20,000 files of 16 KiB:
 * - through FileSystem, each call an Effect with its scope and semaphore: 190–360 µs per file,
 *   130–290 µs of it main-thread CPU — more than `cp -r` takes per file;
 * - node:fs callbacks, 8 files in flight: each call hops to the libuv pool and back (futex
 *   wake, context switch, event-loop turn): 4–5 s of system time for the 20,000 files, and the
 *   pool's threads contend in the kernel;
 * - one thread of synchronous calls (this): ≈ 1 s of system time, 1.9–2.2 s wall against
 *   2.9–3.2 s for `cp -r` + `sync`, while the main thread hashes.
 * So this is node:fs outside the FileSystem service, said here as the conventions ask; the
 * rare per-batch operations (folders, folder syncs) stay on FileSystem.
 */
import { Effect, type Scope } from "effect"
import { Worker } from "node:worker_threads"
import { FileUnreadable, FileUnwritable } from "./errors.ts"

export type IoResult = { readonly ok: true; readonly synced?: boolean } | { readonly error: { readonly code: string; readonly message: string } } | { readonly changed: string; readonly mtimeMs: number }

export interface ReadJob {
  readonly source: string
  /** where in the shared memory; `length + 1` bytes are used (one past the end tells growth) */
  readonly offset: number
  readonly length: number
  readonly mtimeMs?: number
}

export interface WriteJob {
  readonly partial: string
  readonly offset: number
  readonly length: number
  /** false: only the length is set (ftruncate), nothing written */
  readonly data: boolean
}

export interface IoThread {
  /** per file: ok, an error, or how the source differs from what was planned */
  readonly read: (files: ReadonlyArray<ReadJob>) => Promise<ReadonlyArray<IoResult>>
  /** per file: ok or an error; with `sync` each file is fdatasynced before it is closed */
  readonly write: (files: ReadonlyArray<WriteJob>, sync: boolean) => Promise<ReadonlyArray<IoResult>>
  readonly rename: (pairs: ReadonlyArray<readonly [string, string]>) => Promise<ReadonlyArray<IoResult>>
}

/** The reason of a node error as the FileSystem-based readers word it (`files.ts`). */
const reasonOf = (code: string, message: string): string => {
  if (code === "ENOENT") return "no such file"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  return message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")
}

export const ioUnreadable = (shown: string, e: { readonly code: string; readonly message: string }): FileUnreadable =>
  new FileUnreadable({ path: shown, code: e.code, reason: reasonOf(e.code, e.message) })
export const ioUnwritable = (shown: string, e: { readonly code: string; readonly message: string }): FileUnwritable =>
  new FileUnwritable({ path: shown, code: e.code, reason: reasonOf(e.code, e.message) })

/** Starts the I/O thread over `memory`; it ends with the scope. A crash of the thread is a defect of every call in flight. */
export const startIoThread = (memory: SharedArrayBuffer): Effect.Effect<IoThread, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        // plain JavaScript: no inherited `--import tsx` (its loader thread would cost more than the worker)
        const worker = new Worker(new URL("./copy-io-worker.mjs", import.meta.url), { execArgv: [] })
        worker.postMessage({ op: "init", memory })
        return worker
      }),
      (worker) => Effect.promise(() => worker.terminate()),
    ),
    (worker) => {
      const pending = new Map<number, { resolve: (r: ReadonlyArray<IoResult>) => void; reject: (e: unknown) => void }>()
      let nextId = 0
      let dead: unknown
      worker.on("message", (m: { id: number; results: ReadonlyArray<IoResult> }) => {
        const p = pending.get(m.id)
        pending.delete(m.id)
        p?.resolve(m.results)
      })
      const fail = (e: unknown) => {
        dead ??= e
        for (const p of pending.values()) p.reject(dead)
        pending.clear()
      }
      worker.on("error", fail)
      worker.on("exit", (code) => fail(new Error(`the copy I/O thread stopped (exit code ${code})`)))
      const call = (message: object): Promise<ReadonlyArray<IoResult>> =>
        dead !== undefined
          ? Promise.reject(dead)
          : new Promise((resolve, reject) => {
              const id = nextId++
              pending.set(id, { resolve, reject })
              worker.postMessage({ ...message, id })
            })
      return {
        read: (files) => call({ op: "read", files }),
        write: (files, sync) => call({ op: "write", files, sync }),
        rename: (pairs) => call({ op: "rename", pairs }),
      }
    },
  )
