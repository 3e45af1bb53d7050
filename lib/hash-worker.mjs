// A hashing worker of lib/hashpool.ts. Plain JavaScript so that it can register tsx itself
// (resolved from this file's own install) before loading the TypeScript it shares with the
// main thread: the chunk rules live in one place, lib/blocks.ts.
import { parentPort } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
const { describeBlocks, describePageRanges } = await import("./chunks.ts")

parentPort.on("message", (job) => {
  try {
    const chunk = new Uint8Array(job.memory, job.byteOffset, job.length)
    const result = job.kind === "page" ? describePageRanges(chunk, job.fileOffset) : describeBlocks(chunk, job.fileOffset, job.firstIndex)
    parentPort.postMessage({ id: job.id, result })
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) })
  }
})
parentPort.postMessage({ ready: true })
