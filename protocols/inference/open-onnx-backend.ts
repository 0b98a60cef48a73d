// The `onnx` backend for a model folder of either layout: the project's own (protocols/model, verified by
// its manifest, adapters as graph inputs) through OnnxBackend, or Hugging Face's (config.json,
// tokenizer.json, onnx/model.onnx from optimum) through HfBackend. Meant as the one way the node opens a
// served `onnx` model folder, so that its config needs no layout switch.
import type { DataType } from '@huggingface/transformers'
import { inferenceError } from './errors.ts'
import { HfBackend, isHuggingFaceLayout } from './hf-backend.ts'
import { OnnxBackend, type OnnxBackendOptions } from './onnx-backend.ts'

export interface OpenOnnxBackendOptions extends OnnxBackendOptions {
  /** Hugging Face layout only: which export under DIR/onnx (default fp32, model.onnx) */
  dtype?: DataType
}

/**
 * Opens DIR with the backend its layout needs. Adapters (`adapters`, `adapterLoader`, pinned or preloaded
 * ones) are refused for a Hugging Face-layout folder rather than ignored: that backend serves none.
 */
export async function openOnnxBackend(options: OpenOnnxBackendOptions): Promise<OnnxBackend | HfBackend> {
  if (!isHuggingFaceLayout(options.dir)) {
    const { dtype: _dtype, ...rest } = options
    return OnnxBackend.create(rest)
  }
  const cache = options.adapterCache
  const asksForAdapters =
    (options.adapters?.length ?? 0) > 0 ||
    options.adapterLoader !== undefined ||
    (cache?.pinned?.length ?? 0) > 0 ||
    (cache?.preload?.length ?? 0) > 0
  if (asksForAdapters)
    throw inferenceError(
      'INVALID_REQUEST',
      `${options.dir} is a Hugging Face-layout model: adapters are not served for it (its ONNX export has no adapter inputs)`,
      { field: 'adapters' },
    )
  return HfBackend.create({
    modelId: options.modelId,
    dir: options.dir,
    dtype: options.dtype,
    executionProvider: options.executionProvider,
    cudaDeviceId: options.cudaDeviceId,
    intraOpNumThreads: options.intraOpNumThreads,
    limits: options.limits,
    drainTimeoutMs: options.drainTimeoutMs,
    log: options.log,
  })
}
