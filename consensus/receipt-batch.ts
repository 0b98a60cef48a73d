// The receipt batch of a proposal (issue 13): the proposer stores it in Helia as one UnixFS file and puts
// its CID in the checkpoint (receiptsCid, which the Ledger emits, so any node learns what a root covers);
// validators fetch it by CID. Each entry is the receipt's gossip bytes, so every validator decodes and
// verifies exactly what the proposer signed over; entries are sorted by requestId, each once, so the
// batch's bytes (and CID) are canonical.
//
// Fetching trusts nothing: the read stops past MAX_BATCH_BYTES, protons stops past MAX_BATCH_RECEIPTS, and
// a receipt that does not decode, a wrong epoch, or an unsorted or repeated requestId is BATCH_MALFORMED.
// Signatures, prices and balances are the validator's checks afterwards, not this module's.
import type { CID } from 'multiformats/cid'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { collectBytes } from '../protocols/common/iterables.ts'
import { unixfsImportOptions } from '../protocols/datanet/import-options.ts'
import type { SignedReceipt } from '../protocols/receipts/receipt.ts'
import { decodeReceipt, encodeReceipt } from '../protocols/receipts/receipt-wire.ts'
import { ReceiptBatch as ReceiptBatchPb } from './pb/consensus.ts'

export class ReceiptBatchError extends OpenLedgerError<{ code: 'BATCH_MALFORMED' | 'BATCH_TOO_LARGE' }> {}

export const MAX_BATCH_RECEIPTS = 100_000
export const MAX_BATCH_BYTES = 64 * 1024 * 1024

/** What the batch store needs of `unixfs(helia)`. */
export interface BatchFs {
  addBytes(bytes: Uint8Array, options?: ReturnType<typeof unixfsImportOptions>): Promise<CID>
  cat(cid: CID, options?: { signal?: AbortSignal; length?: number }): AsyncIterable<Uint8Array>
}

/** The batch's canonical bytes: receipts sorted by requestId, each once. */
export function encodeBatch(epoch: bigint, receipts: readonly SignedReceipt[]): Uint8Array {
  if (receipts.length > MAX_BATCH_RECEIPTS)
    throw new ReceiptBatchError(
      { code: 'BATCH_TOO_LARGE' },
      `${receipts.length} receipts, over ${MAX_BATCH_RECEIPTS}`,
    )
  const sorted = [...receipts].sort((a, b) =>
    compareIds(a.receipt.authorization.requestId, b.receipt.authorization.requestId),
  )
  for (let i = 1; i < sorted.length; i++)
    if (
      compareIds(
        sorted[i - 1]!.receipt.authorization.requestId,
        sorted[i]!.receipt.authorization.requestId,
      ) === 0
    )
      throw new ReceiptBatchError({ code: 'BATCH_MALFORMED' }, 'a requestId appears twice in the batch')
  const bytes = ReceiptBatchPb.encode({
    epoch,
    receipts: sorted.map((r) => Uint8Array.from(encodeReceipt(r))),
  })
  if (bytes.length > MAX_BATCH_BYTES)
    throw new ReceiptBatchError({ code: 'BATCH_TOO_LARGE' }, `${bytes.length} bytes, over ${MAX_BATCH_BYTES}`)
  return bytes
}

export function decodeBatch(bytes: Uint8Array, epoch: bigint): SignedReceipt[] {
  const bad = (why: string) => new ReceiptBatchError({ code: 'BATCH_MALFORMED' }, `receipt batch: ${why}`)
  if (bytes.length > MAX_BATCH_BYTES) throw bad(`over ${MAX_BATCH_BYTES} bytes`)
  let pb: ReceiptBatchPb
  try {
    pb = ReceiptBatchPb.decode(bytes, { limits: { receipts: MAX_BATCH_RECEIPTS } })
  } catch (err) {
    throw bad(`does not decode: ${(err as Error).message}`)
  }
  if (pb.epoch !== epoch) throw bad(`it is epoch ${pb.epoch}'s, not ${epoch}'s`)
  const out: SignedReceipt[] = []
  for (let i = 0; i < pb.receipts.length; i++) {
    let signed: SignedReceipt
    try {
      signed = decodeReceipt(pb.receipts[i]!)
    } catch (err) {
      throw bad(`receipt ${i}: ${(err as Error).message}`)
    }
    if (
      i > 0 &&
      compareIds(out[i - 1]!.receipt.authorization.requestId, signed.receipt.authorization.requestId) >= 0
    )
      throw bad(`receipts are sorted by requestId, each once (at ${i})`)
    out.push(signed)
  }
  return out
}

export async function storeBatch(
  fs: BatchFs,
  epoch: bigint,
  receipts: readonly SignedReceipt[],
): Promise<CID> {
  return fs.addBytes(encodeBatch(epoch, receipts), unixfsImportOptions())
}

export async function fetchBatch(
  fs: BatchFs,
  cid: CID,
  epoch: bigint,
  options: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<SignedReceipt[]> {
  const max = Math.min(options.maxBytes ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES)
  const bytes = await collectBytes(fs.cat(cid, { signal: options.signal, length: max + 1 }), max + 1)
  if (bytes.length > max)
    throw new ReceiptBatchError({ code: 'BATCH_TOO_LARGE' }, `the batch ${cid} is over ${max} bytes`)
  return decodeBatch(bytes, epoch)
}

/** requestIds are 32-byte hex of one length: their lowercase strings order as the numbers do. */
function compareIds(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x < y ? -1 : x > y ? 1 : 0
}
