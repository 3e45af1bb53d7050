/**
 * `npm run bench`: waie's copy engine against `cp -r` + `sync` + `md5sum`, measured in the same
 * run on the same machine.
 *
 * - Dataset A: 4 × 512 MiB random files, copied with `copyFile` (one after the other; each
 *   file's read, hashing and write overlap in the ring).
 * - Dataset B: 20,000 × 16 KiB random files in 20 folders, copied through a `DurableBatch`.
 * - Baselines: `cp -r SRC DST && sync`, then `md5sum` of every source file (`md5sum A/*`, and
 *   `find B -type f -print0 | xargs -0 md5sum` for B), output dropped.
 *
 * The datasets are generated in a temp folder (not timed); the "drive" is another temp folder.
 * Before every timed run the drive folder is emptied and `sync` run, so each run starts with
 * clean page-cache writeback; runs alternate waie / baseline. Prints each run, then medians:
 * wall(waie)/wall(baseline) for A and B (goals A ≤ 0.75, B ≤ 1.0), MB/s (10^6 bytes/s) and
 * waie's peak RSS (`process.resourceUsage().maxRSS`: this process only; the baselines run in
 * child processes). The hash pool's workers are started before timing (a session starts them
 * once); each DurableBatch's I/O thread starts inside the timing.
 *
 * Flags: `--quick` (A: 4 × 32 MiB, B: 2,000 files), `--runs N` (default 3), `--only a|b`,
 * `--no-baseline`, `--data DIR` (generate into / reuse DIR instead of a fresh temp folder),
 * `--durability auto|syncfs|fsync` (B), `--group N`, `--depth N` (B), `--slots N` (A), `--settle S` (seconds to
 * wait after emptying the drive, default 2).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { randomFillSync } from "node:crypto"
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { makeDurableBatch, type SmallFile } from "../lib/copy-batch.ts"
import { copyFile } from "../lib/copy-file.ts"
import { HashPool, HashPoolLive } from "../lib/hashpool.ts"

const MiB = 1024 * 1024
const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = flag("--quick")
const runs = Number(option("--runs") ?? 3)
const only = option("--only")
const baseline = !flag("--no-baseline")
const durability = (option("--durability") ?? "auto") as "auto" | "syncfs" | "fsync"
const groupFiles = option("--group") !== undefined ? Number(option("--group")) : undefined
const depth = option("--depth") !== undefined ? Number(option("--depth")) : undefined
const settle = Number(option("--settle") ?? 2)
const slots = option("--slots") !== undefined ? Number(option("--slots")) : undefined

const A = { files: 4, size: quick ? 32 * MiB : 512 * MiB }
const B = { folders: quick ? 4 : 20, perFolder: quick ? 500 : 1000, size: 16 * 1024 }

const dataRoot = option("--data") ?? mkdtempSync(path.join(tmpdir(), "waie-bench-data-"))
const keepData = option("--data") !== undefined
const drive = mkdtempSync(path.join(tmpdir(), "waie-bench-drive-"))

const sh = (script: string, cwd: string) => {
  const r = spawnSync("bash", ["-c", script], { cwd, stdio: ["ignore", "ignore", "inherit"] })
  if (r.status !== 0) throw new Error(`${script}: exit ${r.status}`)
}

/** Random files, written with a 4 MiB buffer (so generation does not raise the peak RSS). */
const generate = () => {
  const buf = Buffer.allocUnsafe(4 * MiB)
  const write = (file: string, size: number) => {
    if (existsSync(file) && statSync(file).size === size) return
    const fd = openSync(file, "w")
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.length, size - done)
      randomFillSync(buf, 0, n)
      writeSync(fd, buf, 0, n)
      done += n
    }
    closeSync(fd)
  }
  mkdirSync(path.join(dataRoot, "A"), { recursive: true })
  for (let i = 0; i < A.files; i++) write(path.join(dataRoot, "A", `a${i}.bin`), A.size)
  for (let d = 0; d < B.folders; d++) {
    const dir = path.join(dataRoot, "B", `d${String(d).padStart(2, "0")}`)
    mkdirSync(dir, { recursive: true })
    for (let i = 0; i < B.perFolder; i++) write(path.join(dir, `f${String(i).padStart(4, "0")}.bin`), B.size)
  }
  sh("sync", dataRoot)
}

/** Empty the drive, sync, and let the file system settle (freed blocks are discarded in the background). */
const clearDrive = () => {
  for (const e of readdirSync(drive)) rmSync(path.join(drive, e), { recursive: true, force: true })
  sh(`sync && sleep ${settle}`, drive)
}

const now = () => performance.now() / 1000

/** The A files through copyFile, one after the other. */
const waieA = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const src = path.join(dataRoot, "A")
  const names = (yield* fs.readDirectory(src)).sort()
  for (const name of names) {
    const source = path.join(src, name)
    const info = yield* fs.stat(source)
    yield* copyFile({
      source,
      target: path.join(drive, "A", name),
      kind: "block",
      length: Number(info.size),
      ...(slots !== undefined ? { slots } : {}),
      onDurable: () => Effect.void,
    })
  }
})

/** The B files through a DurableBatch, enumerated (readdir + stat) as a session would. */
const waieB = Effect.scoped(
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    let reported = 0
    const batch = yield* makeDurableBatch<SmallFile>({
      root: drive,
      durability,
      ...(groupFiles !== undefined ? { groupFiles } : {}),
      ...(depth !== undefined ? { depth } : {}),
      onBatch: (files) => Effect.sync(() => void (reported += files.length)),
    })
    const src = path.join(dataRoot, "B")
    for (const folder of (yield* fs.readDirectory(src)).sort()) {
      for (const name of (yield* fs.readDirectory(path.join(src, folder))).sort()) {
        const source = path.join(src, folder, name)
        const length = Number((yield* fs.stat(source)).size)
        yield* batch.add({ source, target: path.join(drive, "B", folder, name), kind: "block", length })
      }
    }
    yield* batch.flush
    if (reported !== B.folders * B.perFolder) throw new Error(`B: ${reported} files reported`)
    return batch.durability
  }),
)

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const main = Effect.gen(function* () {
  const t0 = now()
  generate()
  const aBytes = A.files * A.size
  const bBytes = B.folders * B.perFolder * B.size
  console.log(`data ${dataRoot} (generated in ${(now() - t0).toFixed(1)} s), drive ${drive}, ${runs} run(s)${quick ? ", quick" : ""}`)
  // the pool's workers start with its first job: start them before timing, as a session would have
  yield* (yield* HashPool).describe({ kind: "block", memory: new SharedArrayBuffer(4096), byteOffset: 0, length: 4096, fileOffset: 0, firstIndex: 0 })
  const rows: Record<"A" | "B", { waie: Array<number>; base: Array<number> }> = { A: { waie: [], base: [] }, B: { waie: [], base: [] } }
  let mode = ""
  for (let run = 0; run < runs; run++) {
    for (const which of ["A", "B"] as const) {
      if (only !== undefined && only.toUpperCase() !== which) continue
      const order = run % 2 === 0 ? (["waie", "base"] as const) : (["base", "waie"] as const)
      for (const who of order) {
        if (who === "base" && !baseline) continue
        clearDrive()
        const start = now()
        if (who === "waie") {
          if (which === "A") yield* waieA
          else mode = yield* waieB
        } else if (which === "A") sh(`cp -r A "${drive}/A" && sync && md5sum A/* > /dev/null`, dataRoot)
        else sh(`cp -r B "${drive}/B" && sync && find B -type f -print0 | xargs -0 md5sum > /dev/null`, dataRoot)
        const wall = now() - start
        rows[which][who].push(wall)
        const bytes = which === "A" ? aBytes : bBytes
        console.log(`run ${run + 1} ${which} ${who === "waie" ? "waie    " : "baseline"} ${wall.toFixed(2)} s  ${(bytes / wall / 1e6).toFixed(0)} MB/s`)
      }
    }
  }
  console.log("\nmedians")
  for (const which of ["A", "B"] as const) {
    const { waie, base } = rows[which]
    if (waie.length === 0) continue
    const bytes = which === "A" ? aBytes : bBytes
    const w = median(waie)
    const what = which === "A" ? `${A.files} × ${A.size / MiB} MiB` : `${B.folders * B.perFolder} × ${B.size / 1024} KiB${mode ? `, ${mode}` : ""}`
    const goal = which === "A" ? 0.75 : 1.0
    const ratios = base.length === waie.length ? waie.map((x, i) => x / base[i]!) : []
    const ratio = base.length > 0 ? ` baseline ${median(base).toFixed(2)} s (${(bytes / median(base) / 1e6).toFixed(0)} MB/s)  ratio ${(w / median(base)).toFixed(2)} (median of per-run ratios ${ratios.length ? median(ratios).toFixed(2) : "-"}; goal ≤ ${goal})` : ""
    console.log(`${which} (${what}): waie ${w.toFixed(2)} s (${(bytes / w / 1e6).toFixed(0)} MB/s)${ratio}`)
  }
  console.log(`waie peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} cores (other work on the machine slows waie, which uses every core, more than the baseline)`)
})

try {
  await Effect.runPromise(main.pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, HashPoolLive()))) as Effect.Effect<void, unknown, never>)
} finally {
  rmSync(drive, { recursive: true, force: true })
  if (!keepData) rmSync(dataRoot, { recursive: true, force: true })
}
