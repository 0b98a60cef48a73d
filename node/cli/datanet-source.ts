// Reads a Datanet version through a node's HTTP API: the version (from chain), its manifest, and every
// contribution's text. Used by `openledger attribute --datanet` and `openledger model train --datanet`.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { ApiError, type ApiTarget, callApi, requestApi } from './api-client.ts'

export interface DatanetText {
  datanetId: string
  version: number
  contributions: { id: string; contributor: `0x${string}`; text: string }[]
}

export async function readDatanetVersion(
  api: ApiTarget | string,
  datanetId: string,
  version?: number,
): Promise<DatanetText> {
  const v = version ?? (await callApi(api, 'GET', `/v1/datanets/${datanetId}`)).versionCount
  if (!v)
    throw new ApiError({ code: 'NO_VERSIONS', status: 404 }, `Datanet ${datanetId} has no published version`)
  const body = await callApi(api, 'GET', `/v1/datanets/${datanetId}/versions/${v}`)
  if (!body.contributions)
    throw new ApiError(
      { code: 'MANIFEST_UNAVAILABLE', status: 504 },
      `the manifest of Datanet ${datanetId} version ${v} could not be fetched`,
    )
  const contributions = []
  for (const entry of body.contributions as { contentCid: string; contributor: `0x${string}` }[]) {
    // Needs the API token (OPENLEDGER_API_TOKEN for a bare URL): reading content makes the node fetch it.
    const res = await requestApi(api, 'GET', `/v1/content/${entry.contentCid}`, { timeoutMs: 60_000 })
    contributions.push({
      id: entry.contentCid,
      contributor: entry.contributor,
      text: new TextDecoder().decode(await res.arrayBuffer()),
    })
  }
  return { datanetId, version: v, contributions }
}

/** Where attribution indexes built from a Datanet version are cached (one directory per manifest). */
export async function indexCacheDir(key: string): Promise<{ dir: string; exists: boolean }> {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache')
  const dir = join(base, 'openledger', 'indexes', createHash('sha256').update(key).digest('hex').slice(0, 32))
  const exists = existsSync(join(dir, 'index.json')) || existsSync(dir)
  await mkdir(join(base, 'openledger', 'indexes'), { recursive: true })
  return { dir, exists }
}
