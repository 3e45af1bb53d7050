/**
 * Cutting a file into what the manifest lists — 4 MiB blocks with their ids and MD5s, and the
 * page ranges of a page blob (the runs of non-zero 512-byte pages, split at every 4 MiB boundary)
 * — one chunk at a time. This is the part of lib/blocks.ts that the hashing workers run.
 *
 * Plain JavaScript (types in JSDoc, checked by tsc: `checkJs`) that loads nothing but
 * node:crypto: a hashing worker imports it without the tsx loader, whose hooks thread and
 * compiler cost ≈ 37 MiB of RSS per worker (bench/README.md, Memory). TypeScript imports it as
 * `./chunks.js`.
 */
import { createHash } from "node:crypto"

const MiB = 1024 * 1024

/** The size of every block but the last one (4 MiB, the manifest's cap on Block/@Length). */
export const blockSize = 4 * MiB
export const pageSize = 512
export const maxPageRangeLength = 4 * MiB

/**
 * Upper-case Base16 MD5, as lib/hash.ts's `md5Hex` (not imported: hash.ts is TypeScript).
 * @param {Uint8Array} data
 * @returns {string}
 */
const md5Hex = (data) => createHash("md5").update(data).digest("hex").toUpperCase()

/**
 * @param {number} n
 * @returns {boolean}
 */
const isLength = (n) => Number.isSafeInteger(n) && n >= 0

const idScratch = Buffer.alloc(4)

/**
 * The id of block `index`: Base64 of the index as 4 little-endian bytes (8 characters, every id the same length).
 * @param {number} index
 * @returns {string}
 */
export const blockId = (index) => {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`a block index is a whole number in 0..4294967295, got ${index}`)
  idScratch.writeUInt32LE(index, 0)
  return idScratch.toString("base64")
}

/**
 * @typedef {object} PageRange
 * @property {number} offset
 * @property {number} length
 */

const zeroPage = Buffer.alloc(pageSize)

/**
 * Whether the page at `at` is all zero. `words` is a Uint32Array view of the same bytes when the
 * chunk is 4-byte aligned in its buffer (OR-ing words is the fastest test measured: ≈ 12 GB/s);
 * otherwise a native compare against a zero page.
 * @param {Buffer} bytes
 * @param {Uint32Array | undefined} words
 * @param {number} at
 * @returns {boolean}
 */
const zeroAt = (bytes, words, at) => {
  if (words !== undefined) {
    const end = (at + pageSize) >>> 2
    for (let i = at >>> 2; i < end; i += 8) {
      // the loop stays inside the page (8 words at a time, 128 words per page)
      if ((/** @type {number} */ (words[i]) | /** @type {number} */ (words[i + 1]) | /** @type {number} */ (words[i + 2]) | /** @type {number} */ (words[i + 3]) | /** @type {number} */ (words[i + 4]) | /** @type {number} */ (words[i + 5]) | /** @type {number} */ (words[i + 6]) | /** @type {number} */ (words[i + 7])) !== 0) return false
    }
    return true
  }
  return zeroPage.compare(bytes, at, at + pageSize, 0, pageSize) === 0
}

/**
 * @param {Uint8Array} chunk
 * @param {number} chunkOffset
 * @returns {void}
 */
const checkChunk = (chunk, chunkOffset) => {
  if (!isLength(chunkOffset) || chunkOffset % maxPageRangeLength !== 0) throw new RangeError(`a page chunk must start at a multiple of 4 MiB, got offset ${chunkOffset}`)
  if (chunk.length > maxPageRangeLength) throw new RangeError(`a page chunk holds at most 4 MiB, got ${chunk.length} bytes`)
  if (chunk.length % pageSize !== 0) throw new RangeError(`a page chunk holds whole 512-byte pages, got ${chunk.length} bytes`)
}

/**
 * The ranges to send for one chunk of a page blob: the maximal runs of pages that are not all
 * zero, as file offsets. The chunk must start at a multiple of 4 MiB and hold at most 4 MiB of
 * whole pages (the last chunk of a file may be shorter), so no range crosses a 4 MiB boundary
 * and every range is at most 4 MiB. Throws RangeError when a precondition is broken.
 * @param {Uint8Array} chunk
 * @param {number} chunkOffset
 * @returns {Array<PageRange>}
 */
export const pageRangesOf = (chunk, chunkOffset) => {
  checkChunk(chunk, chunkOffset)
  const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  const words = chunk.byteOffset % 4 === 0 ? new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength >>> 2) : undefined
  /** @type {Array<PageRange>} */
  const ranges = []
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

/**
 * @typedef {object} DescribedBlock
 * @property {number} index
 * @property {number} offset
 * @property {number} length
 * @property {string} id
 * @property {string} hash upper-case Base16 MD5 of the block
 */

/**
 * @typedef {object} DescribedPageRange
 * @property {number} offset
 * @property {number} length
 * @property {string} hash
 */

/**
 * The blocks of a chunk that starts at block `firstIndex` (so at `firstIndex × 4 MiB` of the file):
 * 4 MiB each, the last one shorter if the chunk ends the file. A chunk may hold several blocks.
 * @param {Uint8Array} chunk
 * @param {number} chunkOffset
 * @param {number} firstIndex
 * @returns {Array<DescribedBlock>}
 */
export const describeBlocks = (chunk, chunkOffset, firstIndex) => {
  if (!Number.isInteger(firstIndex) || firstIndex < 0) throw new RangeError(`a block index is a whole number ≥ 0, got ${firstIndex}`)
  if (chunkOffset !== firstIndex * blockSize) throw new RangeError(`block ${firstIndex} starts at ${firstIndex * blockSize}, not at ${chunkOffset}`)
  /** @type {Array<DescribedBlock>} */
  const blocks = []
  for (let at = 0, index = firstIndex; at < chunk.length; at += blockSize, index++) {
    const end = Math.min(at + blockSize, chunk.length)
    blocks.push({ index, offset: chunkOffset + at, length: end - at, id: blockId(index), hash: md5Hex(chunk.subarray(at, end)) })
  }
  return blocks
}

/**
 * The page ranges of a chunk (see `pageRangesOf`) with the MD5 of each.
 * @param {Uint8Array} chunk
 * @param {number} chunkOffset
 * @returns {Array<DescribedPageRange>}
 */
export const describePageRanges = (chunk, chunkOffset) =>
  pageRangesOf(chunk, chunkOffset).map(({ offset, length }) => {
    const from = offset - chunkOffset
    return { offset, length, hash: md5Hex(chunk.subarray(from, from + length)) }
  })
