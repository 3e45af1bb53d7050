/** Laws of placement (lib/placement.ts): first fit, never over-committed, deterministic. */
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import { driveReserveBytes, Placer, type PlacementDrive, type PlacementItem } from "../lib/placement.ts"

const MiB = 1024 * 1024

const drive = (id: string) =>
  fc.record({
    id: fc.constant(id),
    freeBytes: fc.oneof(fc.integer({ min: 0, max: 40 * MiB }), fc.integer({ min: driveReserveBytes, max: driveReserveBytes + 2 * MiB })),
    clusterBytes: fc.constantFrom(512, 4096, 65536),
  }) as fc.Arbitrary<PlacementDrive>

const drives = (prefix: string, max: number) => fc.integer({ min: 0, max }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => drive(`${prefix}${i}`))))

const item: fc.Arbitrary<PlacementItem> = fc
  .record({
    length: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 12 * MiB })),
    blobType: fc.constantFrom("BlockBlob" as const, "PageBlob" as const),
    blobPath: fc.option(fc.string({ unit: fc.constantFrom("a", "&", "<", "é", "😀", "/"), maxLength: 30 }), { nil: undefined }),
    side: fc.option(fc.record({ key: fc.constantFrom("m1", "m2", "m3"), bytes: fc.integer({ min: 0, max: 20_000 }) }), { nil: undefined }),
  })
  .map(({ length, blobType, blobPath, side }) => ({
    length,
    blobType,
    ...(blobPath !== undefined ? { blobPath: `box/${blobPath}` } : {}),
    // one key always has one size (it names one pair of files)
    ...(side !== undefined ? { sideFiles: { key: side.key, bytes: side.key.length * 1000 + (side.key === "m3" ? 15_000 : 0) } } : {}),
  }))

const items = fc.array(item, { maxLength: 40 })

/** The footprint model, restated independently of lib/placement.ts. */
const modelCost = (f: PlacementItem, cluster: number, sideKeys: Set<string>): number => {
  const name = f.blobPath === undefined ? 0 : Buffer.byteLength(f.blobPath.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"))
  const manifest = 400 + 2 * name + 130 * Math.ceil(f.length / (4 * MiB))
  let cost = Math.ceil(f.length / cluster) * cluster + 4096 + 2 * manifest
  if (f.sideFiles !== undefined && !sideKeys.has(f.sideFiles.key)) cost += Math.ceil(f.sideFiles.bytes / cluster) * cluster + 2 * 4096 + 2 * 300
  return cost
}

/** Place everything; for each file, what every drive said just before. */
const run = (ds: ReadonlyArray<PlacementDrive>, fs: ReadonlyArray<PlacementItem>) => {
  const placer = new Placer(ds)
  const trace = fs.map((f) => {
    const fits = ds.map((_, i) => placer.fits(f, i))
    const cost = ds.map((_, i) => placer.footprintOn(f, i))
    const at = placer.place(f)
    return { fits, cost, at }
  })
  return { placer, trace }
}

test("never over-commits: the footprints on a drive add up to at most its free space minus the reserve", () => {
  fc.assert(
    fc.property(drives("D", 4), items, (ds, fs) => {
      const { placer, trace } = run(ds, fs)
      const usage = placer.usage()
      ds.forEach((d, i) => {
        const sum = trace.reduce((s, t) => s + (t.at === i ? t.cost[i]! : 0), 0)
        assert.equal(usage[i]!.footprint, sum)
        const keys = new Set<string>()
        let model = 0
        fs.forEach((f, j) => {
          if (trace[j]!.at !== i) return
          model += modelCost(f, d.clusterBytes ?? 4096, keys)
          if (f.sideFiles) keys.add(f.sideFiles.key)
        })
        assert.equal(sum, model)
        assert.ok(sum <= Math.max(0, d.freeBytes - driveReserveBytes), `drive ${i}: ${sum} > ${d.freeBytes} - reserve`)
        assert.ok(usage[i]!.freeLeft >= 0)
        assert.equal(usage[i]!.files, trace.filter((t) => t.at === i).length)
      })
    }),
    { numRuns: 500 },
  )
})

test("never splits: each file is on exactly one drive or unplaced, and the bytes add up", () => {
  fc.assert(
    fc.property(drives("D", 4), items, (ds, fs) => {
      const { placer, trace } = run(ds, fs)
      const placedBytes = placer.usage().reduce((s, u) => s + u.bytes, 0)
      const unplaced = placer.unplaced()
      assert.equal(placedBytes + unplaced.bytes, fs.reduce((s, f) => s + f.length, 0))
      assert.equal(placer.usage().reduce((s, u) => s + u.files, 0) + unplaced.files, fs.length)
      for (const t of trace) assert.ok(t.at === undefined || (Number.isInteger(t.at) && t.at >= 0 && t.at < ds.length))
    }),
    { numRuns: 300 },
  )
})

test("first fit: a file goes to the first drive it fits on, and is unplaced only when it fits on none", () => {
  fc.assert(
    fc.property(drives("D", 4), items, (ds, fs) => {
      const { trace } = run(ds, fs)
      for (const t of trace) {
        const first = t.fits.indexOf(true)
        assert.equal(t.at, first === -1 ? undefined : first)
      }
    }),
    { numRuns: 500 },
  )
})

test("deterministic: the same drives and files give the same placement", () => {
  fc.assert(
    fc.property(drives("D", 4), items, (ds, fs) => {
      const a = run(ds, fs)
      const b = run(ds, fs)
      assert.deepEqual(
        a.trace.map((t) => t.at),
        b.trace.map((t) => t.at),
      )
      assert.deepEqual(a.placer.usage(), b.placer.usage())
    }),
    { numRuns: 200 },
  )
})

test("adding drives: the unplaced files go, in order, to the first new drive they fit on, never to an old one", () => {
  fc.assert(
    fc.property(drives("D", 3), items, drives("N", 3), (ds, fs, more) => {
      const { placer, trace } = run(ds, fs)
      const unplaced = fs.filter((_, i) => trace[i]!.at === undefined)
      placer.addDrives(more)
      for (const f of unplaced) {
        const fits = [...ds, ...more].map((_, i) => placer.fits(f, i))
        assert.ok(fits.slice(0, ds.length).every((x) => !x), "an unplaced file fits an old drive now")
        const first = fits.indexOf(true)
        assert.equal(placer.place(f), first === -1 ? undefined : first)
      }
    }),
    { numRuns: 300 },
  )
})

test("adding a drive as large as all the unplaced files together places every one of them", () => {
  fc.assert(
    fc.property(drives("D", 3), items, (ds, fs) => {
      const { placer, trace } = run(ds, fs)
      const unplaced = fs.filter((_, i) => trace[i]!.at === undefined)
      const probe = new Placer([{ id: "probe", freeBytes: Number.MAX_SAFE_INTEGER }])
      let need = 0
      for (const f of unplaced) {
        need += probe.footprintOn(f, 0)
        probe.place(f)
      }
      placer.addDrives([{ id: "big", freeBytes: driveReserveBytes + need }])
      for (const f of unplaced) assert.equal(placer.place(f), ds.length)
    }),
    { numRuns: 300 },
  )
})
