// Receipts as a serving node makes them: a client signs a PaymentAuthorization for a node, the node signs
// the receipt over an answer. Real keys (viem accounts), the project's domain.
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { openLedgerDomain } from '../../common/eip712.ts'
import { newRequestId, signPaymentAuthorization } from '../payment-authorization.ts'
import {
  type AttributionShare,
  outputHashOf,
  type Receipt,
  type SignedReceipt,
  signReceipt,
} from '../receipt.ts'

export const domain = openLedgerDomain({
  chainId: 31337,
  ledger: '0x5fbDb2315678afeCB367F642D93ceB2f0aa7e4a1',
})

export const account = (): PrivateKeyAccount => privateKeyToAccount(generatePrivateKey())

export interface ReceiptParts {
  client: PrivateKeyAccount
  node: PrivateKeyAccount
  output?: string
  maxFee?: bigint
  fee?: bigint
  model?: bigint
  adapter?: bigint
  attribution?: AttributionShare[]
  /** unix seconds (default now) */
  nowS?: number
  change?: Partial<Receipt>
}

export async function makeReceipt(parts: ReceiptParts): Promise<SignedReceipt> {
  const nowS = parts.nowS ?? Math.floor(Date.now() / 1000)
  const output = parts.output ?? 'To be, or not to be, that is the question'
  const payment = await signPaymentAuthorization(
    {
      client: parts.client.address,
      node: parts.node.address,
      model: parts.model ?? 1n,
      adapter: parts.adapter ?? 0n,
      maxFee: parts.maxFee ?? 10n ** 15n,
      requestId: newRequestId(),
      deadline: BigInt(nowS + 300),
    },
    parts.client,
    domain,
  )
  const receipt: Receipt = {
    authorization: payment.authorization,
    clientSignature: payment.signature,
    fee: parts.fee ?? 10n ** 12n,
    inputTokens: 12,
    outputTokens: 24,
    outputHash: outputHashOf(output),
    attribution: parts.attribution ?? [
      { datanetId: 1n, version: 1n, contributionIndex: 3n, weightPpm: 600_000 },
      { datanetId: 1n, version: 1n, contributionIndex: 7n, weightPpm: 250_000 },
      { datanetId: 2n, version: 4n, contributionIndex: 0n, weightPpm: 50_000 },
    ],
    attributionParams: 'ol-attr-2',
    servedAt: BigInt(nowS),
    ...parts.change,
  }
  return signReceipt(receipt, output, parts.node, domain)
}
