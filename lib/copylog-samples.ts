/**
 * The copy-log samples of formats.md §1.5 as text and as the events they read to, and a helper
 * that reads a log from a string: fixtures for the copy-log tests (and for the repair commands' tests).
 */
import { Chunk, Effect, Either, Stream } from "effect"
import type { InvalidInput } from "./errors.ts"
import type { CopyLogEvent } from "./copylog-model.ts"
import { readCopyLog } from "./copylog-read.ts"

const enc = new TextEncoder()

/** Read a log (file name `t.log`) from text, fed in chunks of `chunk` bytes. */
export const readText = (text: string, chunk = 1 << 20): Either.Either<Array<CopyLogEvent>, InvalidInput> => {
  const bytes = enc.encode(text)
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk))
  const r = Effect.runSync(Stream.runCollect(readCopyLog("t.log", Stream.fromIterable(parts))).pipe(Effect.either))
  return Either.map(r, Chunk.toArray)
}

// §1.5, first sample: import error log, one corrupted page range
export const sampleImport = `<?xml version="1.0" encoding="utf-8"?>
<DriveLog Version="2014-11-01">
  <DriveId>9WM35C2V</DriveId>
  <Blob Status="CompletedWithErrors">
    <BlobPath>pictures/animals/koala.jpg</BlobPath>
    <FilePath>\\animals\\koala.jpg</FilePath>
    <Length>163840</Length>
    <ImportDisposition Status="Overwritten">overwrite</ImportDisposition>
    <PageRangeList>
      <PageRange Offset="65536" Length="65536" Hash="AA2585F6F6FD01C4AD4256E018240CD4" Status="Corrupted"/>
    </PageRangeList>
  </Blob>
  <Status>CompletedWithErrors</Status>
</DriveLog>
`

export const sampleImportEvents: Array<CopyLogEvent> = [
  { _tag: "LogStart", version: "2014-11-01" },
  { _tag: "DriveId", value: "9WM35C2V" },
  {
    _tag: "BlobStart",
    status: "CompletedWithErrors",
    blobPath: "pictures/animals/koala.jpg",
    filePath: "\\animals\\koala.jpg",
    length: 163840,
    importDisposition: { status: "Overwritten", value: "overwrite" },
    list: "page",
  },
  { _tag: "PageRange", offset: 65536, length: 65536, hash: "AA2585F6F6FD01C4AD4256E018240CD4", status: "Corrupted" },
  { _tag: "BlobEnd" },
  { _tag: "DriveStatus", status: "CompletedWithErrors" },
  { _tag: "LogEnd" },
]

// §1.5, second sample: export error log (no declaration, no Version, LastModified before Length)
export const sampleExport = `<DriveLog>
  <DriveId>9WM35C2V</DriveId>
  <Blob Status="CompletedWithErrors">
    <BlobPath>pictures/wild/desert.jpg</BlobPath>
    <FilePath>\\pictures\\wild\\desert.jpg</FilePath>
    <LastModified>2012-09-18T23:47:08Z</LastModified>
    <Length>163840</Length>
    <BlockList><Block Offset="65536" Length="65536" Id="AQAAAA==" Status="Failed"/></BlockList>
  </Blob>
  <Status>CompletedWithErrors</Status>
</DriveLog>`
