import { OpenLedgerError } from '../common/errors.ts'

/** Codes for everything the model factory refuses; each is what a user reads and what a test asserts on. */
export enum ModelErrorCode {
  /** No document, or documents with no text, were given to train on. */
  EMPTY_CORPUS = 'MODEL_EMPTY_CORPUS',
  /** Too few tokens to hold out a validation slice and still train. */
  CORPUS_TOO_SMALL = 'MODEL_CORPUS_TOO_SMALL',
  /** An adapter's tensors do not fit the base model it is applied to. */
  ADAPTER_SHAPE_MISMATCH = 'MODEL_ADAPTER_SHAPE_MISMATCH',
  /** A file's content does not hash to the CID recorded for it (corrupted or replaced). */
  FILE_CORRUPTED = 'MODEL_FILE_CORRUPTED',
  /** A file the manifest lists is absent. */
  FILE_MISSING = 'MODEL_FILE_MISSING',
  /** A file in a model folder that its manifest does not list (it would be served unverified). */
  FILE_UNKNOWN = 'MODEL_FILE_UNKNOWN',
  /** A file or folder that is not in a format this code reads (bad safetensors header, unknown manifest). */
  FORMAT_INVALID = 'MODEL_FORMAT_INVALID',
  /** Configuration values out of range (preset, rank, sampling parameters). */
  INVALID_ARGUMENT = 'MODEL_INVALID_ARGUMENT',
  /** A `--datanet` was given but the CLI has no resolver wired for Datanets. */
  DATANET_RESOLUTION_UNAVAILABLE = 'MODEL_DATANET_RESOLUTION_UNAVAILABLE',
}

export type ModelErrorType =
  | { code: ModelErrorCode.EMPTY_CORPUS }
  | { code: ModelErrorCode.CORPUS_TOO_SMALL; tokens: number; needed: number }
  | { code: ModelErrorCode.ADAPTER_SHAPE_MISMATCH; tensor: string; expected: number[]; actual: number[] }
  | { code: ModelErrorCode.FILE_CORRUPTED; file: string; expected?: string; actual?: string }
  | { code: ModelErrorCode.FILE_MISSING; file: string }
  | { code: ModelErrorCode.FILE_UNKNOWN; file: string }
  | { code: ModelErrorCode.FORMAT_INVALID; file: string; reason: string }
  | { code: ModelErrorCode.INVALID_ARGUMENT; argument: string; reason: string }
  | { code: ModelErrorCode.DATANET_RESOLUTION_UNAVAILABLE; datanet: string }

export class ModelError extends OpenLedgerError<ModelErrorType> {}
