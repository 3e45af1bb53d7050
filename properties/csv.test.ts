/**
 * Laws of the CSV reader (lib/csv.ts):
 *  1. what a spreadsheet writes, the reader reads back: any fields (spaces, quotes, commas,
 *     `&<>`, non-ASCII, line breaks) written with csvLine come back unchanged, whatever the
 *     chunking of the bytes, with each record's first physical line;
 *  2. a record without quotes is split by the fast path exactly as csv-parse splits it;
 *  3. a file with k independently broken records gives exactly k issues, each at the line of
 *     its problem (the broken field; the record's first line for the size cap), and every other
 *     record comes through intact.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import fc from "fast-check"
import { type CsvEvent, CsvReader, csvLine, parseWithCsvParse, splitPlain } from "../lib/csv.ts"

const hostileChar = fc.constantFrom(" ", '"', ",", "&", "<", ">", "é", "日", "😀", "\n", "\r", "\r\n", "\t", "\\", "\u00a0", "\u3000", "\ufeff", "a", "Z", "0", "/", ":", "'")
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: hostileChar, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", '""', "None", "F:\\My Files\\a, b.txt", "  lead", "trail  ") },
)
const row = fc.array(hostileString, { minLength: 1, maxLength: 6 })

/** Split bytes at the given fractions. */
const chunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const p of points) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  out.push(bytes.subarray(prev))
  return out
}

const readAll = (chunks: ReadonlyArray<Uint8Array>, maxRecordChars?: number): Array<CsvEvent> => {
  const reader = new CsvReader(maxRecordChars === undefined ? {} : { maxRecordChars })
  const events: Array<CsvEvent> = []
  for (const c of chunks) events.push(...reader.write(c))
  events.push(...reader.end())
  return events
}

/** The physical line each written record starts on, given the written texts in order. */
const startLines = (texts: ReadonlyArray<string>, firstLine = 1): Array<number> => {
  const lines: Array<number> = []
  let line = firstLine
  for (const t of texts) {
    lines.push(line)
    line += (t.match(/\n/g) ?? []).length
  }
  return lines
}

test("property: rows written as a spreadsheet writes them read back unchanged, in any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(row, { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
      (rows, bom, lf, cuts) => {
        const texts = rows.map((r) => {
          const line = csvLine(r)
          return lf ? line.slice(0, -2) + "\n" : line
        })
        const text = (bom ? "\ufeff" : "") + texts.join("")
        const events = readAll(chunked(new TextEncoder().encode(text), cuts))
        const issues = events.filter((e) => e._tag === "issue")
        assert.deepEqual(issues, [])
        const records = events.flatMap((e) => (e._tag === "record" ? [e.record] : []))
        assert.deepEqual(
          records.map((r) => r.fields),
          rows,
        )
        assert.deepEqual(
          records.map((r) => r.line),
          startLines(texts),
        )
      },
    ),
    { numRuns: 1500 },
  )
})

type Breakage = "quote-in-unquoted" | "text-after-quote" | "oversize"
const cap = 300

test("property: k independently broken records give exactly k issues, at their lines", () => {
  const goodField = fc.oneof(fc.string({ unit: hostileChar, maxLength: 10 }), fc.constantFrom("plain", "multi\nline", 'with "quotes"'))
  const goodRow = fc.array(goodField, { minLength: 1, maxLength: 4 })
  const entry = fc.record({
    fields: goodRow,
    broken: fc.option(fc.record({ how: fc.constantFrom<Breakage>("quote-in-unquoted", "text-after-quote", "oversize"), at: fc.nat() }), { freq: 3 }),
  })
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }), (entries, cuts) => {
      // each broken record: the line offset of its problem (the broken cell; the record start for the size cap)
      const offsets: Array<number> = []
      const texts = entries.map(({ fields, broken }) => {
        if (broken === null) return csvLine(fields)
        const i = broken.at % fields.length
        const cells = fields.map((f) => csvLine([f]).slice(0, -2))
        cells[i] = broken.how === "quote-in-unquoted" ? 'ab"cd' : broken.how === "text-after-quote" ? '"ab"cd' : "x".repeat(cap + 1)
        offsets.push(broken.how === "oversize" ? 0 : (cells.slice(0, i).join(",").match(/\n/g) ?? []).length)
        return cells.join(",") + "\r\n"
      })
      const lines = startLines(texts)
      const events = readAll(chunked(new TextEncoder().encode(texts.join("")), cuts), cap)
      const issueLines = events.flatMap((e) => (e._tag === "issue" ? [e.issue.line!] : []))
      const brokenStarts = entries.flatMap((e, i) => (e.broken === null ? [] : [lines[i]!]))
      const brokenLines = brokenStarts.map((l, k) => l + offsets[k]!)
      assert.deepEqual(issueLines, brokenLines)
      const records = events.flatMap((e) => (e._tag === "record" ? [e.record] : []))
      assert.deepEqual(
        records.map((r) => [r.line, r.fields]),
        entries.flatMap((e, i) => (e.broken === null ? [[lines[i]!, e.fields]] : [])),
      )
    }),
    { numRuns: 1000 },
  )
})

test("property: records without quotes split by the fast path exactly as csv-parse splits them", () => {
  const unquotedChar = fc.constantFrom(" ", ",", "&", "<", ">", "é", "日", "😀", "\r", "\t", "\\", "\u00a0", "\u2003", "\u3000", "\ufeff", "\u000b", "a", "Z", "0", "/", ":")
  const text = fc.oneof(fc.string({ unit: unquotedChar, minLength: 1, maxLength: 30 }), fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).map((t) => t.replace(/["\n]/g, "x")))
  fc.assert(
    fc.property(text, (t) => {
      assert.deepEqual(splitPlain(t), parseWithCsvParse(t))
    }),
    { numRuns: 3000 },
  )
})
