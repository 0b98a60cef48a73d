// The model factory: tokenizer, training, LoRA adapters, ONNX export, the model folder, generation.
export { ADAPTER_DEFAULTS, FILES, PRESETS, type PresetName } from './constants.ts'
export { ModelError, ModelErrorCode, type ModelErrorType } from './errors.ts'
export {
  type AdapterConfig,
  cidOf,
  type LoadedAdapter,
  type LoadedModel,
  loadAdapter,
  loadModel,
  type ModelManifest,
  readManifest,
  resolveAdapterDir,
  saveAdapter,
  saveModel,
} from './folder.ts'
export {
  type GenerateOptions,
  type GenerateResult,
  generateWith,
  type LogitsFn,
  OnnxLanguageModel,
  sampleToken,
  tsLogitsFn,
} from './generate.ts'
export {
  Activations,
  assertAdapterFits,
  forward,
  type LoraWeights,
  type MlpConfig,
  type MlpWeights,
  zeroLora,
} from './mlp.ts'
export { adapterFeeds, exportOnnx, ONNX_IO, type OnnxExportOptions } from './onnx.ts'
export { Prng } from './prng.ts'
export { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.ts'
export { END_OF_TEXT, Tokenizer } from './tokenizer.ts'
export {
  type AdaptMetrics,
  type AdaptOptions,
  type DatanetRef,
  type ModelDocument,
  perplexity,
  splitHoldout,
  type TrainedModel,
  type TrainingProgress,
  type TrainMetrics,
  type TrainOptions,
  tokenStream,
  trainAdapter,
  trainModel,
  unigramPerplexity,
} from './train.ts'
