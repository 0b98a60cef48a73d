// The automatic part of curation: the Datanet's rules applied to a contribution and its fetched content.
// Pure: takes the contribution, its bytes, the rules and what the curator already holds; returns either
// the fingerprints to store or a rejection with a reason code and a sentence a contributor can act on.
import { extname } from 'node:path'
import type { Contribution } from './contribution.ts'
import { decodeUtf8Strict, estimateJaccard, minhash, normalizedTextHash } from './near-duplicates.ts'
import type { DatanetRules } from './rules.ts'

export type RejectReason =
  | 'WRONG_TYPE'
  | 'TOO_LARGE'
  | 'TOO_SMALL'
  | 'SIZE_MISMATCH'
  | 'NOT_UTF8'
  | 'BAD_JSONL'
  | 'DUPLICATE_CID'
  | 'DUPLICATE_TEXT'
  | 'NEAR_DUPLICATE'
  | 'QUOTA_EXCEEDED'
  | 'CONTENT_UNAVAILABLE'
  | 'CURATOR_REJECTED'

export interface KnownContribution {
  contentCid: string
  contributor: string
  receivedAt: number
  textHash?: string
  minhash?: Uint32Array
  /** rejected contributions do not block later ones (and do not count towards the quota) */
  rejected: boolean
}

export type CurationResult =
  | { ok: true; textHash: string; minhash: Uint32Array }
  | { ok: false; reason: RejectReason; message: string }

export const DAY_MS = 24 * 60 * 60 * 1000

/** Checks that need only the contribution's declared fields and bytes: what a contributor checks first. */
export function checkContent(
  name: string,
  content: Uint8Array,
  rules: DatanetRules,
): CurationResult | { ok: true; text: string } {
  const ext = extname(name).toLowerCase()
  if (!rules.extensions.includes(ext)) {
    return {
      ok: false,
      reason: 'WRONG_TYPE',
      message: `"${name}" is not a ${rules.contributionType} contribution (allowed: ${rules.extensions.join(', ')})`,
    }
  }
  if (content.length > rules.maxBytes)
    return {
      ok: false,
      reason: 'TOO_LARGE',
      message: `${content.length} bytes is over the limit of ${rules.maxBytes}`,
    }
  if (content.length < rules.minBytes)
    return {
      ok: false,
      reason: 'TOO_SMALL',
      message: `${content.length} bytes is under the minimum of ${rules.minBytes}`,
    }
  const text = decodeUtf8Strict(content)
  if (text === undefined) return { ok: false, reason: 'NOT_UTF8', message: 'content is not valid UTF-8' }
  if (ext === '.jsonl') {
    const bad = text.split('\n').findIndex((line) => line.trim() !== '' && !isJson(line))
    if (bad >= 0) return { ok: false, reason: 'BAD_JSONL', message: `line ${bad + 1} is not JSON` }
  }
  return { ok: true, text }
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line)
    return true
  } catch {
    return false
  }
}

export function curate(
  c: Contribution,
  content: Uint8Array,
  rules: DatanetRules,
  known: KnownContribution[],
  nowMs: number,
): CurationResult {
  if (content.length !== c.bytes) {
    return {
      ok: false,
      reason: 'SIZE_MISMATCH',
      message: `content is ${content.length} bytes, the signed record says ${c.bytes}`,
    }
  }
  const basic = checkContent(c.name, content, rules)
  if (!basic.ok) return basic
  const text = (basic as { text: string }).text
  const live = known.filter((k) => !k.rejected)
  const sameCid = live.find((k) => k.contentCid === c.contentCid)
  if (sameCid)
    return {
      ok: false,
      reason: 'DUPLICATE_CID',
      message: `the same content (${c.contentCid}) is already in this Datanet`,
    }
  const textHash = normalizedTextHash(text)
  const sameText = live.find((k) => k.textHash === textHash)
  if (sameText)
    return {
      ok: false,
      reason: 'DUPLICATE_TEXT',
      message: `the same text (up to case and spacing) is already in this Datanet as ${sameText.contentCid}`,
    }
  const signature = minhash(text)
  let best: { similarity: number; cid: string } | undefined
  for (const k of live) {
    if (!k.minhash) continue
    const similarity = estimateJaccard(signature, k.minhash)
    if (!best || similarity > best.similarity) best = { similarity, cid: k.contentCid }
  }
  if (best && best.similarity >= rules.nearDuplicateThreshold) {
    return {
      ok: false,
      reason: 'NEAR_DUPLICATE',
      message: `near-duplicate of ${best.cid} (estimated similarity ${best.similarity.toFixed(2)} ≥ ${rules.nearDuplicateThreshold})`,
    }
  }
  const today = live.filter((k) => k.contributor === c.contributor && k.receivedAt > nowMs - DAY_MS).length
  if (today >= rules.dailyQuota) {
    return {
      ok: false,
      reason: 'QUOTA_EXCEEDED',
      message: `${c.contributor} already contributed ${today} times in 24 hours (quota ${rules.dailyQuota})`,
    }
  }
  return { ok: true, textHash, minhash: signature }
}
