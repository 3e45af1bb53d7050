/**
 * The Windows tools waie runs, by their full path under `%SystemRoot%`.
 *
 * A bare `format.com` would be looked up through the current folder and PATH, so a file of that
 * name planted in the folder waie runs from would be run as administrator; the full path of the
 * system's own copy leaves nothing to look up. A 32-bit node on 64-bit Windows sees
 * `System32` redirected to `SysWOW64`, where manage-bde is missing: it reaches the real folder
 * through `Sysnative`.
 */
import * as path from "node:path"

export type WindowsTool = "format.com" | "manage-bde.exe" | "powershell.exe"

const relative: Readonly<Record<WindowsTool, ReadonlyArray<string>>> = {
  "format.com": ["format.com"],
  "manage-bde.exe": ["manage-bde.exe"],
  "powershell.exe": ["WindowsPowerShell", "v1.0", "powershell.exe"],
}

/** The full path of a system tool; `env` is the process environment (a parameter for tests). */
export const systemTool = (tool: WindowsTool, env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const given = env["SystemRoot"] ?? env["SYSTEMROOT"] ?? env["windir"]
  // only an absolute drive path is trusted; anything else (unset, relative, a share) falls back
  const root = given !== undefined && /^[A-Za-z]:\\[^\\/:*?"<>|]*$/.test(given) ? given.replace(/\\+$/, "") : "C:\\Windows"
  const system = env["PROCESSOR_ARCHITEW6432"] !== undefined ? "Sysnative" : "System32"
  return path.win32.join(root, system, ...relative[tool])
}

/** The letter of a volume root (`G:\`, `G:`, `g:/`, `\\?\G:\`), upper-case; undefined for anything else. */
export const volumeRootLetter = (root: string): string | undefined => {
  const m = /^(?:\\\\\?\\)?([A-Za-z]):[\\/]?$/.exec(root)
  return m ? m[1]!.toUpperCase() : undefined
}
