/** `PrepImport /ListDrives` and `/ListCopySessions`: what a journal says, without touching drives. */
import type { Output } from "./cli.ts"
import type { JournalState } from "./journal.ts"
import { plural } from "./output.ts"


export const sessionStatus = (s: JournalState["sessions"][number], latest: boolean): "completed" | "interrupted" | "abandoned" =>
  s.completed ? "completed" : latest ? "interrupted" : "abandoned"

export const listCopySessions = (state: JournalState, journal: string, out: Output): void => {
  state.sessions.forEach((s, i) => {
    const status = sessionStatus(s, i === state.sessions.length - 1)
    out.event(
      "session",
      { sessionId: s.sessionId, status, dataSet: s.dataSet, drives: s.drives, filesStarted: s.filesStarted, filesCompleted: s.filesCompleted, filesSkipped: s.filesSkipped, bytesStarted: s.bytesStarted },
      `${s.sessionId}: ${status}; data set ${s.dataSet}; ${plural(s.filesCompleted, "file")} copied of ${s.filesStarted} started${s.filesSkipped ? `, ${s.filesSkipped} that fit on no drive` : ""}; drives ${s.drives.length ? s.drives.join(", ") : "(those of earlier sessions)"}`,
    )
  })
  out.event("summary", { journal, sessions: state.sessions.length }, `${journal}: ${plural(state.sessions.length, "copy session")}`)
}

export const listDrives = (state: JournalState, journal: string, out: Output): void => {
  for (const d of state.drives.values()) {
    out.event(
      "drive",
      { driveId: d.driveId, root: d.root, name: d.name, sessionAdded: d.sessionAdded, identity: d.identity, encryption: d.encryption, manifestFile: d.manifestFile ?? null, manifestHash: d.manifestHash ?? null },
      `${d.driveId}: ${d.name}${d.name !== d.root ? ` (${d.root})` : ""}, added in ${d.sessionAdded}, identity from ${d.identity === "serial" ? "the device serial" : "waie's identity file"}; ${d.manifestHash ? `manifest ${d.manifestFile} ${d.manifestHash}` : "no manifest yet"}`,
    )
  }
  out.event("summary", { journal, drives: state.drives.size }, `${journal}: ${plural(state.drives.size, "drive")}`)
}
