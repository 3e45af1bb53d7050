/**
 * The events from which waie's writer produces `import.xml` (a test checks it byte for byte).
 * The hashes are the MD5s of example data: `koala.jpg` is 160 KiB in three blocks (64 KiB, 64 KiB,
 * 32 KiB), `disk0.vhd` a 1 MiB page blob of which two ranges hold data, `empty.txt` has no bytes.
 */
import type { ManifestEvent } from "../../lib/manifest-model.ts"

/** A made-up key: Base64 of "this is not a real storage account key: an example for waie only" (64 bytes). */
export const exampleKey = "dGhpcyBpcyBub3QgYSByZWFsIHN0b3JhZ2UgYWNjb3VudCBrZXk6IGFuIGV4YW1wbGUgZm9yIHdhaWUgb25seQ=="

export const importManifestEvents: ReadonlyArray<ManifestEvent> = [
  { _tag: "ManifestStart", version: "2014-11-01" },
  { _tag: "DriveField", name: "DriveId", value: "9WM35C2V" },
  { _tag: "DriveField", name: "StorageAccountKey", value: exampleKey },
  { _tag: "DriveField", name: "ClientCreator", value: "waie 0.1.0" },
  {
    _tag: "BlobListStart",
    id: "session#1-0",
    metadataPath: { path: "\\session#1\\metadata.xml", hash: "A6E1FC9220F9CD12E12D29093AF5CBDD" },
    propertiesPath: { path: "\\session#1\\properties.xml", hash: "4CD9EF9601EFCF46A1BFF376CFA05704" },
  },
  { _tag: "BlobStart", blobPath: "pictures/animals/koala.jpg", filePath: "\\animals\\koala.jpg", length: 163840, importDisposition: "overwrite", list: "block" },
  { _tag: "Block", offset: 0, length: 65536, id: "AAAAAA==", hash: "55F3DA07043D8F6F30808F9309120B1D" },
  { _tag: "Block", offset: 65536, length: 65536, id: "AQAAAA==", hash: "F2AF4A2CB4EA3FE19BA2C53AA3DD1BEC" },
  { _tag: "Block", offset: 131072, length: 32768, id: "AgAAAA==", hash: "17527A5D7AF51863ED26A61EA85FE56F" },
  { _tag: "BlobEnd" },
  { _tag: "BlobStart", blobPath: "vhds/disk0.vhd", filePath: "\\vhds\\disk0.vhd", length: 1048576, importDisposition: "no-overwrite", list: "page" },
  { _tag: "PageRange", offset: 0, length: 4096, hash: "2E0998F02B1AC8A0E18EA908B80F3BBC" },
  { _tag: "PageRange", offset: 65536, length: 512, hash: "09DB0BDD287B2D7FF01A701E81BCD2C3" },
  { _tag: "BlobEnd" },
  { _tag: "BlobStart", blobPath: "pictures/empty.txt", filePath: "\\empty.txt", clientData: "an empty file needs no list", length: 0, list: "none" },
  { _tag: "BlobEnd" },
  { _tag: "BlobListEnd" },
  { _tag: "ManifestEnd" },
]
