// viem clients for the configured chain. The chain id comes from the config (it is part of every EIP-712
// domain) and is checked against the RPC at start, so a node never signs for the wrong network.
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import type { NodeConfig } from './config.ts'

export class ChainError extends OpenLedgerError<{ code: 'CHAIN_UNREACHABLE' | 'CHAIN_ID_MISMATCH' }> {}

export interface ChainClients {
  publicClient: PublicClient<Transport, Chain>
  walletClient: WalletClient<Transport, Chain, Account>
}

export async function connectChain(config: NodeConfig, account: Account): Promise<ChainClients> {
  const rpcUrl = config.chain_rpc!
  const chain = defineChain({
    id: config.chain_id,
    name: `openledger-${config.chain_id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl, { timeout: 10_000, retryCount: 2 })
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: config.chain_poll_ms,
  }) as PublicClient<Transport, Chain>
  let actual: number
  try {
    actual = await publicClient.getChainId()
  } catch (err) {
    throw new ChainError(
      { code: 'CHAIN_UNREACHABLE' },
      `chain_rpc ${rpcUrl} does not answer: ${(err as Error).message.split('\n')[0]}`,
    )
  }
  if (actual !== config.chain_id) {
    throw new ChainError(
      { code: 'CHAIN_ID_MISMATCH' },
      `chain_rpc ${rpcUrl} is chain ${actual}, but chain_id is ${config.chain_id}`,
    )
  }
  const walletClient = createWalletClient({
    chain,
    transport,
    account,
    pollingInterval: config.chain_poll_ms,
  })
  return { publicClient, walletClient }
}
