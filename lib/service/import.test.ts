/**
 * The import executor on real PrepImport drives, against the in-memory BlobStore (fast, and open
 * to fault injection). The end-to-end tests against azurite are in scripts/service-import.test.ts.
 */
import assert from "node:assert/strict"
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, Layer, Stream } from "effect"
import { type BlobRecord, type CopyLogGroup, groupCopyLog, readCopyLogFile } from "../copylog.ts"
import { StorageError } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { driveIdentity } from "./drive-check.ts"
import { readDriveInfo } from "./drive-info.ts"
import { type DriveResult, importDrive } from "./import.ts"
import { type BlobOutcome, defaultImportSettings, type ImportSettings } from "./import-blob.ts"
import { type MemoryStore, makeMemoryStore } from "./memory-store.ts"
import { bytes, md5, MiB, type PreparedDrive, prepareDrive } from "./test-drives.ts"

interface Run {
  readonly result: DriveResult
  readonly outcomes: ReadonlyArray<BlobOutcome>
  readonly verbose: ReadonlyArray<BlobRecord>
  readonly errors: ReadonlyArray<BlobRecord>
  readonly verboseText: string
  readonly errorText: string
}

const groups = async (file: string): Promise<Array<CopyLogGroup>> => Chunk.toArray(await Effect.runPromise(Stream.runCollect(groupCopyLog(readCopyLogFile(file))).pipe(Effect.provide(NodeContext.layer))))

const blobsOf = (gs: ReadonlyArray<CopyLogGroup>): Array<BlobRecord> => gs.flatMap((g) => (g._tag === "Blob" ? [g] : []))

const runImport = async (d: PreparedDrive, store: MemoryStore, o: { info?: boolean; settings?: ImportSettings; job?: string } = {}): Promise<Run> => {
  const logDir = mkdtempSync(path.join(tmpdir(), "waie-svc-logs-"))
  try {
    const outcomes: Array<BlobOutcome> = []
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const identity = yield* driveIdentity(d.root)
        const info = o.info ? yield* readDriveInfo(d.jobFile) : undefined
        return yield* importDrive(d.root, info, identity, { job: o.job ?? "test", logDir, ...(o.settings ? { settings: o.settings } : {}), onBlob: (_, b) => Effect.sync(() => void outcomes.push(b)) })
      }).pipe(Effect.provide(Layer.mergeAll(store.layer, NodeContext.layer, VolumesTest({}).pipe(Layer.provide(NodeContext.layer))))),
    )
    const v = await groups(result.logs.verbose.file)
    const e = await groups(result.logs.error.file)
    return { result, outcomes, verbose: blobsOf(v), errors: blobsOf(e), verboseText: readFileSync(result.logs.verbose.file, "utf8"), errorText: readFileSync(result.logs.error.file, "utf8") }
  } finally {
    rmSync(logDir, { recursive: true, force: true })
  }
}

const blob = (r: Run, p: string): BlobRecord => {
  const b = r.verbose.find((x) => x.blobPath === p)
  assert.ok(b, `${p} is not in the verbose log`)
  return b
}

const statuses = (b: BlobRecord): Array<string> => b.ranges.map((r) => r.status)

test("a prepared drive imports: every blob equals its source, sparse page ranges only, metadata and properties applied, logs say Completed", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore()
    const r = await runImport(d, store, { info: true })
    assert.equal(r.result.status, "Completed", r.result.problem)
    assert.equal(r.result.driveId, d.driveId)
    for (const [blobPath, src] of d.sources) {
      assert.equal(md5(store.content(blobPath)!), md5(readFileSync(src)), blobPath)
    }
    assert.deepEqual(store.info("vhds/d.vhd")!.pages, [
      { offset: 0, length: 4096 },
      { offset: 4096 + MiB, length: 512 },
    ])
    assert.equal(store.info("vhds/d.vhd")!.kind, "PageBlob")
    const a = store.info("pictures/a.jpg")!
    assert.deepEqual(a.metadata, [
      { name: "Trip", value: "2024" },
      { name: "Camera", value: "Nikon" },
    ])
    assert.deepEqual(a.properties, { contentType: "image/jpeg", cacheControl: "max-age=60" })
    assert.deepEqual(store.info("vhds/d.vhd")!.metadata, [])
    assert.equal(r.verbose.length, 4)
    assert.deepEqual(
      r.verbose.map((b) => [b.blobPath, b.status, b.importDisposition?.status]),
      [
        ["pictures/a.jpg", "Completed", "Created"],
        ["pictures/big.bin", "Completed", "Created"],
        ["pictures/empty.txt", "Completed", "Created"],
        ["vhds/d.vhd", "Completed", "Created"],
      ],
    )
    assert.deepEqual(statuses(blob(r, "pictures/big.bin")), ["Completed", "Completed", "Completed"])
    assert.equal(blob(r, "pictures/a.jpg").metadata?.status, "Completed")
    assert.equal(blob(r, "pictures/a.jpg").properties?.status, "Completed")
    assert.deepEqual(r.errors, [])
    assert.match(r.errorText, /<Status>Completed<\/Status>/)
    assert.equal(r.outcomes.length, 4)
    assert.ok(r.result.maxBuffers <= defaultImportSettings.rangesInFlight)
    assert.ok(store.maxInFlight() <= defaultImportSettings.rangesInFlight)
    assert.ok(store.names().includes(r.result.logs.verbose.blobPath))
  } finally {
    d.cleanup()
  }
})

const flipByte = (file: string, at: number): void => {
  const b = readFileSync(file)
  b[at] = b[at]! ^ 0xff
  writeFileSync(file, b)
}

test("rename: an existing name gets x (2).ext, then x (3).ext on a second import; the old blobs keep their bytes", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore()
    const old = bytes(77, 1000)
    store.seed("pictures/a.jpg", old)
    const first = await runImport(d, store)
    assert.equal(first.result.status, "CompletedWithWarnings")
    assert.deepEqual([blob(first, "pictures/a (2).jpg").importDisposition, blob(first, "pictures/a (2).jpg").status], [{ status: "Renamed", value: "rename" }, "Completed"])
    assert.equal(blob(first, "pictures/big.bin").importDisposition?.status, "Created")
    assert.equal(md5(store.content("pictures/a.jpg")!), md5(old))
    assert.equal(md5(store.content("pictures/a (2).jpg")!), md5(readFileSync(d.sources.get("pictures/a.jpg")!)))
    assert.deepEqual(store.info("pictures/a (2).jpg")!.metadata.map((m) => m.name), ["Trip", "Camera"])
    assert.deepEqual(first.errors, [], "a rename is a warning, not a failure: the error log has no blob")
    assert.match(first.errorText, /<Status>CompletedWithWarnings<\/Status>/)

    const second = await runImport(d, store)
    assert.equal(second.result.status, "CompletedWithWarnings")
    assert.deepEqual(
      second.verbose.map((b) => [b.blobPath, b.importDisposition?.status]),
      [
        ["pictures/a (3).jpg", "Renamed"],
        ["pictures/big (2).bin", "Renamed"],
        ["pictures/empty (2).txt", "Renamed"],
        ["vhds/d.vhd", "Overwritten"],
      ],
    )
    assert.equal(md5(store.content("pictures/a (3).jpg")!), md5(readFileSync(d.sources.get("pictures/a.jpg")!)))
    assert.equal(md5(store.content("pictures/a (2).jpg")!), md5(readFileSync(d.sources.get("pictures/a.jpg")!)))
    assert.equal(md5(store.content("pictures/a.jpg")!), md5(old))
  } finally {
    d.cleanup()
  }
})

test("no-overwrite skips and keeps the old bytes; overwrite replaces (and a held lease is LeasePresent, nothing sent)", async () => {
  const skip = prepareDrive({ photos: "no-overwrite" })
  const over = prepareDrive({ photos: "overwrite" })
  try {
    const store = makeMemoryStore()
    const old = bytes(78, 500)
    store.seed("pictures/a.jpg", old, { metadata: [{ name: "Old", value: "1" }] })
    const s = await runImport(skip, store)
    assert.equal(s.result.status, "CompletedWithWarnings")
    const a = blob(s, "pictures/a.jpg")
    assert.deepEqual([a.status, a.importDisposition, a.ranges.length, a.metadata, a.properties], ["Completed", { status: "Skipped", value: "no-overwrite" }, 0, undefined, undefined])
    assert.match(s.verboseText, /<ImportDisposition Status="Skipped">no-overwrite<\/ImportDisposition>\n    <BlockList \/>\n  <\/Blob>/)
    assert.equal(md5(store.content("pictures/a.jpg")!), md5(old))
    assert.deepEqual(store.info("pictures/a.jpg")!.metadata, [{ name: "Old", value: "1" }])
    assert.ok(!store.requests.some((r) => r.operation === "stage block" && r.ref.name === "a.jpg"), "nothing is sent for a skipped blob")

    const o = await runImport(over, store)
    assert.equal(o.result.status, "Completed")
    assert.equal(blob(o, "pictures/a.jpg").importDisposition?.status, "Overwritten")
    assert.equal(md5(store.content("pictures/a.jpg")!), md5(readFileSync(over.sources.get("pictures/a.jpg")!)))
    assert.deepEqual(store.info("pictures/a.jpg")!.metadata.map((m) => m.name), ["Trip", "Camera"], "the old metadata is replaced")

    const leased = makeMemoryStore()
    leased.seed("pictures/a.jpg", old, { leased: true })
    const l = await runImport(over, leased)
    assert.equal(l.result.status, "CompletedWithErrors")
    const la = blob(l, "pictures/a.jpg")
    assert.deepEqual([la.status, la.importDisposition?.status, statuses(la), la.metadata?.status, la.properties?.status], ["LeasePresent", "Cancelled", ["Cancelled"], "Cancelled", "Cancelled"])
    assert.equal(md5(leased.content("pictures/a.jpg")!), md5(old))
    assert.deepEqual(l.errors.map((b) => b.blobPath), ["pictures/a.jpg"])
  } finally {
    skip.cleanup()
    over.cleanup()
  }
})

test("overwrite of a blob of the other kind: the block blob where a page blob goes is replaced", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore()
    store.seed("vhds/d.vhd", bytes(1, 10))
    const r = await runImport(d, store)
    assert.equal(blob(r, "vhds/d.vhd").importDisposition?.status, "Overwritten")
    assert.equal(store.info("vhds/d.vhd")!.kind, "PageBlob")
    assert.equal(md5(store.content("vhds/d.vhd")!), md5(readFileSync(d.sources.get("vhds/d.vhd")!)))
  } finally {
    d.cleanup()
  }
})

test("damage on the drive: a flipped byte is Corrupted (never sent) and the good blocks Committed; a deleted file is FileNotFound with everything Cancelled; the error log holds exactly that", async () => {
  const d = prepareDrive()
  try {
    flipByte(d.fileOf("pictures/big.bin"), 4 * MiB + 10)
    flipByte(d.fileOf("vhds/d.vhd"), 4096 + MiB + 3)
    unlinkSync(d.fileOf("pictures/a.jpg"))
    const store = makeMemoryStore()
    const r = await runImport(d, store, { info: true })
    assert.equal(r.result.status, "CompletedWithErrors")
    const big = blob(r, "pictures/big.bin")
    assert.deepEqual([big.status, statuses(big)], ["CompletedWithErrors", ["Committed", "Corrupted", "Committed"]])
    const src = readFileSync(d.sources.get("pictures/big.bin")!)
    assert.equal(md5(store.content("pictures/big.bin")!), md5(Buffer.concat([src.subarray(0, 4 * MiB), src.subarray(8 * MiB)])), "the good blocks are committed, the corrupted one is not")
    assert.ok(!store.requests.some((q) => q.operation === "stage block" && q.ref.name === "big.bin" && q.detail === "AQAAAA=="), "the corrupted block is never sent")
    const vhd = blob(r, "vhds/d.vhd")
    assert.deepEqual([vhd.status, statuses(vhd)], ["CompletedWithErrors", ["Completed", "Corrupted"]])
    assert.deepEqual(store.info("vhds/d.vhd")!.pages, [{ offset: 0, length: 4096 }])
    const a = blob(r, "pictures/a.jpg")
    assert.deepEqual([a.status, a.importDisposition?.status, statuses(a), a.metadata?.status, a.properties?.status], ["FileNotFound", "Cancelled", ["Cancelled"], "Cancelled", "Cancelled"])
    assert.equal(store.content("pictures/a.jpg"), undefined)
    assert.equal(blob(r, "pictures/empty.txt").status, "Completed")
    // the error log: exactly the failed blobs, each with only its ranges not Completed (Committed
    // ones included: the blob's block list must be committed again)
    assert.deepEqual(
      r.errors.map((b) => [b.blobPath, b.status, b.ranges.map((x) => [x.offset, x.status])]),
      [
        ["pictures/a.jpg", "FileNotFound", [[0, "Cancelled"]]],
        ["pictures/big.bin", "CompletedWithErrors", [[0, "Committed"], [4 * MiB, "Corrupted"], [8 * MiB, "Committed"]]],
        ["vhds/d.vhd", "CompletedWithErrors", [[4096 + MiB, "Corrupted"]]],
      ],
    )
    assert.equal(r.verbose.length, 4)
  } finally {
    d.cleanup()
  }
})

test("damage on the drive: a truncated file is FileUnexpectedEnd past its end; a corrupt properties file is Corrupted and not applied, the metadata still is", async () => {
  const d = prepareDrive()
  try {
    truncateSync(d.fileOf("pictures/big.bin"), 5 * MiB)
    const manifest = readFileSync(path.join(d.root, "DriveManifest.xml"), "utf8")
    const props = /<PropertiesPath Hash="[0-9A-F]+">([^<]+)<\/PropertiesPath>/.exec(manifest)![1]!
    appendFileSync(path.join(d.root, ...props.split("\\").filter((s) => s !== "")), " ")
    const store = makeMemoryStore()
    const r = await runImport(d, store)
    const big = blob(r, "pictures/big.bin")
    assert.deepEqual([big.status, statuses(big)], ["CompletedWithErrors", ["Committed", "FileUnexpectedEnd", "FileUnexpectedEnd"]])
    assert.equal(big.properties?.status, "Corrupted")
    assert.equal(big.metadata?.status, "Completed")
    const a = blob(r, "pictures/a.jpg")
    assert.deepEqual([a.status, a.properties?.status, statuses(a)], ["CompletedWithErrors", "Corrupted", ["Completed"]])
    assert.deepEqual(store.info("pictures/a.jpg")!.properties, {}, "a corrupted properties file is not applied")
    assert.deepEqual(store.info("pictures/a.jpg")!.metadata.map((m) => m.name), ["Trip", "Camera"])
    assert.equal(md5(store.content("pictures/a.jpg")!), md5(readFileSync(d.sources.get("pictures/a.jpg")!)), "the data imports all the same")
    assert.deepEqual(
      r.errors.map((b) => [b.blobPath, b.ranges.map((x) => x.status), b.metadata?.status, b.properties?.status]),
      [
        ["pictures/a.jpg", [], undefined, "Corrupted"],
        ["pictures/big.bin", ["Committed", "FileUnexpectedEnd", "FileUnexpectedEnd"], undefined, "Corrupted"],
        ["pictures/empty.txt", [], undefined, "Corrupted"],
      ],
    )
    assert.match(r.errorText, /<Properties Status="Corrupted">\n      <GlobalPath Hash="[0-9A-F]{32}">/)
  } finally {
    d.cleanup()
  }
})

test("drive level: no manifest, a malformed one, another drive's, one that is not the job file's: the drive status and no blobs", async () => {
  const d = prepareDrive()
  try {
    const manifestFile = path.join(d.root, "DriveManifest.xml")
    const good = readFileSync(manifestFile)
    const identityFile = path.join(d.root, "waie-drive.json")
    const identity = readFileSync(identityFile, "utf8")
    const refused = async (status: string, o: { info?: boolean } = {}) => {
      const store = makeMemoryStore()
      const r = await runImport(d, store, o)
      assert.equal(r.result.status, status)
      assert.deepEqual(r.verbose, [])
      assert.match(r.verboseText, new RegExp(`^<\\?xml version="1.0" encoding="utf-8"\\?>\\n<DriveLog Version="2014-11-01">\\n  <DriveId>[^<]+</DriveId>\\n  <Status>${status}</Status>\\n</DriveLog>\\n$`))
      assert.equal(r.errorText, r.verboseText)
      assert.ok(!store.requests.some((q) => q.operation !== "create container" && q.operation !== "upload"), "no blob request for a refused drive")
      return r
    }
    unlinkSync(manifestFile)
    const nf = await refused("ManifestNotFound")
    assert.equal(nf.result.driveId, d.driveId)
    writeFileSync(manifestFile, good.toString("utf8").replace("<Length>100000</Length>", "<Length>lots</Length>"))
    const bad = await refused("ManifestFormatInvalid")
    assert.ok(bad.result.issues.some((i) => i.field === "Length" || i.field === "Blob/Length"), JSON.stringify(bad.result.issues))
    writeFileSync(manifestFile, good)
    writeFileSync(identityFile, identity.replace(d.driveId, "OTHERDRIVE1"))
    const other = await refused("ManifestDriveIdMismatch")
    assert.equal(other.result.driveId, "OTHERDRIVE1", "the log names the drive as its serial says")
    writeFileSync(identityFile, identity)
    writeFileSync(manifestFile, good.toString("utf8").replace("<ClientCreator>", "<!-- changed --><ClientCreator>"))
    await refused("ManifestCorrupted", { info: true })
    if (process.getuid?.() !== 0) {
      writeFileSync(manifestFile, good)
      chmodSync(manifestFile, 0o000)
      await refused("ManifestAccessDenied")
      chmodSync(manifestFile, 0o644)
    }
  } finally {
    d.cleanup()
  }
})

const storageError = (operation: string, status: number | undefined, code: string) => new StorageError({ operation, target: "x", ...(status !== undefined ? { status } : {}), code, detail: "" })

test("storage refuses: a failed block is BlobRequestFailed and the others Committed; a failed commit leaves them Uncommitted; the run goes on", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore({
      fault: (q) =>
        q.operation === "stage block" && q.ref.name === "big.bin" && q.detail === "AgAAAA=="
          ? storageError("stage block", 500, "InternalError")
          : q.operation === "commit block list" && q.ref.name === "a.jpg"
            ? storageError("commit block list", 503, "ServerBusy")
            : undefined,
    })
    const r = await runImport(d, store)
    assert.equal(r.result.status, "CompletedWithErrors")
    const big = blob(r, "pictures/big.bin")
    assert.deepEqual([big.status, statuses(big), big.metadata?.status], ["CompletedWithErrors", ["Committed", "Committed", "BlobRequestFailed"], "Completed"])
    const a = blob(r, "pictures/a.jpg")
    assert.deepEqual([a.status, statuses(a), a.metadata?.status, a.properties?.status], ["BlobRequestFailed", ["Uncommitted"], "BlobRequestFailed", "BlobRequestFailed"])
    assert.equal(store.content("pictures/a.jpg"), undefined)
    assert.equal(blob(r, "vhds/d.vhd").status, "Completed", "the blobs after the failures import")
    assert.equal(blob(r, "pictures/empty.txt").status, "Completed")
    const outcome = r.outcomes.find((o) => o.start.blobPath === "pictures/a.jpg")!
    assert.match(outcome.problems.join("\n"), /503 ServerBusy/)
  } finally {
    d.cleanup()
  }
})

test("403 on everything: BlobRequestForbidden blob after blob, a container given up after the cutoff, drive BlobRequestForbidden", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore({ fault: (q) => (q.operation === "upload" ? undefined : storageError(q.operation, 403, "AuthenticationFailed")) })
    const r = await runImport(d, store, { settings: { ...defaultImportSettings, forbiddenCutoff: 2 } })
    assert.equal(r.result.status, "BlobRequestForbidden")
    assert.deepEqual(
      r.verbose.map((b) => [b.blobPath, b.status, b.importDisposition?.status, statuses(b)]),
      [
        ["pictures/a.jpg", "BlobRequestForbidden", "Cancelled", ["Cancelled"]],
        ["pictures/big.bin", "BlobRequestForbidden", "Cancelled", ["Cancelled", "Cancelled", "Cancelled"]],
        ["pictures/empty.txt", "BlobRequestForbidden", "Cancelled", []],
        ["vhds/d.vhd", "BlobRequestForbidden", "Cancelled", ["Cancelled", "Cancelled"]],
      ],
    )
    const asked = (name: string) => store.requests.filter((q) => q.ref.name === name || (q.ref.container === name && q.ref.name === undefined)).length
    assert.ok(asked("a.jpg") + asked("pictures") > 0)
    assert.equal(asked("empty.txt"), 0, "after two refused blobs the container is given up: no request for the third")
    assert.equal(r.errors.length, 4)
  } finally {
    d.cleanup()
  }
})

test("storage unreachable: the drive stops asking after the cutoff and says so", async () => {
  const d = prepareDrive()
  try {
    const store = makeMemoryStore({ fault: (q) => (q.operation === "upload" ? undefined : storageError(q.operation, undefined, "Unreachable")) })
    const r = await runImport(d, store, { settings: { ...defaultImportSettings, unreachableCutoff: 1, blobsInFlight: 1 } })
    assert.equal(r.result.unreachable, true)
    assert.equal(r.result.status, "CompletedWithErrors")
    assert.deepEqual(r.verbose.map((b) => b.status), ["BlobRequestFailed", "BlobRequestFailed", "BlobRequestFailed", "BlobRequestFailed"])
    assert.equal(store.requests.filter((q) => q.ref.name === "big.bin" || q.ref.name === "d.vhd").length, 0)
  } finally {
    d.cleanup()
  }
})

test("streaming: a blob's log entry is out before later blobs are asked about, and at most rangesInFlight buffers exist", async () => {
  const d = prepareDrive()
  try {
    const order: Array<string> = []
    const store = makeMemoryStore({
      fault: (q) => {
        if (q.operation === "get properties") order.push(`ask ${q.ref.name}`)
        return undefined
      },
    })
    const logDir = mkdtempSync(path.join(tmpdir(), "waie-svc-logs-"))
    try {
      const settings: ImportSettings = { ...defaultImportSettings, blobsInFlight: 1, rangesInFlight: 2 }
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const identity = yield* driveIdentity(d.root)
          return yield* importDrive(d.root, undefined, identity, { job: "t", logDir, settings, onBlob: (_, o) => Effect.sync(() => void order.push(`log ${o.start.blobPath}`)) })
        }).pipe(Effect.provide(Layer.mergeAll(store.layer, NodeContext.layer, VolumesTest({}).pipe(Layer.provide(NodeContext.layer))))),
      )
      assert.ok(order.indexOf("log pictures/a.jpg") < order.indexOf("ask d.vhd"), order.join(", "))
      assert.ok(result.maxBuffers <= 2 && result.maxBuffers > 0, String(result.maxBuffers))
      assert.ok(store.maxInFlight() <= 2)
    } finally {
      rmSync(logDir, { recursive: true, force: true })
    }
  } finally {
    d.cleanup()
  }
})

test("a blob's own metadata and properties files override the BlobList's name by name; a manifest without block ids imports with index ids; a bad own file is XmlReadFailed or FileNotFound", async () => {
  const d = prepareDrive()
  try {
    const manifestFile = path.join(d.root, "DriveManifest.xml")
    const own = '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <camera>Canon</camera>\n  <Lens>50mm</Lens>\n</Metadata>\n'
    const ownProps = '<?xml version="1.0" encoding="UTF-8"?>\n<Properties>\n  <Content-Type>image/png</Content-Type>\n</Properties>\n'
    const badProps = '<?xml version="1.0" encoding="UTF-8"?>\n<Properties>\n  <Colour>red</Colour>\n</Properties>\n'
    writeFileSync(path.join(d.root, "own-meta.xml"), own)
    writeFileSync(path.join(d.root, "own-props.xml"), ownProps)
    writeFileSync(path.join(d.root, "bad-props.xml"), badProps)
    let m = readFileSync(manifestFile, "utf8")
    const after = (blobPath: string, extra: string) => {
      const at = m.indexOf("</Blob>", m.indexOf(`<BlobPath>${blobPath}</BlobPath>`))
      m = m.slice(0, at) + extra + "\n      " + m.slice(at)
    }
    after("pictures/a.jpg", `  <MetadataPath Hash="${md5(Buffer.from(own))}">\\own-meta.xml</MetadataPath>\n        <PropertiesPath Hash="${md5(Buffer.from(ownProps))}">\\own-props.xml</PropertiesPath>`)
    after("pictures/big.bin", `  <MetadataPath Hash="${md5(Buffer.from(own))}">\\gone.xml</MetadataPath>\n        <PropertiesPath Hash="${md5(Buffer.from(badProps))}">\\bad-props.xml</PropertiesPath>`)
    m = m.replace(/ Id="[^"]+"/g, "")
    writeFileSync(manifestFile, m)
    const store = makeMemoryStore()
    const r = await runImport(d, store)
    const a = store.info("pictures/a.jpg")!
    assert.deepEqual(a.metadata, [
      { name: "Trip", value: "2024" },
      { name: "camera", value: "Canon" },
      { name: "Lens", value: "50mm" },
    ])
    assert.deepEqual(a.properties, { contentType: "image/png", cacheControl: "max-age=60" })
    const la = blob(r, "pictures/a.jpg")
    assert.equal(la.status, "Completed")
    assert.deepEqual(la.metadata, { status: "Completed", globalPath: la.metadata!.globalPath!, path: { path: "\\own-meta.xml", hash: md5(Buffer.from(own)) } })
    const big = blob(r, "pictures/big.bin")
    assert.deepEqual([big.status, big.metadata?.status, big.properties?.status], ["CompletedWithErrors", "FileNotFound", "XmlReadFailed"])
    assert.deepEqual(big.ranges.map((x) => (x._tag === "Block" ? x.id : "")), ["AAAAAA==", "AQAAAA==", "AgAAAA=="])
    assert.equal(md5(store.content("pictures/big.bin")!), md5(readFileSync(d.sources.get("pictures/big.bin")!)))
    assert.deepEqual(store.info("pictures/big.bin")!.metadata.map((x) => x.name), ["Trip", "Camera"], "the global metadata still applies")
  } finally {
    d.cleanup()
  }
})

test("memory: the manifest is read as the blobs go (the first block is sent long before its end is read), and 30,000 blobs pass through", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-svc-big-"))
  try {
    const root = path.join(dir, "g")
    mkdirSync(root)
    writeFileSync(path.join(root, "waie-drive.json"), JSON.stringify({ driveId: "BIGDRIVE", journalId: "J", created: "2024-01-01T00:00:00.000Z" }) + "\n")
    const data = bytes(5, 1000)
    writeFileSync(path.join(root, "f.bin"), data)
    const blobXml = (blobPath: string) =>
      `      <Blob>\n        <BlobPath>${blobPath}</BlobPath>\n        <FilePath>\\f.bin</FilePath>\n        <Length>1000</Length>\n        <BlockList>\n          <Block Offset="0" Length="1000" Id="AAAAAA==" Hash="${md5(data)}" />\n        </BlockList>\n      </Blob>\n`
    const count = 30_000
    const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="2014-11-01">\n  <Drive>\n    <DriveId>BIGDRIVE</DriveId>\n    <StorageAccountKey>${Buffer.alloc(64, 1).toString("base64")}</StorageAccountKey>\n    <BlobList>\n`, blobXml("fine/first.bin")]
    for (let i = 1; i < count; i++) parts.push(blobXml(`denied/b${String(i).padStart(5, "0")}.bin`))
    parts.push("    </BlobList>\n  </Drive>\n</DriveManifest>\n")
    const manifest = path.join(root, "DriveManifest.xml")
    writeFileSync(manifest, parts.join(""))
    const size = statSync(manifest).size

    let opened = 0
    let read = 0
    let readAtFirstBlock: number | undefined
    const counting = Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fs) => ({
        ...fs,
        stream: (p: string, o?: FileSystem.StreamOptions) => {
          if (p !== manifest) return fs.stream(p, o)
          opened++
          read = 0
          return fs.stream(p, o).pipe(Stream.tap((c) => Effect.sync(() => void (read += c.length))))
        },
      })),
    ).pipe(Layer.provide(NodeContext.layer))
    const store = makeMemoryStore({
      fault: (q) => {
        if (q.operation === "stage block" && readAtFirstBlock === undefined) readAtFirstBlock = opened === 2 ? read : -1
        return q.ref.container === "denied" && q.operation !== "upload" ? storageError(q.operation, 403, "AuthenticationFailed") : undefined
      },
    })
    const logDir = path.join(dir, "logs")
    mkdirSync(logDir)
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const identity = yield* driveIdentity(root)
        return yield* importDrive(root, undefined, identity, { job: "t", logDir })
      }).pipe(Effect.provide(Layer.mergeAll(store.layer, Layer.merge(NodeContext.layer, counting), VolumesTest({}).pipe(Layer.provide(NodeContext.layer))))),
    )
    assert.equal(result.summary.blobs, count, `${result.status}: ${result.problem} ${JSON.stringify(result.issues.slice(0, 3))}`)
    assert.equal(result.summary.blobStatus["Completed"], 1)
    assert.equal(result.summary.blobStatus["BlobRequestForbidden"], count - 1)
    assert.ok(readAtFirstBlock !== undefined && readAtFirstBlock > 0, String(readAtFirstBlock))
    assert.ok(readAtFirstBlock! < size / 2, `the first block went out after ${readAtFirstBlock} of the manifest's ${size} bytes were read`)
    assert.ok(store.requests.filter((q) => q.ref.container === "denied").length <= defaultImportSettings.forbiddenCutoff + defaultImportSettings.blobsInFlight, "the denied container is given up after the cutoff")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("the job file's ManifestFile says where the manifest is; a name that is no path on the drive is ManifestNameInvalid; a drive folder that is not there is DiskNotFound", async () => {
  const d = prepareDrive()
  try {
    const text = readFileSync(path.join(d.root, "DriveManifest.xml"))
    mkdirSync(path.join(d.root, "jobs"))
    writeFileSync(path.join(d.root, "jobs", "m.xml"), text)
    unlinkSync(path.join(d.root, "DriveManifest.xml"))
    const job = readFileSync(d.jobFile, "utf8")
    writeFileSync(d.jobFile, job.replace("<ManifestFile>\\DriveManifest.xml</ManifestFile>", "<ManifestFile>\\jobs\\m.xml</ManifestFile>"))
    const moved = await runImport(d, makeMemoryStore(), { info: true })
    assert.equal(moved.result.status, "Completed", moved.result.problem)
    assert.equal(moved.result.manifest?.manifestFile, "\\jobs\\m.xml")
    writeFileSync(d.jobFile, job.replace("<ManifestFile>\\DriveManifest.xml</ManifestFile>", "<ManifestFile>C:\\DriveManifest.xml</ManifestFile>"))
    const bad = await runImport(d, makeMemoryStore(), { info: true })
    assert.equal(bad.result.status, "ManifestNameInvalid")
    rmSync(d.root, { recursive: true })
    const gone = await runImport(d, makeMemoryStore())
    assert.equal(gone.result.status, "DiskNotFound")
    assert.equal(gone.result.driveId, "g", "without the drive its folder's name stands for its DriveId")
  } finally {
    d.cleanup()
  }
})
