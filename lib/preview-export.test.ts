import assert from "node:assert/strict"
import { test } from "node:test"
import { formatGBUp, type PreviewReport, previewText } from "./preview-export.ts"

test("occupied space is rounded up to the hundredth of a GB, the drive size down", () => {
  assert.deepEqual([0, 1, 1e7, 1e7 + 1, 454_740_000_000].map(formatGBUp), ["0.00 GB", "0.01 GB", "0.01 GB", "0.02 GB", "454.74 GB"])
  const r: PreviewReport = {
    driveSize: 500e9 - 1,
    counts: { entries: 3, unique: 2, duplicate: 1, nonexistent: 0, nonexistentEntries: [], blobs: 2, bytes: 10 },
    exportable: 2,
    exportableBytes: 10,
    cannotExport: { blobs: 0, bytes: 0, first: [] },
    drives: [{ drive: 1, blobs: 2, bytes: 10, occupied: 454_740_000_001 }],
    reserveBytes: 1024 * 1024,
  }
  assert.equal(
    previewText(r),
    "Number of unique blob paths/prefixes:\t2\nNumber of duplicate blob paths/prefixes:\t1\nNumber of nonexistent blob paths/prefixes:\t0\nDrive size:\t499.99 GB\n" +
      "Number of blobs that can be exported:\t2\nNumber of blobs that cannot be exported:\t0\nNumber of drives needed:\t1\n\tDrive #1:\tblobs = 2, occupied space = 454.75 GB\n",
  )
})
