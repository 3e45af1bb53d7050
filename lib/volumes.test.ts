import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statfsSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { test } from "node:test"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect } from "effect"
import {
  cleanSerial,
  folderBytes,
  linuxDeviceSerial,
  lsblkSerialFor,
  mountContaining,
  parseLsblk,
  parseMountInfo,
  parseVpdPage80,
  statfsFreeBytes,
  sysSerial,
  Volumes,
  VolumesLive,
  VolumesTest,
} from "./volumes.ts"

const temp = (): string => mkdtempSync(path.join(tmpdir(), "waie-"))

// ---------------------------------------------------------------- recorded text

/** /proc/self/mountinfo of a machine with a SATA disk, a USB disk on a folder with a space, tmpfs and btrfs. */
const mountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
28 27 0:25 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
40 27 8:17 / /mnt/usb\\040disk rw,relatime shared:20 - exfat /dev/sdb1 rw,fmask=0022
41 40 0:52 / /mnt/usb\\040disk/inner rw,relatime - tmpfs tmpfs rw,size=1024k
42 27 0:45 /@data /data rw,relatime shared:30 - btrfs /dev/nvme0n1p3 rw,ssd
43 27 8:33 / /mnt/g rw,relatime - ntfs3 /dev/sdc1 rw
44 27 7:0 / /mnt/g rw,relatime - ext4 /dev/loop0 rw
broken line
`

/** `lsblk -J -o NAME,SERIAL,MOUNTPOINT` with a disk and its partitions (util-linux 2.34+). */
const lsblkOld = `{
   "blockdevices": [
      {"name": "sda", "serial": "S3Z9NB0K123456A", "mountpoint": null,
         "children": [
            {"name": "sda1", "serial": null, "mountpoint": "/boot/efi"},
            {"name": "sda2", "serial": null, "mountpoint": "/"}
         ]
      },
      {"name": "sdb", "serial": "  WD-WCC4E1234567  ", "mountpoint": null,
         "children": [
            {"name": "sdb1", "serial": null, "mountpoint": "/mnt/usb disk"}
         ]
      },
      {"name": "vda", "serial": null, "mountpoint": "/mnt/virtual"}
   ]
}`

/** util-linux 2.37+ `-o NAME,SERIAL,MOUNTPOINTS`: an array of mount points. */
const lsblkNew = `{"blockdevices":[{"name":"nvme0n1","serial":"PHBT7123456789","mountpoints":[null],"children":[{"name":"nvme0n1p1","serial":null,"mountpoints":["/mnt/a","/srv/a"]}]}]}`

/** This machine's own answer (a virtual disk: no serial). */
const lsblkHere = `{"blockdevices":[{"name":"zram0","serial":null,"mountpoint":null},{"name":"vda","serial":null,"mountpoint":"/"}]}`

test("cleanSerial: blanks and NULs dropped, unusable text refused", () => {
  assert.equal(cleanSerial("  WD-WCC4E1234567  \n"), "WD-WCC4E1234567")
  assert.equal(cleanSerial("S3Z9 NB0K\u0000\u0000"), "S3Z9NB0K")
  assert.equal(cleanSerial(""), undefined)
  assert.equal(cleanSerial("   \n"), undefined)
  assert.equal(cleanSerial(null), undefined)
  assert.equal(cleanSerial("a/b"), undefined)
  assert.equal(cleanSerial("x".repeat(65)), undefined)
  assert.equal(cleanSerial("Z1D2_AB.C-9"), "Z1D2_AB.C-9")
})

test("parseVpdPage80: the unit serial number of a SCSI VPD page", () => {
  const body = Buffer.from("    Z1D2ABCD", "latin1")
  const page = new Uint8Array([0x00, 0x80, 0x00, body.length, ...body])
  assert.equal(parseVpdPage80(page), "Z1D2ABCD")
  assert.equal(parseVpdPage80(new Uint8Array([0x00, 0x83, 0x00, 0x02, 0x41, 0x42])), undefined, "another page")
  assert.equal(parseVpdPage80(new Uint8Array([0x00, 0x80])), undefined, "too short")
  assert.equal(parseVpdPage80(new Uint8Array([0x00, 0x80, 0x00, 0x04, 0x20, 0x20, 0x20, 0x20])), undefined, "blank serial")
})

test("parseMountInfo: fields, escapes, optional fields; malformed lines skipped", () => {
  const entries = parseMountInfo(mountinfo)
  assert.equal(entries.length, 8)
  assert.deepEqual(entries[1], { majorMinor: "8:2", mountPoint: "/", fsType: "ext4", source: "/dev/sda2" })
  assert.deepEqual(entries[3], { majorMinor: "8:17", mountPoint: "/mnt/usb disk", fsType: "exfat", source: "/dev/sdb1" })
  assert.equal(entries[5]!.fsType, "btrfs")
})

test("mountContaining: the longest mount point; the later of two on one folder; no partial-name match", () => {
  const entries = parseMountInfo(mountinfo)
  assert.equal(mountContaining(entries, "/mnt/usb disk/photos/a.jpg")?.majorMinor, "8:17")
  assert.equal(mountContaining(entries, "/mnt/usb disk/inner/x")?.majorMinor, "0:52")
  assert.equal(mountContaining(entries, "/mnt/usb disk")?.majorMinor, "8:17")
  assert.equal(mountContaining(entries, "/mnt/usb diskette")?.majorMinor, "8:2", "a sibling whose name starts the same is not inside")
  assert.equal(mountContaining(entries, "/mnt/g/x")?.majorMinor, "7:0", "the loop device mounted over /mnt/g hides the ntfs one")
  assert.equal(mountContaining(entries, "/home/u")?.majorMinor, "8:2")
  assert.equal(mountContaining([], "/x"), undefined)
})

test("parseLsblk and lsblkSerialFor: a partition takes its disk's serial; both output shapes", () => {
  const old = parseLsblk(lsblkOld)
  assert.equal(lsblkSerialFor(old, "/mnt/usb disk/a"), "WD-WCC4E1234567")
  assert.equal(lsblkSerialFor(old, "/boot/efi/EFI"), "S3Z9NB0K123456A")
  assert.equal(lsblkSerialFor(old, "/home/u"), "S3Z9NB0K123456A", "under /")
  assert.equal(lsblkSerialFor(old, "/mnt/virtual/x"), undefined, "a virtual disk has none")
  const fresh = parseLsblk(lsblkNew)
  assert.equal(lsblkSerialFor(fresh, "/srv/a/b"), "PHBT7123456789")
  assert.equal(lsblkSerialFor(fresh, "/srv/b"), undefined)
  assert.equal(lsblkSerialFor(parseLsblk(lsblkHere), "/tmp/x"), undefined)
  assert.deepEqual(parseLsblk("not json"), [])
  assert.deepEqual(parseLsblk("{}"), [])
})

/** A recorded /sys tree: a SATA disk (serial in VPD page 0x80), an NVMe namespace, a virtio disk, a loop device. */
const makeSys = (): string => {
  const sys = path.join(temp(), "sys")
  const put = (p: string, content: string | Uint8Array) => {
    mkdirSync(path.dirname(path.join(sys, p)), { recursive: true })
    writeFileSync(path.join(sys, p), content)
  }
  const link = (from: string, to: string) => {
    mkdirSync(path.dirname(path.join(sys, from)), { recursive: true })
    symlinkSync(to, path.join(sys, from))
  }
  const sata = "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"
  const body = Buffer.from("      WD-WCC4E1234567", "latin1")
  put(`${sata}/device/vpd_pg80`, new Uint8Array([0, 0x80, 0, body.length, ...body]))
  put(`${sata}/sda1/partition`, "1\n")
  link("dev/block/8:1", `../../${sata}/sda1`)
  link("dev/block/8:0", `../../${sata}`)
  const nvme = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
  put(`${nvme}/serial`, "PHBT7123456789      \n")
  put(`${nvme}/nvme0n1/nvme0n1p3/partition`, "3\n")
  mkdirSync(path.join(sys, `${nvme}/nvme0n1`), { recursive: true })
  symlinkSync("..", path.join(sys, `${nvme}/nvme0n1/device`))
  link("dev/block/259:3", `../../${nvme}/nvme0n1/nvme0n1p3`)
  link("class/block/nvme0n1p3", `../../${nvme}/nvme0n1/nvme0n1p3`)
  const virtio = "devices/pci0000:00/0000:00:02.0/virtio1/block/vda"
  put(`${virtio}/serial`, "\n")
  link("dev/block/254:0", `../../${virtio}`)
  const virtio2 = "devices/pci0000:00/0000:00:03.0/virtio2/block/vdb"
  put(`${virtio2}/serial`, "disk-0042\n")
  link("dev/block/254:16", `../../${virtio2}`)
  put("devices/virtual/block/loop0/loop/backing_file", "/images/d.img\n")
  link("dev/block/7:0", "../../devices/virtual/block/loop0")
  return sys
}

test("sysSerial: partitions lead to their disk; serial, device/serial, vpd_pg80; none for loop and blank", async () => {
  const sys = makeSys()
  try {
    assert.equal(await sysSerial(sys, "8:1"), "WD-WCC4E1234567", "SATA partition → disk → VPD page 0x80")
    assert.equal(await sysSerial(sys, "8:0"), "WD-WCC4E1234567", "the disk itself")
    assert.equal(await sysSerial(sys, "259:3"), "PHBT7123456789", "NVMe: the controller's serial through device/")
    assert.equal(await sysSerial(sys, "254:16"), "disk-0042", "virtio with a serial")
    assert.equal(await sysSerial(sys, "254:0"), undefined, "virtio without one")
    assert.equal(await sysSerial(sys, "7:0"), undefined, "loop device")
    assert.equal(await sysSerial(sys, "0:45"), undefined, "a virtual device number")
    assert.equal(await sysSerial(sys, "0:45", "/dev/nvme0n1p3"), "PHBT7123456789", "btrfs: through the mount source")
  } finally {
    rmSync(path.dirname(sys), { recursive: true, force: true })
  }
})

test("linuxDeviceSerial: mountinfo → /sys, else lsblk; nothing for device-less mounts", async () => {
  const sys = makeSys()
  const dir = temp()
  try {
    const real = realpathSync(dir)
    const esc = real.replace(/ /g, "\\040")
    const info = (majorMinor: string, source: string) => {
      const f = path.join(dir, `mountinfo-${majorMinor.replace(":", "-")}`)
      writeFileSync(f, `27 1 254:0 / / rw - ext4 /dev/vda rw\n50 27 ${majorMinor} / ${esc} rw - ext4 ${source} rw\n`)
      return f
    }
    let asked = 0
    const lsblk = async () => {
      asked++
      return JSON.stringify({ blockdevices: [{ name: "sdz", serial: "LSBLK-1", mountpoint: null, children: [{ name: "sdz1", serial: null, mountpoint: real }] }] })
    }
    assert.equal(await linuxDeviceSerial(path.join(dir, "."), { mountinfo: info("8:1", "/dev/sda1"), sysRoot: sys, lsblk }), "WD-WCC4E1234567")
    assert.equal(asked, 0, "/sys answered")
    assert.equal(await linuxDeviceSerial(dir, { mountinfo: info("8:99", "/dev/sdz1"), sysRoot: sys, lsblk }), "LSBLK-1", "no /sys entry: lsblk")
    assert.equal(asked, 1)
    assert.equal(await linuxDeviceSerial(dir, { mountinfo: info("0:52", "tmpfs"), sysRoot: sys, lsblk }), undefined, "tmpfs")
    assert.equal(asked, 1, "lsblk not asked about a device-less mount")
    assert.equal(await linuxDeviceSerial(path.join(dir, "missing"), { mountinfo: info("8:1", "/dev/sda1"), sysRoot: sys, lsblk }), undefined, "a missing folder")
    // a folder inside the disk's file system is not the disk: no serial names it
    mkdirSync(path.join(dir, "sub"))
    assert.equal(await linuxDeviceSerial(path.join(dir, "sub"), { mountinfo: info("8:1", "/dev/sda1"), sysRoot: sys, lsblk }), undefined, "a folder below the mount point")
  } finally {
    rmSync(path.dirname(sys), { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  }
})

test("VolumesLive on this host: free space is statfs bavail × bsize; a serial, if any, is a clean one", async () => {
  const dir = temp()
  try {
    const { free, serial } = await Effect.runPromise(
      Effect.gen(function* () {
        const v = yield* Volumes
        return { free: yield* v.freeBytes(dir), serial: yield* v.deviceSerial(dir) }
      }).pipe(Effect.provide(VolumesLive)),
    )
    assert.ok(Number.isSafeInteger(free) && free >= 0)
    assert.ok(serial === undefined || cleanSerial(serial) === serial)
    const missing = await Effect.runPromise(Effect.flip(statfsFreeBytes(path.join(dir, "nope"))))
    assert.equal(missing._tag, "FileUnreadable")
    assert.equal(missing.code, "ENOENT")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("statfs free space on a size-limited tmpfs (root only): all of it, less what is written", { skip: process.getuid?.() !== 0 ? "needs root to mount tmpfs" : false }, async (t) => {
  const dir = temp()
  try {
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" })
    } catch {
      t.skip("mount is not permitted here")
      return
    }
    try {
      assert.equal(await Effect.runPromise(statfsFreeBytes(dir)), 1024 * 1024)
      writeFileSync(path.join(dir, "a"), Buffer.alloc(256 * 1024, 1))
      assert.equal(await Effect.runPromise(statfsFreeBytes(dir)), 768 * 1024)
    } finally {
      execFileSync("umount", [dir])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("statfs free space leaves out the blocks reserved for root (ext4 with 50 % reserved, root only)", { skip: process.getuid?.() !== 0 ? "needs root to mount" : false }, async (t) => {
  const dir = temp()
  const img = path.join(dir, "disk.img")
  const mnt = path.join(dir, "m")
  try {
    try {
      writeFileSync(img, "")
      execFileSync("truncate", ["-s", "8M", img])
      execFileSync("mkfs.ext4", ["-q", "-F", "-m", "50", img], { stdio: "ignore" })
      mkdirSync(mnt)
      execFileSync("mount", ["-o", "loop", img, mnt], { stdio: "ignore" })
    } catch {
      t.skip("mkfs.ext4 or loop mounts are not available here")
      return
    }
    try {
      const s = statfsSync(mnt)
      const free = await Effect.runPromise(statfsFreeBytes(mnt))
      assert.equal(free, s.bavail * s.bsize)
      assert.ok(free < (s.bfree * s.bsize) / 2 + s.bsize * 64, "well below bfree: the reserved half is not counted")
    } finally {
      execFileSync("umount", [mnt])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("VolumesTest: free = capacity − bytes of the files in the folder (nested), never below 0; serials as given", async () => {
  const dir = temp()
  const other = temp()
  try {
    const run = <A, E>(e: Effect.Effect<A, E, Volumes>) => Effect.runPromise(e.pipe(Effect.provide(VolumesTest({ [dir]: 10_000 }, { [dir + "/"]: "SER-1" })), Effect.provide(NodeFileSystem.layer)))
    const free = Effect.flatMap(Volumes, (v) => v.freeBytes(dir))
    assert.equal(await run(free), 10_000)
    writeFileSync(path.join(dir, "a"), Buffer.alloc(1000))
    mkdirSync(path.join(dir, "sub", "deeper"), { recursive: true })
    writeFileSync(path.join(dir, "sub", "deeper", "b"), Buffer.alloc(2500))
    writeFileSync(path.join(dir, "sub", "empty"), "")
    assert.equal(await run(free), 6500)
    symlinkSync(dir, path.join(dir, "sub", "loop"))
    assert.equal(await run(free), 6500, "a link back to the root is not counted twice")
    writeFileSync(path.join(dir, "c"), Buffer.alloc(7000))
    assert.equal(await run(free), 0)
    assert.equal(await run(Effect.flatMap(Volumes, (v) => v.deviceSerial(dir))), "SER-1")
    assert.equal(await run(Effect.flatMap(Volumes, (v) => v.deviceSerial(other))), undefined)
    const unlisted = await run(Effect.flatMap(Volumes, (v) => v.freeBytes(other)))
    assert.ok(unlisted > 10_000, "an unlisted folder has the live free space")
    assert.equal(await Effect.runPromise(folderBytes(dir).pipe(Effect.provide(NodeFileSystem.layer))), 10_500)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    rmSync(other, { recursive: true, force: true })
  }
})

// ---------------------------------------------------------------- USB bridges and loop devices

/**
 * Recorded /sys trees of two USB enclosures and of this machine's loop device with a GPT
 * partition (scripts/ntfs.test.ts mounts one with ntfs-3g):
 *   - a UAS bridge that passes the disk's unit serial through VPD page 0x80 (space-padded);
 *   - a usb-storage (BOT) bridge: the kernel reads no VPD pages from it, so the SCSI disk shows
 *     no serial; only the USB device above it has one (the enclosure's), which udev gives lsblk;
 *   - loop0 with loop0p1 (major 259, as the kernel numbers extended partitions): no hardware, no serial.
 */
const makeUsbSys = (): string => {
  const sys = path.join(temp(), "sys")
  const put = (p: string, content: string | Uint8Array) => {
    mkdirSync(path.dirname(path.join(sys, p)), { recursive: true })
    writeFileSync(path.join(sys, p), content)
  }
  const link = (from: string, to: string) => {
    mkdirSync(path.dirname(path.join(sys, from)), { recursive: true })
    symlinkSync(to, path.join(sys, from))
  }
  const uas = "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0"
  put("devices/pci0000:00/0000:00:14.0/usb2/2-1/serial", "000000000000000000\n")
  const body = Buffer.from("        WD-WX12A3456789", "latin1")
  put(`${uas}/vpd_pg80`, new Uint8Array([0, 0x80, 0, body.length, ...body]))
  put(`${uas}/block/sdc/sdc1/partition`, "1\n")
  symlinkSync("../../../6:0:0:0", path.join(sys, `${uas}/block/sdc/device`))
  link("dev/block/8:33", `../../${uas}/block/sdc/sdc1`)
  const bot = "devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host7/target7:0:0/7:0:0:0"
  put("devices/pci0000:00/0000:00:14.0/usb1/1-2/serial", "575836314134\n")
  put(`${bot}/model`, "Elements 25A2    \n")
  put(`${bot}/block/sdd/sdd1/partition`, "1\n")
  symlinkSync("../../../7:0:0:0", path.join(sys, `${bot}/block/sdd/device`))
  link("dev/block/8:49", `../../${bot}/block/sdd/sdd1`)
  put("devices/virtual/block/loop0/loop/backing_file", "/tmp/waie-ntfs-5SCwwn/g.img\n")
  put("devices/virtual/block/loop0/loop/partscan", "1\n")
  put("devices/virtual/block/loop0/loop0p1/partition", "1\n")
  link("dev/block/7:0", "../../devices/virtual/block/loop0")
  link("dev/block/259:0", "../../devices/virtual/block/loop0/loop0p1")
  return sys
}

/** `lsblk -J -o NAME,SERIAL,MOUNTPOINT` with udev: a USB disk's serial is the enclosure's, padded as some bridges report it. */
const lsblkUsb = `{
   "blockdevices": [
      {"name": "sdd", "serial": "575836314134        ", "mountpoint": null,
         "children": [
            {"name": "sdd1", "serial": null, "mountpoint": "/media/elements"}
         ]
      }
   ]
}`

/** This machine: `lsblk -J -o NAME,SERIAL,MOUNTPOINT /dev/loop0` while scripts/ntfs.test.ts had its partition mounted. */
const lsblkLoop = `{
   "blockdevices": [
      {
         "name": "loop0",
         "serial": null,
         "mountpoint": null,
         "children": [
            {
               "name": "loop0p1",
               "serial": null,
               "mountpoint": "/tmp/waie-ntfs-5SCwwn/g"
            }
         ]
      }
   ]
}`

/** This machine's /proc/self/mountinfo line for an ntfs-3g mount of a loop partition. */
const mountinfoNtfs3g = "46 27 259:0 / /tmp/waie-ntfs-5SCwwn/g rw,relatime - fuseblk /dev/loop0p1 rw,user_id=0,group_id=0,allow_other,blksize=4096\n"

test("sysSerial: a UAS bridge passes the disk's serial (VPD 0x80, padding dropped); a BOT bridge and a loop partition show none", async () => {
  const sys = makeUsbSys()
  try {
    assert.equal(await sysSerial(sys, "8:33"), "WD-WX12A3456789", "sdc1 → sdc → its SCSI device's VPD page, not the USB device's zeros")
    assert.equal(await sysSerial(sys, "8:49"), undefined, "no VPD page: the USB enclosure's serial is not taken for the disk's")
    assert.equal(await sysSerial(sys, "259:0"), undefined, "loop0p1 → loop0: no hardware")
    assert.equal(await sysSerial(sys, "7:0"), undefined)
  } finally {
    rmSync(path.dirname(sys), { recursive: true, force: true })
  }
})

test("parseLsblk: a USB disk's padded serial; this machine's loop device with an ntfs-3g partition has none", () => {
  assert.equal(lsblkSerialFor(parseLsblk(lsblkUsb), "/media/elements/photos"), "575836314134")
  const loop = parseLsblk(lsblkLoop)
  assert.deepEqual(loop[0]?.children.map((c) => c.mountpoints), [["/tmp/waie-ntfs-5SCwwn/g"]])
  assert.equal(lsblkSerialFor(loop, "/tmp/waie-ntfs-5SCwwn/g"), undefined)
})

test("parseMountInfo: an ntfs-3g (fuseblk) mount names its partition's block device, so /sys can be asked", () => {
  assert.deepEqual(parseMountInfo(mountinfoNtfs3g), [{ majorMinor: "259:0", mountPoint: "/tmp/waie-ntfs-5SCwwn/g", fsType: "fuseblk", source: "/dev/loop0p1" }])
})

test("linuxDeviceSerial: a BOT bridge's disk falls back to lsblk (udev's serial); a loop partition to nothing (waie then names it by its identity file)", async () => {
  const sys = makeUsbSys()
  const dir = temp()
  try {
    const real = realpathSync(dir)
    const info = (majorMinor: string, source: string, fsType = "ntfs3") => {
      const f = path.join(dir, `mountinfo-${majorMinor.replace(":", "-")}`)
      writeFileSync(f, `27 1 254:0 / / rw - ext4 /dev/vda rw\n50 27 ${majorMinor} / ${real.replace(/ /g, "\\040")} rw - ${fsType} ${source} rw\n`)
      return f
    }
    const answering = (json: string) => {
      const asked: Array<number> = []
      return { asked, lsblk: async () => (asked.push(1), json) }
    }
    const usb = answering(lsblkUsb.replace("/media/elements", real))
    assert.equal(await linuxDeviceSerial(dir, { mountinfo: info("8:49", "/dev/sdd1"), sysRoot: sys, lsblk: usb.lsblk }), "575836314134")
    assert.equal(usb.asked.length, 1, "lsblk asked when /sys has nothing")
    const uas = answering(lsblkUsb.replace("/media/elements", real))
    assert.equal(await linuxDeviceSerial(dir, { mountinfo: info("8:33", "/dev/sdc1"), sysRoot: sys, lsblk: uas.lsblk }), "WD-WX12A3456789", "/sys first")
    assert.equal(uas.asked.length, 0)
    const loop = answering(lsblkLoop.replace("/tmp/waie-ntfs-5SCwwn/g", real))
    assert.equal(await linuxDeviceSerial(dir, { mountinfo: info("259:0", "/dev/loop0p1", "fuseblk"), sysRoot: sys, lsblk: loop.lsblk }), undefined)
    assert.equal(loop.asked.length, 1, "a block device with no serial in /sys: lsblk is asked too, and has none")
  } finally {
    rmSync(path.dirname(sys), { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  }
})
