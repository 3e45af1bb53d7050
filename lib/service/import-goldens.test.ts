/**
 * The copy logs of `service import`, byte for byte: the drive of goldens/copylog-import/drive
 * (hand-made, small: 1000-byte blocks) imported into the in-memory store at a fixed time, each
 * case with its own storage state and damage, against the `verbose.xml` and `error.xml` of the
 * case's folder. `WAIE_RECORD_GOLDENS=1` records them (read the diff before committing).
 */
import assert from "node:assert/strict"
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { Clock, Effect, Layer } from "effect"
import { StorageError } from "../storage.ts"
import { VolumesTest } from "../volumes.ts"
import { driveIdentity } from "./drive-check.ts"
import { readDriveInfo } from "./drive-info.ts"
import { importDrive } from "./import.ts"
import { type MemoryStore, type MemoryStoreOptions, makeMemoryStore } from "./memory-store.ts"

const goldens = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../goldens/copylog-import")
const recording = process.env["WAIE_RECORD_GOLDENS"] === "1"
const time = Date.UTC(2024, 0, 2, 3, 4, 5, 6)

/** A clock stopped at one instant: the copy logs' names and nothing else read it. */
const fixedClock = (ms: number): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => ms,
  currentTimeMillis: Effect.succeed(ms),
  unsafeCurrentTimeNanos: () => BigInt(ms) * 1_000_000n,
  currentTimeNanos: Effect.succeed(BigInt(ms) * 1_000_000n),
  sleep: () => Effect.void,
})

interface Case {
  readonly name: string
  readonly store?: MemoryStoreOptions
  readonly seed?: (s: MemoryStore) => void
  readonly damage?: (root: string) => void
  readonly jobFile?: boolean
}

const flip = (file: string, at: number) => {
  const b = readFileSync(file)
  b[at] = b[at]! ^ 0xff
  writeFileSync(file, b)
}

const cases: ReadonlyArray<Case> = [
  { name: "01-clean", jobFile: true },
  {
    name: "02-existing-blobs",
    seed: (s) => {
      s.seed("pictures/a.jpg", new Uint8Array(5))
      s.seed("pictures/b.txt", new Uint8Array(5))
      s.seed("vhds/d.vhd", new Uint8Array(5))
    },
  },
  {
    name: "03-damaged-drive",
    damage: (root) => {
      flip(path.join(root, "photos", "a.jpg"), 1500)
      unlinkSync(path.join(root, "photos", "empty.txt"))
      truncateSync(path.join(root, "disks", "d.vhd"), 5200)
      appendFileSync(path.join(root, "b-meta.xml"), " ")
    },
  },
  {
    name: "04-refused-requests",
    store: {
      fault: (q) =>
        q.operation === "stage block" && q.ref.name === "a.jpg" && q.detail === "AgAAAA=="
          ? new StorageError({ operation: "stage block", target: "pictures/a.jpg", status: 500, code: "InternalError", detail: "" })
          : q.operation === "commit block list" && q.ref.name === "b.txt"
            ? new StorageError({ operation: "commit block list", target: "pictures/b.txt", status: 503, code: "ServerBusy", detail: "" })
            : undefined,
    },
    seed: (s) => s.seed("vhds/d.vhd", new Uint8Array(5), { leased: true }),
  },
  { name: "05-manifest-corrupted", jobFile: true, damage: (root) => appendFileSync(path.join(root, "DriveManifest.xml"), "\n") },
]

for (const c of cases) {
  test(`copy logs of service import: ${c.name}`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "waie-golden-import-"))
    try {
      const root = path.join(dir, "drive")
      cpSync(path.join(goldens, "drive"), root, { recursive: true })
      c.damage?.(root)
      const store = makeMemoryStore({ ...c.store, now: () => new Date(time) })
      c.seed?.(store)
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const identity = yield* driveIdentity(root)
          const info = c.jobFile ? yield* readDriveInfo(path.join(goldens, "WAIEG0LDEN001.xml")) : undefined
          return yield* importDrive(root, info, identity, { job: "golden", logDir: dir, settings: { rangesInFlight: 2, blobsInFlight: 2, forbiddenCutoff: 3, unreachableCutoff: 3 } })
        }).pipe(Effect.withClock(fixedClock(time)), Effect.provide(Layer.mergeAll(store.layer, NodeContext.layer, VolumesTest({}).pipe(Layer.provide(NodeContext.layer))))),
      )
      assert.equal(path.basename(result.logs.verbose.file), "golden_WAIEG0LDEN001_20240102-030405-006_verbose.xml")
      assert.equal(path.basename(result.logs.error.file), "golden_WAIEG0LDEN001_20240102-030405-006_error.xml")
      for (const kind of ["verbose", "error"] as const) {
        const made = readFileSync(result.logs[kind].file, "utf8")
        const expected = path.join(goldens, c.name, `${kind}.xml`)
        if (recording) writeFileSync(expected, made)
        else {
          assert.ok(existsSync(expected), `${expected} missing (record with WAIE_RECORD_GOLDENS=1)`)
          assert.equal(made, readFileSync(expected, "utf8"), `${c.name}/${kind}.xml`)
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
