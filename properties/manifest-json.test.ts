/**
 * The manifest's JSON lines go both ways: manifest → `waie manifest json` → `waie manifest write`
 * gives the manifest's bytes back, on generated manifests with hostile strings in every field
 * (the generator is properties/manifest.test.ts's, restated here: a test file cannot import another
 * without running its tests), and the credential comes back only from what the caller gives.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Stream } from "effect"
import fc from "fast-check"
import { ManifestJsonLines, ManifestJsonReader, masked } from "../lib/manifest-json.ts"
import type { FileRef, ManifestEvent } from "../lib/manifest-model.ts"
import { ManifestParser } from "../lib/manifest-reader.ts"
import { serializeManifest } from "../lib/manifest-writer.ts"
import { hasCharsXmlCannotHold } from "../lib/xml.ts"
import { manifestEventsFromJsonLines } from "../scripts/manifest-write.ts"

const hostilePiece = fc.oneof(
  fc.constantFrom(" ", "  ", '"', "'", "&", "<", ">", "]]>", "\r", "\n", "\r\n", "\t", "é", "日本", "😀", "\u00A0", "\u2028", "\uFEFF", "<!--", "&amp;", "&#13;", "\\", "/", "..", "?", "#", "%20", "$root", "*******", '{"type":"drive"}'),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
)
const hostile = fc
  .array(hostilePiece, { maxLength: 6 })
  .map((parts) => parts.join(""))
  .filter((s) => !hasCharsXmlCannotHold(s))

const hex = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex").toUpperCase())
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

/** A manifest, and the one value of each credential kind it holds (a field may be given twice, as invalid manifests do). */
const manifest = fc
  .tuple(
    hostile,
    fc.array(fc.constantFrom("DriveId" as const, "StorageAccountKey" as const, "ContainerSas" as const, "ClientCreator" as const), { maxLength: 6 }),
    hostile,
    // secrets of their own shape, so that finding one in the JSON lines means it leaked
    fc.record({ StorageAccountKey: hex.map((h) => `KEY${h}==`), ContainerSas: hex.map((h) => `sv=1&sig=${h}`) }),
    fc.array(fc.tuple(fc.record({ id: hostile, metadataPath: fileRef, propertiesPath: fileRef }, { requiredKeys: [] }), fc.array(blob, { maxLength: 4 })), { maxLength: 3 }),
  )
  .map(([version, names, other, credentials, lists]) => ({
    credentials: { ...credentials },
    events: [
      { _tag: "ManifestStart", version } as ManifestEvent,
      ...names.map((name) => ({ _tag: "DriveField", name, value: name === "StorageAccountKey" || name === "ContainerSas" ? credentials[name] : other }) as ManifestEvent),
      ...lists.flatMap(([start, blobs]) => [{ _tag: "BlobListStart", ...start } as ManifestEvent, ...blobs.flat(), { _tag: "BlobListEnd" } as ManifestEvent]),
      { _tag: "ManifestEnd" } as ManifestEvent,
    ],
  }))

/** `waie manifest json`, in memory: the manifest's bytes read back and printed as lines. */
const jsonOf = (text: string): string => {
  const parser = new ManifestParser()
  const lines = new ManifestJsonLines()
  let out = ""
  for (const e of [...parser.write(new TextEncoder().encode(text)), ...parser.end()]) out += lines.event(e)
  return out
}

const writeBack = (json: string, credentials: { StorageAccountKey?: string; ContainerSas?: string }): string => {
  const reader = new ManifestJsonReader(credentials)
  const lines = json.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return serializeManifest([...lines.flatMap((l, i) => reader.line(l, i + 1)), ...reader.end(lines.length + 1)])
}

test("manifest → json → write gives the same bytes", () => {
  fc.assert(
    fc.property(manifest, ({ events, credentials }) => {
      const text = serializeManifest(events)
      const json = jsonOf(text)
      for (const value of Object.values(credentials)) assert.ok(!json.includes(value), "a credential in the JSON lines")
      assert.equal(writeBack(json, credentials), text)
    }),
    { numRuns: 1500 },
  )
})

test("the command's stream gives the same bytes however the lines are cut into chunks", async () => {
  await fc.assert(
    fc.asyncProperty(manifest, fc.integer({ min: 1, max: 300 }), async ({ events, credentials }, size) => {
      const text = serializeManifest(events)
      const bytes = new TextEncoder().encode(jsonOf(text))
      const chunks: Array<Uint8Array> = []
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
      const back = await Effect.runPromise(Stream.runCollect(manifestEventsFromJsonLines("in.jsonl", Stream.fromIterable(chunks), credentials)))
      assert.equal(serializeManifest(Chunk.toArray(back)), text)
    }),
    { numRuns: 300 },
  )
})

test("without the credential, a manifest that holds one is not written (the mask never reaches a manifest)", () => {
  fc.assert(
    fc.property(
      manifest.filter(({ events }) => events.some((e) => e._tag === "DriveField" && (e.name === "StorageAccountKey" || e.name === "ContainerSas"))),
      ({ events }) => {
        const json = jsonOf(serializeManifest(events))
        assert.throws(() => writeBack(json, {}), /to put in place of the mask/)
      },
    ),
    { numRuns: 300 },
  )
})
