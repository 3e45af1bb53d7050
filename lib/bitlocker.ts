/**
 * BitLocker numerical recovery passwords: 48 digits in 8 groups of 6, each group 11·k with
 * k < 65536 (16 key bits a group, 128 in all); the sixth digit of a group works as a check digit.
 */
import { randomInt } from "node:crypto"
import type { NameProblem } from "./names.ts"

const shape = /^\d{6}(-\d{6}){7}$/

/** What is wrong with a recovery key, naming the group (1-8) but never echoing the whole key. */
export const checkRecoveryKey = (key: string): NameProblem | undefined => {
  const expected = "a BitLocker recovery key: 8 groups of 6 digits joined by '-', each group a multiple of 11 below 720896"
  if (!shape.test(key)) {
    const groups = key.split("-")
    const found =
      key.length === 0
        ? "an empty value"
        : groups.length !== 8
          ? `${groups.length} group${groups.length === 1 ? "" : "s"}`
          : `group ${groups.findIndex((g) => !/^\d{6}$/.test(g)) + 1} is not 6 digits`
    return { expected, found }
  }
  const groups = key.split("-")
  for (let i = 0; i < groups.length; i++) {
    const n = Number(groups[i])
    if (n % 11 !== 0) return { expected, found: `group ${i + 1} is not a multiple of 11` }
    if (n >= 65536 * 11) return { expected, found: `group ${i + 1} is above 720885` }
  }
  return undefined
}

export const isRecoveryKey = (key: string): boolean => checkRecoveryKey(key) === undefined

/** Encode 8 16-bit values as a recovery key (each group is 11·value, zero-padded to 6 digits). */
export const recoveryKeyFromWords = (words: ReadonlyArray<number>): string => {
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) throw new RangeError("a recovery key needs 8 values in 0..65535")
  return words.map((w) => String(w * 11).padStart(6, "0")).join("-")
}

/** A new key from the system's cryptographic random source. */
export const generateRecoveryKey = (): string => recoveryKeyFromWords(Array.from({ length: 8 }, () => randomInt(0, 65536)))
