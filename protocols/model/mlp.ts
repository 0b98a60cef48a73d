// The language model: a fixed-window MLP over the previous k tokens (Bengio et al. 2003):
//   x = concat(E[t-k], …, E[t-1]);  h = tanh(x·W1 + b1);  logits = h·W2 + b2
// and LoRA on both projections: Y = X·W + s·(X·A)·B with s = alpha / rank.
//
// Why this architecture and not a one-layer transformer: (1) it must train in under 30 s on two shared CPU
// cores in plain TypeScript, and per token it costs a constant k·d·H + H·V multiply-adds with no attention
// over the context, so almost all time goes into two dense matmuls that the kernels run at ~1 GMAC/s;
// (2) its backward pass is short enough to write and check by hand, which keeps training deterministic
// (no autograd, fixed summation order); (3) its ONNX graph needs only Gather, Reshape, MatMul, Mul, Add and
// Tanh from opset 13, which every runtime implements the same way, so the export matches the TypeScript
// forward pass to ~1e-6; (4) generation needs no KV cache: each step is one forward pass over a window.
// A transformer gives better perplexity per parameter at larger scale, which this preset cannot reach.

import { ModelError, ModelErrorCode } from './errors.ts'
import { matmul, matmulABt, matmulAtBAcc } from './kernels.ts'
import type { Prng } from './prng.ts'

export interface MlpConfig {
  vocabSize: number
  /** k: how many previous tokens the model sees. */
  contextSize: number
  /** d: embedding width per token. */
  embedDim: number
  /** H: hidden layer width. */
  hiddenSize: number
}

/** Base weights. Projection matrices are stored [in, out] (Y = X·W), row-major. */
export interface MlpWeights {
  embed: Float32Array // [V, d]
  hiddenW: Float32Array // [k·d, H]
  hiddenB: Float32Array // [H]
  outputW: Float32Array // [H, V]
  outputB: Float32Array // [V]
}

/** A LoRA adapter on both projections: A [in, r], B [r, out]. */
export interface LoraWeights {
  rank: number
  alpha: number
  hiddenA: Float32Array // [k·d, r]
  hiddenB: Float32Array // [r, H]
  outputA: Float32Array // [H, r]
  outputB: Float32Array // [r, V]
}

export const loraScale = (lora: LoraWeights): number => lora.alpha / lora.rank

export interface TensorSpec {
  name: string
  shape: number[]
}

/** Tensor names and shapes, shared by safetensors and the ONNX initializers. */
export function baseTensorSpecs(c: MlpConfig): Array<TensorSpec & { key: keyof MlpWeights }> {
  const kd = c.contextSize * c.embedDim
  return [
    { key: 'embed', name: 'embed.weight', shape: [c.vocabSize, c.embedDim] },
    { key: 'hiddenW', name: 'hidden.weight', shape: [kd, c.hiddenSize] },
    { key: 'hiddenB', name: 'hidden.bias', shape: [c.hiddenSize] },
    { key: 'outputW', name: 'output.weight', shape: [c.hiddenSize, c.vocabSize] },
    { key: 'outputB', name: 'output.bias', shape: [c.vocabSize] },
  ]
}

export function loraTensorSpecs(
  c: MlpConfig,
  rank: number,
): Array<TensorSpec & { key: 'hiddenA' | 'hiddenB' | 'outputA' | 'outputB' }> {
  const kd = c.contextSize * c.embedDim
  return [
    { key: 'hiddenA', name: 'hidden.lora_A', shape: [kd, rank] },
    { key: 'hiddenB', name: 'hidden.lora_B', shape: [rank, c.hiddenSize] },
    { key: 'outputA', name: 'output.lora_A', shape: [c.hiddenSize, rank] },
    { key: 'outputB', name: 'output.lora_B', shape: [rank, c.vocabSize] },
  ]
}

export function initWeights(c: MlpConfig, rng: Prng): MlpWeights {
  const kd = c.contextSize * c.embedDim
  const gaussian = (n: number, std: number): Float32Array => {
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = rng.nextGaussian() * std
    return a
  }
  return {
    embed: gaussian(c.vocabSize * c.embedDim, 0.3),
    hiddenW: gaussian(kd * c.hiddenSize, 1 / Math.sqrt(kd)),
    hiddenB: new Float32Array(c.hiddenSize),
    outputW: gaussian(c.hiddenSize * c.vocabSize, 0.3 / Math.sqrt(c.hiddenSize)),
    outputB: new Float32Array(c.vocabSize),
  }
}

/** LoRA initialisation: A Gaussian, B zero, so a fresh adapter starts exactly at the base model. */
export function initLora(c: MlpConfig, rank: number, alpha: number, rng: Prng): LoraWeights {
  const kd = c.contextSize * c.embedDim
  const gaussian = (n: number, std: number): Float32Array => {
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = rng.nextGaussian() * std
    return a
  }
  return {
    rank,
    alpha,
    hiddenA: gaussian(kd * rank, 1 / Math.sqrt(kd)),
    hiddenB: new Float32Array(rank * c.hiddenSize),
    outputA: gaussian(c.hiddenSize * rank, 1 / Math.sqrt(c.hiddenSize)),
    outputB: new Float32Array(rank * c.vocabSize),
  }
}

export function zeroLora(c: MlpConfig, rank = 1, alpha = 1): LoraWeights {
  const kd = c.contextSize * c.embedDim
  return {
    rank,
    alpha,
    hiddenA: new Float32Array(kd * rank),
    hiddenB: new Float32Array(rank * c.hiddenSize),
    outputA: new Float32Array(c.hiddenSize * rank),
    outputB: new Float32Array(rank * c.vocabSize),
  }
}

/** Activations of one batch, kept for the backward pass; reused across steps to avoid allocation. */
export class Activations {
  readonly n: number
  readonly contexts: Int32Array // [n, k]
  readonly x: Float32Array // [n, k·d]
  readonly h: Float32Array // [n, H]
  readonly logits: Float32Array // [n, V]
  readonly hiddenXA: Float32Array // [n, r] (LoRA)
  readonly outputHA: Float32Array // [n, r] (LoRA)
  readonly scratchH: Float32Array // [n, H]
  readonly scratchV: Float32Array // [n, V]

  constructor(c: MlpConfig, n: number, rank = 0) {
    this.n = n
    this.contexts = new Int32Array(n * c.contextSize)
    this.x = new Float32Array(n * c.contextSize * c.embedDim)
    this.h = new Float32Array(n * c.hiddenSize)
    this.logits = new Float32Array(n * c.vocabSize)
    this.hiddenXA = new Float32Array(n * rank)
    this.outputHA = new Float32Array(n * rank)
    this.scratchH = new Float32Array(n * c.hiddenSize)
    this.scratchV = new Float32Array(n * c.vocabSize)
  }
}

/** Y = X·W + s·(X·A)·B + b, in that order of operations (the ONNX graph adds in the same order). */
function projection(
  X: Float32Array,
  W: Float32Array,
  bias: Float32Array,
  Y: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
  lora: {
    A: Float32Array
    B: Float32Array
    rank: number
    scale: number
    XA: Float32Array
    tmp: Float32Array
  } | null,
): void {
  matmul(X, W, Y, n, inDim, outDim)
  if (lora !== null) {
    matmul(X, lora.A, lora.XA, n, inDim, lora.rank)
    matmul(lora.XA, lora.B, lora.tmp, n, lora.rank, outDim)
    const { tmp, scale } = lora
    const s = Math.fround(scale)
    for (let i = 0; i < n * outDim; i++) Y[i] = Math.fround(Y[i] + Math.fround(tmp[i] * s))
  }
  for (let i = 0; i < n; i++) {
    const o = i * outDim
    for (let j = 0; j < outDim; j++) Y[o + j] += bias[j]
  }
}

/** Forward pass over `act.n` contexts already written into `act.contexts`; leaves logits in `act.logits`. */
export function forward(
  c: MlpConfig,
  w: MlpWeights,
  act: Activations,
  lora: LoraWeights | null = null,
): void {
  const { n } = act
  const k = c.contextSize
  const d = c.embedDim
  const kd = k * d
  const H = c.hiddenSize
  const V = c.vocabSize
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const tok = act.contexts[i * k + t]
      act.x.set(w.embed.subarray(tok * d, tok * d + d), i * kd + t * d)
    }
  }
  const scale = lora ? loraScale(lora) : 0
  projection(
    act.x,
    w.hiddenW,
    w.hiddenB,
    act.h,
    n,
    kd,
    H,
    lora && { A: lora.hiddenA, B: lora.hiddenB, rank: lora.rank, scale, XA: act.hiddenXA, tmp: act.scratchH },
  )
  for (let i = 0; i < n * H; i++) act.h[i] = Math.tanh(act.h[i])
  projection(
    act.h,
    w.outputW,
    w.outputB,
    act.logits,
    n,
    H,
    V,
    lora && { A: lora.outputA, B: lora.outputB, rank: lora.rank, scale, XA: act.outputHA, tmp: act.scratchV },
  )
}

/**
 * Softmax cross-entropy of each row against its target. Writes dLoss/dlogits (mean over rows) into
 * `dLogits` and returns the summed negative log-likelihood (natural log), accumulated in row order.
 */
export function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  n: number,
  V: number,
  dLogits: Float32Array | null,
): number {
  let nll = 0
  for (let i = 0; i < n; i++) {
    const o = i * V
    let max = Number.NEGATIVE_INFINITY
    for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j]
    let sum = 0
    for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max)
    const logSum = Math.log(sum) + max
    nll += logSum - logits[o + targets[i]]
    if (dLogits !== null) {
      for (let j = 0; j < V; j++) dLogits[o + j] = Math.exp(logits[o + j] - logSum) / n
      dLogits[o + targets[i]] -= 1 / n
    }
  }
  return nll
}

export type MlpGrads = MlpWeights

export function zeroGrads(c: MlpConfig): MlpGrads {
  const kd = c.contextSize * c.embedDim
  return {
    embed: new Float32Array(c.vocabSize * c.embedDim),
    hiddenW: new Float32Array(kd * c.hiddenSize),
    hiddenB: new Float32Array(c.hiddenSize),
    outputW: new Float32Array(c.hiddenSize * c.vocabSize),
    outputB: new Float32Array(c.vocabSize),
  }
}

/** Backward pass of the base model (no adapter). `dLogits` is overwritten by nothing; grads accumulate. */
export function backwardBase(
  c: MlpConfig,
  w: MlpWeights,
  act: Activations,
  dLogits: Float32Array,
  g: MlpGrads,
): void {
  const { n } = act
  const k = c.contextSize
  const d = c.embedDim
  const kd = k * d
  const H = c.hiddenSize
  const V = c.vocabSize
  addRowSums(dLogits, g.outputB, n, V)
  matmulAtBAcc(act.h, dLogits, g.outputW, n, H, V)
  const dPre = act.scratchH
  matmulABt(dLogits, w.outputW, dPre, n, V, H, false)
  for (let i = 0; i < n * H; i++) dPre[i] *= 1 - act.h[i] * act.h[i]
  addRowSums(dPre, g.hiddenB, n, H)
  matmulAtBAcc(act.x, dPre, g.hiddenW, n, kd, H)
  const dx = act.x // x is not needed after its weight gradient: reuse its buffer for dL/dx
  matmulABt(dPre, w.hiddenW, dx, n, H, kd, false)
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const tok = act.contexts[i * k + t]
      const src = i * kd + t * d
      for (let j = 0; j < d; j++) g.embed[tok * d + j] += dx[src + j]
    }
  }
}

/** Backward pass into the adapter only; the base weights are frozen (read, never written). */
export function backwardLora(
  c: MlpConfig,
  w: MlpWeights,
  lora: LoraWeights,
  act: Activations,
  dLogits: Float32Array,
  g: LoraWeights,
): void {
  const { n } = act
  const kd = c.contextSize * c.embedDim
  const H = c.hiddenSize
  const V = c.vocabSize
  const r = lora.rank
  const s = loraScale(lora)
  const dU = new Float32Array(n * r)
  // output layer: U = h·A2; dB2 = s·Uᵀ·dY; dU = s·dY·B2ᵀ; dA2 = hᵀ·dU; dh = dY·W2ᵀ + dU·A2ᵀ
  loraGrads(act.h, act.outputHA, dLogits, lora.outputA, lora.outputB, g.outputA, g.outputB, dU, n, H, V, r, s)
  const dPre = act.scratchH
  matmulABt(dLogits, w.outputW, dPre, n, V, H, false)
  matmulABt(dU, lora.outputA, dPre, n, r, H, true)
  for (let i = 0; i < n * H; i++) dPre[i] *= 1 - act.h[i] * act.h[i]
  loraGrads(act.x, act.hiddenXA, dPre, lora.hiddenA, lora.hiddenB, g.hiddenA, g.hiddenB, dU, n, kd, H, r, s)
}

function loraGrads(
  X: Float32Array,
  U: Float32Array,
  dY: Float32Array,
  _A: Float32Array,
  B: Float32Array,
  gA: Float32Array,
  gB: Float32Array,
  dU: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
  r: number,
  s: number,
): void {
  const sU = new Float32Array(n * r)
  for (let i = 0; i < n * r; i++) sU[i] = U[i] * s
  matmulAtBAcc(sU, dY, gB, n, r, outDim)
  matmulABt(dY, B, dU, n, outDim, r, false)
  for (let i = 0; i < n * r; i++) dU[i] *= s
  matmulAtBAcc(X, dU, gA, n, inDim, r)
}

function addRowSums(D: Float32Array, out: Float32Array, n: number, m: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * m
    for (let j = 0; j < m; j++) out[j] += D[o + j]
  }
}

/** Throws ADAPTER_SHAPE_MISMATCH unless every adapter tensor has the shape this base needs. */
export function assertAdapterFits(c: MlpConfig, lora: LoraWeights): void {
  for (const spec of loraTensorSpecs(c, lora.rank)) {
    const size = spec.shape.reduce((a, b) => a * b, 1)
    const actual = lora[spec.key]
    if (actual.length !== size) {
      throw new AdapterShapeError(spec.name, spec.shape, actual.length)
    }
  }
}

class AdapterShapeError extends ModelError {
  constructor(tensor: string, expected: number[], actualSize: number) {
    super(
      { code: ModelErrorCode.ADAPTER_SHAPE_MISMATCH, tensor, expected, actual: [actualSize] },
      `adapter tensor ${tensor} holds ${actualSize} values but the base model needs shape [${expected}]`,
    )
  }
}
