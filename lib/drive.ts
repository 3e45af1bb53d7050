/**
 * The target side of PrepImport: a drive is a mounted file system (a folder), opened as a scoped
 * resource under a lock, with an identity that survives sessions.
 *
 * Opening a drive (`openDrive`), in this order, so that a refusal changes nothing on disk:
 *   1. the root exists and is a folder;
 *   2. it is not, does not hold, and is not inside the journal, the log folder or a source
 *      (compared as real paths, so links and `..` cannot hide an overlap);
 *   3. it keeps data: a canary file is written, synced, read back and removed;
 *   4. the lock `<root>/.waie.lock` is created exclusively (O_EXCL) with the holder's pid, host,
 *      time and journal. A lock of a process that is gone (same host, `kill(pid, 0)` → ESRCH) is
 *      taken over with a note; any other lock fails with `DriveLocked`, naming the holder. The
 *      lock is removed when the scope closes, on success, failure or interruption alike;
 *   5. the identity: `<root>/waie-drive.json` (`{"driveId","journalId","created"}`) says which
 *      journal prepared the drive. A drive of another journal — by its identity file, or by a
 *      `DriveManifest.xml` whose DriveId is not this journal's drive — is refused;
 *   6. a new drive: Format erases it (after a typed confirmation unless SilentMode); without
 *      Format it must be empty (waie's own files and file-system furniture aside). The DriveId
 *      is the device serial when the `Volumes` service shows one, else `WAIE` + 12 upper-case
 *      hex digits from the system's cryptographic random source; either way the identity file
 *      is written (temp + fsync + rename), because it is what ties the drive to its journal.
 *
 * Decisions where the spec is silent:
 *   - the identity file is written for serial drives too (with the serial as driveId): without
 *     it a drive of another journal could not be told apart. Once written it is authoritative:
 *     a drive reopened in another enclosure that shows another serial (or none) keeps its id;
 *   - a drive of another journal is refused even with Format: erasing another job's drive by
 *     mistake is the costlier error, and the remedy (erase it yourself) is named;
 *   - a `DriveManifest.xml` without an identity file of this journal is another journal's, as is
 *     one whose DriveId differs from this journal's drive id (read from its first 64 KiB);
 *   - "waie's own" entries: `.waie.lock`, `waie-drive.json` and `.waie-…` temporaries; file-system
 *     furniture (`lost+found`, `System Volume Information`, `$RECYCLE.BIN`, `.Trashes`,
 *     `.Spotlight-V100`, `.fseventsd`) does not make a drive "not empty";
 *   - Format erases everything in the root but the lock, `lost+found` and `System Volume
 *     Information` (the file system's own); it is refused when another file system is mounted
 *     on a folder directly in the root (it would be erased through the mount). A drive of this
 *     journal that is formatted keeps its DriveId;
 *   - the confirmation answer must be typed exactly (surrounding blanks aside): the letter (`G`)
 *     for a letter drive, the folder as the driveset writes it for a path drive;
 *   - the journal, log folder and sources may not overlap the drive even without Format.
 *
 * Encryption: BitLocker volumes can be created only on Windows. `encryptionPlan` says what to do
 * for a driveset row; elsewhere Encrypt is `EncryptUnsupported`, whose message says how to
 * pre-encrypt on Windows and list the drive as AlreadyEncrypted.
 *
 * A whole Windows volume (a DriveLetter on Windows, not mapped to a folder by `--mount`:
 * `useFromRow` with the row's root sets `volume`) is handled by lib/windows/volume.ts: its
 * BitLocker state (and an AlreadyEncrypted key) is checked before anything else, a Format of the
 * system drive is refused, Format runs format.com on the volume instead of erasing the folder
 * (the lock, erased with it, is put back and the canary runs again), and Encrypt runs manage-bde
 * and hands the recovery password back in `Drive.recoveryKey`. Encrypt of anything that is not
 * such a volume is refused. A folder drive keeps everything described above.
 *
 * node:fs is not used for drive data: all of it goes through the platform FileSystem service, so
 * a fault-injecting file system can be swapped in (the tests do).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Context, Effect, Layer, Option, Redacted, Stream } from "effect"
import type { Scope } from "effect/Scope"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { type DrivesetRow, type DriveTarget, driveName } from "./driveset.ts"
import {
  type BitLockerFailed,
  DriveBelongsToAnotherJournal,
  DriveDoesNotKeepData,
  DriveIdentityInvalid,
  DriveIdentityMismatch,
  DriveLocked,
  type DriveLockHolder,
  DriveNotEmpty,
  DriveNotWritable,
  DriveOverlapsProtectedPath,
  DriveUnavailable,
  DriveUnreachable,
  EncryptUnsupported,
  type FileUnreadable,
  type FileUnwritable,
  FormatNotConfirmed,
  FormatRefused,
  PromptUnavailable,
  type ProtectedRelation,
} from "./errors.ts"
import { unreadable, unwritable } from "./files.ts"
import { type MountMap, type Platform, resolveSourcePath, stripLongPathPrefix } from "./paths.ts"
import { Volumes } from "./volumes.ts"
import type { BitLockerUnavailable, BitLockerVolumeRefused, FormatFailed } from "./windows/errors.ts"
import { volumeRootLetter } from "./windows/tools.ts"
import { checkVolume, type DriveEncryption, type PreparedVolume, prepareVolume, volumeFormatQuestion, type VolumeUse } from "./windows/volume.ts"
import { writeTextAtomically } from "./write-atomic.ts"

export const lockFileName = ".waie.lock"
export const identityFileName = "waie-drive.json"
export const manifestFileName = "DriveManifest.xml"
const canaryPrefix = ".waie-canary-"

// ---------------------------------------------------------------- where a drive is

/** What a person types to confirm a format: the letter (`G`) or the folder as the driveset writes it. */
export const confirmAnswer = (d: DriveTarget): string => (d.kind === "letter" ? d.letter : d.path)

const trimSeparator = (p: string): string => (p.length > 1 && /[\\/]$/.test(p) && !/^[A-Za-z]:[\\/]$/.test(p) ? p.slice(0, -1) : p)

/**
 * The local folder of a driveset's drive. A letter goes through `--mount` (`G=/mnt/g`); on
 * Windows an unmapped letter is the drive itself (`G:\`). A folder is used as it is, a Windows
 * folder on a POSIX host through the mapping of its letter.
 */
export const resolveDriveRoot = (row: Pick<DrivesetRow, "drive">, mounts: MountMap, platform: Platform): Effect.Effect<string, DriveUnreachable> => {
  const d = row.drive
  const name = driveName(d)
  if (d.kind === "letter") {
    const mapped = mounts.drives.get(d.letter)
    if (mapped !== undefined) return Effect.succeed(trimSeparator(platform === "posix" ? path.posix.resolve(mapped) : mapped))
    if (platform === "win32") return Effect.succeed(`${d.letter}:\\`)
    return Effect.fail(new DriveUnreachable({ drive: name, problem: `has no --mount mapping; add --mount ${d.letter}=/path` }))
  }
  if (d.form === "posix" && platform === "win32") return Effect.fail(new DriveUnreachable({ drive: name, problem: "is a POSIX folder, which has no drive on this Windows host" }))
  const r = resolveSourcePath(d.path + (d.form === "windows" ? "\\" : "/"), { mounts, platform })
  if ("expected" in r) return Effect.fail(new DriveUnreachable({ drive: name, problem: `cannot be reached: expected ${r.expected}, found ${r.found}` }))
  return Effect.succeed(trimSeparator(r.local))
}

// ---------------------------------------------------------------- protected paths

export interface ProtectedPath {
  readonly kind: "journal" | "log folder" | "source"
  readonly path: string
}

const foldCase = process.platform === "win32" || process.platform === "darwin"
const fold = (p: string): string => (foldCase ? p.toLowerCase() : p)
const isInside = (child: string, parent: string): boolean => child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep)

/** The real path of `p`, or of its nearest existing ancestor with the rest appended (a journal not yet written). */
export const realPathLenient = (p: string): Effect.Effect<string, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    // a \\?\ path and its plain form are one place
    const abs = path.resolve(stripLongPathPrefix(p))
    const real = yield* fs.realPath(abs).pipe(Effect.option)
    if (Option.isSome(real)) return real.value
    const parent = path.dirname(abs)
    if (parent === abs) return abs
    return path.join(yield* realPathLenient(parent), path.basename(abs))
  })

/** The first protected path that is the root, is in it, or holds it. */
export const findOverlap = (
  root: string,
  protectedPaths: ReadonlyArray<ProtectedPath>,
): Effect.Effect<{ readonly kind: string; readonly path: string; readonly relation: ProtectedRelation } | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const r = fold(yield* realPathLenient(root))
    for (const p of protectedPaths) {
      const q = fold(yield* realPathLenient(p.path))
      const relation: ProtectedRelation | undefined = q === r ? "is the drive" : isInside(q, r) ? "is on the drive" : isInside(r, q) ? "holds the drive" : undefined
      if (relation !== undefined) return { kind: p.kind, path: p.path, relation }
    }
    return undefined
  })

// ---------------------------------------------------------------- the prompt

export interface PromptService {
  /** Ask `question`; true when the answer is `expectedAnswer` exactly (surrounding blanks aside). */
  readonly confirm: (question: string, expectedAnswer: string) => Effect.Effect<boolean, PromptUnavailable>
}

export class Prompt extends Context.Tag("waie/Prompt")<Prompt, PromptService>() {}

/** Reads the answer on stdin, asks on stderr (stdout stays for results); no terminal → `PromptUnavailable`. */
export const PromptLive: Layer.Layer<Prompt> = Layer.succeed(Prompt, {
  confirm: (question, expected) =>
    Effect.suspend(() => {
      if (!process.stdin.isTTY) return Effect.fail(new PromptUnavailable({ question, reason: "standard input is not a terminal" }))
      return Effect.async<boolean>((resume) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true })
        let done = false
        rl.question(question, (answer) => {
          done = true
          rl.close()
          resume(Effect.succeed(answer.trim() === expected))
        })
        rl.once("close", () => {
          if (!done) {
            done = true
            resume(Effect.succeed(false))
          }
        })
        return Effect.sync(() => {
          done = true
          rl.close()
        })
      })
    }),
})

/**
 * A prompt for tests: each question takes the next answer; `undefined` (or no answer left)
 * behaves as a host without a terminal. Questions asked are pushed to `asked` when given.
 */
export const PromptTest = (answers: ReadonlyArray<string | undefined>, asked?: Array<string>): Layer.Layer<Prompt> => {
  let next = 0
  return Layer.succeed(Prompt, {
    confirm: (question, expected) =>
      Effect.suspend(() => {
        asked?.push(question)
        const answer = answers[next++]
        if (answer === undefined) return Effect.fail(new PromptUnavailable({ question, reason: "standard input is not a terminal" }))
        return Effect.succeed(answer.trim() === expected)
      }),
  })
}

// ---------------------------------------------------------------- encryption

export type EncryptionPlan = { readonly kind: "existing"; readonly key: Redacted.Redacted<string> } | { readonly kind: "create"; readonly letter: string }

/**
 * What a row's Encryption asks for on this platform: a key to record (AlreadyEncrypted) or a
 * BitLocker volume to create (Encrypt, Windows and a drive letter only).
 */
export const encryptionPlan = (row: Pick<DrivesetRow, "drive" | "encryption" | "key">, platform: Platform): Effect.Effect<EncryptionPlan, EncryptUnsupported> => {
  const name = driveName(row.drive)
  const letter = row.drive.kind === "letter" ? row.drive.letter : "X"
  if (row.encryption === "AlreadyEncrypted") {
    if (row.key === undefined) return Effect.dieMessage(`driveset row for ${name}: AlreadyEncrypted without a key passed the driveset check`)
    return Effect.succeed({ kind: "existing", key: row.key })
  }
  const shownPlatform = platform === "win32" ? "win32" : process.platform === "win32" ? "posix" : process.platform
  if (platform !== "win32") return Effect.fail(new EncryptUnsupported({ drive: name, platform: shownPlatform, letter }))
  if (row.drive.kind !== "letter") return Effect.fail(new EncryptUnsupported({ drive: name, platform: shownPlatform, letter, problem: "manage-bde encrypts a volume by its drive letter, and this drive is given as a folder" }))
  return Effect.succeed({ kind: "create", letter: row.drive.letter })
}

// ---------------------------------------------------------------- identity

export interface DriveIdentityFile {
  readonly driveId: string
  readonly journalId: string
  readonly created: string
}

const driveIdShape = /^[A-Za-z0-9._-]{1,64}$/

/** A new DriveId: `WAIE` + 12 upper-case hex digits from the cryptographic random source. */
export const newDriveId = (): string => "WAIE" + randomBytes(6).toString("hex").toUpperCase()

/** Parse an identity file; a string says what is wrong. */
export const parseIdentity = (text: string): DriveIdentityFile | string => {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return "not JSON"
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object"
  const o = v as Record<string, unknown>
  if (typeof o["driveId"] !== "string" || !driveIdShape.test(o["driveId"])) return "driveId is not a drive id (letters, digits, '.', '_', '-')"
  if (typeof o["journalId"] !== "string" || o["journalId"] === "") return "journalId is missing"
  if (typeof o["created"] !== "string") return "created is missing"
  return { driveId: o["driveId"], journalId: o["journalId"], created: o["created"] }
}

const isNotFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

const readIdentity = (fs: FileSystem.FileSystem, drive: string, file: string): Effect.Effect<DriveIdentityFile | undefined, DriveIdentityInvalid | FileUnreadable> =>
  Effect.gen(function* () {
    const info = yield* fs.stat(file).pipe(
      Effect.map((i) => i as FileSystem.File.Info | undefined),
      Effect.catchIf(isNotFound, () => Effect.succeed(undefined)),
      Effect.mapError(unreadable(file)),
    )
    if (info === undefined) return undefined
    if (info.type !== "File") return yield* Effect.fail(new DriveIdentityInvalid({ drive, path: file, problem: "not a file" }))
    if (Number(info.size) > 64 * 1024) return yield* Effect.fail(new DriveIdentityInvalid({ drive, path: file, problem: `${info.size} bytes, more than an identity file holds` }))
    const text = yield* fs.readFileString(file).pipe(Effect.mapError(unreadable(file)))
    const id = parseIdentity(text)
    if (typeof id === "string") return yield* Effect.fail(new DriveIdentityInvalid({ drive, path: file, problem: id }))
    return id
  })

const decodeXmlText = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e: string) =>
    e === "lt" ? "<" : e === "gt" ? ">" : e === "amp" ? "&" : e === "quot" ? '"' : e === "apos" ? "'" : e.startsWith("#x") ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith("#") ? String.fromCodePoint(Number(e.slice(1))) : m,
  )

/** Whether the drive holds a manifest, and the DriveId in its first 64 KiB. */
const readManifestDriveId = (fs: FileSystem.FileSystem, file: string): Effect.Effect<{ readonly present: boolean; readonly driveId?: string }, FileUnreadable> =>
  Effect.gen(function* () {
    const exists = yield* fs.exists(file).pipe(Effect.mapError(unreadable(file)))
    if (!exists) return { present: false }
    const head = yield* Effect.scoped(
      Effect.gen(function* () {
        const f = yield* fs.open(file, { flag: "r" })
        return yield* f.readAlloc(64 * 1024)
      }),
    ).pipe(Effect.mapError(unreadable(file)))
    const text = Option.isSome(head) ? new TextDecoder().decode(head.value) : ""
    const m = /<DriveId>\s*([^<]*?)\s*<\/DriveId>/.exec(text)
    return m ? { present: true, driveId: decodeXmlText(m[1]!) } : { present: true }
  })

// ---------------------------------------------------------------- the lock

export const lockText = (h: DriveLockHolder): string => JSON.stringify({ pid: h.pid, host: h.host, time: h.time, journal: h.journal }) + "\n"

/** Parse a lock file; a string says what is wrong. */
export const parseLock = (text: string): DriveLockHolder | string => {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return text.length === 0 ? "empty" : "not JSON"
  }
  if (typeof v !== "object" || v === null) return "not a JSON object"
  const o = v as Record<string, unknown>
  if (typeof o["pid"] !== "number" || !Number.isInteger(o["pid"]) || o["pid"] <= 0) return "no pid"
  if (typeof o["host"] !== "string") return "no host"
  return { pid: o["pid"], host: o["host"], time: typeof o["time"] === "string" ? o["time"] : "?", journal: typeof o["journal"] === "string" ? o["journal"] : "?" }
}

/** Whether a process of this host is running: `kill(pid, 0)`; only ESRCH means gone (EPERM: it exists, as another user). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: unknown }).code !== "ESRCH"
  }
}

const notWritable = (drive: string, root: string) => (e: FileUnwritable) => new DriveNotWritable({ drive, root, code: e.code, reason: e.reason })

const nowIso = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms).toISOString()))

/**
 * Create the lock exclusively; take over a dead process's lock. Returns the text written (the
 * release removes the lock only while it still holds that text) and a note on a takeover.
 */
const acquireLock = (
  fs: FileSystem.FileSystem,
  drive: string,
  root: string,
  journal: string,
): Effect.Effect<{ readonly text: string; readonly note?: string }, DriveLocked | DriveNotWritable> =>
  Effect.gen(function* () {
    const lockPath = path.join(root, lockFileName)
    const text = lockText({ pid: process.pid, host: hostname(), time: yield* nowIso, journal })
    const create = Effect.scoped(
      Effect.gen(function* () {
        const f = yield* fs.open(lockPath, { flag: "wx", mode: 0o644 })
        // a lock this call made but could not fill is removed: left empty, it would lock the drive for good
        yield* Effect.zipRight(f.writeAll(new TextEncoder().encode(text)), f.sync).pipe(Effect.tapError(() => fs.remove(lockPath).pipe(Effect.ignore)))
      }),
    )
    let note: string | undefined
    for (let attempt = 0; ; attempt++) {
      const created = yield* create.pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "AlreadyExists",
          () => Effect.succeed(false),
        ),
        Effect.mapError((e) => notWritable(drive, root)(unwritable(lockPath)(e))),
      )
      if (created) return note === undefined ? { text } : { text, note }
      if (attempt >= 3) return yield* Effect.fail(new DriveLocked({ drive, root, lockPath, problem: "it kept changing while waie tried to take it" }))
      const found = yield* fs.readFileString(lockPath).pipe(
        Effect.map((t) => t as string | undefined),
        Effect.catchIf(isNotFound, () => Effect.succeed(undefined)),
        Effect.catchAll((e) => Effect.fail(new DriveLocked({ drive, root, lockPath, problem: unreadable(lockPath)(e).message }))),
      )
      if (found === undefined) continue // released meanwhile: try again
      const holder = parseLock(found)
      if (typeof holder === "string") return yield* Effect.fail(new DriveLocked({ drive, root, lockPath, problem: holder }))
      if (holder.host !== hostname() || processAlive(holder.pid)) return yield* Effect.fail(new DriveLocked({ drive, root, lockPath, holder }))
      // a stale lock: move it aside under a name of our own, check that what moved is what was judged stale
      const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`
      const moved = yield* fs.rename(lockPath, aside).pipe(
        Effect.as(true),
        Effect.catchIf(isNotFound, () => Effect.succeed(false)),
        Effect.mapError((e) => notWritable(drive, root)(unwritable(lockPath)(e))),
      )
      if (!moved) continue
      const movedText = yield* fs.readFileString(aside).pipe(Effect.orElseSucceed(() => ""))
      if (movedText !== found) {
        // another waie took the lock meanwhile: give it back
        yield* fs.rename(aside, lockPath).pipe(Effect.ignore)
        const other = parseLock(movedText)
        return yield* Effect.fail(typeof other === "string" ? new DriveLocked({ drive, root, lockPath, problem: other }) : new DriveLocked({ drive, root, lockPath, holder: other }))
      }
      yield* fs.remove(aside).pipe(Effect.ignore)
      note = `${drive.endsWith(":") ? `drive ${drive}` : `drive ${drive}:`} took over the lock left by waie pid ${holder.pid} (since ${holder.time}, journal ${holder.journal}), a process that is gone`
    }
  })

/** The lock again, with the same text (so the scope's release removes it), after format.com erased it with the volume. */
const restoreLock = (fs: FileSystem.FileSystem, drive: string, root: string, text: string): Effect.Effect<void, DriveLocked | DriveNotWritable> => {
  const lockPath = path.join(root, lockFileName)
  return Effect.scoped(
    Effect.gen(function* () {
      const f = yield* fs.open(lockPath, { flag: "wx", mode: 0o644 })
      yield* f.writeAll(new TextEncoder().encode(text))
      yield* f.sync
    }),
  ).pipe(
    Effect.catchAll((e) =>
      Effect.fail(
        e._tag === "SystemError" && e.reason === "AlreadyExists"
          ? new DriveLocked({ drive, root, lockPath, problem: "another process created it while the drive was being formatted" })
          : notWritable(drive, root)(unwritable(lockPath)(e)),
      ),
    ),
  )
}

const releaseLock = (fs: FileSystem.FileSystem, root: string, text: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const lockPath = path.join(root, lockFileName)
    const current = yield* fs.readFileString(lockPath).pipe(Effect.orElseSucceed(() => ""))
    if (current === text) yield* fs.remove(lockPath).pipe(Effect.ignore)
  })

// ---------------------------------------------------------------- checks

/** Write a canary file, sync it, read it back, compare, remove it. */
const checkKeepsData = (fs: FileSystem.FileSystem, drive: string, root: string): Effect.Effect<void, DriveNotWritable | DriveDoesNotKeepData> =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = path.join(root, `${canaryPrefix}${process.pid}-${randomBytes(4).toString("hex")}`)
      const data = new Uint8Array(randomBytes(4096))
      let created = false
      yield* Effect.acquireRelease(
        Effect.scoped(
          Effect.gen(function* () {
            const f = yield* fs.open(file, { flag: "wx", mode: 0o644 })
            created = true
            yield* f.writeAll(data)
            yield* f.sync
          }),
        ).pipe(
          // a write or fsync that failed (a volume that loses what it accepted) leaves the file: the release below would not run
          Effect.tapError(() => (created ? fs.remove(file).pipe(Effect.ignore) : Effect.void)),
          Effect.mapError((e) => notWritable(drive, root)(unwritable(file)(e))),
        ),
        () => fs.remove(file).pipe(Effect.ignore),
      )
      const back = yield* fs.readFile(file).pipe(Effect.mapError((e) => new DriveDoesNotKeepData({ drive, root, problem: `a test file written and synced could not be read back (${unreadable(file)(e).code})` })))
      if (back.length !== data.length) return yield* Effect.fail(new DriveDoesNotKeepData({ drive, root, problem: `a test file of ${data.length} bytes, written and synced, read back as ${back.length} bytes` }))
      const at = data.findIndex((b, i) => back[i] !== b)
      if (at !== -1) return yield* Effect.fail(new DriveDoesNotKeepData({ drive, root, problem: `a test file written and synced read back different from byte ${at} on` }))
    }),
  )

const furniture = new Set(["lost+found", "System Volume Information", "$RECYCLE.BIN", ".Trashes", ".Spotlight-V100", ".fseventsd"])
/** What Format leaves: the file system's own folders. */
const keptByFormat = new Set(["lost+found", "System Volume Information"])

/** waie's lock, identity file and temporaries (canaries, `.waie-drive.json.*.tmp`, stale locks moved aside). */
export const isWaieOwn = (name: string): boolean => name === lockFileName || name === identityFileName || name.startsWith(".waie-") || name.startsWith(`${lockFileName}.`)

/**
 * What a waie that stopped mid-way (a crash, a kill) left in the root: its canary file, a lock
 * it had moved aside to take over. Each name carries its process id; only those of processes that
 * are gone are removed, with the lock held (found by scripts/faults.test.ts: a drive kept them
 * for good, and an aborted session did not leave its drives as they were).
 */
const removeLeftovers = (fs: FileSystem.FileSystem, drive: string, root: string): Effect.Effect<void, DriveUnavailable> =>
  Effect.gen(function* () {
    for (const name of yield* listRoot(fs, drive, root)) {
      const m = name.startsWith(canaryPrefix) ? /^(\d+)-/.exec(name.slice(canaryPrefix.length)) : name.startsWith(`${lockFileName}.stale-`) ? /^(\d+)-/.exec(name.slice(lockFileName.length + 7)) : null
      if (m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) yield* fs.remove(path.join(root, name)).pipe(Effect.ignore)
    }
  })

/** Names in the root that are neither waie's nor the file system's. */
export const foreignEntries = (names: ReadonlyArray<string>): Array<string> => names.filter((n) => !isWaieOwn(n) && !furniture.has(n)).sort()

const listRoot = (fs: FileSystem.FileSystem, drive: string, root: string): Effect.Effect<Array<string>, DriveUnavailable> =>
  fs.readDirectory(root).pipe(Effect.mapError((e) => new DriveUnavailable({ drive, root, problem: `cannot be listed (${unreadable(root)(e).code})` })))

/**
 * What Format will erase: everything in the root but the lock and the file system's own
 * folders. Refused (before anything is erased) when a folder in the root is another file system.
 */
const erasable = (fs: FileSystem.FileSystem, drive: string, root: string): Effect.Effect<Array<string>, DriveUnavailable | FormatRefused> =>
  Effect.gen(function* () {
    const names = (yield* listRoot(fs, drive, root)).filter((n) => n !== lockFileName && !keptByFormat.has(n))
    const rootInfo = yield* fs.stat(root).pipe(Effect.mapError((e) => new DriveUnavailable({ drive, root, problem: `cannot be read (${unreadable(root)(e).code})` })))
    for (const n of names) {
      const p = path.join(root, n)
      const info = yield* fs.stat(p).pipe(Effect.option)
      if (Option.isSome(info) && info.value.type === "Directory" && info.value.dev !== rootInfo.dev) {
        return yield* Effect.fail(new FormatRefused({ drive, root, kind: "mount", path: p, relation: "is on the drive" }))
      }
    }
    return names
  })

const erase = (fs: FileSystem.FileSystem, drive: string, root: string, names: ReadonlyArray<string>): Effect.Effect<void, DriveNotWritable> =>
  Effect.gen(function* () {
    for (const n of names) {
      const p = path.join(root, n)
      yield* fs.remove(p, { recursive: true }).pipe(
        Effect.catchIf(isNotFound, () => Effect.void),
        Effect.mapError((e) => notWritable(drive, root)(unwritable(p)(e))),
      )
    }
    yield* Effect.scoped(Effect.flatMap(fs.open(root, { flag: "r" }), (d) => d.sync)).pipe(Effect.ignore)
  })

// ---------------------------------------------------------------- opening a drive

/** How a drive is used: added from a driveset, or a drive the journal already knows. */
export type DriveUse =
  | {
      readonly kind: "add"
      readonly format: boolean
      /** SilentMode: format without asking */
      readonly silent: boolean
      /** what the person must type to confirm a format */
      readonly confirmAnswer: string
      /** Windows: the letter of the whole volume the drive is (lib/windows/volume.ts) */
      readonly volume?: string
      /** the driveset's Encryption, acted on for a volume (Encrypt of anything else is refused) */
      readonly encryption?: DriveEncryption
    }
  | {
      readonly kind: "known"
      readonly driveId: string
      /** an abort resumed: its drive may have lost its identity file to the abort already (no manifest may be there either) */
      readonly identityMayBeGone?: boolean
    }

/**
 * A driveset row as a first use of its drive. With `target` (the platform and the root
 * `resolveDriveRoot` gave), a letter that is its own volume root on Windows (`G` → `G:\`, not
 * mapped elsewhere by `--mount`) makes the drive a `volume`.
 */
export const useFromRow = (row: Pick<DrivesetRow, "drive" | "format" | "prompt"> & Partial<Pick<DrivesetRow, "encryption" | "key">>, target?: { readonly platform: Platform; readonly root: string }): DriveUse => {
  const volume = target !== undefined && target.platform === "win32" && row.drive.kind === "letter" && volumeRootLetter(target.root) === row.drive.letter ? row.drive.letter : undefined
  const encryption: DriveEncryption | undefined = row.encryption === "Encrypt" ? { kind: "encrypt" } : row.encryption === "AlreadyEncrypted" && row.key !== undefined ? { kind: "existing", key: row.key } : undefined
  return {
    kind: "add",
    format: row.format === "Format",
    silent: row.prompt === "SilentMode",
    confirmAnswer: confirmAnswer(row.drive),
    ...(volume !== undefined ? { volume } : {}),
    ...(encryption !== undefined ? { encryption } : {}),
  }
}

export interface OpenDriveOptions {
  /** the local folder (`resolveDriveRoot`) */
  readonly root: string
  /** the drive as the user names it, for messages: `G:` or the folder */
  readonly drive: string
  readonly journalId: string
  /** the journal file: recorded in the lock, and never allowed on the drive */
  readonly journalPath: string
  /** the log folder and the sources (the journal is added) */
  readonly protectedPaths?: ReadonlyArray<ProtectedPath>
  readonly use: DriveUse
}

export interface Drive {
  readonly root: string
  readonly drive: string
  readonly driveId: string
  /** where the DriveId comes from: the device serial, or the identity file waie wrote */
  readonly identity: "serial" | "file"
  /** the identity file was written by this open (a new drive, or a formatted one) */
  readonly created: boolean
  readonly formatted: boolean
  /** things a person should know (a stale lock taken over, BitLocker still encrypting) */
  readonly notes: ReadonlyArray<string>
  readonly freeBytes: () => Effect.Effect<number, FileUnreadable>
  /** the recovery password of the BitLocker volume this open created (Encrypt on a Windows volume) */
  readonly recoveryKey?: Redacted.Redacted<string>
}

export type OpenDriveError =
  | DriveUnavailable
  | DriveNotWritable
  | DriveDoesNotKeepData
  | DriveLocked
  | DriveBelongsToAnotherJournal
  | DriveNotEmpty
  | DriveIdentityInvalid
  | DriveIdentityMismatch
  | DriveOverlapsProtectedPath
  | FormatRefused
  | FormatNotConfirmed
  | PromptUnavailable
  | FileUnreadable
  | FileUnwritable
  | EncryptUnsupported
  | BitLockerVolumeRefused
  | BitLockerFailed
  | BitLockerUnavailable
  | FormatFailed

/**
 * A drive checked and locked (steps 1–5 above, a Format confirmed) but not yet changed: `commit`
 * formats it when asked and writes its identity file. A session opening several drives checks
 * them all before it commits any, so that a refused drive leaves the others as they were (an
 * identity file of a journal that was then never created would refuse the drive next time).
 */
export interface CheckedDrive {
  /** the DriveId the drive has, or will have once committed */
  readonly driveId: string
  readonly commit: Effect.Effect<Drive, CommitError>
}

export type CommitError = DriveNotWritable | FileUnwritable | DriveLocked | DriveDoesNotKeepData | FormatFailed | BitLockerFailed | BitLockerUnavailable

/**
 * Open a drive for the life of the enclosing scope: checked, locked, identified (see the top of
 * this file). The lock is removed when the scope closes.
 */
export const openDrive = (o: OpenDriveOptions): Effect.Effect<Drive, OpenDriveError, Scope | FileSystem.FileSystem | Volumes | Prompt> => Effect.flatMap(checkDrive(o), (c) => c.commit)

/** `openDrive` up to the first change on the drive (the lock aside, removed with the scope). */
export const checkDrive = (o: OpenDriveOptions): Effect.Effect<CheckedDrive, OpenDriveError, Scope | FileSystem.FileSystem | Volumes | Prompt> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const volumes = yield* Volumes
    const { drive, use } = o
    const root = path.resolve(o.root)
    const format = use.kind === "add" && use.format

    const volume: VolumeUse | undefined =
      use.kind === "add" && use.volume !== undefined ? { letter: use.volume, format: use.format, ...(use.encryption !== undefined ? { encryption: use.encryption } : {}) } : undefined
    if (use.kind === "add" && use.encryption?.kind === "encrypt" && volume === undefined) {
      const letter = /^[A-Z]$/.test(use.confirmAnswer) ? use.confirmAnswer : "X"
      return yield* Effect.fail(new EncryptUnsupported({ drive, platform: process.platform, letter, problem: "manage-bde encrypts a whole volume given by its drive letter, and this drive is a folder (or a letter --mount maps to one)" }))
    }
    // read-only, and first: a locked BitLocker volume explains itself better than a failed stat
    const volumeNotes = volume === undefined ? [] : yield* checkVolume(drive, root, volume)

    const info = yield* fs.stat(root).pipe(
      Effect.mapError((e) =>
        isNotFound(e) ? new DriveUnavailable({ drive, root, problem: "does not exist: mount the drive there, or check --mount" }) : new DriveUnavailable({ drive, root, problem: `cannot be read (${unreadable(root)(e).code})` }),
      ),
    )
    if (info.type !== "Directory") return yield* Effect.fail(new DriveUnavailable({ drive, root, problem: "is not a folder: a drive is the folder its file system is mounted on" }))

    const overlap = yield* findOverlap(root, [{ kind: "journal", path: o.journalPath }, ...(o.protectedPaths ?? [])])
    if (overlap !== undefined) return yield* Effect.fail(format ? new FormatRefused({ drive, root, ...overlap }) : new DriveOverlapsProtectedPath({ drive, root, ...overlap }))

    yield* checkKeepsData(fs, drive, root)

    const lock = yield* Effect.acquireRelease(acquireLock(fs, drive, root, o.journalPath), (l) => releaseLock(fs, root, l.text))
    yield* removeLeftovers(fs, drive, root)
    const notes = [...(lock.note === undefined ? [] : [lock.note]), ...volumeNotes]

    const identityPath = path.join(root, identityFileName)
    const manifestPath = path.join(root, manifestFileName)
    const identity = yield* readIdentity(fs, drive, identityPath)
    if (identity !== undefined && identity.journalId !== o.journalId) {
      return yield* Effect.fail(new DriveBelongsToAnotherJournal({ drive, root, file: identityPath, otherJournalId: identity.journalId, driveId: identity.driveId }))
    }
    const manifest = yield* readManifestDriveId(fs, manifestPath)
    if (manifest.present && (identity === undefined || manifest.driveId !== identity.driveId)) {
      return yield* Effect.fail(new DriveBelongsToAnotherJournal({ drive, root, file: manifestPath, ...(manifest.driveId !== undefined ? { driveId: manifest.driveId } : {}) }))
    }

    const serial = yield* volumes.deviceSerial(root)
    const made = (driveId: string, created: boolean, formatted: boolean, prepared: PreparedVolume = { notes: [] }): Drive => ({
      root,
      drive,
      driveId,
      identity: serial !== undefined && serial === driveId ? "serial" : "file",
      created,
      formatted,
      notes: [...notes, ...prepared.notes],
      freeBytes: () => volumes.freeBytes(root),
      ...(prepared.recoveryKey !== undefined ? { recoveryKey: prepared.recoveryKey } : {}),
    })

    const unchanged = (driveId: string): CheckedDrive => ({ driveId, commit: Effect.succeed(made(driveId, false, false)) })
    if (use.kind === "known") {
      if (identity === undefined && use.identityMayBeGone === true) return unchanged(use.driveId)
      if (identity === undefined) return yield* Effect.fail(new DriveIdentityMismatch({ drive, root, expected: use.driveId, found: `no ${identityFileName}` }))
      if (identity.driveId !== use.driveId) return yield* Effect.fail(new DriveIdentityMismatch({ drive, root, expected: use.driveId, found: `drive ${identity.driveId}` }))
      return unchanged(identity.driveId)
    }

    let names: ReadonlyArray<string> = []
    if (use.format) {
      // format.com replaces the whole file system, mounts inside it included: nothing to list
      if (volume === undefined) names = yield* erasable(fs, drive, root)
      if (!use.silent) {
        const prompt = yield* Prompt
        const question = volume === undefined ? `Format drive ${drive}? Everything in ${root} will be erased. Type ${use.confirmAnswer} to confirm: ` : volumeFormatQuestion(drive, volume.letter, use.confirmAnswer)
        const ok = yield* prompt.confirm(question, use.confirmAnswer)
        if (!ok) return yield* Effect.fail(new FormatNotConfirmed({ drive, expected: use.confirmAnswer }))
      }
    } else if (identity === undefined) {
      const foreign = foreignEntries(yield* listRoot(fs, drive, root))
      if (foreign.length > 0) return yield* Effect.fail(new DriveNotEmpty({ drive, root, names: foreign.slice(0, 5), count: foreign.length }))
    }

    // an Encrypt volume is encrypted even when it already carries this journal's identity
    if (identity !== undefined && !use.format && volume?.encryption?.kind !== "encrypt") return unchanged(identity.driveId)

    const written: DriveIdentityFile = identity ?? { driveId: serial ?? newDriveId(), journalId: o.journalId, created: yield* nowIso }
    const commit = Effect.gen(function* () {
      let prepared: PreparedVolume = { notes: [] }
      if (volume !== undefined) prepared = yield* prepareVolume(drive, volume, written.driveId, Effect.zipRight(restoreLock(fs, drive, root, lock.text), checkKeepsData(fs, drive, root)))
      else if (use.format) yield* erase(fs, drive, root, names)
      yield* writeTextAtomically(identityPath, Stream.make(JSON.stringify(written) + "\n"))
      return made(written.driveId, true, use.format, prepared)
    }).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    return { driveId: written.driveId, commit }
  })
