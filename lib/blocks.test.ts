import { Either } from "effect"
import assert from "node:assert/strict"
import { test } from "node:test"
import { FileTooLargeForManifest, PageBlobLengthUnaligned } from "./errors.ts"
import {
  blobLengthProblems,
  blockCount,
  blockId,
  blockIdProblem,
  blockIndexOf,
  BlockListChecker,
  blockSize,
  checkBlockList,
  checkPageBlobLength,
  checkPageRanges,
  describeBlocks,
  describePageRanges,
  maxBlockBlobLength,
  maxBlocksPerBlob,
  maxPageBlobLength,
  pageRangesOf,
  PageRangeChecker,
  parseLength,
  planBlocks,
  type BlockEntry,
  type RuleProblem,
} from "./blocks.ts"
import { md5Hex } from "./hash.ts"

const MiB = 1024 * 1024
const zeroHash = md5Hex(new Uint8Array(0))

test("constants are the documented limits", () => {
  assert.equal(blockSize, 4_194_304)
  assert.equal(maxBlocksPerBlob, 50_000)
  assert.equal(maxBlockBlobLength, 209_715_200_000)
})

test("blockId: Base64 of the 4-byte little-endian index, as in the copy-log samples", () => {
  assert.deepEqual([0, 1, 2, 3].map(blockId), ["AAAAAA==", "AQAAAA==", "AgAAAA==", "AwAAAA=="])
  assert.equal(blockId(256), "AAEAAA==")
  assert.equal(blockId(49_999), "T8MAAA==")
  assert.equal(blockId(0xffffffff), "/////w==")
  for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => blockId(bad), RangeError, String(bad))
})

test("blockIndexOf inverts blockId and refuses other schemes", () => {
  for (const i of [0, 1, 2, 3, 255, 256, 49_999, 0xffffffff]) assert.equal(blockIndexOf(blockId(i)), i)
  assert.equal(blockIndexOf("MD5/1B2M2Y8AsgTpgAmY7PhCfg=="), undefined, "v1 content-addressed id")
  assert.equal(blockIndexOf("AAAAAB=="), undefined, "non-canonical: low bits of the last character set")
  assert.equal(blockIndexOf("AAAAAAA="), undefined, "5 bytes")
  assert.equal(blockIndexOf("AAAA"), undefined)
  assert.equal(blockIndexOf("AAAA-A=="), undefined)
  assert.equal(blockIndexOf(""), undefined)
})

const plan = (length: number) => Either.getOrThrow(planBlocks("f", length))

test("planBlocks: 4 MiB blocks, the last shorter, contiguous, covering the file", () => {
  assert.deepEqual(plan(0), [])
  assert.deepEqual(plan(1), [{ index: 0, offset: 0, length: 1, id: "AAAAAA==" }])
  assert.deepEqual(plan(blockSize), [{ index: 0, offset: 0, length: blockSize, id: "AAAAAA==" }])
  assert.deepEqual(plan(blockSize + 1), [
    { index: 0, offset: 0, length: blockSize, id: "AAAAAA==" },
    { index: 1, offset: blockSize, length: 1, id: "AQAAAA==" },
  ])
  const p = plan(10 * MiB)
  assert.deepEqual(p.map((b) => [b.offset, b.length]), [[0, 4 * MiB], [4 * MiB, 4 * MiB], [8 * MiB, 2 * MiB]])
})

test("planBlocks: exactly 50,000 blocks fit; one byte more does not", () => {
  const max = plan(maxBlockBlobLength)
  assert.equal(max.length, 50_000)
  assert.equal(max.at(-1)!.offset + max.at(-1)!.length, maxBlockBlobLength)
  assert.equal(max.at(-1)!.id, blockId(49_999))
  const over = planBlocks("big.bin", maxBlockBlobLength + 1)
  assert.ok(Either.isLeft(over))
  assert.ok(over.left instanceof FileTooLargeForManifest)
  assert.equal(over.left.path, "big.bin")
  assert.equal(over.left.length, maxBlockBlobLength + 1)
  assert.equal(over.left.maxLength, maxBlockBlobLength)
})

test("planBlocks and blockCount refuse lengths that are not byte counts", () => {
  for (const bad of [-1, 0.5, Number.NaN, Infinity]) {
    assert.throws(() => planBlocks("f", bad), RangeError)
    assert.throws(() => blockCount(bad), RangeError)
  }
  assert.equal(blockCount(0), 0)
  assert.equal(blockCount(1), 1)
  assert.equal(blockCount(blockSize), 1)
  assert.equal(blockCount(blockSize + 1), 2)
  assert.equal(blockCount(maxBlockBlobLength), 50_000)
})

test("checkPageBlobLength: multiples of 512 only", () => {
  assert.deepEqual(checkPageBlobLength("d.vhd", 0), Either.right(0))
  assert.deepEqual(checkPageBlobLength("d.vhd", 1024), Either.right(1024))
  const bad = checkPageBlobLength("d.vhd", 1000)
  assert.ok(Either.isLeft(bad) && bad.left instanceof PageBlobLengthUnaligned)
  assert.equal(bad.left.path, "d.vhd")
  assert.equal(bad.left.length, 1000)
})

/** 4 MiB-ish chunk with the given pages (index → one non-zero byte at `at` within the page). */
const pages = (count: number, nonZero: ReadonlyArray<readonly [page: number, at: number]>): Uint8Array => {
  const b = new Uint8Array(count * 512)
  for (const [page, at] of nonZero) b[page * 512 + at] = 0x5a
  return b
}

test("pageRangesOf: maximal runs of non-zero pages, file offsets", () => {
  assert.deepEqual(pageRangesOf(new Uint8Array(0), 0), [])
  assert.deepEqual(pageRangesOf(pages(8, []), 0), [])
  assert.deepEqual(pageRangesOf(pages(8, [[0, 0]]), 0), [{ offset: 0, length: 512 }])
  assert.deepEqual(pageRangesOf(pages(8, [[1, 511], [2, 0], [3, 7], [6, 300]]), 0), [
    { offset: 512, length: 1536 },
    { offset: 3072, length: 512 },
  ])
  assert.deepEqual(pageRangesOf(pages(8, [[7, 511]]), 8 * MiB), [{ offset: 8 * MiB + 3584, length: 512 }])
  const full = new Uint8Array(4 * MiB).fill(1)
  assert.deepEqual(pageRangesOf(full, 4 * MiB), [{ offset: 4 * MiB, length: 4 * MiB }])
})

test("pageRangesOf: same answer for views that are not 4-byte aligned in their buffer", () => {
  const chunk = pages(16, [[0, 3], [1, 0], [5, 511], [9, 100], [10, 0], [15, 200]])
  const expected = pageRangesOf(chunk, 0)
  for (const shift of [1, 2, 3, 5]) {
    const backing = new Uint8Array(chunk.length + shift)
    backing.set(chunk, shift)
    assert.deepEqual(pageRangesOf(backing.subarray(shift), 0), expected, `shift ${shift}`)
    assert.deepEqual(pageRangesOf(Buffer.from(backing.buffer, shift, chunk.length), 0), expected, `Buffer shift ${shift}`)
  }
  assert.deepEqual(expected, [
    { offset: 0, length: 1024 },
    { offset: 2560, length: 512 },
    { offset: 4608, length: 1024 },
    { offset: 7680, length: 512 },
  ])
})

test("pageRangesOf refuses chunks that break its preconditions", () => {
  assert.throws(() => pageRangesOf(new Uint8Array(512), 512), RangeError, "not at a 4 MiB boundary")
  assert.throws(() => pageRangesOf(new Uint8Array(512), -4 * MiB), RangeError)
  assert.throws(() => pageRangesOf(new Uint8Array(4 * MiB + 512), 0), RangeError, "more than 4 MiB")
  assert.throws(() => pageRangesOf(new Uint8Array(1000), 0), RangeError, "partial page")
})

test("describeBlocks: blocks of a chunk with ids and MD5s", () => {
  const chunk = new Uint8Array(blockSize + 10)
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff
  const blocks = describeBlocks(chunk, 2 * blockSize, 2)
  assert.deepEqual(blocks, [
    { index: 2, offset: 2 * blockSize, length: blockSize, id: "AgAAAA==", hash: md5Hex(chunk.subarray(0, blockSize)) },
    { index: 3, offset: 3 * blockSize, length: 10, id: "AwAAAA==", hash: md5Hex(chunk.subarray(blockSize)) },
  ])
  assert.deepEqual(describeBlocks(new Uint8Array(0), 0, 0), [])
  assert.deepEqual(describeBlocks(new Uint8Array(3), 0, 0), [{ index: 0, offset: 0, length: 3, id: "AAAAAA==", hash: md5Hex(new Uint8Array(3)) }])
  assert.throws(() => describeBlocks(chunk, 0, 1), RangeError, "offset and index disagree")
  assert.throws(() => describeBlocks(chunk, -blockSize, -1), RangeError)
})

test("describePageRanges: ranges with the MD5 of exactly their bytes", () => {
  const chunk = pages(8, [[1, 0], [2, 9], [5, 1]])
  const got = describePageRanges(chunk, 4 * MiB)
  assert.deepEqual(got, [
    { offset: 4 * MiB + 512, length: 1024, hash: md5Hex(chunk.subarray(512, 1536)) },
    { offset: 4 * MiB + 2560, length: 512, hash: md5Hex(chunk.subarray(2560, 3072)) },
  ])
})

test("parseLength: decimal digits, blanks around them, a whole number JS holds exactly", () => {
  for (const [text, n] of [["0", 0], ["65536", 65536], [" 42\t", 42], ["007", 7], ["999999999999999", 999_999_999_999_999], ["9007199254740991", 2 ** 53 - 1]] as const) assert.equal(parseLength(text), n, JSON.stringify(text))
  for (const text of ["", " ", "-1", "+1", "1.5", "1e3", "0x10", "1 000", "٣", "9007199254740992"]) assert.equal(parseLength(text), undefined, JSON.stringify(text))
})

// ---- block list rules

const fields = (ps: ReadonlyArray<RuleProblem>) => ps.map((p) => [p.index, p.field])
const good = (length: number): Array<BlockEntry> => plan(length).map((b) => ({ offset: b.offset, length: b.length, id: b.id, hash: zeroHash }))

test("checkBlockList: waie's own plans pass", () => {
  for (const length of [0, 1, blockSize, blockSize + 1, 100 * MiB + 3]) assert.deepEqual(checkBlockList(good(length), length), [], String(length))
})

test("checkBlockList: first block not at 0, gaps and overlaps, each reported once", () => {
  assert.deepEqual(checkBlockList([{ offset: 5, length: 10 }], 15), [
    { index: 0, field: "Block/@Offset", expected: "0 (the first block starts the file)", found: "5" },
  ])
  const gap = checkBlockList([{ offset: 0, length: 10 }, { offset: 12, length: 10 }, { offset: 22, length: 10 }], 32)
  assert.deepEqual(gap, [{ index: 1, field: "Block/@Offset", expected: "10 (right after the previous block)", found: "12 (a gap of 2 bytes)" }])
  const overlap = checkBlockList([{ offset: 0, length: 10 }, { offset: 8, length: 10 }, { offset: 18, length: 2 }], 20)
  assert.deepEqual(overlap, [{ index: 1, field: "Block/@Offset", expected: "10 (right after the previous block)", found: "8 (overlapping earlier blocks by 2 bytes)" }])
})

test("checkBlockList: lengths from 1 byte to 4 MiB", () => {
  const ps = checkBlockList([{ offset: 0, length: 0 }, { offset: 0, length: blockSize + 1 }, { offset: blockSize + 1, length: 1.5 }], blockSize + 1)
  assert.deepEqual(fields(ps), [[0, "Block/@Length"], [1, "Block/@Length"], [2, "Block/@Length"]], "an unusable length counts as 0 for coverage: not reported twice")
  assert.equal(ps[1]!.expected, "1 to 4194304 bytes (4 MiB)")
  assert.equal(ps[1]!.found, "4194305")
})

test("checkBlockList: the list must end at the file's length", () => {
  assert.deepEqual(checkBlockList([{ offset: 0, length: 10 }], 12), [
    { index: 0, field: "BlockList", expected: "blocks ending at the file's length, 12", found: "the last block ends at 10 (2 bytes short of the end)" },
  ])
  assert.deepEqual(checkBlockList([], 1), [{ index: 0, field: "BlockList", expected: "blocks covering the file's 1 byte", found: "no blocks" }])
  assert.deepEqual(checkBlockList([], 0), [])
})

test("checkBlockList: the first block that ends past the file is reported, once, and the list is not also called short", () => {
  assert.deepEqual(checkBlockList([{ offset: 0, length: 10 }], 8), [
    { index: 0, field: "Block", expected: "blocks inside the file's 8 bytes", found: "a block ending at 10 (2 bytes past the end)" },
  ])
  const past = checkBlockList([{ offset: 0, length: 4 }, { offset: 4, length: 5 }, { offset: 9, length: 3 }], 8)
  assert.deepEqual(past, [{ index: 1, field: "Block", expected: "blocks inside the file's 8 bytes", found: "a block ending at 9 (1 byte past the end)" }])
  // out of order: past the end at block 1, then back; no "short of the end" on top
  const back = checkBlockList([{ offset: 0, length: 4 }, { offset: 8, length: 4 }, { offset: 4, length: 4 }], 10)
  assert.deepEqual(fields(back), [[1, "Block/@Offset"], [1, "Block"], [2, "Block/@Offset"]])
})

test("checkBlockList: ids are Base64 of 1-64 bytes, all of one length; repeats are allowed", () => {
  const ps = checkBlockList(
    [
      { offset: 0, length: 1, id: "AAAAAA==" },
      { offset: 1, length: 1, id: "not base64!" },
      { offset: 2, length: 1, id: "" },
      { offset: 3, length: 1, id: "A".repeat(88) },
      { offset: 4, length: 1, id: "AAAA" },
      { offset: 5, length: 1, id: "AAAAAA==" },
    ],
    6,
  )
  assert.deepEqual(fields(ps), [[1, "Block/@Id"], [2, "Block/@Id"], [3, "Block/@Id"], [4, "Block/@Id"]])
  assert.equal(ps[0]!.found, '"not base64!"')
  assert.equal(ps[1]!.found, "an empty id")
  assert.match(ps[2]!.found, /^66 bytes \("/)
  assert.equal(ps[3]!.expected, "an id of 4 bytes, like the blob's earlier ids (all ids of a blob have one length)")
  assert.equal(ps[3]!.found, '3 bytes ("AAAA")')
  // 64 bytes exactly is fine; v1's content-addressed ids (MD5/…) are Base64 too
  assert.deepEqual(checkBlockList([{ offset: 0, length: 1, id: "A".repeat(86) + "==" }], 1), [])
  assert.deepEqual(checkBlockList([{ offset: 0, length: 1, id: "MD5/1B2M2Y8AsgTpgAmY7PhCfg==" }, { offset: 1, length: 1, id: "MD5/1B2M2Y8AsgTpgAmY7PhCfg==" }], 2), [])
})

test("checkBlockList: ids of one length means one decoded length, not only one number of characters", () => {
  // both 8 characters, but 4 and 5 bytes: the service compares the ids themselves
  const ps = checkBlockList([{ offset: 0, length: 1, id: "AAAAAA==" }, { offset: 1, length: 1, id: "AgAAAAA=" }], 2)
  assert.deepEqual(ps, [{ index: 1, field: "Block/@Id", expected: "an id of 4 bytes, like the blob's earlier ids (all ids of a blob have one length)", found: '5 bytes ("AgAAAAA=")' }])
})

test("blockIdProblem: Base64 of 1 to 64 bytes", () => {
  assert.equal(blockIdProblem("AAAAAA=="), undefined)
  assert.equal(blockIdProblem("A".repeat(86) + "=="), undefined)
  assert.deepEqual(blockIdProblem(""), { expected: "a Base64 string of 1 to 64 bytes", found: "an empty id" })
  assert.deepEqual(blockIdProblem("AQAAAA="), { expected: "a Base64 string of 1 to 64 bytes", found: '"AQAAAA="' })
  assert.match(blockIdProblem(Buffer.alloc(65).toString("base64"))!.found, /^65 bytes \("AAAA/)
})

test("checkBlockList: ids all present or all absent on a blob of at most 64 MiB only", () => {
  const mixed = [{ offset: 0, length: blockSize, id: "AAAAAA==" }, { offset: blockSize, length: blockSize }, { offset: 2 * blockSize, length: 5, id: "AgAAAA==" }]
  const ps = checkBlockList(mixed, 2 * blockSize + 5)
  assert.deepEqual(ps, [{ index: 1, field: "Block/@Id", expected: "ids on all blocks or on none (a blob of at most 64 MiB)", found: "a block without an id after blocks with ids" }], "reported once, at the first block that breaks the rule")
  const reversed = checkBlockList([{ offset: 0, length: 1 }, { offset: 1, length: 1, id: "AQAAAA==" }], 2)
  assert.equal(reversed[0]!.found, "a block with an id after blocks without")
  assert.deepEqual(checkBlockList([{ offset: 0, length: 3 }, { offset: 3, length: 3 }], 6), [], "all absent")
  // above 64 MiB the rule does not apply
  const big = good(64 * MiB + 1).map((b, i) => (i === 3 ? { offset: b.offset, length: b.length } : b))
  assert.deepEqual(checkBlockList(big, 64 * MiB + 1), [])
  const atLimit = good(64 * MiB).map((b, i) => (i === 3 ? { offset: b.offset, length: b.length } : b))
  assert.deepEqual(fields(checkBlockList(atLimit, 64 * MiB)), [[3, "Block/@Id"]])
})

test("checkBlockList: hashes are checked when given", () => {
  const ps = checkBlockList([{ offset: 0, length: 1, hash: "xyz" }, { offset: 1, length: 1, hash: zeroHash.toLowerCase() }], 2)
  assert.deepEqual(ps, [{ index: 0, field: "Block/@Hash", expected: "32 hex digits (the MD5 of the block)", found: '"xyz"' }])
})

test("BlockListChecker: at most 50,000 blocks, found in constant memory, places carried", () => {
  const c = new BlockListChecker(50_001)
  let perBlock = 0
  for (let i = 0; i <= maxBlocksPerBlob; i++) perBlock += c.add({ offset: i, length: 1, id: blockId(i) }, 100 + i).length
  assert.equal(perBlock, 0)
  assert.equal(c.count, 50_001)
  assert.deepEqual(c.finish(), [{ index: 50_000, at: 50_100, field: "BlockList", expected: "at most 50000 blocks in one blob", found: "50001 blocks" }])
  assert.throws(() => c.add({ offset: 0, length: 1 }), /after finish/)
  assert.throws(() => c.finish(), /twice/)
})

test("BlockListChecker: add reports that block's problems with its place, whatever the caller uses for one", () => {
  const c = new BlockListChecker(13)
  assert.deepEqual(c.add({ offset: 0, length: 4 }, 7), [])
  assert.deepEqual(c.add({ offset: 9, length: 4 }, 8), [{ index: 1, at: 8, field: "Block/@Offset", expected: "4 (right after the previous block)", found: "9 (a gap of 5 bytes)" }])
  assert.deepEqual(c.finish(), [])
  const short = new BlockListChecker<{ line: number; column: number }>(20)
  short.add({ offset: 0, length: 4 }, { line: 3, column: 9 })
  assert.deepEqual(short.finish(), [{ index: 0, at: { line: 3, column: 9 }, field: "BlockList", expected: "blocks ending at the file's length, 20", found: "the last block ends at 4 (16 bytes short of the end)" }])
  assert.throws(() => new BlockListChecker(-1), RangeError)
})

test("checkBlockList: offsets that are not numbers are reported, and checking carries on", () => {
  const ps = checkBlockList([{ offset: Number.NaN, length: 4 }, { offset: 4, length: 4 }], 8)
  assert.deepEqual(ps, [{ index: 0, field: "Block/@Offset", expected: "a whole number of bytes ≥ 0", found: "NaN" }])
})

// ---- page range rules

test("checkPageRanges: aligned, 512 B-4 MiB, ordered, no overlap, inside the file; gaps are fine", () => {
  assert.deepEqual(checkPageRanges([], 0), [])
  assert.deepEqual(checkPageRanges([{ offset: 0, length: 512, hash: zeroHash }, { offset: 4 * MiB, length: 4 * MiB }], 8 * MiB), [])
  assert.deepEqual(checkPageRanges([{ offset: 512, length: 4 * MiB }], 5 * MiB), [], "4 MiB boundaries may be crossed by input ranges")
  const ps = checkPageRanges(
    [
      { offset: 100, length: 512 },
      { offset: 1024, length: 1000 },
      { offset: 1536, length: 512 },
      { offset: 4096, length: 4 * MiB + 512 },
      { offset: 8 * MiB, length: 0 },
      { offset: 9 * MiB, length: 512, hash: "nope" },
    ],
    16 * MiB,
  )
  assert.deepEqual(fields(ps), [
    [0, "PageRange/@Offset"],
    [1, "PageRange/@Length"],
    [2, "PageRange/@Offset"],
    [3, "PageRange/@Length"],
    [4, "PageRange/@Length"],
    [5, "PageRange/@Hash"],
  ])
  assert.equal(ps[0]!.found, "100 (100 bytes past a page boundary)")
  assert.equal(ps[5]!.expected, "32 hex digits (the MD5 of the range)")
  assert.equal(ps[2]!.expected, "at least 2024 (ranges in offset order, not overlapping)")
  assert.equal(ps[3]!.expected, "a multiple of 512 from 512 to 4194304 bytes (4 MiB)")
})

test("checkPageRanges: the first range past the end of the file is reported, at that range, once", () => {
  assert.deepEqual(checkPageRanges([{ offset: 0, length: 512 }, { offset: 1024, length: 1024 }, { offset: 2048, length: 512 }], 1536), [
    { index: 1, field: "PageRange", expected: "ranges inside the file's 1536 bytes", found: "a range ending at 2048 (512 bytes past the end)" },
  ])
  const c = new PageRangeChecker(512)
  assert.deepEqual(c.add({ offset: 0, length: 1024 }, 3), [{ index: 0, at: 3, field: "PageRange", expected: "ranges inside the file's 512 bytes", found: "a range ending at 1024 (512 bytes past the end)" }])
  assert.deepEqual(c.finish(), [])
  assert.throws(() => c.add({ offset: 0, length: 512 }), /after finish/)
})

test("blobLengthProblems: a page blob is whole pages and at most 8 TiB; a block blob at most 50,000 blocks of 4 MiB", () => {
  assert.equal(maxPageBlobLength, 8 * 1024 ** 4)
  assert.deepEqual(blobLengthProblems("page", 0), [])
  assert.deepEqual(blobLengthProblems("page", maxPageBlobLength), [])
  assert.deepEqual(blobLengthProblems("page", 1048577), [{ expected: "a multiple of 512 for a page blob", found: "1048577 (1 byte past the last full page)" }])
  assert.deepEqual(blobLengthProblems("page", maxPageBlobLength + 512), [{ expected: "at most 8796093022208 bytes (8 TiB) for a page blob", found: "8796093022720" }])
  assert.equal(blobLengthProblems("page", maxPageBlobLength + 1).length, 2)
  assert.deepEqual(blobLengthProblems("block", maxBlockBlobLength), [])
  assert.deepEqual(blobLengthProblems("block", 1048577), [])
  assert.deepEqual(blobLengthProblems("block", maxBlockBlobLength + 1), [{ expected: "at most 209715200000 bytes for a block blob (50,000 blocks of 4 MiB)", found: "209715200001" }])
})
