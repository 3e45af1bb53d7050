/**
 * Progress of a long copy: bytes, files, rate and time left, on one line of stderr that redraws
 * itself — only when stderr is a terminal (a pipe or a log file gets no bar; `--json` gets
 * `progress` lines at most once a second instead).
 */
import type { Io, Output } from "./cli.ts"

export interface ProgressState {
  readonly totalBytes: number
  readonly totalFiles: number
  bytes: number
  files: number
  readonly startedMs: number
}

const units = ["B", "KB", "MB", "GB", "TB"]

/** Decimal units, as drive makers and the Import/Export service count. */
export const humanBytes = (n: number): string => {
  let v = n
  let u = 0
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`
}

export const humanDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = s % 60
  const two = (x: number) => String(x).padStart(2, "0")
  return h > 0 ? `${h}:${two(m)}:${two(ss)}` : `${two(m)}:${two(ss)}`
}

/** The bar's text at `nowMs` (pure, so it can be tested). */
export const progressLine = (p: ProgressState, nowMs: number, width = 24): string => {
  const fraction = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : p.totalFiles > 0 ? Math.min(1, p.files / p.totalFiles) : 1
  const filled = Math.round(fraction * width)
  const elapsed = Math.max(0.001, (nowMs - p.startedMs) / 1000)
  const rate = p.bytes / elapsed
  const eta = rate > 0 ? (p.totalBytes - p.bytes) / rate : Number.NaN
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${humanBytes(p.bytes)} of ${humanBytes(p.totalBytes)}  ${p.files}/${p.totalFiles} files  ${humanBytes(rate)}/s  ETA ${humanDuration(eta)}`
}

export interface Progress {
  readonly add: (bytes: number) => void
  readonly fileDone: () => void
  readonly finish: () => void
}

/** A progress reporter for `io`; silent unless stderr is a terminal (or `--json`, once a second). */
export const makeProgress = (io: Io, out: Output, totalBytes: number, totalFiles: number, now: () => number = Date.now): Progress => {
  const p: ProgressState = { totalBytes, totalFiles, bytes: 0, files: 0, startedMs: now() }
  const bar = io.stderrIsTTY && !out.json
  let last = 0
  const draw = (force: boolean) => {
    const t = now()
    if (!force && t - last < (bar ? 100 : 1000)) return
    last = t
    if (bar) io.stderr(`\r${progressLine(p, t)}\x1b[K`)
    else if (out.json) out.event("progress", { bytes: p.bytes, totalBytes, files: p.files, totalFiles, elapsedMs: t - p.startedMs }, undefined)
  }
  return {
    add: (bytes) => {
      p.bytes += bytes
      draw(false)
    },
    fileDone: () => {
      p.files++
      draw(false)
    },
    finish: () => {
      if (bar) {
        draw(true)
        io.stderr("\n")
      }
    },
  }
}
