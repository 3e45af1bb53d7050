/**
 * Checks JSON lines against lib/json-schema.ts: each line one JSON object, `type` first, a type
 * the command documents (or a common one), every required field there, no field the schema does
 * not list, every value of its JSON type (and shape: upper-case hex MD5, ISO times…). Also the
 * order the schema gives, as far as it can be checked line by line: a type listed before a
 * once-only type never comes after it.
 *
 * Written here rather than taken from a JSON Schema library: the project adds no dependency, and
 * the checks are few (string, integer, number, boolean, array, tuple, closed object, map, enum,
 * nullable, variants on one field).
 */
import { type CommandSchema, commonTypes, type EventSpec, type Fields, type JsonType, type StringFormat, typeSpec } from "./json-schema.ts"

export interface LineProblem {
  /** 1-based line of the output */
  readonly line: number
  /** where in the line's object: `blobPath`, `failures.ranges[0].status`; absent for the line as a whole */
  readonly field?: string
  readonly message: string
}

const formats: Readonly<Record<StringFormat, { readonly re: RegExp; readonly what: string }>> = {
  md5: { re: /^[0-9A-F]{32}$/, what: "an MD5 as 32 upper-case hex digits" },
  isoTime: { re: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/, what: "an ISO 8601 UTC time (2026-11-22T02:58:04Z)" },
  journalTime: { re: /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/, what: "a journal time, UTC (2026/11/22 02:58:01.415)" },
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s === undefined ? "nothing" : s.length > 60 ? `${s.slice(0, 60)}…` : s
}

const jsonKind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : typeof v === "number" ? (Number.isInteger(v) ? "an integer" : "a number") : `a ${typeof v}`)

/** A type in words, as the messages and the docs say it. */
export const typeName = (type: JsonType): string => {
  switch (type.kind) {
    case "string":
      return type.values !== undefined ? type.values.map((v) => JSON.stringify(v)).join(" | ") : type.format !== undefined ? `string (${type.format})` : "string"
    case "integer":
    case "number":
      return type.unit !== undefined ? `${type.kind} (${type.unit})` : type.kind
    case "boolean":
      return type.value !== undefined ? String(type.value) : "boolean"
    case "array":
      return `array of ${typeName(type.of)}`
    case "tuple":
      return `[${type.of.map(typeName).join(", ")}]`
    case "object":
      return "object"
    case "map":
      return `object: ${type.keys} → ${typeName(type.of)}`
    case "nullable":
      return `${typeName(type.of)} or null`
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Problems of one value against its type; `at` names it. */
export const checkValue = (type: JsonType, value: unknown, at: string): Array<{ field: string; message: string }> => {
  const wrong = (what: string) => [{ field: at, message: `expected ${what}, found ${jsonKind(value)} ${show(value)}` }]
  switch (type.kind) {
    case "string": {
      if (typeof value !== "string") return wrong(typeName(type))
      if (type.values !== undefined && !type.values.includes(value)) return [{ field: at, message: `expected one of ${typeName(type)}, found ${show(value)}` }]
      if (type.format !== undefined && !formats[type.format].re.test(value)) return [{ field: at, message: `expected ${formats[type.format].what}, found ${show(value)}` }]
      return []
    }
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) ? [] : wrong(typeName(type))
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? [] : wrong(typeName(type))
    case "boolean":
      if (typeof value !== "boolean") return wrong("a boolean")
      return type.value === undefined || value === type.value ? [] : wrong(String(type.value))
    case "nullable":
      return value === null ? [] : checkValue(type.of, value, at)
    case "array":
      if (!Array.isArray(value)) return wrong(typeName(type))
      return value.flatMap((v, i) => checkValue(type.of, v, `${at}[${i}]`))
    case "tuple":
      if (!Array.isArray(value) || value.length !== type.of.length) return wrong(typeName(type))
      return value.flatMap((v, i) => checkValue(type.of[i]!, v, `${at}[${i}]`))
    case "map":
      if (!isObject(value)) return wrong(typeName(type))
      return Object.entries(value).flatMap(([k, v]) => checkValue(type.of, v, `${at}.${k}`))
    case "object":
      if (!isObject(value)) return wrong("an object")
      return checkFields(type.fields, value, `${at}.`)
  }
}

const checkFields = (fields: Fields, o: Record<string, unknown>, prefix: string, skip: ReadonlyArray<string> = []): Array<{ field: string; message: string }> => {
  const out: Array<{ field: string; message: string }> = []
  for (const [name, f] of Object.entries(fields)) {
    if (!(name in o)) {
      if (f.optional !== true) out.push({ field: prefix + name, message: `missing (${typeName(f.type)}, always there)` })
      continue
    }
    out.push(...checkValue(f.type, o[name], prefix + name))
  }
  for (const k of Object.keys(o)) if (!(k in fields) && !skip.includes(k)) out.push({ field: prefix + k, message: `not documented (found ${jsonKind(o[k])} ${show(o[k])})` })
  return out
}

/** The fields of an event, its variant's added. A value with no variant is a problem of `on`. */
const fieldsOf = (spec: EventSpec, o: Record<string, unknown>): { fields: Fields; problem?: { field: string; message: string } } => {
  const v = spec.variants
  if (v === undefined) return { fields: spec.fields }
  const key = String(o[v.on])
  const extra = Object.prototype.hasOwnProperty.call(v.cases, key) ? v.cases[key] : v.otherwise
  if (extra === undefined) return { fields: spec.fields, problem: { field: v.on, message: `expected one of ${Object.keys(v.cases).map((k) => JSON.stringify(k)).join(", ")}, found ${show(o[v.on])}` } }
  return { fields: { ...spec.fields, ...extra } }
}

/** Problems of one parsed line of `schema`'s command. */
export const checkEvent = (schema: CommandSchema | undefined, o: unknown): Array<{ field?: string; message: string }> => {
  if (!isObject(o)) return [{ message: `expected a JSON object, found ${jsonKind(o)}` }]
  const keys = Object.keys(o)
  if (keys[0] !== "type") return [{ field: "type", message: keys.includes("type") ? `expected "type" as the first key, found ${show(keys[0])} first` : "missing" }]
  const type = o["type"]
  if (typeof type !== "string") return [{ field: "type", message: `expected a string, found ${jsonKind(type)}` }]
  const spec = typeSpec(schema, type)
  if (spec === undefined) {
    const known = [...Object.keys(schema?.types ?? {}), ...Object.keys(commonTypes)]
    return [{ field: "type", message: `unknown type ${show(type)}: ${schema === undefined ? "no command" : `waie ${schema.command}`} documents ${known.map((k) => JSON.stringify(k)).join(", ")}` }]
  }
  const { fields, problem } = fieldsOf(spec, o)
  return [...(problem ? [problem] : []), ...checkFields(fields, o, "", ["type"])]
}

/**
 * Problems of a command's whole stdout. JSON commands: every line a valid event; document
 * commands: lines that are not JSON are the document (only its JSON lines are checked).
 */
export const checkOutput = (schema: CommandSchema | undefined, stdout: string, firstLine = 1): Array<LineProblem> => {
  const problems: Array<LineProblem> = []
  const lines = stdout.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  else if (lines.length > 0 && stdout !== "") problems.push({ line: firstLine + lines.length - 1, message: "the output does not end with a line end" })
  const seen = new Map<string, number>()
  let latestOnce: { readonly index: number; readonly type: string } | undefined
  lines.forEach((text, i) => {
    const line = firstLine + i
    if (schema?.stdout === "document" && !text.startsWith("{")) return
    let o: unknown
    try {
      o = JSON.parse(text)
    } catch {
      problems.push({ line, message: `expected a JSON object, found text ${show(text)}` })
      return
    }
    for (const p of checkEvent(schema, o)) problems.push({ line, ...p })
    if (!isObject(o) || typeof o["type"] !== "string" || schema === undefined) return
    const type = o["type"]
    const index = schema.sequence.findIndex((s) => s.type === type)
    if (index === -1 || commonTypes[type] !== undefined) return
    const item = schema.sequence[index]!
    const n = (seen.get(type) ?? 0) + 1
    seen.set(type, n)
    if ((item.count === "1" || item.count === "0..1") && n === 2) problems.push({ line, field: "type", message: `a second ${JSON.stringify(type)} line: waie ${schema.command} prints at most one` })
    if (latestOnce !== undefined && index < latestOnce.index) problems.push({ line, field: "type", message: `${JSON.stringify(type)} after ${JSON.stringify(latestOnce.type)}: waie ${schema.command} prints them the other way round` })
    if ((item.count === "1" || item.count === "0..1") && (latestOnce === undefined || index > latestOnce.index)) latestOnce = { index, type }
  })
  return problems
}

/** A problem as one line of a test failure: who printed it, where, what. */
export const formatLineProblem = (where: string, p: LineProblem): string => `${where}: stdout line ${p.line}${p.field !== undefined ? `: ${p.field}` : ""}: ${p.message}`
