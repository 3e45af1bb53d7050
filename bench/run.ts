/**
 * `npm run bench`: the prep bench (bench/prep.ts: the copy engine against cp + sync + md5sum),
 * then the import bench (bench/import.ts: `waie service import` against the SDK's uploadFile),
 * each in its own process so that one's memory and workers do not weigh on the other. Every
 * flag goes to both; `--only import` runs the import bench alone, `--only a|b|rss` the prep
 * bench alone.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const i = argv.indexOf("--only")
const only = i >= 0 ? argv[i + 1] : undefined
const withoutOnly = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv

const run = (script: string, args: ReadonlyArray<string>): void => {
  const r = spawnSync(process.execPath, [...process.execArgv, path.join(here, script), ...args], { stdio: "inherit" })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

if (only !== "import") run("prep.ts", argv)
if (only === undefined || only === "import") {
  if (only === undefined) console.log("")
  run("import.ts", withoutOnly)
}
