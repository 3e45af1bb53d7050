/**
 * `npm run bench` (after the prep bench; `--only import` alone): `waie service import` against a
 * plain upload of the same files with the Azure SDK's own `BlockBlobClient.uploadFile`, through
 * the same azurite, in the same run.
 *
 * - azurite on disk (`lib/azurite.ts`, `--location` in a temp folder): storing costs what it
 *   costs, as on a real endpoint's side, for both contenders. It runs in its own process on
 *   the same machine, so its CPU is counted and printed too.
 * - The drive: a folder prepared by the real PrepImport (not timed) from 4 × 128 MiB random
 *   files and 300 small ones (4, 16, 64 and 256 KiB in turn); `--quick`: 4 × 16 MiB and 40.
 * - (a) import: `importDrive` (lib/service/import.ts) in this process, with the layers the
 *   command uses (NodeFileSystem, the live BlobStore on the connection string, the drive's
 *   identity from its `waie-drive.json`): the drive check (the manifest read and checked once),
 *   then every blob — its disposition request, every 4 MiB block read again from the drive and
 *   its MD5 checked, staged with that MD5 as transactional MD5, the block list committed — and
 *   both copy logs written and uploaded. In-process rather than the CLI so that Node's and tsx's
 *   start (~0.5 s) is not counted against it; `--cli` runs the command as a child instead.
 * - (b) plain: the same source files, one after another in manifest order, each with
 *   `uploadFile` and its defaults (a file up to 256 MiB goes as one Put Blob; larger ones in
 *   blocks, 5 in flight), into the container created inside the timing as the import's is.
 * - Before every timed run both containers are deleted, `sync` runs and the bench waits
 *   `--settle` seconds (default 2); runs alternate (a)/(b), then (b)/(a).
 *
 * Prints each run (wall, MB/s = 10^6 bytes/s of blob data, CPU of this process and of azurite),
 * then medians, the ratio import/plain in MB/s (goal ≥ 0.9) and the load average.
 *
 * Flags: `--quick`, `--runs N` (default 3), `--settle S`, `--cli`, `--blobs N` and `--ranges N`
 * (the import's blobs and blocks in flight; defaults those of the command), `--big N` and `--small N` (how many
 * files of each kind), `--look-ahead N` (blobs looked up ahead
 * of their turn; 0: none), `--inline-md5` (every
 * MD5 on the main thread, as before the hash pool), `--no-plain` (the import alone, for profiles),
 * `--memory-store` (the import alone into lib/service/memory-store.ts: its own cost without HTTP),
 * `--latency MS` (every request of the import answered MS later), `--rtt MS` (both contenders
 * through a proxy that adds MS to every round trip, as a distant endpoint would), `--keep` (leave the temp folder). Profile with `node --cpu-prof --import tsx bench/import.ts`.
 */
import { BlobServiceClient } from "@azure/storage-blob"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomFillSync } from "node:crypto"
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { azuriteConnectionString, launchAzurite } from "../lib/azurite.ts"
import { driveIdentity } from "../lib/service/drive-check.ts"
import { importDrive } from "../lib/service/import.ts"
import { defaultImportSettings, defaultLookAhead } from "../lib/service/import-blob.ts"
import { makeMemoryStore } from "../lib/service/memory-store.ts"
import { BlobStore, type BlobStoreService } from "../lib/storage.ts"
import { BlobStoreLive } from "../lib/storage-azure.ts"
import { VolumesLive } from "../lib/volumes.ts"

const MiB = 1024 * 1024
const KiB = 1024
const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = flag("--quick")
const runs = Number(option("--runs") ?? 3)
const settle = Number(option("--settle") ?? 2)
const viaCli = flag("--cli")
const keep = flag("--keep")
const memoryStore = flag("--memory-store")
const latency = Number(option("--latency") ?? 0)
const rtt = Number(option("--rtt") ?? 0)
const plainToo = !flag("--no-plain") && !memoryStore
const settings = {
  ...defaultImportSettings,
  ...(option("--blobs") !== undefined ? { blobsInFlight: Number(option("--blobs")) } : {}),
  ...(option("--ranges") !== undefined ? { rangesInFlight: Number(option("--ranges")) } : {}),
  ...(flag("--inline-md5") ? { hashInWorkers: false } : {}),
  ...(option("--look-ahead") !== undefined ? { lookAhead: Number(option("--look-ahead")) } : {}),
}

const BIG = { files: Number(option("--big") ?? 4), size: quick ? 16 * MiB : 128 * MiB }
const SMALL = { files: Number(option("--small") ?? (quick ? 40 : 300)), sizes: [4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB] }
const container = "bench"
const plainContainer = "plain"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")
const work = mkdtempSync(path.join(tmpdir(), "waie-bench-import-"))
const src = path.join(work, "src")
const drive = path.join(work, "drive")
const logDir = path.join(work, "logs")
mkdirSync(logDir)

const sh = (script: string, cwd: string) => {
  const r = spawnSync("bash", ["-c", script], { cwd, stdio: ["ignore", "ignore", "inherit"] })
  if (r.status !== 0) throw new Error(`${script}: exit ${r.status}`)
}

const now = () => performance.now() / 1000

/** The source files (blob name under the container → file), in the order PrepImport lists them. */
const generate = (): Array<{ readonly name: string; readonly file: string; readonly size: number }> => {
  const buf = Buffer.allocUnsafe(4 * MiB)
  const files: Array<{ name: string; file: string; size: number }> = []
  const write = (rel: string, size: number) => {
    const file = path.join(src, rel)
    const fd = openSync(file, "w")
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.length, size - done)
      randomFillSync(buf, 0, n)
      writeSync(fd, buf, 0, n)
      done += n
    }
    closeSync(fd)
    files.push({ name: rel, file, size })
  }
  mkdirSync(path.join(src, "big"), { recursive: true })
  mkdirSync(path.join(src, "small"), { recursive: true })
  for (let i = 0; i < BIG.files; i++) write(`big/b${i}.bin`, BIG.size)
  for (let i = 0; i < SMALL.files; i++) write(`small/s${String(i).padStart(3, "0")}.bin`, SMALL.sizes[i % SMALL.sizes.length]!)
  return files
}

/** The drive, by the real PrepImport (the same command a user runs). */
const prepare = (): void => {
  mkdirSync(drive)
  const key = Buffer.alloc(64, 42).toString("base64")
  writeFileSync(path.join(work, "ds.csv"), `BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n"${src}/","${container}/",BlockBlob,overwrite,None,None\n`)
  writeFileSync(path.join(work, "drives.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${drive},AlreadyFormatted,SilentMode,AlreadyEncrypted,060456-014509-132033-080300-252615-584177-672089-411631\n`)
  const r = spawnSync(process.execPath, [bin, "PrepImport", `/j:${path.join(work, "j.jrn")}`, "/id:bench", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", `/logdir:${path.join(work, "preplogs")}`], { cwd: work, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`PrepImport failed (exit ${r.status}):\n${r.stderr}${r.stdout}`)
}

/** User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere). */
const cpuOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}
const selfCpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** Every request of the store answered `ms` later: a distant endpoint's round trip. */
const withLatency = <E>(inner: Layer.Layer<BlobStore, E>, ms: number): Layer.Layer<BlobStore, E> =>
  Layer.effect(
    BlobStore,
    Effect.map(BlobStore, (store) => {
      const out: Record<string, unknown> = {}
      for (const [k, f] of Object.entries(store)) {
        out[k] = (...args: Array<unknown>) => {
          const r = (f as (...a: Array<unknown>) => unknown)(...args)
          return Effect.isEffect(r) ? Effect.delay(r, `${ms} millis`) : r
        }
      }
      return out as unknown as BlobStoreService
    }),
  ).pipe(Layer.provide(inner))

/**
 * A TCP proxy in a child process that holds every chunk `rtt / 2` ms in each direction: a distant
 * endpoint's round trip (no bandwidth limit), for both contenders alike.
 */
const startDelayProxy = (target: number, rtt: number): Promise<{ readonly port: number; readonly child: ChildProcess }> => {
  const script = `
    const net = require("node:net")
    const d = ${rtt / 2}
    const pipe = (from, to) => {
      from.on("data", (c) => setTimeout(() => to.write(c), d))
      from.on("end", () => setTimeout(() => to.end(), d))
      from.on("error", () => to.destroy())
    }
    const server = net.createServer((client) => {
      const up = net.connect(${target}, "127.0.0.1")
      pipe(client, up)
      pipe(up, client)
    })
    server.listen(0, "127.0.0.1", () => console.log(server.address().port))
  `
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve({ port: Number(d.toString().trim()), child }))
    child.once("error", reject)
  })
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const runChild = (args: ReadonlyArray<string>): Promise<{ status: number | null; out: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: work, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "" } })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, out }))
  })

const main = async () => {
  const t0 = now()
  const files = generate()
  const bytes = files.reduce((n, f) => n + f.size, 0)
  sh("sync", work)
  const t1 = now()
  prepare()
  console.log(
    `import bench: ${BIG.files} × ${BIG.size / MiB} MiB + ${SMALL.files} small files (${(bytes / 1e6).toFixed(0)} MB), generated in ${(t1 - t0).toFixed(1)} s, PrepImport ${(now() - t1).toFixed(1)} s; ${runs} run(s)${quick ? ", quick" : ""}; import ${viaCli ? "as the CLI (a child process)" : "in-process (importDrive)"}, ${settings.blobsInFlight} blobs / ${settings.rangesInFlight} blocks in flight, ${settings.lookAhead ?? defaultLookAhead} blobs looked up ahead, MD5 ${settings.hashInWorkers === false ? "on the main thread" : "in the hash pool"}; folder ${work}`,
  )
  const az = await launchAzurite({ dir: path.join(work, "azurite") })
  const proxy = rtt > 0 ? await startDelayProxy(az.port, rtt) : undefined
  try {
    const connectionString = proxy !== undefined ? azuriteConnectionString(`http://127.0.0.1:${proxy.port}/${az.account}`) : az.connectionString
    if (proxy !== undefined) console.log(`both through a proxy that delays every packet ${rtt / 2} ms each way (a round trip of ${rtt} ms more)`)
    const credentials = { kind: "connection-string", connectionString } as const
    const svc = BlobServiceClient.fromConnectionString(connectionString)
    const store = memoryStore ? makeMemoryStore().layer : BlobStoreLive(credentials)
    const layers = Layer.mergeAll(NodeFileSystem.layer, latency > 0 ? withLatency(store, latency) : store, VolumesLive)
    const identity = await Effect.runPromise(driveIdentity(drive).pipe(Effect.provide(VolumesLive), Effect.provide(NodeFileSystem.layer)))

    const importOnce = async (run: number): Promise<void> => {
      if (viaCli) {
        const r = await runChild(["service", "import", "--drive", drive, "--job", `bench${run}`, "--logdir", logDir, "--connection-string", connectionString])
        if (r.status !== 0) throw new Error(`service import: exit ${r.status}\n${r.out}`)
        return
      }
      const result = await Effect.runPromise(importDrive(drive, undefined, identity, { job: `bench${run}`, logDir, settings }).pipe(Effect.provide(layers)))
      if (result.status !== "Completed" || result.summary.blobs !== files.length) throw new Error(`import: ${result.status}, ${result.summary.blobs} blobs`)
    }
    const plainOnce = async (): Promise<void> => {
      const c = svc.getContainerClient(plainContainer)
      await c.createIfNotExists()
      for (const f of files) await c.getBlockBlobClient(f.name).uploadFile(f.file)
    }
    const clear = async () => {
      for (const name of [container, plainContainer]) await svc.getContainerClient(name).deleteIfExists()
      sh(`sync && sleep ${settle}`, work)
    }

    const rows = { import: [] as Array<number>, plain: [] as Array<number> }
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? (["import", "plain"] as const) : (["plain", "import"] as const)
      for (const who of order) {
        if (who === "plain" && !plainToo) continue
        await clear()
        const cpu0 = selfCpu()
        const az0 = cpuOf(az.pid)
        const start = now()
        if (who === "import") await importOnce(run)
        else await plainOnce()
        const wall = now() - start
        rows[who].push(wall)
        console.log(
          `run ${run + 1} ${who === "import" ? "import" : "plain "} ${wall.toFixed(2)} s  ${(bytes / wall / 1e6).toFixed(0).padStart(4)} MB/s  cpu: bench ${(selfCpu() - cpu0).toFixed(2)} s, azurite ${(cpuOf(az.pid) - az0).toFixed(2)} s`,
        )
      }
    }
    const imp = median(rows.import)
    const plain = median(rows.plain)
    const ratios = rows.plain.map((p, i) => p / rows.import[i]!)
    console.log(`\nmedians: import ${imp.toFixed(2)} s (${(bytes / imp / 1e6).toFixed(0)} MB/s)${rows.plain.length ? `, plain uploadFile ${plain.toFixed(2)} s (${(bytes / plain / 1e6).toFixed(0)} MB/s)` : ""}`)
    if (rows.plain.length) console.log(`ratio import/plain (MB/s) ${(plain / imp).toFixed(2)} (median of per-run ratios ${median(ratios).toFixed(2)}; goal ≥ 0.9)`)
    console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} cores`)
  } finally {
    proxy?.child.kill()
    await az.stop()
  }
}

try {
  await main()
} finally {
  if (keep) console.log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
// nothing of the bench may keep the process alive (the SDK's keep-alive sockets)
process.exit(0)
