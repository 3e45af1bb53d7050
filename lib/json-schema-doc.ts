/**
 * docs/json-lines.md's reference part, rendered from lib/json-schema.ts: the page's text between
 * its two markers is replaced, the prose around them is the page's own. scripts/json-lines.test.ts
 * fails when the page is not what this renders, so the page says what the test checks.
 */
import { type CommandSchema, commandSchemas, type Count, type EventSpec, exampleOf, type Fields, type JsonType, sharedTypes } from "./json-schema.ts"

export const beginMarker = "<!-- generated from lib/json-schema.ts: do not edit by hand (WAIE_RECORD_DOCS=1 node --import tsx --test scripts/json-lines.test.ts) -->"
export const endMarker = "<!-- end of generated part -->"

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ")

const formatWords: Readonly<Record<string, string>> = {
  md5: "string: MD5, 32 upper-case hex digits",
  isoTime: "string: ISO 8601 UTC time",
  journalTime: "string: UTC time as the journal writes it, `YYYY/MM/DD hh:mm:ss.fff`",
}

/** A type in words for the page (enums spelled out, units named). */
const typeWords = (type: JsonType): string => {
  switch (type.kind) {
    case "string":
      if (type.values !== undefined) return type.values.length === 1 ? `\`${JSON.stringify(type.values[0])}\`` : `one of ${type.values.map((v) => `\`${v}\``).join(", ")}`
      return type.format !== undefined ? formatWords[type.format]! : "string"
    case "integer":
    case "number":
      return type.unit !== undefined ? `${type.kind}, ${type.unit}` : type.kind
    case "boolean":
      return type.value !== undefined ? `\`${type.value}\`` : "boolean"
    case "array":
      return type.of.kind === "object" ? "array of objects" : `array of ${typeWords(type.of)}`
    case "tuple":
      return `[${type.of.map(typeWords).join(", ")}]`
    case "object":
      return "object"
    case "map":
      return `object: ${type.keys} → ${typeWords(type.of)}`
    case "nullable":
      return `${typeWords(type.of)}, or null`
  }
}

/** The rows of a field table: nested objects' fields follow with dotted names (`[]` for an array's items). */
const fieldRows = (fields: Fields, prefix: string, when: string): Array<string> => {
  const rows: Array<string> = []
  for (const [name, f] of Object.entries(fields)) {
    const presence = f.optional === true ? (when ? `${when}; optional` : "optional") : when || "always"
    rows.push(`| \`${prefix}${name}\` | ${cell(typeWords(f.type))} | ${cell(presence)} | ${cell(f.doc)} |`)
    let inner = f.type
    let suffix = ""
    if (inner.kind === "nullable") inner = inner.of
    if (inner.kind === "array") {
      inner = inner.of
      suffix = "[]"
    }
    if (inner.kind === "object") rows.push(...fieldRows(inner.fields, `${prefix}${name}${suffix}.`, ""))
  }
  return rows
}

const typeSection = (heading: string, type: string, spec: EventSpec): Array<string> => {
  const rows = ["| field | JSON type | present | meaning |", "|---|---|---|---|", `| \`type\` | \`${JSON.stringify(type)}\` | always, first | the line's type |`, ...fieldRows(spec.fields, "", "")]
  if (spec.variants !== undefined) {
    const v = spec.variants
    for (const [value, fields] of Object.entries(v.cases)) rows.push(...fieldRows(fields, "", `when \`${v.on}\` is ${JSON.stringify(value === "true" || value === "false" ? value === "true" : value)}`))
    if (v.otherwise !== undefined) rows.push(...fieldRows(v.otherwise, "", `when \`${v.on}\` is another value`))
  }
  return [`${heading} \`${type}\``, "", spec.doc, "", ...rows, "", "```json", exampleOf(spec) ?? "(no example)", "```", ""]
}

const countWords: Readonly<Record<Count, string>> = { "1": "one", "0..1": "at most one", "*": "any number", "1+": "one or more" }

const stdoutWords = (s: CommandSchema): string =>
  s.stdout === "json" ? "JSON lines with `--json`." : s.stdout === "always" ? "JSON lines, with or without `--json`." : "Not JSON lines: the document itself. With `--json`, a failure is an `error` line (with its `issue` lines)."

const commandSection = (s: CommandSchema, earlier: ReadonlyArray<CommandSchema>): Array<string> => {
  const out = [`### \`waie ${s.command}\``, "", `${s.doc} ${stdoutWords(s)}`, ""]
  if (s.sequence.length > 0) {
    out.push("| lines, in this order | how many | |", "|---|---|---|")
    for (const item of s.sequence) {
      const shared = sharedTypes[item.type] !== undefined && (s.types[item.type] === undefined || s.types[item.type] === sharedTypes[item.type])
      out.push(`| \`${item.type}\`${shared ? " (common)" : ""} | ${countWords[item.count]} | ${cell(item.doc)} |`)
    }
    out.push("")
  }
  const same = earlier.find((e) => e.types === s.types && Object.keys(s.types).length > 0)
  if (same !== undefined) {
    out.push(`Each type as under \`waie ${same.command}\`.`, "")
    return out
  }
  for (const [type, spec] of Object.entries(s.types)) {
    if (sharedTypes[type] === spec) continue
    out.push(...typeSection("####", type, spec))
  }
  return out
}

/** The generated part of the page. */
export const renderReference = (): string => {
  const out = ["## Common types", "", "Any command may print these; `embeddedStorage` and `progress` only the commands that list them.", ""]
  for (const [type, spec] of Object.entries(sharedTypes)) out.push(...typeSection("###", type, spec))
  out.push("## Commands", "")
  commandSchemas.forEach((s, i) => out.push(...commandSection(s, commandSchemas.slice(0, i))))
  return out.join("\n")
}

/** The page with its generated part rendered again (the markers must be there). */
export const renderDocs = (page: string): string => {
  const b = page.indexOf(beginMarker)
  const e = page.indexOf(endMarker)
  if (b === -1 || e < b) throw new Error(`docs/json-lines.md: the markers of the generated part are missing:\n${beginMarker}\n${endMarker}`)
  return `${page.slice(0, b + beginMarker.length)}\n\n${renderReference()}\n${page.slice(e)}`
}
