/**
 * The copy engine, in one import:
 *
 * - `copyFile` (lib/copy-file.ts): one file through a ring of shared-memory slots — read once,
 *   hashed once per 4 MiB block or page chunk in the hash pool, written once — to a partial
 *   name, checkpointed (fsync, then `onDurable`) every 64 MiB, renamed when complete; resumable
 *   from a checkpoint.
 * - `makeDurableBatch` (lib/copy-batch.ts): many small files, made durable a batch at a time
 *   (syncfs on Linux, per-file fsync elsewhere), renamed, and reported.
 * - `syncDirectory`, `ensureDirectory`, `syncFileSystem` (lib/durable.ts).
 */
export {
  type BlobKind,
  type CopyCheckpoint,
  type CopyFileError,
  type CopyFileOptions,
  type CopyFileResult,
  copyFile,
  defaultCheckpointBytes,
  defaultSlots,
  type DescriptorOf,
  partialPathOf,
  partialSuffix,
} from "./copy-file.ts"
export {
  type CopiedFile,
  type DurableBatch,
  type DurableBatchOptions,
  type Durability,
  defaultBatchBytes,
  defaultBatchFiles,
  defaultDepth,
  defaultGroupFiles,
  inlineHashLimit,
  makeDurableBatch,
  type SmallFile,
  type SmallFileError,
} from "./copy-batch.ts"
export { ensureDirectory, syncDirectory, syncFileSystem, syncfsAvailable } from "./durable.ts"
