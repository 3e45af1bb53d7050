/**
 * How every storage command is told where the Blob endpoint is and how to sign its requests,
 * and the BlobStore layer that results.
 *
 *   --connection-string CS                      (or AZURE_STORAGE_CONNECTION_STRING)
 *   /sn:ACCOUNT /sk:KEY [--blob-endpoint URL]   --account, --key
 *   /csas:SAS  [/sn:ACCOUNT | --blob-endpoint URL]
 *   nothing                                     an azurite waie starts for the run
 *
 * A SAS may be a URL (`https://acct.blob.core.windows.net/container?sv=…&sig=…`), the original
 * tool's `container?sv=…&sig=…`, or a bare token; the URL carries its own endpoint.
 *
 * Options on the command line win over the environment variable. Messages about a key, a SAS or
 * a connection string never show the value: they say what is wrong with it.
 */
import { Effect, Layer } from "effect"
import { AzuriteFailed, startAzurite } from "./azurite.ts"
import type { Output, OptionSpec, Parsed } from "./cli.ts"
import { optionValue } from "./cli.ts"
import { UsageError } from "./errors.ts"
import { isBase64 } from "./hash.ts"
import { BlobStore, StorageError } from "./storage.ts"
import { type BlobStoreOptions, makeBlobStore, type StorageCredentials } from "./storage-azure.ts"

export type { StorageCredentials } from "./storage-azure.ts"

export const connectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING"

/** The options every storage command takes, in help order. */
export const storageOptions: ReadonlyArray<OptionSpec> = [
  { name: "connection-string", takes: "value", placeholder: "CS", description: `the storage account's connection string (default: $${connectionStringVariable}); never printed` },
  { name: "account", aliases: ["sn", "storage-account-name"], takes: "value", placeholder: "NAME", description: "the storage account name, with --key or --sas" },
  { name: "key", aliases: ["sk", "storage-account-key"], takes: "value", placeholder: "KEY", description: "the storage account key (Base64), with --account; never printed" },
  { name: "sas", aliases: ["csas", "container-sas"], takes: "value", placeholder: "SAS", description: "a container SAS: a URL, container?sv=…&sig=…, or the token alone (then --account or --blob-endpoint); never printed" },
  { name: "blob-endpoint", takes: "value", placeholder: "URL", description: "the Blob endpoint (default https://ACCOUNT.blob.core.windows.net)" },
  { name: "azurite-dir", takes: "value", placeholder: "DIR", description: "without credentials waie runs azurite for the command: keep its data in DIR (default: in memory, gone when the command ends)" },
]

const accountPattern = /^[a-z0-9]{3,24}$/

const isHttpUrl = (s: string): URL | undefined => {
  try {
    const u = new URL(s)
    return u.protocol === "http:" || u.protocol === "https:" ? u : undefined
  } catch {
    return undefined
  }
}

/** Emulators and IP addresses put the account in the path (`http://127.0.0.1:10000/devstoreaccount1`). */
const pathStyle = (u: URL): boolean => /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]|localhost)$/i.test(u.hostname)

export const defaultBlobEndpoint = (account: string): string => `https://${account}.blob.core.windows.net`

const connectionStringFields = new Set(
  ["DefaultEndpointsProtocol", "AccountName", "AccountKey", "EndpointSuffix", "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint", "SharedAccessSignature", "UseDevelopmentStorage", "DevelopmentStorageProxyUri"].map((n) => n.toLowerCase()),
)

/** Why a connection string is refused, never what it holds; undefined when it is usable. */
export const connectionStringProblem = (cs: string): string | undefined => {
  const fields = new Map<string, string>()
  const parts = cs.split(";").filter((p) => p.trim() !== "")
  if (parts.length === 0) return "it is empty"
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf("=")
    if (eq <= 0) return `part ${i + 1} is not NAME=VALUE`
    const name = part.slice(0, eq).trim()
    const lower = name.toLowerCase()
    // not shown: a key pasted without its name would be shown otherwise
    if (!connectionStringFields.has(lower)) return `part ${i + 1} has a name a connection string does not use (not shown)`
    if (fields.has(lower)) return `${name} is given twice`
    fields.set(lower, part.slice(eq + 1).trim())
  }
  if (fields.get("usedevelopmentstorage")?.toLowerCase() === "true") return undefined
  const endpoint = fields.get("blobendpoint")
  if (endpoint !== undefined && isHttpUrl(endpoint) === undefined) return "BlobEndpoint is not an http(s) URL"
  if (fields.has("sharedaccesssignature")) {
    if (endpoint === undefined && !fields.has("accountname")) return "a SharedAccessSignature needs a BlobEndpoint"
    if (!/(^|&|\?)sig=[^&]+/.test(fields.get("sharedaccesssignature")!)) return "its SharedAccessSignature has no sig= (signature)"
    return undefined
  }
  if (!fields.has("accountname")) return "AccountName is missing"
  if (!fields.has("accountkey")) return "AccountKey (or SharedAccessSignature) is missing"
  if (!isBase64(fields.get("accountkey")!)) return "its AccountKey is not Base64"
  return undefined
}

/**
 * The credentials a command line (and the environment) gives; undefined when it gives none (the
 * embedded azurite). `env` is passed in so that tests do not depend on the caller's.
 */
export const parseStorageCredentials = (parsed: Parsed, env: Readonly<Record<string, string | undefined>>, command: string): StorageCredentials | undefined | UsageError => {
  const usage = (message: string) => new UsageError({ command, message })
  const cs = optionValue(parsed, "connection-string")
  const account = optionValue(parsed, "account")
  const key = optionValue(parsed, "key")
  const sas = optionValue(parsed, "sas")
  const endpointOption = optionValue(parsed, "blob-endpoint")
  const azuriteDir = optionValue(parsed, "azurite-dir")

  const explicit = account !== undefined || key !== undefined || sas !== undefined
  if (cs !== undefined && (explicit || endpointOption !== undefined)) return usage("give --connection-string alone: it already names the account, its key or SAS and its endpoint")
  if ((cs !== undefined || explicit) && azuriteDir !== undefined) return usage("--azurite-dir is for the azurite waie starts when no credentials are given; these options name an endpoint")

  let endpoint: string | undefined
  if (endpointOption !== undefined) {
    const u = isHttpUrl(endpointOption)
    // a query here is most likely a SAS pasted in the wrong option: do not echo it
    if (u === undefined) return usage(`--blob-endpoint: expected an http(s) URL, found ${/sig=/.test(endpointOption) ? "a value with a signature (not shown)" : JSON.stringify(endpointOption)}`)
    if (u.search !== "") return usage("--blob-endpoint: expected the endpoint without a query (give a SAS with --sas)")
    endpoint = endpointOption.replace(/\/+$/, "")
  }
  if (account !== undefined && !accountPattern.test(account)) return usage(`--account: expected 3 to 24 lower-case letters and digits, found ${JSON.stringify(account)}`)

  if (key !== undefined) {
    if (account === undefined) return usage("--key needs --account (the key alone does not say which account it signs for)")
    if (sas !== undefined) return usage("give --key or --sas, not both")
    if (key.trim() === "" || !isBase64(key.trim())) return usage("--key: expected the account key in Base64, found a value that is not Base64 (not shown: it is a secret)")
    return { kind: "shared-key", account, key: key.trim(), blobEndpoint: endpoint ?? defaultBlobEndpoint(account) }
  }
  if (sas !== undefined) return parseSas(sas.trim(), account, endpoint, usage)
  if (account !== undefined) return usage("--account needs --key or --sas")
  if (endpoint !== undefined && cs === undefined && env[connectionStringVariable] === undefined) return usage("--blob-endpoint needs credentials: --account with --key, or --sas")

  const fromEnv = cs === undefined ? env[connectionStringVariable] : undefined
  const connectionString = cs ?? (fromEnv !== undefined && fromEnv.trim() !== "" ? fromEnv : undefined)
  if (connectionString === undefined) return undefined
  if (endpoint !== undefined) return usage("--blob-endpoint with a connection string: put BlobEndpoint= in the connection string instead")
  const problem = connectionStringProblem(connectionString)
  if (problem !== undefined) return usage(`${cs !== undefined ? "--connection-string" : `$${connectionStringVariable}`}: not a usable connection string: ${problem} (the value is not shown: it holds a secret)`)
  return { kind: "connection-string", connectionString: connectionString.trim() }
}

const parseSas = (sas: string, account: string | undefined, endpoint: string | undefined, usage: (m: string) => UsageError): StorageCredentials | UsageError => {
  const signed = (token: string) => /(^|&)sig=[^&]+/.test(token)
  const url = isHttpUrl(sas)
  if (url !== undefined) {
    if (endpoint !== undefined) return usage("--sas is a URL, which names its endpoint: drop --blob-endpoint")
    const token = url.search.replace(/^\?/, "")
    if (!signed(token)) return usage("--sas: expected a SAS with a signature (…?sv=…&sig=…), found a URL without sig= (not shown)")
    const segments = url.pathname.split("/").filter((s) => s !== "")
    const style = pathStyle(url)
    const urlAccount = style ? segments[0] : url.hostname.split(".")[0]
    const container = style ? segments[1] : segments[0]
    if (urlAccount === undefined || urlAccount === "") return usage("--sas: the URL names no account")
    if (account !== undefined && account !== urlAccount) return usage(`--sas is a URL for account ${JSON.stringify(urlAccount)}, not --account ${JSON.stringify(account)}`)
    const blobEndpoint = style ? `${url.protocol}//${url.host}/${urlAccount}` : `${url.protocol}//${url.host}`
    return { kind: "sas", blobEndpoint, sas: token, account: urlAccount, ...(container !== undefined ? { container } : {}) }
  }
  // the original tool's `container?token`, or `?token`, or the token alone
  const q = sas.indexOf("?")
  const container = q > 0 ? sas.slice(0, q) : undefined
  const token = q === -1 ? sas : sas.slice(q + 1)
  if (!signed(token)) return usage("--sas: expected a SAS with a signature (sv=…&sig=…), found no sig= parameter (the value is not shown: it is a secret)")
  if (container !== undefined && !/^(\$root|[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?)$/.test(container)) return usage(`--sas: expected container?token, found a container name ${JSON.stringify(container)} that is not valid`)
  const blobEndpoint = endpoint ?? (account !== undefined ? defaultBlobEndpoint(account) : undefined)
  if (blobEndpoint === undefined) return usage("--sas as a token needs --account or --blob-endpoint to know where to send it (or give the SAS as a URL)")
  return { kind: "sas", blobEndpoint, sas: token, ...(account !== undefined ? { account } : {}), ...(container !== undefined ? { container } : {}) }
}

/** Where the credentials point, for messages (never a secret). */
export const describeCredentials = (c: StorageCredentials): string => {
  switch (c.kind) {
    case "connection-string":
      return "the account of the connection string"
    case "shared-key":
      return `account ${c.account} at ${c.blobEndpoint}`
    case "sas":
      return `${c.blobEndpoint}${c.container !== undefined ? `/${c.container}` : ""} with a SAS`
  }
}

export interface BlobStoreLayerOptions extends BlobStoreOptions {
  /** where the embedded azurite keeps its data; in memory when absent */
  readonly azuriteDir?: string
  /** says that an embedded azurite runs (a note, or a JSON event) */
  readonly out?: Output
}

/**
 * The BlobStore of these credentials; without credentials, an azurite started for the life of
 * the layer (the command) and stopped when it ends, whatever way it ends.
 */
export const blobStoreLayer = (credentials: StorageCredentials | undefined, options: BlobStoreLayerOptions = {}): Layer.Layer<BlobStore, StorageError | AzuriteFailed> => {
  if (credentials !== undefined) {
    return Layer.effect(
      BlobStore,
      Effect.try({
        try: () => makeBlobStore(credentials, options),
        catch: (e) => (e instanceof StorageError ? e : new StorageError({ operation: "connect", target: "", code: "InvalidCredentials", detail: "" })),
      }),
    )
  }
  return Layer.scoped(
    BlobStore,
    Effect.gen(function* () {
      const az = yield* startAzurite(options.azuriteDir !== undefined ? { dir: options.azuriteDir } : { inMemory: true })
      const where = az.dir !== undefined ? `its data in ${az.dir}` : "in memory, gone when the command ends"
      if (options.out?.json) options.out.event("embeddedStorage", { server: "azurite", blobEndpoint: az.blobEndpoint, account: az.account, dir: az.dir ?? null, pid: az.pid })
      else options.out?.note(`no storage credentials given: using azurite started by waie at ${az.blobEndpoint} (${where}); it stops when this command ends`)
      return makeBlobStore({ kind: "connection-string", connectionString: az.connectionString }, options)
    }),
  )
}
