import assert from "node:assert/strict"
import { test } from "node:test"
import { base64DecodedLength, base64ToHex, decodeBase64, hexToBase64, isBase64, isMd5Hex, md5Hex, normaliseHex } from "./hash.ts"

const enc = (s: string) => new TextEncoder().encode(s)

test("md5Hex gives upper-case Base16 (RFC 1321 test vectors)", () => {
  assert.equal(md5Hex(new Uint8Array(0)), "D41D8CD98F00B204E9800998ECF8427E")
  assert.equal(md5Hex(enc("abc")), "900150983CD24FB0D6963F7D28E17F72")
  assert.equal(md5Hex(enc("message digest")), "F96B697D7CB7938D525A2F31AAF161D0")
})

test("md5Hex hashes only the view it is given", () => {
  const whole = enc("xxabcxx")
  assert.equal(md5Hex(whole.subarray(2, 5)), md5Hex(enc("abc")))
})

test("isMd5Hex: 32 hex digits in either case, nothing else", () => {
  assert.ok(isMd5Hex("D41D8CD98F00B204E9800998ECF8427E"))
  assert.ok(isMd5Hex("d41d8cd98f00b204e9800998ecf8427e"))
  assert.ok(!isMd5Hex("D41D8CD98F00B204E9800998ECF8427"), "31 digits")
  assert.ok(!isMd5Hex("D41D8CD98F00B204E9800998ECF8427E0"), "33 digits")
  assert.ok(!isMd5Hex("G41D8CD98F00B204E9800998ECF8427E"), "not hex")
  assert.ok(!isMd5Hex(" D41D8CD98F00B204E9800998ECF8427E"), "a blank is not normalised away")
  assert.ok(!isMd5Hex(""))
})

test("normaliseHex trims and upper-cases (copy-log hashes carry a leading space)", () => {
  assert.equal(normaliseHex(" aa2585f6f6fd01c4ad4256e018240cd4"), "AA2585F6F6FD01C4AD4256E018240CD4")
  assert.equal(normaliseHex("\tab \n"), "AB")
  assert.ok(isMd5Hex(normaliseHex(" aa2585f6f6fd01c4ad4256e018240cd4 ")))
})

test("hex ↔ Base64 (manifest Base16 vs REST Content-MD5)", () => {
  assert.equal(hexToBase64("D41D8CD98F00B204E9800998ECF8427E"), "1B2M2Y8AsgTpgAmY7PhCfg==")
  assert.equal(hexToBase64("d41d8cd98f00b204e9800998ecf8427e"), "1B2M2Y8AsgTpgAmY7PhCfg==")
  assert.equal(base64ToHex("1B2M2Y8AsgTpgAmY7PhCfg=="), "D41D8CD98F00B204E9800998ECF8427E")
  assert.equal(hexToBase64(""), "")
  assert.equal(base64ToHex(""), "")
})

test("hexToBase64 and base64ToHex refuse what Buffer would silently mangle", () => {
  assert.throws(() => hexToBase64("ABC"), RangeError, "odd length")
  assert.throws(() => hexToBase64("ZZ"), RangeError, "not hex")
  assert.throws(() => hexToBase64(" AB"), RangeError, "blank")
  assert.throws(() => base64ToHex("1B2M2Y8AsgTpgAmY7PhCfg="), RangeError, "bad padding")
  assert.throws(() => base64ToHex("1B2M2Y8A-gTpgAmY7PhCfg=="), RangeError, "URL alphabet")
})

test("isBase64 and base64DecodedLength", () => {
  for (const ok of ["", "AAAAAA==", "AQAAAA==", "AAA=", "AAAA", "MD5/1B2M2Y8AsgTpgAmY7PhCfg==", "+/+/"]) assert.ok(isBase64(ok), ok)
  for (const bad of ["A", "AA", "AAA", "AAAAA", "AA=A", "A===", "AAAA=", "AA AA", "AA-_", "é"]) assert.ok(!isBase64(bad), bad)
  assert.equal(base64DecodedLength(""), 0)
  assert.equal(base64DecodedLength("AAAAAA=="), 4)
  assert.equal(base64DecodedLength("AAA="), 2)
  assert.equal(base64DecodedLength("AAAA"), 3)
  assert.equal(base64DecodedLength("MD5/1B2M2Y8AsgTpgAmY7PhCfg=="), 19)
  assert.equal(base64DecodedLength("MD5/1B2M2Y8AsgTpgAmY7PhCfg=="), Buffer.from("MD5/1B2M2Y8AsgTpgAmY7PhCfg==", "base64").length)
})

test("decodeBase64: the bytes of Base64, undefined for anything else (Buffer would skip bad characters)", () => {
  assert.deepEqual(decodeBase64("AQAAAA=="), new Uint8Array([1, 0, 0, 0]))
  assert.deepEqual(decodeBase64(""), new Uint8Array(0))
  for (const bad of ["AQAAAA=", "AQ AAAA==", "AQ-_AA=="]) assert.equal(decodeBase64(bad), undefined, bad)
})
