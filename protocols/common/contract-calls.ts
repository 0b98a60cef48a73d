// Reads and writes of one contract for the typed registry clients: every write is simulated first (a call
// the contract would refuse never becomes a transaction), then sent and awaited; every failure becomes
// the client's own typed error.
import type {
  Abi,
  Account,
  Address,
  Chain,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from 'viem'

/** How long a write waits for the chain head to include its transaction before returning anyway. */
export const HEAD_WAIT_MS = 5_000

export interface ContractClientInit {
  // biome-ignore lint/suspicious/noExplicitAny: any chain/transport; viem's generics are invariant
  publicClient: PublicClient<Transport, any>
  walletClient?: WalletClient<Transport, Chain | undefined, Account>
  address: Address
}

export interface ContractErrors {
  /** maps a viem failure (decoded custom errors first) to the client's typed error */
  toError(err: unknown, action: string, id?: bigint): Error
  noWallet(action: string): Error
  reverted(action: string, hash: Hex, id?: bigint): Error
}

export class ContractCalls {
  constructor(
    private readonly init: ContractClientInit,
    private readonly abi: Abi,
    private readonly errors: ContractErrors,
  ) {}

  // biome-ignore lint/suspicious/noExplicitAny: results are typed by the calling client
  async read(functionName: string, args: readonly unknown[], id?: bigint): Promise<any> {
    try {
      return await this.init.publicClient.readContract({
        address: this.init.address,
        abi: this.abi,
        functionName,
        args,
      } as never)
    } catch (err) {
      throw this.errors.toError(err, functionName, id)
    }
  }

  async write(functionName: string, args: readonly unknown[], id?: bigint): Promise<TransactionReceipt> {
    const wallet = this.init.walletClient
    if (!wallet) throw this.errors.noWallet(functionName)
    let hash: Hex
    try {
      const { request } = await this.init.publicClient.simulateContract({
        address: this.init.address,
        abi: this.abi,
        functionName,
        args,
        account: wallet.account,
      } as never)
      hash = await wallet.writeContract(request as never)
    } catch (err) {
      throw this.errors.toError(err, functionName, id)
    }
    const receipt = await this.init.publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw this.errors.reverted(functionName, hash, id)
    await this.headAtLeast(receipt.blockNumber)
    return receipt
  }

  /**
   * Waits (up to HEAD_WAIT_MS) until 'latest' includes `block`: a node can serve a receipt a moment before
   * its head moves (seen on anvil; common behind load-balanced RPCs), and a read right after a write must
   * see the write.
   */
  private async headAtLeast(block: bigint): Promise<void> {
    const deadline = Date.now() + HEAD_WAIT_MS
    while ((await this.init.publicClient.getBlockNumber({ cacheTime: 0 })) < block) {
      if (Date.now() > deadline) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}
