/**
 * The real `waie` launcher, run as a user runs it: from another folder, through a pipe, with
 * exit codes. (Each command's own behaviour is covered by its goldens.)
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")

const waie = (args: ReadonlyArray<string>, cwd: string) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" })

test("waie runs from any folder, lists its commands, and exits 2 when given none", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-e2e-"))
  try {
    const help = waie(["--help"], dir)
    assert.equal(help.status, 0)
    assert.match(help.stdout, /waie journal json/)
    const none = waie([], dir)
    assert.equal(none.status, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a relative path resolves against the caller's folder; --json output parses line by line", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-e2e-"))
  try {
    writeFileSync(path.join(dir, "j.jrn"), "[BeginUpdateRecord][2016/11/02 18:24:14.735][Type:NewJournalFile]\nVocabularyVersion: 2013-02-01\n[EndUpdateRecord]\n")
    const r = waie(["journal", "json", "j.jrn"], dir)
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string })
    assert.deepEqual(lines.map((l) => l.type), ["record", "summary"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a missing file is exit 3 with the path and the reason; an unknown command is exit 2", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-e2e-"))
  try {
    const r = waie(["journal", "json", "nope.jrn"], dir)
    assert.equal(r.status, 3)
    assert.equal(r.stderr, "nope.jrn: cannot read (ENOENT): no such file\n")
    const u = waie(["jorunal", "json"], dir)
    assert.equal(u.status, 2)
    assert.match(u.stderr, /unknown command/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("output piped into a reader that stops early ends waie quietly", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-e2e-"))
  try {
    const records = Array.from({ length: 20000 }, (_, i) => `[BeginUpdateRecord][2016/11/02 18:24:14.735][Type:R${i}]\nK: ${"x".repeat(50)}\n[EndUpdateRecord]\n`).join("")
    writeFileSync(path.join(dir, "big.jrn"), records)
    const r = spawnSync("bash", ["-c", `set -o pipefail; node ${JSON.stringify(bin)} journal json big.jrn | head -1 >/dev/null`], { cwd: dir, encoding: "utf8" })
    assert.equal(r.stderr, "")
    assert.equal(r.status, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("the demo (the README's first command) runs the life of an import job and ends with every blob equal to its source", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-e2e-"))
  try {
    const r = waie(["demo"], dir)
    assert.equal(r.status, 0, r.stdout + r.stderr)
    for (const step of [/\$ waie PrepImport \/j:logs\/job\.jrn \/id:session#1 \/AdditionalDriveSet:drives-h\.csv\n/, /\$ waie verify drive-h --journal logs\/job\.jrn\n/, /\$ waie service import --drive drive-g /, /\$ waie RepairImport \/r:logs\/drive-h\.rep /]) assert.match(r.stdout, step)
    // the damaged block: found by verify, refused by the import, repaired, and the blob then equals its source
    assert.match(r.stdout, /pictures\/large\.bin: block at offset 4194304 \(4194304 bytes\): expected MD5 [0-9A-F]{32}, found MD5 [0-9A-F]{32}/)
    assert.match(r.stdout, /1 block Corrupted \(offset 4194304, 4194304 bytes\)/)
    assert.match(r.stdout, /repaired pictures\/large\.bin \(\\session#1\\pictures\\large\.bin\): 1 block staged/)
    assert.match(r.stdout, /\nevery blob equals its source: 34 blobs, 14100583 bytes\n/)
    assert.match(r.stdout, /\ndemo: all \d+ steps gave the expected result\n$/)
    // its azurite is gone: the port it printed no longer answers
    const port = /BlobEndpoint=http:\/\/127\.0\.0\.1:(\d+)\//.exec(r.stdout)?.[1]
    assert.ok(port !== undefined)
    const answered = await fetch(`http://127.0.0.1:${port}/devstoreaccount1?comp=list`).then(() => true, () => false)
    assert.equal(answered, false)
    const j = waie(["demo", "--json"], dir)
    assert.equal(j.status, 0)
    const lines = j.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; ok?: boolean })
    assert.deepEqual(lines.at(-1), { ...lines.at(-1), type: "verdict", ok: true })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
