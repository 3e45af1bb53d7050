import { after, before, describe, it } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, readdirSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Exit } from "effect"
import { BlobServiceClient } from "@azure/storage-blob"
import { AzuriteFailed, azuriteKey, launchAzurite, type RunningAzurite, startAzurite, startTestAzurite } from "./azurite.ts"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const status = (url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on("error", reject)
  })

describe("startTestAzurite", () => {
  let az: RunningAzurite
  before(async () => {
    az = await startTestAzurite()
  })
  after(() => az.stop())

  it("answers on 127.0.0.1 at the port it reports, with the well-known account", async () => {
    assert.match(az.blobEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/)
    assert.notEqual(az.port, 0)
    assert.equal(az.key, azuriteKey)
    assert.match(az.connectionString, new RegExp(`BlobEndpoint=${az.blobEndpoint.replace(/[.]/g, "\\.")};`))
    assert.equal(az.dir, undefined)
    // unauthenticated: refused, but answered
    assert.equal(await status(`${az.blobEndpoint}?comp=list`), 403)
  })

  it("takes SDK requests with its connection string (API version check off)", async () => {
    const svc = BlobServiceClient.fromConnectionString(az.connectionString)
    await svc.getContainerClient("first").create()
    const names: Array<string> = []
    for await (const c of svc.listContainers()) names.push(c.name)
    assert.deepEqual(names, ["first"])
  })
})

describe("launchAzurite", () => {
  it("stop ends the server process and frees its port", async () => {
    const az = await startTestAzurite()
    assert.ok(alive(az.pid))
    await az.stop()
    assert.equal(alive(az.pid), false)
    await assert.rejects(status(`${az.blobEndpoint}?comp=list`), /ECONNREFUSED/)
    const { code, signal } = await az.exited
    assert.equal(signal, null, "exits by itself on SIGTERM, no SIGKILL needed")
    assert.equal(code, 0)
    await az.stop() // idempotent
  })

  it("a port in use: AzuriteFailed with what azurite printed, no process left", async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const e = await launchAzurite({ inMemory: true, port }).then(
        () => assert.fail("started on a busy port"),
        (e: unknown) => e,
      )
      assert.ok(e instanceof AzuriteFailed)
      assert.match(e.reason, /exited before it was ready/)
      assert.match(e.output, /EADDRINUSE/)
    } finally {
      blocker.close()
    }
  })

  it("persists under dir: a container made before a restart is there after it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "waie-azurite-"))
    try {
      const a = await launchAzurite({ dir })
      assert.equal(a.dir, dir)
      await BlobServiceClient.fromConnectionString(a.connectionString).getContainerClient("kept").create()
      await a.stop()
      assert.ok(readdirSync(dir).some((f) => f.startsWith("__azurite_db_blob")))
      const b = await launchAzurite({ dir })
      try {
        const names: Array<string> = []
        for await (const c of BlobServiceClient.fromConnectionString(b.connectionString).listContainers()) names.push(c.name)
        assert.deepEqual(names, ["kept"])
      } finally {
        await b.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("a waie that dies without stopping its azurite", () => {
  it("azurite notices (its IPC channel closes) and stops itself", async () => {
    const lib = fileURLToPath(new URL("./azurite.ts", import.meta.url))
    const code = `const { launchAzurite } = await import(${JSON.stringify(lib)}); const a = await launchAzurite({ inMemory: true }); console.log(a.pid); setInterval(() => {}, 1000)`
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] })
    const pid = await new Promise<number>((resolve, reject) => {
      let text = ""
      parent.stdout!.setEncoding("utf8").on("data", (d: string) => {
        text += d
        if (/^\d+\n/.test(text)) resolve(Number(text.trim()))
      })
      parent.once("exit", () => reject(new Error(`the parent exited first: ${text}`)))
    })
    assert.ok(alive(pid))
    parent.kill("SIGKILL")
    // bounded wait, not a timing assertion: azurite's clean shutdown takes a moment
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100))
    const left = alive(pid)
    if (left) process.kill(pid, "SIGKILL")
    assert.equal(left, false, "azurite outlived the process that started it")
  })
})

describe("startAzurite (scoped)", () => {
  it("runs while the scope is open and is stopped when it closes, even on failure", async () => {
    let pid = 0
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const az = yield* startAzurite({ inMemory: true })
          pid = az.pid
          assert.ok(alive(pid))
          assert.equal(yield* Effect.promise(() => status(`${az.blobEndpoint}?comp=list`)), 403)
          return yield* Effect.fail("boom" as const)
        }),
      ),
    )
    assert.ok(Exit.isFailure(exit))
    assert.notEqual(pid, 0)
    assert.equal(alive(pid), false)
  })

  it("failure to start is a typed AzuriteFailed", async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const exit = await Effect.runPromiseExit(Effect.scoped(startAzurite({ inMemory: true, port })))
      assert.ok(Exit.isFailure(exit))
      const err = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.ok(err instanceof AzuriteFailed, String(err))
    } finally {
      blocker.close()
    }
  })
})
