/**
 * Views over a stream of copy-log events: a blob with its ranges as one value (for `copylog json`
 * and the repair commands), a summary fold (counts per status, failed blobs, bytes) and "what
 * failed in this blob". All pure and synchronous; `groupCopyLog` lifts the grouping onto a Stream.
 */
import { Stream } from "effect"
import { maxBlocksPerBlob } from "./blocks.ts"
import {
  type BlobStart,
  blobStartFields,
  type BlobStatus,
  blobStatuses,
  type CopyLogEvent,
  dispositionStatuses,
  type DriveStatus,
  fileStatuses,
  isCompleted,
  type MetadataEntry,
  type MetadataStatus,
  type PropertiesEntry,
  type PropertiesStatus,
  type Range,
  type RangeStatus,
  rangeStatuses,
} from "./copylog-model.ts"
import { plural } from "./output.ts"

/** Ranges held in one blob value. A BlockList never has more; a longer PageRangeList comes in parts. */
export const maxRangesPerGroup = maxBlocksPerBlob

/** A blob of the log with its ranges, metadata and properties. */
export interface BlobRecord extends Omit<BlobStart, "_tag"> {
  readonly ranges: ReadonlyArray<Range>
  readonly metadata?: MetadataEntry
  readonly properties?: PropertiesEntry
  /** only when the blob has more than 50,000 ranges: 1, 2, … over consecutive values */
  readonly part?: number
  /** true on every part but the last; metadata and properties come with the last part */
  readonly more?: boolean
}

export type CopyLogGroup =
  | { readonly _tag: "Drive"; readonly version?: string; readonly driveId: string }
  | ({ readonly _tag: "Blob" } & BlobRecord)
  | { readonly _tag: "DriveEnd"; readonly status: DriveStatus }

/** Events in, groups out; one grouper per log. */
export class CopyLogGrouper {
  private version: string | undefined
  private blob: Omit<BlobStart, "_tag"> | undefined
  private ranges: Array<Range> = []
  private part = 0

  push(e: CopyLogEvent): Array<CopyLogGroup> {
    switch (e._tag) {
      case "LogStart":
        this.version = e.version
        return []
      case "DriveId":
        return [{ _tag: "Drive", ...(this.version !== undefined ? { version: this.version } : {}), driveId: e.value }]
      case "BlobStart": {
        const { _tag, ...blob } = e
        this.blob = blob
        this.ranges = []
        this.part = 0
        return []
      }
      case "Block":
      case "PageRange":
      {
        const out: Array<CopyLogGroup> = []
        if (this.ranges.length === maxRangesPerGroup && this.blob !== undefined) {
          this.part++
          out.push(this.emit({ more: true }))
        }
        this.ranges.push(e)
        return out
      }
      case "BlobEnd": {
        if (this.blob === undefined) return []
        const g = this.emit({ ...(e.metadata ? { metadata: e.metadata } : {}), ...(e.properties ? { properties: e.properties } : {}) }, this.part > 0)
        this.blob = undefined
        return [g]
      }
      case "DriveStatus":
        return [{ _tag: "DriveEnd", status: e.status }]
      case "LogEnd":
        return []
    }
  }

  private emit(extra: { more?: true; metadata?: MetadataEntry; properties?: PropertiesEntry }, lastOfSplit = false): CopyLogGroup {
    const ranges = this.ranges
    this.ranges = []
    const part = extra.more ? { part: this.part } : lastOfSplit ? { part: this.part + 1 } : {}
    return { _tag: "Blob", ...this.blob!, ranges, ...extra, ...part }
  }
}

/** Group a stream of events: a `Drive`, then one `Blob` per blob (or per part), then `DriveEnd`. */
export const groupCopyLog = <E, R>(events: Stream.Stream<CopyLogEvent, E, R>): Stream.Stream<CopyLogGroup, E, R> =>
  Stream.suspend(() => {
    const g = new CopyLogGrouper()
    return events.pipe(Stream.mapConcat((e) => g.push(e)))
  })

// ---------------------------------------------------------------- what failed

export interface BlobFailures {
  /** the blob's own status, when it is not Completed */
  readonly status?: BlobStatus
  /** ranges whose status is not Completed (Committed and Uncommitted included: they need a new block list) */
  readonly ranges: ReadonlyArray<Range>
  readonly metadata?: MetadataStatus
  readonly properties?: PropertiesStatus
}

export const blobFailures = (b: BlobRecord): BlobFailures => ({
  ...(isCompleted(b.status) ? {} : { status: b.status }),
  ranges: b.ranges.filter((r) => !isCompleted(r.status)),
  ...(b.metadata && !isCompleted(b.metadata.status) ? { metadata: b.metadata.status } : {}),
  ...(b.properties && !isCompleted(b.properties.status) ? { properties: b.properties.status } : {}),
})

export const hasFailures = (f: BlobFailures): boolean => f.status !== undefined || f.ranges.length > 0 || f.metadata !== undefined || f.properties !== undefined

/** Failed ranges of one status, counted, with the first few kept as examples. */
export interface FailedRangeGroup {
  readonly status: RangeStatus
  readonly kind: "block" | "page range"
  readonly count: number
  readonly bytes: number
  /** the first three, in log order */
  readonly first: ReadonlyArray<{ readonly offset: number; readonly length: number }>
}

/** What failed in a blob, in bounded size whatever the number of ranges. */
export interface FailureSummary {
  readonly status?: BlobStatus
  readonly ranges: ReadonlyArray<FailedRangeGroup>
  readonly metadata?: MetadataStatus
  readonly properties?: PropertiesStatus
}

const examples = 3

class RangeFailures {
  private readonly groups = new Map<RangeStatus, { kind: "block" | "page range"; count: number; bytes: number; first: Array<{ offset: number; length: number }> }>()

  add(r: Range): void {
    if (isCompleted(r.status)) return
    let g = this.groups.get(r.status)
    if (!g) this.groups.set(r.status, (g = { kind: r._tag === "Block" ? "block" : "page range", count: 0, bytes: 0, first: [] }))
    g.count++
    g.bytes += r.length
    if (g.first.length < examples) g.first.push({ offset: r.offset, length: r.length })
  }

  list(): Array<FailedRangeGroup> {
    const out: Array<FailedRangeGroup> = []
    for (const status of rangeStatuses) {
      const g = this.groups.get(status)
      if (g) out.push({ status, ...g })
    }
    return out
  }
}

export const summarizeFailures = (f: BlobFailures): FailureSummary => {
  const r = new RangeFailures()
  for (const x of f.ranges) r.add(x)
  return { ...(f.status !== undefined ? { status: f.status } : {}), ranges: r.list(), ...(f.metadata !== undefined ? { metadata: f.metadata } : {}), ...(f.properties !== undefined ? { properties: f.properties } : {}) }
}

/** `FileNotFound; 5 blocks Cancelled` or `1 page range Corrupted (offset 65536, 65536 bytes); properties Failed`. */
export const describeFailureSummary = (f: FailureSummary): string => {
  const parts: Array<string> = []
  if (f.status !== undefined) parts.push(f.status)
  for (const g of f.ranges) {
    const where = g.count <= examples ? ` (${g.first.map((r) => `offset ${r.offset}, ${r.length} bytes`).join("; ")})` : ""
    parts.push(`${plural(g.count, g.kind)} ${g.status}${where}`)
  }
  if (f.metadata !== undefined) parts.push(`metadata ${f.metadata}`)
  if (f.properties !== undefined) parts.push(`properties ${f.properties}`)
  return parts.join("; ")
}

export const describeFailures = (f: BlobFailures): string => describeFailureSummary(summarizeFailures(f))

export interface FailedBlob {
  readonly blob: Omit<BlobStart, "_tag">
  readonly failures: FailureSummary
}

/** Events in, one `FailedBlob` per blob with anything not Completed, in bounded memory. */
export class FailedBlobFinder {
  private blob: Omit<BlobStart, "_tag"> | undefined
  private ranges = new RangeFailures()

  push(e: CopyLogEvent): FailedBlob | undefined {
    switch (e._tag) {
      case "BlobStart": {
        const { _tag, ...blob } = e
        this.blob = blob
        this.ranges = new RangeFailures()
        return undefined
      }
      case "Block":
      case "PageRange":
        this.ranges.add(e)
        return undefined
      case "BlobEnd": {
        const blob = this.blob
        this.blob = undefined
        if (blob === undefined) return undefined
        const failures: FailureSummary = {
          ...(isCompleted(blob.status) ? {} : { status: blob.status }),
          ranges: this.ranges.list(),
          ...(e.metadata && !isCompleted(e.metadata.status) ? { metadata: e.metadata.status } : {}),
          ...(e.properties && !isCompleted(e.properties.status) ? { properties: e.properties.status } : {}),
        }
        const failed = failures.status !== undefined || failures.ranges.length > 0 || failures.metadata !== undefined || failures.properties !== undefined
        return failed ? { blob, failures } : undefined
      }
      default:
        return undefined
    }
  }
}

// ---------------------------------------------------------------- summary

export interface CopyLogSummary {
  readonly version?: string
  readonly driveId?: string
  readonly driveStatus?: DriveStatus
  readonly blobs: number
  /** sum of the blobs' Length */
  readonly bytes: number
  readonly blobStatus: Readonly<Record<string, number>>
  readonly dispositionStatus: Readonly<Record<string, number>>
  readonly blocks: number
  readonly pageRanges: number
  readonly rangeStatus: Readonly<Record<string, number>>
  readonly metadataStatus: Readonly<Record<string, number>>
  readonly propertiesStatus: Readonly<Record<string, number>>
  /** blobs with anything not Completed: their status, a range, metadata or properties */
  readonly failedBlobs: number
  readonly failedRanges: number
  /** bytes covered by ranges that are not Completed */
  readonly failedRangeBytes: number
}

/** Counts in the order of the code family, only the codes seen. */
const ordered = (all: ReadonlyArray<string>, counts: Map<string, number>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const c of all) {
    const n = counts.get(c)
    if (n !== undefined) out[c] = n
  }
  return out
}

const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1)

/** The summary fold: feed every event, then read `summary()`. */
export class CopyLogTally {
  private version: string | undefined
  private driveId: string | undefined
  private driveStatus: DriveStatus | undefined
  private blobs = 0
  private bytes = 0
  private readonly blobStatus = new Map<string, number>()
  private readonly dispositionStatus = new Map<string, number>()
  private blocks = 0
  private pageRanges = 0
  private readonly rangeStatus = new Map<string, number>()
  private readonly metadataStatus = new Map<string, number>()
  private readonly propertiesStatus = new Map<string, number>()
  private failedBlobs = 0
  private failedRanges = 0
  private failedRangeBytes = 0
  private currentFailed = false

  add(e: CopyLogEvent): void {
    switch (e._tag) {
      case "LogStart":
        this.version = e.version
        return
      case "DriveId":
        this.driveId = e.value
        return
      case "BlobStart":
        this.blobs++
        this.bytes += e.length
        bump(this.blobStatus, e.status)
        if (e.importDisposition) bump(this.dispositionStatus, e.importDisposition.status)
        this.currentFailed = !isCompleted(e.status)
        return
      case "Block":
      case "PageRange":
        if (e._tag === "Block") this.blocks++
        else this.pageRanges++
        bump(this.rangeStatus, e.status)
        if (!isCompleted(e.status)) {
          this.failedRanges++
          this.failedRangeBytes += e.length
          this.currentFailed = true
        }
        return
      case "BlobEnd":
        if (e.metadata) {
          bump(this.metadataStatus, e.metadata.status)
          if (!isCompleted(e.metadata.status)) this.currentFailed = true
        }
        if (e.properties) {
          bump(this.propertiesStatus, e.properties.status)
          if (!isCompleted(e.properties.status)) this.currentFailed = true
        }
        if (this.currentFailed) this.failedBlobs++
        this.currentFailed = false
        return
      case "DriveStatus":
        this.driveStatus = e.status
        return
      case "LogEnd":
        return
    }
  }

  summary(): CopyLogSummary {
    return {
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.driveId !== undefined ? { driveId: this.driveId } : {}),
      ...(this.driveStatus !== undefined ? { driveStatus: this.driveStatus } : {}),
      blobs: this.blobs,
      bytes: this.bytes,
      blobStatus: ordered(blobStatuses, this.blobStatus),
      dispositionStatus: ordered(dispositionStatuses, this.dispositionStatus),
      blocks: this.blocks,
      pageRanges: this.pageRanges,
      rangeStatus: ordered(rangeStatuses, this.rangeStatus),
      metadataStatus: ordered(fileStatuses, this.metadataStatus),
      propertiesStatus: ordered(fileStatuses, this.propertiesStatus),
      failedBlobs: this.failedBlobs,
      failedRanges: this.failedRanges,
      failedRangeBytes: this.failedRangeBytes,
    }
  }
}

/** Fold a whole event list (tests, small logs). */
export const summarize = (events: Iterable<CopyLogEvent>): CopyLogSummary => {
  const t = new CopyLogTally()
  for (const e of events) t.add(e)
  return t.summary()
}

// ---------------------------------------------------------------- JSON shape

/** A blob as a JSON object: ranges under `blocks` or `pageRanges`, without the event tags. */
export const blobJson = (b: BlobRecord): Record<string, unknown> => {
  const ranges = b.ranges.map(({ _tag, ...r }) => r)
  return {
    ...blobStartFields(b),
    ...(b.list === "block" ? { blocks: ranges } : b.list === "page" ? { pageRanges: ranges } : {}),
    ...(b.metadata ? { metadata: b.metadata } : {}),
    ...(b.properties ? { properties: b.properties } : {}),
    ...(b.part !== undefined ? { part: b.part } : {}),
    ...(b.more ? { more: true } : {}),
  }
}
