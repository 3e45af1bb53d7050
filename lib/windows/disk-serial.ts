/**
 * The hardware serial of the disk behind a Windows drive letter, for the DriveId.
 *
 * Asked of PowerShell (`powershell.exe -NoLogo -NoProfile -NonInteractive -Command …`) as JSON:
 * `Get-Volume -DriveLetter G | Get-Partition | Get-Disk` (the Storage module, Windows 8 /
 * Server 2012 and later); when that fails, the CIM classes older systems have:
 * `Win32_LogicalDisk` → `Win32_DiskPartition` → `Win32_DiskDrive`. Both answers have the same
 * shape: `{"source":"Get-Disk"|"Win32_DiskDrive"|"none","disks":[{…SerialNumber…}]}`.
 *
 * Rules (the same as on Linux, lib/volumes.ts):
 *   - only a volume root given by its letter (`G:\`) is asked about; a folder is not a disk of its
 *     own (a folder inside a larger volume, or a volume mounted on a folder: both get waie's
 *     identity file instead);
 *   - exactly one disk must come back; a volume spread over several disks (a dynamic or striped
 *     volume) has no one serial;
 *   - the serial goes through `cleanSerial`: blanks dropped (ATA serials are space-padded), and
 *     anything that could not be a file name is no serial. What Windows reports is kept as it is,
 *     e.g. the trailing `.` of the EUI-64 form the inbox NVMe driver gives
 *     (`0025_3887_91B2_1C4D.`): it is the serial this host sees. The identity file keeps the
 *     DriveId once written, so the same drive read elsewhere (Linux shows NVMe serials another
 *     way) keeps it;
 *   - anything that goes wrong (PowerShell missing, slow, failing, unreadable JSON) means no
 *     serial, never a failure: the identity file always works.
 *
 * PowerShell 5.1 sometimes writes an array held in a property as `{"value":[…],"Count":n}`;
 * both forms are read.
 */
import { Effect } from "effect"
import { CommandRunner } from "../commands-runner.ts"
import { cleanSerial } from "../volumes.ts"
import { systemTool, volumeRootLetter } from "./tools.ts"

/** The PowerShell script asking for the disks behind `letter` (one upper-case letter, checked). */
export const diskQueryScript = (letter: string): string => {
  if (!/^[A-Z]$/.test(letter)) throw new RangeError(`a drive letter is one letter A-Z, got ${JSON.stringify(letter)}`)
  return [
    "$ErrorActionPreference = 'Stop'",
    "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8",
    "$source = 'Get-Disk'",
    `try { $disks = @(Get-Volume -DriveLetter ${letter} | Get-Partition | Get-Disk | Select-Object Number, SerialNumber, FriendlyName) }`,
    "catch {",
    "  $source = 'Win32_DiskDrive'",
    `  try { $disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter "DeviceID='${letter}:'" | Get-CimAssociatedInstance -ResultClassName Win32_DiskPartition | Get-CimAssociatedInstance -ResultClassName Win32_DiskDrive | Select-Object Index, SerialNumber, Model) }`,
    "  catch { $source = 'none'; $disks = @() }",
    "}",
    "ConvertTo-Json -Compress -Depth 4 -InputObject @{ source = $source; disks = $disks }",
  ].join("\n")
}

/** The arguments of powershell.exe for the query. */
export const diskQueryArgs = (letter: string): Array<string> => ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", diskQueryScript(letter)]

export interface WindowsDisk {
  /** the disk number (`Get-Disk` Number, `Win32_DiskDrive` Index) */
  readonly number?: number
  /** the serial as waie uses it (`cleanSerial`), absent when the disk shows none usable */
  readonly serial?: string
  /** FriendlyName or Model */
  readonly model?: string
}

export interface DiskQuery {
  readonly source: string
  readonly disks: ReadonlyArray<WindowsDisk>
}

const unwrapArray = (v: unknown): Array<unknown> | undefined => {
  if (Array.isArray(v)) return v
  if (typeof v === "object" && v !== null && Array.isArray((v as { value?: unknown }).value)) return (v as { value: Array<unknown> }).value
  return undefined
}

const toDisk = (v: unknown): WindowsDisk | undefined => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined
  const o = v as Record<string, unknown>
  const n = typeof o["Number"] === "number" ? o["Number"] : typeof o["Index"] === "number" ? o["Index"] : undefined
  const serial = cleanSerial(typeof o["SerialNumber"] === "string" ? o["SerialNumber"] : undefined)
  const model = typeof o["FriendlyName"] === "string" ? o["FriendlyName"] : typeof o["Model"] === "string" ? o["Model"] : undefined
  return { ...(n !== undefined ? { number: n } : {}), ...(serial !== undefined ? { serial } : {}), ...(model !== undefined ? { model: model.trim() } : {}) }
}

/**
 * The disks in PowerShell's answer: the `{source, disks}` object, or (read as well) a bare disk
 * object or array. Undefined when the text holds no JSON of that shape.
 */
export const parseDiskQuery = (text: string): DiskQuery | undefined => {
  // a BOM, a banner or a warning may come before the JSON
  const start = text.search(/[[{]/)
  if (start === -1) return undefined
  let v: unknown
  try {
    v = JSON.parse(text.slice(start))
  } catch {
    return undefined
  }
  let source = "unknown"
  let list: Array<unknown> | undefined
  if (typeof v === "object" && v !== null && !Array.isArray(v) && "disks" in v) {
    const o = v as { source?: unknown; disks?: unknown }
    if (typeof o.source === "string") source = o.source
    // a lone disk may come unwrapped, and "no disk" as null
    list = o.disks === null || o.disks === undefined ? [] : (unwrapArray(o.disks) ?? [o.disks])
  } else list = unwrapArray(v) ?? [v]
  const disks: Array<WindowsDisk> = []
  for (const item of list) {
    const d = toDisk(item)
    if (d === undefined) return undefined
    // the same disk twice (two partitions of one disk behind a volume) is one disk
    if (d.number !== undefined && disks.some((x) => x.number === d.number)) continue
    disks.push(d)
  }
  return { source, disks }
}

/** The serial that names the volume's hardware: that of its only disk; undefined for none or several. */
export const serialOfDisks = (q: DiskQuery | undefined): string | undefined => (q !== undefined && q.disks.length === 1 ? q.disks[0]!.serial : undefined)

/**
 * The serial of the disk holding the volume whose root is `root` (`G:\`), or undefined. Never
 * fails (see the top of this file).
 */
export const windowsDeviceSerial = (root: string): Effect.Effect<string | undefined> =>
  Effect.gen(function* () {
    const letter = volumeRootLetter(root)
    if (letter === undefined) return undefined
    const runner = yield* CommandRunner
    const out = yield* runner.run(systemTool("powershell.exe"), diskQueryArgs(letter), { timeoutMs: 60_000, maxBytes: 256 * 1024 }).pipe(Effect.option)
    if (out._tag === "None" || out.value.exitCode !== 0) return undefined
    return serialOfDisks(parseDiskQuery(out.value.stdout))
  })
