/**
 * A fault-injecting FileSystem for tests: the same program runs on it as on the real one (it
 * wraps the real FileSystem service), and a test can make the Nth call of a kind fail or stop
 * the program there as a power cut would, then look at what a drive would hold after it.
 *
 * Two parts:
 *
 * - `FaultDisk`: the state of the "machine" across the runs of one test scenario — counters of
 *   the calls of the current run, the armed fault, and a model of what is durable (below). A
 *   scenario makes one disk and runs several commands on it (a session, its resume, …): what a
 *   run left unsynced is still unsynced in the next run, as in one page cache.
 * - `faultFileSystem(real, disk)` / `FaultFileSystemLive(disk)`: the FileSystem service over the
 *   real one, counting calls and applying the disk's fault.
 *
 * Calls counted (`CallKind`): open, write (File.write, File.writeAll, writeFile), sync
 * (File.sync: a file's fsync, or a folder's when the handle is a folder), rename, truncate
 * (File.truncate and truncate by path), remove, makeDirectory, chmod, and `other` (copy, link,
 * symlink, utimes, chown, temp files). Reads, stats and listings are not counted: they change
 * nothing a crash could lose.
 *
 * Faults (`Fault`), one armed per run, at the `at`-th (1-based) call of its kind in that run:
 * - `write`: that write fails with EIO and writes nothing;
 * - `fsync`: that sync fails with EIO. For a file, Linux's semantics since 4.13: the dirty pages
 *   are marked clean, so the bytes that were not durable are lost for good even if a later fsync
 *   succeeds — the model keeps them "poisoned" until they are written again. For a folder, its
 *   pending entries stay pending (metadata goes through the file system's journal and is written
 *   by the next folder sync that succeeds);
 * - `rename`: that rename fails with EIO and renames nothing;
 * - `enospc`: that write, counted among writes to files under `folder` only, fails with ENOSPC,
 *   and from then on (across runs, until `clearFull`) every write of data, every extending
 *   truncate and every makeDirectory under `folder` fails with ENOSPC. Creating empty files,
 *   renaming and removing still work, as on a full ext4 with inodes left;
 * - `crash` / `tear`: the `at`-th counted call of any kind never happens: the program stops there
 *   (that call and every later one, in any fiber, dies with `FaultCrash`, so nothing more reaches
 *   the disk), and the test then calls `powerLoss()` to drop (`crash`) or tear (`tear`) what was
 *   not durable.
 *
 * The durability model (what `powerLoss` undoes), for files and folders under the disk's roots:
 * - file data: the first change to a file after its last successful fsync (write, truncate,
 *   opening with `w`) saves its durable content; a successful fsync makes the current content
 *   durable (but for poisoned bytes). On power loss a dropped file gets its durable content
 *   back; a torn one keeps the current bytes up to a random point and the durable ones after it,
 *   and, half the time, zeros for the torn part past the durable length (the size reached the
 *   disk, the data did not: ext4's data=writeback);
 * - folder entries: creating a file or folder and renaming are pending until the folder (both
 *   folders of a rename) is fsynced after them; a fsync of the file itself does not make its name
 *   durable (POSIX promises nothing more, and some file systems give nothing more). On power
 *   loss pending entries are undone newest first — a renamed file goes back to its old name and
 *   what it replaced comes back, a created file or folder disappears with what it holds; a torn
 *   power loss keeps an oldest-first prefix of them (metadata is journaled in order).
 *
 * Limits of the model (said so that a passing test is not read as more than it proves):
 * - removals are durable at once (a lost unlink would only bring back a file the program had
 *   decided to remove; re-running the command removes it again);
 * - chmod, utimes and other attribute changes are durable at once;
 * - torn writes keep whole runs of the written bytes or zeros, never garbage or bytes in another
 *   order than the program wrote them;
 * - only calls through the FileSystem service are seen: writes made by other means (node:fs in a
 *   worker, a child process such as `sync -f`) are durable at once as far as the model knows,
 *   and a `sync -f` makes nothing durable in it;
 * - content is read through `/proc/self/fd` (Linux) and kept in memory: meant for test data of
 *   a few MiB.
 */
import type { PlatformError } from "@effect/platform/Error"
import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as nodeFs from "node:fs"
import * as path from "node:path"

export type CallKind = "open" | "write" | "sync" | "rename" | "truncate" | "remove" | "makeDirectory" | "chmod" | "other"
export const callKinds: ReadonlyArray<CallKind> = ["open", "write", "sync", "rename", "truncate", "remove", "makeDirectory", "chmod", "other"]

export type FaultKind = "write" | "fsync" | "rename" | "enospc" | "crash" | "tear"
export const faultKinds: ReadonlyArray<FaultKind> = ["write", "fsync", "rename", "enospc", "crash", "tear"]

export type Fault =
  | { readonly kind: "write" | "fsync" | "rename" | "crash" | "tear"; readonly at: number }
  | { readonly kind: "enospc"; readonly at: number; readonly folder: string }

/** The program stopped at a simulated power cut (a defect: nothing may catch it and go on). */
export class FaultCrash extends Error {
  constructor(readonly at: number, readonly call: string) {
    super(`simulated power cut at call ${at} (${call})`)
    this.name = "FaultCrash"
  }
}

/** What a scenario's runs count: per kind, and all counted calls. */
export interface CallCounts {
  readonly total: number
  readonly byKind: Readonly<Record<CallKind, number>>
  /** writes to files under the armed (or last) `enospc` folder */
  readonly writesUnderFolder: number
}

interface DirtyFile {
  /** the content as of the last successful fsync */
  durable: Buffer
  /** ranges [from, to) a failed fsync lost: they read as the durable bytes (zeros past them) after a power cut */
  poisoned: Array<[number, number]>
}

type DirOp =
  | { readonly seq: number; readonly kind: "create" | "mkdir"; readonly path: string; readonly dirs: Array<string> }
  | { readonly seq: number; readonly kind: "rename"; readonly from: string; readonly to: string; readonly dirs: Array<string>; readonly replaced?: { readonly data: Buffer; readonly mode: number } }

/** A small deterministic random source (mulberry32), so that a torn power cut can be replayed from its seed. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const within = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

const zeroCounts = (): Record<CallKind, number> => ({ open: 0, write: 0, sync: 0, rename: 0, truncate: 0, remove: 0, makeDirectory: 0, chmod: 0, other: 0 })

const inoKey = (st: nodeFs.Stats): string => `${st.dev}:${st.ino}`

/** The whole content of an open file, whatever its open mode (through /proc/self/fd). */
const readFd = (fd: number): Buffer => nodeFs.readFileSync(`/proc/self/fd/${fd}`)

const subtract = (ranges: Array<[number, number]>, from: number, to: number): Array<[number, number]> =>
  ranges.flatMap(([a, b]): Array<[number, number]> => {
    if (to <= a || from >= b) return [[a, b]]
    const out: Array<[number, number]> = []
    if (a < from) out.push([a, from])
    if (to < b) out.push([to, b])
    return out
  })

/** Ranges where `now` differs from `before` (past the end of `before` counts as different). */
const differences = (before: Buffer, now: Buffer): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  let start = -1
  for (let i = 0; i < now.length; i++) {
    const differs = i >= before.length || before[i] !== now[i]
    if (differs && start < 0) start = i
    else if (!differs && start >= 0) {
      out.push([start, i])
      start = -1
    }
  }
  if (start >= 0) out.push([start, now.length])
  return out
}

/** `now` with its poisoned ranges read as a power cut would leave them: the durable bytes there, zeros past them. */
const withPoison = (now: Buffer, durable: Buffer, poisoned: ReadonlyArray<[number, number]>): Buffer => {
  if (poisoned.length === 0) return now
  const out = Buffer.from(now)
  for (const [a, b] of poisoned) {
    for (let i = a; i < Math.min(b, out.length); i++) out[i] = i < durable.length ? durable[i]! : 0
  }
  return out
}

export interface FaultDiskOptions {
  /** folders whose files and entries the durability model follows (a test's world) */
  readonly roots: ReadonlyArray<string>
  /** keep a log of the counted calls (`calls`), for diagnostics */
  readonly log?: boolean
}

/** The state of one scenario's machine: counters, the armed fault, what is durable. See the module's comment. */
export class FaultDisk {
  readonly roots: ReadonlyArray<string>
  private fault: Fault | undefined
  private counts = zeroCounts()
  private total = 0
  private folderWrites = 0
  private crashedAt: FaultCrash | undefined
  private injected: { readonly fault: Fault; readonly call: string } | undefined
  private readonly full = new Set<string>()
  private readonly dirty = new Map<string, DirtyFile>()
  private pending: Array<DirOp> = []
  private seq = 0
  private readonly logging: boolean
  /** the counted calls of the current run (with `log`) */
  readonly calls: Array<string> = []

  constructor(options: FaultDiskOptions) {
    this.roots = options.roots.map((r) => path.resolve(r))
    this.logging = options.log === true
  }

  /** Start a run: counters at zero, `fault` (or none) armed. A full folder stays full. */
  arm(fault?: Fault): void {
    this.fault = fault
    this.counts = zeroCounts()
    this.total = 0
    this.folderWrites = 0
    this.crashedAt = undefined
    this.injected = undefined
    this.calls.length = 0
  }

  get callCounts(): CallCounts {
    return { total: this.total, byKind: { ...this.counts }, writesUnderFolder: this.folderWrites }
  }

  /** The power cut of this run, if the armed crash fired. */
  get crashed(): FaultCrash | undefined {
    return this.crashedAt
  }

  /** The fault injected in this run (the armed one, once its call came), if any. */
  get fired(): { readonly fault: Fault; readonly call: string } | undefined {
    return this.injected
  }

  /** Folders that are out of space. */
  get fullFolders(): ReadonlyArray<string> {
    return [...this.full]
  }

  /** Give a full folder its space back. */
  clearFull(): void {
    this.full.clear()
  }

  /** Whether nothing is pending: every tracked file and entry is durable. */
  get clean(): boolean {
    return this.dirty.size === 0 && this.pending.length === 0
  }

  private tracked(p: string): boolean {
    const abs = path.resolve(p)
    return this.roots.some((r) => within(abs, r))
  }

  private isFull(p: string): boolean {
    const abs = path.resolve(p)
    for (const f of this.full) if (within(abs, f)) return true
    return false
  }

  /**
   * Count a call and decide its fate: "go" (do it), or an error to fail with. A crash dies here.
   * `target` is the path the call changes (for the ENOSPC folder and the log).
   */
  step(kind: CallKind, target: string, writesData = false): "go" | PlatformError {
    if (this.crashedAt) throw this.crashedAt
    this.total++
    const n = ++this.counts[kind]
    const call = `${kind} ${target}`
    if (this.logging) this.calls.push(`${this.total} ${call}`)
    const f = this.fault
    const underFolder = f?.kind === "enospc" && writesData && within(path.resolve(target), path.resolve(f.folder))
    if (underFolder) this.folderWrites++
    if (f !== undefined && this.injected === undefined) {
      if ((f.kind === "crash" || f.kind === "tear") && this.total === f.at) {
        this.injected = { fault: f, call }
        this.crashedAt = new FaultCrash(this.total, call)
        throw this.crashedAt
      }
      const hit =
        (f.kind === "write" && kind === "write" && n === f.at) ||
        (f.kind === "fsync" && kind === "sync" && n === f.at) ||
        (f.kind === "rename" && kind === "rename" && n === f.at) ||
        (f.kind === "enospc" && underFolder && this.folderWrites === f.at)
      if (hit) {
        this.injected = { fault: f, call }
        if (f.kind === "enospc") {
          this.full.add(path.resolve(f.folder))
          return ioError(kind, target, "ENOSPC", "no space left on device")
        }
        return ioError(kind, target, "EIO", "i/o error")
      }
    }
    if (writesData && this.isFull(target)) return ioError(kind, target, "ENOSPC", "no space left on device")
    return "go"
  }

  // ------------------------------------------------------------ the durability model

  /** Before a change to the file at `fdOrPath`: save its durable content if it is clean. */
  touch(key: string, current: () => Buffer): void {
    if (!this.dirty.has(key)) this.dirty.set(key, { durable: current(), poisoned: [] })
  }

  /** A write of [from, to) after a failed fsync puts those bytes back in the page cache. */
  wrote(key: string, from: number, to: number): void {
    const d = this.dirty.get(key)
    if (d && d.poisoned.length > 0) d.poisoned = subtract(d.poisoned, from, to)
  }

  truncated(key: string, length: number): void {
    const d = this.dirty.get(key)
    if (d && d.poisoned.length > 0) d.poisoned = subtract(d.poisoned, length, Number.MAX_SAFE_INTEGER)
  }

  synced(key: string, current: Buffer): void {
    const d = this.dirty.get(key)
    if (!d) return
    if (d.poisoned.length === 0) {
      this.dirty.delete(key)
      return
    }
    // what reached the disk: the current bytes but the lost ones; they stay lost in the cache too
    d.durable = withPoison(current, d.durable, d.poisoned)
  }

  syncFailed(key: string, current: Buffer): void {
    const d = this.dirty.get(key)
    if (!d) return
    const lost = differences(d.durable, current)
    d.poisoned = [...d.poisoned, ...lost]
  }

  /** A folder entry appeared or moved (see DirOp); `replaced` is what a rename overwrote. */
  entry(op: { readonly kind: "create" | "mkdir"; readonly path: string } | { readonly kind: "rename"; readonly from: string; readonly to: string; readonly replaced?: { readonly data: Buffer; readonly mode: number } }): void {
    const seq = ++this.seq
    if (op.kind === "rename") {
      if (!this.tracked(op.to) && !this.tracked(op.from)) return
      const dirs = [...new Set([path.dirname(path.resolve(op.from)), path.dirname(path.resolve(op.to))])]
      this.pending.push({ ...op, from: path.resolve(op.from), to: path.resolve(op.to), seq, dirs })
    } else {
      if (!this.tracked(op.path)) return
      this.pending.push({ ...op, path: path.resolve(op.path), seq, dirs: [path.dirname(path.resolve(op.path))] })
    }
  }

  /** A folder was fsynced: its entries so far are durable (a rename once both its folders are). */
  dirSynced(dir: string): void {
    const d = path.resolve(dir)
    this.pending = this.pending.flatMap((op) => {
      if (!op.dirs.includes(d)) return [op]
      const dirs = op.dirs.filter((x) => x !== d)
      return dirs.length === 0 ? [] : [{ ...op, dirs }]
    })
  }

  /** The durable content of a file about to be replaced by a rename (its page-cache bytes when clean). */
  durableContent(p: string): { readonly data: Buffer; readonly mode: number } | undefined {
    try {
      const st = nodeFs.statSync(p)
      if (!st.isFile()) return undefined
      const d = this.dirty.get(inoKey(st))
      return { data: d ? d.durable : nodeFs.readFileSync(p), mode: st.mode & 0o7777 }
    } catch {
      return undefined
    }
  }

  /**
   * The power cut: undo what was not durable (see the module's comment), `tear` or drop it
   * whole, then start clean (nothing pending; a full folder stays full). Call it once the
   * stopped program has finished (every fiber and finalizer), so nothing writes behind it.
   * Returns what was undone, for the test's log.
   */
  powerLoss(mode: "drop" | "tear", seed = 1): { readonly entries: number; readonly files: number } {
    const random = seededRandom(seed)
    let ops = [...this.pending].sort((a, b) => a.seq - b.seq)
    if (mode === "tear") ops = ops.slice(Math.floor(random() * (ops.length + 1)))
    for (const op of ops.reverse()) {
      try {
        if (op.kind === "create") {
          if (nodeFs.existsSync(op.path) && !nodeFs.statSync(op.path).isDirectory()) nodeFs.unlinkSync(op.path)
        } else if (op.kind === "mkdir") {
          nodeFs.rmSync(op.path, { recursive: true, force: true })
        } else if (op.kind === "rename" && nodeFs.existsSync(op.to) && nodeFs.existsSync(path.dirname(op.from))) {
          nodeFs.renameSync(op.to, op.from)
          if (op.replaced) {
            nodeFs.writeFileSync(op.to, op.replaced.data, { mode: op.replaced.mode })
            nodeFs.chmodSync(op.to, op.replaced.mode)
          }
        }
      } catch {
        // an entry a later undo already took away
      }
    }
    let files = 0
    if (this.dirty.size > 0) {
      const byIno = new Map<string, string>()
      const walk = (dir: string): void => {
        let names: Array<nodeFs.Dirent>
        try {
          names = nodeFs.readdirSync(dir, { withFileTypes: true })
        } catch {
          return
        }
        for (const e of names) {
          const p = path.join(dir, e.name)
          if (e.isDirectory()) walk(p)
          else if (e.isFile()) byIno.set(inoKey(nodeFs.statSync(p)), p)
        }
      }
      for (const r of this.roots) walk(r)
      for (const [key, d] of this.dirty) {
        const p = byIno.get(key)
        if (p === undefined) continue
        const now = nodeFs.readFileSync(p)
        let after: Buffer
        if (mode === "drop") after = d.durable
        else {
          const current = withPoison(now, d.durable, d.poisoned)
          const cut = Math.floor(random() * (current.length + 1))
          const length = Math.max(cut, d.durable.length)
          after = Buffer.alloc(length)
          d.durable.copy(after, 0, 0, Math.min(d.durable.length, length))
          current.copy(after, 0, 0, Math.min(cut, current.length))
          if (cut > d.durable.length && random() < 0.5) after.fill(0, d.durable.length + Math.floor(random() * (cut - d.durable.length)), cut)
        }
        if (!after.equals(now)) {
          nodeFs.writeFileSync(p, after)
          files++
        }
      }
    }
    const entries = ops.length
    this.dirty.clear()
    this.pending = []
    this.crashedAt = undefined
    this.fault = undefined
    return { entries, files }
  }
}

const errnoOf: Record<string, number> = { EIO: -5, ENOSPC: -28 }

const ioError = (kind: CallKind, target: string, code: "EIO" | "ENOSPC", text: string): PlatformError =>
  new SystemError({
    module: "FileSystem",
    method: kind,
    reason: "Unknown",
    pathOrDescriptor: target,
    description: `${code}: ${text} (injected)`,
    cause: Object.assign(new Error(`${code}: ${text}, ${kind} '${target}'`), { code, errno: errnoOf[code] }),
  })

const isCreating = (flag: FileSystem.OpenFlag | undefined): boolean => flag !== undefined && flag !== "r" && flag !== "r+"
const isTruncating = (flag: FileSystem.OpenFlag | undefined): boolean => flag === "w" || flag === "w+" || flag === "wx" || flag === "wx+"

/** Run `f` unless the disk says otherwise: a crash dies, an injected error fails. */
const guarded = <A>(disk: FaultDisk, kind: CallKind, target: string, f: () => Effect.Effect<A, PlatformError>, writesData: boolean | (() => boolean) = false): Effect.Effect<A, PlatformError> =>
  Effect.suspend(() => {
    const fate = disk.step(kind, target, typeof writesData === "function" ? writesData() : writesData)
    return fate === "go" ? f() : Effect.fail(fate)
  })

/** The fault-injecting FileSystem over `real` (see the module's comment). */
export const faultFileSystem = (real: FileSystem.FileSystem, disk: FaultDisk): FileSystem.FileSystem => {
  const keyOfPath = (p: string): string | undefined => {
    try {
      const st = nodeFs.statSync(p)
      return st.isFile() ? inoKey(st) : undefined
    } catch {
      return undefined
    }
  }
  const tracked = (p: string) => disk.roots.some((r) => within(path.resolve(p), r))

  const wrapFile = (file: FileSystem.File, p: string, append: boolean, created: boolean): FileSystem.File => {
    const st = nodeFs.fstatSync(file.fd)
    const isDir = st.isDirectory()
    const key = inoKey(st)
    const track = tracked(p) && !isDir
    // a new file's durable content is nothing (its name may not be durable either: see `entry`)
    if (track && created) disk.touch(key, () => Buffer.alloc(0))
    // mirrors the platform File's position (write offsets, for the poisoned bytes a write restores)
    let position = 0
    const current = () => readFd(file.fd)
    const beforeWrite = (length: number): number => {
      const at = append ? nodeFs.fstatSync(file.fd).size : position
      if (track) {
        disk.touch(key, current)
        disk.wrote(key, at, at + length)
      }
      return at
    }
    const wrapped: FileSystem.File = {
      [FileSystem.FileTypeId]: FileSystem.FileTypeId,
      fd: file.fd,
      stat: file.stat,
      seek: (offset, from) =>
        Effect.flatMap(file.seek(offset, from), () =>
          Effect.sync(() => {
            position = from === "start" ? Number(offset) : position + Number(offset)
          }),
        ),
      read: (buffer) => Effect.tap(file.read(buffer), (n) => Effect.sync(() => void (position += Number(n)))),
      readAlloc: (size) => Effect.tap(file.readAlloc(size), (o) => Effect.sync(() => void (position += o._tag === "Some" ? o.value.length : 0))),
      sync: Effect.suspend(() => {
        const fate = disk.step("sync", p)
        if (fate !== "go") {
          if (track) disk.syncFailed(key, current())
          return Effect.fail(fate)
        }
        return isDir ? Effect.tap(file.sync, () => Effect.sync(() => disk.dirSynced(p))) : Effect.tap(file.sync, () => Effect.sync(() => track && disk.synced(key, current())))
      }),
      truncate: (length) =>
        guarded(
          disk,
          "truncate",
          p,
          () =>
            Effect.suspend(() => {
              if (track) disk.touch(key, current)
              return Effect.tap(file.truncate(length), () =>
                Effect.sync(() => {
                  const n = Number(length ?? 0)
                  if (track) disk.truncated(key, n)
                  if (!append && position > n) position = n
                }),
              )
            }),
          () => Number(length ?? 0) > nodeFs.fstatSync(file.fd).size,
        ),
      write: (buffer) =>
        guarded(
          disk,
          "write",
          p,
          () =>
            Effect.suspend(() => {
              beforeWrite(buffer.length)
              return Effect.tap(file.write(buffer), (n) => Effect.sync(() => void (append ? undefined : (position += Number(n)))))
            }),
          buffer.length > 0,
        ),
      writeAll: (buffer) =>
        guarded(
          disk,
          "write",
          p,
          () =>
            Effect.suspend(() => {
              beforeWrite(buffer.length)
              return Effect.tap(file.writeAll(buffer), () => Effect.sync(() => void (append ? undefined : (position += buffer.length))))
            }),
          buffer.length > 0,
        ),
    }
    return wrapped
  }

  return FileSystem.make({
    access: real.access,
    readDirectory: real.readDirectory,
    readFile: real.readFile,
    readLink: real.readLink,
    realPath: real.realPath,
    stat: real.stat,
    watch: real.watch,
    copy: (from, to, options) => guarded(disk, "other", to, () => real.copy(from, to, options)),
    copyFile: (from, to) => guarded(disk, "other", to, () => real.copyFile(from, to)),
    chown: (p, uid, gid) => guarded(disk, "other", p, () => real.chown(p, uid, gid)),
    link: (from, to) => guarded(disk, "other", to, () => real.link(from, to)),
    symlink: (from, to) => guarded(disk, "other", to, () => real.symlink(from, to)),
    utimes: (p, atime, mtime) => guarded(disk, "other", p, () => real.utimes(p, atime, mtime)),
    makeTempDirectory: (options) => guarded(disk, "other", options?.directory ?? "(temp)", () => real.makeTempDirectory(options)),
    makeTempDirectoryScoped: (options) => Effect.suspend(() => (disk.step("other", options?.directory ?? "(temp)") === "go" ? real.makeTempDirectoryScoped(options) : Effect.fail(ioError("other", "(temp)", "EIO", "i/o error")))),
    makeTempFile: (options) => guarded(disk, "other", options?.directory ?? "(temp)", () => real.makeTempFile(options)),
    makeTempFileScoped: (options) => Effect.suspend(() => (disk.step("other", options?.directory ?? "(temp)") === "go" ? real.makeTempFileScoped(options) : Effect.fail(ioError("other", "(temp)", "EIO", "i/o error")))),
    chmod: (p, mode) => guarded(disk, "chmod", p, () => real.chmod(p, mode)),
    makeDirectory: (p, options) =>
      guarded(
        disk,
        "makeDirectory",
        p,
        () =>
          Effect.suspend(() => {
            // the folders this call makes, outermost first (recursive makes the missing ancestors)
            const made: Array<string> = []
            let at = path.resolve(p)
            while (!nodeFs.existsSync(at)) {
              made.unshift(at)
              if (options?.recursive !== true) break
              const parent = path.dirname(at)
              if (parent === at) break
              at = parent
            }
            return Effect.tap(real.makeDirectory(p, options), () => Effect.sync(() => made.forEach((d) => disk.entry({ kind: "mkdir", path: d }))))
          }),
        true,
      ),
    open: (p, options) =>
      Effect.suspend(() => {
        const fate = disk.step("open", p)
        if (fate !== "go") return Effect.fail(fate)
        const flag = options?.flag
        const existed = nodeFs.existsSync(p)
        if (existed && isTruncating(flag) && tracked(p)) {
          const key = keyOfPath(p)
          if (key !== undefined) disk.touch(key, () => nodeFs.readFileSync(p))
        }
        return Effect.map(real.open(p, options), (file) => {
          const created = !existed && isCreating(flag)
          if (created) disk.entry({ kind: "create", path: p })
          return wrapFile(file, p, flag === "a" || flag === "a+" || flag === "ax" || flag === "ax+", created)
        })
      }),
    remove: (p, options) => guarded(disk, "remove", p, () => real.remove(p, options)),
    rename: (from, to) =>
      guarded(disk, "rename", to, () =>
        Effect.suspend(() => {
          const replaced = tracked(to) ? disk.durableContent(to) : undefined
          return Effect.tap(real.rename(from, to), () => Effect.sync(() => disk.entry(replaced ? { kind: "rename", from, to, replaced } : { kind: "rename", from, to })))
        }),
      ),
    truncate: (p, length) =>
      guarded(
        disk,
        "truncate",
        p,
        () =>
          Effect.suspend(() => {
            const key = tracked(p) ? keyOfPath(p) : undefined
            if (key !== undefined) disk.touch(key, () => nodeFs.readFileSync(p))
            return Effect.tap(real.truncate(p, length), () => Effect.sync(() => key !== undefined && disk.truncated(key, Number(length ?? 0))))
          }),
        () => {
          try {
            return Number(length ?? 0) > nodeFs.statSync(p).size
          } catch {
            return false
          }
        },
      ),
    writeFile: (p, data, options) =>
      guarded(
        disk,
        "write",
        p,
        () =>
          Effect.suspend(() => {
            const existed = nodeFs.existsSync(p)
            const flag = options?.flag ?? "w"
            if (existed && tracked(p)) {
              const key = keyOfPath(p)
              if (key !== undefined) {
                disk.touch(key, () => nodeFs.readFileSync(p))
                disk.wrote(key, 0, data.length)
              }
            }
            return Effect.tap(real.writeFile(p, data, options), () =>
              Effect.sync(() => {
                if (!existed && isCreating(flag)) disk.entry({ kind: "create", path: p })
                if (!existed && tracked(p)) {
                  // a new file: durable content is nothing at all
                  const key = keyOfPath(p)
                  if (key !== undefined) disk.touch(key, () => Buffer.alloc(0))
                }
              }),
            )
          }),
        data.length > 0,
      ),
  })
}

/** The fault-injecting FileSystem as a layer over the real one. */
export const FaultFileSystem = (disk: FaultDisk): Layer.Layer<FileSystem.FileSystem, never, FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (real) => faultFileSystem(real, disk)),
  )

/** The fault-injecting FileSystem over node's. */
export const FaultFileSystemLive = (disk: FaultDisk): Layer.Layer<FileSystem.FileSystem> => FaultFileSystem(disk).pipe(Layer.provide(NodeFileSystem.layer))
