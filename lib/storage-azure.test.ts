import { after, before, describe, it } from "node:test"
import assert from "node:assert/strict"
import * as http from "node:http"
import * as net from "node:net"
import { createHash } from "node:crypto"
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob"
import { Chunk, Effect, Exit, Schedule, Stream } from "effect"
import { type RunningAzurite, startTestAzurite } from "./azurite.ts"
import { type BlobRef, BlobStore, type BlobStoreService, isForbidden, isLeaseConflict, isNotFound, isUnreachable, StorageError } from "./storage.ts"
import { BlobStoreLive, makeBlobStore, type StorageCredentials, uploadBlockBytes } from "./storage-azure.ts"

const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex").toUpperCase()
const id = (s: string): string => Buffer.from(s).toString("base64")
const bytes = (n: number, seed: number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff
  return b
}
const noWait = Schedule.recurs(3)

const run = <A>(e: Effect.Effect<A, StorageError>): Promise<A> => Effect.runPromise(e)
/** The StorageError an effect fails with (fails the test if it succeeds or dies). */
const failure = async <A>(e: Effect.Effect<A, StorageError>): Promise<StorageError> => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isSuccess(exit)) assert.fail(`expected a StorageError, got success: ${String(exit.value)}`)
  if (exit.cause._tag !== "Fail") assert.fail(`expected a failure, got ${exit.cause._tag}`)
  return exit.cause.error
}
const collect = <A>(s: Stream.Stream<A, StorageError>): Promise<Array<A>> => Effect.runPromise(Stream.runCollect(s)).then((c) => Chunk.toArray(c))

let az: RunningAzurite
let store: BlobStoreService
const ref = (name: string, container = "data"): BlobRef => ({ container, name })

before(async () => {
  az = await startTestAzurite()
  store = makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, { retrySchedule: noWait, listPageSize: 2 })
  await run(store.ensureContainer("data"))
})
after(() => az?.stop())

describe("BlobStoreLive on azurite", () => {
  it("ensureContainer is idempotent; endpoint and account come from the credentials", async () => {
    await run(store.ensureContainer("data"))
    assert.equal(store.endpoint, az.blobEndpoint)
    assert.equal(store.account, "devstoreaccount1")
  })

  it("stageBlock refuses bytes that do not match their MD5 (Md5Mismatch), takes them when they do", async () => {
    const r = ref("md5/one")
    const data = bytes(1000, 1)
    const wrong = md5(bytes(1000, 2))
    const e = await failure(store.stageBlock(r, id("b0"), data, wrong))
    assert.equal(e.status, 400)
    assert.equal(e.code, "Md5Mismatch")
    assert.equal(e.operation, "stage block")
    assert.equal(e.target, "data/md5/one")
    await run(store.stageBlock(r, id("b0"), data, md5(data)))
    const list = await run(store.getBlockList(r))
    assert.deepEqual(list.uncommitted, [{ id: id("b0"), length: 1000 }])
    assert.deepEqual(list.committed, [])
  })

  it("commitBlockList makes the blob exactly those blocks in the order given; others are dropped", async () => {
    const r = ref("order/blob.bin")
    const a = bytes(700, 3)
    const b = bytes(500, 4)
    const c = bytes(300, 5)
    for (const [n, d] of [["A", a], ["B", b], ["C", c]] as const) await run(store.stageBlock(r, id(`blk-${n}`), d, md5(d)))
    await run(store.commitBlockList(r, [id("blk-C"), id("blk-A")]))
    const info = await run(store.getBlob(r))
    assert.equal(info?.kind, "BlockBlob")
    assert.equal(info?.length, 1000)
    assert.deepEqual(await run(store.read(r, 0, 1000)), Buffer.concat([c, a]))
    const list = await run(store.getBlockList(r))
    assert.deepEqual(list.committed, [{ id: id("blk-C"), length: 300 }, { id: id("blk-A"), length: 700 }])
    assert.deepEqual(list.uncommitted, [], "B was not committed: the service discards it")
  })

  it("page blob: created all zero, only the pages put are listed as ranges, reads give the bytes or zeros", async () => {
    const r = ref("pages/disk.vhd")
    const size = 3 * 1024 * 1024
    await run(store.createPageBlob(r, size))
    assert.deepEqual(await collect(store.getPageRanges(r)), [])
    const p1 = bytes(512, 6)
    const p2 = bytes(1024, 7)
    const p3 = bytes(512, 8)
    await run(store.putPages(r, 0, p1, md5(p1)))
    await run(store.putPages(r, 2 * 1024 * 1024, p2, md5(p2)))
    await run(store.putPages(r, size - 512, p3, md5(p3)))
    // one range per call here: a listing of 2 per page crosses a page boundary
    assert.deepEqual(await collect(store.getPageRanges(r)), [
      { offset: 0, length: 512 },
      { offset: 2 * 1024 * 1024, length: 1024 },
      { offset: size - 512, length: 512 },
    ])
    assert.deepEqual(await run(store.read(r, 2 * 1024 * 1024, 1024)), Buffer.from(p2))
    assert.deepEqual(await run(store.read(r, 4096, 512)), Buffer.alloc(512))
    const info = await run(store.getBlob(r))
    assert.equal(info?.kind, "PageBlob")
    assert.equal(info?.length, size)
    // (azurite 3.35 does not check Put Page's transactional MD5 as Azure does, so a wrong one
    // cannot be tested here; Put Block's is checked above)
  })

  it("properties and metadata set at commit come back from getBlob and listBlobs; set* replace them", async () => {
    const r = ref("props/photo.jpg")
    const d = bytes(100, 9)
    await run(store.stageBlock(r, id("x"), d, md5(d)))
    const contentMD5 = Buffer.from(md5(d), "hex").toString("base64")
    await run(
      store.commitBlockList(r, [id("x")], {
        properties: { contentType: "image/jpeg", contentMD5, contentEncoding: "identity", contentLanguage: "en-GB", cacheControl: "max-age=60", contentDisposition: "inline" },
        metadata: [
          { name: "Author", value: "Jane Doe" },
          { name: "batch", value: "7" },
        ],
      }),
    )
    const info = await run(store.getBlob(r))
    assert.ok(info)
    assert.equal(info.properties.contentType, "image/jpeg")
    assert.equal(info.properties.contentMD5, contentMD5)
    assert.equal(info.properties.contentEncoding, "identity")
    assert.equal(info.properties.contentLanguage, "en-GB")
    assert.equal(info.properties.cacheControl, "max-age=60")
    assert.equal(info.properties.contentDisposition, "inline")
    assert.equal(info.properties.contentLength, 100)
    assert.equal(info.properties.etag, info.etag)
    assert.match(info.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    // names as given (the service keeps their case); sorted for deterministic export output
    assert.deepEqual(info.metadata, [
      { name: "Author", value: "Jane Doe" },
      { name: "batch", value: "7" },
    ])
    const listed = await collect(store.listBlobs("data", "props/"))
    assert.equal(listed.length, 1)
    assert.deepEqual(listed[0]!.metadata, info.metadata)
    assert.equal(listed[0]!.properties.contentType, "image/jpeg")
    assert.equal(listed[0]!.etag, info.etag)

    await run(store.setMetadata(r, [{ name: "Only", value: "one" }]))
    await run(store.setProperties(r, { contentType: "text/plain" }))
    const again = await run(store.getBlob(r))
    assert.deepEqual(again?.metadata, [{ name: "Only", value: "one" }])
    assert.equal(again?.properties.contentType, "text/plain")
    assert.equal(again?.properties.cacheControl, undefined, "Set Blob Properties clears what it is not given")
    assert.equal(again?.properties.contentLanguage, undefined)
  })

  it("a ranged read with a stale etag fails 412 ConditionNotMet; with the current one it reads", async () => {
    const r = ref("etag/file")
    const v1 = bytes(2000, 10)
    await run(store.upload(r, Stream.make(v1)))
    const first = await run(store.getBlob(r))
    assert.deepEqual(await run(store.read(r, 100, 50, first!.etag)), Buffer.from(v1.subarray(100, 150)))
    const v2 = bytes(2000, 11)
    await run(store.upload(r, Stream.make(v2)))
    const e = await failure(store.read(r, 100, 50, first!.etag))
    assert.equal(e.status, 412)
    assert.equal(e.code, "ConditionNotMet")
    const now = await run(store.getBlob(r))
    assert.deepEqual(await run(store.read(r, 100, 50, now!.etag)), Buffer.from(v2.subarray(100, 150)))
  })

  it("leases: a second acquire conflicts, writes without the lease id are refused, with it they pass", async () => {
    const r = ref("lease/held")
    await run(store.upload(r, Stream.make(bytes(10, 12))))
    const leaseId = await run(store.acquireLease(r, 15))
    assert.ok(leaseId.length > 0)
    assert.equal((await run(store.getBlob(r)))?.leased, true)
    const again = await failure(store.acquireLease(r, 15))
    assert.equal(again.status, 409)
    assert.equal(again.code, "LeaseAlreadyPresent")
    assert.ok(isLeaseConflict(again))
    const d = bytes(10, 13)
    await run(store.stageBlock(r, id("l1"), d, md5(d), leaseId))
    const noLease = await failure(store.commitBlockList(r, [id("l1")]))
    assert.equal(noLease.code, "LeaseIdMissing")
    assert.ok(isLeaseConflict(noLease))
    await run(store.commitBlockList(r, [id("l1")], { leaseId }))
    const meta = await failure(store.setMetadata(r, [{ name: "a", value: "b" }]))
    assert.ok(isLeaseConflict(meta))
    await run(store.releaseLease(r, leaseId))
    assert.equal((await run(store.getBlob(r)))?.leased, false)
    await run(store.setMetadata(r, [{ name: "a", value: "b" }]))
  })

  it("listBlobs: only the prefix, in name order, across list pages", async () => {
    for (const n of ["list/b", "list/a/10", "list/a/2", "list/a/1", "listing", "lisu"]) await run(store.upload(ref(n), Stream.make(bytes(3, 1))))
    const names = (await collect(store.listBlobs("data", "list/"))).map((b) => b.name)
    assert.deepEqual(names, ["list/a/1", "list/a/10", "list/a/2", "list/b"])
    assert.deepEqual((await collect(store.listBlobs("data", "list/a/"))).map((b) => `${b.container}/${b.name}`), ["data/list/a/1", "data/list/a/10", "data/list/a/2"])
    assert.deepEqual(await collect(store.listBlobs("data", "nothing-here/")), [])
  })

  it("listContainers: by prefix, in name order, across pages", async () => {
    for (const c of ["pfx-b", "pfx-a", "pfx-c", "other"]) await run(store.ensureContainer(c))
    assert.deepEqual(await collect(store.listContainers("pfx-")), ["pfx-a", "pfx-b", "pfx-c"])
    const all = await collect(store.listContainers(""))
    assert.deepEqual(all, [...all].sort())
    assert.ok(all.includes("data") && all.includes("other"))
  })

  it("upload: a stream of odd-sized chunks becomes 4 MiB blocks, the blob equal to the stream", async () => {
    const r = ref("upload/big.bin")
    const total = 2 * uploadBlockBytes + 12345
    const all = bytes(total, 14)
    const pieces: Array<Uint8Array> = []
    for (let at = 0, k = 0; at < total; k++) {
      const n = Math.min(total - at, [1, 65536, 3_000_001, 777][k % 4]!)
      pieces.push(all.subarray(at, at + n))
      at += n
    }
    await run(store.upload(r, Stream.fromIterable(pieces), { properties: { contentType: "application/xml" } }))
    const list = await run(store.getBlockList(r))
    assert.deepEqual(
      list.committed.map((b) => b.length),
      [uploadBlockBytes, uploadBlockBytes, 12345],
    )
    const info = await run(store.getBlob(r))
    assert.equal(info?.length, total)
    assert.equal(info?.properties.contentType, "application/xml")
    assert.equal(md5(await run(store.read(r, 0, total))), md5(all))
    // an empty stream replaces the blob with an empty one
    await run(store.upload(r, Stream.empty))
    assert.equal((await run(store.getBlob(r)))?.length, 0)
  })

  it("upload passes on the stream's own failure", async () => {
    const exit = await Effect.runPromiseExit(store.upload(ref("upload/fails"), Stream.concat(Stream.make(bytes(10, 1)), Stream.fail("source broke" as const))))
    assert.ok(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error === "source broke")
    assert.equal(await run(store.getBlob(ref("upload/fails"))), undefined, "nothing committed")
  })

  it("missing things: getBlob undefined, read 404, delete succeeds, block list empty", async () => {
    assert.equal(await run(store.getBlob(ref("no/such"))), undefined)
    assert.equal(await run(store.getBlob(ref("x", "no-such-container"))), undefined)
    const e = await failure(store.read(ref("no/such"), 0, 10))
    assert.ok(isNotFound(e))
    assert.equal(e.code, "BlobNotFound")
    await run(store.deleteBlob(ref("no/such")))
    assert.deepEqual(await run(store.getBlockList(ref("no/such"))), { committed: [], uncommitted: [] })
    await run(store.upload(ref("del/me"), Stream.make(bytes(5, 1))))
    await run(store.deleteBlob(ref("del/me")))
    assert.equal(await run(store.getBlob(ref("del/me"))), undefined)
  })

  it("the root container: $root/name", async () => {
    await run(store.ensureContainer("$root"))
    await run(store.upload(ref("top.txt", "$root"), Stream.make(bytes(4, 2))))
    assert.equal((await run(store.getBlob(ref("top.txt", "$root"))))?.length, 4)
  })

  it("account name and key (shared-key credentials) and a container SAS reach the same blobs", async () => {
    const keyed = makeBlobStore({ kind: "shared-key", account: az.account, key: az.key, blobEndpoint: az.blobEndpoint }, { retrySchedule: noWait })
    await run(keyed.ensureContainer("sas-box"))
    const sas = generateBlobSASQueryParameters(
      { containerName: "sas-box", permissions: ContainerSASPermissions.parse("racwdl"), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(az.account, az.key),
    ).toString()
    const viaSas = makeBlobStore({ kind: "sas", blobEndpoint: az.blobEndpoint, sas, container: "sas-box" }, { retrySchedule: noWait })
    assert.equal(viaSas.endpoint, az.blobEndpoint, "no SAS in the endpoint shown in messages")
    await run(viaSas.ensureContainer("sas-box"))
    const d = bytes(600, 15)
    await run(viaSas.stageBlock(ref("s", "sas-box"), id("s0"), d, md5(d)))
    await run(viaSas.commitBlockList(ref("s", "sas-box"), [id("s0")]))
    assert.deepEqual(await run(keyed.read(ref("s", "sas-box"), 0, 600)), Buffer.from(d))
    // the SAS is for one container: another one is refused, and the error carries no signature
    const other = await failure(viaSas.stageBlock(ref("s", "data"), id("s0"), d, md5(d)))
    assert.ok(isForbidden(other), other.message)
    const sig = new URLSearchParams(sas).get("sig")!
    assert.ok(!JSON.stringify(other).includes(sig) && !other.message.includes(sig))
  })

  it("works as a Layer", async () => {
    const n = await Effect.runPromise(
      Effect.gen(function* () {
        const s = yield* BlobStore
        return yield* Stream.runCount(s.listBlobs("data", "list/a/"))
      }).pipe(Effect.provide(BlobStoreLive({ kind: "connection-string", connectionString: az.connectionString }))),
    )
    assert.equal(n, 3)
  })
})

describe("BlobStoreLive errors and retries", () => {
  /** A fake endpoint answering every request with `status`, echoing the request's URL and Authorization header in its message, as some proxies and error pages do. */
  const fake = async (status: number, code: string) => {
    let requests = 0
    const server = http.createServer((req, res) => {
      requests++
      req.resume()
      const echo = `url ${req.url} auth ${req.headers.authorization ?? "-"}`.replace(/&/g, "&amp;").replace(/</g, "&lt;")
      res.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": code })
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>refused: ${echo}</Message></Error>`)
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const port = (server.address() as net.AddressInfo).port
    return { endpoint: `http://127.0.0.1:${port}/acct`, requests: () => requests, close: () => new Promise<void>((r) => server.close(() => r())) }
  }
  const countingSchedule = () => {
    let failures = 0
    return { schedule: Schedule.recurs(3).pipe(Schedule.tapInput(() => Effect.sync(() => void failures++))), failures: () => failures }
  }
  const key = Buffer.from("RECOGNISABLE-TEST-KEY-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefgh").toString("base64")
  const sas = "sv=2021-08-06&sr=c&sp=rw&se=2099-01-01T00%3A00%3A00Z&sig=RECOGNISABLESIGNATURE0123456789abcdefXYZ%3D"

  it("a closed port: Unreachable, after the bounded retries", async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r))
    const port = (blocker.address() as net.AddressInfo).port
    await new Promise<void>((r) => blocker.close(() => r()))
    const c = countingSchedule()
    const s = makeBlobStore({ kind: "shared-key", account: "acct", key, blobEndpoint: `http://127.0.0.1:${port}/acct` }, { retrySchedule: c.schedule })
    const e = await failure(s.getBlob(ref("a/b")))
    assert.equal(e.code, "Unreachable")
    assert.equal(e.status, undefined)
    assert.ok(isUnreachable(e))
    assert.equal(c.failures(), 4, "4 tries (3 retries), then it gave up")
    assert.ok(!e.message.includes(key))
  })

  it("transient statuses (503) are retried a bounded number of times, then reported with their code", async () => {
    const f = await fake(503, "ServerBusy")
    try {
      const c = countingSchedule()
      const s = makeBlobStore({ kind: "shared-key", account: "acct", key, blobEndpoint: f.endpoint }, { retrySchedule: c.schedule })
      const e = await failure(s.read(ref("a/b"), 0, 10))
      assert.equal(e.status, 503)
      assert.equal(e.code, "ServerBusy")
      assert.equal(f.requests(), 4, "one try by the SDK per attempt, 4 attempts")
      assert.equal(c.failures(), 4)
    } finally {
      await f.close()
    }
  })

  it("other 4xx are not retried", async () => {
    const f = await fake(400, "InvalidQueryParameterValue")
    try {
      const s = makeBlobStore({ kind: "shared-key", account: "acct", key, blobEndpoint: f.endpoint }, { retrySchedule: noWait })
      const e = await failure(s.stageBlock(ref("a/b"), id("x"), bytes(5, 1), md5(bytes(5, 1))))
      assert.equal(e.status, 400)
      assert.equal(e.code, "InvalidQueryParameterValue")
      assert.equal(f.requests(), 1)
    } finally {
      await f.close()
    }
  })

  it("no key, SAS signature or connection string in any error, even when the server echoes the request", async () => {
    const f = await fake(403, "AuthenticationFailed")
    try {
      const stores: Array<[string, StorageCredentials]> = [
        ["shared-key", { kind: "shared-key", account: "acct", key, blobEndpoint: f.endpoint }],
        ["sas", { kind: "sas", blobEndpoint: f.endpoint, sas }],
        ["connection-string", { kind: "connection-string", connectionString: `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${key};BlobEndpoint=${f.endpoint};` }],
        ["sas connection string", { kind: "connection-string", connectionString: `BlobEndpoint=${f.endpoint};SharedAccessSignature=${sas}` }],
      ]
      const sig = new URLSearchParams(sas).get("sig")!
      for (const [what, creds] of stores) {
        const s = makeBlobStore(creds, { retrySchedule: noWait })
        const e = await failure(s.stageBlock(ref("c/b"), id("x"), bytes(5, 1), md5(bytes(5, 1))))
        assert.equal(e.status, 403, what)
        assert.ok(isForbidden(e))
        const text = `${e.message}\n${JSON.stringify(e)}\n${s.endpoint}`
        assert.match(e.detail, /refused: url \/acct\/data\/c\/b/, `${what}: the server's message is kept`)
        for (const secret of [key, sig, encodeURIComponent(sig), "RECOGNISABLESIGNATURE"]) assert.ok(!text.includes(secret), `${what}: ${JSON.stringify(secret)} leaked in ${text}`)
        if (what === "shared-key") assert.match(e.detail, /SharedKey acct:\*{7}/, "the Authorization signature is masked")
      }
    } finally {
      await f.close()
    }
  })

  it("a malformed connection string: InvalidCredentials, without the key", () => {
    assert.throws(
      () => makeBlobStore({ kind: "connection-string", connectionString: `AccountName=acct;AccountKey=${key}` }),
      (e: unknown) => e instanceof StorageError && e.code === "InvalidCredentials" && !e.message.includes(key),
    )
  })
})
