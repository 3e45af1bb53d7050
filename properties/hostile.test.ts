/**
 * Fuzzing the readers: the valid examples of every format (taken from goldens/), mutated — bytes
 * flipped, the file cut, random bytes or nasty tokens inserted (`<!DOCTYPE`, `]]>`, NUL, quotes,
 * CR, BOMs, journal markers), a slice repeated thousands of times, lines dropped, doubled or
 * swapped — and run through the command that checks them, in-process. Whatever the mutant:
 *
 * - the exit code is 0, 1, 2, 3 or 4 (never 70: no InternalError);
 * - no stack trace in the output;
 * - when the exit code is not 0, the output names the file (or, for `journal manifest`, the
 *   --drive-id the journal no longer has; for `journal json`'s exit 4, its tornTail line);
 * - nothing is written: the folder holds the same files with the same bytes afterwards.
 *
 * The run count is bounded (RUNS per command) so the whole file takes seconds; a failure
 * prints fast-check's seed and the shrunk mutation list to replay it.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, test } from "node:test"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { type Io, runCli } from "../lib/cli.ts"
import { loadCommands } from "../scripts/commands.ts"

// WAIE_FUZZ_RUNS=2000 for a longer hunt; the default keeps the file at a few seconds
const RUNS = Number(process.env["WAIE_FUZZ_RUNS"] ?? 60)
const goldens = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../goldens")
const commands = await loadCommands()
const work = mkdtempSync(path.join(tmpdir(), "waie-fuzz-"))
after(() => rmSync(work, { recursive: true, force: true }))

interface Target {
  /** the file name the mutant is written under (what the output must name) */
  readonly file: string
  /** the valid example, from goldens/ */
  readonly source: string
  readonly argv: ReadonlyArray<string>
  /** other files the command needs beside the input (never mutated) */
  readonly beside?: Readonly<Record<string, string>>
}

const targets: ReadonlyArray<Target> = [
  { file: "dataset.csv", source: "dataset/dataset.csv", argv: ["dataset", "check", "dataset.csv", "--mount", "F=/mnt/f"] },
  { file: "driveset.csv", source: "driveset/driveset.csv", argv: ["driveset", "check", "driveset.csv"] },
  { file: "DriveManifest.xml", source: "manifest/import.xml", argv: ["manifest", "check", "DriveManifest.xml"] },
  { file: "DriveManifest.xml", source: "manifest/export.xml", argv: ["manifest", "json", "DriveManifest.xml"] },
  { file: "copy.log", source: "copylog/import-error.log", argv: ["copylog", "check", "copy.log"] },
  { file: "copy.log", source: "copylog/verbose-import.log", argv: ["copylog", "json", "copy.log"] },
  { file: "metadata.xml", source: "metadata/author.xml", argv: ["metadata", "check", "metadata.xml"] },
  { file: "blob.properties", source: "properties/koala.properties", argv: ["properties", "check", "blob.properties"] },
  { file: "bloblist.xml", source: "bloblist/sample.xml", argv: ["bloblist", "check", "bloblist.xml"] },
  { file: "waie.jrn", source: "journal/03-waie-records/waie.jrn", argv: ["journal", "json", "waie.jrn"] },
  {
    file: "waie.jrn",
    source: "prepimport/one-session.jrn",
    argv: ["journal", "manifest", "waie.jrn", "--drive-id", "WAIED4B32E3FFC44"],
    beside: { "waie.jrn.credential": "prepimport/example.credential" },
  },
  { file: "existing.txt", source: "rename/existing.txt", argv: ["rename", "photos/Seattle.jpg", "--existing-file", "existing.txt"] },
]

const nasty = [
  '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
  '<!DOCTYPE x SYSTEM "file:///etc/passwd">',
  "]]>",
  "<![CDATA[",
  "\u0000",
  '"',
  "'",
  "\r",
  "\r\n",
  "\n\n",
  ",",
  ",,,,,,,,",
  "\uFEFF",
  "\uFFFE",
  "\u202E",
  "&#0;",
  "&#xD800;",
  "&lol;",
  "&amp;",
  "<",
  ">",
  "</DriveManifest>",
  "<Blob>",
  '<Block Offset="0" Length="-1" Id="" Hash="" />',
  "[BeginUpdateRecord][2026/11/21 10:00:00.000][Type:NewJournalFile]\n",
  "[EndUpdateRecord]\n",
  "[BeginValue]\n",
  "[EndValue]\n",
  "Checksum: 00000000\n",
  "..\\..\\",
  "../../",
  "$root/a/b",
  "C:\\Windows\\",
  "\\\\server\\share\\",
  "99999999999999999999999999",
  "-1",
  "NaN",
  "😀",
]

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly xor: number }
  | { readonly kind: "cut"; readonly at: number }
  | { readonly kind: "bytes"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "token"; readonly at: number; readonly token: string }
  | { readonly kind: "repeat"; readonly at: number; readonly length: number; readonly times: number }
  | { readonly kind: "dropLine" | "doubleLine"; readonly line: number }
  | { readonly kind: "swapLines"; readonly line: number; readonly other: number }

// positions are fractions of the current length, so a mutation applies to whatever earlier ones left
const at = fc.double({ min: 0, max: 1, noNaN: true })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at }),
  fc.record({ kind: fc.constant("bytes" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("token" as const), at, token: fc.constantFrom(...nasty) }),
  fc.record({ kind: fc.constant("repeat" as const), at, length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 1000 }) }),
  fc.record({ kind: fc.constantFrom("dropLine" as const, "doubleLine" as const), line: fc.nat() }),
  fc.record({ kind: fc.constant("swapLines" as const), line: fc.nat(), other: fc.nat() }),
)

const mutate = (input: Buffer, mutations: ReadonlyArray<Mutation>): Buffer => {
  let b = input
  for (const m of mutations) {
    const i = "at" in m ? Math.min(b.length, Math.floor(m.at * (b.length + 1))) : 0
    switch (m.kind) {
      case "flip":
        if (b.length > 0) {
          const j = Math.min(i, b.length - 1)
          b = Buffer.from(b)
          b[j] = b[j]! ^ m.xor
        }
        break
      case "cut":
        b = b.subarray(0, i)
        break
      case "bytes":
        b = Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)])
        break
      case "token":
        b = Buffer.concat([b.subarray(0, i), Buffer.from(m.token), b.subarray(i)])
        break
      case "repeat": {
        const slice = b.subarray(i, i + m.length)
        b = Buffer.concat([b.subarray(0, i), ...Array<Buffer>(m.times).fill(slice), b.subarray(i)])
        break
      }
      default: {
        const lines = b.toString("latin1").split("\n")
        const k = m.line % lines.length
        if (m.kind === "dropLine") lines.splice(k, 1)
        else if (m.kind === "doubleLine") lines.splice(k, 0, lines[k]!)
        else if (m.kind === "swapLines") {
          const o = m.other % lines.length
          ;[lines[k], lines[o]] = [lines[o]!, lines[k]!]
        }
        b = Buffer.from(lines.join("\n"), "latin1")
      }
    }
  }
  return b
}

const folderState = (dir: string): string =>
  readdirSync(dir)
    .sort()
    .map((n) => {
      const p = path.join(dir, n)
      const s = statSync(p)
      return `${n} ${s.size} ${s.mtimeMs} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`
    })
    .join("\n")

let tried = 0

for (const [index, target] of targets.entries()) {
  test(`mutants of ${target.source} through waie ${target.argv.slice(0, 2).join(" ")}: a typed answer naming the file, nothing written`, async () => {
    const dir = path.join(work, String(index))
    mkdirSync(dir)
    const valid = readFileSync(path.join(goldens, target.source))
    for (const [name, from] of Object.entries(target.beside ?? {})) writeFileSync(path.join(dir, name), readFileSync(path.join(goldens, from)))
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        tried++
        writeFileSync(path.join(dir, target.file), mutate(valid, mutations))
        const before = folderState(dir)
        let out = ""
        const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (out += t), cwd: dir, stderrIsTTY: false }
        const exit = await runCli(commands, target.argv, io)
        assert.ok([0, 1, 2, 3, 4].includes(exit), `exit ${exit}: ${out.slice(0, 400)}`)
        assert.doesNotMatch(out, /InternalError|internal error/)
        assert.doesNotMatch(out, /^\s{4}at /m, "a stack trace")
        if (exit !== 0) {
          // exit 4 is `journal json` listing the intact records, then a tornTail line (its JSON has no file name)
          const named =
            out.includes(target.file) || (target.argv.includes("--drive-id") && exit === 2 && out.includes("--drive-id")) || (exit === 4 && out.includes('"type":"tornTail"'))
          assert.ok(named, `exit ${exit} without naming ${target.file}: ${out.slice(0, 400)}`)
        }
        assert.equal(folderState(dir), before, "the folder changed")
      }),
      { numRuns: RUNS },
    )
  })
}

test("the fuzzing tried what it says", () => {
  // runs after the others (node:test runs a file's tests in order)
  assert.equal(tried >= targets.length * RUNS, true, `${tried} mutants`)
})
