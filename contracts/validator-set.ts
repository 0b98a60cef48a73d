// The validator set that signs a given epoch. Staking commits every set change for a future epoch and
// stores only the hash; the full set is in its `ValidatorSetCommitted` events. The set for epoch E is
// the last one committed (in log order) whose `fromEpoch` is at most E.
import { type Address, encodeAbiParameters, type Hex, keccak256, type PublicClient } from 'viem'
import { stakingAbi } from './generated/index.ts'
import type { ValidatorEntry } from './typedData.ts'

export interface EpochValidatorSet {
  validators: ValidatorEntry[]
  hash: Hex
  totalStake: bigint
}

export const EMPTY_SET: EpochValidatorSet = {
  validators: [],
  hash: validatorSetHash([]),
  totalStake: 0n,
}

/** keccak256(abi.encode(Validator[])), as Staking and the Ledger compute it. */
export function validatorSetHash(validators: readonly ValidatorEntry[]): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        {
          type: 'tuple[]',
          components: [
            { name: 'signer', type: 'address' },
            { name: 'stake', type: 'uint96' },
          ],
        },
      ],
      [validators.map((v) => ({ signer: v.signer, stake: v.stake }))],
    ),
  )
}

/**
 * Reads the set fixed for `epoch` from Staking's events (from `fromBlock`, the deployment block) and
 * checks it against `setHashFor(epoch)`, so a wrong answer from the RPC cannot pass unnoticed.
 */
export async function validatorSetForEpoch(
  publicClient: PublicClient,
  staking: Address,
  epoch: bigint,
  fromBlock = 0n,
): Promise<EpochValidatorSet> {
  const logs = await publicClient.getContractEvents({
    address: staking,
    abi: stakingAbi,
    eventName: 'ValidatorSetCommitted',
    fromBlock,
    toBlock: 'latest',
  })
  let found = EMPTY_SET
  for (const log of logs) {
    const { fromEpoch, setHash, set, totalStake } = log.args as {
      fromEpoch: bigint
      setHash: Hex
      set: readonly ValidatorEntry[]
      totalStake: bigint
    }
    if (fromEpoch <= epoch) found = { validators: [...set], hash: setHash, totalStake }
  }
  const expected = (await publicClient.readContract({
    address: staking,
    abi: stakingAbi,
    functionName: 'setHashFor',
    args: [epoch],
  })) as Hex
  if (found.hash !== expected) {
    throw new Error(`validator set for epoch ${epoch}: events give ${found.hash}, Staking says ${expected}`)
  }
  return found
}
