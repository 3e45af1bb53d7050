/**
 * Blocks and page ranges: how a file is cut for the manifest, and the rules a block list or a
 * page-range list must keep (reference: 001_… BlockList/PageRangeList, formats.md §6.3–§6.5).
 *
 * - A block blob is described by blocks of at most 4 MiB, ordered by offset, contiguous, covering
 *   the whole file, at most 50,000 of them; ids are Base64 of at most 64 bytes, all of one length.
 *   waie cuts files into 4 MiB blocks (only the last one shorter) and names block i with the
 *   Base64 of i as 4 little-endian bytes (`AAAAAA==`, `AQAAAA==`, … as in the copy-log samples).
 * - A page blob's length is a multiple of 512, at most 8 TiB; its ranges are 512-aligned, at most
 *   4 MiB, ordered and not overlapping; all-zero pages need not be sent. waie's ranges are the
 *   maximal runs of non-zero 512-byte pages, split at every 4 MiB boundary of the file.
 *
 * Everything here is pure and synchronous: the copy pipeline calls `describeBlocks` /
 * `describePageRanges` in worker threads on 4 MiB chunks; the manifest checker feeds
 * `BlockListChecker` / `PageRangeChecker` one element at a time.
 */
import { Either } from "effect"
import { FileTooLargeForManifest, PageBlobLengthUnaligned, showValue } from "./errors.ts"
import { base64DecodedLength, isBase64, isMd5Hex } from "./hash.ts"
import { blockId, blockSize, maxPageRangeLength, pageSize } from "./chunks.js"

// The chunk rules the copy pipeline's hashing workers need live in ./chunks.js, plain JavaScript
// that loads nothing but node:crypto (a worker needs no tsx); they are part of this module's API.
export { blockId, blockSize, type DescribedBlock, type DescribedPageRange, describeBlocks, describePageRanges, maxPageRangeLength, type PageRange, pageRangesOf, pageSize } from "./chunks.js"

const MiB = 1024 * 1024

export const maxBlocksPerBlob = 50_000
/** 50,000 × 4 MiB = 209,715,200,000 bytes (the manifest doc's "200 GB"). */
export const maxBlockBlobLength = maxBlocksPerBlob * blockSize
/** The longest page blob: 8 TiB. */
export const maxPageBlobLength = 8 * 1024 * 1024 * MiB
/** Up to this length a blob's block ids must be all present or all absent. */
export const smallBlobLimit = 64 * MiB
/** A block id decodes to at most this many bytes (Put Block). */
export const maxBlockIdBytes = 64

/** A whole number of bytes JS holds exactly: an offset or a length. */
export const isLength = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/**
 * An offset or a length as a manifest or a copy log writes it: decimal digits, white space around
 * them tolerated → the number, or undefined when it is not a whole number JS holds exactly.
 */
export const parseLength = (text: string): number | undefined => {
  // fast path (the hot one: millions of Offset/Length attributes): plain digits, at most 15 of them
  const size = text.length
  if (size > 0 && size <= 15) {
    let v = 0
    let i = 0
    for (; i < size; i++) {
      const c = text.charCodeAt(i) - 48
      if (c < 0 || c > 9) break
      v = v * 10 + c
    }
    if (i === size) return v
  }
  const t = text.trim()
  if (!/^[0-9]+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

const requireLength = (what: string, n: number): void => {
  if (!isLength(n)) throw new RangeError(`${what} must be a whole number ≥ 0, got ${n}`)
}

// ---------------------------------------------------------------------------------------------
// Block ids

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

/** What is wrong with one value: the words of an issue, without its place. */
export interface ValueProblem {
  readonly expected: string
  readonly found: string
}

/**
 * One broken rule. `index` is the 0-based position of the element in its list (for problems of
 * the list as a whole: the element where it shows, e.g. the last block for a list that stops
 * short of the file's end, or 0 for an empty list). `at` is whatever the caller passed with that
 * element (a line number, an event with its line and column…); absent when the caller passed
 * none or the problem has no element (an empty list). `field` names the attribute
 * (`Block/@Offset`), the element (`Block`) or the list (`BlockList`).
 */
export interface RuleProblem<At = number> {
  readonly index: number
  readonly at?: At
  readonly field: string
  readonly expected: string
  readonly found: string
}

const none: ReadonlyArray<never> = Object.freeze([])

const problem = <At>(index: number, at: At | undefined, field: string, expected: string, found: string): RuleProblem<At> =>
  at === undefined ? { index, field, expected, found } : { index, at, field, expected, found }

/**
 * Add a problem to a list made only when there is one: the common case, a block without a
 * problem, allocates nothing (the checkers run on every one of millions of elements, so no
 * closure per element either: a `report` closure made the manifest check 3 times slower).
 */
const push = <At>(list: Array<RuleProblem<At>> | undefined, index: number, at: At | undefined, field: string, expected: string, found: string): Array<RuleProblem<At>> => {
  const p = problem(index, at, field, expected, found)
  if (list === undefined) return [p]
  list.push(p)
  return list
}

const showNumber = (n: number): string => (typeof n === "number" ? String(n) : showValue(String(n)))

/** `1 byte`, `2 bytes`. */
const bytes = (n: number): string => `${n} byte${n === 1 ? "" : "s"}`

const hashExpected = (of: string): string => `32 hex digits (the MD5 of the ${of})`

/**
 * A block id's own rule (Put Block): Base64 of 1 to 64 bytes. Undefined when it keeps it. The rule
 * that all ids of a blob have one length is `BlockListChecker`'s.
 */
export const blockIdProblem = (id: string): ValueProblem | undefined => {
  const expected = `a Base64 string of 1 to ${maxBlockIdBytes} bytes`
  if (id.length === 0) return { expected, found: "an empty id" }
  if (!isBase64(id)) return { expected, found: showValue(id) }
  const n = base64DecodedLength(id)
  return n > maxBlockIdBytes ? { expected, found: `${bytes(n)} (${showValue(id)})` } : undefined
}

/**
 * What is wrong with a blob's length for its kind, if anything: a page blob is whole 512-byte
 * pages and at most 8 TiB; a block blob at most 50,000 blocks of 4 MiB (what one manifest entry
 * can describe).
 */
export const blobLengthProblems = (kind: "block" | "page", length: number): Array<ValueProblem> => {
  const found: Array<ValueProblem> = []
  if (kind === "page") {
    const past = length % pageSize
    if (past !== 0) found.push({ expected: "a multiple of 512 for a page blob", found: `${length} (${bytes(past)} past the last full page)` })
    if (length > maxPageBlobLength) found.push({ expected: `at most ${maxPageBlobLength} bytes (8 TiB) for a page blob`, found: String(length) })
  } else if (length > maxBlockBlobLength) {
    found.push({ expected: `at most ${maxBlockBlobLength} bytes for a block blob (50,000 blocks of 4 MiB)`, found: String(length) })
  }
  return found
}

/**
 * Checks the block list of a file of `fileLength` bytes one block at a time, in constant memory
 * (a 50,000-block list is never held). `add` returns the problems of that block (the first block
 * that ends past the file and the first that breaks "ids on all blocks or none" included);
 * `finish` those that need the whole list (coverage of the file, the 50,000 cap). After a
 * misplaced block the checker carries on from where that block ends, so one gap gives one
 * problem, not one per following block. Hashes are checked as given: normalise them first.
 */
export class BlockListChecker<At = number> {
  readonly #length: number
  #count = 0
  #next = 0
  #lastAt: At | undefined
  #idBytes: number | undefined
  #firstHasId: boolean | undefined
  #mixedReported = false
  #beyondReported = false
  #overAt: At | undefined
  #finished = false

  constructor(fileLength: number) {
    requireLength("a file length", fileLength)
    this.#length = fileLength
  }

  /** Blocks added so far. */
  get count(): number {
    return this.#count
  }

  add(block: BlockEntry, at?: At): ReadonlyArray<RuleProblem<At>> {
    if (this.#finished) throw new Error("BlockListChecker: add after finish")
    const index = this.#count++
    this.#lastAt = at
    if (index === maxBlocksPerBlob) this.#overAt = at
    let found: Array<RuleProblem<At>> | undefined

    const { offset, length, id, hash } = block
    let start = this.#next
    if (!isLength(offset)) found = push(found, index, at, "Block/@Offset", "a whole number of bytes ≥ 0", showNumber(offset))
    else {
      if (offset !== this.#next) {
        if (index === 0) found = push(found, index, at, "Block/@Offset", "0 (the first block starts the file)", String(offset))
        else if (offset > this.#next) found = push(found, index, at, "Block/@Offset", `${this.#next} (right after the previous block)`, `${offset} (a gap of ${bytes(offset - this.#next)})`)
        else found = push(found, index, at, "Block/@Offset", `${this.#next} (right after the previous block)`, `${offset} (overlapping earlier blocks by ${bytes(this.#next - offset)})`)
      }
      start = offset
    }
    if (!isLength(length) || length < 1 || length > blockSize) {
      found = push(found, index, at, "Block/@Length", `1 to ${blockSize} bytes (4 MiB)`, showNumber(length))
    }
    this.#next = start + (isLength(length) ? length : 0)
    if (this.#next > this.#length && !this.#beyondReported) {
      this.#beyondReported = true
      found = push(found, index, at, "Block", `blocks inside the file's ${bytes(this.#length)}`, `a block ending at ${this.#next} (${bytes(this.#next - this.#length)} past the end)`)
    }

    if (id !== undefined) {
      const p = blockIdProblem(id)
      if (p) found = push(found, index, at, "Block/@Id", p.expected, p.found)
      else {
        const n = base64DecodedLength(id)
        if (this.#idBytes === undefined) this.#idBytes = n
        else if (n !== this.#idBytes) {
          found = push(found, index, at, "Block/@Id", `an id of ${bytes(this.#idBytes)}, like the blob's earlier ids (all ids of a blob have one length)`, `${bytes(n)} (${showValue(id)})`)
        }
      }
    }
    const hasId = id !== undefined
    if (this.#firstHasId === undefined) this.#firstHasId = hasId
    else if (hasId !== this.#firstHasId && !this.#mixedReported && this.#length <= smallBlobLimit) {
      this.#mixedReported = true
      found = push(found, index, at, "Block/@Id", "ids on all blocks or on none (a blob of at most 64 MiB)", hasId ? "a block with an id after blocks without" : "a block without an id after blocks with ids")
    }
    if (hash !== undefined && !isMd5Hex(hash)) found = push(found, index, at, "Block/@Hash", hashExpected("block"), showValue(hash))
    return found ?? none
  }

  /** The problems of the list as a whole. Call once, after the last `add`. */
  finish(): ReadonlyArray<RuleProblem<At>> {
    if (this.#finished) throw new Error("BlockListChecker: finish called twice")
    this.#finished = true
    const found: Array<RuleProblem<At>> = []
    const count = this.#count
    const fileLength = this.#length
    if (count > maxBlocksPerBlob) {
      found.push(problem(maxBlocksPerBlob, this.#overAt, "BlockList", `at most ${maxBlocksPerBlob} blocks in one blob`, `${count} blocks`))
    }
    if (count === 0) {
      if (fileLength > 0) found.push(problem<At>(0, undefined, "BlockList", `blocks covering the file's ${bytes(fileLength)}`, "no blocks"))
    } else if (this.#next < fileLength && !this.#beyondReported) {
      // (a list that went past the end was reported at that block: where it ends now says little)
      found.push(problem(count - 1, this.#lastAt, "BlockList", `blocks ending at the file's length, ${fileLength}`, `the last block ends at ${this.#next} (${bytes(fileLength - this.#next)} short of the end)`))
    }
    return found
  }
}

/**
 * Checks the page-range list of a file of `fileLength` bytes one range at a time (see
 * `BlockListChecker`). Ranges may leave gaps (uncovered bytes are zero pages), but must be
 * 512-aligned, 512 bytes to 4 MiB long, in offset order, not overlapping, and inside the file (the
 * first range that ends past it is reported; the later ones, necessarily past it too or
 * overlapping, are not reported again). The file length's own rules are `blobLengthProblems`'
 * business, not repeated here.
 */
export class PageRangeChecker<At = number> {
  readonly #length: number
  #count = 0
  #end = 0
  #beyondReported = false
  #finished = false

  constructor(fileLength: number) {
    requireLength("a file length", fileLength)
    this.#length = fileLength
  }

  get count(): number {
    return this.#count
  }

  add(range: PageRangeEntry, at?: At): ReadonlyArray<RuleProblem<At>> {
    if (this.#finished) throw new Error("PageRangeChecker: add after finish")
    const index = this.#count++
    let found: Array<RuleProblem<At>> | undefined
    const { offset, length, hash } = range
    const offsetOk = isLength(offset)
    if (!offsetOk) found = push(found, index, at, "PageRange/@Offset", "a whole number of bytes ≥ 0, a multiple of 512", showNumber(offset))
    else if (offset % pageSize !== 0) found = push(found, index, at, "PageRange/@Offset", "a multiple of 512", `${offset} (${bytes(offset % pageSize)} past a page boundary)`)
    if (offsetOk && offset < this.#end) {
      found = push(found, index, at, "PageRange/@Offset", `at least ${this.#end} (ranges in offset order, not overlapping)`, `${offset} (before the end of an earlier range)`)
    }
    const lengthOk = isLength(length)
    if (!lengthOk || length < pageSize || length > maxPageRangeLength || length % pageSize !== 0) {
      found = push(found, index, at, "PageRange/@Length", `a multiple of 512 from 512 to ${maxPageRangeLength} bytes (4 MiB)`, showNumber(length))
    }
    if (offsetOk && lengthOk) {
      const end = offset + length
      if (end > this.#length && !this.#beyondReported) {
        this.#beyondReported = true
        found = push(found, index, at, "PageRange", `ranges inside the file's ${bytes(this.#length)}`, `a range ending at ${end} (${bytes(end - this.#length)} past the end)`)
      }
      if (end > this.#end) this.#end = end
    }
    if (hash !== undefined && !isMd5Hex(hash)) found = push(found, index, at, "PageRange/@Hash", hashExpected("range"), showValue(hash))
    return found ?? none
  }

  /** Nothing of a page-range list needs the whole list (every rule is reported by `add`); kept so that both lists are used alike. */
  finish(): ReadonlyArray<RuleProblem<At>> {
    if (this.#finished) throw new Error("PageRangeChecker: finish called twice")
    this.#finished = true
    return none
  }
}

const byIndex = <At>(a: RuleProblem<At>, b: RuleProblem<At>): number => a.index - b.index

/** Every problem of a whole block list, ordered by block (stable: per-block order kept). */
export const checkBlockList = (blocks: ReadonlyArray<BlockEntry>, fileLength: number): Array<RuleProblem> => {
  const checker = new BlockListChecker(fileLength)
  const found: Array<RuleProblem> = []
  for (const b of blocks) found.push(...checker.add(b))
  found.push(...checker.finish())
  return found.sort(byIndex)
}

/** Every problem of a whole page-range list, ordered by range. */
export const checkPageRanges = (ranges: ReadonlyArray<PageRangeEntry>, fileLength: number): Array<RuleProblem> => {
  const checker = new PageRangeChecker(fileLength)
  const found: Array<RuleProblem> = []
  for (const r of ranges) found.push(...checker.add(r))
  found.push(...checker.finish())
  return found.sort(byIndex)
}
