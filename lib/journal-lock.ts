/**
 * The journal's lock: `<journal>.lock`, created exclusively (O_EXCL) with the holder's pid, host
 * and time, by every command that writes the journal (PrepImport's sessions, resumes and aborts;
 * `verify --since-journal`), and removed when its scope closes — on success, failure or
 * interruption alike. Two processes appending to one journal would interleave their records
 * (and a resume cuts the journal back to the state it read, which would drop the other's), so the
 * second is refused with `JournalLocked`, naming the holder; nothing of it is written.
 *
 * As with a drive's lock (lib/drive.ts), a lock left by a process that is gone (same host,
 * `kill(pid, 0)` → ESRCH) is taken over, with a note; a lock of another host, or one that cannot
 * be read, is never taken over (a person removes it).
 *
 * When: a command reads the journal first, unlocked, and decides (most refusals come here, and
 * they leave no trace on disk — not even a lock file created and removed); it looks for a live
 * holder before that (`refuseIfJournalLocked`: a clear refusal naming it). It takes the lock right
 * before its first change — when it opens the journal for appending (lib/journal.ts
 * `openJournalWriter`), or before it gives new drives their identity or removes anything
 * (`lockJournalAsRead`) — and checks that the journal is still what it read
 * (`journalUnchangedSince`): another waie that appended, cut or removed it meanwhile makes it
 * refuse with `JournalChanged`, nothing written. The lock is counted per process: taken twice,
 * it is released when the last scope closes.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Data, Effect, Option, type Scope, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import * as path from "node:path"
import type { FileUnwritable } from "./errors.ts"
import { unwritable } from "./files.ts"
import { readJournalRecords } from "./journal-records.ts"

export const journalLockSuffix = ".lock"

export interface JournalLockHolder {
  readonly pid: number
  readonly host: string
  readonly time: string
}

/** Another waie (alive, or on another host) writes the journal. */
export class JournalLocked extends Data.TaggedError("JournalLocked")<{
  readonly journal: string
  readonly lockPath: string
  /** undefined when the lock file cannot be read */
  readonly holder?: JournalLockHolder
  readonly problem?: string
}> {
  override get message(): string {
    const h = this.holder
    if (h === undefined) return `${this.journal}: the journal is locked by ${this.lockPath}, which cannot be read (${this.problem ?? "unreadable"}); remove it if no waie is using the journal`
    return `${this.journal}: the journal is in use by waie (pid ${h.pid} on ${h.host} since ${h.time}); wait for it to finish, or remove ${this.lockPath} if that process is gone`
  }
}

/** The journal changed between the moment a command read it and the moment it locked it. */
export class JournalChanged extends Data.TaggedError("JournalChanged")<{ readonly journal: string; readonly found: string }> {
  override get message(): string {
    return `${this.journal}: another waie wrote the journal while this one was reading it (${this.found}); nothing was written: run the command again`
  }
}

const lockText = (h: JournalLockHolder): string => JSON.stringify({ pid: h.pid, host: h.host, time: h.time }) + "\n"

/** A lock file's holder; a string says what is wrong with it. */
const parseHolder = (text: string): JournalLockHolder | string => {
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
  return { pid: o["pid"], host: o["host"], time: typeof o["time"] === "string" ? o["time"] : "?" }
}

/** Whether a process of this host runs: `kill(pid, 0)`; only ESRCH means gone (EPERM: another user's). */
const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: unknown }).code !== "ESRCH"
  }
}

/** Journals this process holds the lock of (resolved path → how many scopes hold it). */
const held = new Map<string, number>()

/** Whether this process holds the journal's lock. */
export const holdsJournalLock = (real: string): boolean => (held.get(path.resolve(real)) ?? 0) > 0

const isAlreadyExists = (e: { readonly _tag: string; readonly reason?: string }) => e._tag === "SystemError" && e.reason === "AlreadyExists"
const isNotFound = (e: { readonly _tag: string; readonly reason?: string }) => e._tag === "SystemError" && e.reason === "NotFound"

/**
 * Take the journal's lock for the life of the enclosing scope (or share the one this process
 * holds). The journal's folder must exist. A takeover of a dead process's lock is logged
 * (`Effect.logInfo`: the command's Output prints it as a note).
 */
export const lockJournal = (real: string, shown: string = real): Effect.Effect<void, JournalLocked | FileUnwritable, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const key = path.resolve(real)
    const count = held.get(key) ?? 0
    if (count > 0) {
      held.set(key, count + 1)
      yield* Effect.addFinalizer(() => Effect.sync(() => release(key)))
      return
    }
    const fs = yield* FileSystem.FileSystem
    const lockPath = `${real}${journalLockSuffix}`
    const shownLock = `${shown}${journalLockSuffix}`
    const text = lockText({ pid: process.pid, host: hostname(), time: new Date(yield* Clock.currentTimeMillis).toISOString() })
    const create = Effect.scoped(
      Effect.gen(function* () {
        const f = yield* fs.open(lockPath, { flag: "wx", mode: 0o644 })
        // a lock this call made but could not fill is removed: left empty, it would lock the journal for good (found by scripts/faults.test.ts)
        yield* Effect.zipRight(f.writeAll(new TextEncoder().encode(text)), f.sync).pipe(Effect.tapError(() => fs.remove(lockPath).pipe(Effect.ignore)))
      }),
    )
    const acquire = Effect.gen(function* () {
      for (let attempt = 0; ; attempt++) {
        const created = yield* create.pipe(
          Effect.as(true),
          Effect.catchIf(isAlreadyExists, () => Effect.succeed(false)),
          Effect.mapError(unwritable(shownLock)),
        )
        if (created) return
        if (attempt >= 3) return yield* Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, problem: "it kept changing while waie tried to take it" }))
        const found = yield* fs.readFileString(lockPath).pipe(
          Effect.map(Option.some),
          Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<string>())),
          Effect.catchAll((e) => Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, problem: e.message }))),
        )
        if (Option.isNone(found)) continue // released meanwhile: try again
        const holder = parseHolder(found.value)
        if (typeof holder === "string") return yield* Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, problem: holder }))
        if (holder.host !== hostname() || processAlive(holder.pid)) return yield* Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, holder }))
        // a stale lock: moved aside under a name of our own, then checked to be the one judged stale
        const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`
        const moved = yield* fs.rename(lockPath, aside).pipe(
          Effect.as(true),
          Effect.catchIf(isNotFound, () => Effect.succeed(false)),
          Effect.mapError(unwritable(shownLock)),
        )
        if (!moved) continue
        const movedText = yield* fs.readFileString(aside).pipe(Effect.orElseSucceed(() => ""))
        if (movedText !== found.value) {
          // another waie took the lock meanwhile: give it back
          yield* fs.rename(aside, lockPath).pipe(Effect.ignore)
          const other = parseHolder(movedText)
          return yield* Effect.fail(typeof other === "string" ? new JournalLocked({ journal: shown, lockPath: shownLock, problem: other }) : new JournalLocked({ journal: shown, lockPath: shownLock, holder: other }))
        }
        yield* fs.remove(aside).pipe(Effect.ignore)
        yield* Effect.logInfo(`${shown}: took over the journal's lock left by waie pid ${holder.pid} (since ${holder.time}), a process that is gone`)
      }
    })
    yield* Effect.acquireRelease(
      Effect.tap(acquire, () => Effect.sync(() => held.set(key, 1))),
      () =>
        Effect.gen(function* () {
          release(key)
          if (held.has(key)) return
          // removed only while it is still ours (a person may have removed it and another waie taken it)
          const current = yield* fs.readFileString(lockPath).pipe(Effect.orElseSucceed(() => ""))
          if (current === text) yield* fs.remove(lockPath).pipe(Effect.ignore)
        }),
    )
  })

/**
 * Refuse at once when another waie holds the journal's lock (alive, or on another host, or a lock
 * that cannot be read): a command looks before it reads the journal, so that it names the holder
 * rather than judging a journal another process is writing (an interrupted session that is only
 * running). Nothing is written: a stale lock is left for `lockJournal` to take over.
 */
export const refuseIfJournalLocked = (real: string, shown: string = real): Effect.Effect<void, JournalLocked, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    if (holdsJournalLock(real)) return
    const fs = yield* FileSystem.FileSystem
    const lockPath = `${real}${journalLockSuffix}`
    const shownLock = `${shown}${journalLockSuffix}`
    const found = yield* fs.readFileString(lockPath).pipe(
      Effect.map(Option.some),
      Effect.catchAll((e) => (isNotFound(e) || (e._tag === "SystemError" && e.reason === "BadResource") ? Effect.succeed(Option.none<string>()) : Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, problem: e.message })))),
    )
    if (Option.isNone(found)) return
    const holder = parseHolder(found.value)
    if (typeof holder === "string") return yield* Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, problem: holder }))
    if (holder.host !== hostname() || processAlive(holder.pid)) return yield* Effect.fail(new JournalLocked({ journal: shown, lockPath: shownLock, holder }))
  })

/** Lock a journal a command has read (`from`: the end of its intact records), refusing it if it changed meanwhile. */
export const lockJournalAsRead = (real: string, from: number, shown: string = real): Effect.Effect<void, JournalLocked | JournalChanged | FileUnwritable, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    if (holdsJournalLock(real)) return
    yield* lockJournal(real, shown)
    yield* journalUnchangedSince(real, from, shown)
  })

const release = (key: string): void => {
  const count = held.get(key) ?? 0
  if (count <= 1) held.delete(key)
  else held.set(key, count - 1)
}

/**
 * The journal is as a caller read it: `from` bytes of intact records and, after them, nothing
 * but a torn tail (no intact record: an append of another process would be one), or no file at
 * all when `from` is 0.
 */
export const journalUnchangedSince = (real: string, from: number, shown: string = real): Effect.Effect<void, JournalChanged, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(real).pipe(Effect.option)
    if (Option.isNone(info)) {
      if (from === 0) return
      return yield* Effect.fail(new JournalChanged({ journal: shown, found: "it is gone" }))
    }
    const size = Number(info.value.size)
    if (size === from) return
    if (size < from) return yield* Effect.fail(new JournalChanged({ journal: shown, found: `${size} bytes where ${from} were read` }))
    const after = yield* Stream.runHead(
      readJournalRecords(shown, fs.stream(real, { offset: from })).pipe(
        Stream.filter((e) => e._tag === "Record"),
        Stream.catchAll(() => Stream.make("unreadable" as const)),
      ),
    ).pipe(Effect.orElseSucceed(() => Option.some("unreadable" as const)))
    if (Option.isSome(after)) return yield* Effect.fail(new JournalChanged({ journal: shown, found: `records after the ${from} bytes that were read` }))
  })

