#!/usr/bin/env node
// Launcher that works from any folder: tsx is resolved from this file's own node_modules,
// not from the caller's current folder (node --import tsx would look there).
import { register } from "tsx/esm/api"

register()
await import("../scripts/waie.ts")
