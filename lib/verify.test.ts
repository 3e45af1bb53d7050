import assert from "node:assert/strict"
import * as path from "node:path"
import { test } from "node:test"
import type { JournalState } from "./journal.ts"
import { formatProblem, localFileOf, verifiableUpTo } from "./verify.ts"

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
