// Deploys the contracts for a testnet and returns them as node config keys (`--ledger-address`, ...), and
// gives each node account OPEN with part of it already deposited in the Ledger, so a testnet's nodes can
// pay for inference from the first minute (a real network's clients run `openledger deposit` themselves).
import { createPublicClient, createWalletClient, defineChain, type Hex, http, parseUnits } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { deployAll } from '../contracts/deploy.ts'
import { ledgerAbi } from '../contracts/generated/Ledger.ts'
import { openTokenAbi } from '../contracts/generated/OpenToken.ts'

/** OPEN each testnet account receives, and how much of it is deposited in the Ledger for inference. */
export const TESTNET_OPEN_PER_ACCOUNT = parseUnits('1000', 18)
export const TESTNET_DEPOSIT_PER_ACCOUNT = parseUnits('100', 18)

export async function deployForTestnet(rpcUrl: string, deployerKey: Hex): Promise<Record<string, string>> {
  const a = await deployAll({ rpcUrl, privateKey: deployerKey })
  return {
    ledger_address: a.ledger,
    token_address: a.token,
    staking_address: a.staking,
    datanet_registry_address: a.datanetRegistry,
    model_registry_address: a.modelRegistry,
  }
}

/** Sends each account OPEN from the deployer, then deposits part of it from the account itself. */
export async function fundForTestnet(
  rpcUrl: string,
  deployerKey: Hex,
  contracts: Record<string, string>,
  accountKeys: Hex[],
): Promise<void> {
  const publicClient = createPublicClient({ transport: http(rpcUrl) })
  const chain = defineChain({
    id: await publicClient.getChainId(),
    name: 'testnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const wallet = (key: Hex) =>
    createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(rpcUrl) })
  const token = contracts.token_address as Hex
  const ledger = contracts.ledger_address as Hex
  const deployer = wallet(deployerKey)
  const mined = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  for (const key of accountKeys) {
    const to = privateKeyToAccount(key).address
    await mined(
      await deployer.writeContract({
        address: token,
        abi: openTokenAbi,
        functionName: 'transfer',
        args: [to, TESTNET_OPEN_PER_ACCOUNT],
      }),
    )
    const own = wallet(key)
    await mined(
      await own.writeContract({
        address: token,
        abi: openTokenAbi,
        functionName: 'approve',
        args: [ledger, TESTNET_DEPOSIT_PER_ACCOUNT],
      }),
    )
    await mined(
      await own.writeContract({
        address: ledger,
        abi: ledgerAbi,
        functionName: 'deposit',
        args: [TESTNET_DEPOSIT_PER_ACCOUNT],
      }),
    )
  }
}
