/**
 * RepairImport for one blob of the copy log: re-send exactly what failed, from local files whose
 * bytes match the log's hashes.
 *
 * Which blob. The copy log's BlobPath is the blob's name after any rename (formats.md §1.3). A
 * blob whose disposition is `Cancelled` was never written (a blob-level failure came first): the
 * repair does what the import would have done — a free name is created; an existing blob is kept
 * (`no-overwrite`), replaced (`overwrite`; a lease held on it leaves the blob unresolved) or the
 * new one goes to the first free `name (n).ext` (`rename`) — and records the name it chose
 * (a PartsRepaired with no offsets) before writing, so a resume writes to the same blob.
 *
 * What is sent.
 *   - Block blob: every block the log marks failed is staged (its bytes checked against the log's
 *     MD5 and sent with it as transactional MD5), and so is any block the service no longer has:
 *     a block the log marks `Completed` or `Committed` must be in the blob's committed list, one
 *     marked `Uncommitted` in its uncommitted list (a staged block that was never committed lives
 *     a week), each under its log id with its length (Get Block List); an `Uncommitted` block is
 *     never taken from the committed list, which may hold an older blob's block of the same id.
 *     Then the full list, in the log's order, is committed again, with the blob's properties and
 *     metadata (Put Block List replaces both): from the files for the entries the log marks
 *     failed, else as the blob has them now. A blob whose blocks are all `Completed` and whose
 *     only failures are its metadata or properties gets just Set Blob Metadata/Properties.
 *   - Page blob: each failed page range is put (a page write is final, nothing to commit); a blob
 *     never written is created with its Length, properties and metadata, then every range put.
 *     Failed metadata or properties are set afterwards.
 *   - Metadata and properties: the files the log names (the BlobList's `GlobalPath` and the
 *     blob's own `Path`) resolved like the data file, their MD5 checked against the log's, parsed,
 *     and combined as the import does (lib/service/blob-files.ts).
 *
 * Resolution comes first (lib/repair/resolve.ts): a blob with a file that cannot be resolved is
 * unresolved before anything is sent. Bytes are checked as they are read: a range that does not
 * match its hash stops the blob there (unresolved: the file is not the one prepared); what was
 * sent before it was right (checked), and the next pass sends the rest.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Stream } from "effect"
import { type BlobMetadata, type BlobProperties, maxFileBytes, parseMetadata, parseProperties } from "../blobprops.ts"
import { blockId } from "../blocks.ts"
import type { BlobRecord, FileEntry, MetadataStatus, Range } from "../copylog.ts"
import type { FileUnwritable } from "../errors.ts"
import { md5Hex } from "../hash.ts"
import { candidateIndex, firstFreeAmong } from "../rename.ts"
import { type BlobRef, blobPathOf, blobRefOf, type BlobStoreService, type BlockEntry, isLeaseConflict, type StorageError, type WriteOptions } from "../storage.ts"
import { importable, mergeMetadata, mergeProperties } from "../service/blob-files.ts"
import { type BufferPool, renameStem } from "../service/import-blob.ts"
import type { Resolver } from "./resolve.ts"
import type { BlobProgress, BlobResult, RecordParts } from "./session.ts"

export interface ImportRepairContext {
  readonly store: BlobStoreService
  readonly resolver: Resolver
  /** buffers of 4 MiB for the ranges in flight */
  readonly pool: BufferPool
  readonly rangesInFlight: number
  /** ranges sent between two PartsRepaired records */
  readonly group: number
  /** containers known to exist in this run */
  readonly containers: Set<string>
}

type Unresolved = Extract<BlobResult, { _tag: "Unresolved" }>

const unresolved = (blobPath: string, filePath: string, reason: string, morePaths: ReadonlyArray<string> = []): Unresolved => ({ _tag: "Unresolved", blobPath, filePath, reason, ...(morePaths.length > 0 ? { morePaths } : {}) })

/** Copy-log statuses that leave a block where the log says it went. */
const inCommitted = new Set(["Completed", "Committed"])

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** Read `into.length` bytes at `offset`; fewer only at the end of the file. */
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

interface SideValue<A> {
  readonly value: A | undefined
  readonly files: ReadonlyArray<string>
}

/** The files of a metadata or properties entry, resolved, checked and combined; or the paths that could not be. */
const sideFiles = <A>(
  ctx: ImportRepairContext,
  entry: FileEntry<MetadataStatus>,
  parse: (bytes: Uint8Array, file: string) => { readonly valid: boolean; readonly value: A; readonly issues: ReadonlyArray<{ readonly expected: string; readonly found: string }> },
  merge: (a: A, b: A) => A,
): Effect.Effect<SideValue<A> | { readonly failed: ReadonlyArray<{ readonly path: string; readonly reason: string }> }, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const values: Array<A> = []
    const files: Array<string> = []
    const failed: Array<{ path: string; reason: string }> = []
    for (const ref of [entry.globalPath, entry.path]) {
      if (ref?.path === undefined) continue
      if (ref.hash === undefined) {
        failed.push({ path: ref.path, reason: `the copy log gives ${ref.path} no Hash: its content cannot be checked` })
        continue
      }
      const r = yield* ctx.resolver.resolve(ref.path)
      if (r._tag === "Unresolved") {
        failed.push({ path: ref.path, reason: r.reason })
        continue
      }
      const bytes = yield* fs.readFile(r.file).pipe(Effect.either)
      if (Either.isLeft(bytes)) {
        failed.push({ path: ref.path, reason: `${r.shown}: ${bytes.left.message}` })
        continue
      }
      const hash = md5Hex(bytes.right)
      if (hash !== ref.hash) {
        failed.push({ path: ref.path, reason: `${r.shown}: its MD5 is ${hash}, the copy log says ${ref.hash} (not the file the drive carried)` })
        continue
      }
      if (bytes.right.length > maxFileBytes) {
        failed.push({ path: ref.path, reason: `${r.shown}: more than ${maxFileBytes} bytes` })
        continue
      }
      const parsed = parse(bytes.right, r.shown)
      if (!parsed.valid) {
        const first = parsed.issues[0]
        failed.push({ path: ref.path, reason: `${r.shown}: ${first ? `expected ${first.expected}, found ${first.found}` : "not a valid file"}` })
        continue
      }
      values.push(parsed.value)
      files.push(r.shown)
    }
    if (failed.length > 0) return { failed }
    const value = values.length === 0 ? undefined : values.length === 1 ? values[0] : merge(values[0]!, values[1]!)
    return { value, files }
  })

/** The import stopped before writing the blob (a blob-level failure came first): its disposition is Cancelled (or, without one, every range is). */
export const isNeverWritten = (rec: BlobRecord): boolean =>
  rec.importDisposition !== undefined ? rec.importDisposition.status === "Cancelled" : rec.status !== "CompletedWithErrors" && rec.ranges.every((r) => r.status === "Cancelled")

export const repairImportBlob = (ctx: ImportRepairContext, rec: BlobRecord, progress: BlobProgress | undefined, record: RecordParts): Effect.Effect<BlobResult, StorageError | FileUnwritable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const { store } = ctx
    const logRef = blobRefOf(rec.blobPath)
    if (logRef === undefined) return unresolved(rec.blobPath, "", "its BlobPath names no container and blob")
    const page = rec.list === "page"
    const disposition = rec.importDisposition
    const neverWritten = isNeverWritten(rec)

    // 1. the blob written to
    let target: BlobRef = logRef
    let fresh = false
    let deleteFirst = false
    let chosen = ""
    if (progress !== undefined && progress.blobPath !== rec.blobPath) {
      target = blobRefOf(progress.blobPath) ?? logRef
      fresh = neverWritten
    } else if (neverWritten) {
      fresh = true
      const info = yield* store.getBlob(logRef)
      // after a crash the blob at the log's name may be the one this repair created (its name was recorded)
      if (info !== undefined && progress === undefined) {
        const value = disposition?.value ?? "rename"
        if (value === "no-overwrite") return { _tag: "Repaired", blobPath: rec.blobPath, source: "", parts: 0, detail: "a blob of that name exists and the disposition is no-overwrite: it is kept, as the import would have" }
        if (value === "overwrite") {
          if (info.leased) return unresolved(rec.blobPath, "", "a lease is held on the existing blob it would overwrite")
          deleteFirst = info.kind !== (page ? "PageBlob" : "BlockBlob")
          chosen = "the existing blob replaced (overwrite)"
        } else {
          const stem = renameStem(rec.blobPath)
          const taken = new Set<number>([1])
          yield* store.listBlobs(logRef.container, stem.slice(logRef.container.length + 1)).pipe(
            Stream.runForEach((b) =>
              Effect.sync(() => {
                const i = candidateIndex(rec.blobPath, blobPathOf(b))
                if (i !== undefined) taken.add(i)
              }),
            ),
          )
          const free = firstFreeAmong(rec.blobPath, taken)
          if (Either.isLeft(free)) return unresolved(rec.blobPath, "", free.left.message)
          target = blobRefOf(free.right)!
          chosen = `renamed to ${free.right}: the name is taken (disposition rename)`
        }
      }
    }
    const targetPath = blobPathOf(target)

    // 2. what to send
    const done = progress?.offsets ?? new Set<number>()
    const ids = rec.ranges.map((r, i) => (r._tag === "Block" && r.id !== undefined ? r.id : blockId(i)))
    let toSend: Array<number>
    if (page) toSend = rec.ranges.flatMap((r, i) => ((fresh || r.status !== "Completed") && !done.has(r.offset) ? [i] : []))
    else {
      const lists = fresh && progress === undefined ? { committed: [], uncommitted: [] } : yield* store.getBlockList(target)
      const byId = (l: ReadonlyArray<BlockEntry>) => new Map(l.map((b) => [b.id, b.length]))
      const committed = byId(lists.committed)
      const uncommitted = byId(lists.uncommitted)
      toSend = rec.ranges.flatMap((r, i) => {
        const id = ids[i]!
        const there = (m: Map<string, number>) => m.get(id) === r.length
        if (done.has(r.offset) && (there(uncommitted) || there(committed))) return []
        if (!fresh && inCommitted.has(r.status) && there(committed)) return []
        if (!fresh && r.status === "Uncommitted" && there(uncommitted)) return []
        return [i]
      })
    }
    const metaNeeded = rec.metadata !== undefined && (fresh || rec.metadata.status !== "Completed")
    const propsNeeded = rec.properties !== undefined && (fresh || rec.properties.status !== "Completed")

    // 3. every file resolved before anything is sent
    const problems: Array<{ path: string; reason: string }> = []
    let source = ""
    let sourceFile = ""
    if (toSend.length > 0) {
      const noHash = toSend.map((i) => rec.ranges[i]!).find((r) => r.hash === undefined)
      if (noHash !== undefined) return unresolved(rec.blobPath, "", `the copy log gives no Hash for the ${noHash._tag === "Block" ? "block" : "page range"} at offset ${noHash.offset}: its bytes cannot be checked`)
      const r = yield* ctx.resolver.resolve(rec.filePath, rec.length)
      if (r._tag === "Unresolved") problems.push({ path: rec.filePath, reason: r.reason })
      else {
        source = r.shown
        sourceFile = r.file
      }
    }
    const meta = metaNeeded ? yield* sideFiles<BlobMetadata>(ctx, rec.metadata!, parseMetadata, mergeMetadata) : undefined
    const props = propsNeeded ? yield* sideFiles<BlobProperties>(ctx, rec.properties!, (b, f) => parseProperties(b, f, "import"), mergeProperties) : undefined
    for (const s of [meta, props]) if (s !== undefined && "failed" in s) problems.push(...s.failed)
    if (problems.length > 0) {
      const [first, ...rest] = problems
      return unresolved(rec.blobPath, first!.path, first!.reason, [...new Set(rest.map((p) => p.path))].filter((p) => p !== first!.path))
    }
    const metadata = meta !== undefined && !("failed" in meta) ? meta : undefined
    const properties = props !== undefined && !("failed" in props) ? { ...props, value: props.value === undefined ? undefined : importable(props.value) } : undefined

    // 4. the writes
    const leaseStop = (e: StorageError) => (isLeaseConflict(e) ? Effect.succeed(unresolved(targetPath, "", `a lease held on the blob stopped the repair: ${e.message}`)) : Effect.fail(e))
    return yield* Effect.gen(function* () {
      if (neverWritten && progress === undefined) yield* record(targetPath, [])
      // a blob-level failure came before the import made the container, which may not exist
      if (fresh && !ctx.containers.has(target.container)) {
        yield* store.ensureContainer(target.container)
        ctx.containers.add(target.container)
      }
      const what: Array<string> = chosen !== "" ? [chosen] : []
      if (fresh && (deleteFirst || progress !== undefined)) {
        const now = yield* store.getBlob(target)
        if (now !== undefined && now.kind !== (page ? "PageBlob" : "BlockBlob")) yield* store.deleteBlob(target)
      }
      const createOptions: WriteOptions = { ...(properties?.value !== undefined ? { properties: properties.value } : {}), ...(metadata?.value !== undefined ? { metadata: metadata.value } : {}) }
      if (page && fresh) {
        const now = progress !== undefined ? yield* store.getBlob(target) : undefined
        if (now === undefined || now.kind !== "PageBlob" || now.length !== rec.length) yield* store.createPageBlob(target, rec.length, createOptions)
        what.push(`created with its Length ${rec.length}`)
      }

      // the ranges, a group at a time: read, check, send; then recorded
      const mismatch = yield* Effect.scoped(
        Effect.gen(function* () {
          if (toSend.length === 0) return undefined
          const fs = yield* FileSystem.FileSystem
          const opened = yield* fs.open(sourceFile, { flag: "r" }).pipe(Effect.either)
          if (Either.isLeft(opened)) return `${source}: ${opened.left.message}`
          const file = opened.right
          const lock = yield* Effect.makeSemaphore(1)
          for (let at = 0; at < toSend.length; at += ctx.group) {
            const batch = toSend.slice(at, at + ctx.group)
            const outcomes = yield* Effect.forEach(
              batch,
              (i) => {
                const r: Range = rec.ranges[i]!
                return ctx.pool.use((buffer) =>
                  Effect.gen(function* () {
                    const data = buffer.subarray(0, r.length)
                    const read = yield* lock.withPermits(1)(readAt(file, r.offset, data)).pipe(Effect.either)
                    if (Either.isLeft(read)) return `${source}: reading ${r.length} bytes at offset ${r.offset} failed: ${read.left.message}`
                    const got = read.right
                    if (got < r.length) return `${source} ended at ${r.offset + got}, before the end of the ${r._tag === "Block" ? "block" : "page range"} at ${r.offset}`
                    if (md5Hex(data) !== r.hash) return `${source}: the ${r.length} bytes at offset ${r.offset} do not match the copy log's MD5 ${r.hash} (not the file the drive carried)`
                    yield* page ? store.putPages(target, r.offset, data, r.hash!) : store.stageBlock(target, ids[i]!, data, r.hash!)
                    return undefined
                  }),
                )
              },
              { concurrency: ctx.rangesInFlight },
            )
            const bad = outcomes.find((o) => o !== undefined)
            const sent = batch.filter((_, k) => outcomes[k] === undefined)
            if (sent.length > 0) yield* record(targetPath, sent.map((i) => rec.ranges[i]!.offset))
            if (bad !== undefined) return bad
          }
          return undefined
        }),
      )
      if (mismatch !== undefined) return unresolved(targetPath, rec.filePath, mismatch)
      if (toSend.length > 0) what.push(`${plural(toSend.length, page ? "page range" : "block")} ${page ? "put" : "staged"} from ${source}`)

      let sides = 0
      if (!page && (fresh || toSend.length > 0 || rec.ranges.some((r) => r.status !== "Completed"))) {
        const current = fresh ? undefined : yield* store.getBlob(target)
        const options: WriteOptions = {
          ...(properties?.value !== undefined ? { properties: properties.value } : current !== undefined ? { properties: importable(current.properties) } : {}),
          ...(metadata?.value !== undefined ? { metadata: metadata.value } : current !== undefined ? { metadata: current.metadata } : {}),
        }
        yield* store.commitBlockList(target, ids, options)
        what.push(`the block list (${plural(ids.length, "block")}) committed${fresh ? "" : " again"}`)
        sides = (metadata !== undefined ? 1 : 0) + (properties !== undefined ? 1 : 0)
      } else if (!(page && fresh)) {
        if (metadata !== undefined) {
          yield* store.setMetadata(target, metadata.value ?? [])
          sides++
        }
        if (properties !== undefined) {
          yield* store.setProperties(target, properties.value ?? {})
          sides++
        }
      } else sides = (metadata !== undefined ? 1 : 0) + (properties !== undefined ? 1 : 0)
      for (const [s, name] of [
        [metadata, "metadata"],
        [properties, "properties"],
      ] as const) {
        if (s !== undefined) what.push(`${name} set from ${s.files.join(" and ") || "no file"}`)
      }
      const result: BlobResult = { _tag: "Repaired", blobPath: targetPath, source, parts: toSend.length + sides, detail: what.join("; ") || "nothing left to send" }
      return result
    }).pipe(Effect.catchTag("StorageError", leaseStop))
  })
