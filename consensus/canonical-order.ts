// The canonical order of a receipt batch: by requestId as a 256-bit number, so arrival order never matters.
// Sorting a million receipts with a comparator costs over a second; instead each id's leading bits and its
// position are packed into one double (exact below 2^53) and sorted natively, and only runs that share
// those leading bits (a few in a million) are compared in full.
import type { Hex } from 'viem'
import { ledgerError } from './ledger-error.ts'

/**
 * Positions of `ids` sorted by value. Throws LEDGER_BAD_RECEIPT for an id that is not 0x and 64 hex digits,
 * LEDGER_DUPLICATE_REQUEST for one that appears twice (in any case).
 */
export function canonicalOrder(ids: readonly Hex[]): Uint32Array {
  const n = ids.length
  const order = new Uint32Array(n)
  if (n === 0) return order
  const indexBits = Math.max(1, Math.ceil(Math.log2(n)))
  const keyBits = Math.min(48, 53 - indexBits)
  const slot = 2 ** indexBits
  const packed = new Float64Array(n)
  for (let i = 0; i < n; i++) packed[i] = Math.floor(prefix48(ids[i]!) / 2 ** (48 - keyBits)) * slot + i
  packed.sort()
  for (let k = 0; k < n; k++) order[k] = packed[k]! % slot
  // Runs with equal leading bits are in position order: sort each by the whole id, and catch duplicates.
  let start = 0
  for (let k = 1; k <= n; k++) {
    if (k < n && Math.floor(packed[k]! / slot) === Math.floor(packed[start]! / slot)) continue
    if (k - start > 1) {
      const run = Array.from(order.subarray(start, k)).sort((a, b) => compareHex(ids[a]!, ids[b]!))
      for (let j = 1; j < run.length; j++)
        if (compareHex(ids[run[j - 1]!]!, ids[run[j]!]!) === 0)
          throw ledgerError(
            'LEDGER_DUPLICATE_REQUEST',
            `requestId ${ids[run[j]!]} appears twice in the batch`,
          )
      order.set(run, start)
    }
    start = k
  }
  return order
}

/** Each ASCII code's hex digit value, or −1. */
const NIBBLE = new Int8Array(128).fill(-1)
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c
for (let c = 0; c < 6; c++) NIBBLE[65 + c] = NIBBLE[97 + c] = 10 + c

/** The id's first 48 bits as a number, checking the whole id is 0x and 64 hex digits. */
function prefix48(id: string): number {
  if (
    typeof id !== 'string' ||
    id.length !== 66 ||
    id.charCodeAt(0) !== 48 ||
    (id.charCodeAt(1) | 0x20) !== 120
  )
    throw ledgerError('LEDGER_BAD_RECEIPT', `requestId ${String(id)} is not 32 bytes`)
  let value = 0
  let bad = 0
  for (let i = 2; i < 14; i++) {
    const nibble = NIBBLE[id.charCodeAt(i) & 0x7f]! | (id.charCodeAt(i) & ~0x7f)
    bad |= nibble
    value = value * 16 + nibble
  }
  for (let i = 14; i < 66; i++) bad |= NIBBLE[id.charCodeAt(i) & 0x7f]! | (id.charCodeAt(i) & ~0x7f)
  if (bad < 0 || bad > 15) throw ledgerError('LEDGER_BAD_RECEIPT', `requestId ${id} is not 32 bytes`)
  return value
}

/** Compares two ids of equal length case-insensitively (| 0x20 lowercases A-F and keeps digits). */
function compareHex(a: string, b: string): number {
  for (let i = 2; i < a.length; i++) {
    const d = (a.charCodeAt(i) | 0x20) - (b.charCodeAt(i) | 0x20)
    if (d !== 0) return d
  }
  return 0
}
