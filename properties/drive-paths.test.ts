/** Laws of drive file paths (lib/drive-paths.ts): portable, distinct case-insensitively, consistent, deterministic, plain when possible. */
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import { FilePathAllocator, localPathOf, plainFilePath } from "../lib/drive-paths.ts"

// ---------------------------------------------------------------- an independent statement of the rules

const reserved = new Set(["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"])
for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00B9", "\u00B2", "\u00B3"]) {
  reserved.add("COM" + d)
  reserved.add("LPT" + d)
}

const portable = (seg: string): boolean => {
  if (seg.length === 0 || seg.length > 255 || Buffer.byteLength(seg, "utf8") > 255) return false
  for (const ch of seg) {
    const c = ch.codePointAt(0)!
    if (c < 0x20 || '<>:"/\\|?*'.includes(ch)) return false
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) return false
  }
  if (seg.endsWith(".") || seg.endsWith(" ")) return false
  return !reserved.has(seg.split(".")[0]!.replace(/ +$/, "").toUpperCase())
}

/** Two folds: what NTFS merges is merged by both (for the alphabet below). */
const upperFold = (s: string) => s.normalize("NFC").toUpperCase().normalize("NFC")
const lowerFold = (s: string) => s.normalize("NFD").toLowerCase().normalize("NFC")

// ---------------------------------------------------------------- generators

const unit = fc.constantFrom("a", "A", "b", "B", "ß", "S", "ς", "σ", "é", "e\u0301", ".", " ", ":", "\\", "?", "\u0001", "CON", "con", "Lpt1", "~", "日", "😀", "\uD800")
const shortSegment = fc.array(unit, { minLength: 0, maxLength: 4 }).map((u) => u.join(""))
const longSegment = fc.oneof(fc.integer({ min: 250, max: 260 }).map((n) => "x".repeat(n)), fc.integer({ min: 80, max: 90 }).map((n) => "日".repeat(n)))
const segment = fc.oneof({ weight: 12, arbitrary: shortSegment }, { weight: 1, arbitrary: longSegment })
const container = fc.constantFrom("box", "con", "$root", "b0x")
const blobPath = fc.tuple(container, fc.array(segment, { minLength: 1, maxLength: 4 })).map(([c, s]) => `${c}/${s.join("/")}`)

/** The same path in other cases and normal forms: one NTFS name, another blob name. */
const swaps: Record<string, string> = { a: "A", A: "a", b: "B", B: "b", σ: "ς", ς: "σ", é: "e\u0301", o: "O", x: "X" }
const variant = (p: string): string => {
  const slash = p.indexOf("/")
  return p.slice(0, slash) + p.slice(slash).replace(/[aAbBσςéox]/g, (c) => swaps[c]!)
}

/**
 * A sequence of blob paths drawn from a small pool, so that repeats, case variants and a path
 * below another (a file that another path needs as a directory) are common.
 */
const sequence = fc
  .array(blobPath, { minLength: 1, maxLength: 6 })
  .chain((bases) =>
    fc.tuple(fc.constant(bases), fc.subarray(bases.map(variant)), fc.subarray(bases.map((b) => `${b}/a`)), fc.subarray(bases.map((b) => `${variant(b)}/b`))),
  )
  .chain(([bases, variants, below, belowVariants]) => fc.shuffledSubarray([...bases, ...variants, ...below, ...belowVariants, ...bases], { minLength: 1 }))

const allocateAll = (paths: ReadonlyArray<string>, session = "sess#1"): Array<string> => {
  const a = new FilePathAllocator(session)
  return paths.map((p) => a.allocate(p))
}

const segmentsOf = (filePath: string): Array<string> => filePath.slice(1).split("\\")

// ---------------------------------------------------------------- laws

test("every path is portable: each segment, and the whole under 32,000 units", () => {
  fc.assert(
    fc.property(sequence, (paths) => {
      for (const p of allocateAll(paths)) {
        assert.ok(p.startsWith("\\sess#1\\"), p)
        assert.ok(p.length <= 32_000)
        for (const s of segmentsOf(p)) assert.ok(portable(s), `${JSON.stringify(s)} in ${JSON.stringify(p)}`)
        // and the local path on a POSIX root has exactly these names
        assert.deepEqual(localPathOf("/mnt/d", p, "posix").split("/").slice(3), segmentsOf(p))
      }
    }),
    { numRuns: 1000 },
  )
})

test("distinct calls get paths distinct case-insensitively; no file is another's directory; a directory has one spelling", () => {
  fc.assert(
    fc.property(sequence, (paths) => {
      const out = allocateAll(paths)
      for (const fold of [upperFold, lowerFold]) {
        const files = new Set(out.map(fold))
        assert.equal(files.size, out.length, `case-insensitive duplicates: ${JSON.stringify(out)}`)
        const dirs = new Map<string, string>()
        for (const p of out) {
          const segs = segmentsOf(p)
          for (let i = 1; i < segs.length; i++) {
            const dir = "\\" + segs.slice(0, i).join("\\")
            assert.ok(!files.has(fold(dir)), `${dir} is a file and a directory`)
            const seen = dirs.get(fold(dir))
            if (seen === undefined) dirs.set(fold(dir), dir)
            else assert.equal(seen, dir, "one directory, two spellings")
          }
        }
      }
    }),
    { numRuns: 1000 },
  )
})

test("deterministic: the same calls give the same paths", () => {
  fc.assert(
    fc.property(sequence, (paths) => {
      assert.deepEqual(allocateAll(paths), allocateAll(paths))
    }),
    { numRuns: 300 },
  )
})

/** Whether two blob paths cannot both have their plain FilePaths (same name, file vs directory, a directory spelled twice). */
const conflict = (p: string, q: string): boolean => {
  const P = p.split("/")
  const Q = q.split("/")
  for (let i = 0; i < Math.min(P.length, Q.length); i++) {
    if (upperFold(P[i]!) !== upperFold(Q[i]!) && lowerFold(P[i]!) !== lowerFold(Q[i]!)) return false
    if (i === P.length - 1 || i === Q.length - 1) return true
    if (P[i] !== Q[i]) return true
  }
  return false
}

test("the plain mapping for a portable blob path that clashes with no earlier one", () => {
  fc.assert(
    fc.property(sequence, (paths) => {
      const out = allocateAll(paths)
      let plain = 0
      paths.forEach((q, i) => {
        if (!q.split("/").every(portable)) return
        if (paths.slice(0, i).some((p) => conflict(p, q))) return
        plain++
        assert.equal(out[i], plainFilePath("sess#1", q))
      })
    }),
    { numRuns: 1000 },
  )
})

test("plain throughout when every blob path is portable and none clash", () => {
  const safe = fc.array(fc.constantFrom("a", "B", "c", "é", "1", ".x", "-"), { minLength: 1, maxLength: 3 }).map((u) => u.join(""))
  const path = fc.tuple(fc.constantFrom("box", "b0x"), fc.array(safe, { minLength: 1, maxLength: 3 })).map(([c, s]) => `${c}/${s.join("/")}`)
  fc.assert(
    fc.property(fc.uniqueArray(path, { maxLength: 20 }), (paths) => {
      fc.pre(paths.every((q, i) => q.split("/").every(portable) && !paths.slice(0, i).some((p) => conflict(p, q))))
      assert.deepEqual(
        allocateAll(paths),
        paths.map((p) => plainFilePath("sess#1", p)),
      )
    }),
    { numRuns: 300 },
  )
})
