/**
 * Blocks and page ranges: how a file is cut for the manifest, and the rules a block list or a
 * page-range list must keep (reference: 001_… BlockList/PageRangeList, formats.md §6.3–§6.5).
 *
 * - A block blob is described by blocks of at most 4 MiB, ordered by offset, contiguous, covering
 *   the whole file, at most 50,000 of them; ids are Base64 of at most 64 bytes, all of one length.
 *   waie cuts files into 4 MiB blocks (only the last one shorter) and names block i with the
 *   Base64 of i as 4 little-endian bytes (`AAAAAA==`, `AQAAAA==`, … as in the copy-log samples).
 * - A page blob's length is a multiple of 512; its ranges are 512-aligned, at most 4 MiB,
 *   ordered and not overlapping; all-zero pages need not be sent. waie's ranges are the maximal
 *   runs of non-zero 512-byte pages, split at every 4 MiB boundary of the file.
 *
 * Everything here is pure and synchronous: the copy pipeline calls `describeBlocks` /
 * `describePageRanges` in worker threads on 4 MiB chunks; the manifest reader feeds
 * `BlockListChecker` / `PageRangeChecker` one element at a time.
 */
import { Either } from "effect"
import { FileTooLargeForManifest, PageBlobLengthUnaligned, showValue } from "./errors.ts"
import { base64DecodedLength, isBase64, isMd5Hex, md5Hex } from "./hash.ts"

const MiB = 1024 * 1024

/** The size of every block but the last one (4 MiB, the manifest's cap on Block/@Length). */
export const blockSize = 4 * MiB
export const maxBlocksPerBlob = 50_000
/** 50,000 × 4 MiB = 209,715,200,000 bytes (the manifest doc's "200 GB"). */
export const maxBlockBlobLength = maxBlocksPerBlob * blockSize
export const pageSize = 512
export const maxPageRangeLength = 4 * MiB
/** Up to this length a blob's block ids must be all present or all absent. */
export const smallBlobLimit = 64 * MiB
/** A block id decodes to at most this many bytes (Put Block). */
export const maxBlockIdBytes = 64

const isLength = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

const requireLength = (what: string, n: number): void => {
  if (!isLength(n)) throw new RangeError(`${what} must be a whole number ≥ 0, got ${n}`)
}

// ---------------------------------------------------------------------------------------------
// Block ids

const idScratch = Buffer.alloc(4)

/** The id of block `index`: Base64 of the index as 4 little-endian bytes (8 characters, every id the same length). */
export const blockId = (index: number): string => {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`a block index is a whole number in 0..4294967295, got ${index}`)
  idScratch.writeUInt32LE(index, 0)
  return idScratch.toString("base64")
}

/** The index a `blockId` names, or undefined for an id of any other scheme (e.g. v1's `MD5/…` ids). */
export const blockIndexOf = (id: string): number | undefined => {
  if (id.length !== 8 || !id.endsWith("==") || !isBase64(id)) return undefined
  const index = Buffer.from(id, "base64").readUInt32LE(0)
  // only the canonical spelling: the low bits of the last character must be zero
  return blockId(index) === id ? index : undefined
}

// ---------------------------------------------------------------------------------------------
// Block plans

export interface PlannedBlock {
  readonly index: number
  readonly offset: number
  readonly length: number
  readonly id: string
}

/** Number of blocks a file of `length` bytes is cut into (0 for an empty file). */
export const blockCount = (length: number): number => {
  requireLength("a file length", length)
  return Math.ceil(length / blockSize)
}

/**
 * The blocks of a file: 4 MiB each, the last one shorter, contiguous from 0 to `length`; an empty
 * file has none. Fails when the file needs more than 50,000 blocks (the manifest cannot describe
 * it as one block blob). `path` only names the file in the error.
 */
export const planBlocks = (path: string, length: number): Either.Either<ReadonlyArray<PlannedBlock>, FileTooLargeForManifest> => {
  requireLength("a file length", length)
  if (length > maxBlockBlobLength) return Either.left(new FileTooLargeForManifest({ path, length, maxLength: maxBlockBlobLength }))
  const count = blockCount(length)
  const plan: Array<PlannedBlock> = new Array(count)
  for (let index = 0; index < count; index++) {
    const offset = index * blockSize
    plan[index] = { index, offset, length: Math.min(blockSize, length - offset), id: blockId(index) }
  }
  return Either.right(plan)
}

// ---------------------------------------------------------------------------------------------
// Page blobs and page ranges

/** A page blob's length must be a multiple of 512. Right carries the length back. */
export const checkPageBlobLength = (path: string, length: number): Either.Either<number, PageBlobLengthUnaligned> => {
  requireLength("a file length", length)
  return length % pageSize === 0 ? Either.right(length) : Either.left(new PageBlobLengthUnaligned({ path, length }))
}

export interface PageRange {
  readonly offset: number
  readonly length: number
}

const zeroPage = Buffer.alloc(pageSize)

/**
 * Whether the page at `at` is all zero. `words` is a Uint32Array view of the same bytes when the
 * chunk is 4-byte aligned in its buffer (OR-ing words is the fastest test measured: ≈ 12 GB/s);
 * otherwise a native compare against a zero page.
 */
const zeroAt = (bytes: Buffer, words: Uint32Array | undefined, at: number): boolean => {
  if (words !== undefined) {
    const end = (at + pageSize) >>> 2
    for (let i = at >>> 2; i < end; i += 8) {
      if ((words[i]! | words[i + 1]! | words[i + 2]! | words[i + 3]! | words[i + 4]! | words[i + 5]! | words[i + 6]! | words[i + 7]!) !== 0) return false
    }
    return true
  }
  return zeroPage.compare(bytes, at, at + pageSize, 0, pageSize) === 0
}

const checkChunk = (chunk: Uint8Array, chunkOffset: number): void => {
  if (!isLength(chunkOffset) || chunkOffset % maxPageRangeLength !== 0) throw new RangeError(`a page chunk must start at a multiple of 4 MiB, got offset ${chunkOffset}`)
  if (chunk.length > maxPageRangeLength) throw new RangeError(`a page chunk holds at most 4 MiB, got ${chunk.length} bytes`)
  if (chunk.length % pageSize !== 0) throw new RangeError(`a page chunk holds whole 512-byte pages, got ${chunk.length} bytes`)
}

/**
 * The ranges to send for one chunk of a page blob: the maximal runs of pages that are not all
 * zero, as file offsets. The chunk must start at a multiple of 4 MiB and hold at most 4 MiB of
 * whole pages (the last chunk of a file may be shorter), so no range crosses a 4 MiB boundary
 * and every range is at most 4 MiB. Throws RangeError when a precondition is broken.
 */
export const pageRangesOf = (chunk: Uint8Array, chunkOffset: number): Array<PageRange> => {
  checkChunk(chunk, chunkOffset)
  const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  const words = chunk.byteOffset % 4 === 0 ? new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength >>> 2) : undefined
  const ranges: Array<PageRange> = []
  let start = -1
  for (let at = 0; at < chunk.length; at += pageSize) {
    if (zeroAt(bytes, words, at)) {
      if (start !== -1) {
        ranges.push({ offset: chunkOffset + start, length: at - start })
        start = -1
      }
    } else if (start === -1) start = at
  }
  if (start !== -1) ranges.push({ offset: chunkOffset + start, length: chunk.length - start })
  return ranges
}

// ---------------------------------------------------------------------------------------------
// Describing chunks (offset, length, id, MD5) for the manifest

export interface DescribedBlock {
  readonly index: number
  readonly offset: number
  readonly length: number
  readonly id: string
  /** upper-case Base16 MD5 of the block */
  readonly hash: string
}

export interface DescribedPageRange {
  readonly offset: number
  readonly length: number
  readonly hash: string
}

/**
 * The blocks of a chunk that starts at block `firstIndex` (so at `firstIndex × 4 MiB` of the file):
 * 4 MiB each, the last one shorter if the chunk ends the file. A chunk may hold several blocks.
 */
export const describeBlocks = (chunk: Uint8Array, chunkOffset: number, firstIndex: number): Array<DescribedBlock> => {
  if (!Number.isInteger(firstIndex) || firstIndex < 0) throw new RangeError(`a block index is a whole number ≥ 0, got ${firstIndex}`)
  if (chunkOffset !== firstIndex * blockSize) throw new RangeError(`block ${firstIndex} starts at ${firstIndex * blockSize}, not at ${chunkOffset}`)
  const blocks: Array<DescribedBlock> = []
  for (let at = 0, index = firstIndex; at < chunk.length; at += blockSize, index++) {
    const end = Math.min(at + blockSize, chunk.length)
    blocks.push({ index, offset: chunkOffset + at, length: end - at, id: blockId(index), hash: md5Hex(chunk.subarray(at, end)) })
  }
  return blocks
}

/** The page ranges of a chunk (see `pageRangesOf`) with the MD5 of each. */
export const describePageRanges = (chunk: Uint8Array, chunkOffset: number): Array<DescribedPageRange> =>
  pageRangesOf(chunk, chunkOffset).map(({ offset, length }) => {
    const from = offset - chunkOffset
    return { offset, length, hash: md5Hex(chunk.subarray(from, from + length)) }
  })

// ---------------------------------------------------------------------------------------------
// Rule checks shared by the manifest checker, the copy-log reader and the executors

/** A block as read from a manifest or log (hash optional: checked only when given). */
export interface BlockEntry {
  readonly offset: number
  readonly length: number
  readonly id?: string | undefined
  readonly hash?: string | undefined
}

export interface PageRangeEntry {
  readonly offset: number
  readonly length: number
  readonly hash?: string | undefined
}

/**
 * One broken rule. `index` is the 0-based position of the element in its list (for problems of
 * the list as a whole: the element where it shows, e.g. the last block for a list that stops
 * short of the file's end, or 0 for an empty list). `line` is whatever the caller passed with
 * that element. `field` names the attribute (`Block/@Offset`) or the list (`BlockList`).
 */
export interface RuleProblem {
  readonly index: number
  readonly line?: number
  readonly field: string
  readonly expected: string
  readonly found: string
}

const none: ReadonlyArray<RuleProblem> = Object.freeze([])

const problem = (index: number, line: number | undefined, field: string, expected: string, found: string): RuleProblem =>
  line === undefined ? { index, field, expected, found } : { index, line, field, expected, found }

const showNumber = (n: number): string => (typeof n === "number" ? String(n) : showValue(String(n)))

const hashExpected = "an MD5 in Base16: 32 hex digits"

/**
 * Checks a block list one block at a time, in constant memory (a 50,000-block list is never
 * held). `add` returns the problems of that block; `finish` those that need the whole list
 * (coverage of the file, the 50,000 cap, ids all present or all absent on a blob ≤ 64 MiB).
 * After a misplaced block the checker carries on from where that block ends, so one gap gives
 * one problem, not one per following block. Hashes are checked as given: normalise them first.
 */
export class BlockListChecker {
  #count = 0
  #next = 0
  #lastLine: number | undefined
  #idLength: number | undefined
  #firstHasId: boolean | undefined
  #mixedAt: number | undefined
  #mixedLine: number | undefined
  #overLine: number | undefined
  #finished = false

  /** Blocks added so far. */
  get count(): number {
    return this.#count
  }

  add(block: BlockEntry, line?: number): ReadonlyArray<RuleProblem> {
    if (this.#finished) throw new Error("BlockListChecker: add after finish")
    const index = this.#count++
    this.#lastLine = line
    if (index === maxBlocksPerBlob) this.#overLine = line
    let found: Array<RuleProblem> | undefined
    const report = (p: RuleProblem) => void (found ??= []).push(p)

    const { offset, length, id, hash } = block
    let at = this.#next
    if (!isLength(offset)) report(problem(index, line, "Block/@Offset", "a whole number of bytes ≥ 0", showNumber(offset)))
    else {
      if (offset !== this.#next) {
        if (index === 0) report(problem(index, line, "Block/@Offset", "0 (the first block starts the file)", String(offset)))
        else if (offset > this.#next) report(problem(index, line, "Block/@Offset", `${this.#next} (right after the previous block)`, `${offset} (a gap of ${offset - this.#next} bytes)`))
        else report(problem(index, line, "Block/@Offset", `${this.#next} (right after the previous block)`, `${offset} (overlapping earlier blocks by ${this.#next - offset} bytes)`))
      }
      at = offset
    }
    if (!isLength(length) || length < 1 || length > blockSize) {
      report(problem(index, line, "Block/@Length", `1 to ${blockSize} bytes (4 MiB)`, showNumber(length)))
    }
    this.#next = at + (isLength(length) ? length : 0)

    const hasId = id !== undefined
    if (this.#firstHasId === undefined) this.#firstHasId = hasId
    else if (hasId !== this.#firstHasId && this.#mixedAt === undefined) {
      this.#mixedAt = index
      this.#mixedLine = line
    }
    if (id !== undefined) {
      if (id.length === 0 || !isBase64(id)) report(problem(index, line, "Block/@Id", `a Base64 string of 1 to ${maxBlockIdBytes} bytes`, id.length === 0 ? "an empty id" : showValue(id)))
      else {
        const bytes = base64DecodedLength(id)
        if (bytes > maxBlockIdBytes) report(problem(index, line, "Block/@Id", `a Base64 string of 1 to ${maxBlockIdBytes} bytes`, `${showValue(id)} (${bytes} bytes)`))
        else if (this.#idLength === undefined) this.#idLength = id.length
        else if (id.length !== this.#idLength) {
          report(problem(index, line, "Block/@Id", `an id of ${this.#idLength} characters, like the blob's earlier ids (all ids of a blob have one length)`, `${showValue(id)} (${id.length} characters)`))
        }
      }
    }
    if (hash !== undefined && !isMd5Hex(hash)) report(problem(index, line, "Block/@Hash", hashExpected, showValue(hash)))
    return found ?? none
  }

  /** The problems of the list as a whole, for a file of `fileLength` bytes. Call once, after the last `add`. */
  finish(fileLength: number): ReadonlyArray<RuleProblem> {
    if (this.#finished) throw new Error("BlockListChecker: finish called twice")
    requireLength("a file length", fileLength)
    this.#finished = true
    const found: Array<RuleProblem> = []
    const count = this.#count
    if (count > maxBlocksPerBlob) {
      found.push(problem(maxBlocksPerBlob, this.#overLine, "BlockList", `at most ${maxBlocksPerBlob} blocks in one blob`, `${count} blocks`))
    }
    if (count === 0) {
      if (fileLength > 0) found.push(problem(0, undefined, "BlockList", `blocks covering the file's ${fileLength} bytes`, "no blocks"))
    } else if (this.#next !== fileLength) {
      const how = this.#next < fileLength ? `${fileLength - this.#next} bytes short of the end` : `${this.#next - fileLength} bytes past the end`
      found.push(problem(count - 1, this.#lastLine, "BlockList", `blocks ending at the file's length, ${fileLength}`, `the last block ends at ${this.#next} (${how})`))
    }
    if (this.#mixedAt !== undefined && fileLength <= smallBlobLimit) {
      const what = this.#firstHasId ? "a block without an id after blocks with ids" : "a block with an id after blocks without"
      found.push(problem(this.#mixedAt, this.#mixedLine, "Block/@Id", "ids on all blocks or on none (a blob of at most 64 MiB)", what))
    }
    return found
  }
}

/**
 * Checks a page-range list one range at a time (see `BlockListChecker`). Ranges may leave gaps
 * (uncovered bytes are zero pages), but must be 512-aligned, 512 bytes to 4 MiB long, in offset
 * order, not overlapping, and inside the file. The file length's own alignment is
 * `checkPageBlobLength`'s business, not repeated here.
 */
export class PageRangeChecker {
  #count = 0
  #end = 0
  #endIndex = 0
  #endLine: number | undefined
  #finished = false

  get count(): number {
    return this.#count
  }

  add(range: PageRangeEntry, line?: number): ReadonlyArray<RuleProblem> {
    if (this.#finished) throw new Error("PageRangeChecker: add after finish")
    const index = this.#count++
    let found: Array<RuleProblem> | undefined
    const report = (p: RuleProblem) => void (found ??= []).push(p)
    const { offset, length, hash } = range
    const offsetOk = isLength(offset)
    if (!offsetOk) report(problem(index, line, "PageRange/@Offset", "a whole number of bytes ≥ 0, a multiple of 512", showNumber(offset)))
    else if (offset % pageSize !== 0) report(problem(index, line, "PageRange/@Offset", "a multiple of 512", `${offset} (${offset % pageSize} bytes past a page boundary)`))
    if (offsetOk && offset < this.#end) {
      report(problem(index, line, "PageRange/@Offset", `at least ${this.#end} (ranges in offset order, not overlapping)`, `${offset} (before the end of an earlier range)`))
    }
    const lengthOk = isLength(length)
    if (!lengthOk || length < pageSize || length > maxPageRangeLength || length % pageSize !== 0) {
      report(problem(index, line, "PageRange/@Length", `a multiple of 512 from 512 to ${maxPageRangeLength} bytes (4 MiB)`, showNumber(length)))
    }
    if (offsetOk && lengthOk && offset + length > this.#end) {
      this.#end = offset + length
      this.#endIndex = index
      this.#endLine = line
    }
    if (hash !== undefined && !isMd5Hex(hash)) report(problem(index, line, "PageRange/@Hash", hashExpected, showValue(hash)))
    return found ?? none
  }

  finish(fileLength: number): ReadonlyArray<RuleProblem> {
    if (this.#finished) throw new Error("PageRangeChecker: finish called twice")
    requireLength("a file length", fileLength)
    this.#finished = true
    if (this.#end <= fileLength) return none
    return [problem(this.#endIndex, this.#endLine, "PageRangeList", `ranges inside the file's ${fileLength} bytes`, `a range ending at ${this.#end} (${this.#end - fileLength} bytes past the end)`)]
  }
}

const byIndex = (a: RuleProblem, b: RuleProblem): number => a.index - b.index

/** Every problem of a whole block list, ordered by block (stable: per-block order kept). */
export const checkBlockList = (blocks: ReadonlyArray<BlockEntry>, fileLength: number): Array<RuleProblem> => {
  const checker = new BlockListChecker()
  const found: Array<RuleProblem> = []
  for (const b of blocks) found.push(...checker.add(b))
  found.push(...checker.finish(fileLength))
  return found.sort(byIndex)
}

/** Every problem of a whole page-range list, ordered by range. */
export const checkPageRanges = (ranges: ReadonlyArray<PageRangeEntry>, fileLength: number): Array<RuleProblem> => {
  const checker = new PageRangeChecker()
  const found: Array<RuleProblem> = []
  for (const r of ranges) found.push(...checker.add(r))
  found.push(...checker.finish(fileLength))
  return found.sort(byIndex)
}
