#!/usr/bin/env node
// Launcher that works from any folder: tsx is resolved from this file's own node_modules,
// not from the caller's current folder (node --import tsx would look there).
//
// `waie.mjs --script FILE ARGS…` runs one script of scripts/ as if node ran it directly: what
// the first lines of every script do when it is executed itself (`./scripts/verify.ts DRIVE`).
import { register } from "tsx/esm/api"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

register()
if (process.argv[2] === "--script" && process.argv[3] !== undefined) {
  const script = path.resolve(process.argv[3])
  process.argv.splice(1, 3, script)
  await import(pathToFileURL(script).href)
} else {
  await import("../scripts/waie.ts")
}
