// Contributions: the EIP-712 record a contributor signs for one piece of content in a Datanet, its wire
// form, and the checks every node runs on it before forwarding (cheap ones first, the signature last).
import { CID } from 'multiformats/cid'
import {
  type Address,
  bytesToHex,
  getAddress,
  hexToBytes,
  recoverTypedDataAddress,
  type TypedDataDomain,
} from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { SignedContribution } from './pb/datanet.ts'

export const CONTRIBUTIONS_TOPIC = 'openledger/contributions/1'
/** A signed contribution is a few hundred bytes; anything larger is not one. */
export const CONTRIBUTION_MAX_BYTES = 2048
export const LICENSE_MAX_LENGTH = 64
export const NAME_MAX_LENGTH = 255
/** Contributions dated more than this in the future are ignored (clock skew). */
export const MAX_CLOCK_SKEW_S = 300

export const contributionTypes = {
  Contribution: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'contentCid', type: 'string' },
    { name: 'bytes', type: 'uint64' },
    { name: 'license', type: 'string' },
    { name: 'contributor', type: 'address' },
    { name: 'createdAt', type: 'uint64' },
  ],
} as const

export interface Contribution {
  datanetId: bigint
  contentCid: string
  bytes: number
  license: string
  contributor: Address
  createdAt: number
  name: string
  signature: `0x${string}`
}

function typedMessage(c: Contribution) {
  return {
    datanetId: c.datanetId,
    contentCid: c.contentCid,
    bytes: BigInt(c.bytes),
    license: c.license,
    contributor: c.contributor,
    createdAt: BigInt(c.createdAt),
  }
}

export async function signContribution(
  account: LocalAccount,
  domain: TypedDataDomain,
  c: Omit<Contribution, 'signature' | 'contributor'>,
): Promise<Contribution> {
  const unsigned = { ...c, contributor: account.address, signature: '0x' as const }
  const signature = await account.signTypedData({
    domain,
    types: contributionTypes,
    primaryType: 'Contribution',
    message: typedMessage(unsigned),
  })
  return { ...unsigned, signature }
}

export async function recoverContributor(domain: TypedDataDomain, c: Contribution): Promise<Address> {
  return recoverTypedDataAddress({
    domain,
    types: contributionTypes,
    primaryType: 'Contribution',
    message: typedMessage(c),
    signature: c.signature,
  })
}

export function encodeContribution(c: Contribution): Uint8Array {
  return SignedContribution.encode({
    datanetId: c.datanetId.toString(),
    contentCid: c.contentCid,
    bytes: BigInt(c.bytes),
    license: c.license,
    contributor: Uint8Array.from(hexToBytes(c.contributor)),
    createdAt: BigInt(c.createdAt),
    name: c.name,
    signature: Uint8Array.from(hexToBytes(c.signature)),
  })
}

export type ContributionFault =
  | 'MALFORMED'
  | 'BAD_DATANET_ID'
  | 'BAD_CID'
  | 'BAD_CONTRIBUTOR'
  | 'FIELD_TOO_LONG'
  | 'FROM_FUTURE'
  | 'BAD_SIGNATURE'

export class ContributionFormatError extends Error {
  constructor(
    readonly fault: ContributionFault,
    message: string,
  ) {
    super(message)
  }
}

/** Decodes and checks the shape of a wire contribution (no signature check). */
export function decodeContribution(bytes: Uint8Array): Contribution {
  if (bytes.length > CONTRIBUTION_MAX_BYTES)
    throw new ContributionFormatError('MALFORMED', `contribution is ${bytes.length} bytes`)
  let pb: SignedContribution
  try {
    pb = SignedContribution.decode(bytes)
  } catch (err) {
    throw new ContributionFormatError('MALFORMED', `not a SignedContribution: ${(err as Error).message}`)
  }
  if (!/^[1-9]\d{0,76}$/.test(pb.datanetId))
    throw new ContributionFormatError('BAD_DATANET_ID', 'datanetId must be a positive decimal integer')
  try {
    CID.parse(pb.contentCid)
  } catch {
    throw new ContributionFormatError('BAD_CID', 'contentCid is not a CID')
  }
  if (pb.contributor.length !== 20)
    throw new ContributionFormatError('BAD_CONTRIBUTOR', 'contributor must be 20 bytes')
  if (pb.signature.length !== 65)
    throw new ContributionFormatError('BAD_SIGNATURE', 'signature must be 65 bytes')
  if (pb.license.length > LICENSE_MAX_LENGTH || pb.name.length > NAME_MAX_LENGTH)
    throw new ContributionFormatError('FIELD_TOO_LONG', 'license or name too long')
  return {
    datanetId: BigInt(pb.datanetId),
    contentCid: pb.contentCid,
    bytes: Number(pb.bytes),
    license: pb.license,
    contributor: getAddress(bytesToHex(pb.contributor)),
    createdAt: Number(pb.createdAt),
    name: pb.name,
    signature: bytesToHex(pb.signature),
  }
}

/** Full check of a contribution: shape, clock, then the signature. */
export async function verifyContribution(
  domain: TypedDataDomain,
  c: Contribution,
  nowSeconds: number,
): Promise<void> {
  if (c.createdAt > nowSeconds + MAX_CLOCK_SKEW_S)
    throw new ContributionFormatError('FROM_FUTURE', 'contribution is dated in the future')
  const signer = await recoverContributor(domain, c).catch(() => undefined)
  if (signer !== c.contributor)
    throw new ContributionFormatError('BAD_SIGNATURE', 'signature is not by the stated contributor')
}
