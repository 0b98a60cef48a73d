// Proof of Attribution: tokenizer, corpus builder, suffix-array index and span scoring (see README.md).

export type {
  AttributedSpan,
  AttributionEntry,
  AttributionInput,
  AttributionResult,
} from './src/attribute.ts'
export { attribute, rarityOf } from './src/attribute.ts'
export type { AttributionIndex } from './src/build.ts'
export { buildIndex, denseTokens, indexBytesPerToken } from './src/build.ts'
export type { Contribution, ContributionRef, Corpus } from './src/corpus.ts'
export { buildCorpus, contributionAt, corpusFromTokens, MAX_CORPUS_TOKENS } from './src/corpus.ts'
export type { AttributionErrorCode, AttributionErrorType } from './src/errors.ts'
export { AttributionError } from './src/errors.ts'
export type { AttributionParams, Ownership } from './src/params.ts'
export {
  DEFAULT_PARAMS,
  PARAMS_BY_VERSION,
  PARAMS_V1,
  PARAMS_V2,
  PPM,
  paramsVersionOf,
  RARITY_ONE,
  resolveParams,
} from './src/params.ts'
export type { LoadOptions } from './src/persist.ts'
export { INDEX_FILE, INDEX_FORMAT_VERSION, loadIndex, loadOrBuildIndex, saveIndex } from './src/persist.ts'
export { suffixArray } from './src/sais.ts'
export { findInterval, matchingStatistics } from './src/search.ts'
export type { Tokenized, Tokenizer } from './src/tokenizer.ts'
export {
  SEPARATOR_ID,
  TOKENIZER_VERSION,
  tokenIdOf,
  tokenize,
  tokenizer,
  tokenizeWithOffsets,
} from './src/tokenizer.ts'
