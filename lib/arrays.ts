/**
 * `target.push(...items)` passes every item as an argument: past about 100,000 items (a page
 * blob of alternating pages, a chunk of a million empty CSV lines) that overflows the call stack.
 * This appends in a loop instead.
 */
export const pushAll = <A>(target: Array<A>, items: ReadonlyArray<A>): void => {
  for (const item of items) target.push(item)
}
