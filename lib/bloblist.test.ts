import assert from "node:assert/strict"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, Either, Stream } from "effect"
import type { InvalidInput } from "./errors.ts"
import {
  type BlobListEntry,
  type BlobListItem,
  BlobListMatcher,
  BlobListWriteError,
  checkBlobPathPrefix,
  describeEntry,
  parseBlobListPath,
  readBlobList,
  selects,
  serializeBlobList,
  writeBlobListFile,
} from "./bloblist.ts"

const enc = new TextEncoder()
const read = (text: string): Either.Either<Array<BlobListItem>, InvalidInput> =>
  Either.map(Effect.runSync(Stream.runCollect(readBlobList("l.xml", Stream.make(enc.encode(text)))).pipe(Effect.either)), Chunk.toArray)
const items = (text: string) => {
  const r = read(text)
  if (Either.isLeft(r)) assert.fail(r.left.message)
  return r.right
}
const issues = (text: string) => {
  const r = read(text)
  if (Either.isRight(r)) assert.fail("expected an invalid list")
  return r.left.issues.map((i) => [i.line, i.field, i.severity ?? "error", i.found])
}

const sample = `<?xml version="1.0" encoding="utf-8"?>
<BlobList>
  <BlobPath>pictures/animals/koala.jpg</BlobPath>
  <BlobPathPrefix>/vhds/</BlobPathPrefix>
</BlobList>
`

test("the §4.2 sample: a BlobPath and a BlobPathPrefix", () => {
  assert.deepEqual(items(sample), [
    { entry: { kind: "path", path: "pictures/animals/koala.jpg" }, line: 3, column: 12 },
    { entry: { kind: "prefix", prefix: "/vhds/" }, line: 4, column: 18 },
  ])
})

test("a BlobPath with one leading slash (Data Box's sample) names the same blob", () => {
  assert.deepEqual(parseBlobListPath("/videos/story.mp4"), { path: "videos/story.mp4" })
  assert.deepEqual(parseBlobListPath("$root/logo.bmp"), { path: "$root/logo.bmp" })
  assert.equal("expected" in parseBlobListPath("//videos/story.mp4"), true, "only one slash is dropped")
})

test("every documented prefix form is accepted", () => {
  for (const p of ["/", "/$root/", "/$root/logo", "/book", "/music/", "/music/love", "/$ro", "/my-", "/b", "/music/a/b/"]) assert.equal(checkBlobPathPrefix(p), undefined, p)
})

test("bad prefixes: no leading slash, a bad complete container, a bad container start, / in $root", () => {
  const bad = ["vhds/", "/Music/", "/a--b/", "/ab/", "/-x", "/x_y", "/a--", "/$root/a/b", "/music/\u0001", `/${"a".repeat(64)}`, "/$rooty/"]
  for (const p of bad) assert.notEqual(checkBlobPathPrefix(p), undefined, p)
})

test("bad paths: no container, a bad container, / in $root, control characters, too long", () => {
  for (const p of ["koala.jpg", "Pictures/koala.jpg", "$root/a/b", "pictures/a\u0001", `pictures/${"a".repeat(1025)}`, "pictures/", "/"]) {
    assert.equal("expected" in parseBlobListPath(p), true, p)
  }
})

test("duplicates are warnings, with the line of the first; the list stays valid", () => {
  const got = items(`<BlobList>\n<BlobPath>ab1/b</BlobPath>\n<BlobPath>/ab1/b</BlobPath>\n<BlobPathPrefix>/ab1/</BlobPathPrefix>\n<BlobPathPrefix>/ab1/</BlobPathPrefix>\n<BlobPathPrefix>/ab1/b</BlobPathPrefix>\n</BlobList>`)
  assert.deepEqual(
    got.map((i) => [i.line, i.duplicateOf]),
    [
      [2, undefined],
      [3, 2],
      [4, undefined],
      [5, 4],
      [6, undefined],
    ],
  )
  // and listed among the issues when the file is invalid for another reason
  assert.deepEqual(issues(`<BlobList>\n<BlobPath>ab1/b</BlobPath>\n<BlobPath>ab1/b</BlobPath>\n<BlobPath>bad</BlobPath>\n</BlobList>`), [
    [3, "BlobPath", "warning", '"ab1/b" again (first on line 2)'],
    [4, "BlobPath", "error", `"bad" (no '/' after the container)`],
  ])
})

test("every entry problem of a file is collected", () => {
  assert.deepEqual(
    issues(`<?xml version="1.0" encoding="utf-8"?>
<BlobList kind="export">
  <blobpath>pictures/a.jpg</blobpath>
  <BlobPath>Pictures/a.jpg</BlobPath>
  <BlobPathPrefix>vhds/</BlobPathPrefix>
  <BlobPathPrefix>/$root/a/b</BlobPathPrefix>
  <BlobPath snapshot="2012-09-18T23:47:08Z">pictures/a.jpg</BlobPath>
  <BlobPath><b>x</b></BlobPath>
  stray text
</BlobList>`),
    [
      [2, "BlobList/@kind", "error", 'kind="export"'],
      [3, "BlobList", "error", "<blobpath>"],
      [4, "BlobPath", "error", '"Pictures" (upper-case letters)'],
      [5, "BlobPathPrefix", "error", '"vhds/"'],
      [6, "BlobPathPrefix", "error", '"/$root/a/b"'],
      [7, "BlobPath/@snapshot", "error", 'snapshot="2012-09-18T23:47:08Z"'],
      [8, "BlobPath", "error", `"" (no '/' after the container)`],
      [8, "BlobPath", "error", "a <b> element"],
      [10, "BlobList", "error", "text between them"],
    ],
  )
})

test("malformed XML or bytes that are not UTF-8: the issues before it are kept, with the syntax problem at its place", () => {
  // the whole file arrives as one chunk: the tokenizer still gives the entries before the problem
  const head = `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPath>Pictures/a.jpg</BlobPath>\n  <BlobPath>pictures/b.jpg</BlobPath>\n`
  assert.deepEqual(issues(head + "  <BlobPath>pictures/c.jpg</BlobPathPrefix>\n</BlobList>\n"), [
    [3, "BlobPath", "error", '"Pictures" (upper-case letters)'],
    [5, undefined, "error", "unexpected close tag."],
  ])
  const bytes = Buffer.concat([Buffer.from(head + "  <BlobPath>pictures/"), Buffer.from([0xe9]), Buffer.from(".jpg</BlobPath>\n</BlobList>\n")])
  const r = Effect.runSync(Stream.runCollect(readBlobList("l.xml", Stream.make(bytes))).pipe(Effect.either))
  assert.ok(Either.isLeft(r))
  assert.deepEqual(
    r.left.issues.map((i) => [i.line, i.column, i.found]),
    [
      [3, 12, '"Pictures" (upper-case letters)'],
      [5, 22, "bytes that are not UTF-8"],
    ],
  )
})

test("an empty file, an empty BlobList and a wrong root are invalid", () => {
  assert.deepEqual(issues(""), [[1, undefined, "error", "an empty file"]])
  assert.deepEqual(issues(`<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n</BlobList>\n`), [[3, "BlobList", "error", "an empty <BlobList>"]])
  assert.deepEqual(issues(`<BlobList/>`), [[1, "BlobList", "error", "an empty <BlobList>"]])
  assert.deepEqual(issues(`<Blobs><BlobPath>ab1/b</BlobPath></Blobs>`), [[1, "root element", "error", "<Blobs>"]])
})

test("selects: a path selects itself, a prefix selects b iff '/' + b starts with it", () => {
  const path: BlobListEntry = { kind: "path", path: "music/love.mp3" }
  assert.equal(selects(path, "music/love.mp3"), true)
  assert.equal(selects(path, "music/love.mp3.bak"), false)
  const cases: Array<[string, string, boolean]> = [
    ["/", "anything/at/all", true],
    ["/$root/", "$root/logo.bmp", true],
    ["/$root/", "root/logo.bmp", false],
    ["/book", "books/a", true],
    ["/book", "bookshelf/x", true],
    ["/book", "ebook/a", false],
    ["/music/", "music/a.mp3", true],
    ["/music/", "musical/a.mp3", false],
    ["/music/love", "music/lovesong.mp3", true],
    ["/music/love", "music/Love.mp3", false],
  ]
  for (const [prefix, blob, want] of cases) assert.equal(selects({ kind: "prefix", prefix }, blob), want, `${prefix} ${blob}`)
})

test("the matcher agrees with selects and lists the selecting entries, path first then prefixes by length", () => {
  const entries: Array<BlobListEntry> = [
    { kind: "prefix", prefix: "/music/love" },
    { kind: "path", path: "music/lovesong.mp3" },
    { kind: "prefix", prefix: "/mus" },
    { kind: "prefix", prefix: "/video/" },
  ]
  const m = new BlobListMatcher(entries)
  assert.deepEqual(m.matching("music/lovesong.mp3"), [entries[1], entries[2], entries[0]])
  assert.equal(m.selects("video/a.mp4"), true)
  assert.equal(m.selects("videos/a.mp4"), false)
  assert.deepEqual(m.matching("pictures/a.jpg"), [])
})

test("describeEntry says what an entry selects", () => {
  assert.equal(describeEntry({ kind: "path", path: "pictures/animals/koala.jpg" }), 'the blob "animals/koala.jpg" in container pictures')
  assert.equal(describeEntry({ kind: "prefix", prefix: "/" }), "every blob in the account")
  assert.equal(describeEntry({ kind: "prefix", prefix: "/$root/" }), "every blob in the root container")
  assert.equal(describeEntry({ kind: "prefix", prefix: "/book" }), 'every blob of every container whose name starts with "book"')
  assert.equal(describeEntry({ kind: "prefix", prefix: "/music/" }), "every blob in container music")
  assert.equal(describeEntry({ kind: "prefix", prefix: "/music/love" }), 'every blob in container music whose name starts with "love"')
})

test("writer: exact bytes, escaping, read back; refuses invalid entries and an empty list", () => {
  const entries: Array<BlobListEntry> = [
    { kind: "path", path: "pictures/animals/koala.jpg" },
    { kind: "prefix", prefix: "/vhds/" },
  ]
  assert.equal(serializeBlobList(entries), sample)
  const hostile: Array<BlobListEntry> = [{ kind: "path", path: "docs/a & <b> \"c\" ]]> é 😀 .txt " }, { kind: "prefix", prefix: "/docs/ & <" }]
  assert.deepEqual(
    items(serializeBlobList(hostile)).map((i) => i.entry),
    hostile,
  )
  assert.throws(() => serializeBlobList([]), BlobListWriteError)
  assert.throws(() => serializeBlobList([{ kind: "prefix", prefix: "vhds/" }]), BlobListWriteError)
  assert.throws(() => serializeBlobList([{ kind: "path", path: "/vhds/a" }]), BlobListWriteError, "the writer takes normalised paths")
})

test("writeBlobListFile: the file under its name, nothing left behind on failure", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-bloblist-"))
  try {
    const file = path.join(dir, "list.xml")
    const ok = await Effect.runPromise(writeBlobListFile(file, Stream.make<Array<BlobListEntry>>({ kind: "path", path: "pictures/animals/koala.jpg" }, { kind: "prefix", prefix: "/vhds/" })).pipe(Effect.either, Effect.provide(NodeContext.layer)))
    assert.ok(Either.isRight(ok))
    assert.equal(readFileSync(file, "utf8"), sample)
    const empty = await Effect.runPromiseExit(writeBlobListFile(path.join(dir, "empty.xml"), Stream.empty).pipe(Effect.provide(NodeContext.layer)))
    assert.equal(empty._tag, "Failure")
    assert.deepEqual(readdirSync(dir), ["list.xml"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a prefix may end in '.' or '..' (the start of a longer name) but may not hold them as whole segments", () => {
  assert.equal(checkBlobPathPrefix("/music/."), undefined)
  assert.equal(checkBlobPathPrefix("/music/a/.."), undefined)
  assert.match(checkBlobPathPrefix("/music/../x")?.expected ?? "", /without '\.' or '\.\.' segments/)
  assert.match(checkBlobPathPrefix("/music/a/./")?.expected ?? "", /without '\.' or '\.\.' segments/)
})
