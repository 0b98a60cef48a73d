// Sends a quorum's checkpoint, and equivocation evidence, to the Ledger (issue 13). The contract is the
// source of truth for what comes next (DESIGN.md): the submitter reads `lastEpoch` and the stored root
// before it sends, so when another validator was faster it sends nothing and pays nothing; a race lost in
// the same block is the contract's `UnexpectedEpoch`, reported as 'already' rather than as an error.
// Every validator holding a quorum may call it; whoever comes second finds the epoch taken and stops.
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem'
import { ledgerAbi } from '../contracts/generated/Ledger.ts'
import { toCompactSignature } from '../contracts/typedData.ts'
import { decodeRevert } from '../protocols/common/contract-errors.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import type { EpochSet, Equivocation, Quorum } from './vote-pool.ts'
import { quorumSignatures } from './vote-pool.ts'

export class SubmitError extends OpenLedgerError<{
  code: 'CHECKPOINT_REVERTED' | 'SLASH_REVERTED'
  reason?: string
}> {}

export interface SubmitterChain {
  publicClient: PublicClient<Transport, Chain>
  walletClient: WalletClient<Transport, Chain, Account>
  ledger: Address
}

export type SubmitResult =
  | { outcome: 'submitted'; tx: Hex; block: bigint }
  /** the Ledger already holds this epoch (someone else submitted): nothing sent */
  | { outcome: 'already' }
  /** the Ledger is not at this checkpoint's parent (an epoch is missing, or another root won): nothing sent */
  | { outcome: 'stale'; lastEpoch: bigint }

const struct = (q: Quorum) => ({
  ...q.checkpoint,
  feeSplit: { ...q.checkpoint.feeSplit },
  totals: [...q.checkpoint.totals],
})

export async function submitCheckpoint(
  chain: SubmitterChain,
  set: EpochSet,
  quorum: Quorum,
): Promise<SubmitResult> {
  const cp = quorum.checkpoint
  const read = <T>(functionName: 'lastEpoch' | 'stateRoot') =>
    chain.publicClient.readContract({ address: chain.ledger, abi: ledgerAbi, functionName }) as Promise<T>
  const [lastEpoch, root] = await Promise.all([read<bigint>('lastEpoch'), read<Hex>('stateRoot')])
  if (lastEpoch >= cp.epoch) return { outcome: 'already' }
  if (lastEpoch + 1n !== cp.epoch || root.toLowerCase() !== cp.parentRoot.toLowerCase())
    return { outcome: 'stale', lastEpoch }
  const args = [struct(quorum), set.validators.map((v) => ({ ...v })), quorumSignatures(set, quorum)] as const
  let tx: Hex
  try {
    // Simulated first: a revert costs nothing and says why.
    const { request } = await chain.publicClient.simulateContract({
      address: chain.ledger,
      abi: ledgerAbi,
      functionName: 'checkpoint',
      args: args as never,
      account: chain.walletClient.account,
    })
    tx = await chain.walletClient.writeContract(request as never)
  } catch (err) {
    const revert = decodeRevert(err)
    if (revert?.name === 'UnexpectedEpoch') return { outcome: 'already' }
    throw new SubmitError(
      { code: 'CHECKPOINT_REVERTED', reason: revert?.name },
      `checkpoint ${cp.epoch}/${cp.round} refused: ${revert?.name ?? (err as Error).message.split('\n')[0]}`,
    )
  }
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: tx })
  if (receipt.status !== 'success') {
    // Mined but reverted: someone else's checkpoint landed first in the same block.
    if ((await read<bigint>('lastEpoch')) >= cp.epoch) return { outcome: 'already' }
    throw new SubmitError(
      { code: 'CHECKPOINT_REVERTED' },
      `checkpoint ${cp.epoch}/${cp.round} reverted (${tx})`,
    )
  }
  return { outcome: 'submitted', tx, block: receipt.blockNumber }
}

/** Sends equivocation evidence; 'already' when that signer was slashed for that (epoch, round). */
export async function submitEquivocation(
  chain: SubmitterChain,
  evidence: Equivocation,
): Promise<{ outcome: 'submitted'; tx: Hex } | { outcome: 'already' }> {
  const cp = (v: Equivocation['first']) => ({
    ...v.checkpoint,
    feeSplit: { ...v.checkpoint.feeSplit },
    totals: [...v.checkpoint.totals],
  })
  try {
    const { request } = await chain.publicClient.simulateContract({
      address: chain.ledger,
      abi: ledgerAbi,
      functionName: 'slashEquivocation',
      args: [
        cp(evidence.first),
        toCompactSignature(evidence.first.signature),
        cp(evidence.second),
        toCompactSignature(evidence.second.signature),
      ] as never,
      account: chain.walletClient.account,
    })
    const tx = await chain.walletClient.writeContract(request as never)
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: tx })
    if (receipt.status !== 'success') return { outcome: 'already' }
    return { outcome: 'submitted', tx }
  } catch (err) {
    const revert = decodeRevert(err)
    if (revert?.name === 'AlreadySlashed') return { outcome: 'already' }
    throw new SubmitError(
      { code: 'SLASH_REVERTED', reason: revert?.name },
      `slashing ${evidence.signer} refused: ${revert?.name ?? (err as Error).message.split('\n')[0]}`,
    )
  }
}
