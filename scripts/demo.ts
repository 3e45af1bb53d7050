#!/usr/bin/env node
/**
 * `waie demo`: waie on the bundled example (examples/), one step per command, each printed as
 * the command line a user would type. Until PrepImport lands, the demo checks the example's
 * inputs and reads its outputs; it ends with a verdict and exit code 0 only if every step gave
 * the result it should.
 */
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type CommandSpec, type Io, runCli, runIfMain } from "../lib/cli.ts"
import { ExitCode } from "../lib/errors.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

interface Step {
  readonly what: string
  readonly argv: ReadonlyArray<string>
  readonly exit: number
}

const steps: ReadonlyArray<Step> = [
  { what: "a fresh BitLocker recovery key, for a drive you encrypt yourself", argv: ["key", "new"], exit: 0 },
  { what: "the drives to prepare", argv: ["driveset", "check", "examples/driveset.csv"], exit: 0 },
  { what: "what to copy, with drive F: of the dataset mapped to a local folder", argv: ["dataset", "check", "examples/dataset.csv", "--mount", "F=examples/source"], exit: 0 },
  { what: "the metadata and properties files the dataset sets on a blob", argv: ["metadata", "check", "examples/metadata.xml"], exit: 0 },
  { what: "", argv: ["properties", "check", "examples/koala.properties"], exit: 0 },
  { what: "a drive manifest: every rule of the format, and the hash the job needs", argv: ["manifest", "check", "examples/DriveManifest.xml"], exit: 0 },
  { what: "the same manifest as JSON lines, for jq (the storage key is masked)", argv: ["manifest", "json", "examples/DriveManifest.xml"], exit: 0 },
  { what: "what the service reported after the import: one corrupted page range", argv: ["copylog", "check", "examples/copylog-error.xml"], exit: 0 },
  { what: "the name the rename disposition gives when the blob and its (2) exist", argv: ["rename", "pictures/Seattle.jpg", "pictures/Seattle.jpg", "pictures/Seattle (2).jpg"], exit: 0 },
  { what: "an export blob list: which blobs an export job would select", argv: ["bloblist", "check", "examples/bloblist.xml"], exit: 0 },
]

const shellWord = (w: string): string => (/^[A-Za-z0-9_./=:@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

export const command: CommandSpec = {
  path: ["demo"],
  summary: "run waie on the bundled example (examples/), printing each command as you would type it",
  args: [],
  options: [],
  exitCodes: [[1, "a step did not give the result it should (the verdict names it)"]],
  run: (parsed, ctx) =>
    Effect.promise(async () => {
      const { loadCommands } = await import("./commands.ts")
      const commands = (await loadCommands()).filter((c) => c.path[0] !== "demo")
      const failed: Array<string> = []
      for (const step of steps) {
        const line = `waie ${step.argv.map(shellWord).join(" ")}`
        if (step.what) ctx.out.event("step", { command: line, what: step.what }, `\n# ${step.what}`)
        else ctx.out.event("step", { command: line }, undefined)
        if (!parsed.json) ctx.io.stdout(`$ ${line}\n`)
        const argv = parsed.json ? [...step.argv, "--json"] : step.argv
        // each step writes through the demo's own output, from the repository's folder
        const io: Io = { ...ctx.io, cwd: root }
        const exit = await runCli(commands, argv, io)
        ctx.out.event("stepResult", { command: line, exit, expected: step.exit }, undefined)
        if (exit !== step.exit) failed.push(`${line} (exit ${exit}, expected ${step.exit})`)
      }
      const ok = failed.length === 0
      ctx.out.event(
        "verdict",
        { ok, steps: steps.length, failed },
        ok ? `\ndemo: all ${steps.length} steps gave the expected result` : `\ndemo: ${failed.length} of ${steps.length} steps failed:\n${failed.map((f) => `  ${f}`).join("\n")}`,
      )
      return ok ? ExitCode.Ok : ExitCode.Invalid
    }),
}

runIfMain(import.meta, command)
