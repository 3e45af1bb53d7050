/** Laws of BitLocker recovery keys (lib/bitlocker.ts). */
import fc from "fast-check"
import assert from "node:assert/strict"
import { test } from "node:test"
import { checkRecoveryKey, generateRecoveryKey, isRecoveryKey, recoveryKeyFromWords } from "../lib/bitlocker.ts"

const words = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })

test("keys made from any 128 bits check, and give those bits back", () => {
  fc.assert(
    fc.property(words, (w) => {
      const key = recoveryKeyFromWords(w)
      assert.match(key, /^\d{6}(-\d{6}){7}$/)
      assert.equal(checkRecoveryKey(key), undefined)
      assert.deepEqual(key.split("-").map((g) => Number(g) / 11), w)
    }),
    { numRuns: 2000 },
  )
})

test("generated keys always check", () => {
  for (let i = 0; i < 2000; i++) {
    const key = generateRecoveryKey()
    assert.ok(isRecoveryKey(key), key)
  }
})

test("every single-digit change of a valid key fails the check (the check-digit property)", () => {
  fc.assert(
    fc.property(words, (w) => {
      const key = recoveryKeyFromWords(w)
      for (let i = 0; i < key.length; i++) {
        if (key[i] === "-") continue
        for (const d of "0123456789") {
          if (d === key[i]) continue
          const mutated = key.slice(0, i) + d + key.slice(i + 1)
          const problem = checkRecoveryKey(mutated)
          assert.ok(problem !== undefined, `${mutated} passed`)
          assert.match(problem.found, new RegExp(`^group ${Math.floor(i / 7) + 1} `), "the changed group is named")
        }
      }
    }),
    { numRuns: 200 },
  )
})

test("the check agrees with the definition on any 8 groups of 6 digits", () => {
  const group = fc.oneof(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 0xffff }).map((k) => k * 11), fc.integer({ min: 65530, max: 90909 }).map((k) => k * 11))
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const key = groups.map((g) => String(g).padStart(6, "0")).join("-")
      const valid = groups.every((g) => g % 11 === 0 && g < 720_896)
      assert.equal(isRecoveryKey(key), valid, key)
      if (!valid) {
        const first = groups.findIndex((g) => g % 11 !== 0 || g >= 720_896)
        assert.match(checkRecoveryKey(key)!.found, new RegExp(`^group ${first + 1} `))
      }
    }),
    { numRuns: 3000 },
  )
})

test("anything not shaped as 8 groups of 6 digits fails, and the message never holds a whole group", () => {
  const junk = fc.string({ unit: fc.constantFrom("0", "1", "5", "9", "-", " ", "a"), maxLength: 60 }).filter((s) => !/^\d{6}(-\d{6}){7}$/.test(s))
  fc.assert(
    fc.property(junk, (s) => {
      const problem = checkRecoveryKey(s)
      assert.ok(problem !== undefined)
      for (const g of s.split("-")) if (g.length >= 6) assert.ok(!problem.found.includes(g))
    }),
    { numRuns: 2000 },
  )
})

test("`waie key new --count N` prints N distinct keys that check, in both output modes", async () => {
  const { runCommand } = await import("../lib/cli.ts")
  const { command } = await import("../scripts/key-new.ts")
  for (const json of [false, true]) {
    let stdout = ""
    let stderr = ""
    const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), cwd: process.cwd(), stderrIsTTY: false }
    const code = await runCommand(command, ["--count", "500", ...(json ? ["--json"] : [])], io)
    assert.equal(code, 0)
    assert.equal(stderr, "")
    const lines = stdout.split("\n").slice(0, -1)
    const keys = json ? lines.map((l) => (JSON.parse(l) as { type: string; key: string })).map((e) => (assert.equal(e.type, "key"), e.key)) : lines
    assert.equal(keys.length, 500)
    assert.equal(new Set(keys).size, 500)
    for (const k of keys) assert.ok(isRecoveryKey(k), k)
  }
})
