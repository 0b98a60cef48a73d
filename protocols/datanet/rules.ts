// A Datanet's rules, stored with its metadata in IPFS (the metadata CID is on chain), so every curator
// node applies the same rules. Unset fields take these defaults.
import { z } from 'zod'

export const DEFAULT_RULES = {
  contributionType: 'text',
  extensions: ['.txt', '.md', '.jsonl'],
  maxBytes: 8 * 1024 * 1024,
  minBytes: 1,
  /** Jaccard similarity of word 5-shingles at or above which a contribution is a near-duplicate */
  nearDuplicateThreshold: 0.8,
  /** contributions per contributor per Datanet per 24 hours */
  dailyQuota: 100,
  license: 'CC-BY-4.0',
} as const

export const rulesSchema = z.strictObject({
  contributionType: z.enum(['text']).default(DEFAULT_RULES.contributionType),
  extensions: z
    .array(z.string().regex(/^\.[a-z0-9]+$/))
    .min(1)
    .default([...DEFAULT_RULES.extensions]),
  maxBytes: z
    .number()
    .int()
    .positive()
    .max(1 << 30)
    .default(DEFAULT_RULES.maxBytes),
  minBytes: z.number().int().nonnegative().default(DEFAULT_RULES.minBytes),
  nearDuplicateThreshold: z.number().gt(0).lte(1).default(DEFAULT_RULES.nearDuplicateThreshold),
  dailyQuota: z.number().int().positive().default(DEFAULT_RULES.dailyQuota),
  license: z.string().min(1).max(64).default(DEFAULT_RULES.license),
})
export type DatanetRules = z.infer<typeof rulesSchema>

export const metadataSchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().max(4096).default(''),
  rules: rulesSchema.default(rulesSchema.parse({})),
})
export type DatanetMetadata = z.infer<typeof metadataSchema>
