/**
 * MD5 of blocks and page ranges in worker threads, one per core. Chunks live in shared memory
 * (`SharedArrayBuffer`): a worker hashes the very bytes the main thread writes to the drive, so
 * each byte is read once, written once and hashed once, with no copy between threads.
 */
import { Context, Deferred, Effect, Layer } from "effect"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { DescribedBlock, DescribedPageRange } from "./blocks.ts"

export interface HashJob {
  readonly kind: "block" | "page"
  /** shared memory holding the chunk */
  readonly memory: SharedArrayBuffer
  readonly byteOffset: number
  readonly length: number
  /** where the chunk starts in its file (a multiple of 4 MiB) */
  readonly fileOffset: number
  /** for blocks: the index of the first block of the chunk */
  readonly firstIndex: number
}

export type HashResult = ReadonlyArray<DescribedBlock> | ReadonlyArray<DescribedPageRange>

export class HashPool extends Context.Tag("waie/HashPool")<
  HashPool,
  {
    readonly describe: (job: HashJob) => Effect.Effect<HashResult>
    readonly size: number
  }
>() {}

interface Pending {
  readonly resolve: (r: HashResult) => void
  readonly reject: (e: Error) => void
}

const startWorker = (): Promise<Worker> => {
  // plain JavaScript: no inherited `--import tsx`, whose loader thread would cost more than the worker
  const w = new Worker(new URL("./hash-worker.mjs", import.meta.url), { execArgv: [] })
  return new Promise<Worker>((resolve, reject) => {
    w.once("message", () => resolve(w))
    w.once("error", reject)
  })
}

/**
 * A pool of `size` workers (default: one per core), ended when the scope closes. The workers
 * start with the first job, so a command that hashes nothing starts none.
 */
export const makeHashPool = (size: number = availableParallelism()) =>
  Effect.gen(function* () {
    const count = Math.max(1, size)
    const pending = new Map<number, Pending>()
    const load = Array.from({ length: count }, () => 0)
    let nextId = 0
    let started: Promise<Array<Worker>> | undefined
    const workers = (): Promise<Array<Worker>> => {
      started ??= Promise.all(Array.from({ length: count }, startWorker)).then((ws) => {
        ws.forEach((w, i) => {
          w.on("message", (m: { id: number; result?: HashResult; error?: string }) => {
            const p = pending.get(m.id)
            if (!p) return
            pending.delete(m.id)
            load[i]!--
            if (m.error !== undefined) p.reject(new Error(m.error))
            else p.resolve(m.result!)
          })
          w.on("error", (e) => {
            for (const p of pending.values()) p.reject(e)
            pending.clear()
          })
        })
        return ws
      })
      return started
    }
    yield* Effect.addFinalizer(() => (started === undefined ? Effect.void : Effect.promise(() => started!.then((ws) => Promise.all(ws.map((w) => w.terminate()))))))
    const describe = (job: HashJob): Effect.Effect<HashResult> =>
      Effect.flatMap(Effect.promise(workers), (ws) =>
        Effect.flatMap(Deferred.make<HashResult>(), (d) =>
          Effect.suspend(() => {
            // the least loaded worker; ties go to the lowest index
            let best = 0
            for (let i = 1; i < ws.length; i++) if (load[i]! < load[best]!) best = i
            const id = nextId++
            load[best]!++
            pending.set(id, {
              resolve: (r) => Effect.runSync(Deferred.succeed(d, r)),
              reject: (e) => Effect.runSync(Deferred.die(d, e)),
            })
            ws[best]!.postMessage({ id, ...job })
            return Deferred.await(d)
          }),
        ),
      )
    return { describe, size: count }
  })

export const HashPoolLive = (size?: number) => Layer.scoped(HashPool, makeHashPool(size))
