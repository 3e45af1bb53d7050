/**
 * The I/O of one small file, straight on node:fs (callback API), for `DurableBatch`.
 *
 * Why not the platform FileSystem: a small file needs six or seven system calls (open, read,
 * close; open, write, close; rename), and through FileSystem each is an Effect with its own
 * scope, semaphore and fiber hand-offs. Measured on the 2-core bench machine with 16 KiB files,
 * 8 in flight: FileSystem 190–360 µs per file (130–290 µs of it main-thread CPU), node:fs
 * callbacks 50 µs per file — the difference alone is more than `cp -r` takes per file. So the
 * per-file work runs here as one promise per step, wrapped in one Effect by the caller; the
 * rare per-batch operations (folders, syncs) stay on FileSystem. Errors come back as waie's
 * typed errors (rejections carry them), file descriptors are always closed.
 */
import * as fs from "node:fs"
import { partialPathOf, shownPartialOf } from "./copy-file.ts"
import { FileUnreadable, FileUnwritable, SourceChanged } from "./errors.ts"

/** What `readSmall` and `writeSmall` need of a file. */
export interface SmallFileIo {
  readonly source: string
  readonly target: string
  readonly length: number
  readonly mtimeMs?: number
  readonly shownSource?: string
  readonly shownTarget?: string
}

/** The reason of a node error as the FileSystem-based readers word it (`files.ts`). */
const reasonOf = (e: NodeJS.ErrnoException): string => {
  if (e.code === "ENOENT") return "no such file"
  if (e.code === "EACCES" || e.code === "EPERM") return "permission denied"
  return e.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")
}

const codeOf = (e: unknown): string => ((e as NodeJS.ErrnoException | undefined)?.code as string | undefined) ?? "EIO"

export const nodeUnreadable = (shown: string, e: unknown): FileUnreadable => new FileUnreadable({ path: shown, code: codeOf(e), reason: e instanceof Error ? reasonOf(e) : String(e) })
export const nodeUnwritable = (shown: string, e: unknown): FileUnwritable => new FileUnwritable({ path: shown, code: codeOf(e), reason: e instanceof Error ? reasonOf(e) : String(e) })

const call = <T>(f: (cb: (e: NodeJS.ErrnoException | null, r: T) => void) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r))))

const open = (p: string, flags: string | number, mode?: number) => call<number>((cb) => fs.open(p, flags, mode, cb))
const close = (fd: number) => call<void>((cb) => fs.close(fd, (e) => cb(e, undefined)))
const read = (fd: number, into: Uint8Array, at: number, n: number) => call<number>((cb) => fs.read(fd, into, at, n, null, cb))
const write = (fd: number, from: Uint8Array, at: number, n: number) => call<number>((cb) => fs.write(fd, from, at, n, null, cb))
const fstat = (fd: number) => call<fs.Stats>((cb) => fs.fstat(fd, cb))
const ftruncate = (fd: number, len: number) => call<void>((cb) => fs.ftruncate(fd, len, (e) => cb(e, undefined)))
const fsync = (fd: number) => call<void>((cb) => fs.fsync(fd, (e) => cb(e, undefined)))
const rename = (from: string, to: string) => call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined)))

const closeQuietly = (fd: number) => close(fd).catch(() => undefined)

/**
 * Reads the whole source into `into` (which must hold `length + 1` bytes, or `length` when the
 * file fills a whole 4 MiB slot) and checks it still has the planned length (and mtime, when
 * the caller gave one: only then is it fstat'ed). A read that ends exactly at the planned
 * length is the end of the file (a regular file's read returns less than asked only at its end);
 * more bytes than planned is growth. Rejects with FileUnreadable or SourceChanged.
 */
export const readSmall = async (file: SmallFileIo, into: Uint8Array): Promise<void> => {
  const shown = file.shownSource ?? file.source
  const { length } = file
  let fd: number
  try {
    fd = await open(file.source, "r")
  } catch (e) {
    throw nodeUnreadable(shown, e)
  }
  try {
    let mtimeMs = file.mtimeMs ?? 0
    if (file.mtimeMs !== undefined) {
      const st = await fstat(fd).catch((e: unknown) => Promise.reject(nodeUnreadable(shown, e)))
      if (!st.isFile()) throw new FileUnreadable({ path: shown, code: st.isDirectory() ? "EISDIR" : "EINVAL", reason: `is ${st.isDirectory() ? "a directory" : "not a regular file"}, not a file` })
      const found = Math.round(st.mtimeMs) // as node's stat Date (and the FileSystem service) rounds it
      if (st.size !== length || found !== file.mtimeMs) {
        throw new SourceChanged({ path: shown, length, mtimeMs: file.mtimeMs, found: `${st.size} bytes, modified at ${new Date(found).toISOString()}` })
      }
      mtimeMs = file.mtimeMs
    }
    const changed = (found: string) => new SourceChanged({ path: shown, length, mtimeMs, found })
    const want = Math.min(length + 1, into.length)
    let got = 0
    for (;;) {
      const r = await read(fd, into, got, want - got).catch((e: unknown) => Promise.reject(nodeUnreadable(shown, e)))
      got += r
      if (r === 0 || got === want || got === length) break
    }
    if (got < length) throw changed(`${got} bytes: it ended early while it was being copied`)
    let more = got > length
    if (!more && want === length) more = (await read(fd, new Uint8Array(1), 0, 1).catch((e: unknown) => Promise.reject(nodeUnreadable(shown, e)))) > 0
    if (more) throw changed(`more than ${length} bytes: it grew while it was being copied`)
  } finally {
    await closeQuietly(fd)
  }
}

/**
 * Writes the file's partial file: `data` (the whole file), or, when `data` is undefined (an
 * all-zero page blob), only its length (ftruncate: a hole). fsyncs it before closing when
 * `sync`. Rejects with FileUnwritable.
 */
export const writeSmall = async (file: SmallFileIo, data: Uint8Array | undefined, sync: boolean): Promise<void> => {
  const partial = partialPathOf(file.target)
  const fail = (e: unknown) => Promise.reject(nodeUnwritable(shownPartialOf(file.shownTarget ?? file.target, file.target), e))
  const fd = await open(partial, "w", 0o644).catch(fail)
  try {
    if (data === undefined) {
      if (file.length > 0) await ftruncate(fd, file.length).catch(fail)
    } else {
      for (let done = 0; done < data.length; ) done += await write(fd, data, done, data.length - done).catch(fail)
    }
    if (sync) await fsync(fd).catch(fail)
  } finally {
    await closeQuietly(fd)
  }
}

/** Renames every file's partial file to its target, `concurrency` at a time. Rejects with the first FileUnwritable. */
export const renameAll = async (files: ReadonlyArray<SmallFileIo>, concurrency: number): Promise<void> => {
  let next = 0
  let failed: FileUnwritable | undefined
  const lane = async () => {
    while (failed === undefined && next < files.length) {
      const f = files[next++]!
      await rename(partialPathOf(f.target), f.target).catch((e: unknown) => {
        failed ??= nodeUnwritable(f.shownTarget ?? f.target, e)
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, lane))
  if (failed) throw failed
}
