/**
 * MD5 as the Import/Export formats spell it. The manifest, the copy logs and the drive info use
 * Base16 (hex) MD5, written upper-case; the Blob REST API's Content-MD5 header is Base64 of the
 * same 16 bytes (reference: formats.md §6.8). Hex read from files is accepted in either case and
 * with surrounding blanks (copy-log samples carry a leading space), then normalised.
 */
import { createHash } from "node:crypto"

/** MD5 of the bytes, upper-case Base16 (32 characters), as the manifest writes it. */
export const md5Hex = (data: Uint8Array): string => createHash("md5").update(data).digest("hex").toUpperCase()

const md5HexPattern = /^[0-9A-Fa-f]{32}$/

/** 32 hex digits, either case, nothing else (no blanks: normalise first if the source has them). */
export const isMd5Hex = (s: string): boolean => md5HexPattern.test(s)

/** Trim blanks and upper-case: `" aa25…"` → `"AA25…"`. Does not validate; pair it with `isMd5Hex`. */
export const normaliseHex = (s: string): string => s.trim().toUpperCase()

const hexPattern = /^(?:[0-9A-Fa-f]{2})*$/

/** Hex (either case, even length) → Base64. Throws RangeError on anything else: Buffer would silently truncate. */
export const hexToBase64 = (hex: string): string => {
  if (!hexPattern.test(hex)) throw new RangeError(`not an even-length hex string: ${JSON.stringify(hex.slice(0, 80))}`)
  return Buffer.from(hex, "hex").toString("base64")
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Base64 as the Blob service takes it (standard alphabet, `=` padding to a multiple of 4). The
 * unused low bits of the last character are not required to be zero (.NET's decoder, which the
 * service uses, ignores them).
 */
export const isBase64 = (s: string): boolean => base64Pattern.test(s)

/** Number of bytes a well-formed Base64 string decodes to (no decoding done). */
export const base64DecodedLength = (b64: string): number => {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0
  return (b64.length / 4) * 3 - pad
}

/** The bytes of a Base64 string (`isBase64`), or undefined when it is not one. */
export const decodeBase64 = (b64: string): Uint8Array | undefined => (isBase64(b64) ? new Uint8Array(Buffer.from(b64, "base64")) : undefined)

/** Base64 → upper-case hex. Throws RangeError if the input is not Base64 (Buffer would skip bad characters). */
export const base64ToHex = (b64: string): string => {
  if (!isBase64(b64)) throw new RangeError(`not a Base64 string: ${JSON.stringify(b64.slice(0, 80))}`)
  return Buffer.from(b64, "base64").toString("hex").toUpperCase()
}
