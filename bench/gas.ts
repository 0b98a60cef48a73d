// `npm run bench -- gas [--quick]`: gas of the Ledger's hot paths on a real anvil chain, written to
// bench/results/gas.json. Baselines measured in the same run, on the same chain and token:
//   - a plain OPEN transfer (to a fresh and to an existing holder), so deposit and claim read as ratios;
//   - Uniswap's MerkleDistributor claim (contracts/src/bench/MerkleDistributorBaseline.sol) on a tree of
//     the same size, claims to fresh accounts, so our cumulative claim compares with the one-time claim
//     everyone cites.
// Checkpoint gas is measured with every validator signing (the worst case) for 4, 16, 64 and 128
// validators; the per-signer figure is the least-squares slope, the base its intercept. Every measured
// checkpoint is past epoch 64, so it pays the same storage writes and deletions (root history of 16,
// participation window of 64) as a long-running chain does.
// Validators register with proofs of possession (contracts/registration.ts); a set change made at epoch L
// signs from L + 2, so empty checkpoints are mined until the new set is the one that signs.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { generateKeyPair } from '@libp2p/crypto/keys'
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
import { signRegistration, stakingDomain } from '../contracts/registration.ts'
import {
  type CheckpointMessage,
  checkpointTypedData,
  orderSignatures,
  type Spend,
  type ValidatorEntry,
} from '../contracts/typedData.ts'
import { validatorSetForEpoch } from '../contracts/validator-set.ts'
import { openLedgerDomain } from '../protocols/common/eip712.ts'
import { startAnvil } from '../testnet/anvil.ts'

const quick = process.argv.includes('--quick')
const VALIDATOR_COUNTS = quick ? [4, 16] : [4, 16, 64, 128]
const TREE_SIZE = quick ? 10_000 : 100_000
const CLAIMERS = quick ? 5 : 20
const BATCH = 100
/** claimMany's shared level: 2^7 = 128 nodes sent once, 7 levels off each of the 100 proofs. */
const BATCH_DEPTH = 7
const MIN_STAKE = parseEther('1000')
/** Measured checkpoints come after this epoch: both history windows (16 roots, 64 bitmaps) are full. */
const STEADY_EPOCH = 65n

const anvil = await startAnvil({ accounts: 2 })
try {
  const deployerKey = anvil.accounts[0].privateKey
  const { publicClient, walletClient } = await connect(anvil.rpcUrl, deployerKey)
  const addresses = await deployAll({ publicClient, walletClient }, { maxValidators: 128 })
  const deployer = walletClient.account.address
  const domain = openLedgerDomain({ chainId: anvil.chainId, ledger: addresses.ledger })
  const registrationDomain = stakingDomain(anvil.chainId, addresses.staking)

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
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>
  const balanceOf = (a: Address) => read<bigint>(addresses.token, openTokenAbi, 'balanceOf', [a])
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
  const keyOfSigner = new Map<string, Hex>()
  const setFor = async (epoch: bigint): Promise<ValidatorEntry[]> =>
    (await validatorSetForEpoch(publicClient as never, addresses.staking, epoch, addresses.deployBlock))
      .validators
  const lastEpoch = () => read<bigint>(addresses.ledger, ledgerAbi, 'lastEpoch')

  /** The next epoch's vote, with the set hash and fee split fixed for it read from the chain. */
  const message = async (
    stateRoot: Hex,
    totals: readonly Spend[] = [],
    totalEarned = 0n,
  ): Promise<CheckpointMessage> => {
    const epoch = (await lastEpoch()) + 1n
    const [parentRoot, validatorSetHash, feeSplit] = await Promise.all([
      read<Hex>(addresses.ledger, ledgerAbi, 'stateRoot'),
      read<Hex>(addresses.staking, stakingAbi, 'setHashFor', [epoch]),
      read<CheckpointMessage['feeSplit']>(addresses.ledger, ledgerAbi, 'feeSplitFor', [epoch]),
    ])
    return {
      epoch,
      round: 0,
      parentRoot,
      stateRoot,
      receiptsRoot: keccak256(toHex(`receipts-${epoch}`)),
      receiptsCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      validatorSetHash,
      feeSplit: { ...feeSplit },
      totalEarned,
      totals,
    }
  }
  /** Every validator of the epoch's set signs (the worst case for gas). */
  const submitCheckpoint = async (m: CheckpointMessage) => {
    const set = await setFor(m.epoch)
    const votes = await Promise.all(
      set.map(async (v) => {
        const k = keyOfSigner.get(v.signer.toLowerCase())
        if (!k) throw new Error(`no key for signer ${v.signer}`)
        return {
          signer: v.signer,
          signature: await privateKeyToAccount(k).signTypedData(checkpointTypedData(domain, m)),
        }
      }),
    )
    const hash = await walletClient.writeContract({
      address: addresses.ledger,
      abi: ledgerAbi,
      functionName: 'checkpoint',
      args: [{ ...m, feeSplit: { ...m.feeSplit }, totals: [...m.totals] }, set, orderSignatures(set, votes)],
      // anvil's estimate for a checkpoint was seen too low (out of gas) on some epochs, as reported for
      // other signature-heavy calls (foundry-rs/foundry#2998); gas used does not depend on the limit.
      gas: 15_000_000n,
    })
    const tx = await publicClient.getTransaction({ hash })
    return { gas: await gasOf(hash), calldataBytes: (tx.input.length - 2) / 2, signers: set.length }
  }
  const emptyCheckpoint = async () =>
    submitCheckpoint(await message(keccak256(toHex(`empty-${await lastEpoch()}`))))
  /** Mines empty checkpoints until the epoch being voted on is signed by `n` validators. */
  const activate = async (n: number) => {
    while ((await setFor((await lastEpoch()) + 1n)).length !== n) await emptyCheckpoint()
  }

  await write(walletClient, addresses.token, openTokenAbi, 'approve', [addresses.staking, maxApprove])
  const checkpoints: { validators: number; signers: number; gas: number; calldataBytes: number }[] = []
  for (const n of VALIDATOR_COUNTS) {
    while (signerKeys.length < n) {
      const i = signerKeys.length
      const stakerKey = key('staker', i)
      const staker = privateKeyToAccount(stakerKey).address
      await fundEth(staker)
      await write(walletClient, addresses.token, openTokenAbi, 'transfer', [staker, MIN_STAKE])
      const wallet = await as(stakerKey)
      await write(wallet, addresses.token, openTokenAbi, 'approve', [addresses.staking, MIN_STAKE])
      const signer = privateKeyToAccount(key('signer', i))
      signerKeys.push(key('signer', i))
      keyOfSigner.set(signer.address.toLowerCase(), key('signer', i))
      const r = await signRegistration(registrationDomain, staker, signer, await generateKeyPair('Ed25519'))
      await write(wallet, addresses.staking, stakingAbi, 'register', [
        r.signer,
        r.peerId,
        MIN_STAKE,
        r.signerProof,
        r.peerIdProof,
      ])
    }
    await activate(n)
    while ((await lastEpoch()) < STEADY_EPOCH) await emptyCheckpoint()
    // warm-up checkpoint so every measured one writes the same kinds of slots as in steady state
    await emptyCheckpoint()
    const measured = await emptyCheckpoint()
    if (measured.signers !== n) throw new Error(`expected ${n} signers, got ${measured.signers}`)
    checkpoints.push({ validators: n, signers: n, gas: measured.gas, calldataBytes: measured.calldataBytes })
    console.error(`checkpoint with ${n} signers: ${measured.gas} gas`)
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
    await message(keccak256('0x01'), [{ client: clients[0], spent: 1n }]),
  )
  const manyClients = await submitCheckpoint(
    await message(
      keccak256('0x02'),
      clients.map((client, i) => ({ client, spent: i === 0 ? 2n : 1n })),
    ),
  )
  const perClient = (manyClients.gas - oneClient.gas) / 50

  // ---------------------------------------------------------------- claims in a tree of TREE_SIZE accounts
  // Leaves: CLAIMERS single claimers, BATCH accounts paid by one claimMany, fillers. Every claimed
  // account holds no OPEN before its first claim. The deployer's deposit, settled as spending, covers
  // the tree's total earnings (a checkpoint's totalEarned may not exceed settled spending).
  const claimers = Array.from({ length: CLAIMERS }, (_, i) => privateKeyToAccount(key('claimer', i)).address)
  const batchAccounts = Array.from({ length: BATCH }, (_, i) => privateKeyToAccount(key('batch', i)).address)
  const filler = (i: number) => getAddress(keccak256(toHex(`filler-${i}`)).slice(0, 42))
  const fillerCount = TREE_SIZE - CLAIMERS - BATCH
  const accounts = [
    ...claimers,
    ...batchAccounts,
    ...Array.from({ length: fillerCount }, (_, i) => filler(i)),
  ]
  const earnedAt = (round: number, i: number) => parseEther('1') * BigInt(round) + BigInt(i)
  let settled = (await read<readonly bigint[]>(addresses.ledger, ledgerAbi, 'clientBalance', [deployer]))[1]
  const checkpointTree = async (round: number) => {
    let sum = 0n
    const entries = accounts.map((account, i) => {
      const earned = earnedAt(round, i)
      sum += earned
      return { account, index: i, earned, spent: 0n }
    })
    const started = performance.now()
    const tree = await LedgerTree.build(entries)
    const buildMs = performance.now() - started
    if (sum > settled) settled = sum
    await submitCheckpoint(await message(tree.root, [{ client: deployer, spent: settled }], sum))
    return { tree, buildMs, epoch: await lastEpoch() }
  }
  const claimArgs = (tree: LedgerTree, account: Address) => {
    const entry = tree.entry(account)!
    return {
      account,
      index: BigInt(entry.index),
      earned: entry.earned,
      spent: entry.spent,
      proof: tree.proof(account),
    }
  }
  /** Claims relayed by the deployer (claimFor pays the leaf's account: the sender pays only gas). */
  const claimEach = async (round: { tree: LedgerTree; epoch: bigint }) => {
    const gas: number[] = []
    for (const account of claimers) {
      const c = claimArgs(round.tree, account)
      const before = await balanceOf(account)
      gas.push(
        await write(walletClient, addresses.ledger, ledgerAbi, 'claimFor', [
          account,
          c.index,
          round.epoch,
          c.earned,
          c.spent,
          c.proof,
        ]),
      )
      if ((await balanceOf(account)) <= before) throw new Error(`claim for ${account} paid nothing`)
    }
    return gas
  }
  const claimBatch = async (round: { tree: LedgerTree; epoch: bigint }) => {
    // The batch sends the level of 2^BATCH_DEPTH nodes once; each proof stops there.
    const claims = batchAccounts.map((a) => {
      const { proof, topIndex } = round.tree.proofToLevel(a, BATCH_DEPTH)
      return { ...claimArgs(round.tree, a), proof, topIndex: BigInt(topIndex) }
    })
    const hash = await walletClient.writeContract({
      address: addresses.ledger,
      abi: ledgerAbi,
      functionName: 'claimMany',
      args: [round.epoch, round.tree.tree.level(BATCH_DEPTH), claims],
      gas: 30_000_000n,
    })
    const gas = await gasOf(hash)
    const tx = await publicClient.getTransaction({ hash })
    for (const c of claims) {
      const claimed = await read<bigint>(addresses.ledger, ledgerAbi, 'claimedOf', [c.index])
      if (claimed !== c.earned - (c.earned % 10n ** 9n)) throw new Error(`claimMany did not pay ${c.account}`)
    }
    return { gas, calldataBytes: (tx.input.length - 2) / 2 }
  }
  const round1 = await checkpointTree(1)
  const firstClaims = await claimEach(round1)
  const firstBatch = await claimBatch(round1)
  const round2 = await checkpointTree(2)
  const laterClaims = await claimEach(round2)
  const laterBatch = await claimBatch(round2)
  const proofLength = round2.tree.proof(claimers[0]).length

  // ---------------------------------------------------------------- Uniswap MerkleDistributor baseline
  const baselineClaimers = claimers.map((_, i) => privateKeyToAccount(key('uni-claimer', i)).address)
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
  const uniswap = mean(uniFresh)
  const claimLater = mean(laterClaims)
  const batchedPerClaim = Math.round(firstBatch.gas / BATCH)
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
      firstClaimToFreshAccount: mean(firstClaims),
      laterClaim: claimLater,
      batchSize: BATCH,
      batchedPerClaim,
      batchedCalldataBytes: firstBatch.calldataBytes,
      batchedLaterPerClaim: Math.round(laterBatch.gas / BATCH),
      uniswapMerkleDistributorSameChain: uniswap,
      uniswapMerkleDistributorPublished: 78_598,
      laterOverUniswap: twoDecimals(claimLater / uniswap),
      batchedOverUniswap: twoDecimals(batchedPerClaim / uniswap),
      goals: { laterOverUniswap: 0.85, batchedOverUniswap: 0.6 },
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
