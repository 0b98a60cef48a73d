import { OpenLedgerError } from '../../common/errors.ts'

export type AttributionErrorType =
  | { code: 'UNKNOWN_INDEX'; dir: string }
  | { code: 'INDEX_CORRUPT'; path: string; reason: string }
  | { code: 'INDEX_VERSION_MISMATCH'; path: string; found: string; expected: string }
  | { code: 'INPUT_TOO_LARGE'; tokens: number; max: number }
  | { code: 'INVALID_CONTRIBUTION'; index: number; reason: string }
  | { code: 'INVALID_PARAMS'; reason: string }
  | { code: 'CORPUS_TOO_LARGE'; tokens: number; max: number }
  | { code: 'TOKENIZER_MISMATCH'; found: string; expected: string }

export type AttributionErrorCode = AttributionErrorType['code']

/** Every failure of the attribution engine; `code` is what callers branch on and users read. */
export class AttributionError extends OpenLedgerError<AttributionErrorType> {}
