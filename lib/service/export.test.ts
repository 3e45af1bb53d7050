/**
 * The export executor in process, on the in-memory BlobStore (fast, exact), with drives that are
 * temp folders given a size by VolumesTest. The same program runs on azurite in
 * export-azurite.test.ts and through the command in scripts/service-export.test.ts.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Exit, Layer, Stream } from "effect"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, describe, it } from "node:test"
import { type BlobListItem, readBlobList } from "../bloblist.ts"
import { localPathOf } from "../drive-paths.ts"
import { parseMetadata, parseProperties } from "../blobprops.ts"
import { BlobStore, StorageError } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { makeMemoryStore, type MemoryStore } from "./memory-store.ts"
import { blocksOf } from "./export-copy.ts"
import { ExportPathAllocator } from "./export-paths.ts"
import { ExportPacker, type ExportItem, exportFootprint, splitPageRange } from "./export-plan.ts"
import { compareNames, minimalPrefixes, selectAll } from "./export-select.ts"
import { type ExportReport, exportVerdict, runExport } from "./export.ts"
import { changeAfterFirstRead, honourReadConditions, logBlobs, readExportDrive, readLog } from "./export-testkit.ts"

const MiB = 1024 * 1024
const temps: Array<string> = []
const tempDir = (name: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), `waie-export-${name}-`))
  temps.push(d)
  return d
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

/** Deterministic bytes. */
const bytes = (seed: number, n: number): Uint8Array => {
  const out = Buffer.alloc(n)
  let block = createHash("sha256").update(String(seed)).digest()
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i))
    block = createHash("sha256").update(block).digest()
  }
  return new Uint8Array(out)
}
const md5hex = (b: Uint8Array): string => createHash("md5").update(b).digest("hex").toUpperCase()

const run = <A, E>(e: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(e)

/** The world most tests share: a store with block, page, empty, root, non-ASCII and non-portable blobs. */
const seeded = async (): Promise<MemoryStore> => {
  const mem = makeMemoryStore({ now: () => new Date("2024-05-06T07:08:09.500Z") })
  const s = mem.service
  mem.seed("photos/a.jpg", bytes(1, 100_000), { metadata: [{ name: "Author", value: "Jane" }, { name: "Album", value: "Trip 2024" }] })
  await run(s.setProperties({ container: "photos", name: "a.jpg" }, { contentType: "image/jpeg", cacheControl: "no-cache" }))
  mem.seed("photos/big.bin", bytes(2, 9 * MiB + 7))
  mem.seed("photos/empty.txt", new Uint8Array(0))
  mem.seed("photos/trip day 1/b é.txt", bytes(3, 5))
  mem.seed("$root/logo.bmp", bytes(4, 1000))
  mem.seed("music/love.mp3", bytes(5, 10))
  mem.seed("music/lovely.mp3", bytes(6, 11))
  mem.seed("music/other.mp3", bytes(7, 12))
  mem.seed("books1/x", bytes(8, 13))
  mem.seed("books2/y", bytes(9, 14))
  mem.seed("con/aux.txt", bytes(10, 15))
  // a sparse page blob: data at 0, a run across the 4 MiB boundary, a page at 9 MiB; zeros elsewhere
  const vhd = { container: "disks", name: "d.vhd" }
  await run(s.ensureContainer("disks"))
  await run(s.createPageBlob(vhd, 12 * MiB))
  for (const [offset, data] of [[0, bytes(11, 4096)], [4 * MiB - 1024, bytes(12, 2048)], [9 * MiB, bytes(13, 512)]] as const) await run(s.putPages(vhd, offset, data, md5hex(data)))
  return mem
}

const blobListXml = (lines: ReadonlyArray<string>): string => `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n${lines.map((l) => `  ${l}\n`).join("")}</BlobList>\n`

const mainList = blobListXml([
  "<BlobPath>photos/a.jpg</BlobPath>",
  "<BlobPathPrefix>/photos/</BlobPathPrefix>",
  "<BlobPathPrefix>/photos/</BlobPathPrefix>",
  "<BlobPath>$root/logo.bmp</BlobPath>",
  "<BlobPathPrefix>/disks/</BlobPathPrefix>",
  "<BlobPathPrefix>/music/love</BlobPathPrefix>",
  "<BlobPathPrefix>/book</BlobPathPrefix>",
  "<BlobPath>photos/missing.jpg</BlobPath>",
  "<BlobPathPrefix>/nothing-here/</BlobPathPrefix>",
  "<BlobPath>con/aux.txt</BlobPath>",
])

const expectedSelection = [
  "$root/logo.bmp",
  "books1/x",
  "books2/y",
  "con/aux.txt",
  "disks/d.vhd",
  "music/love.mp3",
  "music/lovely.mp3",
  "photos/a.jpg",
  "photos/big.bin",
  "photos/empty.txt",
  "photos/trip day 1/b é.txt",
]

const items = (xml: string): Promise<Array<BlobListItem>> => run(Stream.runCollect(readBlobList("list.xml", Stream.make(new TextEncoder().encode(xml))))).then((c) => Array.from(c))

interface World {
  readonly dir: string
  readonly list: string
  readonly logs: string
  readonly drives: Array<string>
}

const world = (name: string, xml: string, driveCount: number): World => {
  const dir = tempDir(name)
  const list = path.join(dir, "list.xml")
  writeFileSync(list, xml)
  const drives = Array.from({ length: driveCount }, (_, i) => {
    const d = path.join(dir, `drive${i + 1}`)
    mkdirSync(d)
    return d
  })
  return { dir, list, logs: path.join(dir, "logs"), drives }
}

const exportOn = (mem: MemoryStore, w: World, capacities: ReadonlyArray<number>, extra: Layer.Layer<BlobStore, never, BlobStore> | undefined = undefined, job = "job1") => {
  const base = Layer.succeed(BlobStore, honourReadConditions(mem.service))
  const store = extra ? extra.pipe(Layer.provide(base)) : base
  const caps = Object.fromEntries(w.drives.map((d, i) => [d, capacities[i]!]))
  const layers = Layer.mergeAll(store, VolumesTest(caps).pipe(Layer.provide(NodeContext.layer)), NodeContext.layer)
  return runExport({
    blobList: { real: w.list, shown: "list.xml" },
    drives: w.drives.map((d, i) => ({ real: d, shown: `drive${i + 1}` })),
    job,
    logDir: { real: w.logs, shown: "logs" },
    // a blob changed mid-copy: one read in flight, so "after the first range" is exact
    ...(extra ? { readAhead: 1 } : {}),
  }).pipe(Effect.provide(layers))
}

const ok = async (e: Effect.Effect<ExportReport, unknown>): Promise<ExportReport> => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isFailure(exit)) assert.fail(`export failed: ${String(exit.cause)}`)
  return exit.value
}

describe("selection", () => {
  it("orders names by code point (UTF-8 byte order), not by UTF-16 unit", () => {
    assert.ok(compareNames("a\uFF01", "a\u{1F600}") < 0) // U+FF01 before U+1F600, though its UTF-16 unit is larger than the surrogate's
    assert.ok(compareNames("$root", "a") < 0)
    assert.ok(compareNames("a", "a/") < 0)
    assert.equal(compareNames("x", "x"), 0)
  })

  it("keeps the shortest of prefixes that start one another", () => {
    assert.deepEqual(minimalPrefixes(["lovely", "love", "other", "love", "o"]), ["love", "o"])
  })

  it("selects each blob once, sorted, and counts unique, duplicate and nonexistent entries", async () => {
    const mem = await seeded()
    const r = await run(selectAll(await items(mainList)).pipe(Effect.provide(Layer.succeed(BlobStore, mem.service))))
    assert.deepEqual(r.blobs.map((b) => `${b.container}/${b.name}`), expectedSelection)
    assert.equal(r.counts.entries, 10)
    assert.equal(r.counts.unique, 9)
    assert.equal(r.counts.duplicate, 1)
    assert.equal(r.counts.nonexistent, 2)
    assert.deepEqual(r.counts.nonexistentEntries.map((i) => i.line), [10, 11])
    assert.equal(r.counts.blobs, expectedSelection.length)
    // a blob named by a path and covered by a prefix is read once, by the listing
    assert.equal(mem.requests.filter((q) => q.operation === "get properties" && q.ref.name === "a.jpg").length, 0)
  })

  it("the whole account is every container; nothing selected is every entry nonexistent", async () => {
    const mem = await seeded()
    const all = await run(selectAll(await items(blobListXml(["<BlobPathPrefix>/</BlobPathPrefix>", "<BlobPathPrefix>/music/</BlobPathPrefix>"]))).pipe(Effect.provide(Layer.succeed(BlobStore, mem.service))))
    assert.equal(all.blobs.length, 12)
    assert.equal(all.counts.nonexistent, 0)
    const none = await run(selectAll(await items(blobListXml(["<BlobPath>music/nope</BlobPath>", "<BlobPathPrefix>/zzz</BlobPathPrefix>"]))).pipe(Effect.provide(Layer.succeed(BlobStore, mem.service))))
    assert.equal(none.blobs.length, 0)
    assert.equal(none.counts.nonexistent, 2)
  })
})

describe("placement and paths", () => {
  const item = (name: string, length: number, kind: "BlockBlob" | "PageBlob" = "BlockBlob", dataBytes = length): ExportItem => ({
    blob: { container: "c", name, kind, length, lastModified: "2024-01-01T00:00:00Z", etag: '"1"', leased: false, properties: {}, metadata: [] },
    dataBytes,
    units: Math.max(1, Math.ceil(dataBytes / (4 * MiB))),
    propertiesBytes: 200,
    metadataBytes: undefined,
  })

  it("page ranges are cut at every 4 MiB boundary", () => {
    assert.deepEqual(splitPageRange({ offset: 4 * MiB - 1024, length: 2048 }), [
      { offset: 4 * MiB - 1024, length: 1024 },
      { offset: 4 * MiB, length: 1024 },
    ])
    assert.equal(splitPageRange({ offset: 0, length: 9 * MiB }).length, 3)
    assert.deepEqual(blocksOf(0), [])
    assert.deepEqual(blocksOf(4 * MiB + 1).map((b) => b.length), [4 * MiB, 1])
  })

  it("first fit in order; a blob too big for every empty drive is too-big, one that only lacks room is no-room", () => {
    const p = new ExportPacker([
      { id: "A", freeBytes: MiB + 3 * MiB },
      { id: "B", freeBytes: MiB + 6 * MiB },
    ])
    assert.deepEqual(p.place(item("a", 2 * MiB)), { kind: "placed", drive: 0, footprint: exportFootprint(item("a", 2 * MiB)) })
    assert.equal((p.place(item("b", 2 * MiB)) as { drive: number }).drive, 1) // no longer fits A
    assert.equal((p.place(item("c", 100)) as { drive: number }).drive, 0) // a small one still fits A
    assert.equal(p.place(item("d", 7 * MiB)).kind, "too-big")
    assert.equal((p.place(item("e", 3 * MiB)) as { drive: number }).drive, 1)
    assert.equal(p.place(item("f", 3 * MiB)).kind, "no-room")
    // a sparse page blob costs its ranges, not its length
    assert.equal((p.place(item("g.vhd", 64 * MiB, "PageBlob", 4096)) as { drive: number }).drive, 0)
    assert.equal(p.usage()[0]!.blobs, 3)
  })

  it("drives opened as needed (PreviewExport)", () => {
    const p = new ExportPacker([], { freeBytes: MiB + 4 * MiB })
    for (let i = 0; i < 5; i++) p.place(item(`b${i}`, 3 * MiB))
    assert.equal(p.usage().length, 5)
    assert.equal(p.place(item("huge", 5 * MiB)).kind, "too-big")
  })

  it("files under their blob paths, side files beside them, clashes and NTFS-unsafe names settled", () => {
    const a = new ExportPathAllocator()
    assert.deepEqual(a.allocate("pictures/bob/wild/desert.jpg", true), {
      file: "\\pictures\\bob\\wild\\desert.jpg",
      properties: "\\pictures\\bob\\wild\\desert.jpg.properties",
      metadata: "\\pictures\\bob\\wild\\desert.jpg.metadata",
    })
    // a later blob under the side file's name, and one differing only in case, get hashed names
    const clash = a.allocate("pictures/bob/wild/desert.jpg.properties", false)
    assert.match(clash.file, /^\\pictures\\bob\\wild\\~[0-9a-f]{16}\.properties$/)
    assert.match(a.allocate("pictures/bob/wild/DESERT.JPG", false).file, /^\\pictures\\bob\\wild\\~[0-9a-f]{16}\.JPG$/)
    // a device name and a trailing dot are not NTFS names; the side files follow the hashed name
    const con = a.allocate("con/aux.txt", false)
    assert.match(con.file, /^\\~[0-9a-f]{16}\\~[0-9a-f]{16}\.txt$/)
    assert.equal(con.properties, con.file + ".properties")
    assert.match(a.allocate("pictures/dot.", false).file, /^\\pictures\\~[0-9a-f]{16}$/)
    assert.equal(a.allocate("$root/logo.bmp", false).file, "\\$root\\logo.bmp")
  })
})

describe("export onto drives (memory store)", () => {
  it("one drive: every selected blob's file equals the blob, the manifest checks and its hashes verify, the copy logs list every blob", async () => {
    const mem = await seeded()
    const w = world("one", mainList, 1)
    const r = await ok(exportOn(mem, w, [64 * MiB]))
    assert.equal(exportVerdict(r), undefined)
    assert.deepEqual({ unique: r.counts.unique, duplicate: r.counts.duplicate, nonexistent: r.counts.nonexistent }, { unique: 9, duplicate: 1, nonexistent: 2 })
    assert.equal(r.drives.length, 1)
    const d = r.drives[0]!
    assert.equal(d.blobs, expectedSelection.length)
    assert.equal(d.status, "Completed")

    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true, JSON.stringify(drive.report.issues))
    assert.equal(drive.report.errors, 0)
    assert.equal(drive.report.warnings, 0)
    assert.equal(drive.driveId, d.driveId)
    assert.equal(drive.report.hash, d.manifest.hash)
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), expectedSelection)
    for (const b of drive.blobs) {
      const file = readFileSync(localPathOf(w.drives[0]!, b.filePath))
      assert.deepEqual(new Uint8Array(file), mem.content(b.blobPath), b.blobPath)
    }
    const byPath = new Map(drive.blobs.map((b) => [b.blobPath, b]))
    assert.equal(byPath.get("photos/trip day 1/b é.txt")!.filePath, "\\photos\\trip day 1\\b é.txt")
    assert.equal(byPath.get("$root/logo.bmp")!.filePath, "\\$root\\logo.bmp")
    assert.match(byPath.get("con/aux.txt")!.filePath, /^\\~[0-9a-f]{16}\\~[0-9a-f]{16}\.txt$/)
    // blocks of 4 MiB with ids; an empty blob has an empty block list
    const big = byPath.get("photos/big.bin")!
    assert.deepEqual(big.ranges.map((x) => [x.offset, x.length, x.id]), [[0, 4 * MiB, "AAAAAA=="], [4 * MiB, 4 * MiB, "AQAAAA=="], [8 * MiB, MiB + 7, "AgAAAA=="]])
    assert.deepEqual(byPath.get("photos/empty.txt")!.ranges, [])
    // the page blob: exactly the written ranges, cut at 4 MiB; a sparse file of the blob's length
    const vhd = byPath.get("disks/d.vhd")!
    assert.equal(vhd.list, "page")
    assert.deepEqual(vhd.ranges.map((x) => [x.offset, x.length]), [[0, 4096], [4 * MiB - 1024, 1024], [4 * MiB, 1024], [9 * MiB, 512]])
    assert.deepEqual(mem.info("disks/d.vhd")!.pages, [{ offset: 0, length: 4096 }, { offset: 4 * MiB - 1024, length: 2048 }, { offset: 9 * MiB, length: 512 }])
    const vhdFile = localPathOf(w.drives[0]!, vhd.filePath)
    assert.equal(statSync(vhdFile).size, 12 * MiB)
    assert.ok(statSync(vhdFile).blocks * 512 < 1 * MiB, `sparse: ${statSync(vhdFile).blocks * 512} bytes allocated`)

    // properties and metadata files hold what the blob has
    const a = byPath.get("photos/a.jpg")!
    assert.equal(a.propertiesPath!.path, "\\photos\\a.jpg.properties")
    assert.equal(a.metadataPath!.path, "\\photos\\a.jpg.metadata")
    const props = parseProperties(readFileSync(localPathOf(w.drives[0]!, a.propertiesPath!.path)), "p", "export")
    assert.equal(props.valid, true)
    assert.deepEqual(props.value, { lastModified: "Mon, 06 May 2024 07:08:09 GMT", etag: mem.service && (await run(mem.service.getBlob({ container: "photos", name: "a.jpg" })))!.etag, contentLength: 100_000, contentType: "image/jpeg", cacheControl: "no-cache" })
    const meta = parseMetadata(readFileSync(localPathOf(w.drives[0]!, a.metadataPath!.path)), "m")
    assert.deepEqual(meta.value, [{ name: "Album", value: "Trip 2024" }, { name: "Author", value: "Jane" }])
    assert.equal(byPath.get("photos/big.bin")!.metadataPath, undefined)
    assert.ok(byPath.get("photos/big.bin")!.propertiesPath)

    // the drive holds the data, the side files, the manifest, waie's identity: nothing else (no temp, no spool, no lock)
    const root = readdirSync(w.drives[0]!).sort()
    assert.deepEqual(root, ["$root", "DriveManifest.xml", "books1", "books2", "disks", "music", "photos", "waie-drive.json", expect.hashedCon(root)].sort())

    // copy logs: local files and blobs, every blob with LastModified
    const verbose = await readLog(d.logs.verbose.file)
    const blobs = logBlobs(verbose)
    assert.deepEqual(blobs.map((b) => b.start.blobPath), expectedSelection)
    for (const b of blobs) {
      assert.equal(b.start.status, "Completed")
      assert.equal(b.start.lastModified, "2024-05-06T07:08:09Z")
      assert.equal(b.end!.properties!.status, "Completed")
    }
    assert.deepEqual(verbose[verbose.length - 2], { _tag: "DriveStatus", status: "Completed" })
    assert.equal(logBlobs(await readLog(d.logs.error.file)).length, 0)
    assert.match(path.basename(d.logs.verbose.file), new RegExp(`^job1_${d.driveId}_\\d{8}-\\d{6}-\\d{3}_verbose\\.xml$`))
    assert.deepEqual(mem.content(d.logs.verbose.blobPath), new Uint8Array(readFileSync(d.logs.verbose.file)))
    assert.deepEqual(mem.content(d.logs.error.blobPath), new Uint8Array(readFileSync(d.logs.error.file)))
  })

  it("two small drives: a blob never split, each drive's room respected, each drive its own manifest and logs", async () => {
    const mem = await seeded()
    const w = world("two", mainList, 2)
    // drive 1 cannot take the 9 MiB blob; drive 2 can
    const r = await ok(exportOn(mem, w, [MiB + 3 * MiB, MiB + 12 * MiB]))
    assert.equal(exportVerdict(r), undefined)
    const [d1, d2] = [await readExportDrive(w.drives[0]!), await readExportDrive(w.drives[1]!)]
    const on1 = d1.blobs.map((b) => b.blobPath)
    const on2 = d2.blobs.map((b) => b.blobPath)
    assert.ok(on2.includes("photos/big.bin") && !on1.includes("photos/big.bin"))
    assert.deepEqual([...on1, ...on2].sort(compareNames), expectedSelection)
    assert.notEqual(d1.driveId, d2.driveId)
    for (const [i, d] of r.drives.entries()) {
      assert.ok(d.footprint <= d.freeBytes - MiB, `drive ${i + 1}: footprint ${d.footprint} within ${d.freeBytes - MiB}`)
      assert.equal(logBlobs(await readLog(d.logs.verbose.file)).length, d.blobs)
    }
  })

  it("a blob larger than any drive is reported, not fatal; drives that run out leave the rest not exported (exit 5), listed for another run", async () => {
    const mem = await seeded()
    mem.seed("huge/h.bin", bytes(20, 20 * MiB))
    const w = world("full", blobListXml(["<BlobPathPrefix>/</BlobPathPrefix>"]), 1)
    // room for the 9 MiB blob alone, not after the blobs that come before it
    const r = await ok(exportOn(mem, w, [MiB + 9 * MiB + 64 * 1024]))
    assert.equal(r.tooBig.blobs, 1)
    assert.equal(r.tooBig.first[0]!.blobPath, "huge/h.bin")
    assert.deepEqual(r.noRoom.first.map((n) => n.blobPath), ["photos/big.bin"])
    const v = exportVerdict(r)
    assert.equal(v?._tag, "ExportDrivesFull")
    assert.ok(r.noRoom.blobList && existsSync(r.noRoom.blobList))
    const again = await items(readFileSync(r.noRoom.blobList!, "utf8"))
    assert.deepEqual(again.map((i) => (i.entry.kind === "path" ? i.entry.path : "")), r.noRoom.first.map((n) => n.blobPath))
    // what was exported is complete and checks
    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true)
    assert.ok(!drive.blobs.some((b) => b.blobPath === "huge/h.bin" || b.blobPath === "photos/big.bin"))

    // too big alone is not an error
    const w2 = world("toobig", blobListXml(["<BlobPathPrefix>/huge/</BlobPathPrefix>", "<BlobPath>music/love.mp3</BlobPath>"]), 1)
    const r2 = await ok(exportOn(mem, w2, [MiB + 10 * MiB]))
    assert.equal(r2.tooBig.blobs, 1)
    assert.equal(exportVerdict(r2), undefined)
  })

  it("a blob changed during its copy is BlobUnexpectedChange: no file, not in the manifest, in both copy logs; the others export", async () => {
    const mem = await seeded()
    const w = world("change", mainList, 1)
    const change = changeAfterFirstRead({ container: "photos", name: "big.bin" }, () => Effect.sync(() => mem.seed("photos/big.bin", bytes(99, 9 * MiB + 7))))
    const r = await ok(exportOn(mem, w, [64 * MiB], change))
    const v = exportVerdict(r)
    assert.equal(v?._tag, "ExportBlobsFailed")
    assert.deepEqual(r.failed.first.map((f) => [f.blobPath, f.status]), [["photos/big.bin", "BlobUnexpectedChange"]])
    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true)
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), expectedSelection.filter((p) => p !== "photos/big.bin"))
    assert.equal(existsSync(path.join(w.drives[0]!, "photos", "big.bin")), false)
    assert.deepEqual(readdirSync(w.drives[0]!).filter((n) => n.startsWith(".waie")), [])
    const d = r.drives[0]!
    assert.equal(d.status, "CompletedWithErrors")
    const errors = logBlobs(await readLog(d.logs.error.file))
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.start.blobPath, "photos/big.bin")
    assert.equal(errors[0]!.start.status, "BlobUnexpectedChange")
    assert.equal(errors[0]!.start.lastModified, "2024-05-06T07:08:09Z")
    // the block after the first one was refused; the others are cancelled
    assert.deepEqual(errors[0]!.ranges.map((x) => [x.offset, x.status]), [[0, "Cancelled"], [4 * MiB, "BlobRequestFailed"], [8 * MiB, "Cancelled"]])
    assert.equal(errors[0]!.end!.properties!.status, "Cancelled")
    const verbose = await readLog(d.logs.verbose.file)
    assert.equal(logBlobs(verbose).length, expectedSelection.length)
    assert.deepEqual(verbose[verbose.length - 2], { _tag: "DriveStatus", status: "CompletedWithErrors" })
  })
})

describe("the endpoint fails half way", () => {
  it("listing a container fails: the blobs copied so far still get their manifest and copy logs, then the StorageError ends the run", async () => {
    const healthy = await seeded()
    const failing = makeMemoryStore({
      now: () => new Date("2024-05-06T07:08:09Z"),
      fault: (r) => (r.operation === "list blobs" && r.ref.container === "photos" ? new StorageError({ operation: "list blobs", target: "photos", status: 503, code: "ServerBusy", detail: "" }) : undefined),
    })
    for (const p of healthy.names()) if (!p.startsWith("disks/")) failing.seed(p, healthy.content(p)!)
    const w = world("midway", mainList, 1)
    const exit = await Effect.runPromiseExit(exportOn(failing, w, [64 * MiB]))
    assert.ok(Exit.isFailure(exit))
    assert.match(String(exit.cause), /ServerBusy/)
    const drive = await readExportDrive(w.drives[0]!)
    assert.equal(drive.report.ok, true)
    // everything before container photos, in order
    assert.deepEqual(drive.blobs.map((b) => b.blobPath), ["$root/logo.bmp", "books1/x", "books2/y", "con/aux.txt", "music/love.mp3", "music/lovely.mp3"])
    const logs = readdirSync(w.logs)
    assert.equal(logs.length, 2)
    assert.equal(logBlobs(await readLog(path.join(w.logs, logs.find((l) => l.endsWith("_verbose.xml"))!))).length, 6)
    assert.deepEqual(readdirSync(w.drives[0]!).filter((n) => n.startsWith(".waie")), [])
  })
})

describe("bad input", () => {
  it("a malformed blob list: InvalidInput naming line and element, nothing written on the drive or in the log folder", async () => {
    const mem = await seeded()
    const seeding = mem.requests.length
    const w = world("bad", blobListXml(["<BlobPath>photos/a.jpg</BlobPath>", "<BlobPathPrefix>music/</BlobPathPrefix>", "<Blob>x</Blob>"]), 1)
    const exit = await Effect.runPromiseExit(exportOn(mem, w, [64 * MiB]))
    assert.ok(Exit.isFailure(exit))
    const e = (exit.cause as unknown as { failure?: { _tag: string; issues: Array<{ line: number; field: string }> } }).failure ?? (exit.cause as unknown as { error: { _tag: string; issues: Array<{ line: number; field: string }> } }).error
    assert.equal(e._tag, "InvalidInput")
    assert.deepEqual(e.issues.map((i) => [i.line, i.field]), [[4, "BlobPathPrefix"], [5, "BlobList"]])
    assert.deepEqual(readdirSync(w.drives[0]!), [])
    assert.equal(existsSync(w.logs), false)
    assert.equal(mem.requests.length, seeding)
  })

  it("a drive that is not empty is refused before any drive is touched", async () => {
    const mem = await seeded()
    const w = world("notempty", mainList, 2)
    writeFileSync(path.join(w.drives[1]!, "old.txt"), "x")
    const exit = await Effect.runPromiseExit(exportOn(mem, w, [64 * MiB, 64 * MiB]))
    assert.ok(Exit.isFailure(exit))
    assert.match(String(exit.cause), /ExportDriveNotEmpty|is not empty/)
    assert.deepEqual(readdirSync(w.drives[0]!), [])
    assert.deepEqual(readdirSync(w.drives[1]!), ["old.txt"])
  })
})

const expect = {
  /** the hashed folder of container `con` (not an NTFS name) */
  hashedCon: (names: ReadonlyArray<string>): string => names.find((n) => /^~[0-9a-f]{16}$/.test(n)) ?? "(no hashed folder)",
}
