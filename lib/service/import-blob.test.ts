import type { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { BlobFiles } from "./blob-files.ts"
import { Breaker, BufferPool, ClaimLog, defaultImportSettings, type ImportContext, type Prepared, prepareBlob, probeBlob, rangeHasher, renameStem, stampBlob } from "./import-blob.ts"
import type { BlobJob } from "./manifest-blobs.ts"
import { type MemoryStore, makeMemoryStore } from "./memory-store.ts"
import { candidateIndex, renamed } from "../rename.ts"

test("the stem every renaming of a blob starts with: listing from it finds them all", () => {
  for (const [p, stem] of [
    ["c/photos/Seattle.jpg", "c/photos/Seattle"],
    ["c/BlobNameWithoutDot", "c/BlobNameWithoutDot"],
    ["c/a.b/c", "c/a.b/c"],
    ["c/.bashrc", "c/.bashrc"],
    ["c/x (2).tar.gz", "c/x (2).tar"],
    ["c/name.", "c/name"],
  ] as const) {
    assert.equal(renameStem(p), stem, p)
    for (const n of [2, 3, 10]) {
      assert.ok(renamed(p, n).startsWith(stem), `${renamed(p, n)} starts with ${stem}`)
      assert.equal(candidateIndex(p, renamed(p, n)), n)
    }
  }
})

test("the breaker: a container is given up after the cutoff of 403s in a row, a success resets the count; unreachable stops the drive", () => {
  const b = new Breaker({ ...defaultImportSettings, forbiddenCutoff: 2, unreachableCutoff: 2 })
  b.record("a", "forbidden", false)
  b.record("a", undefined, true)
  b.record("a", "forbidden", false)
  assert.equal(b.blocked("a"), undefined, "the success between the two 403s reset the count")
  b.record("a", "forbidden", false)
  assert.equal(b.blocked("a"), "forbidden")
  assert.equal(b.blocked("b"), undefined, "another container is still tried")
  b.record("b", "unreachable", false)
  assert.equal(b.blocked("b"), undefined)
  b.record("b", "unreachable", false)
  assert.equal(b.blocked("b"), "unreachable")
  assert.equal(b.blocked("c"), "unreachable")
})

test("claims logged in order: a name claimed after a stamp makes that stamp's answer stale; older claims are forgotten as answers come", () => {
  const log = new ClaimLog()
  log.add("c/a.txt")
  const stamp = log.seq
  assert.equal(log.claimedSince("c/a.txt", stamp), false, "claimed before the stamp: the answer saw it")
  log.add("c/b.txt")
  log.add("c/a (2).txt")
  assert.equal(log.claimedSince("c/a.txt", stamp), false, "only the exact name changes whether it exists")
  assert.equal(log.claimedSince("c/b.txt", stamp), true)
  assert.equal(log.claimedSince("c/b.txt", log.seq), false)
  assert.equal(log.claimedSince("c/b.txt", stamp), false, "forgotten once a later stamp was answered (stamps come in order)")
})

/** A context on the in-memory store, with one file `f.txt` on a drive folder. */
const withContext = async <A>(f: (ctx: ImportContext, store: MemoryStore, job: BlobJob) => Effect.Effect<A, never, FileSystem.FileSystem>): Promise<A> => {
  const root = mkdtempSync(path.join(tmpdir(), "waie-probe-"))
  try {
    writeFileSync(path.join(root, "f.txt"), "hello")
    const store = makeMemoryStore()
    store.seed("c/a.txt", Buffer.from("there already"))
    const ctx: ImportContext = {
      store: store.service,
      root,
      settings: defaultImportSettings,
      pool: new BufferPool(1),
      md5: rangeHasher(undefined),
      breaker: new Breaker(defaultImportSettings),
      files: new BlobFiles(root),
      containers: new Set(["c"]),
      claims: new Map(),
      claimLog: new ClaimLog(),
    }
    const job: BlobJob = { index: 0, blobPath: "c/a.txt", filePath: "\\f.txt", length: 5, list: "block", ranges: [] }
    return await Effect.runPromise(f(ctx, store, job).pipe(Effect.provide(NodeContext.layer)))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const decision = (p: Prepared) => (p._tag === "Go" ? [p.plan.disposition, p.plan.targetPath] : [p.outcome.start.importDisposition?.status, p.outcome.start.blobPath])

test("a name looked up ahead of its turn: the answer is used when nothing claimed the name since, asked again when something did", async () => {
  // an answer ahead said "no such blob" (the seeded one stands for a blob written meanwhile)
  const used = await withContext((ctx, store, job) =>
    Effect.gen(function* () {
      const p = yield* prepareBlob(ctx, { job, seq: ctx.claimLog.seq, existing: { info: undefined } })
      return [decision(p), store.requests.filter((q) => q.operation === "get properties").length]
    }),
  )
  assert.deepEqual(used, [["Created", "c/a.txt"], 0], "nothing claimed it since: the answer stands, no request")
  const stale = await withContext((ctx, _store, job) =>
    Effect.gen(function* () {
      const seq = ctx.claimLog.seq
      ctx.claimLog.add("c/a.txt")
      return decision(yield* prepareBlob(ctx, { job, seq, existing: { info: undefined } }))
    }),
  )
  assert.deepEqual(stale, ["Renamed", "c/a (2).txt"], "claimed since the answer: asked again, found, renamed")
})

test("looking ahead: the file's problem is found ahead; storage is asked only for a container this run made and where nothing has failed", async () => {
  const probes = await withContext((ctx, store, job) =>
    Effect.gen(function* () {
      const asked = () => store.requests.filter((q) => q.operation === "get properties").length
      const ok = yield* probeBlob(ctx, stampBlob(ctx, job))
      const missing = yield* probeBlob(ctx, stampBlob(ctx, { ...job, filePath: "\\gone.txt" }))
      const other = yield* probeBlob(ctx, stampBlob(ctx, { ...job, blobPath: "d/a.txt" }))
      ctx.breaker.record("c", "forbidden", false)
      const troubled = yield* probeBlob(ctx, stampBlob(ctx, job))
      return { ok: ok.existing?.info?.name, missing: missing.file?.status, other: other.existing, troubled: troubled.existing, asked: asked() }
    }),
  )
  assert.deepEqual(probes, { ok: "a.txt", missing: "FileNotFound", other: undefined, troubled: undefined, asked: 1 })
})
