// Deploys the whole chain side of the network: OPEN, GOPEN (OPEN wrapped for votes), Timelock + Governor,
// Staking, the two registries and the Ledger, then hands every governed parameter to the Timelock. Used by tests, benchmarks and
// `openledger testnet up`, which writes the returned addresses into each node's config.
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  type Transport,
  toHex,
  type WalletClient,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  datanetRegistryAbi,
  datanetRegistryBytecode,
  governanceTokenAbi,
  governanceTokenBytecode,
  ledgerAbi,
  ledgerBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  openGovernorAbi,
  openGovernorBytecode,
  openTimelockAbi,
  openTimelockBytecode,
  openTokenAbi,
  openTokenBytecode,
  stakingAbi,
  stakingBytecode,
} from './generated/index.ts'

export interface FeeSplit {
  node: number
  modelOwner: number
  adapterOwner: number
  contributors: number
  validators: number
  treasury: number
}

/** The Ledger's governed timing (seconds; `inactivityWindow` in checkpoints). Bounds: Ledger.sol. */
export interface LedgerParams {
  authorizationWindow: number
  epochDuration: number
  withdrawalDelay: number
  escapeDelay: number
  inactivityWindow: number
}

export interface DeployOptions {
  /** receives the whole OPEN supply; default the deployer */
  tokenHolder?: Address
  minStake?: bigint
  /** seconds between `requestUnstake` and `withdraw` */
  unbondingDelay?: bigint
  slashBps?: number
  maxValidators?: number
  feeSplit?: FeeSplit
  ledgerParams?: Partial<LedgerParams>
  governance?: {
    /** blocks between proposal and voting */
    votingDelay?: number
    /** blocks of voting */
    votingPeriod?: number
    proposalThreshold?: bigint
    /** percent of supply that must vote */
    quorumPercent?: bigint
    /** seconds a passed proposal waits in the Timelock */
    timelockDelay?: bigint
  }
}

export interface OpenLedgerAddresses {
  chainId: number
  deployer: Address
  token: Address
  /** GOPEN: OPEN wrapped 1:1 for governance votes */
  governanceToken: Address
  timelock: Address
  governor: Address
  staking: Address
  datanetRegistry: Address
  modelRegistry: Address
  ledger: Address
  /** block of the last deployment transaction: indexers start reading events here */
  deployBlock: bigint
}

/** Testnet defaults: short periods so a whole governance round fits in a test. */
export const DEFAULTS = {
  minStake: 1_000n * 10n ** 18n,
  unbondingDelay: 7n * 24n * 3600n,
  slashBps: 1_000,
  maxValidators: 128,
  feeSplit: {
    node: 4_000,
    modelOwner: 1_500,
    adapterOwner: 500,
    contributors: 3_000,
    validators: 500,
    treasury: 500,
  },
  ledgerParams: {
    authorizationWindow: 600,
    epochDuration: 60,
    withdrawalDelay: 900,
    escapeDelay: 86_400,
    inactivityWindow: 8,
  } satisfies LedgerParams,
  governance: {
    votingDelay: 1,
    votingPeriod: 20,
    proposalThreshold: 0n,
    quorumPercent: 4n,
    timelockDelay: 60n,
  },
} as const

export interface ChainClients {
  publicClient: PublicClient<Transport, Chain>
  walletClient: WalletClient<Transport, Chain, Account>
}

/** viem clients for a local chain, polling fast (anvil mines each transaction at once). */
export async function connect(rpcUrl: string, privateKey: Hex): Promise<ChainClients> {
  const probe = createPublicClient({ transport: http(rpcUrl) })
  const chainId = await probe.getChainId()
  const chain = defineChain({
    id: chainId,
    name: `openledger-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl)
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient<
      Transport,
      Chain
    >,
    walletClient: createWalletClient({
      chain,
      transport,
      account: privateKeyToAccount(privateKey),
      pollingInterval: 50,
    }),
  }
}

export type DeployTarget = ChainClients | { rpcUrl: string; privateKey: Hex }

export async function deployAll(
  target: DeployTarget,
  options: DeployOptions = {},
): Promise<OpenLedgerAddresses> {
  const { publicClient, walletClient } =
    'rpcUrl' in target ? await connect(target.rpcUrl, target.privateKey) : target
  const deployer = walletClient.account.address
  const gov = { ...DEFAULTS.governance, ...options.governance }
  let lastBlock = 0n

  const wait = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`deployment transaction ${hash} reverted`)
    lastBlock = receipt.blockNumber
    return receipt
  }
  const deploy = async (
    abi: readonly unknown[],
    bytecode: Hex,
    args: readonly unknown[],
  ): Promise<Address> => {
    const hash = await walletClient.deployContract({ abi, bytecode, args } as never)
    const receipt = await wait(hash)
    if (!receipt.contractAddress) throw new Error(`deployment ${hash} created no contract`)
    return getAddress(receipt.contractAddress)
  }
  const call = async (
    address: Address,
    abi: readonly unknown[],
    functionName: string,
    args: readonly unknown[],
  ) => {
    await wait(await walletClient.writeContract({ address, abi, functionName, args } as never))
  }

  const token = await deploy(openTokenAbi, openTokenBytecode, [options.tokenHolder ?? deployer])
  const governanceToken = await deploy(governanceTokenAbi, governanceTokenBytecode, [token])
  // Executor role open to anyone (address 0): once a proposal passed and waited, anyone may execute it.
  const timelock = await deploy(openTimelockAbi, openTimelockBytecode, [
    gov.timelockDelay,
    [],
    [zeroAddress],
    deployer,
  ])
  const governor = await deploy(openGovernorAbi, openGovernorBytecode, [
    governanceToken,
    timelock,
    gov.votingDelay,
    gov.votingPeriod,
    gov.proposalThreshold,
    gov.quorumPercent,
  ])
  const staking = await deploy(stakingAbi, stakingBytecode, [
    token,
    deployer,
    options.minStake ?? DEFAULTS.minStake,
    options.unbondingDelay ?? DEFAULTS.unbondingDelay,
    options.slashBps ?? DEFAULTS.slashBps,
    options.maxValidators ?? DEFAULTS.maxValidators,
  ])
  const datanetRegistry = await deploy(datanetRegistryAbi, datanetRegistryBytecode, [])
  const modelRegistry = await deploy(modelRegistryAbi, modelRegistryBytecode, [datanetRegistry])
  const ledger = await deploy(ledgerAbi, ledgerBytecode, [
    token,
    staking,
    timelock,
    options.feeSplit ?? DEFAULTS.feeSplit,
    { ...DEFAULTS.ledgerParams, ...options.ledgerParams },
  ])

  // Wire the Ledger as the only slasher, then hand Staking to governance.
  await call(staking, stakingAbi, 'setLedger', [ledger])
  await call(staking, stakingAbi, 'transferOwnership', [timelock])
  // Only the Governor proposes and cancels; then the deployer gives up its admin role for good.
  const PROPOSER_ROLE = keccak256(toHex('PROPOSER_ROLE'))
  const CANCELLER_ROLE = keccak256(toHex('CANCELLER_ROLE'))
  const DEFAULT_ADMIN_ROLE = `0x${'00'.repeat(32)}` as Hex
  await call(timelock, openTimelockAbi, 'grantRole', [PROPOSER_ROLE, governor])
  await call(timelock, openTimelockAbi, 'grantRole', [CANCELLER_ROLE, governor])
  await call(timelock, openTimelockAbi, 'renounceRole', [DEFAULT_ADMIN_ROLE, deployer])

  return {
    chainId: await publicClient.getChainId(),
    deployer,
    token,
    governanceToken,
    timelock,
    governor,
    staking,
    datanetRegistry,
    modelRegistry,
    ledger,
    deployBlock: lastBlock,
  }
}
