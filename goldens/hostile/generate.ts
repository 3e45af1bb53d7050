/**
 * The hostile inputs too big to commit (a 10 MB line, a 2 MB attribute, 100,000 columns…),
 * written on demand into `goldens/hostile/generated/` (ignored by git). The golden runner calls
 * `generate()` before it runs any case, so a case's `cmd` can name `../../generated/<file>`.
 *
 * Every file is a pure function of this source: the same bytes on every machine, so the
 * recorded outputs hold. A file is created under a temporary name and linked into place, never
 * rewritten while another test process may be reading it; one whose bytes differ (this source
 * changed) is replaced.
 */
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const generatedDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "generated")

const MB = 1024 * 1024
const KEY = "060456-014509-132033-080300-252615-584177-672089-411631"
const datasetHeader = "BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n"
const drivesetHeader = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n"
/** a storage account key (64 bytes) that a test can recognise anywhere it leaks */
export const secretKey = Buffer.from("WAIESECRETKEY-dont-leak-".repeat(3)).subarray(0, 64).toString("base64")
const xmlHead = '<?xml version="1.0" encoding="UTF-8"?>\n'

const manifest = (blob: string, drive = "") =>
  `${xmlHead}<DriveManifest Version="2014-11-01"${drive}>\n  <Drive>\n    <DriveId>9WM35C2V</DriveId>\n    <StorageAccountKey>${secretKey}</StorageAccountKey>\n    <BlobList Id="session#1-0">\n${blob}    </BlobList>\n  </Drive>\n</DriveManifest>\n`

const journalRecord = (type: string, lines: string) => `[BeginUpdateRecord][2026/11/21 10:00:00.000][Type:${type}]\n${lines}[EndUpdateRecord]\n`

/** name → its bytes. Kept lazy: each is built only when it must be written or compared. */
export const generatedFiles: Readonly<Record<string, () => string>> = {
  // a blob name of 10 MB on one line (the limit is 1,024 characters)
  "dataset-10mb-line.csv": () => `${datasetHeader}/data/a.jpg,pictures/${"n".repeat(10 * MB)},,,,\n`,
  // a quoted field of 2 MB, commas and line breaks inside
  "dataset-2mb-field.csv": () => `${datasetHeader}/data/a.jpg,pictures/a.jpg,,"${"skip,\n".repeat((2 * MB) / 6)}",,\n`,
  // a row of 100,000 fields under a header of six
  "dataset-100000-columns.csv": () => `${datasetHeader}/data/a.jpg,pictures/a.jpg${",x".repeat(99_998)}\n`,
  "driveset-10mb-line.csv": () => `${drivesetHeader}/mnt/${"d".repeat(10 * MB)},AlreadyFormatted,SilentMode,AlreadyEncrypted,${KEY}\n`,
  "driveset-100000-columns.csv": () => `${drivesetHeader}G,AlreadyFormatted,SilentMode,AlreadyEncrypted,${KEY}${",x".repeat(99_995)}\n`,
  // a block id of 2 MB
  "manifest-2mb-attribute.xml": () =>
    manifest(
      `      <Blob>\n        <BlobPath>pictures/a.jpg</BlobPath>\n        <FilePath>\\a.jpg</FilePath>\n        <Length>512</Length>\n        <BlockList>\n          <Block Offset="0" Length="512" Id="${"A".repeat(2 * MB)}" Hash="55F3DA07043D8F6F30808F9309120B1D" />\n        </BlockList>\n      </Blob>\n`,
    ),
  // a blob path of 10 MB
  "manifest-10mb-text.xml": () => manifest(`      <Blob>\n        <BlobPath>pictures/${"p".repeat(10 * MB)}</BlobPath>\n        <FilePath>\\a.jpg</FilePath>\n        <Length>0</Length>\n      </Blob>\n`),
  // 100,000 nested elements where the format allows free content (ClientData)
  "manifest-100000-deep.xml": () =>
    manifest(`      <Blob>\n        <BlobPath>pictures/a.jpg</BlobPath>\n        <FilePath>\\a.jpg</FilePath>\n        <ClientData>${"<a>".repeat(100_000)}${"</a>".repeat(100_000)}</ClientData>\n        <Length>0</Length>\n      </Blob>\n`),
  // one element with 100,000 attributes
  "manifest-100000-attributes.xml": () => manifest("", Array.from({ length: 100_000 }, (_, i) => ` a${i}="x"`).join("")),
  "copylog-2mb-attribute.log": () =>
    `<?xml version="1.0" encoding="utf-8"?>\n<DriveLog Version="2014-11-01">\n  <DriveId>9WM35C2V</DriveId>\n  <Blob Status="${"Completed".repeat((2 * MB) / 9)}">\n    <BlobPath>pictures/a.jpg</BlobPath>\n    <FilePath>\\a.jpg</FilePath>\n    <Length>0</Length>\n  </Blob>\n  <Status>Completed</Status>\n</DriveLog>\n`,
  "copylog-10mb-text.log": () =>
    `<?xml version="1.0" encoding="utf-8"?>\n<DriveLog Version="2014-11-01">\n  <DriveId>9WM35C2V</DriveId>\n  <Blob Status="Completed">\n    <BlobPath>pictures/${"p".repeat(10 * MB)}</BlobPath>\n    <FilePath>\\a.jpg</FilePath>\n    <Length>0</Length>\n  </Blob>\n  <Status>Completed</Status>\n</DriveLog>\n`,
  "metadata-2mb-value.xml": () => `${xmlHead}<Metadata>\n  <Author>${"v".repeat(2 * MB)}</Author>\n</Metadata>\n`,
  "metadata-100000-names.xml": () => `${xmlHead}<Metadata>\n${Array.from({ length: 100_000 }, (_, i) => `  <n${i}>v</n${i}>\n`).join("")}</Metadata>\n`,
  "properties-2mb-value.properties": () => `${xmlHead}<Properties>\n  <Content-Type>${"t".repeat(2 * MB)}</Content-Type>\n</Properties>\n`,
  "bloblist-10mb-path.xml": () => `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPath>pictures/${"p".repeat(10 * MB)}</BlobPath>\n</BlobList>\n`,
  "bloblist-2mb-attribute.xml": () => `<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPath Snapshot="${"s".repeat(2 * MB)}">pictures/a.jpg</BlobPath>\n</BlobList>\n`,
  // an intact first record, then a record with a 10 MB line that never ends
  "journal-10mb-line.jrn": () => journalRecord("NewJournalFile", "VocabularyVersion: 2013-02-01\n") + `[BeginUpdateRecord][2026/11/21 10:00:00.010][Type:ActivityRecord]\nLogDirectory: /${"l".repeat(10 * MB)}\n`,
  // a last record of 100,000 lines that never ends: a torn tail far larger than any record waie writes
  "journal-100000-line-record.jrn": () =>
    journalRecord("NewJournalFile", "VocabularyVersion: 2013-02-01\n") + `[BeginUpdateRecord][2026/11/21 10:00:00.010][Type:ActivityRecord]\n${Array.from({ length: 100_000 }, (_, i) => `Key${i}: value\n`).join("")}`,
  "rename-10mb-line.txt": () => `pictures/a.jpg\n${"r".repeat(10 * MB)}\npictures/a (2).jpg\n`,
}

const sameBytes = (file: string, want: Buffer): boolean => {
  try {
    return statSync(file).size === want.length && readFileSync(file).equals(want)
  } catch {
    return false
  }
}

/** Write every generated input that is missing or stale. Safe to call from several processes at once. */
export const generate = (): void => {
  mkdirSync(generatedDir, { recursive: true })
  for (const [name, make] of Object.entries(generatedFiles)) {
    const file = path.join(generatedDir, name)
    const want = Buffer.from(make(), "utf8")
    if (sameBytes(file, want)) continue
    const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`
    writeFileSync(tmp, want)
    try {
      try {
        linkSync(tmp, file)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        // another process linked it first (then it is right), or an older version is there
        if (!sameBytes(file, want)) {
          unlinkSync(file)
          linkSync(tmp, file)
        }
      }
    } finally {
      unlinkSync(tmp)
    }
  }
}
