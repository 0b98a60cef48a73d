// Contributions: the EIP-712 record a contributor signs for one piece of content in a Datanet, its wire
// form, and the checks every node runs on it before forwarding (cheap ones first, the signature last).
// The gossip topic entry (queue policy, age bounds, seen-cache, chain check) is contribution-gossip.ts.
import { CID } from 'multiformats/cid'
import { type Address, bytesToHex, hexToBytes, type TypedDataDomain } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import { checksumAddress, recoverDigestSignerBytes } from '../common/signatures.ts'
import { createTypedDataHasher, type TypedDataHasher } from '../common/typed-data-hasher.ts'
import { SignedContribution } from './pb/datanet.ts'

export const CONTRIBUTIONS_TOPIC = 'openledger/contributions/1'
/** A signed contribution is a few hundred bytes; anything larger is not one. */
export const CONTRIBUTION_MAX_BYTES = 2048
export const LICENSE_MAX_LENGTH = 64
export const NAME_MAX_LENGTH = 255
/** Contributions dated more than this in the future are ignored (clock skew). */
export const MAX_CLOCK_SKEW_S = 300
/**
 * C0 and C1 control characters and the bidirectional embeddings, overrides and isolates. A name and a
 * licence come from any peer and are shown to curators (`datanet review` prints them in a terminal), so
 * they may hold none: an escape sequence could rewrite the screen or the clipboard, an override could make
 * one name read as another.
 */
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u

/** True when `text` holds no control character or bidirectional override (see UNPRINTABLE). */
export function isPrintableField(text: string): boolean {
  return !UNPRINTABLE.test(text)
}

/**
 * Version 2 of the signed struct: `name` is signed, because curation decides on it (its extension picks
 * the content type check), so a relaying peer could otherwise rename a genuine contribution and get it
 * refused for good. The struct keeps its name `Contribution`, but its EIP-712 type hash covers every field,
 * so version-1 signatures (without `name`) no longer verify: a v1 message is REJECTed as BAD_SIGNATURE.
 * No v1 network is deployed, so the topic id stays `openledger/contributions/1`; on a live network the
 * topic would move to `/2` with the struct so that not-yet-upgraded honest peers are not penalized.
 */
export const CONTRIBUTION_TYPED_DATA_VERSION = 2

export const contributionTypes = {
  Contribution: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'contentCid', type: 'string' },
    { name: 'name', type: 'string' },
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

/** The EIP-712 message of a contribution (what its signature covers: every field but the signature). */
export function contributionTypedMessage(c: Contribution) {
  return {
    datanetId: c.datanetId,
    contentCid: c.contentCid,
    name: c.name,
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
    message: contributionTypedMessage(unsigned),
  })
  return { ...unsigned, signature }
}

/** The fast EIP-712 hasher for contributions under one domain (precomputed type hash and separator). */
export function contributionHasher(domain: TypedDataDomain): TypedDataHasher {
  return createTypedDataHasher(domain, contributionTypes, 'Contribution')
}

// Off the hot path callers pass a domain, not a hasher: keep the few domains a process uses.
const hashers = new Map<string, TypedDataHasher>()
function hasherFor(domain: TypedDataDomain): TypedDataHasher {
  const key = `${domain.name}|${domain.version}|${domain.chainId}|${domain.verifyingContract}|${domain.salt}`
  let hasher = hashers.get(key)
  if (hasher === undefined) {
    if (hashers.size >= 16) hashers.clear()
    hasher = contributionHasher(domain)
    hashers.set(key, hasher)
  }
  return hasher
}

/** The 20 bytes of the account that signed `c` (native recovery); undefined if it does not recover. */
export function recoverContributorBytes(hasher: TypedDataHasher, c: Contribution): Uint8Array | undefined {
  let digest: Uint8Array
  try {
    digest = hasher(contributionTypedMessage(c))
  } catch {
    return undefined
  }
  return recoverDigestSignerBytes(digest, Buffer.from(c.signature.slice(2), 'hex'))
}

export async function recoverContributor(domain: TypedDataDomain, c: Contribution): Promise<Address> {
  const bytes = recoverContributorBytes(hasherFor(domain), c)
  if (bytes === undefined) throw new ContributionFormatError('BAD_SIGNATURE', 'signature does not recover')
  return checksumAddress(bytes)
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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

export type ContributionFault =
  | 'MALFORMED'
  | 'BAD_DATANET_ID'
  | 'BAD_CID'
  | 'BAD_CONTRIBUTOR'
  | 'FIELD_TOO_LONG'
  | 'UNPRINTABLE_FIELD'
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
  if (!isPrintableField(pb.name) || !isPrintableField(pb.license))
    throw new ContributionFormatError('UNPRINTABLE_FIELD', 'license or name holds control characters')
  if (pb.bytes > MAX_SAFE || pb.createdAt > MAX_SAFE)
    throw new ContributionFormatError('MALFORMED', 'bytes or createdAt out of range')
  return {
    datanetId: BigInt(pb.datanetId),
    contentCid: pb.contentCid,
    bytes: Number(pb.bytes),
    license: pb.license,
    contributor: checksumAddress(pb.contributor),
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
