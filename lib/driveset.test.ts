import assert from "node:assert/strict"
import { test } from "node:test"
import { Chunk, Effect, Exit, Redacted, Stream } from "effect"
import { InvalidInput, type Issue } from "./errors.ts"
import { type DrivesetRow, incorrectValue, loadDriveset, maskKeys, parseDrive, readDriveset } from "./driveset.ts"

const header = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey"
const key = "060456-014509-132033-080300-252615-584177-672089-411631"
const badKey = "060456-014509-132033-080300-252615-584177-672089-411632"

const check = async (text: string) => {
  const reading = readDriveset("drives.csv", Stream.make(new TextEncoder().encode(text)))
  const rows = Chunk.toArray(await Effect.runPromise(Stream.runCollect(reading.rows)))
  return { rows, report: reading.report() }
}
const rowsOf = async (...lines: Array<string>) => check(`${header}\n${lines.join("\n")}\n`)
const oneIssue = async (line: string): Promise<Issue> => {
  const { report } = await rowsOf(line)
  assert.equal(report.issues.length, 1, JSON.stringify(report.issues))
  return report.issues[0]!
}
const oneRow = async (line: string, head = header): Promise<DrivesetRow> => {
  const { rows, report } = await check(`${head}\n${line}\n`)
  assert.deepEqual(report.issues, [])
  return rows[0]!
}

test("the sample driveset of the guide", async () => {
  const { rows, report } = await rowsOf(`G,AlreadyFormatted,SilentMode,AlreadyEncrypted,${key}`, "H,Format,SilentMode,Encrypt,")
  assert.deepEqual(report.issues, [])
  assert.equal(report.drives, 2)
  const [g, h] = rows
  assert.deepEqual(g!.drive, { kind: "letter", letter: "G" })
  assert.equal(g!.format, "AlreadyFormatted")
  assert.equal(g!.prompt, "SilentMode")
  assert.equal(g!.encryption, "AlreadyEncrypted")
  assert.equal(Redacted.value(g!.key!), key)
  assert.equal(g!.raw.existingBitLockerKey, "******")
  assert.equal(g!.line, 2)
  assert.deepEqual(h!.drive, { kind: "letter", letter: "H" })
  assert.equal(h!.format, "Format")
  assert.equal(h!.encryption, "Encrypt")
  assert.equal(h!.key, undefined)
})

test("the key never shows when a row is printed or serialised", async () => {
  const { rows } = await rowsOf(`G,AlreadyFormatted,SilentMode,AlreadyEncrypted,${key}`)
  const row = rows[0]!
  assert.ok(!JSON.stringify(row).includes("060456"))
  assert.ok(!String(row.key).includes("060456"))
})

test('original message: "When Format is specified, Encrypt must also be specified"', async () => {
  const issue = await oneIssue("H,Format,SilentMode,AlreadyEncrypted,")
  assert.equal(issue.field, "Encryption")
  assert.equal(issue.line, 2)
  assert.equal(issue.column, 21)
  assert.ok(issue.found.includes("When Format is specified, Encrypt must also be specified"))
})

test('original message: "BitLocker Key should not be specified" (and the key is not echoed)', async () => {
  const issue = await oneIssue(`H,Format,SilentMode,Encrypt,${key}`)
  assert.equal(issue.field, "ExistingBitLockerKey")
  assert.ok(issue.found.includes("BitLocker Key should not be specified"))
  assert.ok(!JSON.stringify(issue).includes("060456"))
})

test('original message: "Incorrect value for SilentOrPromptOnFormat: none"', async () => {
  for (const value of ["", "None", '"none"']) {
    const issue = await oneIssue(`H,Format,${value},Encrypt,`)
    assert.equal(issue.field, "SilentOrPromptOnFormat")
    assert.ok(issue.found.includes("Incorrect value for SilentOrPromptOnFormat: none"), issue.found)
  }
})

test('original message: "Incorrect value for SilentOrPromptOnFormat: <value>"', async () => {
  const issue = await oneIssue("H,Format,Silent,Encrypt,")
  assert.equal(issue.expected, "SilentMode or PromptOnFormat")
  assert.equal(issue.found, '"Silent" (Incorrect value for SilentOrPromptOnFormat: Silent)')
})

test("the same sentence for FormatOption and Encryption", async () => {
  assert.ok((await oneIssue("H,Reformat,SilentMode,Encrypt,")).found.includes("Incorrect value for FormatOption: Reformat"))
  assert.ok((await oneIssue("H,Format,SilentMode,,")).found.includes("Incorrect value for Encryption: none"))
  assert.equal(incorrectValue("X", ""), "Incorrect value for X: none")
})

test("AlreadyEncrypted needs a key", async () => {
  const issue = await oneIssue("G,AlreadyFormatted,SilentMode,AlreadyEncrypted,")
  assert.equal(issue.field, "ExistingBitLockerKey")
  assert.equal(issue.found, "nothing")
  // a missing cell too
  assert.equal((await oneIssue("G,AlreadyFormatted,SilentMode,AlreadyEncrypted")).found, "nothing")
})

test("the key is checked with the recovery-key rules, never echoed", async () => {
  const issue = await oneIssue(`G,AlreadyFormatted,SilentMode,AlreadyEncrypted,${badKey}`)
  assert.equal(issue.field, "ExistingBitLockerKey")
  assert.equal(issue.found, "group 8 is not a multiple of 11")
  assert.ok(!JSON.stringify(issue).includes("0604"))
  assert.match((await oneIssue("G,AlreadyFormatted,SilentMode,AlreadyEncrypted,12345")).found, /1 group/)
})

test("a key written with spaces between the groups is kept with '-'", async () => {
  const row = await oneRow(`G,AlreadyFormatted,SilentMode,AlreadyEncrypted,${key.replace(/-/g, " ")}`)
  assert.equal(Redacted.value(row.key!), key)
})

test("Format with AlreadyEncrypted reports that alone, not a missing key", async () => {
  const { report } = await rowsOf("H,Format,SilentMode,AlreadyEncrypted,")
  assert.equal(report.issues.length, 1)
})

test("AlreadyFormatted may go with Encrypt or AlreadyEncrypted", async () => {
  assert.equal((await oneRow("R,AlreadyFormatted,PromptOnFormat,Encrypt,")).encryption, "Encrypt")
  assert.equal((await oneRow(`r,AlreadyFormatted,PromptOnFormat,AlreadyEncrypted,${key}`)).encryption, "AlreadyEncrypted")
})

test("values are case-insensitive and come out in canonical spelling", async () => {
  const row = await oneRow("h,format,SILENTMODE,encrypt,")
  assert.equal(row.format, "Format")
  assert.equal(row.prompt, "SilentMode")
  assert.equal(row.encryption, "Encrypt")
  assert.equal(row.raw.formatOption, "format")
})

test("DriveLetter: a letter, with or without ':', or an absolute mount folder", async () => {
  assert.deepEqual(parseDrive("r"), { kind: "letter", letter: "R" })
  assert.deepEqual(parseDrive("R:"), { kind: "letter", letter: "R" })
  assert.deepEqual(parseDrive("R:\\"), { kind: "letter", letter: "R" })
  assert.deepEqual(parseDrive("/mnt/disk1/"), { kind: "path", path: "/mnt/disk1", form: "posix" })
  assert.deepEqual(parseDrive("D:\\mounts\\disk1"), { kind: "path", path: "D:\\mounts\\disk1", form: "windows" })
  for (const bad of ["RS", "1", "disk1", "./disk", "\\\\srv\\share\\", "/", "/mnt/../etc", "R:x"]) assert.ok("expected" in parseDrive(bad), bad)
  const issue = await oneIssue("GH,Format,SilentMode,Encrypt,")
  assert.equal(issue.field, "DriveLetter")
  assert.equal(issue.found, '"GH"')
  assert.equal((await oneIssue(",Format,SilentMode,Encrypt,")).found, "nothing")
})

test("a drive listed twice is an issue, however it is spelled", async () => {
  const { report } = await rowsOf("G,Format,SilentMode,Encrypt,", "g:,Format,SilentMode,Encrypt,", "/mnt/a,Format,SilentMode,Encrypt,", "/mnt/a/,Format,SilentMode,Encrypt,")
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.found]),
    [
      [3, "G: again (first on line 2)"],
      [5, "/mnt/a again (first on line 4)"],
    ],
  )
})

test("every issue at once, each with its line and column", async () => {
  const { rows, report } = await rowsOf(
    "G,Format,SilentMode,AlreadyEncrypted,",
    "H,Format,,Encrypt,",
    `I,AlreadyFormatted,SilentMode,Encrypt,${key}`,
    "J,Format,SilentMode,Encrypt,",
    "K,Sometimes,Maybe,Encrypt,",
  )
  assert.equal(rows.length, 1)
  assert.deepEqual(
    report.issues.map((i) => [i.line, i.column, i.field]),
    [
      [2, 21, "Encryption"],
      [3, 10, "SilentOrPromptOnFormat"],
      [4, 39, "ExistingBitLockerKey"],
      [6, 3, "FormatOption"],
      [6, 13, "SilentOrPromptOnFormat"],
    ],
  )
})

test("header: any order and case; the key column may be left out", async () => {
  const row = await oneRow("encrypt,h,silentmode,format", "encryption,DRIVELETTER,SilentOrPromptOnFormat,FormatOption")
  assert.deepEqual(row.drive, { kind: "letter", letter: "H" })
  const { report } = await check("DriveLetter,FormatOption,Encryption,Colour\nH,Format,Encrypt,blue\n")
  assert.deepEqual(
    report.issues.map((i) => [i.field, i.expected]).sort(),
    [
      ["header", "a SilentOrPromptOnFormat column"],
      ["header", "a column name (DriveLetter, FormatOption, SilentOrPromptOnFormat, Encryption, ExistingBitLockerKey)"],
    ].sort(),
  )
})

test("an empty driveset, a header alone and a headerless file are errors", async () => {
  assert.equal((await check("")).report.errors, 1)
  assert.equal((await check(`${header}\n`)).report.errors, 1)
  const headerless = await check(`G,Format,SilentMode,Encrypt,\n`)
  assert.equal(headerless.report.errors, 1)
  assert.match(headerless.report.issues[0]!.expected, /a header line/)
})

test("more than ten drives is a warning: they need more than one job", async () => {
  const letters = "DEFGHIJKLMN".split("")
  const { rows, report } = await rowsOf(...letters.map((l) => `${l},Format,SilentMode,Encrypt,`))
  assert.equal(rows.length, 11)
  assert.equal(report.errors, 0)
  assert.equal(report.warnings, 1)
  assert.equal(report.issues[0]!.line, 12)
})

test("a value shaped like a key is masked wherever it would be echoed", async () => {
  const { report } = await rowsOf(`${key},Format,SilentMode,Encrypt,`, `H,Format,SilentMode,Encrypt,,${key}`)
  assert.ok(report.issues.length >= 2)
  assert.ok(!JSON.stringify(report.issues).includes("060456"))
  assert.equal(maskKeys(`a ${key} b`), "a ****** b")
  assert.equal(maskKeys("123456"), "123456")
})

test("loadDriveset gives the rows, or InvalidInput with every issue", async () => {
  const good = readDriveset("d.csv", Stream.make(new TextEncoder().encode(`${header}\nH,Format,SilentMode,Encrypt,\n`)))
  const { rows } = await Effect.runPromise(loadDriveset(good))
  assert.equal(rows.length, 1)
  const bad = readDriveset("d.csv", Stream.make(new TextEncoder().encode(`${header}\nH,Format,,Encrypt,\nI,Format,SilentMode,AlreadyEncrypted,\n`)))
  const exit = await Effect.runPromiseExit(loadDriveset(bad))
  assert.ok(Exit.isFailure(exit))
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.ok(error instanceof InvalidInput)
  assert.equal(error.format, "driveset")
  assert.equal(error.issues.length, 2)
})
