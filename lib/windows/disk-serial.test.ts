import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { test } from "node:test"
import { Effect } from "effect"
import { CommandRunner, type RecordedAnswer, type RecordedCall, recordedRunner } from "../commands-runner.ts"
import { diskQueryArgs, diskQueryScript, parseDiskQuery, serialOfDisks, windowsDeviceSerial } from "./disk-serial.ts"
import { systemTool, volumeRootLetter } from "./tools.ts"

const sample = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8")

test("parseDiskQuery + serialOfDisks on the recorded PowerShell answers", () => {
  const serial = (name: string) => serialOfDisks(parseDiskQuery(sample(name)))
  assert.equal(serial("disk-nvme.json"), "0025_3887_91B2_1C4D.", "padding dropped, the EUI-64 form's '.' kept")
  assert.equal(serial("disk-usb-ps51.json"), "57584C314136383641535058", "the PowerShell 5.1 {value, Count} array")
  assert.equal(serial("disk-virtual.json"), undefined, "an empty serial is none")
  assert.equal(serial("disk-several.json"), undefined, "a volume over two disks has no one serial")
  assert.equal(parseDiskQuery(sample("disk-several.json"))?.disks.length, 2, "the same disk listed twice counts once")
  assert.equal(serial("disk-win32-fallback.json"), "S3Z9NB0K123456A", "the warning before the JSON is skipped; left padding dropped")
  assert.equal(parseDiskQuery(sample("disk-win32-fallback.json"))?.source, "Win32_DiskDrive")
  assert.equal(serial("disk-none.json"), undefined)
  assert.deepEqual(parseDiskQuery(sample("disk-nvme.json")), { source: "Get-Disk", disks: [{ number: 0, serial: "0025_3887_91B2_1C4D.", model: "Samsung SSD 970 EVO Plus 2TB" }] })
})

test("parseDiskQuery: a bare disk object or array is read too; garbage is no answer", () => {
  assert.equal(serialOfDisks(parseDiskQuery('{"Number":5,"SerialNumber":"ABC123  "}')), "ABC123")
  assert.equal(serialOfDisks(parseDiskQuery('\ufeff[{"Number":5,"SerialNumber":"ABC123"}]')), "ABC123")
  assert.equal(serialOfDisks(parseDiskQuery('{"source":"Get-Disk","disks":{"Number":5,"SerialNumber":"ONE"}}')), "ONE", "a lone disk not in an array")
  assert.equal(serialOfDisks(parseDiskQuery('{"source":"Get-Disk","disks":null}')), undefined)
  for (const bad of ["", "Get-Volume : No MSFT_Volume objects found", "{not json", '{"source":"Get-Disk","disks":[42]}', '{"source":"x","disks":[{"Number":1,"SerialNumber":"has/slash"}]}']) {
    assert.equal(serialOfDisks(parseDiskQuery(bad)), undefined, bad)
  }
})

test("the query: one letter only, Get-Volume | Get-Partition | Get-Disk with the Win32 fallback, JSON out", () => {
  const s = diskQueryScript("G")
  assert.match(s, /Get-Volume -DriveLetter G \| Get-Partition \| Get-Disk/)
  assert.match(s, /DeviceID='G:'/)
  assert.match(s, /ConvertTo-Json -Compress/)
  for (const bad of ["g", "GH", "G:", "G'; Remove-Item", ""]) assert.throws(() => diskQueryScript(bad), RangeError, bad)
  assert.deepEqual(diskQueryArgs("G").slice(0, 4), ["-NoLogo", "-NoProfile", "-NonInteractive", "-Command"])
})

test("volumeRootLetter: only a volume root is asked about", () => {
  for (const [root, letter] of [["G:\\", "G"], ["g:", "G"], ["G:/", "G"], ["\\\\?\\G:\\", "G"]] as const) assert.equal(volumeRootLetter(root), letter, root)
  for (const root of ["G:\\drives\\one", "D:\\mnt\\g\\", "\\\\server\\share\\", "/mnt/g", "G"]) assert.equal(volumeRootLetter(root), undefined, root)
})

test("systemTool: the full path under %SystemRoot% (Sysnative under WOW64); an odd SystemRoot is not trusted", () => {
  assert.equal(systemTool("manage-bde.exe", { SystemRoot: "D:\\WINNT" }), "D:\\WINNT\\System32\\manage-bde.exe")
  assert.equal(systemTool("powershell.exe", { SystemRoot: "C:\\Windows\\" }), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
  assert.equal(systemTool("format.com", { SystemRoot: "C:\\Windows", PROCESSOR_ARCHITEW6432: "AMD64" }), "C:\\Windows\\Sysnative\\format.com")
  for (const odd of ["", "Windows", "\\\\evil\\share", ".\\here", "C:\\Win;dows?"]) assert.equal(systemTool("format.com", { SystemRoot: odd }), "C:\\Windows\\System32\\format.com", odd)
  assert.equal(systemTool("format.com", {}), "C:\\Windows\\System32\\format.com")
})

const answer = (stdout: string, exitCode = 0): RecordedAnswer => ({ exitCode, stdout, stderr: "" })
const serialWith = (root: string, answers: ReadonlyArray<RecordedAnswer>, calls: Array<RecordedCall> = []) =>
  Effect.runPromise(windowsDeviceSerial(root).pipe(Effect.provideService(CommandRunner, recordedRunner([{ match: (f) => /powershell\.exe$/.test(f), answers }], calls))))

test("windowsDeviceSerial: PowerShell asked for a volume root only; any failure is no serial, never an error", async () => {
  const calls: Array<RecordedCall> = []
  assert.equal(await serialWith("G:\\", [answer(sample("disk-nvme.json"))], calls), "0025_3887_91B2_1C4D.")
  assert.equal(calls.length, 1)
  assert.match(calls[0]!.file, /\\WindowsPowerShell\\v1\.0\\powershell\.exe$/)
  assert.equal(calls[0]!.args[4], diskQueryScript("G"))
  const none: Array<RecordedCall> = []
  assert.equal(await serialWith("G:\\drives\\one", [], none), undefined)
  assert.equal(none.length, 0, "a folder is not asked about")
  assert.equal(await serialWith("G:\\", [answer(sample("disk-nvme.json"), 1)]), undefined, "a failing PowerShell")
  assert.equal(await serialWith("G:\\", [{ notRun: "timed out" }]), undefined)
  assert.equal(await serialWith("G:\\", [{ notRun: "not found" }]), undefined)
  assert.equal(await serialWith("G:\\", [answer("garbage")]), undefined)
})

test("VolumesLive's serial on win32 goes through PowerShell; on other platforms it does not", async () => {
  const { deviceSerialOn } = await import("../volumes.ts")
  const calls: Array<RecordedCall> = []
  const runner = recordedRunner([{ match: (f) => /powershell\.exe$/.test(f), answers: [answer(sample("disk-usb-ps51.json"))] }], calls)
  const on = (platform: NodeJS.Platform, root: string) => Effect.runPromise(deviceSerialOn(platform)(root).pipe(Effect.provideService(CommandRunner, runner)))
  assert.equal(await on("win32", "G:\\"), "57584C314136383641535058")
  assert.equal(await on("darwin", "/Volumes/G"), undefined)
  assert.equal(calls.length, 1)
})
