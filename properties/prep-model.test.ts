/**
 * PrepImport against a model of what is durable (fast-check `fc.commands`): sessions started,
 * crashed at any journal append, resumed, aborted, continued onto an added drive — in any order
 * the tool allows. The real program runs in-process on real folders (drive sizes from the
 * Volumes test layer); a crash is a defect thrown right after the N-th journal append, which
 * leaves exactly what a killed process leaves on disk but for its lock file. After every command:
 *
 * - the journal replays, and the sessions it holds are the model's, with the model's status;
 * - the blobs in the drives' manifests are those of the completed sessions, each once (and,
 *   after a crash while an interrupted session wrote its manifests, maybe its blobs too), and
 *   every one's file on its drive equals its source;
 * - an aborted session leaves the journal and every manifest byte for byte as they were before it.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeContext } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer } from "effect"
import fc from "fast-check"
import { type Io, makeOutput } from "../lib/cli.ts"
import { PromptTest } from "../lib/drive.ts"
import { HashPoolLive } from "../lib/hashpool.ts"
import { replayJournal, SimulatedCrash, simulateCrashAfterAppends } from "../lib/journal.ts"
import { emptyMounts } from "../lib/paths.ts"
import { prepImport, type PrepImportRequest } from "../lib/prep-import.ts"
import { VolumesTest } from "../lib/volumes.ts"

const MB = 1_000_000
const key = Buffer.alloc(64, 5).toString("base64")
const bitlocker = "060456-014509-132033-080300-252615-584177-672089-411631"
const sessionNames = ["s-1", "s-2", "s-3"] as const

interface World {
  readonly dir: string
  readonly journal: string
  readonly drives: { readonly g: string; readonly h: string; readonly i: string }
  readonly capacities: Record<string, number>
  /** blob path → source file, per dataset */
  readonly blobs: ReadonlyArray<ReadonlyMap<string, string>>
}

const makeWorld = (sizes: ReadonlyArray<ReadonlyArray<number>>, gCapacity: number): World => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-model-"))
  const drives = { g: path.join(dir, "g"), h: path.join(dir, "h"), i: path.join(dir, "i") }
  for (const d of Object.values(drives)) mkdirSync(d)
  mkdirSync(path.join(dir, "logs"))
  const blobs = sizes.map((files, n) => {
    const src = path.join(dir, "src", `set${n}`)
    mkdirSync(src, { recursive: true })
    const map = new Map<string, string>()
    files.forEach((size, f) => {
      const file = path.join(src, `f${f}.bin`)
      const seed = createHash("sha256").update(`${n}/${f}`).digest()
      const data = Buffer.alloc(size)
      for (let o = 0; o < size; o += 32) seed.copy(data, o, 0, Math.min(32, size - o))
      writeFileSync(file, data)
      map.set(`box${n}/f${f}.bin`, file)
    })
    writeFileSync(path.join(dir, `ds${n}.csv`), `BasePath,DstBlobPathOrPrefix\n"${src}/","box${n}/"\n`)
    return map
  })
  const row = (root: string) => `${root},AlreadyFormatted,SilentMode,AlreadyEncrypted,${bitlocker}`
  writeFileSync(path.join(dir, "initial.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${row(drives.g)}\n${row(drives.h)}\n`)
  writeFileSync(path.join(dir, "more.csv"), `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n${row(drives.i)}\n`)
  return { dir, journal: path.join(dir, "logs", "j.jrn"), drives, capacities: { [drives.g]: gCapacity, [drives.h]: 3 * MB, [drives.i]: 60 * MB }, blobs }
}

type Outcome = { readonly kind: "ok" } | { readonly kind: "crashed" } | { readonly kind: "failed"; readonly tag: string; readonly message: string }

const run = async (w: World, req: Omit<PrepImportRequest, "journal" | "mounts" | "mountTexts" | "platform" | "silent">, crashAt: number | undefined): Promise<Outcome> => {
  const io: Io = { stdout: () => {}, stderr: () => {}, cwd: w.dir, stderrIsTTY: false }
  simulateCrashAfterAppends(crashAt ?? 0)
  const full: PrepImportRequest = { ...req, journal: { real: w.journal, shown: "j.jrn" }, mounts: emptyMounts, mountTexts: [], platform: "posix", silent: true }
  const layers = Layer.mergeAll(VolumesTest(w.capacities), PromptTest([]), HashPoolLive(1)).pipe(Layer.provideMerge(NodeContext.layer))
  const exit = await Effect.runPromiseExit(prepImport(full, makeOutput(io, true), io).pipe(Effect.provide(layers)))
  simulateCrashAfterAppends(0)
  if (Exit.isSuccess(exit)) return { kind: "ok" }
  const defect = Cause.squash(exit.cause)
  if (defect instanceof SimulatedCrash) return { kind: "crashed" }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") {
    const e = failure.value as { _tag?: string; message?: string }
    return { kind: "failed", tag: e._tag ?? "?", message: e.message ?? String(e) }
  }
  throw defect
}

// ---------------------------------------------------------------- the model

interface Model {
  /** sessions in the journal, in order, with their status */
  sessions: Array<{ readonly name: string; readonly set: number; status: "completed" | "interrupted" }>
  /** what the journal and manifests were before each session began (for abort) */
  readonly snapshots: Map<string, Snapshot>
  iAdded: boolean
}

interface Snapshot {
  readonly journal: string | undefined
  readonly manifests: ReadonlyArray<string | undefined>
}

const read = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, "latin1") : undefined)
const roots = (w: World): ReadonlyArray<string> => [w.drives.g, w.drives.h, w.drives.i]

const snapshot = async (w: World): Promise<Snapshot> => {
  // a journal with no session yet counts as none (an abort of the first session removes it)
  const state = existsSync(w.journal) ? await Effect.runPromise(replayJournal(w.journal).pipe(Effect.provide(NodeContext.layer))) : undefined
  return { journal: state && state.sessions.length > 0 ? read(w.journal) : undefined, manifests: roots(w).map((r) => read(path.join(r, "DriveManifest.xml"))) }
}

/** The journal's sessions after a run, folded into the model (a crash may leave a session or not). */
const syncSessions = async (w: World, m: Model, started?: { name: string; set: number }): Promise<void> => {
  const state = existsSync(w.journal) ? await Effect.runPromise(replayJournal(w.journal).pipe(Effect.provide(NodeContext.layer))) : undefined
  const real = state?.sessions ?? []
  if (started && real.some((s) => s.sessionId === started.name) && !m.sessions.some((s) => s.name === started.name)) m.sessions.push({ ...started, status: "interrupted" })
  for (const s of m.sessions) {
    const r = real.find((x) => x.sessionId === s.name)
    assert.ok(r, `session ${s.name} is in the journal`)
    s.status = r.completed ? "completed" : "interrupted"
  }
  assert.deepEqual(
    real.map((s) => s.sessionId),
    m.sessions.map((s) => s.name),
  )
  assert.ok(real.slice(0, -1).every((s) => s.completed), "only the latest session may be incomplete")
}

const checkInvariants = (w: World, m: Model): void => {
  const expected = new Map<string, string>()
  for (const s of m.sessions) if (s.status === "completed") for (const [blob, src] of w.blobs[s.set]!) expected.set(blob, src)
  const seen = new Map<string, string>()
  for (const root of roots(w)) {
    const xml = read(path.join(root, "DriveManifest.xml"))
    if (xml === undefined) continue
    for (const match of xml.matchAll(/<BlobPath>([^<]*)<\/BlobPath>\s*<FilePath>([^<]*)<\/FilePath>/g)) {
      const blob = match[1]!
      assert.ok(!seen.has(blob), `${blob} is in two manifests`)
      const file = path.join(root, ...match[2]!.split("\\").filter((x) => x !== ""))
      seen.set(blob, file)
    }
  }
  // a crash while an interrupted session was writing its manifests (all its files were complete
  // by then) may leave some drives' manifests listing its blobs as well
  const last = m.sessions[m.sessions.length - 1]
  const maybe = new Map(last?.status === "interrupted" ? w.blobs[last.set]! : [])
  for (const blob of expected.keys()) assert.ok(seen.has(blob), `${blob} of a completed session is in a manifest`)
  for (const blob of seen.keys()) assert.ok(expected.has(blob) || maybe.has(blob), `${blob} is in a manifest but no completed session has it`)
  for (const [blob, file] of seen) assert.ok(readFileSync(file).equals(readFileSync(expected.get(blob) ?? maybe.get(blob)!)), `${blob} on the drive equals its source`)
}

const latest = (m: Model) => m.sessions[m.sessions.length - 1]

class Start implements fc.AsyncCommand<Model, World> {
  constructor(readonly crashAt: number | undefined) {}
  check = (m: Readonly<Model>) => m.sessions.length < 3 && latest(m)?.status !== "interrupted"
  async run(m: Model, w: World): Promise<void> {
    const name = sessionNames.find((n) => !m.sessions.some((s) => s.name === n))!
    const set = sessionNames.indexOf(name as (typeof sessionNames)[number])
    const before = await snapshot(w)
    const first = before.journal === undefined
    const dataSet = { real: path.join(w.dir, `ds${set}.csv`), shown: `ds${set}.csv` }
    const out = await run(
      w,
      first
        ? { action: "session", sessionId: name, dataSet, credential: { kind: "StorageAccountKey", value: key }, initialDriveSet: { real: path.join(w.dir, "initial.csv"), shown: "initial.csv" } }
        : { action: "session", sessionId: name, dataSet },
      this.crashAt,
    )
    if (out.kind === "failed") assert.equal(out.tag, "DataDoesNotFit", out.message)
    if (this.crashAt === undefined) assert.notEqual(out.kind, "crashed")
    m.snapshots.set(name, before)
    await syncSessions(w, m, { name, set })
    if (out.kind === "ok") assert.equal(latest(m)?.status, "completed")
    checkInvariants(w, m)
  }
  toString = () => `Start(crash at ${this.crashAt ?? "none"})`
}

class Resume implements fc.AsyncCommand<Model, World> {
  constructor(readonly crashAt: number | undefined) {}
  check = (m: Readonly<Model>) => latest(m)?.status === "interrupted"
  async run(m: Model, w: World): Promise<void> {
    const out = await run(w, { action: "resume", sessionId: latest(m)!.name }, this.crashAt)
    if (out.kind === "failed") assert.equal(out.tag, "DataDoesNotFit", out.message)
    await syncSessions(w, m)
    if (out.kind === "ok") assert.equal(latest(m)?.status, "completed")
    checkInvariants(w, m)
  }
  toString = () => `Resume(crash at ${this.crashAt ?? "none"})`
}

class Abort implements fc.AsyncCommand<Model, World> {
  check = (m: Readonly<Model>) => latest(m)?.status === "interrupted" && !m.iAdded
  async run(m: Model, w: World): Promise<void> {
    const s = latest(m)!
    const out = await run(w, { action: "abort", sessionId: s.name }, undefined)
    assert.equal(out.kind, "ok", out.kind === "failed" ? out.message : out.kind)
    m.sessions.pop()
    const now = await snapshot(w)
    const before = m.snapshots.get(s.name)!
    assert.equal(now.journal, before.journal, "the journal is as it was before the session")
    assert.deepEqual(now.manifests, before.manifests, "the manifests are as they were before the session")
    await syncSessions(w, m)
    checkInvariants(w, m)
  }
  toString = () => "Abort"
}

class AddDrive implements fc.AsyncCommand<Model, World> {
  constructor(readonly crashAt: number | undefined) {}
  check = (m: Readonly<Model>) => latest(m)?.status === "interrupted" && !m.iAdded
  async run(m: Model, w: World): Promise<void> {
    const out = await run(w, { action: "session", sessionId: latest(m)!.name, additionalDriveSet: { real: path.join(w.dir, "more.csv"), shown: "more.csv" } }, this.crashAt)
    if (out.kind === "failed") assert.equal(out.tag, "DataDoesNotFit", out.message)
    const state = await Effect.runPromise(replayJournal(w.journal).pipe(Effect.provide(NodeContext.layer)))
    m.iAdded = [...state.drives.values()].some((d) => d.root === w.drives.i)
    await syncSessions(w, m)
    if (out.kind === "ok") assert.equal(latest(m)?.status, "completed")
    checkInvariants(w, m)
  }
  toString = () => `AddDrive(crash at ${this.crashAt ?? "none"})`
}

const crash = fc.option(fc.integer({ min: 1, max: 14 }), { nil: undefined, freq: 2 })
const fileSizes = fc.array(fc.constantFrom(0, 7, 3_000, 200_000, 900_000, 4_200_000), { minLength: 1, maxLength: 4 })

test("PrepImport follows the model of what is durable, whatever the order of starts, crashes, resumes, aborts and added drives", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(fileSizes, fileSizes, fileSizes),
      fc.constantFrom(2 * MB, 40 * MB),
      fc.commands([crash.map((c) => new Start(c)), crash.map((c) => new Resume(c)), fc.constant(new Abort()), crash.map((c) => new AddDrive(c))], { maxCommands: 7 }),
      async (sizes, gCapacity, cmds) => {
        const w = makeWorld(sizes, gCapacity)
        try {
          await fc.asyncModelRun(() => ({ model: { sessions: [], snapshots: new Map(), iAdded: false }, real: w }), cmds)
        } catch (e) {
          if (process.env["WAIE_MODEL_VERBOSE"] === "1") console.error(e)
          throw e
        } finally {
          rmSync(w.dir, { recursive: true, force: true })
        }
      },
    ),
    { numRuns: Number(process.env["WAIE_MODEL_RUNS"] ?? 40), verbose: process.env["WAIE_MODEL_VERBOSE"] === "1" ? 2 : 0 },
  )
})

test("the model sees no leftovers: a test world is removed after each run", () => {
  assert.deepEqual(readdirSync(tmpdir()).filter((n) => n.startsWith("waie-model-") && existsSync(path.join(tmpdir(), n, "logs"))), [])
})
