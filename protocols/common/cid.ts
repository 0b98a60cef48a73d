import { CID } from 'multiformats/cid'

/** Parses a CID from its string form, or from its binary form; `undefined` when it is not one, so each
 * caller raises the typed error that names what was wrong (a chain record, a peer's message, a request). */
export function parseCid(value: string | Uint8Array): CID | undefined {
  try {
    return typeof value === 'string' ? CID.parse(value) : CID.decode(value)
  } catch {
    return undefined
  }
}
