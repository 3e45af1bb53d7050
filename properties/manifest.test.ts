/**
 * Laws of the manifest writer, reader and checker on generated manifests, with hostile strings
 * (spaces at the ends, quotes, `&<>`, `]]>`, CR, LF, TAB, non-ASCII, astral characters) in every
 * string field.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, Stream } from "effect"
import fc from "fast-check"
import { checkManifest } from "../lib/manifest-check.ts"
import { type FileRef, type ManifestEvent, withoutPositions } from "../lib/manifest-model.ts"
import { ManifestParser, readManifest } from "../lib/manifest-reader.ts"
import { serializeManifest, writeManifest } from "../lib/manifest-writer.ts"
import { hasCharsXmlCannotHold } from "../lib/xml.ts"

const hostilePiece = fc.oneof(
  fc.constantFrom(" ", "  ", '"', "'", "&", "<", ">", "]]>", "\r", "\n", "\r\n", "\t", "é", "日本", "😀", "\u00A0", "<!--", "&amp;", "&#13;", "\\", "/", "..", "?", "#", "%20", "$root"),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
)
const hostile = fc
  .array(hostilePiece, { maxLength: 6 })
  .map((parts) => parts.join(""))
  .filter((s) => !hasCharsXmlCannotHold(s))

const hex = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex").toUpperCase())
// (records are spread into plain objects: fast-check makes them without a prototype)
const fileRef: fc.Arbitrary<FileRef> = fc.record({ path: hostile, hash: hex }).map((r) => ({ ...r }))
const num = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER))

type Start = Extract<ManifestEvent, { _tag: "BlobStart" }>

const blob: fc.Arbitrary<Array<ManifestEvent>> = fc
  .record(
    {
      blobPath: hostile,
      filePath: hostile,
      clientData: hostile,
      snapshot: hostile,
      length: num,
      importDisposition: hostile,
      list: fc.constantFrom("block" as const, "page" as const, "none" as const),
    },
    { requiredKeys: ["blobPath", "filePath", "length", "list"] },
  )
  .chain((start) =>
    fc
      .tuple(
        start.list === "block"
          ? fc.array(fc.record({ offset: num, length: num, id: hostile, hash: hex }, { requiredKeys: ["offset", "length", "hash"] }), { maxLength: 5 })
          : start.list === "page"
            ? fc.array(fc.record({ offset: num, length: num, hash: hex }), { maxLength: 5 })
            : fc.constant([]),
        fc.record({ metadataPath: fileRef, propertiesPath: fileRef }, { requiredKeys: [] }),
      )
      .map(([ranges, end]) => [
        { _tag: "BlobStart", ...start } as Start,
        ...ranges.map((r) => ({ _tag: start.list === "block" ? "Block" : "PageRange", ...r }) as ManifestEvent),
        { _tag: "BlobEnd", ...end } as ManifestEvent,
      ]),
  )

const manifest: fc.Arbitrary<Array<ManifestEvent>> = fc
  .tuple(
    hostile,
    fc.array(fc.record({ name: fc.constantFrom("DriveId" as const, "StorageAccountKey" as const, "ContainerSas" as const, "ClientCreator" as const), value: hostile }), { maxLength: 5 }),
    fc.array(fc.tuple(fc.record({ id: hostile, metadataPath: fileRef, propertiesPath: fileRef }, { requiredKeys: [] }), fc.array(blob, { maxLength: 4 })), { maxLength: 3 }),
  )
  .map(([version, fields, lists]) => [
    { _tag: "ManifestStart", version } as ManifestEvent,
    ...fields.map((f) => ({ _tag: "DriveField", ...f }) as ManifestEvent),
    ...lists.flatMap(([start, blobs]) => [{ _tag: "BlobListStart", ...start } as ManifestEvent, ...blobs.flat(), { _tag: "BlobListEnd" } as ManifestEvent]),
    { _tag: "ManifestEnd" } as ManifestEvent,
  ])

const read = (text: string, cuts: ReadonlyArray<number>): Array<ManifestEvent> => {
  const bytes = new TextEncoder().encode(text)
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const p = new ManifestParser()
  const out: Array<ManifestEvent> = []
  let from = 0
  for (const c of [...at, bytes.length]) {
    out.push(...p.write(bytes.subarray(from, c)))
    from = c
  }
  out.push(...p.end())
  return out
}

test("writer → reader: the same events, however the bytes are cut", () => {
  fc.assert(
    fc.property(manifest, fc.array(fc.nat(), { maxLength: 8 }), (events, cuts) => {
      const text = serializeManifest(events)
      assert.deepEqual(read(text, cuts).map(withoutPositions), events)
    }),
    { numRuns: 2000 },
  )
})

test("the reader's positions point at the lines of their elements", () => {
  const tagOf: Partial<Record<ManifestEvent["_tag"], string>> = { ManifestStart: "<DriveManifest ", BlobListStart: "<BlobList", BlobStart: "<Blob>", Block: "<Block ", PageRange: "<PageRange ", BlobEnd: "</Blob>", BlobListEnd: "</BlobList>", ManifestEnd: "</DriveManifest>" }
  fc.assert(
    fc.property(manifest, (events) => {
      const text = serializeManifest(events)
      const lines = text.split("\n")
      for (const e of read(text, [])) {
        assert.ok(e.line !== undefined && e.line >= 1 && e.line <= lines.length)
        const want = e._tag === "DriveField" ? `<${e.name}>` : tagOf[e._tag]!
        assert.ok(lines[e.line - 1]!.includes(want), `${e._tag} at line ${e.line}: ${JSON.stringify(lines[e.line - 1])}`)
      }
    }),
    { numRuns: 1000 },
  )
})

test("the writer is deterministic; the file it writes hashes to what it returns", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-manifest-prop-"))
  try {
    let n = 0
    await fc.assert(
      fc.asyncProperty(manifest, fc.integer({ min: 1, max: 50 }), async (events, chunk) => {
        const target = path.join(dir, `m${n++ % 3}.xml`)
        const run = (s: Stream.Stream<ManifestEvent>) => Effect.runPromise(writeManifest(target, s).pipe(Effect.provide(NodeContext.layer)))
        const a = await run(Stream.fromIterable(events))
        const bytesA = readFileSync(target)
        const b = await run(Stream.fromIterable(events).pipe(Stream.rechunk(chunk)))
        const bytesB = readFileSync(target)
        assert.deepEqual(bytesA, bytesB)
        assert.deepEqual(a, b)
        assert.equal(bytesA.toString("utf8"), serializeManifest(events))
        assert.equal(a.hash, createHash("md5").update(bytesA).digest("hex").toUpperCase())
        assert.equal(a.bytes, bytesA.length)
      }),
      { numRuns: 150 },
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("readManifest (the Stream) gives what the push parser gives", async () => {
  await fc.assert(
    fc.asyncProperty(manifest, fc.integer({ min: 1, max: 200 }), async (events, size) => {
      const bytes = new TextEncoder().encode(serializeManifest(events))
      const chunks: Array<Uint8Array> = []
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
      const got = await Effect.runPromise(Stream.runCollect(readManifest("m.xml", Stream.fromIterable(chunks))))
      assert.deepEqual(Chunk.toArray(got).map(withoutPositions), events)
    }),
    { numRuns: 500 },
  )
})

// ---------------------------------------------------------------- the checker on plans

const H = "0CC175B9C0F1B6A831C399E269772661"
const key = Buffer.alloc(64, 1).toString("base64")
const MiB = 1024 * 1024

/** A valid block blob: a Length split into blocks of 1 byte to 4 MiB, ids all of one length (or none). */
const validBlockBlob = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 4 * MiB }), { maxLength: 30 }), fc.boolean(), fc.integer({ min: 1, max: 48 }))
  .map(([sizes, withIds, idBytes]) => {
    const length = sizes.reduce((a, b) => a + b, 0)
    const events: Array<ManifestEvent> = [{ _tag: "BlobStart", blobPath: "container-1/dir/file.bin", filePath: "\\dir\\file.bin", length, importDisposition: "rename", list: "block" }]
    let offset = 0
    sizes.forEach((n, i) => {
      const id = Buffer.alloc(idBytes, 0)
      id.writeUIntLE(i, 0, Math.min(idBytes, 6))
      events.push(withIds ? { _tag: "Block", offset, length: n, id: id.toString("base64"), hash: H } : { _tag: "Block", offset, length: n, hash: H })
      offset += n
    })
    events.push({ _tag: "BlobEnd" })
    return events
  })

/** A valid page blob: ranges 512-aligned, ≤ 4 MiB, ordered, with gaps, within the Length. */
const validPageBlob = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 8192 })), { maxLength: 20 }).map((ranges) => {
  const out: Array<ManifestEvent> = []
  let at = 0
  for (const [gap, pages] of ranges) {
    const offset = at + gap * 512
    out.push({ _tag: "PageRange", offset, length: pages * 512, hash: H })
    at = offset + pages * 512
  }
  return [{ _tag: "BlobStart", blobPath: "vhds/disk.vhd", filePath: "vhds/disk.vhd", length: at + 512 * 3, list: "page" } as ManifestEvent, ...out, { _tag: "BlobEnd" } as ManifestEvent]
})

/** A manifest of these blobs, each given a BlobPath of its own (two blobs of one path are a finding of the checker). */
const wrap = (blobs: ReadonlyArray<ReadonlyArray<ManifestEvent>>): Array<ManifestEvent> => [
  { _tag: "ManifestStart", version: "2014-11-01" },
  { _tag: "DriveField", name: "DriveId", value: "DRIVE1" },
  { _tag: "DriveField", name: "StorageAccountKey", value: key },
  { _tag: "BlobListStart", id: "s#1-0" },
  ...blobs.flatMap((b, i) => b.map((e) => (e._tag === "BlobStart" && i > 0 ? { ...e, blobPath: e.blobPath.replace("/", `/${i}/`) } : e))),
  { _tag: "BlobListEnd" },
  { _tag: "ManifestEnd" },
]

const check = (text: string) => Effect.runPromise(checkManifest("m.xml", Stream.make(new TextEncoder().encode(text))))

test("the checker accepts every manifest planned by the rules; stats add up", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(validBlockBlob, validPageBlob), { maxLength: 6 }), async (blobs) => {
      const events = wrap(blobs)
      const r = await check(serializeManifest(events))
      assert.deepEqual(r.issues, [])
      assert.equal(r.stats.blobs, blobs.length)
      assert.equal(r.stats.blocks, events.filter((e) => e._tag === "Block").length)
      assert.equal(r.stats.pageRanges, events.filter((e) => e._tag === "PageRange").length)
      assert.equal(
        r.stats.bytes,
        events.reduce((a, e) => a + (e._tag === "BlobStart" ? e.length : 0), 0),
      )
    }),
    { numRuns: 300 },
  )
})

test("moving one block's offset is reported on that block (and on the next, which no longer follows it), nowhere else", async () => {
  const planned = validBlockBlob.filter((b) => b.length >= 4) // at least two blocks
  await fc.assert(
    fc.asyncProperty(planned, fc.nat(), fc.integer({ min: 1, max: 1000 }), async (blob, pick, delta) => {
      const blocks = blob.filter((e) => e._tag === "Block")
      const k = pick % blocks.length
      let seen = -1
      const events = wrap([blob.map((e) => (e._tag === "Block" && ++seen === k ? { ...e, offset: e.offset + delta } : e))])
      const text = serializeManifest(events)
      const blockLines = text
        .split("\n")
        .map((l, i) => [l, i + 1] as const)
        .filter(([l]) => l.includes("<Block "))
        .map(([, n]) => n)
      const r = await check(text)
      assert.deepEqual(
        r.issues.filter((i) => i.field === "Block/@Offset").map((i) => i.line),
        blockLines.slice(k, k + 2),
      )
      assert.equal(r.ok, false)
    }),
    { numRuns: 300 },
  )
})
