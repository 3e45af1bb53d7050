import assert from "node:assert/strict"
import { test } from "node:test"
import { checkRecoveryKey, generateRecoveryKey, isRecoveryKey, recoveryKeyFromWords } from "./bitlocker.ts"

// formats.md §6.7: the two documented valid samples and the invalid one from the job examples
const su1 = "442926-020713-108086-436744-137335-435358-242242-279598"
const driveset = "060456-014509-132033-080300-252615-584177-672089-411631"
const invalid = "439675-460165-128202-905124-487224-524332-851649-442187"

const found = (key: string) => checkRecoveryKey(key)?.found

test("the documented sample keys check", () => {
  assert.equal(checkRecoveryKey(su1), undefined)
  assert.equal(checkRecoveryKey(driveset), undefined)
  assert.ok(isRecoveryKey(su1))
})

test("the job examples' key is invalid: its first group is not a multiple of 11", () => {
  assert.equal(found(invalid), "group 1 is not a multiple of 11")
  assert.ok(!isRecoveryKey(invalid))
})

test("each group below 720896 = 11 × 65536", () => {
  const rest = "-000000".repeat(7)
  assert.equal(checkRecoveryKey("720885" + rest), undefined, "11 × 65535 is the largest group")
  assert.equal(found("720896" + rest), "group 1 is above 720885")
  assert.equal(found("000000-000000-000000-000000-000000-000000-000000-999999"), "group 8 is above 720885")
  assert.equal(found("000000-000000-000011-000012-000000-000000-000000-000000"), "group 4 is not a multiple of 11")
})

test("bad shapes name what is wrong", () => {
  assert.equal(found(""), "an empty value")
  assert.equal(found("442926-020713"), "2 groups")
  assert.equal(found("442926"), "1 group")
  assert.equal(found(su1 + "-000000"), "9 groups")
  assert.equal(found(su1.replaceAll("-", " ")), "1 group", "spaces are not separators here")
  assert.equal(found(su1.slice(0, -1)), "group 8 is not 6 digits")
  assert.equal(found(su1.replace("108086", "1o8086")), "group 3 is not 6 digits")
  assert.equal(found(su1 + " "), "group 8 is not 6 digits")
  assert.equal(found(su1.replace("020713", "٠٢٠٧١٣")), "group 2 is not 6 digits", "only ASCII digits")
})

test("a problem never echoes the key", () => {
  for (const key of [invalid, su1.slice(0, -1), su1 + "-000000", "720896" + "-000000".repeat(7)]) {
    const p = checkRecoveryKey(key)!
    assert.ok(!p.found.includes(key) && !p.expected.includes(key))
    for (const group of key.split("-")) assert.ok(!p.found.includes(group), `${group} in ${p.found}`)
  }
})

test("recoveryKeyFromWords encodes 16-bit values as 11·k", () => {
  assert.equal(recoveryKeyFromWords([0, 1, 2, 3, 4, 5, 6, 65535]), "000000-000011-000022-000033-000044-000055-000066-720885")
  assert.throws(() => recoveryKeyFromWords([0, 1, 2]), RangeError)
  assert.throws(() => recoveryKeyFromWords([0, 1, 2, 3, 4, 5, 6, 65536]), RangeError)
  assert.throws(() => recoveryKeyFromWords([0, 1, 2, 3, 4, 5, 6, -1]), RangeError)
  assert.throws(() => recoveryKeyFromWords([0, 1, 2, 3, 4, 5, 6, 1.5]), RangeError)
})

test("generated keys check and differ", () => {
  const keys = Array.from({ length: 50 }, generateRecoveryKey)
  for (const k of keys) assert.equal(checkRecoveryKey(k), undefined, k)
  assert.equal(new Set(keys).size, keys.length)
})
