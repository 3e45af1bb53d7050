import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect, Either, Stream } from "effect"
import { maxBlocksPerBlob } from "./blocks.ts"
import type { InvalidInput, Issue } from "./errors.ts"
import {
  blobStatuses,
  type CopyLogEvent,
  dispositionStatuses,
  driveStatuses,
  fileStatuses,
  importDispositions,
  rangeStatuses,
  readCopyLog,
} from "./copylog.ts"
import { maxIssues } from "./xml-issues.ts"
import { readText, sampleExport, sampleImport, sampleImportEvents } from "./copylog-samples.ts"

const events = (text: string): Array<CopyLogEvent> => {
  const r = readText(text)
  if (Either.isLeft(r)) assert.fail(r.left.message)
  return r.right
}

const issues = (text: string): ReadonlyArray<Issue> => {
  const r = readText(text)
  if (Either.isRight(r)) assert.fail("expected the log to be invalid")
  return r.left.issues
}

test("§1.5 import sample reads back exactly", () => {
  assert.deepEqual(events(sampleImport), sampleImportEvents)
})

test("§1.5 export sample reads back exactly (Version absent, LastModified before Length)", () => {
  assert.deepEqual(events(sampleExport), [
    { _tag: "LogStart" },
    { _tag: "DriveId", value: "9WM35C2V" },
    { _tag: "BlobStart", status: "CompletedWithErrors", blobPath: "pictures/wild/desert.jpg", filePath: "\\pictures\\wild\\desert.jpg", length: 163840, lastModified: "2012-09-18T23:47:08Z", list: "block" },
    { _tag: "Block", offset: 65536, length: 65536, id: "AQAAAA==", status: "Failed" },
    { _tag: "BlobEnd" },
    { _tag: "DriveStatus", status: "CompletedWithErrors" },
    { _tag: "LogEnd" },
  ])
})

test("the same events whatever the chunk size (1, 7, 4096 bytes)", () => {
  for (const chunk of [1, 7, 4096]) {
    const r = readText(sampleImport, chunk)
    assert.ok(Either.isRight(r))
    assert.deepEqual(r.right, sampleImportEvents)
  }
})

const wrap = (blobs: string, status = "CompletedWithErrors"): string => `<?xml version="1.0" encoding="utf-8"?>
<DriveLog Version="2014-11-01">
  <DriveId>D1</DriveId>
${blobs}
  <Status>${status}</Status>
</DriveLog>
`

const blob = (inner: string, status = "Completed", length = 1024): string => `  <Blob Status="${status}">
    <BlobPath>c1/b</BlobPath>
    <FilePath>\\b</FilePath>
    <Length>${length}</Length>
${inner}
  </Blob>`

test("Hash quirks: a leading space and lower-case hex are normalised to upper case", () => {
  const ev = events(wrap(blob(`    <BlockList>
      <Block Offset="0" Length="512" Id="AAAAAA==" Hash=" 9c8ae14a55241f98533c4d80d85cdc68" Status="Completed"/>
    </BlockList>
    <Metadata Status="Completed">
      <GlobalPath Hash=" e34f54b7086bcf4ec1601d056f4c7e37">\\meta.xml</GlobalPath>
    </Metadata>`)))
  const block = ev.find((e) => e._tag === "Block")
  assert.deepEqual(block, { _tag: "Block", offset: 0, length: 512, id: "AAAAAA==", hash: "9C8AE14A55241F98533C4D80D85CDC68", status: "Completed" })
  const end = ev.find((e) => e._tag === "BlobEnd")
  assert.deepEqual(end, { _tag: "BlobEnd", metadata: { status: "Completed", globalPath: { path: "\\meta.xml", hash: "E34F54B7086BCF4EC1601D056F4C7E37" } } })
})

test("every drive status code is accepted; an unknown one names the element, the line and the allowed values", () => {
  for (const s of driveStatuses) assert.deepEqual(events(wrap("", s)).at(-2), { _tag: "DriveStatus", status: s })
  const [i] = issues(wrap("", "Done"))
  assert.equal(i!.field, "DriveLog/Status")
  assert.equal(i!.line, 5)
  assert.match(i!.expected, /one of Completed, CompletedWithWarnings, .*ManifestDriveIdMismatch.*InternalError$/)
  assert.equal(i!.found, '"Done"')
})

test("a status with the wrong letter case gets a hint", () => {
  const [i] = issues(wrap("", "completedWithErrors"))
  assert.equal(i!.found, '"completedWithErrors" (codes are case-sensitive: CompletedWithErrors)')
})

test("every blob status code is accepted; an unknown one is an issue at the Blob", () => {
  for (const s of blobStatuses) {
    const start = events(wrap(blob("", s))).find((e) => e._tag === "BlobStart")
    assert.equal(start && start._tag === "BlobStart" ? start.status : undefined, s)
  }
  const [i] = issues(wrap(blob("", "Succeeded")))
  assert.equal(i!.field, "Blob/@Status")
  assert.equal(i!.line, 4)
  assert.match(i!.expected, /^a blob status: one of Completed, CompletedWithErrors, .*LeasePresent, IOFailed, Failed$/)
})

test("every import disposition status and value is accepted; unknown ones are issues", () => {
  for (const status of dispositionStatuses) {
    for (const value of importDispositions) {
      const start = events(wrap(blob(`    <ImportDisposition Status="${status}">${value}</ImportDisposition>`))).find((e) => e._tag === "BlobStart")
      assert.ok(start && start._tag === "BlobStart")
      assert.deepEqual(start.importDisposition, { status, value })
    }
  }
  const found = issues(wrap(blob(`    <ImportDisposition Status="Replaced">replace</ImportDisposition>`)))
  assert.deepEqual(
    found.map((i) => i.field),
    ["ImportDisposition/@Status", "Blob/ImportDisposition"],
  )
  assert.match(found[1]!.expected, /one of rename, no-overwrite, overwrite$/)
})

test("every block and page range status is accepted; an unknown one is an issue at the range", () => {
  for (const s of rangeStatuses) {
    const ev = events(wrap(blob(`    <BlockList>\n      <Block Offset="0" Length="512" Status="${s}"/>\n    </BlockList>`)))
    assert.deepEqual(ev.find((e) => e._tag === "Block"), { _tag: "Block", offset: 0, length: 512, status: s })
    const ev2 = events(wrap(blob(`    <PageRangeList>\n      <PageRange Offset="512" Length="512" Status="${s}"/>\n    </PageRangeList>`)))
    assert.deepEqual(ev2.find((e) => e._tag === "PageRange"), { _tag: "PageRange", offset: 512, length: 512, status: s })
  }
  const [i] = issues(wrap(blob(`    <PageRangeList>\n      <PageRange Offset="0" Length="512" Status="Ok"/>\n    </PageRangeList>`)))
  assert.equal(i!.field, "PageRange/@Status")
  assert.equal(i!.line, 9)
  assert.match(i!.expected, /^a page range status: one of Completed, Committed, Uncommitted, Corrupted, FileUnexpectedEnd, BlobUnexpectedEnd, BlobRequestFailed, IOFailed, Failed, Cancelled$/)
})

test("every metadata and properties status is accepted, with GlobalPath and Path; unknown ones are issues", () => {
  for (const s of fileStatuses) {
    const ev = events(
      wrap(
        blob(`    <Metadata Status="${s}">
      <GlobalPath Hash="E34F54B7086BCF4EC1601D056F4C7E37">\\all.meta</GlobalPath>
      <Path Hash="38D7AE80653F47F63C0222FEE90EC4E7">\\b.meta</Path>
    </Metadata>
    <Properties Status="${s}" />`),
      ),
    )
    assert.deepEqual(ev.find((e) => e._tag === "BlobEnd"), {
      _tag: "BlobEnd",
      metadata: { status: s, globalPath: { path: "\\all.meta", hash: "E34F54B7086BCF4EC1601D056F4C7E37" }, path: { path: "\\b.meta", hash: "38D7AE80653F47F63C0222FEE90EC4E7" } },
      properties: { status: s },
    })
  }
  const found = issues(wrap(blob(`    <Metadata Status="Done" />\n    <Properties Status="XmlFailed" />`)))
  assert.deepEqual(
    found.map((i) => [i.field, i.found]),
    [
      ["Metadata/@Status", '"Done"'],
      ["Properties/@Status", '"XmlFailed"'],
    ],
  )
  assert.match(found[0]!.expected, /^a Metadata status: one of Completed, FileNameInvalid, .*XmlReadFailed, XmlWriteFailed, .*Cancelled$/)
})

test("the FileNotFound cascade is representable: disposition and every block Cancelled, repeated block ids", () => {
  const ev = events(
    wrap(
      blob(
        `    <ImportDisposition Status="Cancelled">rename</ImportDisposition>
    <BlockList>
      <Block Offset="0" Length="512" Id="MD5/cAzn4h7VVSWXf696qp5Uaw==" Hash="700CE7E21ED55525977FAF7AAA9E546B" Status="Cancelled" />
      <Block Offset="512" Length="512" Id="MD5/cAzn4h7VVSWXf696qp5Uaw==" Hash="700CE7E21ED55525977FAF7AAA9E546B" Status="Cancelled" />
    </BlockList>`,
        "FileNotFound",
      ),
    ),
  )
  const start = ev.find((e) => e._tag === "BlobStart")
  assert.ok(start && start._tag === "BlobStart")
  assert.equal(start.status, "FileNotFound")
  assert.deepEqual(start.importDisposition, { status: "Cancelled", value: "rename" })
  const blocks = ev.filter((e) => e._tag === "Block")
  assert.equal(blocks.length, 2)
  assert.ok(blocks.every((b) => b._tag === "Block" && b.status === "Cancelled" && b.id === "MD5/cAzn4h7VVSWXf696qp5Uaw=="))
})

test("a drive-level failure has no blobs", () => {
  assert.deepEqual(events(wrap("", "ManifestDriveIdMismatch").replace("\n\n", "\n")), [
    { _tag: "LogStart", version: "2014-11-01" },
    { _tag: "DriveId", value: "D1" },
    { _tag: "DriveStatus", status: "ManifestDriveIdMismatch" },
    { _tag: "LogEnd" },
  ])
})

test("export fields: Snapshot and LastModified, an empty BlockList, an empty Properties", () => {
  const ev = events(
    wrap(`  <Blob Status="CompletedWithErrors">
    <BlobPath>pictures/wild/canyon.jpg</BlobPath>
    <FilePath>\\pictures\\wild\\canyon.jpg</FilePath>
    <Snapshot>2012-09-18T23:47:08.1234567Z</Snapshot>
    <Length>163840</Length>
    <LastModified>2012-09-18T23:47:08Z</LastModified>
    <BlockList />
    <Properties Status="Failed" />
  </Blob>`),
  )
  assert.deepEqual(ev.slice(2, 4), [
    {
      _tag: "BlobStart",
      status: "CompletedWithErrors",
      blobPath: "pictures/wild/canyon.jpg",
      filePath: "\\pictures\\wild\\canyon.jpg",
      snapshot: "2012-09-18T23:47:08.1234567Z",
      length: 163840,
      lastModified: "2012-09-18T23:47:08Z",
      list: "block",
    },
    { _tag: "BlobEnd", properties: { status: "Failed" } },
  ])
})

test("text is kept verbatim: escapes, CR, non-ASCII, blanks", () => {
  const ev = events(
    wrap(`  <Blob Status="Completed">
    <BlobPath>c1/a &amp; b &lt;c&gt; "d" 'e' é&#13;</BlobPath>
    <FilePath> \\a &amp; b </FilePath>
    <Length>0</Length>
  </Blob>`),
  )
  const start = ev.find((e) => e._tag === "BlobStart")
  assert.ok(start && start._tag === "BlobStart")
  assert.equal(start.blobPath, `c1/a & b <c> "d" 'e' é\r`)
  assert.equal(start.filePath, " \\a & b ")
})

test("structure problems are all collected, in file order", () => {
  const text = `<?xml version="1.0" encoding="utf-8"?>
<DriveLog Version="2014-11-01" Extra="1">
  <Blob Status="Completed">
    <BlobPath>c1/b</BlobPath>
    <FilePath>\\b</FilePath>
    <Colour>blue</Colour>
    <PageRangeList>
      <Block Offset="0" Length="512" Status="Completed"/>
      <PageRange Offset="x" Length="512" Status="Completed"/>
      <PageRange Offset="0" Length="512" Hash="123" Status="Completed">text</PageRange>
    </PageRangeList>
  </Blob>
  <Blob Status="Completed">
    <BlobPath>c1/c</BlobPath>
    <FilePath>\\c</FilePath>
    <Length>1000</Length>
    <BlockList>
      <Block Offset="512" Length="512" Id="not base64!" Status="Completed"/>
    </BlockList>
    <BlockList />
    <Length>5</Length>
  </Blob>
</DriveLog>
`
  assert.deepEqual(
    issues(text).map((i) => [i.line, i.field, i.expected]),
    [
      [2, "DriveLog/@Extra", "only the attributes Version on <DriveLog>"],
      [3, "DriveLog/DriveId", "<DriveId> as the first child of <DriveLog>"],
      [3, "Blob/Length", "a <Length> in every <Blob>"],
      [6, "Blob", "<BlobPath>, <FilePath>, <Snapshot>, <Length>, <LastModified>, <ImportDisposition>, <BlockList>, <PageRangeList>, <Metadata> or <Properties> in <Blob>"],
      [8, "PageRangeList", "only <PageRange> elements in <PageRangeList>"],
      [9, "PageRange/@Offset", "a non-negative whole number of bytes"],
      [10, "PageRange/@Hash", "a Base16 MD5 hash (32 hex digits)"],
      [10, "PageRange", "no text in <PageRange>"],
      [18, "Block", "a range inside the blob's Length (1000)"],
      [18, "Block/@Id", "a Base64 string of 1 to 64 bytes"],
      [20, "Blob", "at most one <BlockList> or <PageRangeList>, before <Metadata> and <Properties>"],
      [21, "Blob", "<Length> before the range list, <Metadata> and <Properties> of the blob"],
      [23, "DriveLog/Status", "a <Status> as the last child of <DriveLog>"],
    ],
  )
})

test("Status is the last child; a second DriveId and anything after Status are issues", () => {
  const text = wrap(blob("")).replace("  <Status>CompletedWithErrors</Status>\n", "  <Status>CompletedWithErrors</Status>\n  <DriveId>D2</DriveId>\n" + blob("") + "\n")
  assert.deepEqual(
    issues(text).map((i) => [i.line, i.expected]),
    [
      [11, "nothing after <Status> (it is the last child of <DriveLog>)"],
      [12, "nothing after <Status> (it is the last child of <DriveLog>)"],
    ],
  )
})

test("a 2018-10-01 (Data Box) log is named as such", () => {
  const [i] = issues(wrap("").replace('Version="2014-11-01"', 'Version="2018-10-01"'))
  assert.equal(i!.field, "DriveLog/@Version")
  assert.equal(i!.found, '"2018-10-01" (the Data Box log format, which waie does not read)')
})

test("bad numbers, dates and an empty BlobPath are issues", () => {
  const text = wrap(`  <Blob Status="Completed">
    <BlobPath></BlobPath>
    <FilePath>\\b</FilePath>
    <Length>-1</Length>
    <LastModified>yesterday</LastModified>
  </Blob>`)
  assert.deepEqual(
    issues(text).map((i) => [i.field, i.found]),
    [
      ["Blob/BlobPath", "an empty element"],
      ["Blob/Length", '"-1"'],
      ["Blob/LastModified", '"yesterday"'],
    ],
  )
})

test("a BlockList of more than 50,000 blocks is an issue", () => {
  const n = maxBlocksPerBlob + 1
  const blocks = Array.from({ length: n }, (_, i) => `<Block Offset="${i}" Length="1" Status="Completed"/>`).join("\n")
  const found = issues(wrap(blob(`<BlockList>\n${blocks}\n</BlockList>`, "Completed", n)))
  assert.equal(found.length, 1)
  assert.equal(found[0]!.expected, "at most 50000 blocks per blob")
  assert.equal(found[0]!.line, 9 + maxBlocksPerBlob)
})

test("a DOCTYPE is refused before any entity is expanded", () => {
  const text = `<?xml version="1.0"?>\n<!DOCTYPE DriveLog [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<DriveLog><DriveId>&b;</DriveId><Status>Completed</Status></DriveLog>`
  const found = issues(text)
  assert.equal(found.length, 1)
  assert.match(found[0]!.expected, /no DOCTYPE/)
  assert.equal(found[0]!.line, 2)
})

test("truncated XML is one issue, after the issues found before it", () => {
  const text = wrap(blob("", "Nope")).slice(0, 200)
  const found = issues(text)
  assert.deepEqual(
    found.map((i) => i.field ?? "syntax"),
    ["Blob/@Status", "syntax"],
  )
  assert.equal(found[1]!.expected, "well-formed XML")
  assert.doesNotMatch(found[1]!.found, /^\d+:\d+:/)
})

test("bytes that are not UTF-8 on a later line: one issue at their place, after the issues found before them, however the log is chunked", () => {
  const bytes = Buffer.from(wrap(blob("", "Nope") + "\n" + blob("").replace("c1/b", "c1/\u00e9")), "utf8")
  const bad = Buffer.from(bytes) // é (C3 A9) becomes C3 28: not UTF-8
  bad[bytes.indexOf(0xa9)] = 0x28
  for (const chunk of [1, 5, 1 << 20]) {
    const parts: Array<Uint8Array> = []
    for (let i = 0; i < bad.length; i += chunk) parts.push(bad.subarray(i, i + chunk))
    const got = Effect.runSync(Stream.runCollect(readCopyLog("t.log", Stream.fromIterable(parts))).pipe(Effect.either))
    assert.ok(Either.isLeft(got))
    assert.deepEqual(
      got.left.issues.map((i) => [i.line, i.field ?? "syntax", i.found]),
      [
        [4, "Blob/@Status", '"Nope"'],
        [11, "syntax", "bytes that are not UTF-8"],
      ],
      `chunks of ${chunk}`,
    )
    assert.equal(got.left.issues[1]!.column, 18)
  }
})

test("a wrong root element stops the reader", () => {
  const found = issues(`<DriveManifest Version="2014-11-01"><Drive/></DriveManifest>`)
  assert.deepEqual(found, [{ file: "t.log", line: 1, column: 36, field: "root element", expected: "<DriveLog> as the root element of a copy log", found: "<DriveManifest>" }])
})

test("issues are capped; the rest are counted", () => {
  const blobs = Array.from({ length: maxIssues + 5 }, () => blob("", "Bad")).join("\n")
  const r = readText(wrap(blobs))
  assert.ok(Either.isLeft(r))
  assert.equal(r.left.issues.length, maxIssues)
  assert.equal(r.left.omitted, 5)
})
