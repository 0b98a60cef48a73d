import { OpenLedgerError } from '../common/errors.ts'

export type CapacityErrorCode =
  /** the account signature does not recover to the record's account */
  | 'CAPACITY_BAD_SIGNATURE'
  /** the libp2p signature is not by the key of the record's PeerId */
  | 'CAPACITY_BAD_PEER_SIGNATURE'
  | 'CAPACITY_EXPIRED'
  | 'CAPACITY_FUTURE'
  /** the record names another PeerId than the one it came from (or was expected) */
  | 'CAPACITY_PEER_MISMATCH'
  /** a frame, list or string over its bound */
  | 'CAPACITY_OVERSIZED'
  /** does not decode, or a field holds a value it may not */
  | 'CAPACITY_MALFORMED'
  /** the peer could not be dialed, or does not speak the protocol */
  | 'CAPACITY_UNREACHABLE'
  | 'CAPACITY_TIMEOUT'
  | 'CAPACITY_BUSY'
  /** the peer has no record to give (starting or stopping) */
  | 'CAPACITY_UNAVAILABLE'
  /** the stream ended before one whole frame */
  | 'CAPACITY_STREAM_ENDED'
  /** a valid record that does not offer the wanted model or adapter, or is not online */
  | 'CAPACITY_NOT_OFFERED'

export class CapacityError extends OpenLedgerError<{
  code: CapacityErrorCode
  peer?: string
  field?: string
}> {}

export function capacityError(code: CapacityErrorCode, message: string, peer?: string): CapacityError {
  return new CapacityError(peer === undefined ? { code } : { code, peer }, message)
}
