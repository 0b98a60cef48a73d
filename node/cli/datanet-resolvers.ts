// Resolvers that let `attribute` and `model train|adapt` name a Datanet version instead of files.
import { type ApiTarget, callApi } from './api-client.ts'
import { indexCacheDir, readDatanetVersion } from './datanet-source.ts'

/** Builds (once) and returns the directory of the attribution index of a Datanet version. */
export async function resolveAttributionIndex(
  ref: { id: string; version: string | null },
  api: ApiTarget | string,
): Promise<string> {
  const version = ref.version === null ? undefined : Number(ref.version)
  const v = version ?? (await callApi(api, 'GET', `/v1/datanets/${ref.id}`)).versionCount
  const info = await callApi(api, 'GET', `/v1/datanets/${ref.id}/versions/${v}`)
  const attribution = await import('../../protocols/attribution/index.ts')
  // Keyed by the manifest CID (content-addressed) and the tokenizer: a cached index can never go stale.
  const { dir, exists } = await indexCacheDir(`${info.manifestCid}:${attribution.TOKENIZER_VERSION}`)
  if (exists) return dir
  const text = await readDatanetVersion(api, ref.id, v)
  const index = attribution.buildIndex(attribution.buildCorpus(text.contributions))
  await attribution.saveIndex(index, dir)
  return dir
}

/** The accepted contributions of a Datanet version as training documents. */
export async function resolveTrainingDocuments(
  ref: { datanetId: string; version?: number },
  api: ApiTarget | string,
) {
  const text = await readDatanetVersion(api, ref.datanetId, ref.version)
  return {
    datanetId: text.datanetId,
    version: text.version,
    documents: text.contributions.map((c) => ({ id: c.id, text: c.text })),
  }
}
