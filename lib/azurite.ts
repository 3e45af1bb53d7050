/**
 * The azurite Blob server waie starts itself: the embedded default endpoint of the datacenter
 * rehearsal (`waie service import` with no credentials), `waie storage start`, and the tests.
 *
 * The child is `node <azurite>/dist/src/blob/main.js …` run by this very node binary, not `npx
 * azurite`: the pid we hold must be the server, or a SIGTERM reaches a wrapper and the server
 * lives on holding its port. azurite is resolved from waie's own install, so it works from any
 * current folder.
 *
 * Port 0 asks the system for a free port; azurite prints the address it really listens on
 * (`… successfully listens on http://127.0.0.1:NNNNN`), which is the only race-free way to learn
 * it. Ready means that line came and an HTTP request got an answer.
 */
import { Data, Effect, type Scope } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync } from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** azurite's development account. Public: published in azurite's and Azure's documentation. */
export const azuriteAccount = "devstoreaccount1"
/** azurite's well-known development key. Public, the same for every azurite; not a secret. */
export const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

export interface AzuriteOptions {
  /** persist blobs under this folder (created if missing); ignored when `inMemory` */
  readonly dir?: string
  /** 0 or absent: a free port the system picks */
  readonly port?: number
  /** keep everything in memory (tests, throw-away runs): lost when azurite stops */
  readonly inMemory?: boolean
  /** how long to wait for azurite to answer before giving up (default 30 s) */
  readonly readyTimeoutMs?: number
}

export interface Azurite {
  /** `http://127.0.0.1:PORT/devstoreaccount1` */
  readonly blobEndpoint: string
  readonly port: number
  readonly account: string
  readonly key: string
  readonly connectionString: string
  readonly pid: number
  /** where blobs persist; undefined in memory */
  readonly dir: string | undefined
}

/** azurite could not be started (or stopped). `output` is what it printed, trimmed. */
export class AzuriteFailed extends Data.TaggedError("AzuriteFailed")<{
  readonly reason: string
  readonly output: string
}> {
  override get message(): string {
    return `azurite: ${this.reason}${this.output !== "" ? `\n${this.output}` : ""}`
  }
}

/** The folder azurite is installed in (this package's own dependency). */
export const azuriteMain = (): string => {
  const require = createRequire(import.meta.url)
  return path.join(path.dirname(require.resolve("azurite/package.json")), "dist", "src", "blob", "main.js")
}

export const azuriteConnectionString = (blobEndpoint: string): string =>
  `DefaultEndpointsProtocol=http;AccountName=${azuriteAccount};AccountKey=${azuriteKey};BlobEndpoint=${blobEndpoint};`

/** Keep only the last few KiB a child printed: enough for an error message, bounded memory. */
class OutputTail {
  private text = ""
  constructor(private readonly max = 8192) {}
  add(chunk: string): void {
    this.text += chunk
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max)
  }
  get value(): string {
    const t = this.text.length > this.max ? this.text.slice(-this.max) : this.text
    return t.trim()
  }
}

/** What lib/azurite-preload.cjs prints once azurite handles SIGTERM itself. */
const handlerLine = "waie: azurite shutdown handler installed"

const answers = (url: string, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(true)
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(false))
  })

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

/** Wait for the child to exit: SIGTERM, then SIGKILL after `graceMs`. */
const stopChild = (child: ChildProcess, graceMs = 5000): Promise<void> =>
  new Promise((resolve) => {
    if (exited(child)) return resolve()
    const timer = setTimeout(() => {
      if (!exited(child)) child.kill("SIGKILL")
    }, graceMs)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

export interface RunningAzurite extends Azurite {
  /** SIGTERM, wait for the exit (SIGKILL after a few seconds); idempotent */
  readonly stop: () => Promise<void>
  /** resolves when the child exits, for whatever reason */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/**
 * Start azurite and resolve once it answers. Rejects with AzuriteFailed (the child is killed) if
 * it exits, prints nothing usable, or `signal` aborts first. The plain Promise form, for the
 * Effect below and for node:test helpers.
 */
export const launchAzurite = (options: AzuriteOptions = {}, signal?: AbortSignal): Promise<RunningAzurite> => {
  const inMemory = options.inMemory === true
  const dir = inMemory ? undefined : path.resolve(options.dir ?? ".waie-azurite")
  const port = options.port ?? 0
  const args = [
    "--require",
    fileURLToPath(new URL("./azurite-preload.cjs", import.meta.url)),
    azuriteMain(),
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--skipApiVersionCheck",
    "--disableTelemetry",
    // no access log: one line per request would flood the pipe we only read for errors
    "--silent",
    // without a limit azurite may take up to half the machine's memory for blob contents
    ...(inMemory ? ["--inMemoryPersistence", "--extentMemoryLimit", "256"] : ["--location", dir!]),
  ]
  return new Promise<RunningAzurite>((resolve, reject) => {
    if (dir !== undefined) {
      try {
        mkdirSync(dir, { recursive: true })
      } catch (e) {
        return reject(new AzuriteFailed({ reason: `cannot create its folder ${dir}: ${(e as Error).message}`, output: "" }))
      }
    }
    const tail = new OutputTail()
    let child: ChildProcess
    try {
      // cwd: azurite writes nothing there in these modes, but a folder we own keeps it so
      child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], cwd: dir ?? process.cwd() })
      // the IPC channel is only there to close when we die (see the preload): it must not keep us alive
      child.channel?.unref()
    } catch (e) {
      return reject(new AzuriteFailed({ reason: `cannot start node: ${(e as Error).message}`, output: "" }))
    }
    const exitedP = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once("exit", (code, sig) => res({ code, signal: sig })))
    let settled = false
    let readyLine = ""
    const timeoutMs = options.readyTimeoutMs ?? 30_000
    const fail = (reason: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener("abort", onAbort)
      void stopChild(child, 1000).then(() => reject(new AzuriteFailed({ reason, output: tail.value })))
    }
    const timer = setTimeout(() => fail(`did not answer within ${timeoutMs} ms`), timeoutMs)
    const onAbort = () => fail("start interrupted")
    signal?.addEventListener("abort", onAbort, { once: true })
    child.on("error", (e) => fail(`cannot start: ${e.message}`))
    child.once("exit", (code, sig) => fail(`exited before it was ready (${sig ?? `exit code ${code}`})`))
    child.stderr!.setEncoding("utf8").on("data", (d: string) => tail.add(d))
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      tail.add(d)
      if (readyLine !== "" || settled) return
      const m = /successfully listens on (http:\/\/[^\s]+)/.exec(tail.value)
      // the preload's line: before it, a SIGTERM would kill azurite without saving its data
      if (m === null || !tail.value.includes(handlerLine)) return
      readyLine = m[1]!
      const address = new URL(readyLine)
      const blobEndpoint = `http://127.0.0.1:${address.port}/${azuriteAccount}`
      void (async () => {
        // the line comes after listen() returned; one answered request makes sure of it
        for (let i = 0; i < 50 && !settled; i++) {
          if (await answers(`${blobEndpoint}?comp=list`, 2000)) {
            if (settled) return
            settled = true
            clearTimeout(timer)
            signal?.removeEventListener("abort", onAbort)
            let stopping: Promise<void> | undefined
            resolve({
              blobEndpoint,
              port: Number(address.port),
              account: azuriteAccount,
              key: azuriteKey,
              connectionString: azuriteConnectionString(blobEndpoint),
              pid: child.pid!,
              dir,
              exited: exitedP,
              stop: () => (stopping ??= stopChild(child)),
            })
            return
          }
          await new Promise((r) => setTimeout(r, 100))
        }
        fail("printed its address but does not answer requests")
      })()
    })
    if (signal?.aborted) onAbort()
  })
}

/**
 * azurite for the life of the scope: started (and ready) on acquire, stopped on scope close,
 * whether the scope ends in success, failure or interruption.
 */
export const startAzurite = (options: AzuriteOptions = {}): Effect.Effect<Azurite & Pick<RunningAzurite, "exited">, AzuriteFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: (signal) => launchAzurite(options, signal),
      catch: (e) => (e instanceof AzuriteFailed ? e : new AzuriteFailed({ reason: String(e), output: "" })),
    }),
    (az) => Effect.promise(() => az.stop()),
  ).pipe(Effect.map(({ stop: _stop, ...az }): Azurite & Pick<RunningAzurite, "exited"> => az))

/**
 * For node:test files: an in-memory azurite on a free port.
 *
 *     let az: RunningAzurite
 *     before(async () => { az = await startTestAzurite() })
 *     after(() => az.stop())
 */
export const startTestAzurite = (options: Omit<AzuriteOptions, "inMemory"> & { readonly inMemory?: boolean } = {}): Promise<RunningAzurite> =>
  launchAzurite({ inMemory: true, ...options })
