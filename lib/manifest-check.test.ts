import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { test } from "node:test"
import { Effect, Stream } from "effect"
import type { Issue } from "./errors.ts"
import { checkDrivePath, checkManifest, type CheckOptions, type ManifestReport, ManifestRules } from "./manifest-check.ts"
import type { Block } from "./manifest-model.ts"

const key = "dGhpcyBpcyBub3QgYSByZWFsIHN0b3JhZ2UgYWNjb3VudCBrZXk6IGFuIGV4YW1wbGUgZm9yIHdhaWUgb25seQ=="
const H = "0CC175B9C0F1B6A831C399E269772661"

/** A valid import manifest; tests replace or drop numbered lines (1-based) to break one rule. */
const base = [
  `<?xml version="1.0" encoding="UTF-8"?>`, // 1
  `<DriveManifest Version="2014-11-01">`, // 2
  `  <Drive>`, // 3
  `    <DriveId>9WM35C2V</DriveId>`, // 4
  `    <StorageAccountKey>${key}</StorageAccountKey>`, // 5
  `    <ClientCreator>waie</ClientCreator>`, // 6
  `    <BlobList Id="session#1-0">`, // 7
  `      <MetadataPath Hash="${H}">\\metadata.xml</MetadataPath>`, // 8
  `      <PropertiesPath Hash="${H}">\\properties.xml</PropertiesPath>`, // 9
  `      <Blob>`, // 10
  `        <BlobPath>pictures/koala.jpg</BlobPath>`, // 11
  `        <FilePath>\\pictures\\koala.jpg</FilePath>`, // 12
  `        <ClientData>holiday</ClientData>`, // 13
  `        <Length>163840</Length>`, // 14
  `        <ImportDisposition>overwrite</ImportDisposition>`, // 15
  `        <BlockList>`, // 16
  `          <Block Offset="0" Length="65536" Id="AAAAAA==" Hash="${H}" />`, // 17
  `          <Block Offset="65536" Length="65536" Id="AQAAAA==" Hash="${H}" />`, // 18
  `          <Block Offset="131072" Length="32768" Id="AgAAAA==" Hash="${H}" />`, // 19
  `        </BlockList>`, // 20
  `        <MetadataPath Hash="${H}">\\pictures\\koala.jpg.meta</MetadataPath>`, // 21
  `        <PropertiesPath Hash="${H}">\\pictures\\koala.jpg.props</PropertiesPath>`, // 22
  `      </Blob>`, // 23
  `      <Blob>`, // 24
  `        <BlobPath>vhds/disk0.vhd</BlobPath>`, // 25
  `        <FilePath>vhds/disk0.vhd</FilePath>`, // 26
  `        <Length>1048576</Length>`, // 27
  `        <PageRangeList>`, // 28
  `          <PageRange Offset="0" Length="4096" Hash="${H}" />`, // 29
  `          <PageRange Offset="65536" Length="512" Hash="${H}" />`, // 30
  `        </PageRangeList>`, // 31
  `      </Blob>`, // 32
  `      <Blob>`, // 33
  `        <BlobPath>pictures/empty.txt</BlobPath>`, // 34
  `        <FilePath>\\empty.txt</FilePath>`, // 35
  `        <Length>0</Length>`, // 36
  `      </Blob>`, // 37
  `    </BlobList>`, // 38
  `  </Drive>`, // 39
  `</DriveManifest>`, // 40
]

/** Replace lines (a string) or drop them (null). Line numbers of the other lines stay as in `base` when only replacing. */
const variant = (changes: Record<number, string | null>): string =>
  base
    .map((l, i) => (i + 1 in changes ? changes[i + 1] : l))
    .filter((l): l is string => l !== null)
    .join("\n") + "\n"

const check = (text: string, options?: CheckOptions, chunk = 7): Promise<ManifestReport> => {
  const bytes = new TextEncoder().encode(text)
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk))
  return Effect.runPromise(checkManifest("m.xml", Stream.fromIterable(chunks), options))
}

const errors = (r: ManifestReport): Array<Issue> => r.issues.filter((i) => i.severity !== "warning")
const warnings = (r: ManifestReport): Array<Issue> => r.issues.filter((i) => i.severity === "warning")

/** Exactly one error, on `line`, about `field`. */
const oneError = async (text: string, line: number, field: string, options?: CheckOptions): Promise<Issue> => {
  const r = await check(text, options)
  assert.equal(r.ok, false, "the variant should be invalid")
  const e = errors(r)
  assert.equal(e.length, 1, `one error expected, found: ${JSON.stringify(e, null, 1)}`)
  assert.equal(e[0]!.line, line)
  assert.equal(e[0]!.field, field)
  assert.equal(e[0]!.file, "m.xml")
  return e[0]!
}

/** The rules fed events directly (no file): a drive with a key, one block blob of `length` bytes with `blocks`; the report. */
const blockBlobReport = (length: number, blocks: Iterable<Omit<Block, "_tag">>, options?: CheckOptions): ManifestReport => {
  const rules = new ManifestRules("m.xml", options)
  rules.event({ _tag: "ManifestStart", version: "2014-11-01" })
  rules.event({ _tag: "DriveField", name: "DriveId", value: "D" })
  rules.event({ _tag: "DriveField", name: "StorageAccountKey", value: key })
  rules.event({ _tag: "BlobListStart" })
  rules.event({ _tag: "BlobStart", blobPath: "c00/b", filePath: "b", length, list: "block" })
  for (const b of blocks) rules.event({ _tag: "Block", ...b })
  rules.event({ _tag: "BlobEnd" })
  rules.event({ _tag: "BlobListEnd" })
  rules.event({ _tag: "ManifestEnd" })
  return rules.report(H, 0)
}

test("the base manifest is valid, with its figures and its hash", async () => {
  const text = variant({})
  const r = await check(text)
  assert.deepEqual(r.issues, [])
  assert.equal(r.ok, true)
  assert.equal(r.complete, true)
  assert.deepEqual(r.stats, { blobLists: 1, blobs: 3, blocks: 3, pageRanges: 2, bytes: 163840 + 1048576 })
  assert.equal(r.driveId, "9WM35C2V")
  assert.equal(r.version, "2014-11-01")
  assert.equal(r.credential, "StorageAccountKey")
  assert.equal(r.hash, createHash("md5").update(text).digest("hex").toUpperCase())
  assert.equal(r.fileBytes, Buffer.byteLength(text))
})

test("the report is the same whatever the chunking of the bytes", async () => {
  const text = variant({ 18: `          <Block Offset="65537" Length="65536" Id="AQAAAA==" Hash="x" />` })
  const whole = await check(text, {}, 1 << 20)
  for (const size of [1, 3, 64, 1000]) assert.deepEqual(await check(text, {}, size), whole)
})

test("an unknown Version is a warning, not an error", async () => {
  for (const v of ["2011-MM-DD", "2020-01-01"]) {
    const r = await check(variant({ 2: `<DriveManifest Version="${v}">` }))
    assert.equal(r.ok, true)
    assert.equal(warnings(r).length, 1)
    assert.equal(warnings(r)[0]!.line, 2)
    assert.equal(warnings(r)[0]!.field, "DriveManifest/@Version")
  }
  assert.deepEqual((await check(variant({ 2: `<DriveManifest Version="2011-10-01">` }))).issues, [])
})

test("DriveId: required", async () => {
  const i = await oneError(variant({ 4: null }), 6, "Drive/DriveId") // reported at the first BlobList (line 7 becomes 6)
  assert.match(i.expected, /DriveId/)
  assert.equal(i.found, "none")
})

test("DriveId: before any BlobList", async () => {
  const text = variant({ 4: null, 38: `    </BlobList>\n    <DriveId>9WM35C2V</DriveId>` })
  const i = await oneError(text, 38, "Drive/DriveId")
  assert.match(i.found, /after the BlobList of line 6/)
})

test("DriveId: not empty, not twice", async () => {
  await oneError(variant({ 4: "    <DriveId></DriveId>" }), 4, "Drive/DriveId")
  const i = await oneError(variant({ 6: "    <DriveId>OTHER</DriveId>" }), 6, "Drive/DriveId")
  assert.match(i.found, /second/)
})

test("credential: an import needs one", async () => {
  const i = await oneError(variant({ 5: null }), 6, "Drive")
  assert.equal(i.found, "neither")
})

test("credential: optional for the import executor (an export drive's manifest has none): a warning, the rest still checked", async () => {
  const r = await check(variant({ 5: null }), { credentialOptional: true })
  assert.equal(r.ok, true)
  assert.equal(r.credential, "none")
  assert.deepEqual(warnings(r).map((i) => [i.field, i.found]), [["Drive", "neither"]])
  const bad = await check(variant({ 5: null, 4: "    <DriveId></DriveId>" }), { credentialOptional: true })
  assert.equal(bad.ok, false)
})

test("credential: not both", async () => {
  const i = await oneError(variant({ 6: "    <ContainerSas>?sv=2016-05-31&amp;sig=abc</ContainerSas>" }), 6, "Drive/ContainerSas")
  assert.match(i.expected, /exactly one/)
})

test("credential: a ContainerSas alone is fine; an export needs none", async () => {
  const sas = await check(variant({ 5: "    <ContainerSas>?sv=2016-05-31&amp;sr=c&amp;sig=abc%3D</ContainerSas>", 15: null }))
  assert.deepEqual(sas.issues, [])
  assert.equal(sas.credential, "ContainerSas")
  const exp = await check(variant({ 5: null, 15: null }), { purpose: "export" })
  assert.deepEqual(exp.issues, [])
  assert.equal(exp.credential, "none")
  const withKey = await check(variant({ 15: null }), { purpose: "export" })
  assert.equal(withKey.ok, true)
  assert.equal(warnings(withKey)[0]!.line, 5)
})

test("credential: never shown in an issue", async () => {
  const secret = "not!base64!secret"
  const r = await check(variant({ 5: `    <StorageAccountKey>${secret}</StorageAccountKey>` }))
  assert.equal(errors(r)[0]!.line, 5)
  assert.ok(!JSON.stringify(r).includes(secret))
  const sas = await check(variant({ 5: `    <ContainerSas>sv=2016&amp;secretpart</ContainerSas>` }))
  assert.equal(errors(sas)[0]!.field, "Drive/ContainerSas")
  assert.ok(!JSON.stringify(sas).includes("secretpart"))
})

test("hashes: 32 hex digits on Block, PageRange, MetadataPath, PropertiesPath", async () => {
  await oneError(variant({ 18: `          <Block Offset="65536" Length="65536" Id="AQAAAA==" Hash="md5-hash" />` }), 18, "Block/@Hash")
  await oneError(variant({ 30: `          <PageRange Offset="65536" Length="512" Hash="${H}00" />` }), 30, "PageRange/@Hash")
  await oneError(variant({ 8: `      <MetadataPath Hash="">\\metadata.xml</MetadataPath>` }), 8, "BlobList/MetadataPath/@Hash")
  await oneError(variant({ 9: `      <PropertiesPath Hash="G${H.slice(1)}">\\p.xml</PropertiesPath>` }), 9, "BlobList/PropertiesPath/@Hash")
  await oneError(variant({ 21: `        <MetadataPath Hash="x">\\m</MetadataPath>` }), 21, "Blob/MetadataPath/@Hash")
  await oneError(variant({ 22: `        <PropertiesPath Hash="x">\\p</PropertiesPath>` }), 22, "Blob/PropertiesPath/@Hash")
})

test("hashes: either case and surrounding spaces are accepted", async () => {
  const r = await check(variant({ 17: `          <Block Offset="0" Length="65536" Id="AAAAAA==" Hash=" ${H.toLowerCase()} " />` }))
  assert.deepEqual(r.issues, [])
})

test("blocks: the first starts at 0", async () => {
  const i = await oneError(variant({ 17: `          <Block Offset="1" Length="65535" Id="AAAAAA==" Hash="${H}" />` }), 17, "Block/@Offset")
  assert.equal(i.found, "1")
  assert.match(i.expected, /^0 /)
})

test("blocks: contiguous (a gap)", async () => {
  const i = await oneError(variant({ 18: `          <Block Offset="65537" Length="65535" Id="AQAAAA==" Hash="${H}" />` }), 18, "Block/@Offset")
  assert.match(i.expected, /^65536 /)
  assert.equal(i.found, "65537 (a gap of 1 byte)")
})

test("blocks: ordered (out of order)", async () => {
  const text = variant({
    18: `          <Block Offset="131072" Length="32768" Id="AgAAAA==" Hash="${H}" />`,
    19: `          <Block Offset="65536" Length="65536" Id="AQAAAA==" Hash="${H}" />`,
  })
  const r = await check(text)
  assert.deepEqual(
    errors(r).map((i) => [i.line, i.field]),
    [
      [18, "Block/@Offset"],
      [19, "Block/@Offset"],
      [19, "BlockList"], // the last block ends at 131072, short of 163840 (reported at that block)
    ],
  )
})

test("blocks: covering the Length exactly", async () => {
  const short = await oneError(variant({ 19: null }), 18, "BlockList") // at the last block
  assert.match(short.found, /ends at 131072 \(32768 bytes short of the end\)/)
  const long = await oneError(variant({ 19: `          <Block Offset="131072" Length="32769" Id="AgAAAA==" Hash="${H}" />` }), 19, "Block")
  assert.match(long.found, /163841 \(1 byte past the end\)/)
  const none = await oneError(variant({ 17: null, 18: null, 19: null }), 16, "BlockList") // no block: at the list
  assert.equal(none.found, "no blocks")
})

test("blocks: at most 4 MiB, at least 1 byte", async () => {
  const big = variant({
    14: `        <Length>4194305</Length>`,
    17: `          <Block Offset="0" Length="4194305" Id="AAAAAA==" Hash="${H}" />`,
    18: null,
    19: null,
  })
  await oneError(big, 17, "Block/@Length")
  const empty = variant({ 17: `          <Block Offset="0" Length="0" Id="AAAAAA==" Hash="${H}" />`, 18: `          <Block Offset="0" Length="131072" Id="AQAAAA==" Hash="${H}" />` })
  await oneError(empty, 17, "Block/@Length")
})

test("blocks: at most 50,000 in a blob", () => {
  const r = blockBlobReport(50_001, Array.from({ length: 50_001 }, (_, i) => ({ offset: i, length: 1, hash: H, line: 100 + i })))
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.field, i.found]),
    [[100 + 50_000, "BlockList", "50001 blocks"]],
  )
  assert.equal(r.stats.blocks, 50_001)
})

test("block ids: Base64", async () => {
  const i = await oneError(variant({ 18: `          <Block Offset="65536" Length="65536" Id="AQAAAA=" Hash="${H}" />` }), 18, "Block/@Id")
  assert.match(i.expected, /Base64/)
})

test("block ids: at most 64 bytes decoded", async () => {
  const long = Buffer.alloc(65, 1).toString("base64")
  const r = await check(variant({ 17: `          <Block Offset="0" Length="65536" Id="${long}" Hash="${H}" />` }))
  assert.deepEqual(
    errors(r).map((i) => [i.line, i.field]),
    [[17, "Block/@Id"]],
  )
  assert.match(errors(r)[0]!.found, /^65 bytes/)
  // 64 bytes is fine (all ids of the blob then have 64 bytes)
  const ok64 = Buffer.alloc(64, 1).toString("base64")
  const ids = variant({
    17: `          <Block Offset="0" Length="65536" Id="${ok64}" Hash="${H}" />`,
    18: `          <Block Offset="65536" Length="65536" Id="${Buffer.alloc(64, 2).toString("base64")}" Hash="${H}" />`,
    19: `          <Block Offset="131072" Length="32768" Id="${Buffer.alloc(64, 3).toString("base64")}" Hash="${H}" />`,
  })
  assert.deepEqual((await check(ids)).issues, [])
})

test("block ids: one length within a blob", async () => {
  const i = await oneError(variant({ 19: `          <Block Offset="131072" Length="32768" Id="AgAAAAA=" Hash="${H}" />` }), 19, "Block/@Id")
  assert.match(i.expected, /4 bytes/)
  assert.match(i.found, /^5 bytes/)
})

test("block ids: all present or all absent up to 64 MiB", async () => {
  const i = await oneError(variant({ 18: `          <Block Offset="65536" Length="65536" Hash="${H}" />` }), 18, "Block/@Id")
  assert.match(i.found, /without an id/)
  const none = variant({
    17: `          <Block Offset="0" Length="65536" Hash="${H}" />`,
    18: `          <Block Offset="65536" Length="65536" Hash="${H}" />`,
    19: `          <Block Offset="131072" Length="32768" Hash="${H}" />`,
  })
  assert.deepEqual((await check(none)).issues, [])
  // reported once per blob, not on every later block
  const r = await check(variant({ 17: `          <Block Offset="0" Length="65536" Hash="${H}" />` }))
  assert.deepEqual(
    errors(r).map((x) => x.line),
    [18],
  )
})

test("block ids: above 64 MiB the doc asks nothing of a mix", () => {
  const length = 64 * 1024 * 1024 + 4
  const blocks: Array<Omit<Block, "_tag">> = []
  for (let i = 0, offset = 0; offset < length; i++) {
    const n = Math.min(4 * 1024 * 1024, length - offset)
    blocks.push(i % 2 ? { offset, length: n, id: "AAAAAA==", hash: H } : { offset, length: n, hash: H })
    offset += n
  }
  assert.deepEqual(blockBlobReport(length, blocks).issues, [])
})

test("page ranges: 512-aligned offset and length", async () => {
  await oneError(variant({ 30: `          <PageRange Offset="65537" Length="512" Hash="${H}" />` }), 30, "PageRange/@Offset")
  await oneError(variant({ 30: `          <PageRange Offset="65536" Length="500" Hash="${H}" />` }), 30, "PageRange/@Length")
  await oneError(variant({ 30: `          <PageRange Offset="65536" Length="0" Hash="${H}" />` }), 30, "PageRange/@Length")
})

test("page ranges: at most 4 MiB", async () => {
  const text = variant({ 27: "        <Length>8388608</Length>", 30: `          <PageRange Offset="65536" Length="4194816" Hash="${H}" />` })
  await oneError(text, 30, "PageRange/@Length")
})

test("page ranges: ordered, no overlap", async () => {
  const overlap = await oneError(variant({ 30: `          <PageRange Offset="3584" Length="512" Hash="${H}" />` }), 30, "PageRange/@Offset")
  assert.match(overlap.expected, /^at least 4096 /)
  const reversed = variant({
    29: `          <PageRange Offset="65536" Length="512" Hash="${H}" />`,
    30: `          <PageRange Offset="0" Length="4096" Hash="${H}" />`,
  })
  await oneError(reversed, 30, "PageRange/@Offset")
  // gaps are fine: uncovered pages are zeros
  assert.deepEqual((await check(variant({ 29: null }))).issues, [])
})

test("page ranges: within the Length", async () => {
  const i = await oneError(variant({ 30: `          <PageRange Offset="1048576" Length="512" Hash="${H}" />` }), 30, "PageRange")
  assert.match(i.found, /1049088/)
})

test("page blob: Length a multiple of 512, at most 8 TiB", async () => {
  const i = await oneError(variant({ 27: "        <Length>1048577</Length>" }), 27, "Blob/Length")
  assert.match(i.found, /1 byte past/)
  const tib8 = 8 * 1024 ** 4
  assert.deepEqual((await check(variant({ 27: `        <Length>${tib8}</Length>` }))).issues, [])
  await oneError(variant({ 27: `        <Length>${tib8 + 512}</Length>` }), 27, "Blob/Length")
})

test("block blob: Length at most 50,000 blocks of 4 MiB", async () => {
  const max = 50_000 * 4 * 1024 * 1024
  const r = await check(variant({ 14: `        <Length>${max + 1}</Length>` }))
  assert.deepEqual(
    errors(r).map((i) => [i.line, i.field]),
    [
      [14, "Blob/Length"],
      [19, "BlockList"],
    ],
  )
})

test("a blob with data has a list", async () => {
  const i = await oneError(variant({ 28: null, 29: null, 30: null, 31: null }), 24, "Blob")
  assert.match(i.expected, /1048576 bytes/)
  // Length 0 needs none (the base's third blob)
})

test("BlobPath: a valid container/blob", async () => {
  await oneError(variant({ 11: "        <BlobPath>Pictures/koala.jpg</BlobPath>" }), 11, "Blob/BlobPath")
  await oneError(variant({ 11: "        <BlobPath>koala.jpg</BlobPath>" }), 11, "Blob/BlobPath")
  await oneError(variant({ 11: "        <BlobPath>$root/a/b</BlobPath>" }), 11, "Blob/BlobPath")
  assert.deepEqual((await check(variant({ 11: "        <BlobPath>$root/koala.jpg</BlobPath>" }))).issues, [])
})

test("FilePath: relative to the drive (no drive letter, no '..', not a network path)", async () => {
  await oneError(variant({ 12: "        <FilePath>C:\\pictures\\koala.jpg</FilePath>" }), 12, "Blob/FilePath")
  await oneError(variant({ 12: "        <FilePath>\\pictures\\..\\..\\koala.jpg</FilePath>" }), 12, "Blob/FilePath")
  await oneError(variant({ 12: "        <FilePath>../koala.jpg</FilePath>" }), 12, "Blob/FilePath")
  await oneError(variant({ 12: "        <FilePath>\\\\server\\share\\koala.jpg</FilePath>" }), 12, "Blob/FilePath")
  await oneError(variant({ 12: "        <FilePath></FilePath>" }), 12, "Blob/FilePath")
  await oneError(variant({ 21: `        <MetadataPath Hash="${H}">D:\\m.xml</MetadataPath>` }), 21, "Blob/MetadataPath")
  assert.equal(checkDrivePath("\\a..b\\c"), undefined)
  assert.equal(checkDrivePath("a/b"), undefined)
})

test("ImportDisposition: rename, no-overwrite or overwrite; none in an export", async () => {
  for (const d of ["rename", "no-overwrite", "overwrite"]) assert.deepEqual((await check(variant({ 15: `        <ImportDisposition>${d}</ImportDisposition>` }))).issues, [])
  const i = await oneError(variant({ 15: "        <ImportDisposition>Overwrite</ImportDisposition>" }), 15, "Blob/ImportDisposition")
  assert.equal(i.found, '"Overwrite"')
  await oneError(variant({ 5: "    <!-- no credential -->" }), 15, "Blob/ImportDisposition", { purpose: "export" })
})

test("Snapshot in an import manifest is a warning", async () => {
  const r = await check(variant({ 13: "        <Snapshot>2011-03-09T01:42:34.9360000Z</Snapshot>" }))
  assert.equal(r.ok, true)
  assert.deepEqual(
    warnings(r).map((i) => [i.line, i.field]),
    [[13, "Blob/Snapshot"]],
  )
  assert.deepEqual((await check(variant({ 5: null, 13: "        <Snapshot>2011-03-09T01:42:34.9360000Z</Snapshot>", 15: null }), { purpose: "export" })).issues, [])
})

test("every violation is collected, in line order (checks made at the end included)", async () => {
  const text = variant({
    4: null,
    11: "        <BlobPath>Bad/x</BlobPath>",
    17: `          <Block Offset="0" Length="65536" Id="AAAAAA==" Hash="nope" />`,
    29: `          <PageRange Offset="1" Length="4096" Hash="${H}" />`,
  })
  const r = await check(text)
  assert.deepEqual(
    errors(r).map((i) => [i.line, i.field]),
    [
      [6, "Drive/DriveId"],
      [10, "Blob/BlobPath"],
      [16, "Block/@Hash"],
      [28, "PageRange/@Offset"],
    ],
  )
})

test("issues are capped; the rest counted", async () => {
  const r = blockBlobReport(20, Array.from({ length: 20 }, (_, i) => ({ offset: i, length: 1, id: "AAAAAA==", hash: "bad" })), { maxIssues: 5 })
  assert.equal(r.issues.length, 5)
  assert.equal(r.omitted, 15)
  assert.equal(r.errors, 20)
})

test("a structural problem becomes the last issue, and the rules found before it stay", async () => {
  const text = variant({ 9: `      <PropertiesPath Hash="x">\\p.xml</PropertiesPath>`, 27: "        <Length>1 MB</Length>" })
  const r = await check(text)
  assert.equal(r.complete, false)
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.field]),
    [
      [9, "BlobList/PropertiesPath/@Hash"],
      [27, "Blob/Length"],
    ],
  )
  assert.equal(r.stats.blobs, 1)
  // the hash still covers the whole file
  assert.equal(r.hash, createHash("md5").update(text).digest("hex").toUpperCase())
  // no "missing DriveId / credential" noise for the part not read
  const cut = await check(base.slice(0, 3).join("\n") + "\n<Oops/>")
  assert.deepEqual(
    cut.issues.map((i) => i.line),
    [4],
  )
})

test("BlobPath: two Blobs of the drive writing one blob: an error when one would replace or skip the other, a warning when both are renamed in", async () => {
  // koala.jpg (line 11) is overwrite: a rename blob of the same path makes the outcome depend on the order
  const i = await oneError(variant({ 34: "        <BlobPath>pictures/koala.jpg</BlobPath>" }), 34, "Blob/BlobPath")
  assert.equal(i.expected, "each blob written by one Blob of the drive")
  assert.match(i.found, /^"pictures\/koala\.jpg", also the BlobPath of line 11 \(with ImportDisposition overwrite there and rename here, /)
  // disk0.vhd (line 25) has no ImportDisposition: rename, as the empty file's; both land, one renamed
  const r = await check(variant({ 34: "        <BlobPath>vhds/disk0.vhd</BlobPath>" }))
  assert.equal(r.ok, true)
  assert.deepEqual(
    warnings(r).map((w) => [w.line, w.field, w.found]),
    [[34, "Blob/BlobPath", '"vhds/disk0.vhd", also the BlobPath of line 25 (with ImportDisposition rename, both are imported, one of them under a new name, whichever the service takes second)']],
  )
  // blob names are case-sensitive: another case is another blob
  assert.deepEqual((await check(variant({ 34: "        <BlobPath>pictures/Koala.jpg</BlobPath>" }))).issues, [])
})

/** The rules fed events directly: blob lists of blobs [path, disposition]. */
const blobsReport = (lists: ReadonlyArray<ReadonlyArray<readonly [string, string | undefined]>>, options?: CheckOptions): ManifestReport => {
  const rules = new ManifestRules("m.xml", options)
  let line = 1
  rules.event({ _tag: "ManifestStart", version: "2014-11-01" })
  rules.event({ _tag: "DriveField", name: "DriveId", value: "D" })
  if (options?.purpose !== "export") rules.event({ _tag: "DriveField", name: "StorageAccountKey", value: key })
  for (const list of lists) {
    rules.event({ _tag: "BlobListStart" })
    for (const [blobPath, d] of list) rules.event({ _tag: "BlobStart", blobPath, filePath: "f", length: 0, list: "none", line: ++line, ...(d !== undefined ? { importDisposition: d } : {}) }), rules.event({ _tag: "BlobEnd" })
    rules.event({ _tag: "BlobListEnd" })
  }
  rules.event({ _tag: "ManifestEnd" })
  return rules.report(H, 0)
}

test("BlobPath duplicates: across the blob lists of the drive, per disposition; a warning in an export manifest; bounded by a cap", () => {
  const across = blobsReport([[["c00/a", "no-overwrite"]], [["c00/b", undefined], ["c00/a", "no-overwrite"]]])
  assert.deepEqual(errors(across).map((e) => [e.line, e.found]), [[4, '"c00/a", also the BlobPath of line 2 (with ImportDisposition no-overwrite, one would be skipped)']])
  assert.match(errors(blobsReport([[["c00/a", "overwrite"], ["c00/a", "overwrite"]]]))[0]!.found, /one would replace the other\)$/)
  const exported = blobsReport([[["c00/a", undefined], ["c00/a", undefined]]], { purpose: "export" })
  assert.equal(exported.ok, true)
  assert.match(warnings(exported)[0]!.found, /the blob is written twice/)
  // a cap of 2: the third path is not remembered (a warning says so), later ones are still compared with the first two
  const capped = blobsReport([[["c00/a", "overwrite"], ["c00/b", "overwrite"], ["c00/c", "overwrite"], ["c00/a", "overwrite"], ["c00/c", "overwrite"]]], { duplicateLimit: 2 })
  assert.deepEqual(
    capped.issues.map((i) => [i.line, i.severity ?? "error", i.expected]),
    [
      [4, "warning", "at most 2 blobs remembered for the duplicate check"],
      [5, "error", "each blob written by one Blob of the drive"],
    ],
  )
})

test("BlobPath duplicates among 300,000 blobs: the one duplicate is found, with the line of the first", () => {
  const n = 300_000
  const list: Array<readonly [string, string | undefined]> = []
  for (let i = 0; i < n; i++) list.push([`c00/dir${i % 977}/file-${i}.bin`, "overwrite"])
  list.push(["c00/dir123/file-123.bin", "overwrite"])
  const r = blobsReport([list])
  assert.deepEqual(r.issues.map((i) => [i.line, i.found.slice(0, 60)]), [[n + 2, '"c00/dir123/file-123.bin", also the BlobPath of line 125 (wi']])
})
