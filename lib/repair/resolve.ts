/**
 * Where RepairImport finds the local copy of a file the copy log names (formats.md §3.3): the
 * FilePath (relative to the original drive's root, `\session1\photos\a.jpg`) under each `/d:`
 * folder, or the target the path map file gives it.
 *
 *   - a path map entry with a target: that file, and only it (the user said so);
 *   - else the FilePath under every `/d:` folder: exactly one must exist;
 *   - the file must be a regular file that can be opened for reading, and (for a blob's data)
 *     exactly the blob's Length.
 * Anything else is unresolved, with the reason: no hit, hits in several folders (ambiguous), a
 * FilePath that is no plain relative path (`..`, a drive letter), a folder or an unreadable file,
 * the wrong size. That the bytes are the right ones is checked by the caller against the copy
 * log's hashes, as it reads them.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either } from "effect"
import { localPathOf } from "../drive-paths.ts"
import type { PathMapEntry } from "../pathmap.ts"
import type { Given } from "./session.ts"

export type Resolution =
  /** `file` to open; `shown` as the user wrote it (their /d: folder, or the path map's target) */
  | { readonly _tag: "Resolved"; readonly file: string; readonly shown: string; readonly via: "folder" | "path map" }
  | { readonly _tag: "Unresolved"; readonly reason: string }

const unresolved = (reason: string): Resolution => ({ _tag: "Unresolved", reason })

export class Resolver {
  private readonly map: ReadonlyMap<string, string>

  constructor(
    private readonly dirs: ReadonlyArray<Given>,
    pathMap: ReadonlyArray<PathMapEntry>,
  ) {
    this.map = new Map(pathMap.flatMap((e) => (e.target !== undefined ? [[e.filePath, e.target] as const] : [])))
  }

  /** The path map's target for a FilePath, when the user filled one in. */
  mapped(filePath: string): string | undefined {
    return this.map.get(filePath)
  }

  resolve(filePath: string, length?: number): Effect.Effect<Resolution, never, FileSystem.FileSystem> {
    const map = this.map
    const dirs = this.dirs
    return Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const check = (file: string, shown: string, via: "folder" | "path map", what: string = shown) =>
        Effect.gen(function* () {
          const info = yield* fs.stat(file).pipe(Effect.either)
          if (Either.isLeft(info)) return unresolved(`${what}: ${info.left._tag === "SystemError" && info.left.reason === "NotFound" ? "no such file" : info.left.message}`)
          if (info.right.type !== "File") return unresolved(`${what}: not a file (${info.right.type})`)
          const access = yield* fs.access(file, { readable: true }).pipe(Effect.either)
          if (Either.isLeft(access)) return unresolved(`${what}: cannot be read (permission denied)`)
          if (length !== undefined && Number(info.right.size) !== length) return unresolved(`${what}: ${info.right.size} bytes, the blob is ${length}`)
          return { _tag: "Resolved", file, shown, via } as const
        })
      const target = map.get(filePath)
      if (target !== undefined) return yield* check(target, target, "path map", `the path map's target ${target}`)
      let candidates: Array<{ readonly file: string; readonly dir: Given }>
      try {
        candidates = dirs.map((dir) => ({ file: localPathOf(dir.real, filePath), dir }))
      } catch {
        return unresolved("its FilePath is not a plain path below a drive root (an empty, . or .. part, or a drive letter)")
      }
      const hits: Array<{ readonly file: string; readonly dir: Given }> = []
      for (const c of candidates) {
        const there = yield* fs.stat(c.file).pipe(
          Effect.map(() => true),
          Effect.catchAll((e) => Effect.succeed(!(e._tag === "SystemError" && e.reason === "NotFound"))),
        )
        if (there) hits.push(c)
      }
      if (hits.length === 0) return unresolved(`not found under ${dirs.length === 1 ? "the /d: folder" : `any of the ${dirs.length} /d: folders`}`)
      if (hits.length > 1) return unresolved(`found under ${hits.length} /d: folders (${hits.map((h) => h.dir.shown).join(", ")}): which one holds the data is ambiguous`)
      const hit = hits[0]!
      return yield* check(hit.file, localPathOf(hit.dir.shown, filePath), "folder")
    })
  }
}
