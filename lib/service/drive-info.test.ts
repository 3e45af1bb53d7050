import assert from "node:assert/strict"
import { test } from "node:test"
import { Redacted } from "effect"
import { InvalidInput } from "../errors.ts"
import { jobFileText } from "../job-file.ts"
import { parseDriveInfo } from "./drive-info.ts"

const key = "060456-014509-132033-080300-252615-584177-672089-411631"
const enc = (s: string) => new TextEncoder().encode(s)

test("a job file as PrepImport writes it reads back: DriveId, the key (redacted), ManifestFile, ManifestHash", () => {
  const r = parseDriveInfo(enc(jobFileText("WAIE0123456789AB", key, "\\DriveManifest.xml", "89e59e8f226b716df92e0eceb6e9ef95")), "d.xml")
  assert.ok(!(r instanceof InvalidInput))
  assert.equal(r.driveId, "WAIE0123456789AB")
  assert.equal(Redacted.value(r.bitLockerKey), key)
  assert.equal(r.manifestFile, "\\DriveManifest.xml")
  assert.equal(r.manifestHash, "89E59E8F226B716DF92E0ECEB6E9EF95")
  assert.ok(!String(r.bitLockerKey).includes("060456"))
})

test("an empty ManifestHash (the drive has no manifest yet) means no hash to check", () => {
  const r = parseDriveInfo(enc(jobFileText("D1", key, "\\DriveManifest.xml", "")), "d.xml")
  assert.ok(!(r instanceof InvalidInput))
  assert.equal(r.manifestHash, undefined)
})

test("refused job files name the element, never the key", () => {
  const bad = (text: string): InvalidInput => {
    const r = parseDriveInfo(enc(text), "d.xml")
    assert.ok(r instanceof InvalidInput, text)
    assert.ok(!r.message.includes("060456"), r.message)
    return r
  }
  assert.match(bad(`<Drive><DriveId>D</DriveId><BitLockerKey>${key}</BitLockerKey><ManifestFile>\\m.xml</ManifestFile><ManifestHash>xyz</ManifestHash></Drive>`).message, /Drive\/ManifestHash: expected 32 hex digits/)
  assert.match(bad(`<Drive><BitLockerKey>${key}</BitLockerKey><ManifestFile>\\m.xml</ManifestFile><ManifestHash></ManifestHash></Drive>`).message, /Drive\/DriveId: expected a <DriveId> in <Drive>, found none/)
  assert.match(bad(`<Drives/>`).message, /expected a <Drive> root element/)
  assert.match(bad(`<Drive><DriveId>D</DriveId><Extra/>`).message, /d.xml:1:/)
  assert.match(bad(`<Drive><DriveId>D</DriveId><DriveId>E</DriveId><BitLockerKey/><ManifestFile>\\m</ManifestFile><ManifestHash/><Colour/></Drive>`).message, /one DriveId[\s\S]*only DriveId, BitLockerKey, ManifestFile, ManifestHash/)
})
