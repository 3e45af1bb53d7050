/**
 * The file systems drives are mounted on: how much room is left, and which hardware they are.
 *
 * `Volumes` is a service so that tests can give a folder a size (`VolumesTest`) and the copy
 * can be tested against "drives" of a few KiB without mounting anything.
 *
 * Live (`VolumesLive`):
 *   - free space is `statfs(root).bavail * bsize`: the blocks an unprivileged writer may still
 *     use, not `bfree` (which counts the blocks reserved for root);
 *   - the device serial, on Linux: the mount holding the root in `/proc/self/mountinfo` gives
 *     `major:minor`; `/sys/dev/block/<major:minor>` leads to the block device, and for a
 *     partition to its parent disk, whose `serial`, `device/serial` or `device/vpd_pg80` (SCSI
 *     unit serial number page) names the hardware. When `/sys` shows none, `lsblk -J -o
 *     NAME,SERIAL,MOUNTPOINT` is asked (a partition takes its disk's serial). Virtual disks,
 *     loop devices and tmpfs show none: the serial is then `undefined` and waie identifies the
 *     drive through an identity file instead (lib/drive.ts);
 *   - the device serial, on Windows: for a volume root given by its letter (`G:\`), the serial
 *     of the one disk behind it, asked of PowerShell (lib/windows/disk-serial.ts); a folder gets
 *     none. macOS: `undefined`;
 *   - free space on Windows is the same `statfs`: Node 20's `fs.statfs` there is libuv's
 *     `GetDiskFreeSpaceW` (free clusters available to this user, so quotas count, times the
 *     cluster size), on the namespaced (`\\?\`) path.
 *
 * A serial is used only when it can serve as a DriveId and a file name (`<DriveId>.xml`): ASCII
 * letters, digits, `.`, `_`, `-`, at most 64 characters, after blanks and NULs are dropped (ATA
 * serials are space-padded). Anything else is treated as no serial.
 *
 * The parsers are exported and tested on recorded text; node:fs is used directly for `statfs`
 * (the platform FileSystem has none) and for `/proc` and `/sys`, which are not drive data.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { FileUnreadable } from "./errors.ts"
import { unreadable } from "./files.ts"
import { windowsDeviceSerial } from "./windows/disk-serial.ts"

export interface VolumesService {
  /** bytes a writer may still put on the file system holding `root` */
  readonly freeBytes: (root: string) => Effect.Effect<number, FileUnreadable>
  /** the hardware serial of the disk holding `root`, when the system shows one */
  readonly deviceSerial: (root: string) => Effect.Effect<string | undefined>
}

export class Volumes extends Context.Tag("waie/Volumes")<Volumes, VolumesService>() {}

// ---------------------------------------------------------------- serials

/** A serial as waie uses it, or undefined when the text is no usable serial. */
export const cleanSerial = (raw: string | null | undefined): string | undefined => {
  if (raw === null || raw === undefined) return undefined
  // eslint-disable-next-line no-control-regex
  const s = raw.replace(/[\s\u0000]+/g, "")
  return /^[A-Za-z0-9._-]{1,64}$/.test(s) ? s : undefined
}

/** The unit serial number of a SCSI VPD page 0x80 (`/sys/block/sdX/device/vpd_pg80`). */
export const parseVpdPage80 = (bytes: Uint8Array): string | undefined => {
  if (bytes.length < 4 || bytes[1] !== 0x80) return undefined
  const length = (bytes[2]! << 8) | bytes[3]!
  const body = bytes.subarray(4, Math.min(bytes.length, 4 + length))
  return cleanSerial(Buffer.from(body).toString("latin1"))
}

// ---------------------------------------------------------------- /proc/self/mountinfo

export interface MountInfoEntry {
  /** `major:minor` of the device */
  readonly majorMinor: string
  /** the mount point, unescaped */
  readonly mountPoint: string
  readonly fsType: string
  /** the mount source (`/dev/sda1`, `tmpfs`, …) */
  readonly source: string
}

/** `\040` (space), `\011`, `\012`, `\134` as the kernel escapes them. */
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))

/**
 * The lines of `/proc/self/mountinfo`:
 * `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`.
 * Malformed lines are skipped.
 */
export const parseMountInfo = (text: string): Array<MountInfoEntry> => {
  const out: Array<MountInfoEntry> = []
  for (const line of text.split("\n")) {
    const fields = line.split(" ")
    const dash = fields.indexOf("-", 6)
    if (fields.length < 10 || dash === -1 || dash + 2 >= fields.length) continue
    const majorMinor = fields[2]!
    if (!/^\d+:\d+$/.test(majorMinor)) continue
    out.push({ majorMinor, mountPoint: unescapeMount(fields[4]!), fsType: fields[dash + 1]!, source: unescapeMount(fields[dash + 2]!) })
  }
  return out
}

const contains = (mountPoint: string, p: string): boolean => mountPoint === "/" || p === mountPoint || p.startsWith(mountPoint.endsWith("/") ? mountPoint : mountPoint + "/")

/** The mount a (real, absolute) path lives on: the longest mount point containing it; the later of equals (it hides the earlier). */
export const mountContaining = (entries: ReadonlyArray<MountInfoEntry>, realPath: string): MountInfoEntry | undefined => {
  let best: MountInfoEntry | undefined
  for (const e of entries) if (contains(e.mountPoint, realPath) && (best === undefined || e.mountPoint.length >= best.mountPoint.length)) best = e
  return best
}

// ---------------------------------------------------------------- /sys

const readText = (p: string): Promise<string | undefined> => fsp.readFile(p, "latin1").then(
  (t) => t,
  () => undefined,
)

/**
 * The serial of the disk behind a block device number, read from a `/sys` tree (`sysRoot` is
 * `/sys` live, a recorded tree in tests). A partition (it has a `partition` file) is replaced by
 * its parent disk. When `major:minor` has no entry (btrfs and other virtual device numbers), a
 * `/dev/<name>` mount source is looked up in `class/block/<name>`.
 */
export const sysSerial = async (sysRoot: string, majorMinor: string, source?: string): Promise<string | undefined> => {
  let dev = await fsp.realpath(path.join(sysRoot, "dev", "block", majorMinor)).catch(() => undefined)
  if (dev === undefined && source !== undefined && source.startsWith("/dev/")) {
    dev = await fsp.realpath(path.join(sysRoot, "class", "block", path.basename(source))).catch(() => undefined)
  }
  if (dev === undefined) return undefined
  const disk = (await readText(path.join(dev, "partition"))) !== undefined ? path.dirname(dev) : dev
  for (const f of ["serial", path.join("device", "serial")]) {
    const s = cleanSerial(await readText(path.join(disk, f)))
    if (s !== undefined) return s
  }
  const vpd = await fsp.readFile(path.join(disk, "device", "vpd_pg80")).catch(() => undefined)
  return vpd === undefined ? undefined : parseVpdPage80(vpd)
}

// ---------------------------------------------------------------- lsblk

export interface LsblkDevice {
  readonly name: string
  readonly serial?: string
  readonly mountpoints: ReadonlyArray<string>
  readonly children: ReadonlyArray<LsblkDevice>
}

const toDevice = (v: unknown): LsblkDevice | undefined => {
  if (typeof v !== "object" || v === null) return undefined
  const o = v as Record<string, unknown>
  const mountpoints: Array<string> = []
  if (typeof o["mountpoint"] === "string") mountpoints.push(o["mountpoint"])
  if (Array.isArray(o["mountpoints"])) for (const m of o["mountpoints"]) if (typeof m === "string") mountpoints.push(m)
  const children = Array.isArray(o["children"]) ? o["children"].map(toDevice).filter((d): d is LsblkDevice => d !== undefined) : []
  const serial = cleanSerial(typeof o["serial"] === "string" ? o["serial"] : undefined)
  return { name: typeof o["name"] === "string" ? o["name"] : "", ...(serial !== undefined ? { serial } : {}), mountpoints, children }
}

/** The devices of `lsblk -J -o NAME,SERIAL,MOUNTPOINT` (or `MOUNTPOINTS`); `[]` for anything unreadable. */
export const parseLsblk = (json: string): Array<LsblkDevice> => {
  try {
    const v = JSON.parse(json) as { blockdevices?: unknown }
    return Array.isArray(v.blockdevices) ? v.blockdevices.map(toDevice).filter((d): d is LsblkDevice => d !== undefined) : []
  } catch {
    return []
  }
}

/** The serial of the device mounted on the longest mount point containing `realPath`; a partition takes its disk's. */
export const lsblkSerialFor = (devices: ReadonlyArray<LsblkDevice>, realPath: string): string | undefined => {
  let best: { length: number; serial: string | undefined } | undefined
  const visit = (d: LsblkDevice, inherited: string | undefined): void => {
    const serial = d.serial ?? inherited
    for (const m of d.mountpoints) if (contains(m, realPath) && (best === undefined || m.length > best.length)) best = { length: m.length, serial }
    for (const c of d.children) visit(c, serial)
  }
  for (const d of devices) visit(d, undefined)
  return best?.serial
}

const runLsblk = (): Promise<string | undefined> =>
  new Promise((resolve) => {
    execFile("lsblk", ["-J", "-o", "NAME,SERIAL,MOUNTPOINT"], { timeout: 10_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => resolve(err ? undefined : stdout))
  })

export interface SerialSources {
  readonly mountinfo?: string
  readonly sysRoot?: string
  readonly lsblk?: () => Promise<string | undefined>
}

/**
 * The serial of the disk mounted at `root` on Linux, or undefined. Never fails. A serial names a
 * whole disk, so it identifies a drive only when `root` is where that disk's file system is
 * mounted: a folder inside a larger file system (the machine's own disk, a test's temp folder)
 * shares the disk with other folders and gets no serial (waie's identity file names it).
 */
export const linuxDeviceSerial = async (root: string, sources: SerialSources = {}): Promise<string | undefined> => {
  try {
    const real = await fsp.realpath(root)
    const mountinfo = await readText(sources.mountinfo ?? "/proc/self/mountinfo")
    const mount = mountinfo === undefined ? undefined : mountContaining(parseMountInfo(mountinfo), real)
    if (mount !== undefined && mount.mountPoint !== real) return undefined
    if (mount !== undefined) {
      const s = await sysSerial(sources.sysRoot ?? "/sys", mount.majorMinor, mount.source)
      if (s !== undefined) return s
      // tmpfs, overlay and other device-less mounts have no disk to ask lsblk about
      if (!mount.source.startsWith("/dev/")) return undefined
    }
    const json = await (sources.lsblk ?? runLsblk)()
    return json === undefined ? undefined : lsblkSerialFor(parseLsblk(json), real)
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------- layers

const errnoCode = (e: unknown): string => (typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "EIO")

/** `statfs(root).bavail * bsize`. */
export const statfsFreeBytes = (root: string): Effect.Effect<number, FileUnreadable> =>
  Effect.tryPromise({
    try: () => fsp.statfs(root),
    catch: (e) => new FileUnreadable({ path: root, code: errnoCode(e), reason: `cannot read the free space of its file system${e instanceof Error ? `: ${e.message.replace(/^[A-Z]+: /, "").replace(/, statfs '.*'$/, "")}` : ""}` }),
  }).pipe(Effect.map((s) => Number(s.bavail) * Number(s.bsize)))

/** How the live layer finds a serial on each platform (a parameter for tests). */
export const deviceSerialOn =
  (platform: NodeJS.Platform) =>
  (root: string): Effect.Effect<string | undefined> =>
    platform === "linux" ? Effect.promise(() => linuxDeviceSerial(root)) : platform === "win32" ? windowsDeviceSerial(root) : Effect.succeed(undefined)

export const VolumesLive: Layer.Layer<Volumes> = Layer.succeed(Volumes, { freeBytes: statfsFreeBytes, deviceSerial: deviceSerialOn(process.platform) })

/** The bytes of the files in a folder and below (sizes, not blocks); symbolic-link loops are visited once. */
export const folderBytes = (root: string): Effect.Effect<number, FileUnreadable, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const seen = new Set<string>()
    const stack = [root]
    let total = 0
    while (stack.length > 0) {
      const dir = stack.pop()!
      const info = yield* fs.stat(dir).pipe(Effect.mapError(unreadable(dir)))
      const key = `${info.dev}:${info.ino._tag === "Some" ? info.ino.value : dir}`
      if (seen.has(key)) continue
      seen.add(key)
      const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(unreadable(dir)))
      for (const name of names) {
        const p = path.join(dir, name)
        const st = yield* fs.stat(p).pipe(
          Effect.map((s) => s as FileSystem.File.Info | undefined),
          // a file removed meanwhile, or a dangling link, holds nothing
          Effect.catchIf(
            (e) => e._tag === "SystemError" && e.reason === "NotFound",
            () => Effect.succeed(undefined),
          ),
          Effect.mapError(unreadable(p)),
        )
        if (st === undefined) continue
        if (st.type === "Directory") stack.push(p)
        else total += Number(st.size)
      }
    }
    return total
  })

/**
 * Volumes for tests: a folder listed in `capacities` (by its absolute path) is a drive of that
 * many bytes, whose free space is its capacity less the bytes of the files now in it (never
 * below 0). `serials` gives folders a device serial. Folders not listed use the live free space
 * and have no serial.
 */
export const VolumesTest = (capacities: Readonly<Record<string, number>>, serials: Readonly<Record<string, string>> = {}): Layer.Layer<Volumes, never, FileSystem.FileSystem> =>
  Layer.effect(
    Volumes,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const caps = new Map(Object.entries(capacities).map(([k, v]) => [path.resolve(k), v]))
      const sers = new Map(Object.entries(serials).map(([k, v]) => [path.resolve(k), v]))
      return {
        freeBytes: (root: string) => {
          const cap = caps.get(path.resolve(root))
          if (cap === undefined) return statfsFreeBytes(root)
          return folderBytes(root).pipe(
            Effect.map((used) => Math.max(0, cap - used)),
            Effect.provideService(FileSystem.FileSystem, fs),
          )
        },
        deviceSerial: (root: string) => Effect.succeed(sers.get(path.resolve(root))),
      }
    }),
  )
