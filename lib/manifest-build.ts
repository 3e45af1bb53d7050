/**
 * A drive's manifest, rebuilt from the journal alone (plus the credential the journal keeps out
 * of itself): the same journal gives the same bytes, whether the sessions ran straight through or
 * were interrupted and resumed. Memory stays bounded: the journal is streamed once per blob list
 * of the drive, and only files whose last durable record has not yet been read are held (a
 * batch of small files, or one large file's ≤ 50,000 block hashes).
 *
 * Order: blob lists by session, then by their number in the session; blobs in a list by their
 * file number (the order the dataset enumerates them). A blob list's files appear in the
 * manifest of a drive only if some of them are on it.
 */
import { pushAll } from "./arrays.ts"
import type * as FileSystem from "@effect/platform/FileSystem"
import { Chunk, Effect, Stream } from "effect"
import { blockId, blockSize } from "./blocks.ts"
import type { FileUnreadable, InvalidInput } from "./errors.ts"
import { type CredentialKind, type FileCopyRef, type PageRangeRef, readJournalFile } from "./journal.ts"
import type { ManifestEvent } from "./manifest-model.ts"

export const manifestVersion = "2014-11-01"

export interface BuildOptions {
  readonly journal: string
  readonly driveId: string
  readonly credential: { readonly kind: CredentialKind; readonly value: string }
  readonly clientCreator: string
  /** the sessions whose blobs the manifest lists, in journal order */
  readonly sessions: ReadonlyArray<string>
}

interface ListKey {
  readonly sessionId: string
  readonly blobList: number
  readonly metadata?: FileCopyRef
  readonly properties?: FileCopyRef
}

interface PendingBlob {
  readonly file: number
  readonly start: ManifestEvent
  readonly blockBlob: boolean
  readonly hashes: Array<string>
  readonly ranges: Array<PageRangeRef>
  done: boolean
}

/** The reason of a FileSkipped record for a file a full drive left to another (PrepImport's DriveFull). */
export const driveFullReason = "drive full: "

/** Pass 1: the blob lists of the chosen sessions that have files on the drive, in order. */
const listsOnDrive = (o: BuildOptions): Effect.Effect<Array<ListKey>, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const wanted = new Set(o.sessions)
    const defined = new Map<string, ListKey>()
    /** files started on the drive (but those a full drive left to another): `session\0file` → list */
    const started = new Map<string, string>()
    const order: Array<string> = []
    yield* Stream.runForEach(readJournalFile(o.journal), (e) =>
      Effect.sync(() => {
        if (e._tag === "BlobListDefined" && wanted.has(e.sessionId)) {
          const k = `${e.sessionId}\0${e.blobList}`
          if (!defined.has(k)) order.push(k)
          defined.set(k, { sessionId: e.sessionId, blobList: e.blobList, ...(e.metadata ? { metadata: e.metadata } : {}), ...(e.properties ? { properties: e.properties } : {}) })
        } else if (e._tag === "FileStarted" && e.driveId === o.driveId && wanted.has(e.sessionId)) {
          started.set(`${e.sessionId}\0${e.file}`, `${e.sessionId}\0${e.blobList}`)
        } else if (e._tag === "FileSkipped" && e.reason === `${driveFullReason}${o.driveId}`) {
          started.delete(`${e.sessionId}\0${e.file}`)
        }
      }),
    )
    const used = new Set(started.values())
    return order.filter((k) => used.has(k)).map((k) => defined.get(k)!)
  })

const blobEvents = (p: PendingBlob): Array<ManifestEvent> => {
  const out: Array<ManifestEvent> = [p.start]
  if (p.blockBlob) p.hashes.forEach((hash, i) => out.push({ _tag: "Block", offset: i * blockSize, length: 0, id: blockId(i), hash }))
  else for (const r of p.ranges) out.push({ _tag: "PageRange", offset: r.offset, length: r.length, hash: r.hash })
  out.push({ _tag: "BlobEnd" })
  return out
}

/** Pass 2: the blobs of one list on the drive, in file order. */
const listBlobs = (o: BuildOptions, list: ListKey): Stream.Stream<ManifestEvent, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Stream.suspend(() => {
    const pending = new Map<number, PendingBlob>()
    const lengths = new Map<number, number>()
    const queue: Array<number> = [] // file numbers of this list and drive, in journal order
    const flush = (): Array<ManifestEvent> => {
      const out: Array<ManifestEvent> = []
      while (queue.length > 0 && pending.get(queue[0]!)?.done === true) {
        const f = queue.shift()!
        const p = pending.get(f)!
        pending.delete(f)
        const length = lengths.get(f)!
        lengths.delete(f)
        const events = blobEvents(p)
        // block lengths: every block is 4 MiB but the last
        if (p.blockBlob) {
          for (const e of events) {
            if (e._tag === "Block") (e as { length: number }).length = Math.min(blockSize, length - e.offset)
          }
        }
        pushAll(out, events)
      }
      return out
    }
    return readJournalFile(o.journal).pipe(
      Stream.mapConcat((e): Array<ManifestEvent> => {
        if (e._tag === "TornTail" || !("sessionId" in e) || e.sessionId !== list.sessionId) return []
        switch (e._tag) {
          case "FileStarted": {
            if (e.driveId !== o.driveId || e.blobList !== list.blobList) return []
            // a file started again (a resumed batch) replaces its earlier start
            if (!pending.has(e.file)) queue.push(e.file)
            lengths.set(e.file, e.length)
            pending.set(e.file, {
              file: e.file,
              start: { _tag: "BlobStart", blobPath: e.blobPath, filePath: e.filePath, length: e.length, importDisposition: e.disposition, list: e.blobType === "PageBlob" ? "page" : "block" },
              blockBlob: e.blobType === "BlockBlob",
              hashes: [],
              ranges: [],
              done: false,
            })
            return []
          }
          case "BlocksDurable": {
            const p = pending.get(e.file)
            if (p) {
              p.hashes.length = e.from // a resumed copy restates blocks from its checkpoint on
              pushAll(p.hashes, e.hashes)
            }
            return []
          }
          case "RangesDurable": {
            const p = pending.get(e.file)
            if (p) {
              const first = e.ranges[0]
              if (first !== undefined) {
                // a resumed copy restates the ranges from its checkpoint on
                let keep = p.ranges.length
                while (keep > 0 && p.ranges[keep - 1]!.offset >= first.offset) keep--
                p.ranges.length = keep
              }
              pushAll(p.ranges, e.ranges)
            }
            return []
          }
          case "FileSkipped": {
            // a drive that ran out of space left the file to another: it is not on this one
            if (e.reason !== `${driveFullReason}${o.driveId}` || !pending.has(e.file)) return []
            pending.delete(e.file)
            lengths.delete(e.file)
            queue.splice(queue.indexOf(e.file), 1)
            return flush()
          }
          case "FilesCompleted": {
            for (const f of e.files) {
              const p = pending.get(f)
              if (p) p.done = true
            }
            return flush()
          }
          default:
            return []
        }
      }),
    )
  })

type Part = Stream.Stream<ManifestEvent, FileUnreadable | InvalidInput, FileSystem.FileSystem>

/** The manifest's events for one drive. */
export const manifestEventsForDrive = (o: BuildOptions): Stream.Stream<ManifestEvent, FileUnreadable | InvalidInput, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(listsOnDrive(o), (lists) =>
      Stream.concatAll(Chunk.fromIterable<Part>([
        Stream.fromIterable<ManifestEvent>([
          { _tag: "ManifestStart", version: manifestVersion },
          { _tag: "DriveField", name: "DriveId", value: o.driveId },
          { _tag: "DriveField", name: o.credential.kind, value: o.credential.value },
          { _tag: "DriveField", name: "ClientCreator", value: o.clientCreator },
        ]),
        ...lists.map((list) =>
          Stream.concatAll(Chunk.fromIterable<Part>([
            Stream.make<[ManifestEvent]>({
              _tag: "BlobListStart",
              id: `${list.sessionId}-${list.blobList}`,
              ...(list.metadata ? { metadataPath: { path: list.metadata.path, hash: list.metadata.hash } } : {}),
              ...(list.properties ? { propertiesPath: { path: list.properties.path, hash: list.properties.hash } } : {}),
            }),
            listBlobs(o, list),
            Stream.make<[ManifestEvent]>({ _tag: "BlobListEnd" }),
          ])),
        ),
        Stream.make<[ManifestEvent]>({ _tag: "ManifestEnd" }),
      ])),
    ),
  )
