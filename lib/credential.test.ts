import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect } from "effect"
import { InvalidArgument } from "./errors.ts"
import { credentialFile, CredentialMismatch, fingerprintOf, parseAccountKey, parseContainerSas, saveCredential, sessionCredential } from "./credential.ts"

const key = Buffer.alloc(64, 7).toString("base64")

test("keys and SAS are checked without ever showing them", () => {
  assert.ok(parseAccountKey("not base64!") instanceof InvalidArgument)
  const bad = parseContainerSas("mycontainer?sv=2020-01-01&sp=rwdl")
  assert.ok(bad instanceof InvalidArgument)
  assert.doesNotMatch(bad.message, /sv=2020/)
  assert.deepEqual(parseContainerSas("mycontainer?sv=1&sig=abc"), { kind: "ContainerSas", value: "mycontainer?sv=1&sig=abc" })
  assert.deepEqual(parseAccountKey(key), { kind: "StorageAccountKey", value: key })
})

test("the credential is kept beside the journal, 0600, and a different one is refused", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "waie-cred-"))
  try {
    const journal = path.join(dir, "j.jrn")
    const given = { kind: "StorageAccountKey" as const, value: key }
    const recorded = { kind: "StorageAccountKey" as const, fingerprint: fingerprintOf(given) }
    await Effect.runPromise(saveCredential(journal, given).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.equal(statSync(credentialFile(journal)).mode & 0o777, 0o600)
    assert.equal(readFileSync(credentialFile(journal), "utf8"), `StorageAccountKey: ${key}\n`)
    const kept = await Effect.runPromise(sessionCredential(journal, undefined, recorded).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.deepEqual(kept, given)
    const other = { kind: "StorageAccountKey" as const, value: Buffer.alloc(64, 8).toString("base64") }
    const e = await Effect.runPromise(Effect.flip(sessionCredential(journal, other, recorded)).pipe(Effect.provide(NodeFileSystem.layer)))
    assert.ok(e instanceof CredentialMismatch)
    assert.doesNotMatch(e.message, new RegExp(other.value.slice(0, 10)))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
