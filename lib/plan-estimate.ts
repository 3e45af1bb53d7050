/**
 * How long a copy will take, from a measurement on this machine: a sample of the dataset's files
 * is read and hashed as the copy reads and hashes them (4 MiB reads into shared memory, MD5 of each
 * 4 MiB block in the hash pool's workers), each file timed; a line `time = perFile + bytes / rate`
 * is fitted to the sample (least squares), and the estimate is `files × perFile + bytes / rate`.
 *
 * The sample: the largest file (so the rate is measured on a long read) and up to 15 files drawn
 * uniformly from the enumeration (reservoir sampling with a fixed seed: the same dataset gives the
 * same sample), each read up to 8 MiB, 64 MiB in all. What it does not measure, and the output
 * says: the drives' write speed and syncs (a plan writes nothing), and a cold read (a file read
 * recently comes from the page cache).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect } from "effect"
import { blockSize } from "./blocks.ts"
import { HashPool } from "./hashpool.ts"

export interface SampleFile {
  readonly path: string
  readonly length: number
}

/** Keeps the largest file and a uniform sample of the others, in constant memory. */
export class Sampler {
  private readonly kept: Array<SampleFile> = []
  private largest: SampleFile | undefined
  private seen = 0
  private seed = 0x2545f491

  constructor(private readonly size = 15) {}

  private random(): number {
    // xorshift32: deterministic, so that the same dataset gives the same sample
    let x = this.seed
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.seed = x >>> 0
    return this.seed / 0x100000000
  }

  add(f: SampleFile): void {
    if (this.largest === undefined || f.length > this.largest.length) this.largest = f
    this.seen++
    if (this.kept.length < this.size) this.kept.push(f)
    else {
      const j = Math.floor(this.random() * this.seen)
      if (j < this.size) this.kept[j] = f
    }
  }

  files(): Array<SampleFile> {
    const out = [...this.kept]
    if (this.largest !== undefined && !out.includes(this.largest)) out.push(this.largest)
    return out
  }
}

export interface Estimate {
  /** seconds to read and hash the whole selection */
  readonly seconds: number
  readonly bytesPerSecond: number
  readonly secondsPerFile: number
  readonly sampleFiles: number
  readonly sampleBytes: number
  readonly sampleSeconds: number
}

/** The line `t = a + b·x` through the points (least squares), kept physical: a ≥ 0, b > 0. */
export const fitLine = (points: ReadonlyArray<{ readonly bytes: number; readonly seconds: number }>): { readonly perFile: number; readonly perByte: number } => {
  const n = points.length
  const sx = points.reduce((s, p) => s + p.bytes, 0)
  const sy = points.reduce((s, p) => s + p.seconds, 0)
  const flat = { perFile: 0, perByte: sx > 0 ? sy / sx : 0 }
  if (n < 2) return sx > 0 ? flat : { perFile: n > 0 ? sy / n : 0, perByte: 0 }
  const mx = sx / n
  const my = sy / n
  let cov = 0
  let varX = 0
  for (const p of points) {
    cov += (p.bytes - mx) * (p.seconds - my)
    varX += (p.bytes - mx) ** 2
  }
  if (varX === 0) return sx > 0 ? flat : { perFile: my, perByte: 0 }
  const perByte = cov / varX
  const perFile = my - perByte * mx
  if (perByte <= 0) return { perFile: my, perByte: 0 }
  if (perFile < 0) return flat
  return { perFile, perByte }
}

export const perFileReadLimit = 8 * 1024 * 1024
export const sampleReadLimit = 64 * 1024 * 1024

/** Read and hash the sample, each file timed; the estimate for `files` files of `bytes` bytes. */
export const measure = (sample: ReadonlyArray<SampleFile>, files: number, bytes: number): Effect.Effect<Estimate, never, FileSystem.FileSystem | HashPool> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const pool = yield* HashPool
      const memory = new SharedArrayBuffer(2 * blockSize)
      const points: Array<{ bytes: number; seconds: number }> = []
      let budget = sampleReadLimit
      // the workers start with their first job: warm them up so that their start is not timed
      yield* pool.describe({ kind: "block", memory, byteOffset: 0, length: 1, fileOffset: 0, firstIndex: 0 })
      for (const f of sample) {
        if (budget <= 0) break
        const want = Math.min(f.length, perFileReadLimit, budget)
        const t0 = yield* Clock.currentTimeNanos
        const read = yield* Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open(f.path, { flag: "r" })
            let got = 0
            let slot = 0
            const pending: Array<Effect.Effect<unknown>> = []
            while (got < want) {
              const n = Math.min(blockSize, want - got)
              const view = new Uint8Array(memory, slot * blockSize, n)
              let filled = 0
              while (filled < n) {
                const r = Number(yield* file.read(view.subarray(filled)))
                if (r === 0) break
                filled += r
              }
              if (filled === 0) break
              const index = got / blockSize
              pending.push(pool.describe({ kind: "block", memory, byteOffset: slot * blockSize, length: filled, fileOffset: got, firstIndex: index }))
              // two slots: the next read overlaps this hash, as in a copy
              if (pending.length === 2) yield* pending.shift()!
              slot = 1 - slot
              got += filled
              if (filled < n) break
            }
            for (const p of pending) yield* p
            return got
          }),
        ).pipe(Effect.orElseSucceed(() => -1))
        const t1 = yield* Clock.currentTimeNanos
        if (read < 0) continue // gone or unreadable since it was listed: not a measurement
        budget -= read
        points.push({ bytes: read, seconds: Number(t1 - t0) / 1e9 })
      }
      const fit = fitLine(points)
      return {
        seconds: files * fit.perFile + bytes * fit.perByte,
        bytesPerSecond: fit.perByte > 0 ? 1 / fit.perByte : Infinity,
        secondsPerFile: fit.perFile,
        sampleFiles: points.length,
        sampleBytes: points.reduce((s, p) => s + p.bytes, 0),
        sampleSeconds: points.reduce((s, p) => s + p.seconds, 0),
      }
    }),
  )
