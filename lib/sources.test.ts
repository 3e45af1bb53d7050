import assert from "node:assert/strict"
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync, appendFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { Chunk, Effect, Exit, Layer, Stream } from "effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { SystemError } from "@effect/platform/Error"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { readDataset } from "./dataset.ts"
import { InvalidInput, SourceChanged } from "./errors.ts"
import { maxBlockBlobLength, maxPageBlobLength } from "./blocks.ts"
import { checkSources, describeSummary, enumerateSources, requireUnchanged, type SourceEvent, type SourceFile, type SourceOptions, statUnchanged, summarizeSources } from "./sources.ts"

const header = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile"

const withTemp = async (f: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-"))
  try {
    await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Write files: path → content (a number: that many bytes of "x"). */
const tree = (root: string, files: Record<string, string | number>): void => {
  for (const [p, c] of Object.entries(files)) {
    const full = path.join(root, p)
    mkdirSync(path.dirname(full), { recursive: true })
    writeFileSync(full, typeof c === "number" ? "x".repeat(c) : c)
  }
}

const rowsOf = (csv: string) => {
  const reading = readDataset("d.csv", Stream.make(new TextEncoder().encode(csv)), { platform: "posix" })
  // a test dataset must itself be valid, or the rows would silently be fewer
  const valid = Stream.fromEffect(Effect.sync(() => assert.equal(reading.report().errors, 0, JSON.stringify(reading.report().issues)))).pipe(Stream.drain)
  return Stream.concat(reading.rows, valid)
}

const run = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem>, layer: Layer.Layer<FileSystem.FileSystem> = NodeFileSystem.layer) => Effect.runPromise(effect.pipe(Effect.provide(layer)))

const enumerate = async (csv: string, options: SourceOptions = {}, layer?: Layer.Layer<FileSystem.FileSystem>) => {
  const e = enumerateSources("d.csv", rowsOf(csv), options)
  const events = Chunk.toArray(await run(Stream.runCollect(e.events), layer))
  const files = events.flatMap((x: SourceEvent) => (x._tag === "File" ? [x.file] : []))
  return { events, files, summary: e.summary() }
}

/** The real file system with some calls failing for some paths (permission denied). */
const faulty = (fail: { stat?: ReadonlyArray<string>; readDirectory?: ReadonlyArray<string>; access?: ReadonlyArray<string> }, calls?: { stat: number }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => {
      const denied = (method: string, p: string) => new SystemError({ reason: "PermissionDenied", module: "FileSystem", method, pathOrDescriptor: p })
      return {
        ...fs,
        stat: (p: string) => {
          if (calls) calls.stat++
          return fail.stat?.includes(p) ? Effect.fail(denied("stat", p)) : fs.stat(p)
        },
        readDirectory: (p: string, o?: FileSystem.ReadDirectoryOptions) => (fail.readDirectory?.includes(p) ? Effect.fail(denied("readDirectory", p)) : fs.readDirectory(p, o)),
        access: (p: string, o?: FileSystem.AccessFileOptions) => (fail.access?.includes(p) ? Effect.fail(denied("access", p)) : fs.access(p, o)),
      }
    }),
  ).pipe(Layer.provide(NodeFileSystem.layer))

test("order: rows in file order; in a directory a depth-first walk, names in code-unit order", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/B": 1, "d/a/1": 1, "d/a.txt": 1, "d/a b": 1, "d/b/c/z": 1, "d/b.txt": 1, "d/é": 1, "d/Z/y": 1, "d/b/a": 1, "one.txt": 2, "e/x": 1 })
    const { files, summary } = await enumerate(`${header}\n${dir}/d/,box/v/\n${dir}/one.txt,box/\n${dir}/e/,box/e/\n`)
    assert.deepEqual(
      files.map((f) => [f.line, f.index, f.relativePath]),
      [
        [2, 0, "B"],
        [2, 1, "Z/y"],
        [2, 2, "a/1"],
        [2, 3, "a b"],
        [2, 4, "a.txt"],
        [2, 5, "b/a"],
        [2, 6, "b/c/z"],
        [2, 7, "b.txt"],
        [2, 8, "é"],
        [3, 9, "one.txt"],
        [4, 10, "x"],
      ],
    )
    assert.deepEqual(
      files.map((f) => f.blobPath),
      ["box/v/B", "box/v/Z/y", "box/v/a/1", "box/v/a b", "box/v/a.txt", "box/v/b/a", "box/v/b/c/z", "box/v/b.txt", "box/v/é", "box/one.txt", "box/e/x"],
    )
    assert.equal(files[0]!.sourcePath, path.join(dir, "d", "B"))
    assert.equal(files[6]!.sourcePath, path.join(dir, "d", "b", "c", "z"))
    assert.equal(summary.files, 11)
    assert.equal(summary.bytes, 12)
    assert.deepEqual(summary.issues, [])
    assert.deepEqual(summary.warnings, [])
    // the same again: deterministic
    const again = await enumerate(`${header}\n${dir}/d/,box/v/\n${dir}/one.txt,box/\n${dir}/e/,box/e/\n`)
    assert.deepEqual(again.files, files)
  }))

test("fields: blob type decided by extension on auto rows, disposition, length, mtime, side files", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/x.vhd": 1024, "d/y.VHDX": 512, "d/z.txt": 3, "d/w.vhd.txt": 5, "m.xml": 40, "p.xml": 60, "f.vhd": 2048 })
    const csv = `${header}
${dir}/d/,box/,,overwrite,${dir}/m.xml,${dir}/p.xml
${dir}/d/,box/typed/,BlockBlob,no-overwrite,,
${dir}/f.vhd,box/disk.vhd,,,None,${dir}/p.xml
`
    const { files } = await enumerate(csv)
    const by = (blob: string): SourceFile => files.find((f) => f.blobPath === blob)!
    assert.equal(by("box/x.vhd").blobType, "PageBlob")
    assert.equal(by("box/y.VHDX").blobType, "PageBlob")
    assert.equal(by("box/z.txt").blobType, "BlockBlob")
    assert.equal(by("box/w.vhd.txt").blobType, "BlockBlob")
    assert.equal(by("box/typed/x.vhd").blobType, "BlockBlob")
    assert.equal(by("box/disk.vhd").blobType, "PageBlob")
    const x = by("box/x.vhd")
    assert.equal(x.disposition, "overwrite")
    assert.equal(x.length, 1024)
    assert.equal(x.mtimeMs, statSync(path.join(dir, "d/x.vhd")).mtime.getTime())
    assert.equal(x.metadataFile, path.join(dir, "m.xml"))
    assert.equal(x.propertiesFile, path.join(dir, "p.xml"))
    assert.equal(x.sideFileBytes, 100)
    const typed = by("box/typed/z.txt")
    assert.equal(typed.disposition, "no-overwrite")
    assert.equal(typed.metadataFile, undefined)
    assert.equal("metadataFile" in typed, false)
    assert.equal(typed.sideFileBytes, 0)
    const disk = by("box/disk.vhd")
    assert.equal(disk.relativePath, "f.vhd")
    assert.equal(disk.line, 4)
    assert.equal(disk.metadataFile, undefined)
    assert.equal(disk.propertiesFile, path.join(dir, "p.xml"))
    assert.equal(disk.sideFileBytes, 60)
    assert.equal(disk.disposition, "rename")
  }))

test("$root/: only the files directly in the directory, one warning per skipped subdirectory", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/a.txt": 1, "d/sub/x": 1, "d/sub/deeper/y": 1, "d/sub2/z": 1, "d/b.txt": 1 })
    const { files, summary } = await enumerate(`${header}\n${dir}/d/,$root/\n`)
    assert.deepEqual(
      files.map((f) => f.blobPath),
      ["$root/a.txt", "$root/b.txt"],
    )
    assert.deepEqual(summary.issues, [])
    assert.deepEqual(
      summary.warnings.map((w) => [w.problem, w.path, w.line, w.severity]),
      [
        ["SubdirectorySkipped", path.join(dir, "d/sub"), 2, "warning"],
        ["SubdirectorySkipped", path.join(dir, "d/sub2"), 2, "warning"],
      ],
    )
  }))

test("symbolic links: to a file followed; to a directory not descended (warning); to nothing skipped (warning); a linked BasePath followed", () =>
  withTemp(async (dir) => {
    tree(dir, { "t/target.bin": 7, "other/inside": 1, "d/plain": 1 })
    symlinkSync(path.join(dir, "t/target.bin"), path.join(dir, "d/to-file"))
    symlinkSync(path.join(dir, "other"), path.join(dir, "d/to-dir"))
    symlinkSync(path.join(dir, "nothing"), path.join(dir, "d/to-nothing"))
    symlinkSync(path.join(dir, "d"), path.join(dir, "linked-base"))
    const { files, summary } = await enumerate(`${header}\n${dir}/linked-base/,box/\n`)
    assert.deepEqual(
      files.map((f) => [f.relativePath, f.length, f.sourcePath]),
      [
        ["plain", 1, path.join(dir, "linked-base/plain")],
        ["to-file", 7, path.join(dir, "linked-base/to-file")],
      ],
    )
    assert.deepEqual(summary.issues, [])
    assert.deepEqual(
      summary.warnings.map((w) => [w.problem, path.basename(w.path)]),
      [
        ["LinkedDirectorySkipped", "to-dir"],
        ["BrokenLinkSkipped", "to-nothing"],
      ],
    )
  }))

test("every problem is collected with the dataset, the row and the path; the good files still come", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/ok.txt": 3, "d/odd.vhd": 1000, "d/sub/fine.vhd": 1024, "a-file.txt": 1, "adir/x": 1, "m.xml": 1 })
    writeFileSync(path.join(dir, "d", "ctl\u0001name"), "x")
    truncateSync(path.join(dir, "d", "ctl\u0001name"), 0)
    writeFileSync(path.join(dir, "d", "huge.bin"), "")
    truncateSync(path.join(dir, "d", "huge.bin"), maxBlockBlobLength + 1)
    writeFileSync(path.join(dir, "d", "huge.vhd"), "")
    truncateSync(path.join(dir, "d", "huge.vhd"), maxPageBlobLength + 512)
    writeFileSync(Buffer.concat([Buffer.from(path.join(dir, "d") + "/"), Buffer.from([0x6e, 0xff, 0x6e])]), "x")
    const csv = `${header}
${dir}/d/,box/
${dir}/missing/,box/m/
${dir}/a-file.txt/,box/f/
${dir}/adir,box/adir
${dir}/ok-but-side.txt,box/s,,,${dir}/no-such.xml,${dir}/m.xml
`
    tree(dir, { "ok-but-side.txt": 2 })
    const { files, summary } = await enumerate(csv)
    assert.deepEqual(
      files.map((f) => f.blobPath),
      ["box/ok.txt", "box/sub/fine.vhd", "box/s"],
    )
    const got = summary.issues.map((i) => [i.line, i.field, i.problem, path.relative(dir, i.path)])
    assert.deepEqual(got, [
      [2, "BasePath", "InvalidBlobName", "d/ctl\u0001name"],
      [2, "BasePath", "FileTooLargeForManifest", "d/huge.bin"],
      [2, "BasePath", "PageBlobTooLarge", "d/huge.vhd"],
      [2, "BasePath", "SourceUnreadable", "d/n\uFFFDn"],
      [2, "BasePath", "PageBlobLengthUnaligned", "d/odd.vhd"],
      [3, "BasePath", "SourceMissing", "missing"],
      [4, "BasePath", "NotADirectory", "a-file.txt"],
      [5, "BasePath", "NotAFile", "adir"],
      [6, "MetadataFile", "SourceMissing", "no-such.xml"],
    ])
    for (const i of summary.issues) {
      assert.equal(i.file, "d.csv")
      assert.ok(i.found.includes(JSON.stringify(i.path).slice(1, -1)) || i.found.includes(i.path), i.found)
    }
    assert.match(summary.issues[4]!.found, /1000 bytes, 488 past the last full page/)
    assert.match(summary.issues[3]!.found, /not valid UTF-8/)

    const exit = await Effect.runPromiseExit(checkSources("d.csv", rowsOf(csv)).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.ok(Exit.isFailure(exit))
    const error = (exit.cause as { error?: unknown }).error
    assert.ok(error instanceof InvalidInput)
    assert.equal(error.format, "dataset")
    assert.equal(error.file, "d.csv")
    assert.equal(error.issues.length, 9)
    assert.match(error.message, /d\.csv: invalid dataset \(9 problems\)/)
    assert.match(error.message, /d\.csv:6: MetadataFile: expected a file waie can read, found ".*no-such\.xml" \(ENOENT/)
  }))

test("unreadable files and directories are issues (a file system that denies some calls)", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/a": 1, "d/b": 1, "d/c": 1, "d/locked/x": 1, "d/z": 1 })
    const p = (r: string) => path.join(dir, r)
    const layer = faulty({ stat: [p("d/a")], readDirectory: [p("d/locked")], access: [p("d/c")] })
    const { files, summary } = await enumerate(`${header}\n${dir}/d/,box/\n`, {}, layer)
    assert.deepEqual(
      files.map((f) => f.relativePath),
      ["b", "z"],
    )
    assert.deepEqual(
      summary.issues.map((i) => [i.problem, path.relative(dir, i.path)]),
      [
        ["SourceUnreadable", "d/a"],
        ["SourceUnreadable", "d/c"],
        ["SourceUnreadable", "d/locked"],
      ],
    )
    assert.match(summary.issues[0]!.found, /permission denied/)
    // without the access check, an unreadable-by-access file passes
    const lax = await enumerate(`${header}\n${dir}/d/,box/\n`, { checkReadable: false }, layer)
    assert.deepEqual(
      lax.files.map((f) => f.relativePath),
      ["b", "c", "z"],
    )
  }))

test("issue lists are capped; the rest are counted", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/1.vhd": 1, "d/2.vhd": 1, "d/3.vhd": 1, "d/4.vhd": 1, "d/5.vhd": 1, "d/ok.vhd": 512 })
    const csv = `${header}\n${dir}/d/,box/\n`
    const { summary } = await enumerate(csv, { issueLimit: 2 })
    assert.equal(summary.issues.length, 2)
    assert.equal(summary.omittedIssues, 3)
    assert.equal(summary.files, 1)
    assert.equal(describeSummary(summary), "1 file, 512 bytes; 5 problems, 0 warnings")
    const exit = await Effect.runPromiseExit(checkSources("d.csv", rowsOf(csv), { issueLimit: 2 }).pipe(Effect.provide(NodeFileSystem.layer)))
    const error = Exit.isFailure(exit) ? (exit.cause as { error?: unknown }).error : undefined
    assert.ok(error instanceof InvalidInput)
    assert.equal(error.omitted, 3)
  }))

test("warnings alone do not stop the pre-flight check", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/a.txt": 4, "d/sub/x": 1 })
    const s = await run(checkSources("d.csv", rowsOf(`${header}\n${dir}/d/,$root/\n`)))
    assert.equal(s.files, 1)
    assert.equal(s.bytes, 4)
    assert.equal(s.warnings.length, 1)
    const again = await run(summarizeSources("d.csv", rowsOf(`${header}\n${dir}/d/,$root/\n`)))
    assert.deepEqual(again, s)
  }))

test("streaming: taking the first files does not stat the whole tree", () =>
  withTemp(async (dir) => {
    const files: Record<string, number> = {}
    for (let i = 0; i < 600; i++) files[`d/f${String(i).padStart(4, "0")}`] = 1
    tree(dir, files)
    const calls = { stat: 0 }
    const e = enumerateSources("d.csv", rowsOf(`${header}\n${dir}/d/,box/\n`), { concurrency: 4 })
    const first = Chunk.toArray(await run(Stream.runCollect(Stream.take(e.files, 3)), faulty({}, calls)))
    assert.deepEqual(
      first.map((f) => f.relativePath),
      ["f0000", "f0001", "f0002"],
    )
    assert.ok(calls.stat < 50, `${calls.stat} stat calls`)
  }))

test("statUnchanged and requireUnchanged: length, mtime, gone", () =>
  withTemp(async (dir) => {
    tree(dir, { "d/a": 10, "d/b": 10, "d/c": 10 })
    const { files } = await enumerate(`${header}\n${dir}/d/,box/\n`)
    const [a, b, c] = files as [SourceFile, SourceFile, SourceFile]
    for (const f of files) {
      assert.equal(await run(statUnchanged(f)), true)
      await run(requireUnchanged(f))
    }
    appendFileSync(a.sourcePath, "more")
    utimesSync(a.sourcePath, new Date(a.mtimeMs / 1000), new Date(a.mtimeMs)) // same mtime, other length
    const t = new Date(b.mtimeMs + 5000)
    utimesSync(b.sourcePath, t, t)
    unlinkSync(c.sourcePath)
    for (const f of files) assert.equal(await run(statUnchanged(f)), false, f.relativePath)
    const failure = async (f: SourceFile) => {
      const exit = await Effect.runPromiseExit(requireUnchanged(f).pipe(Effect.provide(NodeFileSystem.layer)))
      assert.ok(Exit.isFailure(exit))
      const e = (exit.cause as { error?: unknown }).error
      assert.ok(e instanceof SourceChanged)
      return e
    }
    const ea = await failure(a)
    assert.equal(ea.path, a.sourcePath)
    assert.equal(ea.found, "14 bytes")
    assert.match(ea.message, /the source changed since the session began \(it was 10 bytes/)
    const eb = await failure(b)
    assert.equal(eb.found, `modified at ${t.toISOString()}`)
    assert.equal((await failure(c)).found, "gone")
  }))
