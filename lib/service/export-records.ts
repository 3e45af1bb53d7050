/**
 * What an export drive's manifest and copy logs are made from: one record per blob copied to the
 * drive (`BlobOutcome`), spooled as a JSON line on the drive while the copy runs (so memory does
 * not grow with the blobs), then read back twice: once into the manifest's events, once into the
 * verbose copy log's events (lib/service/copylog-output.ts derives the error log from it).
 *
 * Manifest (the export form, 001_… and the RepairExport sample): `DriveManifest Version=
 * "2014-11-01"`, the DriveId, `ClientCreator`, no credential, one BlobList without global
 * metadata or properties; per blob on the drive: BlobPath, FilePath, Length, its BlockList (4 MiB
 * blocks: offset, length, id = Base64 of the little-endian index, MD5) or PageRangeList (the
 * written ranges: offset, length, MD5), then MetadataPath and PropertiesPath with their MD5. A
 * blob whose data did not make it is not in the manifest (its file is not on the drive).
 *
 * Copy log: every blob placed on the drive, with LastModified, its ranges with their hashes and
 * statuses, its Metadata and Properties entries (`Path` with hash); the drive is `Completed`
 * when every blob is, else `CompletedWithErrors`.
 */
import type { FileSystem } from "@effect/platform"
import { Stream } from "effect"
import { blockId, blockSize } from "../blocks.ts"
import type { CopyLogEvent, MetadataEntry } from "../copylog-model.ts"
import type { FileUnreadable } from "../errors.ts"
import { fileBytes } from "../files.ts"
import type { ManifestEvent } from "../manifest-model.ts"
import type { BlobOutcome, CopiedRange, SideOutcome } from "./export-copy.ts"

/** The manifest version waie writes (001_…'s). */
export const exportManifestVersion = "2014-11-01"
/** `Drive/ClientCreator` of the manifests `waie service export` writes (the service's own says "Windows Azure Import/Export service"). */
export const exportClientCreator = "waie service export"

type RangeRow = [offset: number, length: number, hash: string | null, status: CopiedRange["status"]]

/** One spool line (LF-terminated). */
export const encodeOutcome = (o: BlobOutcome): string => {
  const ranges: Array<RangeRow> = o.ranges.map((r) => [r.offset, r.length, r.hash ?? null, r.status])
  return JSON.stringify({ ...o, ranges }) + "\n"
}

export const decodeOutcome = (line: string): BlobOutcome => {
  const raw = JSON.parse(line) as Omit<BlobOutcome, "ranges"> & { ranges: Array<RangeRow> }
  return { ...raw, ranges: raw.ranges.map(([offset, length, hash, status]) => ({ offset, length, ...(hash !== null ? { hash } : {}), status })) }
}

/** The records of a spool file, in the order they were written. A spool that does not parse is waie's own bug. */
export const readSpool = (file: string): Stream.Stream<BlobOutcome, FileUnreadable, FileSystem.FileSystem> =>
  fileBytes(file).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.filter((l) => l !== ""),
    Stream.map(decodeOutcome),
  )

const sideRef = (s: SideOutcome | undefined) => (s !== undefined && s.status === "Completed" && s.hash !== undefined ? { path: s.path, hash: s.hash } : undefined)

/** A drive's manifest, from its records. */
export const manifestEvents = <E, R>(driveId: string, outcomes: Stream.Stream<BlobOutcome, E, R>): Stream.Stream<ManifestEvent, E, R> => {
  const head: Array<ManifestEvent> = [
    { _tag: "ManifestStart", version: exportManifestVersion },
    { _tag: "DriveField", name: "DriveId", value: driveId },
    { _tag: "DriveField", name: "ClientCreator", value: exportClientCreator },
    { _tag: "BlobListStart" },
  ]
  const body = outcomes.pipe(
    Stream.filter((o) => o.onDrive),
    Stream.mapConcat((o): Array<ManifestEvent> => {
      const out: Array<ManifestEvent> = [{ _tag: "BlobStart", blobPath: o.blobPath, filePath: o.filePath, length: o.length, list: o.list }]
      for (const r of o.ranges) {
        if (r.hash === undefined) continue
        out.push(o.list === "block" ? { _tag: "Block", offset: r.offset, length: r.length, id: blockId(r.offset / blockSize), hash: r.hash } : { _tag: "PageRange", offset: r.offset, length: r.length, hash: r.hash })
      }
      const metadataPath = sideRef(o.metadata)
      const propertiesPath = sideRef(o.properties)
      out.push({ _tag: "BlobEnd", ...(metadataPath ? { metadataPath } : {}), ...(propertiesPath ? { propertiesPath } : {}) })
      return out
    }),
  )
  return Stream.fromIterable(head).pipe(Stream.concat(body), Stream.concat(Stream.make<Array<ManifestEvent>>({ _tag: "BlobListEnd" }, { _tag: "ManifestEnd" })))
}

const logSide = (s: SideOutcome): MetadataEntry => ({ status: s.status, path: { path: s.path, ...(s.hash !== undefined ? { hash: s.hash } : {}) } })

/** A drive's verbose copy log, from its records. */
export const copyLogEvents = <E, R>(driveId: string, outcomes: Stream.Stream<BlobOutcome, E, R>): Stream.Stream<CopyLogEvent, E, R> =>
  Stream.suspend(() => {
    let failed = false
    const body = outcomes.pipe(
      Stream.mapConcat((o): Array<CopyLogEvent> => {
        if (o.status !== "Completed") failed = true
        const out: Array<CopyLogEvent> = [{ _tag: "BlobStart", status: o.status, blobPath: o.blobPath, filePath: o.filePath, length: o.length, lastModified: o.lastModified, list: o.list }]
        for (const r of o.ranges) {
          const hash = r.hash !== undefined ? { hash: r.hash } : {}
          out.push(o.list === "block" ? { _tag: "Block", offset: r.offset, length: r.length, id: blockId(r.offset / blockSize), ...hash, status: r.status } : { _tag: "PageRange", offset: r.offset, length: r.length, ...hash, status: r.status })
        }
        out.push({ _tag: "BlobEnd", ...(o.metadata !== undefined ? { metadata: logSide(o.metadata) } : {}), properties: logSide(o.properties) })
        return out
      }),
    )
    return Stream.make<Array<CopyLogEvent>>({ _tag: "LogStart" }, { _tag: "DriveId", value: driveId }).pipe(
      Stream.concat(body),
      Stream.concat(Stream.suspend(() => Stream.make<Array<CopyLogEvent>>({ _tag: "DriveStatus", status: failed ? "CompletedWithErrors" : "Completed" }, { _tag: "LogEnd" }))),
    )
  })
