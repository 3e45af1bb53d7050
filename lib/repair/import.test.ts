/**
 * RepairImport on the in-memory BlobStore (fast, and open to fault injection), on copy logs the
 * real import executor wrote for real PrepImport drives: what a blob that was never written
 * becomes when its name is taken meanwhile (rename, overwrite, no-overwrite, a lease), a page
 * blob created whole, the chosen name surviving a crash, an error log that does not list a block
 * list whole. The end-to-end proofs against azurite are in scripts/repair-import.test.ts.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Layer } from "effect"
import assert from "node:assert/strict"
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { StorageError } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { driveIdentity } from "../service/drive-check.ts"
import { importDrive } from "../service/import.ts"
import { type MemoryStore, makeMemoryStore } from "../service/memory-store.ts"
import { md5, type PreparedDrive, prepareDrive } from "../service/test-drives.ts"
import { runRepairImport } from "./import.ts"
import type { BlobResult } from "./session.ts"

const layers = (store: MemoryStore) => Layer.mergeAll(store.layer, NodeContext.layer, VolumesTest({}).pipe(Layer.provide(NodeContext.layer)))

/** Import the drive (after `damage`) into `store`, keeping a copy of it first; the verbose and error logs. */
const imported = async (d: PreparedDrive, store: MemoryStore, damage: () => void) => {
  const copy = path.join(d.dir, "copy")
  cpSync(d.root, copy, { recursive: true })
  damage()
  const logDir = mkdtempSync(path.join(tmpdir(), "waie-repimp-logs-"))
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const identity = yield* driveIdentity(d.root)
      return yield* importDrive(d.root, undefined, identity, { job: "t", logDir })
    }).pipe(Effect.provide(layers(store))),
  )
  return { copy, verbose: result.logs.verbose.file, error: result.logs.error.file, logDir }
}

const repair = async (d: PreparedDrive, store: MemoryStore, x: { copy: string; verbose: string }, rep = "r.rep") => {
  const results: Array<BlobResult> = []
  const exit = await Effect.runPromise(
    runRepairImport({ repairFile: { real: path.join(d.dir, rep), shown: rep }, dirs: [{ real: x.copy, shown: "copy" }], copyLog: { real: x.verbose, shown: "log.xml" } }, { blob: (b) => void results.push(b.result) }).pipe(
      Effect.either,
      Effect.provide(layers(store)),
    ),
  )
  return { exit, results }
}

test("a blob never written whose name was taken meanwhile: rename writes 'name (2)', overwrite replaces, no-overwrite keeps", async () => {
  for (const photos of ["rename", "overwrite", "no-overwrite"] as const) {
    const d = prepareDrive({ photos })
    const store = makeMemoryStore()
    try {
      const x = await imported(d, store, () => unlinkSync(d.fileOf("pictures/a.jpg")))
      store.seed("pictures/a.jpg", new Uint8Array([1, 2, 3]), { metadata: [{ name: "Owner", value: "someone" }] })
      const { exit, results } = await repair(d, store, x)
      assert.ok(Either.isRight(exit), `${photos}: ${Either.isLeft(exit) ? String(exit.left) : ""}`)
      const a = results.find((r) => r.blobPath.startsWith("pictures/a"))!
      const source = md5(readFileSync(d.sources.get("pictures/a.jpg")!))
      if (photos === "rename") {
        assert.equal(a.blobPath, "pictures/a (2).jpg")
        assert.equal(md5(store.content("pictures/a (2).jpg")!), source)
        assert.deepEqual([...store.content("pictures/a.jpg")!], [1, 2, 3], "the other blob is kept")
        assert.deepEqual(store.info("pictures/a (2).jpg")!.metadata, [{ name: "Trip", value: "2024" }, { name: "Camera", value: "Nikon" }])
      } else if (photos === "overwrite") {
        assert.equal(a.blobPath, "pictures/a.jpg")
        assert.equal(md5(store.content("pictures/a.jpg")!), source)
        assert.equal(store.info("pictures/a.jpg")!.properties.contentType, "image/jpeg")
      } else {
        assert.equal(a._tag, "Repaired")
        assert.match(a._tag === "Repaired" ? a.detail : "", /no-overwrite: it is kept/)
        assert.deepEqual([...store.content("pictures/a.jpg")!], [1, 2, 3])
      }
    } finally {
      d.cleanup()
    }
  }
})

test("overwrite of a leased blob is left unresolved (no FilePath to map); a page blob never written is created whole", async () => {
  const d = prepareDrive({ photos: "overwrite" })
  const store = makeMemoryStore()
  try {
    const x = await imported(d, store, () => {
      unlinkSync(d.fileOf("pictures/a.jpg"))
      unlinkSync(d.fileOf("vhds/d.vhd"))
    })
    store.seed("pictures/a.jpg", new Uint8Array([9]), { leased: true })
    const { exit, results } = await repair(d, store, x)
    assert.ok(Either.isRight(exit), Either.isLeft(exit) ? String(exit.left) : "")
    assert.equal(exit.right.unresolved, 1)
    const a = results.find((r) => r.blobPath === "pictures/a.jpg")!
    assert.deepEqual([a._tag, a._tag === "Unresolved" ? a.filePath : "?"], ["Unresolved", ""])
    assert.match(a._tag === "Unresolved" ? a.reason : "", /a lease is held on the existing blob/)
    assert.equal(md5(store.content("vhds/d.vhd")!), md5(readFileSync(d.sources.get("vhds/d.vhd")!)))
    assert.deepEqual(store.info("vhds/d.vhd")!.pages.map((p) => [p.offset, p.length]), [[0, 4096], [4096 + 1024 * 1024, 512]], "only the non-zero ranges are put")
  } finally {
    d.cleanup()
  }
})

test("the name a repair chose survives a crash: the resumed run writes to 'a (2).jpg', not to a third name", async () => {
  const d = prepareDrive()
  let failing = true
  const store = makeMemoryStore({ fault: (r) => (failing && r.operation === "stage block" && r.ref.name === "a (2).jpg" ? new StorageError({ operation: r.operation, target: "x", code: "Unreachable", detail: "test" }) : undefined) })
  try {
    const x = await imported(d, store, () => unlinkSync(d.fileOf("pictures/a.jpg")))
    store.seed("pictures/a.jpg", new Uint8Array([1]))
    const first = await repair(d, store, x)
    assert.ok(Either.isLeft(first.exit), "the first run stops at the storage error")
    assert.match(readFileSync(path.join(d.dir, "r.rep"), "utf8"), /\[Type:PartsRepaired\]\nBlob: 0\nBlobPath: "pictures\/a \(2\)\.jpg"\nOffsets: \n/)
    failing = false
    const second = await repair(d, store, x)
    assert.ok(Either.isRight(second.exit), Either.isLeft(second.exit) ? String(second.exit.left) : "")
    assert.deepEqual(store.names().filter((n) => n.startsWith("pictures/a")).sort(), ["pictures/a (2).jpg", "pictures/a.jpg"])
    assert.equal(md5(store.content("pictures/a (2).jpg")!), md5(readFileSync(d.sources.get("pictures/a.jpg")!)))
  } finally {
    d.cleanup()
  }
})

test("an error log that leaves out the Completed blocks of a blob whose list must be committed again is refused before anything changes", async () => {
  const d = prepareDrive()
  const store = makeMemoryStore()
  try {
    const x = await imported(d, store, () => {
      const f = d.fileOf("pictures/big.bin")
      const b = readFileSync(f)
      b[5] = b[5]! ^ 1
      writeFileSync(f, b)
    })
    // a service-style error log: the failed block only
    const text = readFileSync(x.error, "utf8").replace(/\s*<Block [^>]*Status="Committed"\/>/g, "")
    const cut = path.join(d.dir, "cut.xml")
    writeFileSync(cut, text)
    const requests = store.requests.length
    const { exit } = await repair(d, store, { copy: x.copy, verbose: cut })
    assert.ok(Either.isLeft(exit))
    assert.equal((exit.left as { _tag: string })._tag, "CopyLogRefused")
    assert.match((exit.left as Error).message, /blob pictures\/big\.bin: its block list must be committed again, but the copy log lists blocks covering only part of its 9437191 bytes .*give the drive's verbose copy log/)
    assert.equal(store.requests.length, requests, "no request")
  } finally {
    d.cleanup()
    rmSync(path.join(d.dir, "r.rep"), { force: true })
  }
})

test("only the properties failed: the error log (which leaves the Completed blocks out) is enough, and only Set Blob Properties is sent", async () => {
  const d = prepareDrive()
  const store = makeMemoryStore()
  try {
    const x = await imported(d, store, () => {
      const manifest = readFileSync(path.join(d.root, "DriveManifest.xml"), "utf8")
      const p = /<PropertiesPath Hash="[0-9A-F]+">([^<]+)<\/PropertiesPath>/.exec(manifest)![1]!
      const f = path.join(d.root, ...p.split("\\").filter((s) => s !== ""))
      writeFileSync(f, readFileSync(f, "utf8") + "\n")
    })
    assert.doesNotMatch(readFileSync(x.error, "utf8"), /<Block /, "the error log lists no block")
    const before = store.requests.length
    const { exit } = await repair(d, store, { copy: x.copy, verbose: x.error })
    assert.ok(Either.isRight(exit), Either.isLeft(exit) ? String(exit.left) : "")
    assert.equal(exit.right.repaired, 3)
    const writes = store.requests.slice(before).filter((r) => !r.operation.startsWith("get "))
    assert.deepEqual([...new Set(writes.map((r) => r.operation))], ["set properties"])
    for (const p of ["pictures/a.jpg", "pictures/big.bin", "pictures/empty.txt"]) {
      assert.equal(store.info(p)!.properties.contentType, "image/jpeg", p)
      assert.equal(md5(store.content(p)!), md5(readFileSync(d.sources.get(p)!)), p)
    }
  } finally {
    d.cleanup()
  }
})
