import type { MlpConfig } from './mlp.ts'

export interface Preset {
  vocabSize: number
  model: Omit<MlpConfig, 'vocabSize'>
  steps: number
  batchSize: number
  learningRate: number
  /** Characters of training text kept (from the start); 0 keeps all. Bounds tokenizer and batch time. */
  maxTrainChars: number
}

/**
 * `tiny` trains in well under 30 s on two shared cores (measured in the README) and is what tests use;
 * `small` is the same architecture, wider, for a few minutes of training.
 */
export const PRESETS: Record<'tiny' | 'small', Preset> = {
  tiny: {
    vocabSize: 512,
    model: { contextSize: 8, embedDim: 24, hiddenSize: 160 },
    steps: 1200,
    batchSize: 32,
    learningRate: 1e-2,
    maxTrainChars: 0,
  },
  small: {
    vocabSize: 1024,
    model: { contextSize: 12, embedDim: 48, hiddenSize: 384 },
    steps: 4000,
    batchSize: 64,
    learningRate: 2e-3,
    maxTrainChars: 0,
  },
}

export type PresetName = keyof typeof PRESETS

export const ADAPTER_DEFAULTS = { rank: 8, alpha: 16, steps: 300, batchSize: 64, learningRate: 1e-2 }

/** Fraction of the corpus (its tail, cut at a line break) held out for validation perplexity. */
export const HOLDOUT_FRACTION = 0.1

/** File names inside a model folder (Hugging Face layout plus our manifest). */
export const FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  onnx: 'model.onnx',
  weights: 'model.safetensors',
  manifest: 'openledger.json',
  adapters: 'adapters',
  adapterWeights: 'adapter_model.safetensors',
  adapterConfig: 'adapter_config.json',
} as const

export const MANIFEST_FORMAT = 'openledger-model/1'
export const MODEL_TYPE = 'openledger-mlp-lm'
