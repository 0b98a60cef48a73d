// Shared decoding of contract failures for the typed registry clients: each client maps the custom
// error names of its contract to its own error codes, and everything else to a one-line chain error.
import { BaseError, ContractFunctionRevertedError } from 'viem'

export interface DecodedRevert {
  name: string
  args: readonly unknown[]
}

/** The contract's custom error inside a viem error, when the failure is a revert viem could decode. */
export function decodeRevert(err: unknown): DecodedRevert | undefined {
  if (!(err instanceof BaseError)) return undefined
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError) || !reverted.data) return undefined
  return { name: reverted.data.errorName, args: (reverted.data.args ?? []) as readonly unknown[] }
}

/** viem's one-line summary of a failure, or the error's message. */
export function failureMessage(err: unknown): string {
  if (err instanceof BaseError) return err.shortMessage
  return (err as Error)?.message ?? String(err)
}

/** A contract id (uint256, ids start at 1), or undefined when `value` is not one. */
export function parseContractId(value: unknown): bigint | undefined {
  let id: bigint
  try {
    id = BigInt(value as string)
  } catch {
    return undefined
  }
  return id > 0n && id < 1n << 256n ? id : undefined
}
