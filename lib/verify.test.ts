import assert from "node:assert/strict"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { blockSize, describePageRanges } from "./blocks.ts"
import { md5Hex } from "./hash.ts"
import { HashPoolLive } from "./hashpool.ts"
import type { JournalState } from "./journal.ts"
import type { ManifestEvent } from "./manifest-model.ts"
import { serializeManifest } from "./manifest-writer.ts"
import { formatProblem, localFileOf, verifiableUpTo, type VerifyProblem, verifyDrive } from "./verify.ts"

test("a FilePath names a file below the drive's folder, written with \\ or /; anything else names none", () => {
  assert.equal(localFileOf("/mnt/g", "\\session#1\\box\\a b.txt"), path.join("/mnt/g", "session#1", "box", "a b.txt"))
  assert.equal(localFileOf("/mnt/g", "dir/file"), path.join("/mnt/g", "dir", "file"))
  assert.equal(localFileOf("/mnt/g", "\\a\\..\\..\\etc\\passwd"), undefined)
  assert.equal(localFileOf("/mnt/g", "C:\\x"), undefined)
  assert.equal(localFileOf("/mnt/g", "\\\\server\\share\\x"), undefined)
  assert.equal(localFileOf("/mnt/g", ""), undefined)
  assert.equal(localFileOf("/mnt/g", "\\"), undefined)
})

test("a problem for a person: the file, what, where, expected, found, and the manifest line", () => {
  assert.equal(
    formatProblem({ kind: "changedBlock", file: "g/s/a.bin", offset: 4194304, length: 10, expected: "MD5 A", found: "MD5 B", line: 16 }),
    "g/s/a.bin: block at offset 4194304 (10 bytes): expected MD5 A, found MD5 B [manifest line 16]",
  )
  assert.equal(formatProblem({ kind: "missingFile", file: "g/s/b", expected: "the blob's file (3 bytes)", found: "no such file" }), "g/s/b: file: expected the blob's file (3 bytes), found no such file")
})

const stateWith = (sessions: ReadonlyArray<{ completed: boolean; offset: number }>, end: number): JournalState =>
  ({ journalId: "J", writer: "waie", sessions: sessions.map((s, i) => ({ sessionId: `s${i}`, ...s })), drives: new Map(), end }) as unknown as JournalState

test("a clean verify records the journal's end, or where an interrupted latest session began (its files are in no manifest yet)", () => {
  assert.equal(verifiableUpTo(stateWith([{ completed: true, offset: 100 }], 900)), 900)
  assert.equal(verifiableUpTo(stateWith([{ completed: true, offset: 100 }, { completed: false, offset: 500 }], 900)), 500)
  assert.equal(verifiableUpTo(stateWith([], 50)), 50)
})

// ---------------------------------------------------------------- the engine on a drive made here

const KiB = 1024
const MiB = 1024 * KiB

/** A page blob of 9 MiB: 64 alternating pages, zeros, then data from 8 MiB; and a block blob of 20 blocks of 4 KiB. */
const makeDrive = (dir: string) => {
  const vhd = Buffer.alloc(9 * MiB)
  for (let p = 0; p < 128; p += 2) vhd.fill(p + 1, p * 512, p * 512 + 512)
  vhd.fill(7, 8 * MiB, 8 * MiB + 12 * KiB)
  const bin = Buffer.alloc(20 * 4 * KiB)
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 31) % 251
  mkdirSync(path.join(dir, "s"))
  writeFileSync(path.join(dir, "s", "p.vhd"), vhd)
  writeFileSync(path.join(dir, "s", "b.bin"), bin)
  const ranges: Array<ManifestEvent> = []
  for (let o = 0; o < vhd.length; o += blockSize) for (const r of describePageRanges(vhd.subarray(o, o + blockSize), o)) ranges.push({ _tag: "PageRange", ...r })
  const blocks: Array<ManifestEvent> = Array.from({ length: 20 }, (_, i) => ({ _tag: "Block", offset: i * 4 * KiB, length: 4 * KiB, hash: md5Hex(bin.subarray(i * 4 * KiB, (i + 1) * 4 * KiB)) }))
  writeFileSync(
    path.join(dir, "DriveManifest.xml"),
    serializeManifest([
      { _tag: "ManifestStart", version: "2014-11-01" },
      { _tag: "DriveField", name: "DriveId", value: "D1" },
      { _tag: "DriveField", name: "StorageAccountKey", value: Buffer.alloc(64, 1).toString("base64") },
      { _tag: "BlobListStart", id: "x" },
      { _tag: "BlobStart", blobPath: "v/p.vhd", filePath: "\\s\\p.vhd", length: vhd.length, list: "page" },
      ...ranges,
      { _tag: "BlobEnd" },
      { _tag: "BlobStart", blobPath: "b/b.bin", filePath: "\\s\\b.bin", length: bin.length, list: "block" },
      ...blocks,
      { _tag: "BlobEnd" },
      { _tag: "BlobListEnd" },
      { _tag: "ManifestEnd" },
    ]),
  )
  return { vhd, bin, ranges: ranges.length }
}

const check = async (dir: string): Promise<{ problems: Array<VerifyProblem>; pageRanges: number; blocks: number }> => {
  const problems: Array<VerifyProblem> = []
  const { result } = await Effect.runPromise(verifyDrive({ root: { real: dir, shown: "d" }, onProblem: (p) => problems.push(p) }).pipe(Effect.provide(Layer.mergeAll(HashPoolLive(1), NodeContext.layer))))
  return { problems: problems.map(({ line: _l, filePath: _f, blobPath: _b, ...p }) => p as VerifyProblem), pageRanges: result.pageRanges, blocks: result.blocks }
}

test("long lists read in line, 4 MiB windows: a run of unlisted data across a window's edge is one problem; changed ranges and blocks are found", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-verify-engine-"))
  try {
    const { vhd, bin, ranges } = makeDrive(dir)
    const clean = await check(dir)
    assert.deepEqual(clean.problems, [])
    assert.equal(clean.pageRanges, ranges)
    assert.equal(clean.blocks, 20)
    // data in the unlisted zeros on both sides of 4 MiB, a changed listed page, a changed block
    vhd.fill(9, 4 * MiB - 512, 4 * MiB + 512)
    vhd[10 * 512 + 3] = 0xff
    bin[7 * 4 * KiB + 5] = bin[7 * 4 * KiB + 5]! ^ 1
    writeFileSync(path.join(dir, "s", "p.vhd"), vhd)
    writeFileSync(path.join(dir, "s", "b.bin"), bin)
    const damaged = await check(dir)
    const file = (n: string) => path.join("d", "s", n)
    assert.deepEqual(
      damaged.problems.map((p) => [p.kind, p.file, p.offset, p.length]),
      [
        ["changedPageRange", file("p.vhd"), 10 * 512, 512],
        ["unlistedData", file("p.vhd"), 4 * MiB - 512, 1024],
        ["changedBlock", file("b.bin"), 7 * 4 * KiB, 4 * KiB],
      ],
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
