import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Stream } from "effect"
import {
  type CsvEvent,
  type CsvRecord,
  CsvReader,
  CsvTable,
  csvEvents,
  csvEventsOfText,
  csvField,
  csvLine,
  isAbsent,
  readHeader,
  readTable,
  showCell,
  type TableHeader,
} from "./csv.ts"
import { IssueLog } from "./issues.ts"

const records = (events: ReadonlyArray<CsvEvent>): Array<CsvRecord> => events.flatMap((e) => (e._tag === "record" ? [e.record] : []))
const issues = (events: ReadonlyArray<CsvEvent>) => events.flatMap((e) => (e._tag === "issue" ? [e.issue] : []))
const fields = (text: string | Uint8Array) => records(csvEventsOfText(text)).map((r) => r.fields)
const lines = (text: string) => records(csvEventsOfText(text)).map((r) => r.line)

/** Feed bytes in pieces of `size` bytes. */
const inPieces = (text: string | Uint8Array, size: number): Array<CsvEvent> => {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text
  const reader = new CsvReader()
  const out: Array<CsvEvent> = []
  for (let i = 0; i < bytes.length; i += size) out.push(...reader.write(bytes.subarray(i, i + size)))
  out.push(...reader.end())
  return out
}

test("records with their fields and the line each starts on", () => {
  const events = csvEventsOfText("a,b,c\nd,e,f\n")
  assert.deepEqual(issues(events), [])
  assert.deepEqual(
    records(events).map((r) => [r.line, r.fields]),
    [
      [1, ["a", "b", "c"]],
      [2, ["d", "e", "f"]],
    ],
  )
})

test("a last line without a line end is a record", () => {
  assert.deepEqual(fields("a,b\nc,d"), [
    ["a", "b"],
    ["c", "d"],
  ])
})

test("each field's column is where its value starts", () => {
  const [r] = records(csvEventsOfText('ab,  "cd" ,,x'))
  assert.deepEqual(r!.fieldColumns, [1, 6, 12, 13])
  assert.deepEqual(r!.fieldLines, [1, 1, 1, 1])
})

test("a UTF-8 byte order mark is dropped", () => {
  assert.deepEqual(fields("\ufeffBasePath,X\n1,2\n"), [
    ["BasePath", "X"],
    ["1", "2"],
  ])
})

test("CRLF and LF line ends, even mixed, give the same records", () => {
  assert.deepEqual(fields("a,b\r\nc,d\ne,f\r\n"), [
    ["a", "b"],
    ["c", "d"],
    ["e", "f"],
  ])
  assert.deepEqual(lines("a,b\r\nc,d\ne,f\r\n"), [1, 2, 3])
})

test("a lone CR is an ordinary character inside a field", () => {
  assert.deepEqual(fields("a\rb,c\n"), [["a\rb", "c"]])
})

test("empty and blank lines are skipped but still counted", () => {
  const text = "\na,b\n\n   \n\t\r\nc,d\n\n"
  assert.deepEqual(fields(text), [
    ["a", "b"],
    ["c", "d"],
  ])
  assert.deepEqual(lines(text), [2, 6])
})

test("a line holding only a comma is a record of two empty fields", () => {
  assert.deepEqual(fields(",\n"), [["", ""]])
})

test('a quoted empty field alone ("") is a record, not a blank line', () => {
  assert.deepEqual(fields('""\n'), [[""]])
})

test("quoted fields keep spaces, commas and doubled quotes", () => {
  assert.deepEqual(fields('"F:\\My Files\\a, b.txt","say ""hi""","  padded  "\n'), [["F:\\My Files\\a, b.txt", 'say "hi"', "  padded  "]])
})

test("spaces around fields are trimmed outside quotes only", () => {
  assert.deepEqual(fields('  a b  ,  " c " , d\t\n'), [["a b", " c ", "d"]])
})

test("a quoted field may span lines; the record keeps its first line", () => {
  const text = 'x,"one\ntwo\r\nthree",y\nnext,row\n'
  const rs = records(csvEventsOfText(text))
  assert.deepEqual(
    rs.map((r) => [r.line, r.fields]),
    [
      [1, ["x", "one\ntwo\r\nthree", "y"]],
      [4, ["next", "row"]],
    ],
  )
  assert.deepEqual(rs[0]!.fieldLines, [1, 1, 3])
  assert.deepEqual(rs[0]!.fieldColumns, [1, 3, 8])
})

test("a quote inside an unquoted field is an issue with its line and column; reading goes on", () => {
  const events = csvEventsOfText('ok,1\nab"c,2\nalso,ok\n')
  assert.deepEqual(
    records(events).map((r) => r.fields),
    [
      ["ok", "1"],
      ["also", "ok"],
    ],
  )
  const [i] = issues(events)
  assert.equal(i!.line, 2)
  assert.equal(i!.column, 3)
  assert.equal(i!.expected, "no quote inside an unquoted field")
})

test("text after a closing quote is an issue; the next quoted field still parses", () => {
  const events = csvEventsOfText('"ab"c,"multi\nline"\nnext,ok\n')
  const [i] = issues(events)
  assert.equal(i!.line, 1)
  assert.equal(i!.column, 5)
  assert.match(i!.found, /^'c'/)
  assert.deepEqual(records(events).map((r) => [r.line, r.fields]), [[3, ["next", "ok"]]])
})

test("two quoted values in one field are an issue", () => {
  const events = csvEventsOfText('"a" "b",x\n')
  assert.equal(issues(events).length, 1)
  assert.equal(issues(events)[0]!.column, 5)
  assert.deepEqual(records(events), [])
})

test("one issue per broken record, even with several problems in it", () => {
  const events = csvEventsOfText('a"b,c"d,"e"f\n')
  assert.equal(issues(events).length, 1)
  assert.equal(issues(events)[0]!.column, 2)
})

test("a quote never closed is an issue at the opening quote", () => {
  const events = csvEventsOfText('a,b\nc,"open\nmore\nand more\n')
  assert.deepEqual(records(events).map((r) => r.fields), [["a", "b"]])
  const [i] = issues(events)
  assert.deepEqual([i!.line, i!.column], [2, 3])
  assert.match(i!.expected, /closing quote/)
  assert.match(i!.found, /end of the file/)
})

test("a record over the size cap is an issue of its own and is skipped", () => {
  const reader = new CsvReader({ maxRecordChars: 100 })
  const events = [...reader.write(new TextEncoder().encode(`a,b\n${"x".repeat(500)},"y\n${"z".repeat(200)}"\nc,d\n`)), ...reader.end()]
  assert.deepEqual(
    records(events).map((r) => [r.line, r.fields]),
    [
      [1, ["a", "b"]],
      [4, ["c", "d"]],
    ],
  )
  const [i] = issues(events)
  assert.equal(i!.line, 2)
  assert.equal(i!.expected, "a record of at most 100 characters")
  assert.equal(i!.found, "a record of 705 characters (skipped)")
})

test("a 64 MB line without a line end streams through as one issue", async () => {
  const piece = new TextEncoder().encode("x".repeat(1024 * 1024))
  const bytes = Stream.concat(Stream.make(new TextEncoder().encode("h1,h2\n")), Stream.make(...Array.from({ length: 64 }, () => piece)))
  const events = [...(await Effect.runPromise(Stream.runCollect(csvEvents(Stream.concat(bytes, Stream.make(new TextEncoder().encode("\nlast,row\n")))))))]
  assert.deepEqual(
    records(events).map((r) => r.fields),
    [
      ["h1", "h2"],
      ["last", "row"],
    ],
  )
  assert.deepEqual(
    issues(events).map((i) => [i.line, i.found]),
    [[2, `a record of ${64 * 1024 * 1024} characters (skipped)`]],
  )
})

test("bytes that are not UTF-8 give one issue where they are and reading stops", () => {
  const bytes = new Uint8Array([...new TextEncoder().encode("a,b\nca"), 0xe9, ...new TextEncoder().encode("t,d\ne,f\n")])
  const events = csvEventsOfText(bytes)
  assert.deepEqual(records(events).map((r) => r.fields), [["a", "b"]])
  const [i] = issues(events)
  assert.deepEqual([i!.line, i!.column], [2, 3])
  assert.match(i!.expected, /UTF-8/)
  assert.match(i!.found, /0xE9/)
  assert.equal(issues(events).length, 1)
})

test("an invalid byte is found at the same place whatever the chunk size", () => {
  const bytes = new Uint8Array([...new TextEncoder().encode("é,b\nca"), 0xc3, 0x28, ...new TextEncoder().encode(",d\n")])
  for (const size of [1, 2, 3, 5, 100]) {
    const events = inPieces(bytes, size)
    assert.deepEqual(records(events).map((r) => r.fields), [["é", "b"]], `size ${size}`)
    assert.deepEqual(issues(events).map((i) => [i.line, i.column]), [[2, 3]], `size ${size}`)
  }
})

test("UTF-16 text and zip files (xlsx) are refused with what they are", () => {
  const utf16 = csvEventsOfText(new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x2c, 0x00]))
  assert.deepEqual(records(utf16), [])
  assert.match(issues(utf16)[0]!.found, /UTF-16/)
  // without a BOM: a zero byte beside each ASCII character, on one side or the other
  assert.match(issues(csvEventsOfText(new Uint8Array(Buffer.from("a,b\n", "utf16le"))))[0]!.found, /UTF-16 text \(little-endian, without a byte order mark\)/)
  assert.match(issues(csvEventsOfText(new Uint8Array([0, 0x61, 0, 0x2c, 0, 0x62])))[0]!.found, /UTF-16 text \(big-endian, without a byte order mark\)/)
  const zip = csvEventsOfText(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]))
  assert.match(issues(zip)[0]!.found, /zip file/)
})

test("a UTF-8 sequence cut by the end of the file is an issue", () => {
  const events = csvEventsOfText(new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0x63, 0xe6, 0x97]))
  assert.deepEqual(records(events).map((r) => r.fields), [["a", "b"]])
  assert.match(issues(events)[0]!.found, /truncated UTF-8/)
})

test("files shorter than four bytes are read", () => {
  assert.deepEqual(fields("a"), [["a"]])
  assert.deepEqual(fields("a,b"), [["a", "b"]])
  assert.deepEqual(fields("é"), [["é"]])
  assert.deepEqual(csvEventsOfText(""), [])
})

test("chunk boundaries anywhere (inside CRLF, quotes, UTF-8 sequences) change nothing", () => {
  const text = '\ufeffh1,h2\r\n"日本, ""語""",😀 x \r\n\r\n"multi\r\nline",é\r\nlast,"q"'
  const whole = csvEventsOfText(text)
  for (const size of [1, 2, 3, 4, 7, 13]) assert.deepEqual(inPieces(text, size), whole, `size ${size}`)
  assert.deepEqual(
    records(whole).map((r) => [r.line, r.fields]),
    [
      [1, ["h1", "h2"]],
      [2, ['日本, "語"', "😀 x"]],
      [4, ["multi\r\nline", "é"]],
      [6, ["last", "q"]],
    ],
  )
})

test("csvEvents reads an Effect stream of chunks", async () => {
  const enc = new TextEncoder()
  const stream = Stream.make(enc.encode("a,"), enc.encode("b\nc"), enc.encode(",d\n"))
  const events = Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(csvEvents(stream))))
  assert.deepEqual(
    records(events).map((r) => r.fields),
    [
      ["a", "b"],
      ["c", "d"],
    ],
  )
})

test("the writer quotes what a reader would otherwise change", () => {
  assert.equal(csvField("plain"), "plain")
  assert.equal(csvField("a,b"), '"a,b"')
  assert.equal(csvField('say "x"'), '"say ""x"""')
  assert.equal(csvField("two\nlines"), '"two\nlines"')
  assert.equal(csvField(" padded"), '" padded"')
  assert.equal(csvField(""), "")
  assert.equal(csvLine(["a", "b c", ""]), 'a,b c,\r\n')
  assert.equal(csvLine([""]), '""\r\n')
  assert.deepEqual(fields(csvLine(["", "x"]) + csvLine([""]) + csvLine([" a ", "\"", "c,d"])), [["", "x"], [""], [" a ", '"', "c,d"]])
})

test("None in any case and empty cells are absent", () => {
  assert.ok(isAbsent(""))
  assert.ok(isAbsent("None"))
  assert.ok(isAbsent("NONE"))
  assert.ok(isAbsent(undefined))
  assert.ok(!isAbsent("Nonesuch"))
})

test("showCell keeps backslashes, doubles quotes, escapes control characters and cuts long values", () => {
  assert.equal(showCell("F:\\dir\\"), '"F:\\dir\\"')
  assert.equal(showCell('a"b'), '"a""b"')
  assert.equal(showCell("a\u0001b"), '"a\\u0001b"')
  assert.equal(showCell("x".repeat(200), 10), '"xxxxxxxxxx"… (200 characters)')
})

test("readHeader: names case-insensitive, any order; unknown, duplicate and empty names are issues", () => {
  const known = { a: "Alpha", b: "Beta", c: "Gamma" } as const
  const header = (text: string) => {
    const log = new IssueLog("h.csv")
    const [r] = records(csvEventsOfText(text))
    return { ...readHeader(r!, known, log, "Alpha, Beta, Gamma"), issues: log.issues }
  }
  const good = header("beta,ALPHA,,\n")
  assert.deepEqual(good.index, { b: 0, a: 1 })
  assert.equal(good.width, 2)
  assert.deepEqual(good.issues, [])
  const bad = header("Alpha,Delta,,alpha\n")
  assert.deepEqual(
    bad.issues.map((i) => [i.column, i.found]),
    [
      [7, '"Delta"'],
      [13, "an empty name"],
      [14, '"alpha" again (first as column 1)'],
    ],
  )
})

/** A two-column table for CsvTable's own contract: rows of two numbers. */
class Pairs extends CsvTable<"x" | "y", TableHeader<"x" | "y">, [number, number]> {
  protected readonly onlyHeader = { expected: "a pair below the header", found: "only the header" }
  constructor() {
    super("p.csv", { x: "X", y: "Y" }, "X,Y", 10)
  }
  protected readColumns(record: CsvRecord): TableHeader<"x" | "y"> {
    return { ...readHeader(record, { x: "X", y: "Y" }, this.log, "X, Y"), ok: true }
  }
  protected checkRow(record: CsvRecord, header: TableHeader<"x" | "y">): [number, number] | undefined {
    const x = Number(record.fields[header.index.x!])
    const y = Number(record.fields[header.index.y!])
    return Number.isNaN(x + y) ? undefined : [x, y]
  }
  report() {
    return this.log.issues.map((i) => [i.line, i.field, i.found])
  }
}

test("readTable and CsvTable: the header, then rows; CSV problems named by column; no header, no rows", async () => {
  const run = async (text: string) => {
    const reading = readTable(Stream.make(new TextEncoder().encode(text)), undefined, () => new Pairs())
    const rows = Chunk.toArray(await Effect.runPromise(Stream.runCollect(reading.rows)))
    return { rows, issues: reading.report() }
  }
  assert.deepEqual(await run("y,x\n1,2\n3,4\n"), { rows: [[2, 1], [4, 3]], issues: [] })
  const quote = await run('X,Y\n1,a"b\n5,6\n')
  assert.deepEqual(quote.rows, [[5, 6]])
  assert.deepEqual(quote.issues.map(([line, field]) => [line, field]), [[2, "Y"]], "a CSV problem in a row is named by its column")
  assert.deepEqual((await run("a,b\n1,2\n")).issues, [[1, "header", '"a,b"']])
  assert.deepEqual((await run("X,Y\n")).issues, [[1, undefined, "only the header"]])
  assert.deepEqual((await run("")).issues, [[1, "header", "an empty file"]])
})
