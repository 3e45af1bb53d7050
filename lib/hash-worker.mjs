// A hashing worker of lib/hashpool.ts. Plain JavaScript importing plain JavaScript
// (lib/chunks.js, the chunk rules the main thread uses too): no tsx loader in the worker, whose
// hooks thread and compiler cost ≈ 37 MiB of RSS per worker.
import { parentPort } from "node:worker_threads"
import { describeBlocks, describePageRanges } from "./chunks.js"

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
