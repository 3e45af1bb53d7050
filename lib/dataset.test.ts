import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Exit, Stream } from "effect"
import { InvalidInput, type Issue } from "./errors.ts"
import { blobTypeByName, type DatasetOptions, type DatasetRow, type DirectoryRow, type FileRow, parseDestination, readDataset, validateDataset } from "./dataset.ts"
import { makeMountMap, type MountEntry, type MountMap, parseMount } from "./paths.ts"

const mounts = makeMountMap(["F=/mnt/f", "\\\\srv\\share=/mnt/s"].map((v) => parseMount(v) as MountEntry)) as MountMap
const header = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile"

const check = async (text: string, options: DatasetOptions = {}) => {
  const reading = readDataset("d.csv", Stream.make(new TextEncoder().encode(text)), { mounts, platform: "posix", ...options })
  const rows = Chunk.toArray(await Effect.runPromise(Stream.runCollect(reading.rows)))
  return { rows, report: reading.report() }
}

/** One data row under the full header; its issues. */
const rowIssues = async (row: string, head = header): Promise<Array<Issue>> => (await check(`${head}\n${row}\n`)).report.issues as Array<Issue>
const oneIssue = async (row: string, head = header): Promise<Issue> => {
  const issues = await rowIssues(row, head)
  assert.equal(issues.length, 1, JSON.stringify(issues))
  return issues[0]!
}
const oneRow = async (row: string, head = header): Promise<DatasetRow> => {
  const { rows, report } = await check(`${head}\n${row}\n`)
  assert.deepEqual(report.issues, [])
  assert.equal(rows.length, 1)
  return rows[0]!
}

test("the sample dataset of the guide: one file and one directory", async () => {
  const sample = `${header}
"F:\\50M_original\\100M_1.csv.txt","containername/100M_1.csv.txt",BlockBlob,rename,"None",None
"F:\\50M_original\\","containername/",BlockBlob,rename,"None",None
`
  const { rows, report } = await check(sample)
  assert.deepEqual(report.issues, [])
  assert.equal(report.rows, 2)
  assert.equal(report.files, 1)
  assert.equal(report.directories, 1)
  assert.equal(report.dialect, "blob")
  const file = rows[0] as FileRow
  assert.equal(file.kind, "file")
  assert.equal(file.line, 2)
  assert.equal(file.source.local, "/mnt/f/50M_original/100M_1.csv.txt")
  assert.equal(file.blobPath, "containername/100M_1.csv.txt")
  assert.equal(file.container, "containername")
  assert.equal(file.blobType, "BlockBlob")
  assert.equal(file.blobTypeFrom, "column")
  assert.equal(file.disposition, "rename")
  assert.equal(file.metadataFile, undefined)
  assert.equal(file.propertiesFile, undefined)
  assert.equal(file.raw.basePath, "F:\\50M_original\\100M_1.csv.txt")
  assert.equal(file.raw.metadataFile, "None")
  const dir = rows[1] as DirectoryRow
  assert.equal(dir.kind, "directory")
  assert.equal(dir.source.local, "/mnt/f/50M_original/")
  assert.equal(dir.prefix, "containername/")
  assert.equal(dir.blobType, "BlockBlob")
})

// ---------------------------------------------------------------- header variants

test("header names are case-insensitive, in any order; optional columns may be left out", async () => {
  const row = await oneRow("cont/dir/,/data/dir/", "dstblobpathorprefix,BASEPATH")
  assert.equal(row.kind, "directory")
  assert.equal((row as DirectoryRow).prefix, "cont/dir/")
  assert.equal((row as DirectoryRow).blobType, "auto")
  assert.equal(row.disposition, "rename")
})

test("every optional column on its own", async () => {
  assert.equal(((await oneRow("/a.vhd,c1c/a.vhd,BlockBlob", "BasePath,DstBlobPathOrPrefix,BlobType")) as FileRow).blobType, "BlockBlob")
  assert.equal((await oneRow("/a,c1c/a,overwrite", "BasePath,DstBlobPathOrPrefix,Disposition")).disposition, "overwrite")
  assert.equal((await oneRow("/a,c1c/a,/m.xml", "BasePath,DstBlobPathOrPrefix,MetadataFile")).metadataFile?.local, "/m.xml")
  assert.equal((await oneRow("/a,c1c/a,/p.xml", "BasePath,DstBlobPathOrPrefix,PropertiesFile")).propertiesFile?.local, "/p.xml")
})

test("the DstItemPathOrPrefix / ItemType dialect", async () => {
  const head = "BasePath,DstItemPathOrPrefix,ItemType,Disposition,MetadataFile,PropertiesFile"
  const { rows, report } = await check(`${head}\n/data/a.vhd,disks/a.vhd,blob,,None,None\n/data/b.bin,disks/b.bin,PageBlob,no-overwrite,,\n/data/d/,disks/,,,,\n`)
  assert.deepEqual(report.issues, [])
  assert.equal(report.dialect, "item")
  assert.equal((rows[0] as FileRow).blobType, "PageBlob")
  assert.equal((rows[0] as FileRow).blobTypeFrom, "extension")
  assert.equal((rows[1] as FileRow).blobType, "PageBlob")
  assert.equal(rows[1]!.disposition, "no-overwrite")
  assert.equal((rows[2] as DirectoryRow).blobType, "auto")
})

test("ItemType file (Azure Files) is refused: waie imports to Blob storage only", async () => {
  const issue = await oneIssue("/data/a.txt,share/a.txt,file", "BasePath,DstItemPathOrPrefix,ItemType")
  assert.equal(issue.field, "ItemType")
  assert.match(issue.expected, /waie imports to Blob storage only/)
  assert.equal(issue.found, '"file" (Azure Files)')
})

test("unknown and duplicate columns are issues at the header", async () => {
  const unknown = await check(`BasePath,DstBlobPathOrPrefix,Comment\n/a,c1c/a,hello\n`)
  assert.deepEqual(
    unknown.report.issues.map((i) => [i.line, i.column, i.field, i.found]),
    [[1, 30, "header", '"Comment"']],
  )
  assert.deepEqual(unknown.rows, [])
  const dup = await check(`BasePath,DstBlobPathOrPrefix,basepath\n/a,c1c/a,/b\n`)
  assert.deepEqual(
    dup.report.issues.map((i) => [i.line, i.column, i.found]),
    [[1, 30, '"basepath" again (first as column 1)']],
  )
})

test("missing required columns and mixed dialects are issues", async () => {
  const noBase = await check(`DstBlobPathOrPrefix\nc1c/a\n`)
  assert.deepEqual(
    noBase.report.issues.map((i) => i.expected),
    ["a BasePath column"],
  )
  const noDst = await check(`BasePath,BlobType\n/a,block\n`)
  assert.deepEqual(
    noDst.report.issues.map((i) => i.expected),
    ["a DstBlobPathOrPrefix (or DstItemPathOrPrefix) column"],
  )
  const both = await check(`BasePath,DstBlobPathOrPrefix,DstItemPathOrPrefix,BlobType,ItemType\n/a,c1c/a,c1c/a,block,blob\n`)
  assert.deepEqual(
    both.report.issues.map((i) => i.expected),
    ["one destination column: DstBlobPathOrPrefix or DstItemPathOrPrefix", "one type column: BlobType or ItemType"],
  )
})

test("a first line that is data, not a header, is one issue", async () => {
  const { rows, report } = await check(`"F:\\a\\","cont/"\n"F:\\b\\","cont/"\n`)
  assert.deepEqual(rows, [])
  assert.equal(report.errors, 1)
  assert.match(report.issues[0]!.expected, /a header line naming the columns/)
})

test("an empty file is an error; a header alone is a warning", async () => {
  const empty = await check("")
  assert.equal(empty.report.errors, 1)
  assert.equal(empty.report.issues[0]!.found, "an empty file")
  const alone = await check(`${header}\n`)
  assert.equal(alone.report.errors, 0)
  assert.equal(alone.report.warnings, 1)
  assert.match(alone.report.issues[0]!.found, /only the header/)
})

test("a trailing comma in the header is ignored; extra non-empty cells are issues", async () => {
  await oneRow("/a,c1c/a,", "BasePath,DstBlobPathOrPrefix,")
  const issue = await oneIssue("/a,c1c/a,surprise", "BasePath,DstBlobPathOrPrefix")
  assert.equal(issue.column, 10)
  assert.match(issue.expected, /at most 2 fields/)
})

test("rows with fewer cells than the header: the missing optional cells are absent", async () => {
  const row = await oneRow("/data/a.txt,cont/a.txt")
  assert.equal(row.disposition, "rename")
})

// ---------------------------------------------------------------- cells

test("None, quoted or not and in any case, and empty cells are absent", async () => {
  const row = await oneRow('/a,c1c/a,"None",NONE,none,""')
  assert.equal((row as FileRow).blobTypeFrom, "extension")
  assert.equal(row.disposition, "rename")
  assert.equal(row.metadataFile, undefined)
})

test("quoted paths with spaces, commas and doubled quotes", async () => {
  const row = await oneRow('"F:\\My Files\\a, b.txt","cont/x y/a, b ""c"".txt"')
  assert.equal(row.source.local, "/mnt/f/My Files/a, b.txt")
  assert.equal((row as FileRow).blobPath, 'cont/x y/a, b "c".txt')
  const posix = await oneRow('"/data/say ""hi"", ok.txt",cont/')
  assert.equal(posix.source.local, '/data/say "hi", ok.txt')
  assert.equal((posix as FileRow).blobPath, 'cont/say "hi", ok.txt')
  // Windows forbids '"' in names
  assert.match((await oneIssue('"F:\\a ""b"".txt",cont/')).found, /'"' in/)
})

test("BasePath: required, absolute, resolved through --mount", async () => {
  assert.equal((await oneIssue(",cont/a")).found, "nothing")
  assert.match((await oneIssue("data\\a.txt,cont/a")).found, /a relative path/)
  const unmapped = await oneIssue("G:\\a.txt,cont/a")
  assert.equal(unmapped.field, "BasePath")
  assert.equal(unmapped.line, 2)
  assert.equal(unmapped.column, 1)
  assert.match(unmapped.found, /drive G: has no --mount mapping; add --mount G=\/path/)
  assert.equal((await oneRow("\\\\srv\\share\\music\\,music/")).source.local, "/mnt/s/music/")
  assert.match((await oneIssue("F:\\a\\..\\b\\,cont/")).expected, /without '\.' or '\.\.'/)
})

test("destination: a full Blob-service URL is reduced to container/path", async () => {
  const row = await oneRow("F:\\a\\,https://mystorageaccount.blob.core.windows.net/video/")
  assert.equal((row as DirectoryRow).prefix, "video/")
  assert.equal(row.account, "mystorageaccount")
  assert.equal(((await oneRow("/a.txt,http://acc1.blob.core.chinacloudapi.cn/cont/my%20file.txt")) as FileRow).blobPath, "cont/my file.txt")
  assert.equal(((await oneRow("/a.txt,https://ACC1.blob.core.usgovcloudapi.net/cont/")) as FileRow).blobPath, "cont/a.txt")
})

test("destination: a SAS in a URL is refused and masked", async () => {
  const issue = await oneIssue("/a.txt,https://acc1.blob.core.windows.net/cont/a?sv=2020-01-01&sig=SECRETSIG")
  assert.match(issue.expected, /without a query string/)
  assert.equal(issue.found, '"https://acc1.blob.core.windows.net/cont/a?*******"')
  assert.ok(!JSON.stringify(issue).includes("SECRETSIG"))
})

test("destination: other services, schemes and a URL without container are refused", async () => {
  assert.match((await oneIssue("/a.txt,https://acc1.file.core.windows.net/share/a")).expected, /a Blob service address/)
  assert.match((await oneIssue("/a.txt,ftp://acc1.blob.core.windows.net/c1c/a")).expected, /container\/path/)
  assert.match((await oneIssue("/a.txt,https://acc1.blob.core.windows.net/")).expected, /a container after the account/)
  assert.match((await oneIssue("/a.txt,https://acc1.blob.core.windows.net/c1c/%zz")).expected, /%-escapes/)
})

test("destination: one storage account per dataset", async () => {
  const { report } = await check(`${header}\n/a,https://one.blob.core.windows.net/c1c/a\n/b,https://two.blob.core.windows.net/c1c/b\n/c,c1c/c\n`)
  assert.equal(report.errors, 1)
  assert.equal(report.issues[0]!.line, 3)
  assert.equal(report.issues[0]!.found, '"two" (line 2 names "one")')
})

test("destination of a directory: container/ plus an optional virtual directory ending in '/'", async () => {
  assert.equal(((await oneRow("/d/,cont/a/b/")) as DirectoryRow).prefix, "cont/a/b/")
  const noSlash = await oneIssue("/d/,cont")
  assert.equal(noSlash.field, "DstBlobPathOrPrefix")
  assert.equal(noSlash.column, 5)
  assert.equal(noSlash.found, '"cont" (did you mean "cont/"?)')
  assert.equal((await oneIssue("/d/,cont/a/b")).found, '"cont/a/b" (did you mean "cont/a/b/"?)')
})

test("destination of a file: container/blob; ending in '/' keeps the file's name", async () => {
  assert.equal(((await oneRow("/d/a.txt,cont/b.txt")) as FileRow).blobPath, "cont/b.txt")
  assert.equal(((await oneRow("/d/a.txt,cont/sub/")) as FileRow).blobPath, "cont/sub/a.txt")
  assert.equal(((await oneRow("/d/a.txt,cont/")) as FileRow).blobPath, "cont/a.txt")
  assert.equal((await oneIssue("/d/a.txt,cont")).found, '"cont" (did you mean "cont/a.txt"?)')
})

test("destination: container names are checked, with hints", async () => {
  assert.match((await oneIssue("/d/,Video/")).found, /upper-case letters.*did you mean "video\/"\?/)
  assert.match((await oneIssue("/d/,ab/")).expected, /container name of 3-63/)
  assert.equal((await oneIssue("/d/,/cont/")).found, '"/cont/" (did you mean "cont/"?)')
  assert.equal((await oneIssue("/d/,cont\\sub\\")).found, '"cont\\sub\\" (did you mean "cont/sub/"?)')
})

test("destination: $root", async () => {
  const { rows, report } = await check(`${header}\n/d/,$root/\n`)
  assert.equal(rows.length, 1)
  assert.equal(report.errors, 0)
  assert.equal(report.warnings, 1)
  assert.match(report.issues[0]!.found, /subdirectories are skipped/)
  assert.equal(report.issues[0]!.severity, "warning")
  assert.match((await oneIssue("/d/,$root/sub/")).expected, /\$root\/ alone/)
  assert.equal(((await oneRow("/d/a.txt,$root/a.txt")) as FileRow).blobPath, "$root/a.txt")
  assert.match((await oneIssue("/d/a.txt,$root/x/a.txt")).expected, /without further '\/'/)
})

test("destination: blob names up to 1024 characters", async () => {
  const name1024 = "n".repeat(1020) + ".txt"
  assert.equal(((await oneRow(`/a.txt,cont/${name1024}`)) as FileRow).blobPath, `cont/${name1024}`)
  assert.match((await oneIssue(`/a.txt,cont/x${name1024}`)).found, /1025 characters/)
  // kept file name counts too
  assert.match((await oneIssue(`/${"f".repeat(1020)},cont/abcd/`)).found, /1025 characters/)
  assert.match((await oneIssue(`/d/,cont/${"v".repeat(1023)}/`)).expected, /at most 1023 characters/)
  assert.match((await oneIssue("/a.txt,cont/a\u0001b")).found, /U\+0001/)
})

test("destination: legal but surprising blob names are warnings", async () => {
  const { rows, report } = await check(`${header}\n/a.txt,cont/x\\y.txt\n/b.txt,cont/x//b.txt\n/c.txt,cont/dot.\n`)
  assert.equal(rows.length, 3)
  assert.equal(report.errors, 0)
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.severity]),
    [
      [2, "warning"],
      [3, "warning"],
      [4, "warning"],
    ],
  )
})

test("BlobType: BlockBlob, PageBlob, block, page in any case; absent → by extension", async () => {
  assert.equal(((await oneRow("/a.txt,cont/a,block")) as FileRow).blobType, "BlockBlob")
  assert.equal(((await oneRow("/a.txt,cont/a,PAGE")) as FileRow).blobType, "PageBlob")
  assert.equal(((await oneRow("/a.txt,cont/a,pageblob")) as FileRow).blobType, "PageBlob")
  assert.equal(((await oneRow("/a.txt,cont/a,blockBLOB")) as FileRow).blobType, "BlockBlob")
  assert.equal(((await oneRow("/a.VHDX,cont/a")) as FileRow).blobType, "PageBlob")
  assert.equal(((await oneRow("/a.vhd.txt,cont/a")) as FileRow).blobType, "BlockBlob")
  assert.equal(((await oneRow("/d/,cont/")) as DirectoryRow).blobType, "auto")
  const issue = await oneIssue("/a.txt,cont/a,AppendBlob")
  assert.equal(issue.field, "BlobType")
  assert.equal(issue.found, '"AppendBlob"')
  assert.equal(blobTypeByName("disk.vhd"), "PageBlob")
  assert.equal(blobTypeByName("disk.iso"), "BlockBlob")
})

test("Disposition: rename, no-overwrite, overwrite in any case, canonical lower-case; default rename", async () => {
  assert.equal((await oneRow("/a,cont/a,,Rename")).disposition, "rename")
  assert.equal((await oneRow("/a,cont/a,,NO-OVERWRITE")).disposition, "no-overwrite")
  assert.equal((await oneRow("/a,cont/a,,Overwrite")).disposition, "overwrite")
  assert.equal((await oneRow("/a,cont/a")).disposition, "rename")
  const issue = await oneIssue("/a,cont/a,,skip")
  assert.equal(issue.field, "Disposition")
  assert.match(issue.expected, /rename, no-overwrite or overwrite/)
})

test("MetadataFile and PropertiesFile: absolute file paths, resolved like BasePath", async () => {
  const row = await oneRow("/a,cont/a,,,F:\\meta\\m.xml,\\\\srv\\share\\p.xml")
  assert.equal(row.metadataFile?.local, "/mnt/f/meta/m.xml")
  assert.equal(row.propertiesFile?.local, "/mnt/s/p.xml")
  const dir = await oneIssue("/a,cont/a,,,F:\\meta\\,")
  assert.equal(dir.field, "MetadataFile")
  assert.match(dir.expected, /not ending with/)
  const rel = await oneIssue("/a,cont/a,,,,props.xml")
  assert.equal(rel.field, "PropertiesFile")
  assert.match(rel.found, /relative/)
})

test("every issue of the file is reported, several per row, each with line, column and column name", async () => {
  const text = `${header}
/ok/,cont/,,,,
relative\\,Bad/,append,maybe,meta\\,/p/
/ok2.txt,cont/ok2.txt
G:\\x.txt,cont,,,,
`
  const { rows, report } = await check(text)
  assert.equal(rows.length, 2)
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.column, i.field]),
    [
      [3, 1, "BasePath"],
      [3, 11, "DstBlobPathOrPrefix"],
      [3, 16, "BlobType"],
      [3, 23, "Disposition"],
      [3, 29, "MetadataFile"],
      [3, 35, "PropertiesFile"],
      [5, 1, "BasePath"],
      [5, 10, "DstBlobPathOrPrefix"],
    ],
  )
  for (const i of report.issues) assert.equal(i.file, "d.csv")
})

test("CSV problems are issues among the rows' issues, and the other rows are still checked", async () => {
  const { rows, report } = await check(`${header}\n/a,cont/a"b\n/b,Cont/\n/c,cont/c\n`)
  assert.equal(rows.length, 1)
  assert.deepEqual(
    report.issues.map((i) => i.line),
    [2, 3],
  )
})

test("duplicate destinations are warnings, not errors", async () => {
  const { rows, report } = await check(`${header}\n/a.txt,cont/x.txt\n/b.txt,cont/x.txt,,overwrite\n/d/,cont/v/\n/d/,cont/v/\n/e/,cont/v/\n`)
  assert.equal(rows.length, 5)
  assert.equal(report.errors, 0)
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.severity, i.found]),
    [
      [3, "warning", '"cont/x.txt", also written by line 2 (with disposition overwrite, one would replace the other)'],
      [5, "warning", "the same BasePath and destination as line 4 (its files would be copied twice)"],
    ],
  )
})

test("the duplicate check remembers at most duplicateLimit rows", async () => {
  const { report } = await check(`${header}\n/a,cont/a\n/b,cont/b\n/c,cont/a\n`, { duplicateLimit: 1 })
  assert.equal(report.duplicateCheckLimit, 1)
  assert.equal(report.warnings, 1)
  const { report: r2 } = await check(`${header}\n/a,cont/a\n/b,cont/b\n/c,cont/b\n`, { duplicateLimit: 1 })
  assert.equal(r2.warnings, 0)
})

test("the issue list is capped; the rest is counted", async () => {
  const lines = Array.from({ length: 30 }, (_, i) => `rel${i},cont/a`)
  const { report } = await check(`${header}\n${lines.join("\n")}\n`, { issueLimit: 10 })
  assert.equal(report.issues.length, 10)
  assert.equal(report.omitted, 20)
  assert.equal(report.errors, 30)
})

test("a 100,000-row dataset streams through", async () => {
  const rowCount = 100_000
  const enc = new TextEncoder()
  const chunks = Stream.range(0, rowCount / 1000 - 1).pipe(
    Stream.map((k) => {
      let s = k === 0 ? `${header}\r\n` : ""
      for (let i = k * 1000; i < (k + 1) * 1000; i++) s += `"F:\\data\\dir ${i}\\file, ${i}.bin",cont/d${i % 97}/f${i}.bin,,,,\r\n`
      return enc.encode(s)
    }),
  )
  const reading = readDataset("big.csv", chunks, { mounts, platform: "posix" })
  const count = await Effect.runPromise(Stream.runCount(reading.rows))
  assert.equal(count, rowCount)
  assert.equal(reading.report().errors, 0)
  assert.equal(reading.report().files, rowCount)
})

test("validateDataset fails with InvalidInput listing the issues", async () => {
  const reading = readDataset("d.csv", Stream.make(new TextEncoder().encode(`${header}\nrel,cont/a\n`)), { mounts, platform: "posix" })
  const exit = await Effect.runPromiseExit(validateDataset(reading))
  assert.ok(Exit.isFailure(exit))
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.ok(error instanceof InvalidInput)
  assert.equal(error.format, "dataset")
  assert.equal(error.issues.length, 1)
  const good = readDataset("d.csv", Stream.make(new TextEncoder().encode(`${header}\n/a,cont/a\n`)), { mounts, platform: "posix" })
  const report = await Effect.runPromise(validateDataset(good))
  assert.equal(report.rows, 1)
})

test("running the rows again starts a fresh report", async () => {
  const reading = readDataset("d.csv", Stream.make(new TextEncoder().encode(`${header}\nrel,cont/a\n`)), { mounts, platform: "posix" })
  await Effect.runPromise(Stream.runDrain(reading.rows))
  await Effect.runPromise(Stream.runDrain(reading.rows))
  assert.equal(reading.report().errors, 1)
})

test("parseDestination leaves relative forms as written", () => {
  assert.deepEqual(parseDestination("cont/a b%20c"), { path: "cont/a b%20c" })
  assert.deepEqual(parseDestination("https://acc1.blob.core.windows.net/cont/a%20b"), { path: "cont/a b", account: "acc1" })
})

test("on a Windows host, drive paths need no --mount", async () => {
  const reading = readDataset("d.csv", Stream.make(new TextEncoder().encode(`${header}\nG:\\x\\,cont/\n/posix/,cont/\n`)), { platform: "win32" })
  const rows = Chunk.toArray(await Effect.runPromise(Stream.runCollect(reading.rows)))
  assert.equal(rows[0]!.source.local, "G:\\x\\")
  assert.equal(reading.report().errors, 1)
  assert.match(reading.report().issues[0]!.found, /a POSIX path has no drive here/)
})

test("a POSIX path ending with '\\' names a file, with a warning", async () => {
  const { rows, report } = await check(`${header}\n/data/notes\\,cont/notes\n`)
  assert.equal(rows.length, 1)
  assert.equal(rows[0]!.kind, "file")
  assert.equal(report.errors, 0)
  assert.match(report.issues[0]!.expected, /trailing '\/'/)
})

test("a CSV problem is named by the column it is in", async () => {
  const { report } = await check(`${header}\n/a.txt,cont/a"b.txt\n"/b.txt\n`)
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.field]),
    [
      [2, "DstBlobPathOrPrefix"],
      [3, "BasePath"],
    ],
  )
})

test("a file that is not UTF-8 gives that one issue, not a missing-rows warning too", async () => {
  const reading = readDataset("d.csv", Stream.make(new Uint8Array([...new TextEncoder().encode(`${header}\n/caf`), 0xe9, 0x0a])), { platform: "posix" })
  await Effect.runPromise(Stream.runDrain(reading.rows))
  assert.deepEqual(
    reading.report().issues.map((i) => [i.line, i.column]),
    [[2, 5]],
  )
  const utf16 = readDataset("d.csv", Stream.make(new Uint8Array([0xff, 0xfe, 0x42, 0])), { platform: "posix" })
  await Effect.runPromise(Stream.runDrain(utf16.rows))
  assert.equal(utf16.report().issues.length, 1)
})

test("a broken header line is reported once, and the rows are not read as a header", async () => {
  const { rows, report } = await check(`BasePath,Dst"Blob\n/a,cont/a\n`)
  assert.deepEqual(rows, [])
  assert.deepEqual(
    report.issues.map((i) => i.line),
    [1],
  )
})
