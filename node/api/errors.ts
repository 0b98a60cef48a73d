// One table from error code to HTTP status, for every typed error a route or a background job can
// raise. 4xx: the caller's fault (bad input, unknown id, not allowed, wrong state); 502/503/504: something
// upstream (the chain, a peer, content on the network) or a service that is not running; 500: ours (a
// bug, a local disk failure). A code missing from the table is a type error (`satisfies` below), and
// node/test/api.test.ts checks that every OpenLedgerError subclass is either covered here or listed in
// ERRORS_NOT_FROM_ROUTES.

import type { BlockTooLargeError, BlockVerifyError } from '../../protocols/common/blocks.ts'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import type { TypedDataHashError } from '../../protocols/common/typed-data-hasher.ts'
import type { BlockSyncError } from '../../protocols/datanet/block-sync.ts'
import type { ContributionsRootError } from '../../protocols/datanet/contributions-root.ts'
import type { DatanetServiceError } from '../../protocols/datanet/errors.ts'
import type { ManifestError } from '../../protocols/datanet/manifest.ts'
import type { DatanetError } from '../../protocols/datanet/registry.ts'
import type { ReplicationError } from '../../protocols/datanet/replicator.ts'
import type { ReprovideError } from '../../protocols/datanet/reprovider.ts'
import type { ByteBudgetError } from '../../protocols/datanet/version-budget.ts'
import type { ModelError } from '../../protocols/model/errors.ts'
import type { ModelRegistryError } from '../../protocols/model/registry.ts'
import type { ModelServiceError } from '../../protocols/model/service.ts'
import type { StoredValueError } from '../storage/repository.ts'

/** Codes the API layer itself raises (request checks, jobs, content). */
export type ApiRequestCode =
  | 'BAD_REQUEST'
  | 'BAD_JSON'
  | 'BODY_TOO_LARGE'
  | 'BODY_REQUIRED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN_HOST'
  | 'FORBIDDEN_ORIGIN'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'UNKNOWN_JOB'
  | 'TOO_MANY_JOBS'
  | 'FOLDER_IN_USE'
  | 'BAD_CID'
  | 'CONTENT_TOO_LARGE'
  | 'CONTENT_UNAVAILABLE'
  | 'NOT_READY'
  | 'CHAIN_NOT_CONFIGURED'
  | 'SHUTTING_DOWN'
  | 'JOB_INTERRUPTED'
  | 'LOCAL_IO_FAILED'
  | 'INTERNAL'

export class ApiRequestError extends OpenLedgerError<{ code: ApiRequestCode; reason?: string }> {}

/** Every code a route or job can raise: the union of the error classes they reach. */
export type KnownErrorCode =
  | ApiRequestCode
  | DatanetServiceError['code']
  | DatanetError['code']
  | ManifestError['code']
  | ContributionsRootError['code']
  | ReplicationError['code']
  | ReprovideError['code']
  | ByteBudgetError['code']
  | BlockSyncError['code']
  | BlockVerifyError['code']
  | BlockTooLargeError['code']
  | ModelServiceError['code']
  | ModelRegistryError['code']
  | ModelError['code']
  | TypedDataHashError['code']
  | StoredValueError['code']

/** The error classes the table covers, by name (checked against the source tree by api.test.ts). */
export const ERRORS_FROM_ROUTES = [
  'ApiRequestError',
  'DatanetServiceError',
  'DatanetError',
  'ManifestError',
  'ContributionsRootError',
  'ReplicationError',
  'ReprovideError',
  'ByteBudgetError',
  'BlockSyncError',
  'BlockVerifyError',
  'BlockTooLargeError',
  'ModelServiceError',
  'ModelRegistryError',
  'ModelError',
  'TypedDataHashError',
  'StoredValueError',
] as const

/** Error classes no route or job reaches, and why; anything of theirs that leaks through is a 500. */
export const ERRORS_NOT_FROM_ROUTES: Record<string, string> = {
  ConfigError: 'configuration is read at start, not per request',
  DataDirError: 'the data dir is opened at start',
  KeystoreError: 'keys are decrypted at start',
  DatabaseError: 'the database is opened at start',
  ChainError: 'the chain connection is checked at start',
  NodeStartError: 'raised by start() only',
  ApiError: "the CLI's client-side error (it carries the status it received)",
  AttributionError: 'attribution runs in the CLI, not behind a route',
  GossipValidationError: 'gossip validation answers the topic, never an HTTP caller',
  InferenceError:
    "the OpenAI-compatible routes map it to OpenAI's error shape themselves (openai-errors.ts); the infer protocol answers peers",
  PaymentError:
    'payment authorizations are checked by the infer protocol on the serving node, which answers the peer',
  CapacityError:
    'capacity records are judged by the discovering client, which drops a bad one (no route serves them yet)',
  ReceiptError:
    'receipts are judged by gossip validation and by the client that receives one; the receipts route lists what the mempool accepted, which decoded then',
  MempoolError: 'the mempool is written by gossip validation and after serving, never by a route',
  LedgerCommandError:
    'the payments CLI (deposit, withdraw, balance) talks to the chain itself, not through a route',
  ValidatorCommandError:
    'the validator CLI (register, status, unstake, withdraw) talks to the chain itself, not through a route',
  LedgerError:
    'the pure ledger (consensus/ledger.ts) runs in the validators’ consensus; routes read its stored results',
  ProposerError: 'the proposer draw runs in the validators’ consensus, never in a route',
  ConsensusWireError: 'consensus messages are judged by gossip validation, never by a route',
  VotePoolError: 'checkpoint votes are judged by gossip validation, never by a route',
  ReceiptBatchError: 'receipt batches are stored and fetched by the validators’ consensus, never by a route',
  SubmitError: 'checkpoints and slashing evidence are sent by the validator’s consensus loop, never by a route',
  SigningGuardError:
    'the signing guard (consensus/signing-guard.ts) is consulted by the validator before it votes, never by a route',
}

export const HTTP_STATUS_BY_CODE = {
  // The request itself (auth, headers, body, ids).
  BAD_REQUEST: 400,
  BAD_JSON: 400,
  BODY_TOO_LARGE: 413,
  BODY_REQUIRED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_HOST: 403,
  FORBIDDEN_ORIGIN: 403,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Also block-sync's "peer lacks the block"; the replicator falls back to bitswap, so it never reaches a caller.
  NOT_FOUND: 404,
  UNKNOWN_JOB: 404,
  // The job queue is full: try again when some have finished.
  TOO_MANY_JOBS: 429,
  // Another model is being fetched into the folder name the caller chose.
  FOLDER_IN_USE: 409,
  BAD_CID: 400,
  CONTENT_TOO_LARGE: 413,
  CONTENT_UNAVAILABLE: 504,
  NOT_READY: 503,
  CHAIN_NOT_CONFIGURED: 503,
  SHUTTING_DOWN: 503,
  // The node restarted while the job ran; nothing the caller did wrong, and it may simply be retried.
  JOB_INTERRUPTED: 503,
  LOCAL_IO_FAILED: 500,
  INTERNAL: 500,

  // Datanet service and registry.
  UNKNOWN_DATANET: 404,
  UNKNOWN_VERSION: 404,
  UNKNOWN_CONTRIBUTION: 404,
  NO_VERSIONS: 404,
  NOT_CURATOR: 403,
  NOT_OWNER: 403,
  CONTRIBUTION_REFUSED: 422, // TOO_LARGE: 413 (STATUS_BY_REASON)
  NOTHING_TO_PUBLISH: 409,
  NOT_PENDING: 409,
  // The curation queue is full (or the node stopped first): try again later.
  CURATION_BUSY: 503,
  // Someone published over the version this publish was built on; publishing again is the remedy.
  VERSION_CONFLICT: 409,
  // Raised for metadata the caller sends to `create` (its commonest source) as well as for metadata
  // stored on IPFS; GET /v1/datanets/:id reads the latter as null instead of failing.
  METADATA_INVALID: 422,
  METADATA_UNAVAILABLE: 504,
  EMPTY_FIELD: 400,
  INVALID_ARGUMENT: 400,
  NO_WALLET: 503,
  TX_REVERTED: 502,
  CHAIN_ERROR: 502,
  EMPTY_VERSION: 409,
  NO_SUCH_CONTRIBUTION: 404,
  INVALID_CONTRIBUTION: 502,

  // Content from the network (manifests, blocks, replication, block-sync).
  MANIFEST_CID_MISMATCH: 502,
  MANIFEST_INVALID: 502,
  MANIFEST_TOO_LARGE: 502,
  BLOCK_CID_MISMATCH: 502,
  UNSUPPORTED_HASH: 502,
  BLOCK_TOO_LARGE: 502,
  // A version's blocks exceed the byte budget derived from its manifest: the providers' content is wrong.
  BUDGET_EXCEEDED: 502,
  NOT_SERVED: 404,
  NO_PEERS: 503,
  FETCH_FAILED: 504,
  STOPPED: 503,
  REMOTE_ERROR: 502,
  UNEXPECTED_BLOCK: 502,
  INVALID_MESSAGE: 502,
  STREAM_ENDED: 502,
  // block-sync (a peer's answers; the replicator falls back to bitswap, so they rarely reach a caller)
  BUSY: 503,
  IDLE_TIMEOUT: 504,
  INVALID_MANIFEST: 502,
  REFUSED: 502,

  // Models: registry, service (register, fetch) and the model factory's file checks.
  UNKNOWN_MODEL: 404,
  NOT_MODEL_OWNER: 403,
  MODEL_RETIRED: 409,
  UNKNOWN_DATANET_VERSION: 422,
  MODEL_EMPTY_FIELD: 400,
  MODEL_INVALID_ARGUMENT: 400,
  MODEL_INVALID_PRICE: 400,
  MODEL_NO_WALLET: 503,
  MODEL_TX_REVERTED: 502,
  MODEL_CHAIN_ERROR: 502,
  ADAPTER_BASE_MISMATCH: 422,
  OUT_DIR_NOT_EMPTY: 409,
  ARTIFACT_INVALID: 502,
  MODEL_TOO_LARGE: 413,
  MODEL_FETCH_TIMEOUT: 504,
  FETCHED_MODEL_INVALID: 502,
  // Adapters registered as models of their own (registerAdapter, fetchAdapter, fetch of an adapter id).
  UNKNOWN_BASE_MODEL: 404,
  BASE_MODEL_RETIRED: 409,
  BASE_IS_ADAPTER: 422,
  NOT_AN_ADAPTER: 422,
  ADAPTER_NOT_FOR_BASE: 422,
  ADAPTER_NOT_SERVABLE: 409,
  MODEL_IS_ADAPTER: 422,
  // A local folder refused by loadModel at registration: the caller named a bad folder.
  MODEL_FILE_CORRUPTED: 422,
  MODEL_FILE_MISSING: 422,
  MODEL_FILE_UNKNOWN: 422,
  MODEL_FORMAT_INVALID: 422,
  MODEL_ADAPTER_SHAPE_MISMATCH: 422,
  MODEL_EMPTY_CORPUS: 422,
  MODEL_CORPUS_TOO_SMALL: 422,
  MODEL_DATANET_RESOLUTION_UNAVAILABLE: 503,

  // Ours: a typed-data encoding bug while signing, a stored record that no longer matches its schema.
  UNSUPPORTED_TYPE: 500,
  BAD_FIELD: 500,
  STORED_VALUE_INVALID: 500,
} as const satisfies Record<KnownErrorCode, number>

/** Refinements of one code by its `reason`. */
const STATUS_BY_REASON: Record<string, Record<string, number> | undefined> = {
  CONTRIBUTION_REFUSED: { TOO_LARGE: 413 },
}

/** What the API answers for an error: `error` is the code, `reason` its refinement. */
export interface ApiErrorBody {
  error: string
  reason?: string
  message: string
}

/**
 * The status and body for anything a route or job threw. Typed errors go through the table (an unknown
 * code is ours: 500); fastify's own 4xx pass through; a local file-system failure is ours (500), never
 * blamed on a peer; anything else is a 500.
 */
export function toHttpError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof OpenLedgerError) {
    const type = err.type as { code: string; reason?: unknown }
    const code = type.code
    const reason = typeof type.reason === 'string' ? type.reason : undefined
    const byReason = reason ? STATUS_BY_REASON[code]?.[reason] : undefined
    const status = byReason ?? (HTTP_STATUS_BY_CODE as Record<string, number>)[code] ?? 500
    return { status, body: { error: code, ...(reason ? { reason } : {}), message: err.message } }
  }
  const e = err as { statusCode?: number; code?: string; message?: string; syscall?: string }
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's own refusals, in the table's words (its code stays as the reason)
    const code: ApiRequestCode = (e.code ? FASTIFY_CODES[e.code] : undefined) ?? 'BAD_REQUEST'
    const status = code === 'BAD_REQUEST' ? e.statusCode : HTTP_STATUS_BY_CODE[code]
    return {
      status,
      body: { error: code, ...(e.code ? { reason: e.code } : {}), message: e.message ?? 'bad request' },
    }
  }
  if (typeof e?.syscall === 'string' && typeof e.code === 'string') {
    return { status: 500, body: { error: 'LOCAL_IO_FAILED', reason: e.code, message: e.message ?? e.code } }
  }
  return { status: 500, body: { error: 'INTERNAL', message: e?.message ?? String(err) } }
}

const FASTIFY_CODES: Record<string, ApiRequestCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
}

export function apiError(code: ApiRequestCode, message: string, reason?: string): ApiRequestError {
  return new ApiRequestError(reason ? { code, reason } : { code }, message)
}
