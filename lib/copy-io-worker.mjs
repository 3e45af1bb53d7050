// The I/O thread of a DurableBatch (lib/copy-io.ts): reads small files into shared memory,
// writes them to their partial names, renames them, with synchronous node:fs calls. Plain
// JavaScript with node:fs only, so it starts in milliseconds and costs a few MiB.
//
// Why a thread of its own doing synchronous calls: each asynchronous fs call hops to the libuv
// pool and back (a futex wake, a context switch, an event-loop turn); for a 16 KiB file that
// is seven hops, and on the 2-core bench machine the hops cost more system time than the
// copy (measured: 4–5 s of system time for 20,000 files through the pool, 1 s here).
//
// Messages: {op: "init", memory} once; then {id, op: "read" | "write" | "rename", …}, each
// answered by {id, results} in order. A failed file is {error: {code, message}} or, for a
// source that is not what was planned, {changed: "…", mtimeMs}; the others are {ok: true}
// ({ok: true, synced: true} for a write that was fdatasynced).
import * as fs from "node:fs"
import { parentPort } from "node:worker_threads"

let memory

const failure = (e) => ({ error: { code: typeof e?.code === "string" ? e.code : "EIO", message: e instanceof Error ? e.message : String(e) } })

const closeQuietly = (fd) => {
  try {
    fs.closeSync(fd)
  } catch {}
}

// files: [{source, offset, length, mtimeMs?}]: the whole file at memory[offset…], and one byte
// past its planned length when it has one (growth). The file must be a regular file of the
// planned length (and mtime, when given) when opened. A read that ends exactly at the planned
// length is the end of the file: a regular file's read returns less than asked only there.
const read = ({ files }) =>
  files.map((f) => {
    let fd
    try {
      fd = fs.openSync(f.source, "r")
    } catch (e) {
      return failure(e)
    }
    try {
      const st = fs.fstatSync(fd)
      if (!st.isFile()) return { error: { code: st.isDirectory() ? "EISDIR" : "EINVAL", message: `is ${st.isDirectory() ? "a directory" : "not a regular file"}, not a file` } }
      // mtime in whole milliseconds, as FileSystem's stat gives it (node rounds mtimeMs for its Date)
      const mtimeMs = Math.round(st.mtimeMs)
      if (st.size !== f.length || (f.mtimeMs !== undefined && mtimeMs !== f.mtimeMs)) return { changed: `${st.size} bytes, modified at ${new Date(mtimeMs).toISOString()}`, mtimeMs }
      const want = f.length + 1
      let got = 0
      for (;;) {
        const r = fs.readSync(fd, memory, f.offset + got, want - got, got)
        got += r
        if (r === 0 || got === want || got === f.length) break
      }
      if (got < f.length) return { changed: `${got} bytes: it ended early while it was being copied`, mtimeMs }
      if (got > f.length) return { changed: `more than ${f.length} bytes: it grew while it was being copied`, mtimeMs }
      return { ok: true }
    } catch (e) {
      return failure(e)
    } finally {
      closeQuietly(fd)
    }
  })

// files: [{partial, offset, length, data}]: data false writes only the length (ftruncate: an
// all-zero page blob). With sync, every file is fdatasynced (concurrently, in the libuv pool)
// before it is closed.
const write = async ({ files, sync }) => {
  const results = []
  const open = []
  for (const f of files) {
    let fd
    try {
      fd = fs.openSync(f.partial, "w", 0o644)
      if (!f.data) {
        if (f.length > 0) fs.ftruncateSync(fd, f.length)
      } else {
        for (let done = 0; done < f.length; ) done += fs.writeSync(fd, memory, f.offset + done, f.length - done, done)
      }
      results.push({ ok: true })
      if (sync) open.push([results.length - 1, fd])
      else fs.closeSync(fd)
    } catch (e) {
      results.push(failure(e))
      if (fd !== undefined) closeQuietly(fd)
    }
  }
  await Promise.all(
    open.map(
      ([i, fd]) =>
        new Promise((resolve) =>
          fs.fdatasync(fd, (e) => {
            results[i] = e ? failure(e) : { ok: true, synced: true }
            closeQuietly(fd)
            resolve()
          }),
        ),
    ),
  )
  return results
}

// pairs: [[from, to]]
const rename = ({ pairs }) =>
  pairs.map(([from, to]) => {
    try {
      fs.renameSync(from, to)
      return { ok: true }
    } catch (e) {
      return failure(e)
    }
  })

// one message at a time, in order (a write that syncs finishes before the next message starts)
let queue = Promise.resolve()
parentPort.on("message", (m) => {
  if (m.op === "init") {
    memory = new Uint8Array(m.memory)
    return
  }
  queue = queue.then(async () => {
    let results
    try {
      results = m.op === "read" ? read(m) : m.op === "write" ? await write(m) : rename(m)
    } catch (e) {
      results = [failure(e)]
    }
    parentPort.postMessage({ id: m.id, results })
  })
})
