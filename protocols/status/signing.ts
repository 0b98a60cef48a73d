// A node status carries two signatures over one EIP-712 digest: the account's (secp256k1, who earns and
// stakes) and the PeerId's own libp2p key (ed25519, with a context prefix). The second binds the PeerId:
// nobody but the holder of that key can publish a status for it.
import type { PrivateKey } from '@libp2p/interface'
import { type Address, type Hex, hexToBytes, type TypedDataDomain, zeroAddress } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { createTypedDataHasher, type TypedDataHasher } from '../common/typed-data-hasher.ts'
import { PEER_SIGNATURE_CONTEXT } from './constants.ts'
import { NodeStatus } from './pb/status.ts'

export const nodeStatusTypes = {
  NodeStatus: [
    { name: 'peerId', type: 'string' },
    { name: 'account', type: 'address' },
    { name: 'version', type: 'string' },
    { name: 'apiUrl', type: 'string' },
    { name: 'timestamp', type: 'uint64' },
  ],
} as const

export interface StatusFields {
  peerId: string
  account: Address | Uint8Array
  version: string
  apiUrl: string
  timestamp: bigint
}

export function statusHasher(domain: TypedDataDomain): TypedDataHasher {
  return createTypedDataHasher(domain, nodeStatusTypes, 'NodeStatus')
}

const contextBytes = new TextEncoder().encode(PEER_SIGNATURE_CONTEXT)

/** What the libp2p key signs: the context string, then the 32-byte EIP-712 digest. */
export function peerSignaturePayload(digest: Uint8Array): Uint8Array {
  const out = new Uint8Array(contextBytes.length + digest.length)
  out.set(contextBytes, 0)
  out.set(digest, contextBytes.length)
  return out
}

export interface SignStatusInit {
  peerKey: PrivateKey
  signer: LocalAccount
  domain: TypedDataDomain
  hasher?: TypedDataHasher
  peerId: string
  version: string
  apiUrl: string
  timestamp: number
}

/** Signs a status with both keys and returns its wire form. */
export async function signStatus(init: SignStatusInit): Promise<Uint8Array> {
  const { peerKey, signer, domain } = init
  const message = {
    peerId: init.peerId,
    account: signer.address,
    version: init.version,
    apiUrl: init.apiUrl,
    timestamp: BigInt(init.timestamp),
  }
  const signature = await signer.signTypedData({
    domain,
    types: nodeStatusTypes,
    primaryType: 'NodeStatus',
    message,
  })
  const digest = (init.hasher ?? statusHasher(domain))(message)
  const peerSignature = await peerKey.sign(peerSignaturePayload(digest))
  return NodeStatus.encode({
    ...message,
    chainId: BigInt(domain.chainId ?? 0),
    ledger: Uint8Array.from(hexToBytes((domain.verifyingContract ?? zeroAddress) as Hex)),
    account: Uint8Array.from(hexToBytes(signer.address)),
    signature: Uint8Array.from(hexToBytes(signature)),
    peerSignature: Uint8Array.from(peerSignature),
  })
}
