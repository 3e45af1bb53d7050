#!/bin/sh
":" //; exec node "$(dirname "$0")/../bin/waie.mjs" --script "$0" "$@"
/**
 * `waie demo`: the whole life of an import job on a generated example, one step per command,
 * each printed as the command line a user would type:
 *
 *   the inputs checked and the session planned → PrepImport onto a folder drive that turns out
 *   too small (interrupted) → /AdditionalDriveSet continues it on a second drive → a second
 *   session → both drives verified → a byte of one drive damaged "in transit", and verify finds it
 *   → an azurite started as the storage account → both drives imported as the datacenter would →
 *   the copy log's verdict → RepairImport, through the path map, re-sends the one bad block →
 *   every blob compared with its source file.
 *
 * Everything happens in a temporary folder (removed afterwards) and an azurite of its own (in
 * memory, stopped at the end). The verdict at the end, and exit code 0, only if every step gave
 * the result it should.
 */
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Stream } from "effect"
import { type CommandSpec, type Io, runCli, runIfMain } from "../lib/cli.ts"
import { ExitCode } from "../lib/errors.ts"

/** An example account key: Base64 of 64 bytes that open no real account. */
const exampleKey = Buffer.from("waie demo: an example storage account key, not a real one.......").toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
const MiB = 1024 * 1024

/** Deterministic bytes (xorshift), so every run of the demo copies the same data. */
const bytes = (seed: number, n: number): Buffer => {
  const out = Buffer.alloc(n)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
    }
    out[i] = (x >>> ((i % 4) * 8)) & 0xff
  }
  return out
}

interface Work {
  readonly dir: string
  connectionString?: string
  stopStorage?: () => Promise<void>
}

/** The example: photos (one large file, a folder with spaces and non-ASCII), a sparse disk, documents for a second session. */
const makeWork = (): Work => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-demo-"))
  const src = path.join(dir, "source")
  const put = (rel: string, data: Buffer | string) => {
    mkdirSync(path.dirname(path.join(src, rel)), { recursive: true })
    writeFileSync(path.join(src, rel), data)
  }
  put("photos/koala.jpg", bytes(1, 150_000))
  put("photos/2024 trip, part 1/beach é.jpg", bytes(2, 48_000))
  put("photos/large.bin", bytes(3, 9 * MiB + 12_345))
  for (let i = 0; i < 24; i++) put(`photos/thumbs/t${String(i).padStart(2, "0")}.jpg`, bytes(10 + i, 2_000 + i * 700))
  // a sparse disk image: a header, a footer and one stretch in the middle hold data
  const disk = Buffer.alloc(4 * MiB)
  bytes(4, 512).copy(disk, 0)
  bytes(5, 64 * 1024).copy(disk, 2 * MiB)
  bytes(6, 512).copy(disk, disk.length - 512)
  put("disks/disk0.vhd", disk)
  for (let i = 0; i < 6; i++) put(`documents/report ${i + 1}.txt`, `report ${i + 1}\n`.repeat(200 + i * 50))
  writeFileSync(path.join(dir, "metadata.xml"), '<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n  <Trip>Australia 2024</Trip>\n  <Camera>demo</Camera>\n</Metadata>\n')
  writeFileSync(path.join(dir, "photos.properties"), '<?xml version="1.0" encoding="UTF-8"?>\n<Properties>\n  <Content-Type>image/jpeg</Content-Type>\n  <Cache-Control>max-age=3600</Cache-Control>\n</Properties>\n')
  const head = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile"
  writeFileSync(path.join(dir, "dataset-1.csv"), [head, `"${src}/photos/","pictures/",BlockBlob,rename,"${dir}/metadata.xml","${dir}/photos.properties"`, `"${src}/disks/","vhds/",PageBlob,overwrite,None,None`, ""].join("\n"))
  writeFileSync(path.join(dir, "dataset-2.csv"), [head, `"${src}/documents/","documents/",BlockBlob,no-overwrite,None,None`, ""].join("\n"))
  const driveset = (name: string) => `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${path.join(dir, name)},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}\n`
  for (const d of ["drive-g", "drive-h", "logs"]) mkdirSync(path.join(dir, d))
  writeFileSync(path.join(dir, "drives-g.csv"), driveset("drive-g"))
  writeFileSync(path.join(dir, "drives-h.csv"), driveset("drive-h"))
  return { dir }
}

/** A waie command, or something the user does by hand (shown as shell lines). */
type Step =
  | { readonly kind: "waie"; readonly what: string; readonly argv: (w: Work) => ReadonlyArray<string>; readonly exit: number }
  | { readonly kind: "act"; readonly what: string; readonly shell: (w: Work) => ReadonlyArray<string>; readonly act: (w: Work) => Promise<{ readonly ok: boolean; readonly text: string } | undefined> }

const waie = (what: string, exit: number, argv: ReadonlyArray<string> | ((w: Work) => ReadonlyArray<string>)): Step => ({ kind: "waie", what, exit, argv: typeof argv === "function" ? argv : () => argv })

const journal = "/j:logs/job.jrn"
const driveIdOf = (w: Work, drive: string): string => (JSON.parse(readFileSync(path.join(w.dir, drive, "waie-drive.json"), "utf8")) as { driveId: string }).driveId
const logOf = (w: Work, drive: string, kind: "error" | "verbose"): string => {
  const id = driveIdOf(w, drive)
  const name = readdirSync(path.join(w.dir, "logs")).find((f) => f.startsWith(`demo_${id}_`) && f.endsWith(`_${kind}.xml`))
  return `logs/${name ?? `demo_${id}_…_${kind}.xml`}`
}
/** Where large.bin landed on drive H, and the offset of its second 4 MiB block. */
const damaged = { drive: "drive-h", file: path.join("session#1", "pictures", "large.bin"), offset: 4 * MiB + 1000 }

const steps: ReadonlyArray<Step> = [
  waie("what to copy: photos with metadata and properties files, a sparse disk image", 0, ["dataset", "check", "dataset-1.csv"]),
  waie("the first drive", 0, ["driveset", "check", "drives-g.csv"]),
  waie("the plan: drive G is a folder standing for an 8 MB drive, too small for it all (exit 5 says so)", 5, ["plan", "/DataSet:dataset-1.csv", "/InitialDriveSet:drives-g.csv", "--free-space", "drive-g=8MB", "--no-estimate"]),
  waie("PrepImport anyway: it copies what fits and stops the session as interrupted (exit 5)", 5, [
    "PrepImport",
    journal,
    "/id:session#1",
    `/sk:${exampleKey}`,
    "/InitialDriveSet:drives-g.csv",
    "/DataSet:dataset-1.csv",
    "/logdir:logs",
    "--free-space",
    "drive-g=8MB",
  ]),
  waie("a second drive continues the interrupted session", 0, ["PrepImport", journal, "/id:session#1", "/AdditionalDriveSet:drives-h.csv"]),
  waie("a second session: documents, onto the journal's drives", 0, ["PrepImport", journal, "/id:session#2", "/DataSet:dataset-2.csv"]),
  waie("what the journal knows", 0, ["PrepImport", journal, "/ListCopySessions"]),
  waie("every block of drive G read back and checked against its manifest and the journal", 0, ["verify", "drive-g", "--journal", "logs/job.jrn"]),
  waie("the same for drive H", 0, ["verify", "drive-h", "--journal", "logs/job.jrn"]),
  {
    kind: "act",
    what: "drive H takes a knock in transit: one byte of large.bin's second block changes",
    shell: () => [`printf '\\x00' | dd of='${path.join(damaged.drive, damaged.file)}' bs=1 seek=${damaged.offset} conv=notrunc`],
    act: async (w) => {
      const fd = openSync(path.join(w.dir, damaged.drive, damaged.file), "r+")
      try {
        const b = Buffer.alloc(1)
        b[0] = 0
        writeSync(fd, b, 0, 1, damaged.offset)
      } finally {
        closeSync(fd)
      }
      return undefined
    },
  },
  waie("verify finds it: the file, the block's offset, the hash expected and found (exit 1)", 1, ["verify", "drive-h", "--journal", "logs/job.jrn"]),
  {
    kind: "act",
    what: "a storage account to import into: an azurite (waie storage start runs one and prints this)",
    shell: (w) => ["waie storage start --port 0 &", `export AZURE_STORAGE_CONNECTION_STRING='${w.connectionString ?? "…"}'`],
    act: async (w) => {
      const { launchAzurite } = await import("../lib/azurite.ts")
      const az = await launchAzurite({ inMemory: true })
      w.connectionString = az.connectionString
      w.stopStorage = az.stop
      process.env.AZURE_STORAGE_CONNECTION_STRING = az.connectionString
      return undefined
    },
  },
  waie("the datacenter's part: both drives imported; the damaged block is refused, the rest goes in (exit 6: a blob has errors)", 6, (w) => [
    "service",
    "import",
    "--drive",
    "drive-g",
    "--drive-info",
    `logs/${driveIdOf(w, "drive-g")}.xml`,
    "--drive",
    "drive-h",
    "--drive-info",
    `logs/${driveIdOf(w, "drive-h")}.xml`,
    "--job",
    "demo",
    "--logdir",
    "logs",
  ]),
  waie("drive H's error copy log: which blob, which block, what status", 0, (w) => ["copylog", "check", logOf(w, "drive-h", "error")]),
  waie("RepairImport with the drive itself: the damaged file cannot be used, so it goes to the path map (exit 6)", 6, (w) => [
    "RepairImport",
    "/r:logs/drive-h.rep",
    "/d:drive-h",
    `/CopyLogFile:${logOf(w, "drive-h", "verbose")}`,
    "/PathMapFile:logs/drive-h.map",
  ]),
  {
    kind: "act",
    what: "point the path map at the original file",
    // the line RepairImport added, `\session#1\pictures\large.bin<TAB>`, gets its target (GNU sed)
    shell: (w) => [`sed -i 's|^\\(\\\\session#1\\\\pictures\\\\large\\.bin\\)\\t$|\\1\\t${path.join(w.dir, "source", "photos", "large.bin")}|' logs/drive-h.map`],
    act: async (w) => {
      const map = path.join(w.dir, "logs", "drive-h.map")
      const text = readFileSync(map, "utf8")
      const filled = text.replace(/^(\\session#1\\pictures\\large\.bin)\t$/m, `$1\t${path.join(w.dir, "source", "photos", "large.bin")}`)
      if (filled === text) return { ok: false, text: "the path map does not list \\session#1\\pictures\\large.bin with an empty target" }
      writeFileSync(map, filled)
      return undefined
    },
  },
  waie("RepairImport again: the one bad block is sent again from the original, and the block list committed", 0, (w) => [
    "RepairImport",
    "/r:logs/drive-h.rep",
    "/d:drive-h",
    `/CopyLogFile:${logOf(w, "drive-h", "verbose")}`,
    "/PathMapFile:logs/drive-h.map",
  ]),
  waie("and once more: a finished repair has nothing to do", 0, (w) => ["RepairImport", "/r:logs/drive-h.rep", "/d:drive-h", `/CopyLogFile:${logOf(w, "drive-h", "verbose")}`, "/PathMapFile:logs/drive-h.map"]),
  {
    kind: "act",
    what: "every blob in the account compared with the file it came from (MD5 of the whole blob)",
    shell: () => ["# (the demo reads each blob back and hashes it)"],
    act: (w) => compareWithSources(w),
  },
]

/** Every blob the journal put on a drive, read back from storage and compared with its source. */
const compareWithSources = async (w: Work): Promise<{ readonly ok: boolean; readonly text: string }> => {
  const { readJournalFile } = await import("../lib/journal.ts")
  const { BlobStore } = await import("../lib/storage.ts")
  const { BlobStoreLive } = await import("../lib/storage-azure.ts")
  const { NodeFileSystem } = await import("@effect/platform-node")
  const sources = new Map<string, string>()
  await Effect.runPromise(
    readJournalFile(path.join(w.dir, "logs", "job.jrn")).pipe(
      Stream.runForEach((e) => Effect.sync(() => (e._tag === "FileStarted" ? void sources.set(e.blobPath, e.source) : undefined))),
      Effect.provide(NodeFileSystem.layer),
    ),
  )
  const problems: Array<string> = []
  let blobs = 0
  let total = 0
  await Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* BlobStore
      for (const container of ["pictures", "vhds", "documents"]) {
        yield* Stream.runForEach(store.listBlobs(container, ""), (b) =>
          Effect.gen(function* () {
            const blobPath = `${b.container}/${b.name}`
            const source = sources.get(blobPath)
            blobs++
            total += b.length
            if (source === undefined) return void problems.push(`${blobPath}: no source in the journal`)
            const data = yield* store.read(b, 0, b.length)
            const got = createHash("md5").update(data).digest("hex")
            const want = createHash("md5").update(readFileSync(source)).digest("hex")
            if (got !== want) problems.push(`${blobPath}: MD5 ${got.toUpperCase()}, its source ${want.toUpperCase()}`)
          }),
        )
      }
    }).pipe(Effect.provide(BlobStoreLive({ kind: "connection-string", connectionString: w.connectionString ?? "" }))),
  )
  if (blobs !== sources.size) problems.push(`${blobs} blobs in the account, ${sources.size} files in the journal`)
  return problems.length > 0 ? { ok: false, text: problems.join("\n") } : { ok: true, text: `every blob equals its source: ${blobs} blobs, ${total} bytes` }
}

const shellWord = (w: string): string => (/^[A-Za-z0-9_./=:@%+#-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

export const command: CommandSpec = {
  path: ["demo"],
  summary: "the life of an import job on a generated example: prepare two drives, verify, import into azurite, repair, compare; each command printed as you would type it",
  args: [],
  options: [],
  exitCodes: [[1, "a step did not give the result it should (the verdict names it)"]],
  run: (parsed, ctx) =>
    Effect.promise(async () => {
      const { loadCommands } = await import("./commands.ts")
      const commands = (await loadCommands()).filter((c) => c.path[0] !== "demo")
      const failed: Array<string> = []
      const work = makeWork()
      const previous = process.env.AZURE_STORAGE_CONNECTION_STRING
      const say = (data: Record<string, unknown>, human: string) => ctx.out.event("step", data, human)
      say({ command: `cd ${work.dir}`, what: "a generated example: a source tree, two datasets, two drivesets, two empty folder drives" }, `# a generated example: a source tree, two datasets, two drivesets, two empty folder drives\n$ cd ${work.dir}`)
      try {
        for (const step of steps) {
          if (step.kind === "act") {
            const outcome = await step.act(work)
            // printed after the act: the lines may show what it learnt (the connection string)
            say({ what: step.what, commands: step.shell(work) }, `\n# ${step.what}\n${step.shell(work).map((l) => `$ ${l}`).join("\n")}`)
            if (outcome !== undefined) {
              ctx.out.event("stepResult", { what: step.what, ok: outcome.ok, result: outcome.text }, outcome.text)
              if (!outcome.ok) failed.push(`${step.what}: ${outcome.text}`)
            }
            continue
          }
          const argv = step.argv(work)
          const line = `waie ${argv.map((a) => (a.startsWith("/sk:") ? "/sk:<key>" : a)).map(shellWord).join(" ")}`
          say({ command: line, what: step.what }, `\n# ${step.what}\n$ ${line}`)
          const io: Io = { ...ctx.io, cwd: work.dir }
          const exit = await runCli(commands, parsed.json ? [...argv, "--json"] : argv, io)
          ctx.out.event("stepResult", { command: line, exit, expected: step.exit }, undefined)
          if (exit !== step.exit) failed.push(`${line} (exit ${exit}, expected ${step.exit})`)
        }
      } finally {
        await work.stopStorage?.()
        if (previous === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING
        else process.env.AZURE_STORAGE_CONNECTION_STRING = previous
        rmSync(work.dir, { recursive: true, force: true })
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

