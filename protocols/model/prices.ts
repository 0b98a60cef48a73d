// The one price rule, for the client that sets maxFee, the node that charges, and the validators that check
// the fee: a request for (model, adapter) costs the base model's registered prices plus the adapter's
// (adapter 0: the base alone), in wei per 1,000 tokens. An id that is not a base model, or an adapter that
// is not registered on that base, is unknown. Only "not registered" reads as unknown: a failed chain read
// throws, so a validator ignores the receipt instead of rejecting an honest one.
import type { PricesLookup } from '../receipts/receipt-gossip.ts'
import { type ModelRegistryClient, ModelRegistryError, type RegisteredModel } from './registry.ts'

export async function registeredPrices(
  registry: Pick<ModelRegistryClient, 'getModel'>,
  model: bigint,
  adapter: bigint,
): Promise<PricesLookup> {
  const base = await registered(registry, model)
  if (base === undefined || base.baseModelId !== 0n) return { unknown: 'model' }
  if (adapter === 0n) return { priceIn: base.pricePerKInput, priceOut: base.pricePerKOutput }
  const extra = await registered(registry, adapter)
  if (extra === undefined || extra.baseModelId !== model) return { unknown: 'adapter' }
  return {
    priceIn: base.pricePerKInput + extra.pricePerKInput,
    priceOut: base.pricePerKOutput + extra.pricePerKOutput,
  }
}

async function registered(
  registry: Pick<ModelRegistryClient, 'getModel'>,
  id: bigint,
): Promise<RegisteredModel | undefined> {
  try {
    return await registry.getModel(id)
  } catch (err) {
    if (err instanceof ModelRegistryError && err.code === 'UNKNOWN_MODEL') return undefined
    throw err
  }
}
