// Deploys the contracts for a testnet and returns them as node config keys (`--ledger-address`, ...).
import type { Hex } from 'viem'
import { deployAll } from '../contracts/deploy.ts'

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
