/**
 * Drive sizes as PreviewExport's `/DriveSize:` takes and prints them. The reference gives the
 * examples `500GB` and `1.5TB` and says 1 GB = 10^9 bytes, 1 TB = 10^12 bytes (decimal, as drive
 * makers count). Where it is silent, waie accepts: a decimal number (digits, at most one `.`),
 * optional blanks, then a unit GB or TB in any case (`500 gb`, `1.5Tb`); no unit, other units,
 * signs, exponents and zero are refused with what was expected. Sizes print as PreviewExport
 * prints them: two decimals of GB (`500.00 GB`).
 */
import { Either } from "effect"
import { InvalidArgument } from "./errors.ts"

const units: Readonly<Record<string, number>> = { GB: 1e9, TB: 1e12 }

const pattern = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)\s*$/

/** Bytes of a size like `500GB`, `500 GB`, `1.5TB` (whole bytes, rounded down). */
export const parseDriveSize = (text: string, option = "/DriveSize"): Either.Either<number, InvalidArgument> => {
  const refuse = (found: string) => Either.left(new InvalidArgument({ argument: option, expected: "a size in GB or TB, like 500GB, 500 GB or 1.5TB (1 GB = 10^9 bytes)", found }))
  const m = pattern.exec(text)
  if (m === null) return refuse(JSON.stringify(text))
  const unit = units[m[2]!.toUpperCase()]
  if (unit === undefined) return refuse(`the unit ${JSON.stringify(m[2])}`)
  // digits times a power of ten, without the float error of Number("1.1") * 1e12
  const [whole, fraction = ""] = m[1]!.split(".")
  const digits = BigInt((whole ?? "") + fraction || "0")
  const bytes = (digits * BigInt(unit)) / 10n ** BigInt(fraction.length)
  if (bytes === 0n) return refuse(`${JSON.stringify(text)} (no room at all)`)
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return refuse(`${JSON.stringify(text)} (more than 9 PB)`)
  return Either.right(Number(bytes))
}

const byteUnits: Readonly<Record<string, bigint>> = {
  B: 1n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  KIB: 2n ** 10n,
  MIB: 2n ** 20n,
  GIB: 2n ** 30n,
  TIB: 2n ** 40n,
}

/**
 * Bytes of a size with any of the units B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB
 * (powers of 1024), in any case, with optional blanks: `12MB`, `1.5 GiB`, `4096 b`. Zero is
 * allowed (a drive that must take nothing more). Used by waie's own options; PreviewExport's
 * `/DriveSize` keeps the reference's GB and TB (`parseDriveSize`).
 */
export const parseByteSize = (text: string, argument: string): Either.Either<number, InvalidArgument> => {
  const refuse = (found: string) => Either.left(new InvalidArgument({ argument, expected: "a size like 12MB, 1.5GB, 500 GiB or 4096B (KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024)", found }))
  const m = pattern.exec(text)
  if (m === null) return refuse(JSON.stringify(text))
  const unit = byteUnits[m[2]!.toUpperCase()]
  if (unit === undefined) return refuse(`the unit ${JSON.stringify(m[2])}`)
  const [whole, fraction = ""] = m[1]!.split(".")
  const bytes = (BigInt((whole ?? "") + fraction || "0") * unit) / 10n ** BigInt(fraction.length)
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return refuse(`${JSON.stringify(text)} (more than 9 PB)`)
  return Either.right(Number(bytes))
}

/** `454.74 GB`: bytes in decimal GB with two decimals, rounded down (never shows more room than there is). */
export const formatGB = (bytes: number): string => {
  const hundredths = Math.floor(bytes / 1e7)
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")} GB`
}
