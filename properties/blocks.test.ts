/** Laws of block plans, block ids and page ranges (lib/blocks.ts). */
import { Either } from "effect"
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import {
  blockCount,
  blockIndexOf,
  blockSize,
  BlockListChecker,
  checkBlockList,
  checkPageRanges,
  maxBlockBlobLength,
  maxPageRangeLength,
  pageRangesOf,
  pageSize,
  planBlocks,
  type PageRange,
} from "../lib/blocks.ts"

const MiB = 1024 * 1024

/** Lengths where plans go wrong: tiny, around multiples of 4 MiB, around the 50,000-block limit. */
const fileLength = fc.oneof(
  fc.integer({ min: 0, max: 3 * blockSize }),
  fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -2, max: 2 })).map(([k, d]) => Math.max(0, k * blockSize + d)),
  fc.integer({ min: 0, max: 4096 }).map((d) => maxBlockBlobLength - d),
  fc.integer({ min: 0, max: maxBlockBlobLength }),
)

test("block plans cover the file exactly", () => {
  fc.assert(
    fc.property(fileLength, (length) => {
      const plan = Either.getOrThrow(planBlocks("f", length))
      assert.equal(plan.length, Math.ceil(length / blockSize))
      assert.equal(plan.length, blockCount(length))
      let next = 0
      const ids = new Set<string>()
      for (const [i, b] of plan.entries()) {
        assert.equal(b.index, i)
        assert.equal(b.offset, next, "contiguous")
        assert.ok(b.length > 0 && b.length <= blockSize, "1 byte to 4 MiB")
        if (i < plan.length - 1) assert.equal(b.length, blockSize, "only the last block is shorter")
        assert.equal(b.id.length, 8, "every id the same length")
        assert.equal(blockIndexOf(b.id), i, "the id decodes to the index")
        ids.add(b.id)
        next += b.length
      }
      assert.equal(next, length, "the blocks sum to the length")
      assert.equal(ids.size, plan.length, "ids distinct")
      assert.deepEqual(checkBlockList(plan, length), [], "a plan keeps every block-list rule")
    }),
    { numRuns: 300 },
  )
})

test("files longer than 50,000 blocks of 4 MiB are refused, never planned", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 * blockSize }), (over) => {
      assert.ok(Either.isLeft(planBlocks("f", maxBlockBlobLength + over)))
    }),
    { numRuns: 200 },
  )
})

/** Break one thing in a valid list; the checker must notice. */
const mutation = fc.record({
  kind: fc.constantFrom("shift", "grow", "shrink", "drop", "swap", "badId", "otherIdLength", "truncate"),
  at: fc.nat(),
  by: fc.integer({ min: 1, max: 1000 }),
})

test("any single break of a valid block list is reported", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2 * blockSize, max: 40 * blockSize }), mutation, (length, m) => {
      const blocks: Array<{ offset: number; length: number; id?: string }> = Either.getOrThrow(planBlocks("f", length)).map((b) => ({ offset: b.offset, length: b.length, id: b.id }))
      const i = m.at % blocks.length
      const b = blocks[i]!
      let fileLen = length
      switch (m.kind) {
        case "shift": blocks[i] = { ...b, offset: b.offset + m.by }; break
        case "grow": blocks[i] = { ...b, length: blockSize + m.by }; break
        case "shrink": blocks[i] = { ...b, length: Math.max(0, b.length - m.by) }; break
        case "drop": blocks.splice(i, 1); break
        case "swap": { const j = (i + 1) % blocks.length; blocks[i] = blocks[j]!; blocks[j] = b; break }
        case "badId": blocks[i] = { ...b, id: b.id!.slice(0, 7) }; break
        case "otherIdLength": blocks[i] = { ...b, id: "AAAAAAAAAAAA" }; break
        case "truncate": fileLen = length + m.by; break
      }
      assert.ok(checkBlockList(blocks, fileLen).length > 0, `${m.kind} at ${i} went unnoticed`)
    }),
    { numRuns: 500 },
  )
})

test("the streaming checker and the array function agree", () => {
  const entry = fc.record({ offset: fc.integer({ min: 0, max: 40 }), length: fc.integer({ min: -1, max: 12 }), id: fc.option(fc.constantFrom("AAAAAA==", "AQAAAA==", "AAAA", "x"), { nil: undefined }) })
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 12 }), fc.integer({ min: 0, max: 60 }), (list, len) => {
      const c = new BlockListChecker(len)
      const streamed = list.flatMap((b) => [...c.add(b)])
      streamed.push(...c.finish())
      assert.deepEqual([...streamed].sort((a, b) => a.index - b.index), checkBlockList(list, len))
    }),
    { numRuns: 500 },
  )
})

// ---- page ranges

/**
 * A sparse chunk, described small (so a failing case prints in a few lines) and built inside the
 * property: whole pages, mostly zero, with scattered bytes and runs of non-zero data, sometimes
 * at an offset in its buffer that is not 4-byte aligned.
 */
const sparseChunk = fc.record({
  pages: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(maxPageRangeLength / pageSize), fc.integer({ min: 0, max: maxPageRangeLength / pageSize })),
  bytes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 40 }),
  runs: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 * pageSize })), { maxLength: 4 }),
  shift: fc.constantFrom(0, 0, 1, 3),
})

type Sparse = { pages: number; bytes: ReadonlyArray<readonly [number, number]>; runs: ReadonlyArray<readonly [number, number]>; shift: number }

const build = ({ pages, bytes, runs, shift }: Sparse): Uint8Array => {
  const size = pages * pageSize
  const chunk = new Uint8Array(size + shift).subarray(shift)
  if (size > 0) {
    for (const [at, v] of bytes) chunk[at % size] = v
    for (const [at, n] of runs) chunk.fill(0xff, at % size, Math.min(size, (at % size) + n))
  }
  return chunk
}

const zeroPage = (data: Uint8Array, at: number): boolean => {
  for (let i = at; i < at + pageSize; i++) if (data[i] !== 0) return false
  return true
}

/** Reference model: per page, zero or not; runs of non-zero pages split at 4 MiB boundaries. */
const model = (data: Uint8Array, base: number): Array<PageRange> => {
  const out: Array<PageRange> = []
  for (let p = 0; p < data.length; p += pageSize) {
    if (zeroPage(data, p)) continue
    const last = out.at(-1)
    const offset = base + p
    if (last && last.offset + last.length === offset && offset % maxPageRangeLength !== 0) out[out.length - 1] = { offset: last.offset, length: last.length + pageSize }
    else out.push({ offset, length: pageSize })
  }
  return out
}

const pageLaws = (ranges: ReadonlyArray<PageRange>, data: Uint8Array, base: number) => {
  let prevEnd = -1
  for (const r of ranges) {
    assert.equal(r.offset % pageSize, 0, "offset 512-aligned")
    assert.equal(r.length % pageSize, 0, "length 512-aligned")
    assert.ok(r.length > 0 && r.length <= maxPageRangeLength, "512 B to 4 MiB")
    assert.ok(r.offset >= prevEnd, "ordered, not overlapping")
    if (r.offset === prevEnd) assert.equal(r.offset % maxPageRangeLength, 0, "ranges touch only at a 4 MiB boundary (maximal runs)")
    assert.equal(Math.floor(r.offset / maxPageRangeLength), Math.floor((r.offset + r.length - 1) / maxPageRangeLength), "never crosses a 4 MiB boundary")
    assert.ok(r.offset >= base && r.offset + r.length <= base + data.length, "inside the data")
    prevEnd = r.offset + r.length
  }
  // a page is covered exactly when it is not all zero: every non-zero byte covered, no zero page sent
  let k = 0
  for (let p = 0; p < data.length; p += pageSize) {
    while (k < ranges.length && ranges[k]!.offset + ranges[k]!.length <= base + p) k++
    const covered = k < ranges.length && ranges[k]!.offset <= base + p
    assert.equal(covered, !zeroPage(data, p), `page at ${base + p}: covered ${covered}`)
  }
}

test("page ranges of a chunk: aligned, ≤ 4 MiB, ordered, every non-zero byte covered, no zero page", () => {
  fc.assert(
    fc.property(sparseChunk, fc.integer({ min: 0, max: 2000 }), (spec, k) => {
      const chunk = build(spec)
      const base = k * maxPageRangeLength
      const ranges = pageRangesOf(chunk, base)
      pageLaws(ranges, chunk, base)
      assert.deepEqual(ranges, model(chunk, base))
      assert.deepEqual(checkPageRanges(ranges, base + chunk.length), [])
    }),
    { numRuns: 300 },
  )
})

test("page ranges of a whole file, chunk by chunk, are split at every 4 MiB boundary and nowhere else", () => {
  const file = fc.record({
    pages: fc.integer({ min: 0, max: (3 * maxPageRangeLength) / pageSize }),
    runs: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 * MiB })), { maxLength: 5 }),
  })
  fc.assert(
    fc.property(file, ({ pages, runs }) => {
      const data = new Uint8Array(pages * pageSize)
      if (data.length > 0) for (const [at, n] of runs) data.fill(7, at % data.length, Math.min(data.length, (at % data.length) + n))
      const ranges: Array<PageRange> = []
      for (let at = 0; at < data.length; at += maxPageRangeLength) ranges.push(...pageRangesOf(data.subarray(at, at + maxPageRangeLength), at))
      pageLaws(ranges, data, 0)
      assert.deepEqual(ranges, model(data, 0))
      assert.deepEqual(checkPageRanges(ranges, data.length), [])
    }),
    { numRuns: 60 },
  )
})
