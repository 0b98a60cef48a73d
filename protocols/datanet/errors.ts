import { OpenLedgerError } from '../common/errors.ts'

export type DatanetServiceCode =
  | 'UNKNOWN_DATANET'
  | 'UNKNOWN_VERSION'
  | 'UNKNOWN_CONTRIBUTION'
  | 'NOT_CURATOR'
  | 'CONTRIBUTION_REFUSED'
  | 'NOTHING_TO_PUBLISH'
  | 'VERSION_CONFLICT'
  | 'CURATION_BUSY'
  | 'NOT_PENDING'
  | 'METADATA_UNAVAILABLE'
  | 'METADATA_INVALID'
  | 'CHAIN_NOT_CONFIGURED'

/** Errors a Datanet operation returns to its caller (CLI, HTTP API); `reason` refines CONTRIBUTION_REFUSED. */
export class DatanetServiceError extends OpenLedgerError<{ code: DatanetServiceCode; reason?: string }> {}
