import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Stream } from "effect"
import { driveCountWarning, driveReserveBytes, footprintOf, manifestBytesOf, placeFiles, Placer, placementItem, sideFilesFootprint, type PlacementItem } from "./placement.ts"
import type { SourceFile } from "./sources.ts"

const MiB = 1024 * 1024
const block = (length: number, blobPath?: string): PlacementItem => ({ length, blobType: "BlockBlob", ...(blobPath !== undefined ? { blobPath } : {}) })

test("footprint: clusters + a 4 KiB entry + twice the manifest entry (400 + 2 × escaped name + 130 per block or range)", () => {
  assert.equal(footprintOf(block(0)), 0 + 4096 + 2 * 400)
  assert.equal(footprintOf(block(1)), 4096 + 4096 + 2 * (400 + 130))
  assert.equal(footprintOf(block(4096)), 4096 + 4096 + 2 * (400 + 130))
  assert.equal(footprintOf(block(4 * MiB + 1)), 4 * MiB + 4096 + 4096 + 2 * (400 + 2 * 130))
  assert.equal(footprintOf({ length: 8 * MiB, blobType: "PageBlob" }), 8 * MiB + 4096 + 2 * (400 + 2 * 130))
  // the name counts twice (BlobPath and FilePath), XML-escaped, in UTF-8
  assert.equal(manifestBytesOf(block(0, "box/a&b")), 400 + 2 * "box/a&amp;b".length)
  assert.equal(manifestBytesOf(block(0, "box/é")), 400 + 2 * 6)
  // another cluster size
  assert.equal(footprintOf(block(1), 65536), 65536 + 4096 + 2 * 530)
  assert.equal(sideFilesFootprint(100), 4096 + 2 * 4096 + 600)
})

test("first fit in order: a file goes to the first drive where it fits, later small files fill earlier drives", () => {
  const small = footprintOf(block(100 * 1024))
  const placer = new Placer([
    { id: "A", freeBytes: driveReserveBytes + 2 * small },
    { id: "B", freeBytes: driveReserveBytes + 100 * MiB },
  ])
  assert.equal(placer.place(block(100 * 1024)), 0)
  assert.equal(placer.place(block(5 * MiB)), 1) // too big for A
  assert.equal(placer.place(block(100 * 1024)), 0) // A still has room for one
  assert.equal(placer.place(block(100 * 1024)), 1) // now A is full
  const [a, b] = placer.usage()
  assert.deepEqual(a, { id: "A", files: 2, bytes: 200 * 1024, footprint: 2 * small, manifestBytes: 2 * manifestBytesOf(block(100 * 1024)), freeBytes: driveReserveBytes + 2 * small, freeLeft: 0 })
  assert.equal(b!.files, 2)
  assert.equal(b!.bytes, 5 * MiB + 100 * 1024)
  assert.equal(b!.freeLeft, 100 * MiB - footprintOf(block(5 * MiB)) - small)
})

test("a file that fills a drive exactly fits; one byte more does not", () => {
  const item = block(10 * MiB)
  const exact = new Placer([{ id: "A", freeBytes: driveReserveBytes + footprintOf(item) }])
  assert.equal(exact.place(item), 0)
  assert.equal(exact.usage()[0]!.freeLeft, 0)
  const short = new Placer([{ id: "A", freeBytes: driveReserveBytes + footprintOf(item) - 1 }])
  assert.equal(short.place(item), undefined)
  assert.deepEqual(short.unplaced(), { files: 1, bytes: 10 * MiB })
  // a drive smaller than the reserve takes nothing, not even an empty file
  assert.equal(new Placer([{ id: "tiny", freeBytes: 1000 }]).place(block(0)), undefined)
})

test("unplaced files are placed on drives added later; ids must be new", () => {
  const placer = new Placer([{ id: "A", freeBytes: driveReserveBytes + footprintOf(block(MiB)) }])
  assert.equal(placer.place(block(MiB)), 0)
  const late = [block(3 * MiB), block(2 * MiB)]
  assert.deepEqual(
    late.map((f) => placer.place(f)),
    [undefined, undefined],
  )
  placer.addDrives([{ id: "B", freeBytes: 10 * MiB }])
  assert.deepEqual(
    late.map((f) => placer.place(f)),
    [1, 1],
  )
  assert.equal(placer.driveCount, 2)
  assert.throws(() => placer.addDrives([{ id: "A", freeBytes: 1 }]), /already/)
  assert.throws(() => placer.place(block(-1)), RangeError)
  assert.throws(() => new Placer([{ id: "X", freeBytes: 1.5 }]), RangeError)
})

test("metadata and properties copies are paid once per drive", () => {
  const side = { key: "m\u0000p", bytes: 5000 }
  const item: PlacementItem = { length: 0, blobType: "BlockBlob", sideFiles: side }
  const placer = new Placer([{ id: "A", freeBytes: 100 * MiB }])
  const first = placer.footprintOn(item, 0)
  assert.equal(first, footprintOf(item) + sideFilesFootprint(5000))
  placer.place(item)
  assert.equal(placer.footprintOn(item, 0), footprintOf(item))
  placer.place(item)
  assert.equal(placer.usage()[0]!.footprint, first + footprintOf(item))
  // another drive pays again
  placer.addDrives([{ id: "B", freeBytes: 100 * MiB }])
  assert.equal(placer.footprintOn(item, 1), first)
})

test("more than 10 drives: a warning (a job takes 10)", () => {
  const drives = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `D${i}`, freeBytes: MiB }))
  assert.equal(new Placer(drives(10)).warning, undefined)
  assert.match(new Placer(drives(11)).warning!, /11 drives: an Import\/Export job takes at most 10 drives/)
  assert.equal(driveCountWarning(3), undefined)
})

test("placeFiles: a stream of files to drives; placementItem keys side files by their paths", async () => {
  const file = (index: number, length: number, meta?: string): SourceFile => ({
    line: 2,
    index,
    sourcePath: `/src/${index}`,
    relativePath: String(index),
    length,
    mtimeMs: 0,
    blobPath: `box/${index}`,
    blobType: "BlockBlob",
    disposition: "rename",
    ...(meta !== undefined ? { metadataFile: meta } : {}),
    sideFileBytes: meta !== undefined ? 10 : 0,
  })
  assert.deepEqual(placementItem(file(0, 5, "/m.xml")), { length: 5, blobType: "BlockBlob", blobPath: "box/0", sideFiles: { key: "/m.xml\u0000", bytes: 10 } })
  assert.deepEqual(placementItem(file(0, 5)), { length: 5, blobType: "BlockBlob", blobPath: "box/0" })
  const placer = new Placer([
    { id: "A", freeBytes: driveReserveBytes + footprintOf(placementItem(file(0, 3 * MiB))) },
    { id: "B", freeBytes: driveReserveBytes + 3 * MiB },
  ])
  const placed = Chunk.toArray(await Effect.runPromise(Stream.runCollect(placeFiles(Stream.make(file(0, 3 * MiB), file(1, 2 * MiB), file(2, 64 * MiB)), placer))))
  assert.deepEqual(
    placed.map((p) => [p.file.index, p.drive]),
    [
      [0, 0],
      [1, 1],
      [2, undefined],
    ],
  )
})
