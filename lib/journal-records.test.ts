import assert from "node:assert/strict"
import { test } from "node:test"
import { InvalidInput } from "./errors.ts"
import { formatRecord, JournalRecordParser, journalTime, type JournalEntry } from "./journal-records.ts"

const parseAll = (text: string, split = 7): Array<JournalEntry> => {
  const p = new JournalRecordParser("t.jrn")
  const bytes = Buffer.from(text, "utf8")
  const out: Array<JournalEntry> = []
  for (let i = 0; i < bytes.length; i += split) out.push(...p.write(bytes.subarray(i, i + split)))
  out.push(...p.end())
  return out
}

const sample = [
  "[BeginUpdateRecord][2016/11/02 18:24:14.735][Type:NewJournalFile]",
  "VocabularyVersion: 2013-02-01",
  "[EndUpdateRecord]",
  "[BeginUpdateRecord][2016/11/01 21:22:25.379][Type:ActivityRecord]",
  "ActivityId: DriveInfo",
  "DriveState: [BeginValue]",
  "<Drive>",
  "   <DriveId>drive-id</DriveId> </Drive>",
  "[EndValue]",
  "SaveCommandOutput: Completed",
  "[EndUpdateRecord]",
  "",
].join("\r\n")

test("reads the published samples, CRLF and multi-line values included", () => {
  const out = parseAll(sample)
  assert.equal(out.length, 2)
  const [a, b] = out
  assert.equal(a?._tag, "Record")
  assert.deepEqual(a?._tag === "Record" && a.fields, [["VocabularyVersion", "2013-02-01"]])
  assert.deepEqual(b?._tag === "Record" && b.fields, [
    ["ActivityId", "DriveInfo"],
    ["DriveState", "<Drive>\n   <DriveId>drive-id</DriveId> </Drive>"],
    ["SaveCommandOutput", "Completed"],
  ])
  assert.equal(b?._tag === "Record" && b.line, 4)
})

test("waie's records carry a checksum that the reader verifies", () => {
  const r = formatRecord("2026/01/02 03:04:05.006", "FileCopied", [["Path", "a b/c"], ["Xml", "<a>\n</a>"]])
  assert.match(r, /\nChecksum: [0-9A-F]{8}\n\[EndUpdateRecord\]\n$/)
  const out = parseAll(r)
  assert.equal(out.length, 1)
  assert.equal(out[0]?._tag === "Record" && out[0].checked, true)
})

test("a cut last record is a torn tail, the records before it stand", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "A", [["K", "1"]])
  const b = formatRecord("2026/01/02 03:04:05.007", "B", [["K", "2"]])
  for (let cut = 1; cut < b.length; cut++) {
    const out = parseAll(a + b.slice(0, cut))
    if (cut === b.length - 1) {
      // only the final newline is missing: the record is complete
      assert.deepEqual(out.map((e) => e._tag), ["Record", "Record"], `cut ${cut}`)
      continue
    }
    assert.deepEqual(out.map((e) => e._tag), ["Record", "TornTail"], `cut ${cut}`)
  }
})

test("a damaged record followed by an intact one is corruption, with its line", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "A", [["K", "1"]])
  const b = formatRecord("2026/01/02 03:04:05.007", "B", [["K", "2"]])
  const bad = a + b.replace("K: 2", "K: 3") + a
  assert.throws(() => parseAll(bad), (e: unknown) => e instanceof InvalidInput && e.issues[0]?.line === 5)
})

test("a last record with a bad checksum is a torn tail", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "A", [["K", "1"]])
  const out = parseAll(a + a.replace("K: 1", "K: 9"))
  assert.deepEqual(out.map((e) => e._tag), ["Record", "TornTail"])
})

test("values that would break the syntax are refused when writing", () => {
  assert.throws(() => formatRecord("2026/01/02 03:04:05.006", "A", [["K", "x\n[EndValue]\ny"]]), RangeError)
  assert.throws(() => formatRecord("2026/01/02 03:04:05.006", "A", [["Checksum", "x"]]), RangeError)
  assert.throws(() => formatRecord("2026/01/02 03:04:05.006", "A B", []), RangeError)
})

test("journal times are UTC with milliseconds", () => {
  assert.equal(journalTime(Date.UTC(2016, 10, 2, 18, 24, 14, 735)), "2016/11/02 18:24:14.735")
})

test("records and torn tails carry byte offsets, so a writer can cut a torn tail off exactly", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "A", [["K", "é"]])
  const b = formatRecord("2026/01/02 03:04:05.007", "B", [["K", "2"]])
  const bytesA = Buffer.byteLength(a)
  const out = parseAll("\uFEFF" + a + b + b.slice(0, 30))
  const [ra, rb, torn] = out
  assert.equal(ra?._tag === "Record" && ra.offset, 3)
  assert.equal(ra?._tag === "Record" && ra.end, 3 + bytesA)
  assert.equal(rb?._tag === "Record" && rb.offset, 3 + bytesA)
  assert.equal(torn?._tag === "TornTail" && torn.offset, 3 + bytesA + Buffer.byteLength(b))
  const bad = parseAll(a + b.replace("K: 2", "K: 3"))
  assert.equal(bad[1]?._tag === "TornTail" && bad[1].offset, bytesA)
})

test("a torn tail is only what a crash leaves: the start of a record, or zeros", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "NewJournalFile", [["K", "1"]])
  const tags = (text: string | Buffer) => {
    const p = new JournalRecordParser("t.jrn")
    return [...p.write(typeof text === "string" ? Buffer.from(text) : text), ...p.end()].map((e) => e._tag)
  }
  assert.deepEqual(tags(a + "[BeginUpd"), ["Record", "TornTail"])
  assert.deepEqual(tags(Buffer.concat([Buffer.from(a), Buffer.alloc(64)])), ["Record", "TornTail"])
  // zeros where the start of the record was, then the rest of it: a hole the file system left
  assert.deepEqual(tags(Buffer.concat([Buffer.from(a), Buffer.alloc(64), Buffer.from("K: 2\n[EndUpdateRecord]\n")])), ["Record", "TornTail"])
  // text no crash writes is corruption, even at the end
  assert.throws(() => tags(a + "hello\n"), (e: unknown) => e instanceof InvalidInput && e.issues[0]?.line === 5 && /text outside a record/.test(e.issues[0].found))
  assert.throws(() => tags("[EndUpdateRecord]\n" + a), (e: unknown) => e instanceof InvalidInput && e.issues[0]?.line === 1)
})

test("bytes that are not UTF-8 are corruption; a last line cut inside a character is a torn tail", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "NewJournalFile", [["K", "1"]])
  const b = formatRecord("2026/01/02 03:04:05.007", "B", [["K", "é"]])
  const parse = (bytes: Buffer) => {
    const p = new JournalRecordParser("t.jrn")
    return [...p.write(bytes), ...p.end()]
  }
  assert.throws(() => parse(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(a)])), (e: unknown) => e instanceof InvalidInput && /not UTF-8/.test(e.issues[0]!.found))
  const latin1 = Buffer.from(b.replace("é", "\u00e9"), "latin1")
  assert.throws(() => parse(Buffer.concat([Buffer.from(a), latin1, Buffer.from(formatRecord("2026/01/02 03:04:05.008", "C", []))])), (e: unknown) => e instanceof InvalidInput && /not UTF-8 \(line 6\)/.test(e.issues[0]!.found))
  const cut = Buffer.from(b).subarray(0, Buffer.from(b).indexOf(0xc3) + 1)
  const out = parse(Buffer.concat([Buffer.from(a), cut]))
  assert.deepEqual(out.map((e) => e._tag), ["Record", "TornTail"])
  assert.equal(out[1]?._tag === "TornTail" && out[1].offset, Buffer.byteLength(a))
})

test("a second NewJournalFile in a checksummed journal is corruption (journals pasted together, records moved)", () => {
  const a = formatRecord("2026/01/02 03:04:05.006", "NewJournalFile", [["K", "1"]])
  const b = formatRecord("2026/01/02 03:04:05.007", "B", [["K", "2"]])
  const p = new JournalRecordParser("t.jrn")
  assert.throws(() => [...p.write(Buffer.from(a + b + a + b)), ...p.end()], (e: unknown) => e instanceof InvalidInput && e.issues[0]?.line === 9)
  const q = new JournalRecordParser("t.jrn")
  assert.throws(() => [...q.write(Buffer.from(b + a)), ...q.end()], (e: unknown) => e instanceof InvalidInput && e.issues[0]?.line === 5)
})
