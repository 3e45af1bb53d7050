/**
 * A manifest of 2,000,000 blocks (40 blobs × 50,000 blocks of 4 MiB, each blob the largest a
 * manifest can describe), written by the streaming writer to a temp file, then checked in a child
 * process whose heap is capped at 64 MB: a reader or checker that held the file (≈ 200 MB) or its
 * blocks in memory would run out of heap there.
 */
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { Effect, Stream } from "effect"
import { blockSize, maxBlocksPerBlob } from "./blocks.ts"
import type { ManifestEvent } from "./manifest-model.ts"
import { writeManifest } from "./manifest-writer.ts"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")
const blobs = 40
const H = "0CC175B9C0F1B6A831C399E269772661"
const key = Buffer.alloc(64, 7).toString("base64")

function* events(): Generator<ManifestEvent> {
  const ids: Array<string> = []
  for (let i = 0; i < maxBlocksPerBlob; i++) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(i)
    ids.push(b.toString("base64"))
  }
  yield { _tag: "ManifestStart", version: "2014-11-01" }
  yield { _tag: "DriveField", name: "DriveId", value: "LARGE0001" }
  yield { _tag: "DriveField", name: "StorageAccountKey", value: key }
  yield { _tag: "BlobListStart", id: "large#1-0" }
  for (let b = 0; b < blobs; b++) {
    yield { _tag: "BlobStart", blobPath: `large/blob-${b}.bin`, filePath: `\\large\\blob-${b}.bin`, length: maxBlocksPerBlob * blockSize, importDisposition: "overwrite", list: "block" }
    for (let i = 0; i < maxBlocksPerBlob; i++) yield { _tag: "Block", offset: i * blockSize, length: blockSize, id: ids[i]!, hash: H }
    yield { _tag: "BlobEnd" }
  }
  yield { _tag: "BlobListEnd" }
  yield { _tag: "ManifestEnd" }
}

const md5File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash("md5")
    createReadStream(file)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex").toUpperCase()))
  })

// The checker, run with a 64 MB heap; prints the report as JSON. It reads through the platform
// FileSystem like the command does, but imports its modules directly: the "@effect/platform" index
// (which lib/files.ts imports) alone takes ~37 MB of heap, which would leave the checker no room.
const child = `
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import { checkManifest } from "./lib/manifest-check.ts"
const file = process.argv[1]
const bytes = Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => fs.stream(file, { chunkSize: 1024 * 1024 })))
const report = await Effect.runPromise(checkManifest(file, bytes).pipe(Effect.provide(NodeFileSystem.layer)))
process.stdout.write(JSON.stringify(report))
`

test("2,000,000 blocks: streamed out by the writer, checked in a 64 MB heap", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-large-"))
  try {
    const file = path.join(dir, "DriveManifest.xml")
    const written = await Effect.runPromise(writeManifest(file, Stream.fromIterable(events())).pipe(Effect.provide(NodeContext.layer)))
    assert.equal(written.bytes, statSync(file).size)
    assert.ok(written.bytes > 150 * 1024 * 1024, `the manifest is large (${written.bytes} bytes)`)
    assert.equal(written.hash, await md5File(file))

    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--max-old-space-size=64", "--import", "tsx", "--input-type=module", "-e", child, file],
        { cwd: root, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => (err ? reject(new Error(`checker failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
      )
    })
    const report = JSON.parse(out) as {
      ok: boolean
      issues: Array<unknown>
      stats: { blobLists: number; blobs: number; blocks: number; pageRanges: number; bytes: number }
      hash: string
      fileBytes: number
    }
    assert.deepEqual(report.issues, [])
    assert.equal(report.ok, true)
    assert.deepEqual(report.stats, { blobLists: 1, blobs, blocks: blobs * maxBlocksPerBlob, pageRanges: 0, bytes: blobs * maxBlocksPerBlob * blockSize })
    assert.equal(report.hash, written.hash)
    assert.equal(report.fileBytes, written.bytes)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
