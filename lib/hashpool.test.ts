import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { test } from "node:test"
import { Effect } from "effect"
import { blockSize, describeBlocks, describePageRanges } from "./blocks.ts"
import { HashPool, HashPoolLive } from "./hashpool.ts"

test("workers describe chunks in shared memory exactly as the main thread would", async () => {
  const memory = new SharedArrayBuffer(3 * blockSize)
  const view = new Uint8Array(memory)
  view.set(randomBytes(blockSize), 0)
  // a sparse page-blob chunk: two non-zero islands
  view.set(randomBytes(1536), blockSize + 4096)
  view.set(randomBytes(512), blockSize + 3 * 1024 * 1024)
  view.set(randomBytes(1000), 2 * blockSize)
  const results = await Effect.runPromise(
    Effect.gen(function* () {
      const pool = yield* HashPool
      return yield* Effect.all(
        [
          pool.describe({ kind: "block", memory, byteOffset: 0, length: blockSize, fileOffset: 0, firstIndex: 0 }),
          pool.describe({ kind: "page", memory, byteOffset: blockSize, length: blockSize, fileOffset: 4 * blockSize, firstIndex: 0 }),
          pool.describe({ kind: "block", memory, byteOffset: 2 * blockSize, length: 1000, fileOffset: 7 * blockSize, firstIndex: 7 }),
        ],
        { concurrency: "unbounded" },
      )
    }).pipe(Effect.provide(HashPoolLive(2))),
  )
  assert.deepEqual(results[0], describeBlocks(view.subarray(0, blockSize), 0, 0))
  assert.deepEqual(results[1], describePageRanges(view.subarray(blockSize, 2 * blockSize), 4 * blockSize))
  assert.equal((results[1] as ReadonlyArray<unknown>).length, 2)
  assert.deepEqual(results[2], describeBlocks(view.subarray(2 * blockSize, 2 * blockSize + 1000), 7 * blockSize, 7))
})

test("a job that breaks a chunk rule fails as a defect, and the pool keeps working", async () => {
  const memory = new SharedArrayBuffer(1024)
  const outcome = await Effect.runPromise(
    Effect.gen(function* () {
      const pool = yield* HashPool
      const bad = yield* Effect.exit(pool.describe({ kind: "page", memory, byteOffset: 0, length: 1000, fileOffset: 0, firstIndex: 0 }))
      const good = yield* pool.describe({ kind: "page", memory, byteOffset: 0, length: 1024, fileOffset: 0, firstIndex: 0 })
      return { bad, good }
    }).pipe(Effect.provide(HashPoolLive(1))),
  )
  assert.equal(outcome.bad._tag, "Failure")
  assert.deepEqual(outcome.good, [])
})
