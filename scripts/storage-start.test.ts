/**
 * `waie storage start` run as a user runs it: the real launcher in another folder, its connection
 * string used by a client, stopped by a signal to waie's own pid.
 */
import assert from "node:assert/strict"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"
import { BlobServiceClient } from "@azure/storage-blob"
import { azuriteKey } from "../lib/azurite.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

interface Started {
  readonly child: ChildProcess
  readonly lines: Array<string>
  readonly stderr: () => string
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Start waie and wait until it has printed `lines` lines on stdout (or exited). */
const start = async (args: ReadonlyArray<string>, cwd: string, lines: number): Promise<Started> => {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] })
  const out: Array<string> = []
  let err = ""
  let buf = ""
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })))
  await new Promise<void>((resolve) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf("\n")) !== -1) {
        out.push(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
      }
      if (out.length >= lines) resolve()
    })
    void exit.then(() => resolve())
  })
  return { child, lines: out, stderr: () => err, exit }
}

describe("waie storage start", () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "waie-storage-start-"))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it("--json: prints the connection string, serves requests, stops azurite and exits 0 on SIGTERM", async () => {
    const w = await start(["storage", "start", "--port", "0", "--json"], dir, 1)
    try {
      const ev = JSON.parse(w.lines[0]!) as { type: string; connectionString: string; blobEndpoint: string; pid: number; dir: string; port: number }
      assert.equal(ev.type, "storageStarted")
      assert.equal(ev.dir, path.join(dir, ".waie-azurite"), "default folder, relative to the caller's folder")
      assert.match(ev.blobEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/)
      assert.ok(ev.connectionString.includes(`AccountKey=${azuriteKey}`))
      assert.ok(alive(ev.pid))
      const svc = BlobServiceClient.fromConnectionString(ev.connectionString)
      await svc.getContainerClient("made-by-test").create()
      w.child.kill("SIGTERM")
      const { code, signal } = await w.exit
      assert.equal(signal, null)
      assert.equal(code, 0, w.stderr())
      assert.equal(alive(ev.pid), false, "azurite stopped with waie")
      assert.deepEqual(JSON.parse(w.lines[w.lines.length - 1]!), { type: "storageStopped", signal: "SIGTERM" })
      // on disk: the container is there for the next start
      assert.ok(readdirSync(ev.dir).some((f) => f.startsWith("__azurite_db_blob")))
      const again = await start(["storage", "start", "--port", "0", "--json", "--dir", ".waie-azurite"], dir, 1)
      try {
        const ev2 = JSON.parse(again.lines[0]!) as { connectionString: string }
        const names: Array<string> = []
        for await (const c of BlobServiceClient.fromConnectionString(ev2.connectionString).listContainers()) names.push(c.name)
        assert.deepEqual(names, ["made-by-test"])
      } finally {
        again.child.kill("SIGINT")
        assert.equal((await again.exit).code, 0)
      }
    } finally {
      if (w.child.exitCode === null) w.child.kill("SIGKILL")
    }
  })

  it("human text: the connection string on a line of its own; SIGINT stops it", async () => {
    const w = await start(["storage", "start", "--port", "0", "--dir", "d2"], dir, 3)
    const cs = w.lines.find((l) => l.startsWith("DefaultEndpointsProtocol="))
    assert.ok(cs, w.lines.join("\n"))
    assert.match(w.lines[0]!, /^azurite is listening on http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1, its data in .*d2$/)
    assert.match(w.lines[1]!, /public development key/)
    await BlobServiceClient.fromConnectionString(cs).getContainerClient("x-y-z").create()
    w.child.kill("SIGINT")
    assert.equal((await w.exit).code, 0, w.stderr())
    assert.ok(existsSync(path.join(dir, "d2")))
  })

  it("a port in use: exit 3 with azurite's reason", async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r))
    try {
      const port = String((blocker.address() as net.AddressInfo).port)
      const r = spawnSync(process.execPath, [bin, "storage", "start", "--port", port, "--dir", "d3"], { cwd: dir, encoding: "utf8" })
      assert.equal(r.status, 3)
      assert.match(r.stderr, /azurite: exited before it was ready/)
      assert.match(r.stderr, /EADDRINUSE/)
      const j = spawnSync(process.execPath, [bin, "storage", "start", "--port", port, "--dir", "d3", "--json"], { cwd: dir, encoding: "utf8" })
      assert.equal(j.status, 3)
      const line = JSON.parse(j.stdout.trim()) as { type: string; exitCode: number; error: string }
      assert.equal(line.type, "error")
      assert.equal(line.error, "AzuriteFailed")
    } finally {
      blocker.close()
    }
  })

  it("a bad port is a usage error (exit 2)", () => {
    const r = spawnSync(process.execPath, [bin, "storage", "start", "--port", "http"], { cwd: dir, encoding: "utf8" })
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--port: expected a port number/)
  })
})
