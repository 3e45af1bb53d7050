/**
 * No secret leaks. Every command that takes a storage key or a SAS is run as a user runs it (the
 * real launcher, its own process: anything it prints anywhere is caught) with recognisable
 * secrets — the key `WAIESECRETKEY-dont-leak-…` in Base64, another key for the refusals, SAS
 * signatures `WAIESECRETSIG…` and the real signatures of SAS made for azurite — and every
 * output stream, JSON line, journal, log, copy log (on disk and uploaded) and every file left in
 * the world is scanned for them, in clear, URL-encoded and decoded from Base64.
 *
 * Where a secret must be, it is: the drive manifests (the service needs the credential), the
 * credential file beside the journal, what `journal manifest` and `manifest write` print (a
 * manifest) — and those files are mode 0600, as are the job files `<DriveId>.xml` (they hold the
 * BitLocker key).
 *
 * azurite runs with an account of our own (AZURITE_ACCOUNTS), whose key is the recognisable one,
 * so the storage commands succeed with it, and fail with the other key.
 */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { after, before, describe, test } from "node:test"
import { fileURLToPath } from "node:url"
import { launchAzurite, type RunningAzurite } from "../lib/azurite.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/waie.mjs")

const key = Buffer.from("WAIESECRETKEY-dont-leak-".repeat(3)).subarray(0, 64).toString("base64")
const otherKey = Buffer.from("WAIEOTHERKEY-dont-leak-!".repeat(3)).subarray(0, 64).toString("base64")
const fakeSig = "WAIESECRETSIGv0FJ/RVNF+Q1JF="
const fakeSas = `sv=2020-08-04&ss=b&srt=co&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=${encodeURIComponent(fakeSig)}`
const account = "waiesecret"
const recoveryKey = "060456-014509-132033-080300-252615-584177-672089-411631"

/** What must never be seen, each with the forms it could take. */
const needles = new Map<string, string>()
const addSecret = (name: string, value: string) => {
  for (const [form, text] of [
    ["", value],
    [" (URL-encoded)", encodeURIComponent(value)],
    [" (decoded)", decodeURIComponent(value)],
    [" (Base64-decoded)", Buffer.from(value, "base64").toString("latin1")],
  ] as const) {
    // a decoding that is not text is not something a program prints; keep the readable ones
    if (text.length >= 12 && /^[\x20-\x7e]+$/.test(text)) needles.set(text, name + form)
  }
}
addSecret("the storage key", key)
addSecret("the other storage key", otherKey)
addSecret("the SAS signature", fakeSig)
needles.set("WAIESECRETSIG", "the SAS signature (its marker)")
needles.set("WAIESECRETKEY", "the storage key (decoded)")
needles.set("WAIEOTHERKEY", "the other storage key (decoded)")

const counts = { streams: 0, jsonLines: 0, files: 0, bytes: 0, uploaded: 0, commands: 0 }

const findLeak = (text: string): string | undefined => {
  for (const [needle, name] of needles) if (text.includes(needle)) return name
  return undefined
}

const scanText = (what: string, text: string) => {
  counts.bytes += Buffer.byteLength(text)
  for (const line of text.split("\n")) {
    if (line.startsWith("{")) {
      try {
        JSON.parse(line)
        counts.jsonLines++
      } catch {
        // not a JSON line
      }
    }
  }
  const leak = findLeak(text)
  assert.equal(leak, undefined, `${what} shows ${leak}`)
}

/** Files that hold a credential by design, and must be readable by their owner only. */
const holdsCredential = (rel: string): boolean => /(^|\/)DriveManifest\.xml$/.test(rel) || rel.endsWith(".credential") || rel.endsWith(".manifest-out.xml")

const scanTree = (root: string) => {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name)
      const s = lstatSync(p)
      if (s.isDirectory()) {
        walk(p)
        continue
      }
      if (!s.isFile()) continue
      const rel = path.relative(root, p)
      counts.files++
      const text = readFileSync(p).toString("latin1")
      if (rel.endsWith(".credential")) assert.equal(s.mode & 0o777, 0o600, `${rel} is mode ${(s.mode & 0o777).toString(8)}`)
      if (/(^|\/)logs\/[A-Z0-9]+\.xml$/.test(rel)) {
        assert.match(text, /<BitLockerKey>/, `${rel} is a job file`)
        assert.equal(s.mode & 0o777, 0o600, `${rel} (a job file, it holds the BitLocker key) is mode ${(s.mode & 0o777).toString(8)}`)
      }
      if (holdsCredential(rel)) continue
      // what the test wrote itself (datasets, drivesets): some hold a secret on purpose
      if (rel.endsWith(".csv")) continue
      // BitLocker keys belong in the job files only (and the driveset the user wrote)
      if (!/(^|\/)logs\/[A-Z0-9]+\.xml$/.test(rel)) {
        assert.ok(!text.includes(recoveryKey), `${rel} holds the BitLocker key`)
      }
      scanText(rel, text)
    }
  }
  walk(root)
}

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const waie = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: "", ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

/** The exit "code" of a process killed by a signal (WAIE_TEST_KILL_AT: a SIGKILL at a journal append). */
const killed = -1

/** Run, scan both streams, check the exit code. `stdoutHolds`: stdout is a manifest (it carries the key). */
const run = async (cwd: string, args: ReadonlyArray<string>, codes: ReadonlyArray<number>, o: { env?: Record<string, string>; stdoutHolds?: boolean } = {}): Promise<Ran> => {
  const r = await waie(cwd, args, o.env)
  counts.commands++
  counts.streams += 2
  const shown = args.map((a) => findLeak(a) ?? a).join(" ")
  assert.ok(codes.includes(r.status ?? -1), `waie ${shown}: exit ${r.status}, expected ${codes.join(" or ")}\n${r.stderr}${r.stdout.slice(0, 2000)}`)
  scanText(`stderr of waie ${shown}`, r.stderr)
  if (o.stdoutHolds) {
    assert.match(r.stdout, /<DriveManifest/, `stdout of waie ${shown} is a manifest`)
    counts.bytes += r.stdout.length
  } else scanText(`stdout of waie ${shown}`, r.stdout)
  assert.doesNotMatch(r.stderr + r.stdout, /^ {4}at /m, `a stack trace from waie ${shown}`)
  return r
}

let az: RunningAzurite
let endpoint: string
let svc: BlobServiceClient
let dir: string

before(async () => {
  // azurite reads its accounts from the environment; our account's key is the recognisable one
  process.env["AZURITE_ACCOUNTS"] = `${account}:${key}`
  az = await launchAzurite({ inMemory: true })
  endpoint = az.blobEndpoint.replace(/\/[^/]+$/, `/${account}`)
  svc = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key))
  dir = mkdtempSync(path.join(tmpdir(), "waie-secrets-"))
})

after(async () => {
  await az?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
  console.log(`secrets scan: ${counts.commands} commands, ${counts.streams} output streams (${counts.jsonLines} JSON lines), ${counts.files} files, ${counts.uploaded} uploaded copy logs, ${counts.bytes} bytes; ${needles.size} needles`)
})

const drivesetHeader = "DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey"

/** A source tree, a drive folder, its driveset and a dataset, in a folder of its own. */
const world = (name: string): string => {
  const w = path.join(dir, name)
  mkdirSync(path.join(w, "src", "photos"), { recursive: true })
  writeFileSync(path.join(w, "src", "photos", "a.jpg"), createHash("sha256").update("a").digest())
  writeFileSync(path.join(w, "src", "photos", "big.bin"), Buffer.alloc(2 * 1024 * 1024 + 3, 1))
  writeFileSync(path.join(w, "src", "photos", "b.txt"), "b")
  mkdirSync(path.join(w, "g"))
  writeFileSync(path.join(w, "drives.csv"), `${drivesetHeader}\n${w}/g,AlreadyFormatted,SilentMode,AlreadyEncrypted,${recoveryKey}\n`)
  writeFileSync(path.join(w, "ds.csv"), `BasePath,DstBlobPathOrPrefix\n${w}/src/photos/,pictures/\n`)
  return w
}

const driveIdOf = (w: string): string => /<DriveId>([^<]+)<\/DriveId>/.exec(readFileSync(path.join(w, "g", "DriveManifest.xml"), "utf8"))![1]!

// the three worlds are independent: side by side, the file takes a third of the time
describe("every command that takes a key or a SAS", { concurrency: 3 }, () => {
  test("PrepImport with /sk: sessions, listings, a crash, resume, abort and refusals: the key only in the manifest and the credential file", async () => {
    const w = world("sk")
    const j = "/j:logs/j.jrn"
    await run(w, ["PrepImport", j, "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", "/logdir:logs"], [0])
    assert.ok(readFileSync(path.join(w, "g", "DriveManifest.xml"), "utf8").includes(`<StorageAccountKey>${key}</StorageAccountKey>`))
    assert.ok(readFileSync(path.join(w, "logs", "j.jrn.credential"), "utf8").includes(key))
    for (const mode of ["/ListDrives", "/ListCopySessions"]) {
      await run(w, ["PrepImport", j, mode], [0])
      await run(w, ["PrepImport", j, mode, "--json"], [0])
    }
    writeFileSync(path.join(w, "src", "photos", "c.txt"), "c")
    writeFileSync(path.join(w, "ds2.csv"), `BasePath,DstBlobPathOrPrefix\n${w}/src/photos/c.txt,pictures/c.txt\n${w}/src/photos/big.bin,pictures/big2.bin\n`)
    // the same key again, and another one (refused, neither shown)
    await run(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds2.csv", `/sk:${otherKey}`], [1])
    await run(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds2.csv", `/sk:${otherKey}`, "--json"], [1])
    // a crash in the middle of session 2, then resume; session 3 crashes and is aborted
    await run(w, ["PrepImport", j, "/id:session#2", "/DataSet:ds2.csv", `/sk:${key}`], [killed], { env: { WAIE_TEST_KILL_AT: "3" } })
    await run(w, ["PrepImport", j, "/id:session#2", "/ResumeSession", "--json"], [0])
    writeFileSync(path.join(w, "ds3.csv"), `BasePath,DstBlobPathOrPrefix\n${w}/src/photos/b.txt,pictures/b3.txt\n`)
    await run(w, ["PrepImport", j, "/id:session#3", "/DataSet:ds3.csv"], [killed], { env: { WAIE_TEST_KILL_AT: "2" } })
    await run(w, ["PrepImport", j, "/id:session#3", "/AbortSession"], [0])
    // refusals that hold a secret on the command line
    await run(w, ["PrepImport", "/j:logs/new.jrn", "/id:session#1", `/sk:WAIESECRETKEY-dont-leak-not base64!`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv"], [2])
    await run(w, ["PrepImport", "/j:logs/new.jrn", "/id:session#1", `/sk:${key}`, `/csas:pictures?${fakeSas}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv"], [2])
    await run(w, ["PrepImport", "/j:logs/new.jrn", "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:missing.csv", "--json"], [3])
    await run(w, ["PrepImport", "/j:logs/new.jrn", "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", "--dry-run"], [0, 1])
    await run(w, ["prep-import", "--journal", "logs/new.jrn", "--id", "session#1", "--sk", key, "--initial-drive-set", "drives.csv", "--data-set", "ds.csv", "--frobnicate"], [2])
    // the journal through every reader
    const id = driveIdOf(w)
    await run(w, ["journal", "json", "logs/j.jrn"], [0])
    await run(w, ["journal", "manifest", "logs/j.jrn", "--drive-id", id], [0], { stdoutHolds: true })
    await run(w, ["journal", "manifest", "logs/j.jrn", "--drive-id", "WAIE000000000000"], [2])
    await run(w, ["journal", "driveinfo", "logs/j.jrn", "--drive-id", id, "--driveset", "drives.csv"], [0])
    // the manifest through every reader, and back from its JSON lines
    await run(w, ["manifest", "check", "g/DriveManifest.xml"], [0])
    await run(w, ["manifest", "check", "g/DriveManifest.xml", "--json"], [0])
    const json = await run(w, ["manifest", "json", "g/DriveManifest.xml"], [0])
    writeFileSync(path.join(w, "manifest.jsonl"), json.stdout)
    await run(w, ["manifest", "write", "manifest.jsonl", "--sk", key], [0], { stdoutHolds: true })
    await run(w, ["manifest", "write", "manifest.jsonl", "--key-file", "logs/j.jrn.credential", "--out", "g.manifest-out.xml"], [0])
    assert.equal(lstatSync(path.join(w, "g.manifest-out.xml")).mode & 0o777, 0o600)
    await run(w, ["manifest", "write", "manifest.jsonl", "--sk", "WAIESECRETKEY-dont-leak-not base64!"], [1, 2])
    await run(w, ["verify", "g", "--journal", "logs/j.jrn"], [0, 1])
    scanTree(w)
  })

  test("PrepImport with /csas: the SAS only in the manifest and the credential file", async () => {
    const w = world("csas")
    await run(w, ["PrepImport", "/j:logs/j.jrn", "/id:session#1", `/csas:pictures?${fakeSas}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", "/logdir:logs", "--json"], [0])
    assert.ok(readFileSync(path.join(w, "g", "DriveManifest.xml"), "utf8").includes("WAIESECRETSIG"))
    await run(w, ["PrepImport", "/j:logs/j.jrn", "/ListDrives", "--json"], [0])
    await run(w, ["PrepImport", "/j:logs/j.jrn", "/id:session#2", "/DataSet:ds.csv", `/csas:pictures?${fakeSas.replace("WAIESECRETSIG", "WAIESECRETSIGother")}`], [1])
    await run(w, ["PrepImport", "/j:logs/x.jrn", "/id:session#1", `/csas:pictures?sv=2020-08-04&sp=rwl&se=WAIESECRETSIG`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv"], [2])
    await run(w, ["journal", "json", "logs/j.jrn"], [0])
    await run(w, ["manifest", "json", "g/DriveManifest.xml"], [0])
    await run(w, ["manifest", "check", "g/DriveManifest.xml"], [0])
    // a SAS pasted into a dataset's destination URL
    writeFileSync(path.join(w, "url.csv"), `BasePath,DstBlobPathOrPrefix\n${w}/src/photos/a.jpg,https://${account}.blob.core.windows.net/pictures/a.jpg?${fakeSas}\n`)
    await run(w, ["dataset", "check", "url.csv"], [1])
    await run(w, ["dataset", "check", "url.csv", "--json"], [1])
    await run(w, ["PrepImport", "/j:logs/y.jrn", "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:url.csv"], [1])
    scanTree(w)
  })

  test("service import, service export and preview-export with the key, a connection string and SAS: nothing shown, in the copy logs either (on disk and uploaded)", async () => {
    const w = world("service")
    await run(w, ["PrepImport", "/j:logs/j.jrn", "/id:session#1", `/sk:${key}`, "/InitialDriveSet:drives.csv", "/DataSet:ds.csv", "/logdir:logs"], [0])
    const id = driveIdOf(w)
    const drive = ["--drive", "g", "--drive-info", `logs/${id}.xml`]
    const cs = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};BlobEndpoint=${endpoint};`
    const credentials: Array<[string, Array<string>]> = [
      ["connection string", ["--connection-string", cs]],
      ["account and key", [`/sn:${account}`, `/sk:${key}`, "--blob-endpoint", endpoint]],
    ]
    for (const [what, creds] of credentials) {
      await run(w, ["service", "import", ...drive, "--logdir", `copylogs-${what.replace(/ /g, "-")}`, ...creds, "--json"], [0], {})
    }
    // a real SAS made with the key: its signature is a secret too
    const sas = generateAccountSASQueryParameters(
      { expiresOn: new Date(Date.now() + 3600_000), permissions: AccountSASPermissions.parse("rwdlacup"), resourceTypes: AccountSASResourceTypes.parse("sco").toString(), services: AccountSASServices.parse("b").toString() },
      new StorageSharedKeyCredential(account, key),
    )
    addSecret("the azurite SAS signature", sas.signature)
    await run(w, ["service", "import", ...drive, "--logdir", "copylogs-sas", "--sas", sas.toString(), "--blob-endpoint", endpoint, "--json"], [0, 6])
    // the refusals: another key, a forged signature, an endpoint that does not answer, a malformed connection string
    await run(w, ["service", "import", ...drive, "--logdir", "copylogs-bad", `/sn:${account}`, `/sk:${otherKey}`, "--blob-endpoint", endpoint], [1, 3, 6])
    await run(w, ["service", "import", ...drive, "--logdir", "copylogs-bad", "--sas", fakeSas, "--blob-endpoint", endpoint, "--json"], [1, 3, 6])
    await run(w, ["service", "import", ...drive, "--logdir", "copylogs-bad", "--connection-string", cs.replace(endpoint, "http://127.0.0.1:9/x")], [1, 3, 6])
    await run(w, ["service", "import", ...drive, "--connection-string", `AccountName=${account};WAIESECRETKEY=${key}`], [2])
    await run(w, ["service", "import", ...drive, "--connection-string", "x"], [2], { env: { AZURE_STORAGE_CONNECTION_STRING: cs } })
    // export what was imported, and preview it
    writeFileSync(path.join(w, "bloblist.xml"), '<?xml version="1.0" encoding="utf-8"?>\n<BlobList>\n  <BlobPathPrefix>/pictures/</BlobPathPrefix>\n</BlobList>\n')
    mkdirSync(path.join(w, "exp"))
    await run(w, ["service", "export", "--blob-list", "bloblist.xml", "--drive", "exp", "--logdir", "copylogs-export", "--connection-string", cs, "--json"], [0])
    await run(w, ["preview-export", "--blob-list", "bloblist.xml", "--drive-size", "1GB", "--connection-string", cs], [0])
    await run(w, ["preview-export", "--blob-list", "bloblist.xml", "--drive-size", "1GB", `/sn:${account}`, `/sk:${otherKey}`, "--blob-endpoint", endpoint, "--json"], [1, 3, 6])
    mkdirSync(path.join(w, "exp2"))
    await run(w, ["service", "export", "--blob-list", "bloblist.xml", "--drive", "exp2", "--logdir", "copylogs-export2", "--sas", fakeSas, "--blob-endpoint", endpoint], [1, 3, 6])
    // repair the export drive after damaging one of its files: the repair downloads it again
    const verbose = readdirSync(path.join(w, "copylogs-export")).find((n) => n.endsWith("_verbose.xml"))
    assert.ok(verbose, "service export wrote a verbose copy log")
    const victim = readdirSync(path.join(w, "exp"), { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name === "a.jpg")
    assert.ok(victim, "the export drive holds a.jpg")
    const victimPath = path.join(victim.parentPath, victim.name)
    const damaged = readFileSync(victimPath)
    damaged[0] = damaged[0]! ^ 0xff
    writeFileSync(victimPath, damaged)
    const repair = (file: string) => ["repair-export", "--repair-file", file, "--drive", "exp", "--copy-log-file", `copylogs-export/${verbose}`, "--manifest-file", "exp/DriveManifest.xml"]
    await run(w, [...repair("bad-key.repair"), `/sn:${account}`, `/sk:${otherKey}`, "--blob-endpoint", endpoint], [1, 3, 6])
    await run(w, [...repair("forged.repair"), "--sas", fakeSas, "--blob-endpoint", endpoint, "--json"], [1, 3, 6])
    await run(w, [...repair("exp.repair"), "--connection-string", cs, "--json"], [0])
    assert.notDeepEqual(readFileSync(victimPath), damaged, "the repair rewrote the damaged file")
    // the copy logs the commands uploaded
    for await (const c of svc.listContainers()) {
      const container = svc.getContainerClient(c.name)
      for await (const b of container.listBlobsFlat()) {
        if (!/copylog|waies|\.xml$/i.test(b.name) || c.name === "pictures") continue
        const text = (await container.getBlobClient(b.name).downloadToBuffer()).toString("latin1")
        counts.uploaded++
        counts.bytes += text.length
        assert.equal(findLeak(text), undefined, `uploaded ${c.name}/${b.name} shows ${findLeak(text)}`)
      }
    }
    assert.ok(counts.uploaded > 0, "no copy log was uploaded")
    scanTree(w)
  })
})

test("the scan itself finds a planted secret (the test can fail)", () => {
  assert.throws(() => scanText("a planted line", `{"type":"x","v":"${encodeURIComponent(key)}"}`), /shows the storage key/)
  assert.throws(() => scanText("a planted line", `sig=${encodeURIComponent(fakeSig)}`), /shows the SAS signature/)
  assert.throws(() => scanText("a planted line", "WAIESECRETKEY-dont-leak-"), /storage key/)
  assert.ok(existsSync(bin))
})
