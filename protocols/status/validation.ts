// The status topic's validator: shape first, then age bounds and "is it newer than what we hold", then
// the PeerId's own signature and the account's signature last (the two expensive checks). The IGNORE /
// REJECT of each case is tabled in protocols/status/README.md.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { gossipIgnore, gossipReject } from '../common/gossip.ts'
import { recoverDigestSignerBytes } from '../common/signatures.ts'
import type { TypedDataHasher } from '../common/typed-data-hasher.ts'
import {
  STATUS_API_URL_MAX_LENGTH,
  STATUS_MAX_AGE_MS,
  STATUS_MAX_SKEW_MS,
  STATUS_PEER_ID_MAX_LENGTH,
  STATUS_VERSION_MAX_LENGTH,
} from './constants.ts'
import type { NodeStatus } from './pb/status.ts'
import { peerSignaturePayload } from './signing.ts'

export interface StatusValidationContext {
  hasher: TypedDataHasher
  /** This node's network (its EIP-712 domain): chain id and the Ledger's 20 bytes. */
  network: { chainId: bigint; ledger: Uint8Array }
  now(): number
  /** The timestamp of the status held for this PeerId, if any. */
  knownTimestamp(peerId: string): number | undefined
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export async function validateStatus(status: NodeStatus, ctx: StatusValidationContext): Promise<void> {
  if (status.account.length !== 20) gossipReject('STATUS_BAD_ACCOUNT', 'account must be 20 bytes')
  if (status.signature.length !== 65) gossipReject('STATUS_BAD_SIGNATURE', 'signature must be 65 bytes')
  if (status.peerSignature.length !== 64)
    gossipReject('STATUS_BAD_PEER_SIGNATURE', 'peerSignature must be 64 bytes')
  if (
    status.version.length > STATUS_VERSION_MAX_LENGTH ||
    status.apiUrl.length > STATUS_API_URL_MAX_LENGTH ||
    status.peerId.length > STATUS_PEER_ID_MAX_LENGTH
  )
    gossipReject('STATUS_FIELD_TOO_LONG', 'peerId, version or apiUrl too long')
  if (status.ledger.length !== 0 && status.ledger.length !== 20)
    gossipReject('STATUS_BAD_LEDGER', 'ledger must be 20 bytes')
  // A status for another network (another chain id or Ledger, e.g. a misconfigured node) would fail our
  // signature check although it is honestly signed: IGNORE it rather than penalize its sender. (An old
  // node that sends no network is checked as before.)
  if (
    status.ledger.length === 20 &&
    (status.chainId !== ctx.network.chainId || !equal(status.ledger, ctx.network.ledger))
  )
    gossipIgnore(
      'STATUS_OTHER_NETWORK',
      `status is for chain ${status.chainId}, Ledger 0x${Buffer.from(status.ledger).toString('hex')}`,
    )
  let peerId: PeerId
  try {
    peerId = peerIdFromString(status.peerId)
  } catch {
    gossipReject('STATUS_BAD_PEER_ID', 'peerId does not parse')
  }
  // Only PeerIds that embed their public key (ed25519, secp256k1) can be checked without a lookup.
  const publicKey = peerId.publicKey
  if (publicKey === undefined) gossipReject('STATUS_BAD_PEER_ID', 'peerId does not embed its public key')

  const timestamp = Number(status.timestamp)
  const now = ctx.now()
  if (timestamp > now + STATUS_MAX_SKEW_MS)
    gossipIgnore('STATUS_FROM_FUTURE', 'status is dated in the future')
  if (timestamp < now - STATUS_MAX_AGE_MS) gossipIgnore('STATUS_STALE', 'status is too old')
  const known = ctx.knownTimestamp(status.peerId)
  if (known !== undefined && known >= timestamp)
    gossipIgnore('STATUS_NOT_NEWER', 'an equal or newer status is known')

  // Signatures last: they are the expensive checks.
  const digest = ctx.hasher({
    peerId: status.peerId,
    account: status.account,
    version: status.version,
    apiUrl: status.apiUrl,
    timestamp: status.timestamp,
  })
  let bound = false
  try {
    bound = await publicKey.verify(peerSignaturePayload(digest), status.peerSignature)
  } catch {
    bound = false
  }
  if (!bound) gossipReject('STATUS_BAD_PEER_SIGNATURE', 'status is not signed by the key of its PeerId')
  const signer = recoverDigestSignerBytes(digest, status.signature)
  if (signer === undefined || !equal(signer, status.account))
    gossipReject('STATUS_BAD_SIGNATURE', 'signature is not by the stated account')
}
