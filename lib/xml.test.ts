import assert from "node:assert/strict"
import { test } from "node:test"
import { escapeAttr, escapeText, hasCharsXmlCannotHold, xmlDeclaration, xmlDeclarationFor, XmlSyntaxError, XmlTokenizer, type XmlToken } from "./xml.ts"

const tokens = (xml: string | Uint8Array, slice = 5): Array<XmlToken> => {
  const t = new XmlTokenizer()
  const bytes = typeof xml === "string" ? Buffer.from(xml, "utf8") : xml
  const out: Array<XmlToken> = []
  for (let i = 0; i < bytes.length; i += slice) out.push(...t.write(bytes.subarray(i, i + slice)))
  out.push(...t.end())
  return out
}

const syntaxError = (xml: string | Uint8Array, slice?: number) => {
  try {
    tokens(xml, slice)
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError)
    return e
  }
  assert.fail("no syntax error")
}

test("leaf text comes with the close token, entities and CDATA decoded, split multi-byte characters rejoined", () => {
  const out = tokens('<?xml version="1.0"?>\n<A x="1&amp;2"><B>a &lt;b&gt; é<![CDATA[<c>]]></B><C/></A>', 3)
  assert.deepEqual(
    out.map((t) => (t.kind === "open" ? `+${t.name}` : `-${t.name}:${t.text}`)),
    ["+A", "+B", "-B:a <b> é<c>", "+C", "-C:", "-A:"],
  )
  assert.deepEqual(out[0]?.kind === "open" && { ...out[0].attributes }, { x: "1&2" })
})

test("a DOCTYPE is refused before any entity can be declared or expanded", () => {
  const e = syntaxError('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">]>\n<A>&lol;</A>')
  assert.match(e.expected, /no DOCTYPE/)
  assert.equal(e.line, 2)
})

test("malformed XML is reported with its line and column", () => {
  const e = syntaxError("<A>\n  <B>\n</A>")
  assert.equal(e.line, 3)
  assert.ok(e.column >= 1)
})

test("bytes that are not UTF-8 and empty input are refused", () => {
  assert.match(syntaxError(Buffer.from([0x3c, 0x41, 0x3e, 0xff, 0x3c, 0x2f, 0x41, 0x3e])).found, /not UTF-8/)
  assert.match(syntaxError("").found, /empty file/)
  // UTF-16 with a BOM is not UTF-8
  assert.ok(syntaxError(Buffer.from("\ufeff<A/>", "utf16le")) instanceof XmlSyntaxError)
})

test("UTF-16 is named as such, with or without its byte order mark", () => {
  const doc = '<?xml version="1.0"?><A/>'
  const be = (b: Buffer) => Buffer.from(b.map((_, i) => b[i ^ 1]!))
  assert.match(syntaxError(Buffer.from("\ufeff" + doc, "utf16le")).found, /UTF-16 text \(a UTF-16 byte order mark\)/)
  assert.match(syntaxError(Buffer.from(doc, "utf16le")).found, /UTF-16 text \(little-endian, without a byte order mark\)/)
  assert.match(syntaxError(be(Buffer.from(doc, "utf16le"))).found, /UTF-16 text \(big-endian, without a byte order mark\)/)
  assert.equal(syntaxError(Buffer.from(doc, "utf16le")).line, 1)
})

test("tokens before an error are delivered before the error is thrown", () => {
  const t = new XmlTokenizer()
  const first = t.write(Buffer.from("<A><B>x</B><C>y</C></B>"))
  assert.deepEqual(first.map((x) => x.name).slice(0, 5), ["A", "B", "B", "C", "C"])
  assert.throws(() => t.end(), XmlSyntaxError)
})

test("bytes that are not UTF-8: the tokens before them are delivered, and the error points at them", () => {
  const bytes = Buffer.concat([Buffer.from("<A>\n  <B>é</B>\n  <C>x"), Buffer.from([0xff]), Buffer.from("</C>\n</A>")])
  for (const slice of [bytes.length, 1, 2, 3, 7]) {
    const t = new XmlTokenizer()
    const got: Array<string> = []
    let error: unknown
    try {
      for (let i = 0; i < bytes.length; i += slice) got.push(...t.write(bytes.subarray(i, i + slice)).map((x) => `${x.kind === "open" ? "+" : "-"}${x.name}`))
      t.end()
    } catch (e) {
      error = e
    }
    assert.deepEqual(got, ["+A", "+B", "-B", "+C"], `slices of ${slice}`)
    assert.ok(error instanceof XmlSyntaxError, `slices of ${slice}`)
    assert.deepEqual([error.line, error.column, error.found], [3, 7, "bytes that are not UTF-8"], `slices of ${slice}`)
  }
})

test("a character split between writes, and a BOM, are read the same whatever the slices", () => {
  const text = "\ufeff<A>é€\u{1F600}</A>"
  for (const slice of [1, 2, 3, 4, 5]) assert.equal(tokens(text, slice).find((x) => x.kind === "close")?.text, "é€\u{1F600}", `slices of ${slice}`)
  // a bad byte right after a split character: the character is read, the error is at the byte
  const bytes = Buffer.concat([Buffer.from("<A>\u{1F600}"), Buffer.from([0xc3, 0x28]), Buffer.from("</A>")])
  for (const slice of [1, 2, 5]) {
    const e = syntaxError(bytes, slice)
    assert.deepEqual([e.line, e.column], [1, 5], `slices of ${slice}`)
  }
})

test("escaping keeps every character a reader can get back", () => {
  const nasty = `a&b<c>d"e'f\tg\nh\ri ]]> é \u{1F600}`
  const xml = `<A v="${escapeAttr(nasty)}">${escapeText(nasty)}</A>`
  const out = tokens(xml, 4)
  assert.equal(out[0]?.kind === "open" && out[0].attributes["v"], nasty.replace(/\r\n?/g, (m) => m))
  assert.equal(out[1]?.kind === "close" && out[1].text, nasty)
})

test("the declaration, with each format's spelling of the encoding", () => {
  assert.equal(xmlDeclaration, '<?xml version="1.0" encoding="UTF-8"?>\n')
  assert.equal(xmlDeclarationFor("utf-8"), '<?xml version="1.0" encoding="utf-8"?>\n')
})

test("characters XML cannot hold are detected", () => {
  assert.equal(hasCharsXmlCannotHold("ok é \u{1F600}\t\n\r"), false)
  for (const bad of ["\u0000", "\u0001", "\u001f", "\uFFFE", "\uD800", "x\uDC00"]) assert.equal(hasCharsXmlCannotHold(bad), true, JSON.stringify(bad))
})

test("text between child elements marks the element it stands in, not a child", () => {
  const closes = new Map(tokens("<A><B>b</B>stray<C>c</C></A>").flatMap((t) => (t.kind === "close" ? [[t.name, t] as const] : [])))
  assert.equal(closes.get("B")?.mixed, false)
  assert.equal(closes.get("C")?.mixed, false)
  assert.equal(closes.get("C")?.text, "c")
  assert.equal(closes.get("A")?.mixed, true)
})
