import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Either } from "effect"
import { InvalidInput } from "./errors.ts"
import { parsePathMap, pathMapHeading, readPathMapFile, serializePathMap, writePathMapFile } from "./pathmap.ts"

const run = <A, E>(eff: Effect.Effect<A, E, import("@effect/platform/FileSystem").FileSystem>) => Effect.runPromise(Effect.either(eff).pipe(Effect.provide(NodeFileSystem.layer)))

test("a written path map reads back: empty targets stay undefined, filled ones are kept", () => {
  const entries = [
    { filePath: "\\animals\\koala.jpg", target: undefined },
    { filePath: "\\a b\\ü.txt", target: "/mnt/old/ü.txt" },
    { filePath: "\\x", target: "D:\\photos\\x" },
  ]
  const text = serializePathMap(entries)
  assert.equal(text, `${pathMapHeading}\n\\animals\\koala.jpg\t\n\\a b\\ü.txt\t/mnt/old/ü.txt\n\\x\tD:\\photos\\x\n`)
  const back = parsePathMap(text, "m.txt")
  assert.ok(Array.isArray(back))
  assert.deepEqual(
    back.map(({ filePath, target }) => ({ filePath, target })),
    entries,
  )
})

test("a path map edited on Windows (BOM, CRLF, blank lines) reads the same", () => {
  const back = parsePathMap("\uFEFF# heading\r\n\\a\t/x/a\r\n\r\n\\b\t\r\n", "m.txt")
  assert.ok(Array.isArray(back))
  assert.deepEqual(
    back.map(({ filePath, target, line }) => ({ filePath, target, line })),
    [
      { filePath: "\\a", target: "/x/a", line: 2 },
      { filePath: "\\b", target: undefined, line: 4 },
    ],
  )
})

test("every bad line is reported with its line, and what was expected", () => {
  const text = ["\\ok\t/abs", "no tab here", "relative\t/abs", "\\rel-target\tsome/where", "\\ok\t/again", "\\two\t/a\t/b"].join("\n") + "\n"
  const back = parsePathMap(text, "map.txt")
  assert.ok(back instanceof InvalidInput)
  assert.equal(back.format, "pathmap")
  assert.deepEqual(
    back.issues.map((i) => [i.line, i.field ?? "", i.expected]),
    [
      [2, "", "a FilePath, a TAB and a target (empty or an absolute path)"],
      [3, "FilePath", "a FilePath of the copy log, starting with \\"],
      [4, "target", "an absolute path (or nothing)"],
      [5, "FilePath", "each FilePath once (line 1 has it already)"],
      [6, "target", "one TAB between the FilePath and the target"],
    ],
  )
  assert.match(back.message, /^map\.txt: invalid pathmap \(5 problems\)/)
})

test("a path map that does not exist yet is empty; one written is replaced whole and reads back", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-pathmap-"))
  try {
    const file = path.join(dir, "map.txt")
    assert.deepEqual(await run(readPathMapFile(file)), Either.right([]))
    await run(writePathMapFile(file, [{ filePath: "\\a", target: undefined }]))
    await run(writePathMapFile(file, [{ filePath: "\\b", target: "/b" }]))
    assert.equal(readFileSync(file, "utf8"), `${pathMapHeading}\n\\b\t/b\n`)
    assert.equal(statSync(file).size, Buffer.byteLength(`${pathMapHeading}\n\\b\t/b\n`))
    writeFileSync(file, "\\a /no-tab\n")
    const bad = await run(readPathMapFile(file, "map.txt"))
    assert.ok(Either.isLeft(bad) && bad.left instanceof InvalidInput && bad.left.issues[0]?.line === 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an entry that would break the line format is refused when writing", () => {
  assert.throws(() => serializePathMap([{ filePath: "\\a\tb", target: undefined }]), RangeError)
  assert.throws(() => serializePathMap([{ filePath: "\\a", target: "/x\ny" }]), RangeError)
})
