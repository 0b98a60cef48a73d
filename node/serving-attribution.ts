// Proof of Attribution at the serving node: for each served model (and adapter) one suffix-array index over
// the accepted contributions of the Datanet versions it was registered with (the base's and, for an
// adapter, its own), read by CID from IPFS, so any validator can rebuild the same index from the same
// manifests. Built once per set of versions and cached on disk under DATA_DIR/attribution, keyed by the
// manifest CIDs and the tokenizer version (content-addressed: a cached index cannot go stale). The refs
// from a corpus position back to (Datanet, version, index in its manifest) come from the manifests, which
// are small and read at every start.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { Logger } from 'pino'
import {
  type AttributionIndex,
  attribute,
  buildCorpus,
  buildIndex,
  loadOrBuildIndex,
  TOKENIZER_VERSION,
} from '../protocols/attribution/index.ts'
import type { AnswerAttribution, AnswerAttributionEntry } from '../protocols/inference/gateway.ts'

/** One contribution's text is read up to this many bytes (the Datanet's own rules bound it far lower). */
export const MAX_CONTRIBUTION_BYTES = 8 * 1024 * 1024

export interface TrainedOnVersion {
  datanetId: string
  version: number
}

/** What the builder reads: a version's manifest CID (chain), its contributions (IPFS), their text. */
export interface AttributionSources {
  manifestCid(datanetId: string, version: number): Promise<string>
  contributions(manifestCid: string): Promise<{ contentCid: string; contributor: string }[]>
  text(contentCid: string, maxBytes: number): Promise<string>
}

interface Ref {
  datanetId: string
  datanetVersion: number
  contributionIndex: number
}

interface Prepared {
  index: AttributionIndex
  refs: Ref[]
}

export class ServingAttribution {
  private readonly prepared = new Map<string, Prepared>()

  constructor(
    private readonly sources: AttributionSources,
    private readonly cacheDir: string,
    private readonly log: Logger,
  ) {}

  private static key(target: { model: string; adapter: string | null }): string {
    return `${target.model}:${target.adapter ?? ''}`
  }

  /** Builds (or loads) the index of `versions` for `target`; with no versions the target has none. */
  async prepare(
    target: { model: string; adapter: string | null },
    versions: TrainedOnVersion[],
  ): Promise<void> {
    if (versions.length === 0) return
    const manifests: {
      version: TrainedOnVersion
      cid: string
      entries: { contentCid: string; contributor: string }[]
    }[] = []
    for (const version of versions) {
      const cid = await this.sources.manifestCid(version.datanetId, version.version)
      manifests.push({ version, cid, entries: await this.sources.contributions(cid) })
    }
    // One entry per content CID, first occurrence first (versions are cumulative), as buildCorpus keeps them.
    const unique = new Map<string, { contributor: string; ref: Ref }>()
    for (const m of manifests)
      m.entries.forEach((e, i) => {
        if (!unique.has(e.contentCid))
          unique.set(e.contentCid, {
            contributor: e.contributor,
            ref: { datanetId: m.version.datanetId, datanetVersion: m.version.version, contributionIndex: i },
          })
      })
    const refs = [...unique.values()].map((u) => u.ref)
    const key = createHash('sha256')
      .update(`${TOKENIZER_VERSION}\n${manifests.map((m) => m.cid).join('\n')}`)
      .digest('hex')
      .slice(0, 32)
    const started = performance.now()
    const { index, built } = await loadOrBuildIndex(join(this.cacheDir, key), async () => {
      const contributions = []
      for (const [contentCid, u] of unique)
        contributions.push({
          id: contentCid,
          contributor: u.contributor,
          text: await this.sources.text(contentCid, MAX_CONTRIBUTION_BYTES),
        })
      return buildIndex(buildCorpus(contributions))
    })
    this.prepared.set(ServingAttribution.key(target), { index, refs })
    this.log.info(
      { ...target, contributions: refs.length, built, ms: Math.round(performance.now() - started) },
      'attribution index ready',
    )
  }

  /** Whether `target`'s index is ready. */
  isPrepared(target: { model: string; adapter: string | null }): boolean {
    return this.prepared.has(ServingAttribution.key(target))
  }

  /** The attribution of `text` generated for `target`; null when it was trained on no Datanet version. */
  attribute(target: { model: string; adapter: string | null }, text: string): AnswerAttribution | null {
    const prepared = this.prepared.get(ServingAttribution.key(target))
    if (!prepared) return null
    const result = attribute(prepared.index, text)
    return {
      paramsVersion: result.paramsVersion,
      outputTokens: result.outputTokens,
      unattributedPpm: result.unattributedPpm,
      entries: result.entries.map((e): AnswerAttributionEntry => {
        const ref = prepared.refs[e.contributionIndex]!
        return {
          ...ref,
          contributionId: e.contributionId,
          contributor: e.contributor,
          weightPpm: e.weightPpm,
        }
      }),
    }
  }
}
