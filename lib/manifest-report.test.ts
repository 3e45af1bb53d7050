import assert from "node:assert/strict"
import { test } from "node:test"
import type { ManifestReport } from "./manifest-check.ts"
import { reportSummary } from "./manifest-report.ts"

const report = (over: Partial<ManifestReport>): ManifestReport => ({
  ok: true,
  purpose: "import",
  issues: [],
  omitted: 0,
  errors: 0,
  warnings: 0,
  complete: true,
  stats: { blobLists: 1, blobs: 2, blocks: 1234567, pageRanges: 1, bytes: 1 },
  version: "2014-11-01",
  driveId: "D1",
  credential: "ContainerSas",
  hash: "0CC175B9C0F1B6A831C399E269772661",
  fileBytes: 1000,
  ...over,
})

test("a valid report: verdict, figures grouped by thousands, singular and plural, the credential's kind only", () => {
  const { data, human } = reportSummary("m.xml", report({}))
  assert.equal(
    human,
    [
      "m.xml: valid import manifest",
      "  version     2014-11-01",
      "  drive id    D1",
      "  credential  ContainerSas (value not shown)",
      "  contents    1 blob list, 2 blobs, 1,234,567 blocks, 1 page range, 1 byte of data",
      "  hash        0CC175B9C0F1B6A831C399E269772661 (MD5 of the file's 1,000 bytes: its ManifestHash)",
      "",
    ].join("\n"),
  )
  assert.equal(data["valid"], true)
  assert.equal(data["blocks"], 1234567)
  assert.equal(data["credential"], "ContainerSas")
  assert.ok(!("stoppedAt" in data))
})

test("an invalid, incomplete report says where reading stopped", () => {
  const { data, human } = reportSummary("m.xml", report({ ok: false, errors: 2, warnings: 1, complete: false, stoppedAt: 17, credential: "none", purpose: "export" }))
  const lines = human.split("\n")
  assert.equal(lines[0], "m.xml: invalid export manifest (2 errors, 1 warning)")
  assert.equal(lines[1], "  reading stopped at line 17: the rest of the file was not checked")
  assert.match(human, /credential {2}none\n/)
  assert.match(human, /of data \(in the part read\)\n/)
  assert.equal(data["stoppedAt"], 17)
  assert.equal(data["complete"], false)
})
