// `npm run bench -- gas [--quick]`: gas of the Ledger's hot paths on a real anvil chain, written to
// bench/results/gas.json. Baselines measured in the same run, on the same chain and token:
//   - a plain OPEN transfer (to a fresh and to an existing holder), so deposit and claim read as ratios;
//   - Uniswap's MerkleDistributor claim (contracts/src/bench/MerkleDistributorBaseline.sol) on a tree of
//     the same size, so our cumulative claim compares with the one-time claim everyone cites.
// Checkpoint gas is measured with every validator signing (the worst case) for 4, 16, 64 and 128
// validators; the per-signer figure is the least-squares slope, the base its intercept.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Address, encodePacked, getAddress, type Hex, keccak256, parseEther, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { LedgerTree, SortedMerkleTree } from '../consensus/merkle.ts'
import { connect, deployAll } from '../contracts/deploy.ts'
import {
  ledgerAbi,
  merkleDistributorBaselineAbi,
  merkleDistributorBaselineBytecode,
  openTokenAbi,
  stakingAbi,
} from '../contracts/generated/index.ts'
import { type CheckpointMessage, checkpointTypedData, orderSignatures } from '../contracts/typedData.ts'
import { openLedgerDomain } from '../protocols/common/eip712.ts'
import { startAnvil } from '../testnet/anvil.ts'

const quick = process.argv.includes('--quick')
const VALIDATOR_COUNTS = quick ? [4, 16] : [4, 16, 64, 128]
const TREE_SIZE = quick ? 10_000 : 100_000
const CLAIMERS = quick ? 5 : 20
const MIN_STAKE = parseEther('1000')

const anvil = await startAnvil({ accounts: 2 })
try {
  const deployerKey = anvil.accounts[0].privateKey
  const { publicClient, walletClient } = await connect(anvil.rpcUrl, deployerKey)
  const addresses = await deployAll({ publicClient, walletClient }, { maxValidators: 128 })
  const deployer = walletClient.account.address
  const domain = openLedgerDomain({ chainId: anvil.chainId, ledger: addresses.ledger })

  const gasOf = async (hash: Hex | Promise<Hex>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
    return Number(receipt.gasUsed)
  }
  const as = async (key: Hex) => (await connect(anvil.rpcUrl, key)).walletClient
  const write = (
    w: typeof walletClient,
    address: Address,
    abi: readonly unknown[],
    functionName: string,
    args: unknown[],
  ) => gasOf(w.writeContract({ address, abi, functionName, args } as never))
  const fundEth = (address: Address) =>
    publicClient.request({
      method: 'anvil_setBalance' as never,
      params: [address, toHex(parseEther('10'))] as never,
    })
  const key = (label: string, i: number) => keccak256(toHex(`openledger-bench-${label}-${i}`))

  // ---------------------------------------------------------------- baselines: plain ERC-20 transfers
  const fresh = (i: number) => privateKeyToAccount(key('fresh', i)).address
  const transferFresh = await write(walletClient, addresses.token, openTokenAbi, 'transfer', [fresh(0), 1n])
  const transferExisting = await write(walletClient, addresses.token, openTokenAbi, 'transfer', [
    fresh(0),
    1n,
  ])

  // ---------------------------------------------------------------- deposit
  const maxApprove = 2n ** 255n
  await write(walletClient, addresses.token, openTokenAbi, 'approve', [addresses.ledger, maxApprove])
  const depositFirst = await write(walletClient, addresses.ledger, ledgerAbi, 'deposit', [
    parseEther('1000000'),
  ])
  const depositLater = await write(walletClient, addresses.ledger, ledgerAbi, 'deposit', [
    parseEther('1000000'),
  ])

  // ---------------------------------------------------------------- checkpoints vs validator count
  const signerKeys: Hex[] = []
  const checkpoints: { validators: number; signers: number; gas: number; calldataBytes: number }[] = []
  let epoch = 0n
  let parentRoot: Hex = `0x${'00'.repeat(32)}`
  const submitCheckpoint = async (message: CheckpointMessage, keys: Hex[]) => {
    const [set] = await publicClient.readContract({
      address: addresses.staking,
      abi: stakingAbi,
      functionName: 'activeValidators',
    })
    const votes = await Promise.all(
      keys.map(async (k) => {
        const account = privateKeyToAccount(k)
        return {
          signer: account.address,
          signature: await account.signTypedData(checkpointTypedData(domain, message)),
        }
      }),
    )
    const hash = await walletClient.writeContract({
      address: addresses.ledger,
      abi: ledgerAbi,
      functionName: 'checkpoint',
      args: [{ ...message, totals: [...message.totals] }, set, orderSignatures(set, votes)],
    })
    const tx = await publicClient.getTransaction({ hash })
    epoch = message.epoch
    parentRoot = message.stateRoot
    return { gas: await gasOf(hash), calldataBytes: (tx.input.length - 2) / 2 }
  }
  const message = (stateRoot: Hex, totals: CheckpointMessage['totals'] = []): CheckpointMessage => ({
    epoch: epoch + 1n,
    round: 0,
    parentRoot,
    stateRoot,
    receiptsRoot: keccak256(toHex(`receipts-${epoch + 1n}`)),
    receiptsCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    totals,
  })
  await write(walletClient, addresses.token, openTokenAbi, 'approve', [addresses.staking, maxApprove])
  for (const n of VALIDATOR_COUNTS) {
    while (signerKeys.length < n) {
      const i = signerKeys.length
      const stakerKey = key('staker', i)
      const staker = privateKeyToAccount(stakerKey).address
      await fundEth(staker)
      await write(walletClient, addresses.token, openTokenAbi, 'transfer', [staker, MIN_STAKE])
      const wallet = await as(stakerKey)
      await write(wallet, addresses.token, openTokenAbi, 'approve', [addresses.staking, MIN_STAKE])
      signerKeys.push(key('signer', i))
      await write(wallet, addresses.staking, stakingAbi, 'register', [
        privateKeyToAccount(signerKeys[i]).address,
        toHex(`peer-${i}`),
        MIN_STAKE,
      ])
    }
    // warm-up checkpoint so every measured one writes non-zero → non-zero slots, as in steady state
    await submitCheckpoint(message(keccak256(toHex(`warm-${n}`))), signerKeys)
    const { gas, calldataBytes } = await submitCheckpoint(message(keccak256(toHex(`root-${n}`))), signerKeys)
    checkpoints.push({ validators: n, signers: n, gas, calldataBytes })
    console.error(`checkpoint with ${n} signers: ${gas} gas`)
  }
  const fit = leastSquares(checkpoints.map((c) => [c.signers, c.gas]))

  // per-client cost of the totals (a checkpoint that settles 1 vs 51 clients' spending)
  const clients: Address[] = []
  for (let i = 0; i < 51; i++) {
    const k = key('client', i)
    const a = privateKeyToAccount(k).address
    await fundEth(a)
    await write(walletClient, addresses.token, openTokenAbi, 'transfer', [a, parseEther('10')])
    const wallet = await as(k)
    await write(wallet, addresses.token, openTokenAbi, 'approve', [addresses.ledger, maxApprove])
    await write(wallet, addresses.ledger, ledgerAbi, 'deposit', [parseEther('10')])
    clients.push(a)
  }
  clients.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  const oneClient = await submitCheckpoint(
    message(keccak256('0x01'), [{ client: clients[0], spent: 1n }]),
    signerKeys,
  )
  const manyClients = await submitCheckpoint(
    message(
      keccak256('0x02'),
      clients.map((client, i) => ({ client, spent: i === 0 ? 2n : 1n })),
    ),
    signerKeys,
  )
  const perClient = (manyClients.gas - oneClient.gas) / 50

  // ---------------------------------------------------------------- claims in a tree of TREE_SIZE accounts
  const claimerKeys = Array.from({ length: CLAIMERS }, (_, i) => key('claimer', i))
  const claimers = claimerKeys.map((k) => privateKeyToAccount(k).address)
  for (const c of claimers) await fundEth(c)
  const filler = (i: number) => getAddress(keccak256(toHex(`filler-${i}`)).slice(0, 42))
  const accounts = [...claimers, ...Array.from({ length: TREE_SIZE - CLAIMERS }, (_, i) => filler(i))]
  const earnedAt = (round: number, i: number) => parseEther('1') * BigInt(round) + BigInt(i)
  let settled = 0n
  const checkpointTree = async (round: number) => {
    let sum = 0n
    const entries = accounts.map((account, i) => {
      const earned = earnedAt(round, i)
      sum += earned
      return { account, earned, spent: 0n }
    })
    const started = performance.now()
    const tree = await LedgerTree.build(entries)
    const buildMs = performance.now() - started
    settled = sum > settled ? sum : settled
    await submitCheckpoint(message(tree.root, [{ client: deployer, spent: settled }]), signerKeys)
    return { tree, buildMs }
  }
  const claimAll = async (round: number, tree: LedgerTree) => {
    const gas: number[] = []
    for (let i = 0; i < CLAIMERS; i++) {
      const wallet = await as(claimerKeys[i])
      gas.push(
        await write(wallet, addresses.ledger, ledgerAbi, 'claim', [
          earnedAt(round, i),
          0n,
          tree.proof(claimers[i]),
        ]),
      )
    }
    return gas
  }
  const round1 = await checkpointTree(1)
  const firstClaims = await claimAll(1, round1.tree)
  const round2 = await checkpointTree(2)
  const laterClaims = await claimAll(2, round2.tree)
  const proofLength = round2.tree.proof(claimers[0]).length

  // ---------------------------------------------------------------- Uniswap MerkleDistributor baseline
  const baselineClaimers = claimerKeys.map((_, i) => privateKeyToAccount(key('uni-claimer', i)).address)
  const baselineAccounts = [...baselineClaimers, ...accounts.slice(CLAIMERS)]
  const uniLeaf = (i: number) =>
    keccak256(
      encodePacked(['uint256', 'address', 'uint256'], [BigInt(i), baselineAccounts[i], 100n]),
      'bytes',
    )
  const uniTree = await SortedMerkleTree.fromLeafHashes(baselineAccounts.map((_, i) => uniLeaf(i)))
  const deployHash = await walletClient.deployContract({
    abi: merkleDistributorBaselineAbi,
    bytecode: merkleDistributorBaselineBytecode,
    args: [addresses.token, uniTree.root],
  })
  const distributor = (await publicClient.waitForTransactionReceipt({ hash: deployHash })).contractAddress!
  await write(walletClient, addresses.token, openTokenAbi, 'transfer', [distributor, parseEther('1000')])
  const uniFresh: number[] = []
  for (let i = 0; i < CLAIMERS; i++) {
    const proof = uniTree.proof(uniTree.indexOfLeaf(toHex(uniLeaf(i))))
    uniFresh.push(
      await write(walletClient, distributor, merkleDistributorBaselineAbi, 'claim', [
        BigInt(i),
        baselineAccounts[i],
        100n,
        proof,
      ]),
    )
  }

  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
  const claimFirst = mean(firstClaims)
  const claimLater = mean(laterClaims)
  const result = {
    bench: 'gas',
    quick,
    chain: `anvil (@foundry-rs/anvil ${anvilVersion()}), default hardfork, contracts built for cancun with solc 0.8.37, optimizer 1000 runs`,
    baseline: {
      erc20TransferToFreshAccount: transferFresh,
      erc20TransferToExistingHolder: transferExisting,
    },
    deposit: {
      firstDeposit: depositFirst,
      laterDeposit: depositLater,
      laterDepositOverTransfer: twoDecimals(depositLater / transferExisting),
    },
    checkpoint: {
      allValidatorsSign: checkpoints,
      perSignerGas: Math.round(fit.slope),
      baseGas: Math.round(fit.intercept),
      targetPerSigner: 8_000,
      polygonSubmitCheckpointPerSigner: 18_000,
      perClientInTotals: Math.round(perClient),
    },
    claim: {
      treeSize: TREE_SIZE,
      proofLength,
      claimers: CLAIMERS,
      firstClaimToFreshAccount: claimFirst,
      laterClaim: claimLater,
      averageOverFirstAndLater: mean([...firstClaims, ...laterClaims]),
      target: 60_000,
      uniswapMerkleDistributorSameChain: mean(uniFresh),
      uniswapMerkleDistributorPublished: 78_598,
      treeBuildMs: Math.round(round2.buildMs),
    },
  }
  const json = JSON.stringify(result, null, 2)
  console.log(json)
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  writeFileSync(new URL(`./results/gas${quick ? '.quick' : ''}.json`, import.meta.url), `${json}\n`)
} finally {
  await anvil.stop()
}

function twoDecimals(x: number) {
  return Math.round(x * 100) / 100
}

function leastSquares(points: number[][]) {
  const n = points.length
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  let sxy = 0
  let sxx = 0
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
  }
  const slope = sxy / sxx
  return { slope, intercept: my - slope * mx }
}

function anvilVersion(): string {
  const require = createRequire(import.meta.url)
  return (require('@foundry-rs/anvil/package.json') as { version: string }).version
}
