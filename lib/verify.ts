/**
 * `waie verify`: is a prepared drive what its manifest says, byte for byte? Re-reads every file
 * the drive's manifest lists and checks every block and page range against its MD5, the bytes a
 * page blob's ranges leave out (they must be zero), every metadata/properties file against its
 * hash, the manifest against the rules of its format (lib/manifest-check.ts) and, given the
 * journal, the manifest's MD5 against the ManifestHash the journal and the job file
 * `<DriveId>.xml` recorded and the drive's identity against the journal's.
 *
 * Streaming and bounded: the manifest is read a chunk at a time and each block is checked as its
 * element comes (a manifest of millions of blocks never sits in memory); data is read into a ring
 * of shared-memory slots (8 × 4 MiB) — a small file whole, a large one in aligned 4 MiB windows —
 * and hashed by the hash pool's worker threads while the next piece is read (pieces under 64 KiB
 * on the main thread, where a hash costs less than a message). Per drive, the only state that
 * grows is the set of metadata/properties files already checked (one entry per distinct file)
 * and, with `--since-journal`, the drive paths of the files written since the last verify.
 *
 * What counts as a problem (each reported with file, offset, length, expected and found; a
 * problem of one blob never stops the others from being checked):
 * - a block or page range whose bytes do not hash to the manifest's MD5;
 * - a file shorter than the blob's Length (the blocks or ranges past its end are not checked one
 *   by one: the one "file length" problem names where the file ends), or longer (the bytes past
 *   the Length would not be imported);
 * - a file that is missing, not a file, or cannot be read (the read error is named);
 * - decision: non-zero bytes of a page blob outside its listed page ranges. The service writes
 *   only the listed ranges, so the blob reads zeros there: the file on the drive and the blob it
 *   gives differ, data would be lost silently. waie lists every non-zero page, so on a drive waie
 *   prepared such bytes mean the file changed after it was copied. Reported per run of non-zero
 *   512-byte pages;
 * - a metadata or properties file that is missing or whose MD5 differs;
 * - every error of the manifest's own rules (warnings are listed and do not fail the verify);
 * - with the journal: a DriveId the journal does not know, a ManifestHash that differs (or none
 *   recorded), a job file that differs or is missing, an identity file (`waie-drive.json`) of
 *   another drive or journal. Without the journal, an identity file of another DriveId.
 *
 * `--since-journal` checks only the blobs whose files the journal records as completed after the
 * last DriveVerified record of this drive (all of them the first time); the manifest's rules and
 * hash and the metadata/properties files are always checked. When nothing is wrong the check is
 * recorded (lib/journal.ts, DriveVerified), under the drive's lock so that no PrepImport writes
 * the journal meanwhile. It records as verified only what the manifest lists: with the latest
 * session interrupted, up to where that session began (its files are in no manifest yet).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Exit, Fiber, Option, Queue, Scope, Stream } from "effect"
import { createHash } from "node:crypto"
import * as nodePath from "node:path"
import { blockSize, type DescribedBlock, pageSize } from "./blocks.ts"
import { DriveIdentityMismatch, type FileUnreadable, type Issue } from "./errors.ts"
import { fileBytes, unreadable } from "./files.ts"
import { HashPool, type HashResult } from "./hashpool.ts"
import { type JournalState, openJournalWriter, readJournalFile, replayJournal } from "./journal.ts"
import { driveFullReason } from "./manifest-build.ts"
import { checkDrivePath, type ManifestReport, ManifestRules } from "./manifest-check.ts"
import type { BlobStart, FileRef, ManifestEvent } from "./manifest-model.ts"
import { ManifestParser, readerIssue } from "./manifest-reader.ts"
import { identityFileName, manifestFileName, openDrive, parseIdentity } from "./drive.ts"

export type VerifyProblemKind =
  | "changedBlock"
  | "changedPageRange"
  | "unlistedData"
  | "shortFile"
  | "longFile"
  | "missingFile"
  | "unreadableFile"
  | "changedSideFile"
  | "missingSideFile"
  | "manifestHash"
  | "driveIdentity"

/** One thing on the drive that is not what the manifest (or the journal) says. */
export interface VerifyProblem {
  readonly kind: VerifyProblemKind
  /** the file concerned, as shown: the blob's file on the drive, a metadata file, the journal, the job file */
  readonly file: string
  /** the manifest's FilePath and BlobPath of the blob, when the problem is a blob's */
  readonly filePath?: string
  readonly blobPath?: string
  /** the bytes concerned in the file */
  readonly offset?: number
  readonly length?: number
  readonly expected: string
  readonly found: string
  /** the manifest line of the element that says what was expected */
  readonly line?: number
}

const labels: Readonly<Record<VerifyProblemKind, string>> = {
  changedBlock: "block",
  changedPageRange: "page range",
  unlistedData: "pages outside the page ranges",
  shortFile: "file length",
  longFile: "file length",
  missingFile: "file",
  unreadableFile: "read",
  changedSideFile: "MD5",
  missingSideFile: "file",
  manifestHash: "ManifestHash",
  driveIdentity: "drive identity",
}

/** `file: what at offset N (L bytes): expected X, found Y` — a problem for a person. */
export const formatProblem = (p: VerifyProblem): string => {
  const where = p.offset === undefined ? "" : ` at offset ${p.offset}${p.length === undefined ? "" : ` (${p.length} bytes)`}`
  const manifestLine = p.line === undefined ? "" : ` [manifest line ${p.line}]`
  return `${p.file}: ${labels[p.kind]}${where}: expected ${p.expected}, found ${p.found}${manifestLine}`
}

export interface Given {
  readonly real: string
  readonly shown: string
}

export interface VerifyOptions {
  /** the drive's folder */
  readonly root: Given
  /** the manifest (default: `DriveManifest.xml` in the root) */
  readonly manifest?: Given
  readonly journal?: Given
  /** check only what the journal records as written since the drive's last verify (needs the journal) */
  readonly sinceJournal?: boolean
  /** problems passed to `onProblem`; more are only counted (default 1,000) */
  readonly maxProblems?: number
  /** 4 MiB slots of the read/hash ring (default 8) */
  readonly slots?: number
  readonly onProblem: (p: VerifyProblem) => void
}

export interface VerifyResult {
  /** no problem and no error of the manifest's rules */
  readonly ok: boolean
  readonly manifestFile: string
  /** the manifest check's verdict, issues and hash (MD5 of the file: its ManifestHash) */
  readonly manifest: ManifestReport
  readonly driveId?: string
  readonly blobs: number
  /** blobs whose data was read (with --since-journal, fewer than `blobs`) */
  readonly checkedBlobs: number
  /** bytes of the checked blobs (their Lengths) */
  readonly bytes: number
  /** blocks and page ranges of the checked blobs */
  readonly blocks: number
  readonly pageRanges: number
  /** distinct metadata/properties files checked */
  readonly sideFiles: number
  readonly problems: number
  /** problems beyond `maxProblems`, counted but not passed on */
  readonly omitted: number
  /** --since-journal: the journal length the previous verify had checked up to (undefined: none) */
  readonly since?: number
}

// ---------------------------------------------------------------- paths

/** The local file a FilePath names (`\dir\file` or `dir/file`, from the root), or undefined when it names none below the root. */
export const localFileOf = (root: string, filePath: string): string | undefined => {
  if (checkDrivePath(filePath) !== undefined) return undefined
  const parts = filePath.split(/[\\/]/).filter((s) => s !== "" && s !== ".")
  if (parts.length === 0) return undefined
  return nodePath.join(root, ...parts)
}

// ---------------------------------------------------------------- the journal

/**
 * The FilePaths of the drive's files whose completion the journal records at or after `from`
 * (FilesCompleted records do not name the drive: FileStarted does, and comes first).
 */
export const filesCompletedSince = (journal: Given, driveId: string, from: number) =>
  Effect.gen(function* () {
    const started = new Map<string, string>()
    const since = new Set<string>()
    yield* Stream.runForEach(readJournalFile(journal.real, journal.shown), (e) =>
      Effect.sync(() => {
        if (e._tag === "FileStarted") {
          if (e.driveId === driveId) started.set(`${e.sessionId}\0${e.file}`, e.filePath)
        } else if (e._tag === "FileSkipped" && e.reason === `${driveFullReason}${driveId}`) {
          // this drive ran out of space: the file was left to another
          started.delete(`${e.sessionId}\0${e.file}`)
        } else if (e._tag === "FilesCompleted") {
          for (const f of e.files) {
            const key = `${e.sessionId}\0${f}`
            const filePath = started.get(key)
            if (filePath === undefined) continue
            started.delete(key)
            if (e.offset >= from) since.add(filePath)
          }
        }
      }),
    )
    return since
  })

/**
 * The journal length a clean verify of `state` may record: every file completed before it is in
 * the drives' manifests. With the latest session interrupted, where it began.
 */
export const verifiableUpTo = (state: JournalState): number => {
  const latest = state.sessions[state.sessions.length - 1]
  return latest !== undefined && !latest.completed ? latest.offset : state.end
}

// ---------------------------------------------------------------- the check

/**
 * The problems of one part of the check (a blob, a metadata file), held until the parts before it
 * are done: problems come out in manifest order however the parts overlap.
 */
interface Unit {
  readonly problems: Array<VerifyProblem>
  /** hashes still to come */
  pending: number
  ended: boolean
}

/** 4 MiB of a file read in line, aligned on 4 MiB, in one slot: the blocks and ranges in it are hashed from there, its gaps checked there. */
interface Window {
  readonly slot: number
  readonly start: number
  readonly length: number
  /** hashes still reading it */
  users: number
  /** the blob moved on: the slot is free once its last hash is done */
  retired: boolean
}

interface InFlight {
  readonly fiber: Fiber.RuntimeFiber<HashResult>
  /** the slot the bytes are in: its own, or its window's */
  readonly slot: number
  readonly window: Window | undefined
  readonly kind: "changedBlock" | "changedPageRange"
  readonly expected: string
  readonly offset: number
  readonly length: number
  readonly line: number | undefined
  readonly blob: BlobState
}

interface BlobState {
  readonly start: BlobStart
  readonly unit: Unit
  /** undefined: the blob's data is not read (its file is missing, or a read failed) */
  file: FileSystem.File | undefined
  readonly shown: string
  readonly size: number
  /** page blobs: the end of the listed bytes so far (what lies before it and is not listed has been checked for zeros) */
  covered: number
  /** a run of non-zero unlisted pages not yet reported */
  run: { offset: number; end: number } | undefined
  window: Window | undefined
}

type Listed = Extract<ManifestEvent, { _tag: "Block" | "PageRange" }>

/** A blob's elements held until its end, while there are few: such a blob is checked on its own fiber, beside others. */
interface Held {
  readonly start: BlobStart
  readonly unit: Unit
  readonly local: string
  readonly shown: string
  readonly items: Array<Listed>
}

/** Blobs of at most this many blocks or ranges (and one slot of data) are checked concurrently; longer ones in line. */
const heldItems = 16

const emptyMd5 = "D41D8CD98F00B204E9800998ECF8427E"

/**
 * Pieces shorter than this are hashed on the main thread: a message to a worker and back costs
 * more than hashing 64 KiB (a page blob of alternating pages has 4,096 ranges of 512 bytes per
 * 4 MiB; measured: 262,144 such ranges took 50 s through the pool).
 */
const poolMinBytes = 64 * 1024
/** Hashes waiting in the pool at most (each holds its piece of a slot). */
const maxInFlight = 64

const md5Of = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex").toUpperCase()
const zeroPage = Buffer.alloc(pageSize)

const isNotFound = (e: { readonly _tag: string; readonly reason?: string }): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** The runs of non-zero 512-byte pages of `bytes` (which starts at file offset `at`), as [offset, end) pairs. */
const nonZeroRuns = (bytes: Uint8Array, at: number): Array<[number, number]> => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const runs: Array<[number, number]> = []
  for (let p = 0; p < buf.length; p += pageSize) {
    const end = Math.min(p + pageSize, buf.length)
    if (zeroPage.compare(buf, p, end, 0, end - p) === 0) continue
    const last = runs[runs.length - 1]
    if (last !== undefined && last[1] === at + p) last[1] = at + end
    else runs.push([at + p, at + end])
  }
  return runs
}

/**
 * Verify a drive. Fails only when the manifest itself cannot be read (FileUnreadable), or the
 * journal cannot (FileUnreadable, InvalidInput); everything found on the drive is a problem
 * passed to `onProblem`, and the result says whether there was any.
 *
 * Concurrency: small blobs (a few blocks or ranges, at most 4 MiB) are checked on fibers of their
 * own, up to `slots` at once, each reading its file whole into one slot; a larger blob is read in
 * line, 4 MiB at a time, its hashes overlapping the next reads. Problems are passed on in manifest
 * order all the same.
 */
export const verifyDrive = (o: VerifyOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const pool = yield* HashPool
      const root = o.root
      const manifest = o.manifest ?? { real: nodePath.join(root.real, manifestFileName), shown: nodePath.join(root.shown, manifestFileName) }
      const maxProblems = o.maxProblems ?? 1000
      const slotCount = Math.max(1, o.slots ?? 8)
      const scope = yield* Effect.scope

      // ------------------------------------------------ problems, in order
      let problems = 0
      let omitted = 0
      const emit = (p: VerifyProblem): void => {
        problems++
        if (problems <= maxProblems) o.onProblem(p)
        else omitted++
      }
      const units: Array<Unit> = []
      const newUnit = (): Unit => {
        const u: Unit = { problems: [], pending: 0, ended: false }
        units.push(u)
        return u
      }
      const flush = (): void => {
        while (units.length > 0 && units[0]!.ended && units[0]!.pending === 0) for (const p of units.shift()!.problems) emit(p)
      }
      const end = (u: Unit): void => {
        u.ended = true
        flush()
      }

      // the journal first: with --since-journal it says which files to read
      const state = o.journal ? yield* replayJournal(o.journal.real, o.journal.shown) : undefined
      let since: ReadonlySet<string> | undefined
      let sinceOffset: number | undefined
      const prepareSince = (driveId: string | undefined) =>
        Effect.gen(function* () {
          if (!o.sinceJournal || !o.journal || !state || driveId === undefined) return
          const d = state.drives.get(driveId)
          if (d?.verifiedUpTo === undefined) return // never verified: everything
          sinceOffset = d.verifiedUpTo
          since = yield* filesCompletedSince(o.journal, driveId, d.verifiedUpTo)
        })

      // ------------------------------------------------ the ring of read/hash slots
      const memory = new SharedArrayBuffer(slotCount * blockSize)
      const freeSlots = yield* Queue.unbounded<number>()
      yield* Queue.offerAll(freeSlots, Array.from({ length: slotCount }, (_, i) => i))
      const inFlight: Array<InFlight> = []
      // only for a block or range longer than 4 MiB (invalid, but checked all the same)
      let scratchBuffer: Buffer | undefined
      const scratchOf = (): Buffer => (scratchBuffer ??= Buffer.alloc(blockSize))

      let blobs = 0
      let checkedBlobs = 0
      let bytes = 0
      let blocks = 0
      let pageRanges = 0

      const hashOf = (slot: number, at: number, length: number): Effect.Effect<string> =>
        length < poolMinBytes
          ? Effect.sync(() => md5Of(new Uint8Array(memory, slot * blockSize + at, length)))
          : // one block of the pool's kind: the MD5 of exactly these bytes, whatever their offset in the file
            Effect.map(pool.describe({ kind: "block", memory, byteOffset: slot * blockSize + at, length, fileOffset: 0, firstIndex: 0 }), (r) => (r as ReadonlyArray<DescribedBlock>)[0]?.hash ?? emptyMd5)

      const mismatch = (b: { readonly start: BlobStart; readonly shown: string }, kind: "changedBlock" | "changedPageRange", item: { readonly offset: number; readonly length: number; readonly line?: number | undefined }, expected: string, found: string): VerifyProblem => ({
        kind,
        file: b.shown,
        filePath: b.start.filePath,
        blobPath: b.start.blobPath,
        offset: item.offset,
        length: item.length,
        expected: `MD5 ${expected}`,
        found: `MD5 ${found}`,
        ...(item.line !== undefined ? { line: item.line } : {}),
      })

      /** The window's slot back to the ring, once it is retired and no hash reads it. */
      const freeWindow = (w: Window) => (w.retired && w.users === 0 ? Queue.offer(freeSlots, w.slot) : Effect.void)
      const retire = (w: Window | undefined) =>
        Effect.suspend(() => {
          if (w === undefined || w.retired) return Effect.void
          w.retired = true
          return freeWindow(w)
        })
      const settle = (f: InFlight) =>
        Effect.gen(function* () {
          const result = yield* Fiber.join(f.fiber)
          const found = (result as ReadonlyArray<DescribedBlock>)[0]?.hash ?? emptyMd5
          if (f.window === undefined) yield* Queue.offer(freeSlots, f.slot)
          else {
            f.window.users--
            yield* freeWindow(f.window)
          }
          if (found !== f.expected) f.blob.unit.problems.push(mismatch(f.blob, f.kind, f, f.expected, found))
          f.blob.unit.pending--
          flush()
        })
      const drainInFlight = Effect.gen(function* () {
        while (inFlight.length > 0) yield* settle(inFlight.shift()!)
      })
      /** A slot for the blob read in line: a free one, else the oldest of its own hashes settled, else one a small blob gives back. */
      const takeSlot = Effect.gen(function* () {
        for (;;) {
          const free = yield* Queue.poll(freeSlots)
          if (free._tag === "Some") return free.value
          if (inFlight.length === 0) return yield* Queue.take(freeSlots)
          yield* settle(inFlight.shift()!)
        }
      })

      /** Fill `into` from `offset`; the bytes read (fewer at the end of the file). */
      const readAt = (file: FileSystem.File, offset: number, into: Uint8Array) =>
        Effect.gen(function* () {
          yield* file.seek(offset, "start")
          let got = 0
          while (got < into.length) {
            const n = Number(yield* file.read(into.subarray(got)))
            if (n === 0) break
            got += n
          }
          return got
        })

      const unlisted = (b: { readonly start: BlobStart; readonly shown: string }, from: number, to: number): VerifyProblem => ({
        kind: "unlistedData",
        file: b.shown,
        filePath: b.start.filePath,
        blobPath: b.start.blobPath,
        offset: from,
        length: to - from,
        expected: "zeros (no PageRange lists these pages, so they would not be imported: the blob reads zeros there)",
        found: "non-zero bytes",
      })

      /** Stat the blob's file; length problems; the open file, or undefined when it cannot be read (the problem is in the unit). */
      const openBlob = (start: BlobStart, unit: Unit, local: string, shown: string, scope: Scope.Scope) =>
        Effect.gen(function* () {
          const at = { filePath: start.filePath, blobPath: start.blobPath, ...(start.line !== undefined ? { line: start.line } : {}) }
          const info = yield* fs.stat(local).pipe(Effect.either)
          if (info._tag === "Left") {
            const u = unreadable(shown)(info.left)
            if (isNotFound(info.left)) unit.problems.push({ kind: "missingFile", file: shown, ...at, expected: `the blob's file (${start.length} bytes)`, found: "no such file" })
            else unit.problems.push({ kind: "unreadableFile", file: shown, ...at, expected: "a file waie can read", found: `${u.code}: ${u.reason}` })
            return undefined
          }
          if (info.right.type !== "File") {
            unit.problems.push({ kind: "missingFile", file: shown, ...at, expected: `the blob's file (${start.length} bytes)`, found: `a ${info.right.type === "Directory" ? "directory" : info.right.type}` })
            return undefined
          }
          const size = Number(info.right.size)
          if (size < start.length) unit.problems.push({ kind: "shortFile", file: shown, ...at, offset: size, length: start.length - size, expected: `${start.length} bytes (the blob's Length)`, found: `${size} bytes: the file ends early, what the manifest lists from offset ${size} on is missing` })
          else if (size > start.length) unit.problems.push({ kind: "longFile", file: shown, ...at, offset: start.length, length: size - start.length, expected: `${start.length} bytes (the blob's Length)`, found: `${size} bytes: the bytes past the Length would not be imported` })
          if (start.list === "none") return undefined
          const opened = yield* fs.open(local, { flag: "r" }).pipe(Scope.extend(scope), Effect.either)
          if (opened._tag === "Left") {
            const u = unreadable(shown)(opened.left)
            unit.problems.push({ kind: "unreadableFile", file: shown, ...at, expected: "a file waie can read", found: `${u.code}: ${u.reason}` })
            return undefined
          }
          return { file: opened.right, size }
        })

      // ------------------------------------------------ small blobs: checked by `slotCount` fibers, each read whole into one slot
      const checkSmall = (h: Held) =>
        Effect.scoped(
          Effect.gen(function* () {
            const s = yield* Effect.scope
            const opened = yield* openBlob(h.start, h.unit, h.local, h.shown, s)
            if (opened === undefined) return
            const limit = Math.min(opened.size, h.start.length)
            const slot = yield* Queue.take(freeSlots)
            yield* Effect.gen(function* () {
              const view = new Uint8Array(memory, slot * blockSize, limit)
              const got = yield* readAt(opened.file, 0, view).pipe(Effect.mapError(unreadable(h.shown)), Effect.either)
              if (got._tag === "Left") {
                h.unit.problems.push({ kind: "unreadableFile", file: h.shown, filePath: h.start.filePath, blobPath: h.start.blobPath, offset: 0, expected: "a file waie can read", found: `${got.left.code}: ${got.left.reason}` })
                return
              }
              const have = got.right
              let covered = 0
              for (const item of h.items) {
                if (item._tag === "PageRange") {
                  const gapEnd = Math.min(item.offset, have)
                  if (gapEnd > covered) for (const [from, to] of nonZeroRuns(view.subarray(covered, gapEnd), covered)) h.unit.problems.push(unlisted(h, from, to))
                  covered = Math.max(covered, item.offset + item.length)
                }
                // past the end of the file (or of the blob's Length): the file-length problem says so
                if (item.offset + item.length > have) continue
                const found = yield* hashOf(slot, item.offset, item.length)
                if (found !== item.hash) h.unit.problems.push(mismatch(h, item._tag === "Block" ? "changedBlock" : "changedPageRange", item, item.hash, found))
              }
              if (h.start.list === "page" && have > covered) for (const [from, to] of nonZeroRuns(view.subarray(covered, have), covered)) h.unit.problems.push(unlisted(h, from, to))
            }).pipe(Effect.ensuring(Queue.offer(freeSlots, slot)))
          }),
        ).pipe(Effect.ensuring(Effect.sync(() => end(h.unit))))
      // a few fibers for the whole check, fed through a short queue (a fiber per blob costs far more)
      const jobs = yield* Queue.bounded<Held | undefined>(slotCount)
      const checkers = yield* Effect.forEach(Array.from({ length: slotCount }), () =>
        Effect.forkIn(
          Effect.gen(function* () {
            for (;;) {
              const h = yield* Queue.take(jobs)
              if (h === undefined) return
              yield* checkSmall(h)
            }
          }),
          scope,
        ),
      )
      const forkSmall = (h: Held) =>
        Effect.gen(function* () {
          // the in-line blob's hashes hold slots only the main fiber gives back: settle them first
          yield* drainInFlight
          yield* Queue.offer(jobs, h)
        })

      // ------------------------------------------------ the blob read in line (a long one)
      let blob: BlobState | undefined
      let blobScope: Scope.CloseableScope | undefined

      const closeBlob = Effect.suspend(() => {
        const s = blobScope
        blobScope = undefined
        const w = blob?.window
        if (blob) {
          blob.file = undefined
          blob.window = undefined
        }
        return Effect.zipRight(retire(w), s ? Scope.close(s, Exit.void) : Effect.void)
      })

      const unreadableAt = (b: BlobState, offset: number, e: { readonly code: string; readonly reason: string }) =>
        Effect.gen(function* () {
          b.unit.problems.push({ kind: "unreadableFile", file: b.shown, filePath: b.start.filePath, blobPath: b.start.blobPath, offset, expected: "a file waie can read", found: `${e.code}: ${e.reason}` })
          // the rest of the file is not read: one read error is enough to say
          yield* closeBlob
        })

      const flushRun = (b: BlobState): void => {
        if (b.run === undefined) return
        b.unit.problems.push(unlisted(b, b.run.offset, b.run.end))
        b.run = undefined
      }

      /** The window holding file offset `at` (< the file's size), read when it is not the current one; undefined when the read failed (said, and the blob closed). */
      const windowAt = (b: BlobState, at: number) =>
        Effect.gen(function* () {
          const have = b.window
          if (have !== undefined && at >= have.start && at < have.start + have.length) return have
          yield* retire(have)
          b.window = undefined
          const file = b.file
          if (file === undefined) return undefined
          const start = at - (at % blockSize)
          const slot = yield* takeSlot
          const got = yield* readAt(file, start, new Uint8Array(memory, slot * blockSize, Math.min(blockSize, b.size - start))).pipe(Effect.mapError(unreadable(b.shown)), Effect.either)
          if (got._tag === "Left" || got.right <= at - start) {
            yield* Queue.offer(freeSlots, slot)
            if (got._tag === "Left") yield* unreadableAt(b, start, got.left)
            else yield* unreadableAt(b, start + got.right, { code: "EOF", reason: "the file got shorter while it was read" })
            return undefined
          }
          const w: Window = { slot, start, length: got.right, users: 0, retired: false }
          b.window = w
          return w
        })

      /** Page blobs: the bytes [from, to) are listed by no range; they must be zero. */
      const checkUnlisted = (b: BlobState, from: number, to: number) =>
        Effect.gen(function* () {
          for (let at = from; at < to; ) {
            const w = yield* windowAt(b, at)
            if (w === undefined) return
            const end = Math.min(to, w.start + w.length)
            for (const [offset, stop] of nonZeroRuns(new Uint8Array(memory, w.slot * blockSize + (at - w.start), end - at), at)) {
              if (b.run !== undefined && b.run.end === offset) b.run.end = stop
              else {
                flushRun(b)
                b.run = { offset, end: stop }
              }
            }
            at = end
          }
          flushRun(b)
        })

      const startInline = (h: Held) =>
        Effect.gen(function* () {
          const s = yield* Scope.make()
          const opened = yield* openBlob(h.start, h.unit, h.local, h.shown, s)
          const state: BlobState = { start: h.start, unit: h.unit, file: opened?.file, shown: h.shown, size: opened?.size ?? 0, covered: 0, run: undefined, window: undefined }
          blob = state
          blobScope = s
          if (opened === undefined) yield* closeBlob
        })

      const listed = (e: Listed) =>
        Effect.gen(function* () {
          const b = blob
          if (b === undefined || b.file === undefined) return
          const limit = Math.min(b.size, b.start.length)
          if (e._tag === "PageRange") {
            if (e.offset > b.covered) yield* checkUnlisted(b, b.covered, Math.min(e.offset, limit))
            b.covered = Math.max(b.covered, e.offset + e.length)
            if (b.file === undefined) return
          }
          // past the end of the file: the one file-length problem says so
          if (e.offset + e.length > b.size) return
          const kind = e._tag === "Block" ? ("changedBlock" as const) : ("changedPageRange" as const)
          if (e.length > blockSize) {
            // longer than any valid block or range (a rule's issue too): hashed here, piece by piece
            const md5 = createHash("md5")
            for (let at = 0; at < e.length; at += blockSize) {
              const n = Math.min(blockSize, e.length - at)
              const scratch = scratchOf()
              const got = yield* readAt(b.file, e.offset + at, scratch.subarray(0, n)).pipe(Effect.mapError(unreadable(b.shown)), Effect.either)
              if (got._tag === "Left") return yield* unreadableAt(b, e.offset + at, got.left)
              md5.update(scratch.subarray(0, got.right))
            }
            const found = md5.digest("hex").toUpperCase()
            if (found !== e.hash) b.unit.problems.push(mismatch(b, kind, e, e.hash, found))
            return
          }
          if (e.length > 0 && Math.floor(e.offset / blockSize) === Math.floor((e.offset + e.length - 1) / blockSize)) {
            // within one aligned 4 MiB: hashed from the window (one read for all the ranges in it)
            const w = yield* windowAt(b, e.offset)
            if (w === undefined) return
            if (e.length < poolMinBytes) {
              const found = md5Of(new Uint8Array(memory, w.slot * blockSize + (e.offset - w.start), Math.min(e.length, w.start + w.length - e.offset)))
              if (found !== e.hash) b.unit.problems.push(mismatch(b, kind, e, e.hash, found))
              return
            }
            if (inFlight.length >= maxInFlight) yield* settle(inFlight.shift()!)
            const fiber = yield* Effect.forkIn(pool.describe({ kind: "block", memory, byteOffset: w.slot * blockSize + (e.offset - w.start), length: Math.min(e.length, w.start + w.length - e.offset), fileOffset: 0, firstIndex: 0 }), scope)
            w.users++
            b.unit.pending++
            inFlight.push({ fiber, slot: w.slot, window: w, kind, expected: e.hash, offset: e.offset, length: e.length, line: e.line, blob: b })
            return
          }
          const slot = yield* takeSlot
          const view = new Uint8Array(memory, slot * blockSize, e.length)
          const got = yield* readAt(b.file, e.offset, view).pipe(Effect.mapError(unreadable(b.shown)), Effect.either)
          if (got._tag === "Left") {
            yield* Queue.offer(freeSlots, slot)
            return yield* unreadableAt(b, e.offset, got.left)
          }
          const fiber = yield* Effect.forkIn(pool.describe({ kind: "block", memory, byteOffset: slot * blockSize, length: got.right, fileOffset: 0, firstIndex: 0 }), scope)
          b.unit.pending++
          inFlight.push({ fiber, slot, window: undefined, kind, expected: e.hash, offset: e.offset, length: e.length, line: e.line, blob: b })
        })

      const endInline = Effect.gen(function* () {
        const b = blob
        if (b === undefined) return
        if (b.file !== undefined && b.start.list === "page") {
          const limit = Math.min(b.size, b.start.length)
          if (limit > b.covered) yield* checkUnlisted(b, b.covered, limit)
        }
        yield* closeBlob
        blob = undefined
        end(b.unit)
      })

      // ------------------------------------------------ a blob, as its elements come
      let held: Held | undefined
      let inline = false

      const blobStart = (e: BlobStart) =>
        Effect.sync(() => {
          blobs++
          held = undefined
          inline = false
          const local = localFileOf(root.real, e.filePath)
          // a FilePath outside the drive is a rule's issue; a file not written since the last verify is not read
          if (local === undefined || (since !== undefined && !since.has(e.filePath))) return
          checkedBlobs++
          bytes += e.length
          held = { start: e, unit: newUnit(), local, shown: localFileOf(root.shown, e.filePath) ?? e.filePath, items: [] }
        })

      const item = (e: Listed) =>
        Effect.gen(function* () {
          const h = held
          if (h === undefined) return
          if (e._tag === "Block") blocks++
          else pageRanges++
          if (inline) return yield* listed(e)
          h.items.push(e)
          if (h.items.length <= heldItems) return
          // a long blob: checked in line, from its first element on
          inline = true
          yield* drainInFlight
          yield* startInline(h)
          for (const x of h.items.splice(0)) yield* listed(x)
        })

      const blobEnd = Effect.gen(function* () {
        const h = held
        held = undefined
        if (h === undefined) return
        if (inline) return yield* endInline
        if (h.start.length <= blockSize) return yield* forkSmall(h)
        // few elements, but more data than a slot holds (an invalid list, or page ranges far apart): in line
        yield* drainInFlight
        yield* startInline(h)
        for (const x of h.items) yield* listed(x)
        yield* endInline
      })

      // ------------------------------------------------ metadata and properties files
      const sideChecked = new Map<string, string | undefined>()
      const sideFile = (ref: FileRef | undefined) =>
        Effect.gen(function* () {
          if (ref === undefined) return
          const local = localFileOf(root.real, ref.path)
          if (local === undefined) return // a rule's issue
          const shownLocal = localFileOf(root.shown, ref.path) ?? ref.path
          const unit = newUnit()
          let found = sideChecked.get(ref.path)
          if (!sideChecked.has(ref.path)) {
            const md5 = createHash("md5")
            const read = yield* Stream.runForEach(fileBytes(local, shownLocal), (chunk) => Effect.sync(() => void md5.update(chunk))).pipe(Effect.either)
            if (read._tag === "Left") {
              const e = read.left
              sideChecked.set(ref.path, undefined)
              unit.problems.push({ kind: "missingSideFile", file: shownLocal, filePath: ref.path, expected: "the metadata or properties file the manifest names", found: e.code === "ENOENT" || e.code === "NotFound" ? "no such file" : `${e.code}: ${e.reason}`, ...(ref.line !== undefined ? { line: ref.line } : {}) })
              return end(unit)
            }
            found = md5.digest("hex").toUpperCase()
            sideChecked.set(ref.path, found)
          }
          if (found !== undefined && found !== ref.hash) {
            unit.problems.push({ kind: "changedSideFile", file: shownLocal, filePath: ref.path, expected: `MD5 ${ref.hash}`, found: `MD5 ${found}`, ...(ref.line !== undefined ? { line: ref.line } : {}) })
          }
          end(unit)
        })

      // ------------------------------------------------ the manifest, streamed
      const parser = new ManifestParser()
      const rules = new ManifestRules(manifest.shown)
      const md5 = createHash("md5")
      let size = 0
      let stopped = false
      let driveId: string | undefined
      let sincePrepared = false

      const onEvent = (e: ManifestEvent): Effect.Effect<void, never, FileSystem.FileSystem> | undefined => {
        switch (e._tag) {
          case "DriveField":
            if (e.name === "DriveId" && driveId === undefined) driveId = e.value
            return undefined
          case "BlobListStart":
            return Effect.zipRight(sideFile(e.metadataPath), sideFile(e.propertiesPath))
          case "BlobStart":
            return blobStart(e)
          case "Block":
          case "PageRange":
            return item(e)
          case "BlobEnd":
            return Effect.zipRight(blobEnd, Effect.zipRight(sideFile(e.metadataPath), sideFile(e.propertiesPath)))
          default:
            return undefined
        }
      }

      const feed = (events: () => ReadonlyArray<ManifestEvent>) =>
        Effect.gen(function* () {
          if (stopped) return
          let list: ReadonlyArray<ManifestEvent>
          let failure: unknown
          try {
            list = events()
          } catch (e) {
            list = []
            failure = e
          }
          for (const e of list) {
            rules.event(e)
            // the first blob list comes after the drive's fields: the DriveId is known by then
            if (!sincePrepared && (e._tag === "BlobListStart" || e._tag === "ManifestEnd")) {
              sincePrepared = true
              yield* prepareSince(driveId)
            }
            const effect = onEvent(e)
            if (effect !== undefined) yield* effect
          }
          if (failure !== undefined) {
            const issue = readerIssue(manifest.shown, failure)
            if (issue === undefined) return yield* Effect.die(failure)
            stopped = true
            rules.structural(issue)
          }
        })

      const slice = 64 * 1024
      yield* Stream.runForEach(fileBytes(manifest.real, manifest.shown), (chunk) =>
        Effect.gen(function* () {
          md5.update(chunk)
          size += chunk.length
          for (let at = 0; at < chunk.length; at += slice) {
            const part = chunk.subarray(at, Math.min(at + slice, chunk.length))
            yield* feed(() => parser.write(part))
          }
        }),
      ).pipe(Effect.ensuring(closeBlob))
      yield* feed(() => parser.end())
      // a blob the reader stopped inside: what was read of it is checked
      if (held !== undefined) yield* blobEnd
      yield* drainInFlight
      for (const _ of checkers) yield* Queue.offer(jobs, undefined)
      for (const f of checkers) yield* Fiber.join(f)
      flush()
      for (const u of units.splice(0)) for (const p of u.problems) emit(p)
      const report = emit
      const manifestReport = rules.report(md5.digest("hex").toUpperCase(), size)
      driveId ??= manifestReport.driveId

      // ------------------------------------------------ the drive's identity and the journal's records
      const identityPath = nodePath.join(root.real, identityFileName)
      const identityShown = nodePath.join(root.shown, identityFileName)
      const identityText = yield* fs.readFileString(identityPath).pipe(Effect.option)
      if (Option.isSome(identityText)) {
        const id = parseIdentity(identityText.value)
        if (typeof id === "string") report({ kind: "driveIdentity", file: identityShown, expected: "waie's identity file of the drive", found: id })
        else {
          if (driveId !== undefined && id.driveId !== driveId) report({ kind: "driveIdentity", file: identityShown, expected: `the manifest's DriveId ${driveId}`, found: `DriveId ${id.driveId}: the manifest is another drive's` })
          if (state && id.journalId !== state.journalId) report({ kind: "driveIdentity", file: identityShown, expected: `a drive of journal ${state.journalId} (${o.journal!.shown})`, found: `a drive of journal ${id.journalId}` })
        }
      }
      if (state && o.journal) {
        const journal = o.journal
        const d = driveId === undefined ? undefined : state.drives.get(driveId)
        if (driveId !== undefined && d === undefined) {
          report({ kind: "driveIdentity", file: journal.shown, expected: `one of the journal's drives (${[...state.drives.keys()].join(", ") || "none"})`, found: `DriveId ${driveId}` })
        } else if (d !== undefined) {
          if (d.manifestHash === undefined) report({ kind: "manifestHash", file: journal.shown, expected: `the MD5 of the manifest checked, ${manifestReport.hash}`, found: "no ManifestHash recorded for the drive (no session that used it has completed)" })
          else if (d.manifestHash !== manifestReport.hash) report({ kind: "manifestHash", file: journal.shown, expected: `the MD5 of the manifest checked, ${manifestReport.hash}`, found: `${d.manifestHash}, recorded by the journal: the manifest on the drive is not the one PrepImport wrote last` })
          const jobFile = nodePath.join(nodePath.dirname(journal.real), `${d.driveId}.xml`)
          const jobShown = nodePath.join(nodePath.dirname(journal.shown), `${d.driveId}.xml`)
          const job = yield* fs.readFileString(jobFile).pipe(Effect.either)
          if (job._tag === "Left") {
            report({ kind: "manifestHash", file: jobShown, expected: "the drive's job file, which PrepImport writes beside the journal", found: isNotFound(job.left) ? "no such file" : unreadable(jobShown)(job.left).message })
          } else {
            const recorded = /<ManifestHash>([^<]*)<\/ManifestHash>/.exec(job.right)?.[1]
            if (recorded !== manifestReport.hash) report({ kind: "manifestHash", file: jobShown, expected: `the MD5 of the manifest checked, ${manifestReport.hash}`, found: recorded === undefined ? "no <ManifestHash>" : recorded === "" ? "an empty <ManifestHash> (written when the drive was added, before its first manifest)" : recorded })
          }
        }
      }

      const result: VerifyResult = {
        ok: problems === 0 && manifestReport.ok,
        manifestFile: manifest.shown,
        manifest: manifestReport,
        ...(driveId !== undefined ? { driveId } : {}),
        blobs,
        checkedBlobs,
        bytes,
        blocks,
        pageRanges,
        sideFiles: sideChecked.size,
        problems,
        omitted,
        ...(sinceOffset !== undefined ? { since: sinceOffset } : {}),
      }
      return { result, state }
    }),
  )

/** The issues of the manifest's rules in a verify result (its warnings included), for printing. */
export const manifestIssues = (r: VerifyResult): ReadonlyArray<Issue> => r.manifest.issues

// ---------------------------------------------------------------- --since-journal

export interface SinceJournalResult {
  readonly result: VerifyResult
  /** the journal length recorded as verified, when the check was clean and recorded */
  readonly recorded?: number
  /** why a clean check was not recorded */
  readonly notRecorded?: string
}

/**
 * `--since-journal`: the drive is opened as PrepImport opens a drive of its journal (checked,
 * locked: no PrepImport can write the journal or the drive meanwhile), the files written since its
 * last verify are checked, and a clean check is recorded in the journal.
 */
export const verifySinceJournal = (o: VerifyOptions & { readonly journal: Given }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const before = yield* replayJournal(o.journal.real, o.journal.shown)
      const identityPath = nodePath.join(o.root.real, identityFileName)
      const text = yield* fs.readFileString(identityPath).pipe(Effect.option)
      const identity = Option.isSome(text) ? parseIdentity(text.value) : undefined
      if (identity === undefined || typeof identity === "string") {
        return yield* Effect.fail(new DriveIdentityMismatch({ drive: o.root.shown, root: o.root.real, expected: "a drive of this journal", found: identity === undefined ? `no ${identityFileName}` : `${identityFileName}: ${identity}` }))
      }
      yield* openDrive({ root: o.root.real, drive: o.root.shown, journalId: before.journalId, journalPath: o.journal.real, use: { kind: "known", driveId: identity.driveId } })
      const { result, state } = yield* verifyDrive({ ...o, sinceJournal: true })
      if (!result.ok || state === undefined) return { result } satisfies SinceJournalResult
      if (state.tornTail) return { result, notRecorded: `${o.journal.shown} ends in a torn record (a crash while it was written): resume or abort its latest session first` } satisfies SinceJournalResult
      const now = yield* fs.stat(o.journal.real).pipe(Effect.mapError(unreadable(o.journal.shown)))
      if (Number(now.size) !== state.end) return { result, notRecorded: `${o.journal.shown} changed while the drive was checked` } satisfies SinceJournalResult
      const verifiedUpTo = verifiableUpTo(state)
      const writer = yield* openJournalWriter(o.journal.real, state.end, o.journal.shown)
      yield* writer.append([{ _tag: "DriveVerified", driveId: identity.driveId, verifiedUpTo, manifestHash: result.manifest.hash, blobs: result.checkedBlobs, bytes: result.bytes }], { sync: true })
      return { result, recorded: verifiedUpTo } satisfies SinceJournalResult
    }),
  )
