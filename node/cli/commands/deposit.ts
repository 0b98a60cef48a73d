// `openledger deposit AMOUNT`: moves OPEN from the account's wallet into the Ledger, where it pays for
// inference. One transaction, `depositWithPermit`: the account signs an EIP-2612 permit for exactly the
// amount instead of sending an `approve` first, so there is one transaction to wait for, no allowance is
// left standing afterwards, and an interrupted run never leaves an approval without its deposit. (The
// permit replaces any earlier allowance the account gave the Ledger with this amount, which the deposit
// then spends.)
import type { Command } from 'commander'
import { type Hex, parseSignature } from 'viem'
import { LedgerCommandError } from './ledger-errors.ts'
import { addLedgerOptions, type LedgerOptions, type Output, print } from './ledger-options.ts'
import { formatOpen, parseOpenAmount } from './open-amount.ts'

/** How long a permit stays valid, from the chain's latest block: enough to be mined, not a standing grant. */
const PERMIT_TTL_S = 3_600n

export function registerDepositCommand(program: Command, out: Output = process.stdout): void {
  addLedgerOptions(
    program
      .command('deposit')
      .description("deposit OPEN from the account's wallet into the Ledger, to pay for inference")
      .argument('<amount>', 'OPEN to deposit, e.g. 1.5'),
  ).action(async (amountText: string, opts: LedgerOptions) => {
    const l = await import('./ledger-session.ts')
    const { openTokenAbi } = await import('../../../contracts/generated/OpenToken.ts')
    const config = await l.ledgerConfig(opts)
    const account = await l.signingAccount(opts, config)
    const s = await l.openLedger(config, account)
    const amount = parseOpenAmount(amountText, s.decimals)
    const token = { address: s.token, abi: openTokenAbi } as const
    const owner = account.address
    const [wallet, nonce, domain, block] = await l.read(s, () =>
      Promise.all([
        s.publicClient.readContract({ ...token, functionName: 'balanceOf', args: [owner] }),
        s.publicClient.readContract({ ...token, functionName: 'nonces', args: [owner] }),
        s.publicClient.readContract({ ...token, functionName: 'eip712Domain' }),
        s.publicClient.getBlock(),
      ]),
    )
    if (amount > wallet)
      throw new LedgerCommandError(
        { code: 'INSUFFICIENT_WALLET_BALANCE' },
        `cannot deposit ${formatOpen(amount, s.decimals)}: the wallet of ${owner} holds ${formatOpen(wallet, s.decimals)}`,
      )
    // The deadline counts from chain time, not this machine's clock, which a test chain may have left behind.
    const deadline = block.timestamp + PERMIT_TTL_S
    const [, name, version, chainId, verifyingContract] = domain
    const signature = await s.walletClient.signTypedData({
      account,
      domain: { name, version, chainId, verifyingContract },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: { owner, spender: s.ledger, value: amount, nonce, deadline },
    })
    const { r, s: sHalf, v, yParity } = parseSignature(signature as Hex)
    const receipt = await l.submit(s, 'depositWithPermit', [
      amount,
      deadline,
      Number(v ?? 27n + BigInt(yParity)),
      r,
      sHalf,
    ])
    const after = await l.balances(s, owner, receipt.blockNumber)
    print(
      out,
      opts,
      {
        address: owner,
        amount,
        tx: receipt.transactionHash,
        block: receipt.blockNumber,
        deposited: after.funded,
        available: after.available,
        wallet: after.wallet,
      },
      [
        `deposited ${formatOpen(amount, s.decimals)} from ${owner} (transaction ${receipt.transactionHash})`,
        `  deposited in all ${formatOpen(after.funded, s.decimals)}, available ${formatOpen(after.available, s.decimals)}, wallet ${formatOpen(after.wallet, s.decimals)}`,
      ],
    )
  })
}
