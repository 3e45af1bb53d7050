/**
 * Copy logs (DriveLog XML, `Version="2014-11-01"`): the one import for everything about them.
 *
 * - `copylog-model.ts`: status codes (unions + arrays), the event model, `isCompleted`
 * - `copylog-read.ts`: streaming reader collecting every issue (`readCopyLog`, `readCopyLogFile`)
 * - `copylog-write.ts`: incremental serializer and atomic file writer
 * - `copylog-group.ts`: a blob with its ranges as one value, the summary fold, what failed
 */
export * from "./copylog-model.ts"
export * from "./copylog-read.ts"
export * from "./copylog-write.ts"
export * from "./copylog-group.ts"
