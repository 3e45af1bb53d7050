/**
 * The issues of one input file, collected while it is read (every reader reports every problem,
 * not only the first): kept up to a limit, the rest only counted, with the number of errors and
 * of warnings. The CSV formats, the XML formats and the manifest checker all collect in one.
 */
import type { Issue } from "./errors.ts"

export class IssueLog {
  readonly issues: Array<Issue> = []
  omitted = 0
  errors = 0
  warnings = 0

  constructor(
    readonly file: string,
    readonly limit = 1000,
  ) {}

  add(issue: Omit<Issue, "file">): void {
    if (issue.severity === "warning") this.warnings++
    else this.errors++
    if (this.issues.length < this.limit) this.issues.push({ file: this.file, ...issue })
    else this.omitted++
  }

  /** An issue at an element or field (its line and column). */
  at(place: { readonly line: number; readonly column: number }, field: string, expected: string, found: string, severity?: "warning"): void {
    this.add({ line: place.line, column: place.column, field, expected, found, ...(severity ? { severity } : {}) })
  }

  get ok(): boolean {
    return this.errors === 0
  }
}
