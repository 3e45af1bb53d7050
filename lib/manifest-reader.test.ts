import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Either, Stream } from "effect"
import { InvalidInput } from "./errors.ts"
import { type ManifestEvent, withoutPositions } from "./manifest-model.ts"
import { ManifestParser, readManifest } from "./manifest-reader.ts"

const H = "0CC175B9C0F1B6A831C399E269772661"

const read = (text: string, chunk = 1 << 20): Promise<Either.Either<Array<ManifestEvent>, InvalidInput>> => {
  const bytes = new TextEncoder().encode(text)
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk))
  return Effect.runPromise(
    readManifest("m.xml", Stream.fromIterable(chunks)).pipe(
      Stream.runCollect,
      Effect.map((c) => Chunk.toArray(c)),
      Effect.either,
    ),
  )
}

const events = async (text: string): Promise<Array<ManifestEvent>> => {
  const r = await read(text)
  if (Either.isLeft(r)) assert.fail(`unexpected failure: ${r.left.message}`)
  return r.right
}

/** The read fails with exactly one issue; give it. */
const failure = async (text: string) => {
  const r = await read(text)
  assert.ok(Either.isLeft(r), "the read should fail")
  assert.equal(r.left.format, "manifest")
  assert.equal(r.left.issues.length, 1)
  return r.left.issues[0]!
}

const doc = (drive: string): string => `<?xml version="1.0" encoding="UTF-8"?>\n<DriveManifest Version="2014-11-01">\n  <Drive>\n${drive}\n  </Drive>\n</DriveManifest>\n`
const blob = (inner: string): string => doc(`    <DriveId>D1</DriveId>\n    <BlobList>\n      <Blob>\n${inner}\n      </Blob>\n    </BlobList>`)
// line numbers inside blob(): the first inner line is line 7

test("events of a manifest, in order, with positions", async () => {
  const text = doc(
    [
      `    <DriveId>D1</DriveId>`, // 4
      `    <ContainerSas>?sv=1&amp;sig=2</ContainerSas>`, // 5
      `    <BlobList Id="s#1-0">`, // 6
      `      <PropertiesPath Hash="${H}">\\p.xml</PropertiesPath>`, // 7
      `      <Blob>`, // 8
      `        <BlobPath>c00/a</BlobPath>`,
      `        <FilePath>a</FilePath>`,
      `        <Length>1024</Length>`, // 11
      `        <PageRangeList>`, // 12
      `          <PageRange Offset="512" Length="512" Hash="${H}" />`, // 13
      `        </PageRangeList>`,
      `        <MetadataPath Hash="${H}">\\m.xml</MetadataPath>`,
      `      </Blob>`, // 16
      `    </BlobList>`,
    ].join("\n"),
  )
  const ev = await events(text)
  assert.deepEqual(ev.map(withoutPositions), [
    { _tag: "ManifestStart", version: "2014-11-01" },
    { _tag: "DriveField", name: "DriveId", value: "D1" },
    { _tag: "DriveField", name: "ContainerSas", value: "?sv=1&sig=2" },
    { _tag: "BlobListStart", id: "s#1-0", propertiesPath: { path: "\\p.xml", hash: H } },
    { _tag: "BlobStart", blobPath: "c00/a", filePath: "a", length: 1024, list: "page" },
    { _tag: "PageRange", offset: 512, length: 512, hash: H },
    { _tag: "BlobEnd", metadataPath: { path: "\\m.xml", hash: H } },
    { _tag: "BlobListEnd" },
    { _tag: "ManifestEnd" },
  ])
  assert.deepEqual(
    ev.map((e) => e.line),
    [2, 4, 5, 6, 8, 13, 16, 17, 19],
  )
  const start = ev[4] as Extract<ManifestEvent, { _tag: "BlobStart" }>
  assert.equal(start.at?.Length?.line, 11)
  assert.equal(start.at?.List?.line, 12)
  assert.equal((ev[3] as Extract<ManifestEvent, { _tag: "BlobListStart" }>).propertiesPath?.line, 7)
})

test("chunking does not change the events", async () => {
  const text = blob(`        <BlobPath>c00/é</BlobPath>\n        <FilePath>é</FilePath>\n        <Length>2</Length>\n        <BlockList><Block Offset="0" Length="2" Id="AAAAAA==" Hash="${H}"/></BlockList>`)
  const whole = await read(text)
  for (const size of [1, 2, 5, 17]) assert.deepEqual(await read(text, size), whole)
})

test("tolerated: hash case and spaces, numbers with spaces, comments, xmlns, CDATA, any Version", async () => {
  const text = `<?xml version="1.0" encoding="UTF-8"?>
<!-- made by hand -->
<DriveManifest Version="2011-MM-DD" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Drive>
    <DriveId>D1</DriveId>
    <BlobList>
      <!-- a blob -->
      <Blob>
        <BlobPath><![CDATA[c00/a&b]]></BlobPath>
        <FilePath>a</FilePath>
        <Length> 3 </Length>
        <BlockList>
          <Block Offset=" 0" Length="3 " Hash="  ${H.toLowerCase()}  " />
        </BlockList>
      </Blob>
    </BlobList>
  </Drive>
</DriveManifest>`
  const ev = (await events(text)).map(withoutPositions)
  assert.deepEqual(ev[0], { _tag: "ManifestStart", version: "2011-MM-DD" })
  assert.deepEqual(ev[3], { _tag: "BlobStart", blobPath: "c00/a&b", filePath: "a", length: 3, list: "block" })
  assert.deepEqual(ev[4], { _tag: "Block", offset: 0, length: 3, hash: H })
})

test("strings are kept exactly; a hash that is not hex is kept as found (for the checker)", async () => {
  const text = blob(`        <BlobPath> c00/a </BlobPath>\n        <FilePath>\ta\n b</FilePath>\n        <ClientData></ClientData>\n        <Length>0</Length>\n        <MetadataPath Hash=" md5-hash ">m</MetadataPath>`)
  const ev = (await events(text)).map(withoutPositions)
  assert.deepEqual(ev[3], { _tag: "BlobStart", blobPath: " c00/a ", filePath: "\ta\n b", clientData: "", length: 0, list: "none" })
  assert.deepEqual(ev[4], { _tag: "BlobEnd", metadataPath: { path: "m", hash: "md5-hash" } })
})

test("an empty list is not the same as no list", async () => {
  const withList = (await events(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>0</Length>\n        <BlockList />`))).map(withoutPositions)
  assert.equal((withList[3] as { list: string }).list, "block")
  const empty = (await events(doc("    <DriveId>D1</DriveId>\n    <BlobList/>"))).map(withoutPositions)
  assert.deepEqual(empty.slice(2), [{ _tag: "BlobListStart" }, { _tag: "BlobListEnd" }, { _tag: "ManifestEnd" }])
})

test("structural: malformed XML names line and column", async () => {
  const i = await failure(`<?xml version="1.0"?>\n<DriveManifest Version="1">\n  <Drive>\n  </Drve>\n</DriveManifest>`)
  assert.equal(i.line, 4)
  assert.equal(i.expected, "well-formed XML")
  assert.doesNotMatch(i.found, /^\d+:\d+:/)
})

test("structural: DOCTYPE refused", async () => {
  const i = await failure(`<?xml version="1.0"?>\n<!DOCTYPE DriveManifest [<!ENTITY x "y">]>\n<DriveManifest Version="1"><Drive/></DriveManifest>`)
  assert.equal(i.line, 2)
  assert.match(i.expected, /DOCTYPE/)
})

test("structural: empty file, wrong root", async () => {
  assert.equal((await failure("")).found, "an empty file")
  const i = await failure(`<?xml version="1.0"?>\n<DriveLog Version="2014-11-01"></DriveLog>`)
  assert.equal(i.line, 2)
  assert.equal(i.field, "DriveManifest")
  assert.equal(i.found, "<DriveLog>")
})

test("structural: Version and Drive required, one Drive", async () => {
  assert.equal((await failure(`<DriveManifest><Drive/></DriveManifest>`)).field, "DriveManifest/@Version")
  assert.equal((await failure(`<DriveManifest Version="1">\n</DriveManifest>`)).line, 2)
  const two = await failure(`<DriveManifest Version="1">\n<Drive/>\n<Drive/>\n</DriveManifest>`)
  assert.equal(two.line, 3)
  assert.match(two.found, /second <Drive>/)
})

test("structural: unknown element, unknown attribute", async () => {
  const el = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <Colour>red</Colour>`))
  assert.equal(el.line, 8)
  assert.equal(el.field, "Blob")
  assert.match(el.found, /<Colour> \(not a manifest element\)/)
  const at = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>1</Length>\n        <BlockList>\n          <Block Offset="0" Length="1" Hash="${H}" Status="Completed" />\n        </BlockList>`))
  assert.equal(at.line, 11)
  assert.equal(at.field, "Block/@Status")
})

test("structural: element in the wrong place", async () => {
  const blockInDrive = await failure(doc(`    <DriveId>D1</DriveId>\n    <Block Offset="0" Length="1" Hash="${H}" />`))
  assert.equal(blockInDrive.line, 5)
  assert.equal(blockInDrive.field, "Drive")
  assert.match(blockInDrive.found, /does not belong here/)
  const dataAfterList = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>0</Length>\n        <BlockList/>\n        <ClientData>x</ClientData>`))
  assert.equal(dataAfterList.line, 11)
  assert.equal(dataAfterList.field, "Blob/ClientData")
  const twoLists = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>0</Length>\n        <PageRangeList/>\n        <BlockList/>`))
  assert.equal(twoLists.line, 11)
  assert.equal(twoLists.field, "Blob/BlockList")
  const pageInBlocks = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>512</Length>\n        <BlockList>\n          <PageRange Offset="0" Length="512" Hash="${H}" />\n        </BlockList>`))
  assert.equal(pageInBlocks.line, 11)
  assert.equal(pageInBlocks.field, "BlockList")
  const childOfLeaf = await failure(blob(`        <BlobPath>c00/<b>a</b></BlobPath>`))
  assert.equal(childOfLeaf.field, "BlobPath")
  const listMetaAfterBlob = await failure(doc(`    <DriveId>D1</DriveId>\n    <BlobList>\n      <Blob><BlobPath>c00/a</BlobPath><FilePath>a</FilePath><Length>0</Length></Blob>\n      <MetadataPath Hash="${H}">m</MetadataPath>\n    </BlobList>`))
  assert.equal(listMetaAfterBlob.line, 7)
  assert.equal(listMetaAfterBlob.field, "BlobList/MetadataPath")
  const text = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        stray words\n        <Length>0</Length>`))
  assert.equal(text.expected, "only elements inside <Blob>")
})

test("structural: stray text is reported on the element it stands in, whatever the chunking", async () => {
  const blocks = (between: string) =>
    blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>2</Length>\n        <BlockList>\n          <Block Offset="0" Length="1" Hash="${H}"/>${between}\n          <Block Offset="1" Length="1" Hash="${H}"/>\n        </BlockList>`)
  for (const chunk of [1, 7, 1 << 20]) {
    const inList = await read(blocks(" stray"), chunk)
    assert.ok(Either.isLeft(inList))
    assert.deepEqual(
      inList.left.issues.map((i) => [i.line, i.field, i.expected, i.found]),
      [[13, "BlockList", "only elements inside <BlockList>", "text"]], // at </BlockList>, where the list is known to hold text
      `chunks of ${chunk}`,
    )
  }
  const inBlock = await failure(blocks("").replace(`Hash="${H}"/>`, `Hash="${H}">x</Block>`))
  assert.deepEqual([inBlock.line, inBlock.field, inBlock.found], [11, "Block", "text"])
  const inDrive = await failure(doc(`    <DriveId>D1</DriveId>\n    words\n    <BlobList/>`))
  assert.deepEqual([inDrive.line, inDrive.field, inDrive.expected], [7, "Drive", "only elements inside <Drive>"])
  // white space and comments between elements are fine
  assert.ok(Either.isRight(await read(blocks(" <!-- a comment --> "))))
})

test("structural: a field given twice", async () => {
  const i = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <BlobPath>c00/b</BlobPath>`))
  assert.equal(i.line, 8)
  assert.equal(i.field, "Blob/BlobPath")
})

test("structural: missing BlobPath, FilePath, Length; missing Offset, Length, Hash attributes", async () => {
  const noLength = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <BlockList>`.replace("<BlockList>", "<BlockList/>")))
  assert.equal(noLength.field, "Blob/Length")
  assert.equal(noLength.line, 9)
  assert.equal(noLength.found, "none")
  const noFile = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <Length>0</Length>`))
  assert.equal(noFile.field, "Blob/FilePath")
  assert.equal(noFile.line, 9) // at </Blob>
  const noPath = await failure(blob(`        <FilePath>a</FilePath>\n        <Length>0</Length>`))
  assert.equal(noPath.field, "Blob/BlobPath")
  const list = (attrs: string) => blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>1</Length>\n        <BlockList>\n          <Block ${attrs} />\n        </BlockList>`)
  for (const [attrs, field] of [
    [`Length="1" Hash="${H}"`, "Block/@Offset"],
    [`Offset="0" Hash="${H}"`, "Block/@Length"],
    [`Offset="0" Length="1"`, "Block/@Hash"],
  ] as const) {
    const i = await failure(list(attrs))
    assert.equal(i.field, field)
    assert.equal(i.line, 11)
  }
  const noHash = await failure(doc(`    <BlobList>\n      <MetadataPath>m</MetadataPath>\n    </BlobList>`))
  assert.equal(noHash.field, "MetadataPath/@Hash")
  assert.equal(noHash.line, 5)
})

test("structural: Offset and Length are non-negative safe integers", async () => {
  const bad = ["-1", "1.5", "1e3", "0x10", "", "9007199254740992", "+1", "1 2"]
  for (const v of bad) {
    const i = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>1</Length>\n        <BlockList>\n          <Block Offset="${v}" Length="1" Hash="${H}" />\n        </BlockList>`))
    assert.equal(i.field, "Block/@Offset", v)
    assert.equal(i.expected, "a non-negative integer")
    const l = await failure(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>${v}</Length>`))
    assert.equal(l.field, "Blob/Length", v)
    assert.equal(l.line, 9)
  }
  const max = (await events(blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>9007199254740991</Length>`))).map(withoutPositions)
  assert.equal((max[3] as { length: number }).length, Number.MAX_SAFE_INTEGER)
})

test("events before a structural problem in the same chunk are still delivered", async () => {
  const p = new ManifestParser()
  const text = blob(`        <BlobPath>c00/a</BlobPath>\n        <FilePath>a</FilePath>\n        <Length>0</Length>\n      </Blob>\n      <Blob>\n        <Bogus/>`)
  const first = p.write(new TextEncoder().encode(text))
  assert.deepEqual(
    first.map((e) => e._tag),
    ["ManifestStart", "DriveField", "BlobListStart", "BlobStart", "BlobEnd"],
  )
  assert.throws(() => p.end(), /expected/)
  // and through the stream: the events come, then the failure
  const seen: Array<string> = []
  const r = await Effect.runPromise(
    readManifest("m.xml", Stream.make(new TextEncoder().encode(text))).pipe(
      Stream.runForEach((e) => Effect.sync(() => void seen.push(e._tag))),
      Effect.either,
    ),
  )
  assert.ok(Either.isLeft(r) && r.left instanceof InvalidInput)
  assert.equal(seen.length, 5)
})
