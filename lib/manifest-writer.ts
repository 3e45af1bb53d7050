/**
 * Writing a DriveManifest: a pure incremental serializer (event → text) that checks the order of
 * events, and an Effect that writes a Stream of events to a file durably while hashing it.
 *
 * The bytes waie writes (same events → same bytes):
 * - `<?xml version="1.0" encoding="UTF-8"?>`, then one element per line, LF line ends,
 *   two spaces of indentation per level, a final LF;
 * - `<Block Offset="…" Length="…" Id="…" Hash="…" />` (attributes in that order; `Id` only when
 *   given), `<PageRange Offset="…" Length="…" Hash="…" />`;
 * - containers (`<BlobList>`, `<BlockList>`, `<PageRangeList>`) always as an open and a close line,
 *   even when empty;
 * - text escaped by `lib/xml.ts` (`&`, `<`, `>`, CR as `&#13;`), attributes also `"`, LF, TAB.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { isLength } from "./blocks.ts"
import { tempPathOf } from "./durable.ts"
import { FileUnwritable, InvalidInput, showValue } from "./errors.ts"
import { unwritable } from "./files.ts"
import type { FileRef, ManifestEvent } from "./manifest-model.ts"
import { element, emptyElement, escapeAttr, hasCharsXmlCannotHold, xmlDeclaration } from "./xml.ts"

/** A value a manifest cannot hold (a character XML 1.0 cannot carry). Not a bug: it comes from user data. */
export class UnwritableValue extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field}: expected characters XML 1.0 can carry, found ${showValue(value)}`)
  }
}

/** Events in an order the manifest grammar does not allow, or numbers that are not lengths: a bug in the caller. */
export class ManifestOrderError extends Error {}

type State = "start" | "drive" | "blobList" | "blob" | "blocks" | "pages" | "end"

const indent = ["", "  ", "    ", "      ", "        ", "          "] as const

/**
 * Event → text, one event at a time. Throws `ManifestOrderError` (a defect) on misuse and
 * `UnwritableValue` when a string holds characters XML cannot carry.
 */
export class ManifestSerializer {
  private state: State = "start"
  private expectedList: "block" | "page" | "none" = "none"

  private text(field: string, value: string): string {
    if (hasCharsXmlCannotHold(value)) throw new UnwritableValue(field, value)
    return value
  }

  private order(expected: ReadonlyArray<State>, event: ManifestEvent): void {
    if (!expected.includes(this.state)) throw new ManifestOrderError(`manifest writer: ${event._tag} cannot follow state ${this.state} (expected in ${expected.join(" or ")})`)
  }

  private num(field: string, n: number): number {
    if (!isLength(n)) throw new ManifestOrderError(`manifest writer: ${field} must be a non-negative safe integer, found ${String(n)}`)
    return n
  }

  private fileRef(name: "MetadataPath" | "PropertiesPath", ref: FileRef, level: number, owner: string): string {
    const hash = this.text(`${owner}/${name}/@Hash`, ref.hash)
    return `${indent[level]}${element(name, this.text(`${owner}/${name}`, ref.path), [["Hash", hash]])}\n`
  }

  /** Is the serializer at the end of a complete manifest? */
  get done(): boolean {
    return this.state === "end"
  }

  push(e: ManifestEvent): string {
    switch (e._tag) {
      case "ManifestStart":
        this.order(["start"], e)
        this.state = "drive"
        return `${xmlDeclaration}<DriveManifest Version="${escapeAttr(this.text("DriveManifest/@Version", e.version))}">\n  <Drive>\n`
      case "DriveField":
        this.order(["drive"], e)
        return `    ${element(e.name, this.text(e.name, e.value))}\n`
      case "BlobListStart": {
        this.order(["drive", "blobList"], e)
        this.state = "blob"
        let s = e.id === undefined ? "    <BlobList>\n" : `    <BlobList Id="${escapeAttr(this.text("BlobList/@Id", e.id))}">\n`
        if (e.metadataPath) s += this.fileRef("MetadataPath", e.metadataPath, 3, "BlobList")
        if (e.propertiesPath) s += this.fileRef("PropertiesPath", e.propertiesPath, 3, "BlobList")
        return s
      }
      case "BlobStart": {
        this.order(["blob"], e)
        let s = "      <Blob>\n"
        s += `        ${element("BlobPath", this.text("Blob/BlobPath", e.blobPath))}\n`
        s += `        ${element("FilePath", this.text("Blob/FilePath", e.filePath))}\n`
        if (e.clientData !== undefined) s += `        ${element("ClientData", this.text("Blob/ClientData", e.clientData))}\n`
        if (e.snapshot !== undefined) s += `        ${element("Snapshot", this.text("Blob/Snapshot", e.snapshot))}\n`
        s += `        <Length>${this.num("Blob/Length", e.length)}</Length>\n`
        if (e.importDisposition !== undefined) s += `        ${element("ImportDisposition", this.text("Blob/ImportDisposition", e.importDisposition))}\n`
        this.expectedList = e.list
        if (e.list === "block") {
          s += "        <BlockList>\n"
          this.state = "blocks"
        } else if (e.list === "page") {
          s += "        <PageRangeList>\n"
          this.state = "pages"
        } else {
          this.state = "blocks" // no list: only BlobEnd may follow (checked below)
        }
        return s
      }
      case "Block":
        this.order(["blocks"], e)
        if (this.expectedList !== "block") throw new ManifestOrderError("manifest writer: Block in a blob declared without a block list")
        return `          ${emptyElement("Block", [
          ["Offset", this.num("Block/@Offset", e.offset)],
          ["Length", this.num("Block/@Length", e.length)],
          ["Id", e.id === undefined ? undefined : this.text("Block/@Id", e.id)],
          ["Hash", this.text("Block/@Hash", e.hash)],
        ])}\n`
      case "PageRange":
        this.order(["pages"], e)
        return `          ${emptyElement("PageRange", [
          ["Offset", this.num("PageRange/@Offset", e.offset)],
          ["Length", this.num("PageRange/@Length", e.length)],
          ["Hash", this.text("PageRange/@Hash", e.hash)],
        ])}\n`
      case "BlobEnd": {
        this.order(["blocks", "pages"], e)
        let s = this.expectedList === "block" ? "        </BlockList>\n" : this.expectedList === "page" ? "        </PageRangeList>\n" : ""
        if (e.metadataPath) s += this.fileRef("MetadataPath", e.metadataPath, 4, "Blob")
        if (e.propertiesPath) s += this.fileRef("PropertiesPath", e.propertiesPath, 4, "Blob")
        this.state = "blob"
        return s + "      </Blob>\n"
      }
      case "BlobListEnd":
        this.order(["blob"], e)
        this.state = "blobList"
        return "    </BlobList>\n"
      case "ManifestEnd":
        this.order(["drive", "blobList"], e)
        this.state = "end"
        return "  </Drive>\n</DriveManifest>\n"
    }
  }
}

/** A whole manifest as one string: for tests and small manifests only (the file writer streams). */
export const serializeManifest = (events: Iterable<ManifestEvent>): string => {
  const s = new ManifestSerializer()
  let out = ""
  for (const e of events) out += s.push(e)
  if (!s.done) throw new ManifestOrderError("manifest writer: the events end before ManifestEnd")
  return out
}

/** Output is handed to the file system in writes of about this size. */
export const writeBufferSize = 1024 * 1024

export interface WrittenManifest {
  /** MD5 of the file's bytes, 32 upper-case hex digits: the `ManifestHash` of the drive */
  readonly hash: string
  /** size of the file in bytes */
  readonly bytes: number
}


/**
 * Write a manifest to `target` from a stream of events, computing the MD5 of the bytes while
 * writing. The bytes go to a temp file beside the target (mode 0600: a manifest holds the storage
 * account key), which is fsynced, renamed over the target, and the folder fsynced: a file under the
 * target's name is never partial. On any failure the temp file is removed and the target is left
 * as it was. `shown` is the target as the user wrote it (for messages).
 */
export const writeManifest = <E, R>(
  target: string,
  events: Stream.Stream<ManifestEvent, E, R>,
  shown: string = target,
): Effect.Effect<WrittenManifest, E | FileUnwritable | InvalidInput, R | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = path.dirname(target)
    // deterministic: a temp file a crash left is replaced by the next write, not left beside it
    const temp = tempPathOf(target)
    const write = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(temp, { flag: "w", mode: 0o600 }).pipe(Effect.mapError(unwritable(shown)))
        const serializer = new ManifestSerializer()
        const md5 = createHash("md5")
        let pending = ""
        let bytes = 0
        const flush = Effect.suspend(() => {
          if (pending === "") return Effect.void
          const buf = Buffer.from(pending, "utf8")
          pending = ""
          md5.update(buf)
          bytes += buf.length
          return file.writeAll(buf).pipe(Effect.mapError(unwritable(shown)))
        })
        yield* Stream.runForEachChunk(events, (chunk) =>
          Effect.suspend((): Effect.Effect<void, InvalidInput | FileUnwritable> => {
            try {
              for (const e of chunk) pending += serializer.push(e)
            } catch (e) {
              if (e instanceof UnwritableValue) {
                return Effect.fail(new InvalidInput({ format: "manifest", file: shown, issues: [{ file: shown, field: e.field, expected: "characters XML 1.0 can carry (no control characters other than TAB, LF, CR; no lone surrogates)", found: showValue(e.value) }] }))
              }
              return Effect.die(e)
            }
            return pending.length >= writeBufferSize ? flush : Effect.void
          }),
        )
        if (!serializer.done) return yield* Effect.die(new ManifestOrderError("manifest writer: the events end before ManifestEnd"))
        yield* flush
        yield* file.sync.pipe(Effect.mapError(unwritable(shown)))
        return { hash: md5.digest("hex").toUpperCase(), bytes }
      }),
    )
    const result = yield* write.pipe(Effect.onError(() => fs.remove(temp).pipe(Effect.ignore)))
    yield* fs.rename(temp, target).pipe(
      Effect.mapError(unwritable(shown)),
      Effect.onError(() => fs.remove(temp).pipe(Effect.ignore)),
    )
    yield* syncDirectory(dir, shown)
    return result
  })

/** fsync a folder so that a rename in it is durable. Windows cannot open a folder for syncing, and some
 * file systems refuse to sync one (EINVAL, ENOTSUP…): there it is skipped; a real I/O error fails. */
const syncDirectory = (dir: string, shown: string): Effect.Effect<void, FileUnwritable, FileSystem.FileSystem> =>
  process.platform === "win32"
    ? Effect.void
    : Effect.scoped(
        Effect.gen(function* () {
          const fs = yield* FileSystem.FileSystem
          const handle = yield* fs.open(dir, { flag: "r" })
          yield* handle.sync
        }),
      ).pipe(
        Effect.mapError(unwritable(shown)),
        Effect.catchIf(
          (e) => ["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR", "EPERM", "EACCES", "BadArgument"].includes(e.code),
          () => Effect.void,
        ),
      )
