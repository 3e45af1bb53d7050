import { after, before, describe, it } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Stream } from "effect"
import { type RunningAzurite, startTestAzurite } from "./azurite.ts"
import { type CommandSpec, type Io, makeOutput, parseArgs, type Parsed } from "./cli.ts"
import { UsageError } from "./errors.ts"
import { BlobStore } from "./storage.ts"
import { blobStoreLayer, connectionStringProblem, parseStorageCredentials, type StorageCredentials, storageOptions } from "./storage-credentials.ts"

const spec: CommandSpec = { path: ["service", "import"], summary: "", options: storageOptions, args: [], run: () => Effect.succeed(0) }
const key = Buffer.from("A-RECOGNISABLE-ACCOUNT-KEY-FOR-THE-TEST-0123456789-abcdefghijklmn").toString("base64")
const sig = "RECOGNISABLESIG0123456789abcdefXYZ%3D"
const token = `sv=2021-08-06&sr=c&sp=rw&se=2099-01-01T00%3A00%3A00Z&sig=${sig}`

const parse = (argv: ReadonlyArray<string>, env: Record<string, string> = {}): StorageCredentials | undefined | UsageError => {
  const p = parseArgs(spec, argv)
  if (p instanceof UsageError) return p
  return parseStorageCredentials(p as Parsed, env, "service import")
}
const refused = (argv: ReadonlyArray<string>, pattern: RegExp, env: Record<string, string> = {}): void => {
  const r = parse(argv, env)
  assert.ok(r instanceof UsageError, `${argv.join(" ")}: expected a usage error, got ${JSON.stringify(r)}`)
  assert.match(r.message, pattern)
  for (const secret of [key, sig, "RECOGNISABLE"]) assert.ok(!r.message.includes(secret), `${argv.join(" ")}: the message shows a secret: ${r.message}`)
}

describe("parseStorageCredentials", () => {
  it("nothing given: undefined (the embedded azurite)", () => {
    assert.equal(parse([]), undefined)
    assert.equal(parse(["--azurite-dir", "x"]), undefined)
    assert.equal(parse([], { AZURE_STORAGE_CONNECTION_STRING: "  " }), undefined)
  })

  it("the original tool's /sn: /sk:, and the long options; the default endpoint is the account's", () => {
    assert.deepEqual(parse(["/sn:myacct", `/sk:${key}`]), { kind: "shared-key", account: "myacct", key, blobEndpoint: "https://myacct.blob.core.windows.net" })
    assert.deepEqual(parse(["--account", "myacct", "--key", key, "--blob-endpoint", "http://127.0.0.1:10000/myacct/"]), {
      kind: "shared-key",
      account: "myacct",
      key,
      blobEndpoint: "http://127.0.0.1:10000/myacct",
    })
  })

  it("a connection string: the option, else the environment variable; options win over the variable", () => {
    const cs = `DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=${key};EndpointSuffix=core.windows.net`
    assert.deepEqual(parse(["--connection-string", cs]), { kind: "connection-string", connectionString: cs })
    assert.deepEqual(parse([], { AZURE_STORAGE_CONNECTION_STRING: cs }), { kind: "connection-string", connectionString: cs })
    const other = "UseDevelopmentStorage=true"
    assert.deepEqual(parse(["--connection-string", other], { AZURE_STORAGE_CONNECTION_STRING: cs }), { kind: "connection-string", connectionString: other })
    assert.equal((parse(["/sn:myacct", `/sk:${key}`], { AZURE_STORAGE_CONNECTION_STRING: cs }) as { kind: string }).kind, "shared-key")
    assert.deepEqual(parse(["--connection-string", `BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=${token}`]), {
      kind: "connection-string",
      connectionString: `BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=${token}`,
    })
  })

  it("a SAS as a URL names its endpoint, account and container (Azure and path-style emulator URLs)", () => {
    assert.deepEqual(parse(["--sas", `https://myacct.blob.core.windows.net/photos?${token}`]), {
      kind: "sas",
      blobEndpoint: "https://myacct.blob.core.windows.net",
      sas: token,
      account: "myacct",
      container: "photos",
    })
    assert.deepEqual(parse(["/csas:" + `http://127.0.0.1:10000/devstoreaccount1/photos?${token}`]), {
      kind: "sas",
      blobEndpoint: "http://127.0.0.1:10000/devstoreaccount1",
      sas: token,
      account: "devstoreaccount1",
      container: "photos",
    })
  })

  it("a SAS as container?token (the original tool's form) or a bare token, with the account or an endpoint", () => {
    assert.deepEqual(parse(["/sn:myacct", `/csas:photos?${token}`]), { kind: "sas", blobEndpoint: "https://myacct.blob.core.windows.net", sas: token, account: "myacct", container: "photos" })
    assert.deepEqual(parse(["--blob-endpoint", "http://127.0.0.1:1/acct", "--sas", `?${token}`]), { kind: "sas", blobEndpoint: "http://127.0.0.1:1/acct", sas: token })
    assert.deepEqual(parse(["/sn:myacct", `--sas`, token]), { kind: "sas", blobEndpoint: "https://myacct.blob.core.windows.net", sas: token, account: "myacct" })
  })

  it("refuses what cannot be used, naming the problem and never the secret", () => {
    refused([`/sk:${key}`], /--key needs --account/)
    refused(["/sn:myacct", `/sk:${key}`, `/csas:${token}`], /--key or --sas, not both/)
    refused(["/sn:myacct", "/sk:RECOGNISABLE not base64!"], /not Base64 \(not shown/)
    refused(["/sn:myacct"], /--account needs --key or --sas/)
    refused(["/sn:My_Acct", `/sk:${key}`], /3 to 24 lower-case letters and digits/)
    refused([`/csas:${token}`], /needs --account or --blob-endpoint/)
    refused(["/sn:myacct", "/csas:photos?sv=2021&RECOGNISABLE=1"], /no sig= parameter \(the value is not shown/)
    refused(["--sas", "https://myacct.blob.core.windows.net/photos?sv=1&RECOGNISABLE=2"], /URL without sig=/)
    refused(["/sn:other", "--sas", `https://myacct.blob.core.windows.net/photos?${token}`], /for account "myacct", not --account "other"/)
    refused(["--connection-string", `AccountName=myacct;AccountKey=${key}`, "/sn:myacct"], /--connection-string alone/)
    refused(["--connection-string", `AccountName=myacct;${key}`], /part 2 has a name a connection string does not use \(not shown\).*not shown/)
    refused(["--connection-string", `AccountName=myacct;RECOGNISABLE`], /part 2 is not NAME=VALUE.*not shown/)
    refused(["--connection-string", `AccountKey=${key}`], /AccountName is missing/)
    refused([], /AZURE_STORAGE_CONNECTION_STRING: not a usable connection string: AccountKey \(or SharedAccessSignature\) is missing/, { AZURE_STORAGE_CONNECTION_STRING: "AccountName=myacct" })
    refused(["--blob-endpoint", `https://myacct.blob.core.windows.net?${token}`, "/sn:myacct", `/sk:${key}`], /without a query/)
    refused(["--blob-endpoint", `myacct?${token}`, "/sn:myacct", `/sk:${key}`], /a value with a signature \(not shown\)/)
    refused(["--blob-endpoint", "http://127.0.0.1:10000/a"], /--blob-endpoint needs credentials/)
    refused(["/sn:myacct", `/sk:${key}`, "--azurite-dir", "x"], /--azurite-dir is for the azurite/)
  })

  it("connectionStringProblem: what azurite and Azure portals give is usable", () => {
    assert.equal(connectionStringProblem(`DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`), undefined)
    assert.equal(connectionStringProblem(`DefaultEndpointsProtocol=https;AccountName=a1;AccountKey=${key};EndpointSuffix=core.windows.net`), undefined)
    assert.equal(connectionStringProblem(""), "it is empty")
    assert.equal(connectionStringProblem(`AccountName=a;AccountName=b;AccountKey=${key}`), "AccountName is given twice")
    assert.equal(connectionStringProblem(`AccountName=a;AccountKey=${key};BlobEndpoint=ftp://x`), "BlobEndpoint is not an http(s) URL")
  })
})

describe("blobStoreLayer", () => {
  const capture = (json: boolean) => {
    let stdout = ""
    let stderr = ""
    const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: process.cwd(), stderrIsTTY: false }
    return { out: makeOutput(io, json), stdout: () => stdout, stderr: () => stderr }
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  const useStore = Effect.gen(function* () {
    const s = yield* BlobStore
    yield* s.ensureContainer("things")
    yield* s.upload({ container: "things", name: "a.txt" }, Stream.make(new TextEncoder().encode("hello")))
    return (yield* s.getBlob({ container: "things", name: "a.txt" }))?.length
  })

  it("no credentials: an azurite for the command, said in one line, stopped when the command ends", async () => {
    const c = capture(false)
    const length = await Effect.runPromise(useStore.pipe(Effect.provide(blobStoreLayer(undefined, { out: c.out }))))
    assert.equal(length, 5)
    assert.equal(c.stdout(), "")
    assert.match(c.stderr(), /^no storage credentials given: using azurite started by waie at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 \(in memory, gone when the command ends\); it stops when this command ends\n$/)
    assert.ok(!c.stderr().includes("AccountKey"))
  })

  it("no credentials, --json: an embeddedStorage event with the pid, which is gone afterwards; --azurite-dir keeps the data", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "waie-embedded-"))
    try {
      const c = capture(true)
      await Effect.runPromise(useStore.pipe(Effect.provide(blobStoreLayer(undefined, { out: c.out, azuriteDir: dir }))))
      const ev = JSON.parse(c.stdout().trim()) as { type: string; server: string; pid: number; dir: string; blobEndpoint: string }
      assert.equal(ev.type, "embeddedStorage")
      assert.equal(ev.server, "azurite")
      assert.equal(ev.dir, dir)
      assert.ok(!c.stdout().includes("AccountKey"))
      assert.equal(alive(ev.pid), false)
      assert.ok(readdirSync(dir).some((f) => f.startsWith("__azurite_db_blob")))
      // a second command on the same folder sees the blob
      const again = await Effect.runPromise(
        Effect.gen(function* () {
          return (yield* (yield* BlobStore).getBlob({ container: "things", name: "a.txt" }))?.length
        }).pipe(Effect.provide(blobStoreLayer(undefined, { azuriteDir: dir }))),
      )
      assert.equal(again, 5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe("with credentials", () => {
    let az: RunningAzurite
    before(async () => {
      az = await startTestAzurite()
    })
    after(() => az.stop())
    it("uses them and starts nothing", async () => {
      const c = capture(false)
      const length = await Effect.runPromise(useStore.pipe(Effect.provide(blobStoreLayer({ kind: "connection-string", connectionString: az.connectionString }, { out: c.out }))))
      assert.equal(length, 5)
      assert.equal(c.stderr() + c.stdout(), "")
    })
  })
})
