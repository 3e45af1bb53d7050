/** Laws of the rename disposition (lib/rename.ts). */
import { Either } from "effect"
import fc from "fast-check"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { runCommand } from "../lib/cli.ts"
import { command as renameCommand } from "../scripts/rename.ts"
import { candidateIndex, firstFreeAmong, firstFreeName, renamed } from "../lib/rename.ts"

// Segments from a small alphabet rich in the characters the rule cares about: dots, blanks,
// parentheses, digits, non-ASCII.
const segment = fc.string({ unit: fc.constantFrom("a", "b", ".", ".", " ", "(", ")", "2", "é", "😀"), minLength: 0, maxLength: 8 })
const blobPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"))

/** A path and a set of existing names: some of its own candidates plus unrelated names. */
const scenario = blobPath.chain((p) =>
  fc.record({
    path: fc.constant(p),
    taken: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 12 }),
    others: fc.array(blobPath, { maxLength: 5 }),
  }),
)

const existingOf = (s: { path: string; taken: ReadonlyArray<number>; others: ReadonlyArray<string> }): Array<string> => [
  ...s.taken.map((n) => (n === 1 ? s.path : renamed(s.path, n))),
  ...s.others,
]

const free = (path: string, existing: ReadonlyArray<string>): string => {
  const set = new Set(existing)
  return Either.getOrThrow(firstFreeName(path, (p) => set.has(p)))
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/") + 1)
const extOf = (p: string) => {
  const seg = p.slice(p.lastIndexOf("/") + 1)
  const dot = seg.lastIndexOf(".")
  return dot <= 0 ? "" : seg.slice(dot)
}

test("the name given never collides with an existing name", () => {
  fc.assert(
    fc.property(scenario, (s) => {
      const existing = existingOf(s)
      assert.ok(!existing.includes(free(s.path, existing)))
    }),
    { numRuns: 2000 },
  )
})

test("deterministic: same answer twice and whatever the order of the existing names", () => {
  fc.assert(
    fc.property(scenario, fc.integer(), (s, seed) => {
      const existing = existingOf(s)
      const shuffled = [...existing].sort((a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7))
      assert.equal(free(s.path, existing), free(s.path, existing))
      assert.equal(free(s.path, existing), free(s.path, shuffled))
    }),
    { numRuns: 1000 },
  )
})

test("the smallest free n: the name itself if free, else (n) with every (2)…(n-1) taken", () => {
  fc.assert(
    fc.property(scenario, (s) => {
      const existing = new Set(existingOf(s))
      const got = free(s.path, [...existing])
      if (!existing.has(s.path)) return assert.equal(got, s.path)
      const n = candidateIndex(s.path, got)
      assert.ok(n !== undefined && n >= 2, `${got} is a candidate of ${s.path}`)
      assert.equal(got, renamed(s.path, n))
      for (let k = 2; k < n; k++) assert.ok(existing.has(renamed(s.path, k)), `(${k}) was free`)
    }),
    { numRuns: 2000 },
  )
})

test("keeps the virtual directory and the extension", () => {
  fc.assert(
    fc.property(blobPath, fc.integer({ min: 2, max: 100_000 }), (p, n) => {
      const r = renamed(p, n)
      assert.equal(dirOf(r), dirOf(p))
      assert.equal(extOf(r), extOf(p))
      const seg = p.slice(dirOf(p).length)
      const ext = extOf(p)
      assert.equal(r, `${dirOf(p)}${seg.slice(0, seg.length - ext.length)} (${n})${ext}`)
    }),
    { numRuns: 2000 },
  )
})

test("candidates are distinct and candidateIndex recovers n", () => {
  fc.assert(
    fc.property(blobPath, fc.integer({ min: 2, max: 1_000_000 }), fc.integer({ min: 2, max: 1_000_000 }), (p, a, b) => {
      assert.notEqual(renamed(p, a), p)
      assert.equal(renamed(p, a) === renamed(p, b), a === b)
      assert.equal(candidateIndex(p, renamed(p, a)), a)
      assert.equal(candidateIndex(p, p), 1)
    }),
    { numRuns: 2000 },
  )
})

test("firstFreeAmong (taken indices) agrees with firstFreeName (a set of names)", () => {
  fc.assert(
    fc.property(scenario, (s) => {
      const existing = existingOf(s)
      const taken = new Set<number>()
      for (const e of existing) {
        const i = candidateIndex(s.path, e)
        if (i !== undefined) taken.add(i)
      }
      assert.equal(Either.getOrThrow(firstFreeAmong(s.path, taken)), free(s.path, existing))
    }),
    { numRuns: 1000 },
  )
})

test("`waie rename --existing-file` agrees with firstFreeName, whatever the line endings", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-rename-"))
  try {
    await fc.assert(
      fc.asyncProperty(scenario, fc.constantFrom("\n", "\r\n"), fc.boolean(), async (s, eol, bom) => {
        const existing = existingOf(s).filter((e) => e !== "" && !/[\r\n]/.test(e))
        writeFileSync(path.join(dir, "existing.txt"), (bom ? "\uFEFF" : "") + existing.map((e) => e + eol).join(""))
        let stdout = ""
        const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => assert.fail(t), cwd: dir, stderrIsTTY: false }
        const name = s.path === "" ? "x" : s.path
        // options first, then `--`: a generated name may start with "/" or "-"
        const code = await runCommand(renameCommand, ["--json", "--existing-file", "existing.txt", "--", name], io)
        assert.equal(code, 0)
        const line = JSON.parse(stdout) as { name: string; renamed: boolean }
        assert.equal(line.name, free(name, existing))
        assert.equal(line.renamed, line.name !== name)
      }),
      { numRuns: 200 },
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
