// Validator registration proofs. Staking.register takes two proofs of possession over one EIP-712
// digest, `Registration(address staker,address signer,bytes peerId)` in Staking's own domain:
//   - the signer key's ECDSA signature, which the contract verifies;
//   - the libp2p key's signature, which the contract cannot verify (the EVM has no Ed25519) and only
//     publishes in `Registered`: every node checks it with `verifyPeerIdProof` before it maps the PeerId
//     to the validator.
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { type Address, type Hex, hashTypedData, hexToBytes, type TypedDataDomain, toHex } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'

export const registrationTypes = {
  Registration: [
    { name: 'staker', type: 'address' },
    { name: 'signer', type: 'address' },
    { name: 'peerId', type: 'bytes' },
  ],
} as const

export interface RegistrationMessage {
  staker: Address
  signer: Address
  /** the PeerId's multihash bytes */
  peerId: Hex
}

/** Staking's EIP-712 domain (its own, so a registration can never pass for a checkpoint vote). */
export function stakingDomain(chainId: number, staking: Address): TypedDataDomain {
  return { name: 'OpenLedger Staking', version: '1', chainId, verifyingContract: staking }
}

export function registrationDigest(domain: TypedDataDomain, message: RegistrationMessage): Hex {
  return hashTypedData({ domain, types: registrationTypes, primaryType: 'Registration', message })
}

/** Both proofs for `Staking.register(signer, peerId, amount, signerProof, peerIdProof)`. */
export async function signRegistration(
  domain: TypedDataDomain,
  staker: Address,
  signer: PrivateKeyAccount,
  peerKey: PrivateKey,
): Promise<{ signer: Address; peerId: Hex; signerProof: Hex; peerIdProof: Hex }> {
  const peerId = toHex(peerIdFromPrivateKey(peerKey).toMultihash().bytes)
  const message = { staker, signer: signer.address, peerId }
  const signerProof = await signer.signTypedData({
    domain,
    types: registrationTypes,
    primaryType: 'Registration',
    message,
  })
  const peerIdProof = toHex(await peerKey.sign(hexToBytes(registrationDigest(domain, message))))
  return { signer: signer.address, peerId, signerProof, peerIdProof }
}

/** True if `proof` is the PeerId's key signing this registration's digest. */
export async function verifyPeerIdProof(
  domain: TypedDataDomain,
  message: RegistrationMessage,
  proof: Hex,
): Promise<boolean> {
  try {
    const peer = peerIdFromMultihash(Digest.decode(hexToBytes(message.peerId)))
    if (peer.publicKey === undefined) return false
    return await peer.publicKey.verify(hexToBytes(registrationDigest(domain, message)), hexToBytes(proof))
  } catch {
    return false
  }
}
