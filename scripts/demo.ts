#!/usr/bin/env node
/**
 * `waie demo`: waie on the bundled example (examples/), one step per command, each printed as
 * the command line a user would type: the example's inputs checked, then a real PrepImport of a
 * small generated source tree onto a folder drive (in a temporary folder, removed afterwards),
 * its manifest checked and rebuilt from the journal. It ends with a verdict and exit code 0 only
 * if every step gave the result it should.
 */
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type CommandSpec, type Io, runCli, runIfMain } from "../lib/cli.ts"
import { ExitCode } from "../lib/errors.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

interface Step {
  readonly what: string
  readonly argv: ReadonlyArray<string>
  readonly exit: number
  /** run in the generated PrepImport folder rather than the repository */
  readonly inWork?: boolean
}

/** An example account key: Base64 of 64 bytes that open no real account. */
const exampleKey = Buffer.from("waie demo: an example storage account key, not a real one.......").toString("base64")

/** A small source tree, a dataset and a driveset for the PrepImport steps. */
const makeWork = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-demo-"))
  const src = path.join(dir, "source")
  mkdirSync(path.join(src, "photos", "2024 trip, part 1"), { recursive: true })
  mkdirSync(path.join(src, "disks"))
  mkdirSync(path.join(dir, "drive-g"))
  mkdirSync(path.join(dir, "logs"))
  writeFileSync(path.join(src, "photos", "koala.jpg"), Buffer.alloc(150_000, 7))
  writeFileSync(path.join(src, "photos", "2024 trip, part 1", "beach é.jpg"), "a beach\n")
  writeFileSync(path.join(src, "photos", "large.bin"), Buffer.alloc(6 * 1024 * 1024, 1))
  // a sparse disk: only its first and last pages hold data
  const disk = Buffer.alloc(2 * 1024 * 1024)
  disk.write("disk header", 0)
  disk.write("disk footer", disk.length - 512)
  writeFileSync(path.join(src, "disks", "disk0.vhd"), disk)
  writeFileSync(path.join(dir, "dataset.csv"), ["BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile", `"${src}/photos/","pictures/",,rename,"${path.resolve(root, "examples", "metadata.xml")}",None`, `"${src}/disks/","vhds/",,overwrite,None,None`, ""].join("\n"))
  writeFileSync(path.join(dir, "driveset.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${path.join(dir, "drive-g")},AlreadyFormatted,SilentMode,AlreadyEncrypted,060456-014509-132033-080300-252615-584177-672089-411631\n`)
  return dir
}

const steps: ReadonlyArray<Step> = [
  { what: "a fresh BitLocker recovery key, for a drive you encrypt yourself", argv: ["key", "new"], exit: 0 },
  { what: "the drives to prepare", argv: ["driveset", "check", "examples/driveset.csv"], exit: 0 },
  { what: "what to copy, with drive F: of the dataset mapped to a local folder", argv: ["dataset", "check", "examples/dataset.csv", "--mount", "F=examples/source"], exit: 0 },
  { what: "the metadata and properties files the dataset sets on a blob", argv: ["metadata", "check", "examples/metadata.xml"], exit: 0 },
  { what: "", argv: ["properties", "check", "examples/koala.properties"], exit: 0 },
  { what: "a drive manifest: every rule of the format, and the hash the job needs", argv: ["manifest", "check", "examples/DriveManifest.xml"], exit: 0 },
  { what: "the same manifest as JSON lines, for jq (the storage key is masked)", argv: ["manifest", "json", "examples/DriveManifest.xml"], exit: 0 },
  { what: "what the service reported after the import: one corrupted page range", argv: ["copylog", "check", "examples/copylog-error.xml"], exit: 0 },
  { what: "the name the rename disposition gives when the blob and its (2) exist", argv: ["rename", "pictures/Seattle.jpg", "pictures/Seattle.jpg", "pictures/Seattle (2).jpg"], exit: 0 },
  { what: "an export blob list: which blobs an export job would select", argv: ["bloblist", "check", "examples/bloblist.xml"], exit: 0 },
  { what: "PrepImport: copy a generated source tree onto a folder drive, with its journal", argv: ["PrepImport", "/j:logs/job.jrn", "/id:session#1", `/sk:${exampleKey}`, "/InitialDriveSet:driveset.csv", "/DataSet:dataset.csv", "/logdir:logs"], exit: 0, inWork: true },
  { what: "the manifest PrepImport left on the drive", argv: ["manifest", "check", "drive-g/DriveManifest.xml"], exit: 0, inWork: true },
  { what: "what the journal knows of its drives", argv: ["PrepImport", "/j:logs/job.jrn", "/ListDrives"], exit: 0, inWork: true },
]

const shellWord = (w: string): string => (/^[A-Za-z0-9_./=:@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

export const command: CommandSpec = {
  path: ["demo"],
  summary: "run waie on the bundled example (examples/), printing each command as you would type it",
  args: [],
  options: [],
  exitCodes: [[1, "a step did not give the result it should (the verdict names it)"]],
  run: (parsed, ctx) =>
    Effect.promise(async () => {
      const { loadCommands } = await import("./commands.ts")
      const commands = (await loadCommands()).filter((c) => c.path[0] !== "demo")
      const failed: Array<string> = []
      const work = makeWork()
      let announced = false
      try {
      for (const step of steps) {
        if (step.inWork && !announced) {
          announced = true
          ctx.out.event("step", { command: `cd ${work}`, what: "a folder with a source tree, a dataset, a driveset and an empty folder drive" }, `\n# a folder with a source tree, a dataset, a driveset and an empty folder drive\n$ cd ${work}`)
        }
        const line = `waie ${step.argv.map((w) => (w.startsWith("/sk:") ? "/sk:<key>" : w)).map(shellWord).join(" ")}`
        if (step.what) ctx.out.event("step", { command: line, what: step.what }, `\n# ${step.what}`)
        else ctx.out.event("step", { command: line }, undefined)
        if (!parsed.json) ctx.io.stdout(`$ ${line}\n`)
        const argv = parsed.json ? [...step.argv, "--json"] : step.argv
        // each step writes through the demo's own output, from the repository's folder
        const io: Io = { ...ctx.io, cwd: step.inWork ? work : root }
        const exit = await runCli(commands, argv, io)
        ctx.out.event("stepResult", { command: line, exit, expected: step.exit }, undefined)
        if (exit !== step.exit) failed.push(`${line} (exit ${exit}, expected ${step.exit})`)
      }
      } finally {
        rmSync(work, { recursive: true, force: true })
      }
      const ok = failed.length === 0
      ctx.out.event(
        "verdict",
        { ok, steps: steps.length, failed },
        ok ? `\ndemo: all ${steps.length} steps gave the expected result` : `\ndemo: ${failed.length} of ${steps.length} steps failed:\n${failed.map((f) => `  ${f}`).join("\n")}`,
      )
      return ok ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
