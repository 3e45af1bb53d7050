/**
 * The DriveManifest: model (events), streaming writer, streaming reader, rule checker and JSON
 * lines. One module per concern; this file gathers them for callers.
 */
export * from "./manifest-model.ts"
export * from "./manifest-writer.ts"
export * from "./manifest-reader.ts"
export * from "./manifest-check.ts"
export * from "./manifest-report.ts"
export * from "./manifest-json.ts"
