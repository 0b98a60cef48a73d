// A tiny random-weight GPT-2 in Hugging Face layout, written into a temporary folder the way Hugging Face's
// own tests use tiny-random models (no public model can be downloaded here): config.json (model_type gpt2),
// a byte-level BPE tokenizer.json (the 256 byte tokens, a few merges, <|endoftext|>), tokenizer_config.json,
// generation_config.json, and onnx/model.onnx, a one-layer GPT-2 block with optimum's KV-cache interface:
//   inputs  input_ids, attention_mask, position_ids            int64
//           past_key_values.0.key / .value                     float [batch, heads, past, headDim]
//   outputs logits [batch, seq, vocab], present.0.key / .value float [batch, heads, past + seq, headDim]
// Weights come from a seeded PRNG, so the same options write the same bytes. The graph is encoded with
// protobufjs from the subset of onnx.proto it needs (opset 17 for LayerNormalization).
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { Prng } from '../../model/index.ts'

export interface TinyGpt2Options {
  seed?: number
  /** positions the model has (config n_positions); generation cannot go past them */
  nPositions?: number
  /**
   * From this position on, <|endoftext|> dominates the logits (a dedicated residual dimension carries the
   * position), so greedy decoding ends with end-of-text there; before it, end-of-text is strongly
   * suppressed. null: end-of-text is just another random logit.
   */
  endOfTextFrom?: number | null
}

export interface TinyGpt2 {
  dir: string
  vocabSize: number
  endOfTextId: number
  nPositions: number
  endOfTextFrom: number | null
}

const EMBED = 32
const HEADS = 2
const HEAD_DIM = EMBED / HEADS
const INNER = 4 * EMBED
const EOT = '<|endoftext|>'

/** Merges of the tiny vocabulary, in the byte-level alphabet (Ġ is the space byte). */
const MERGES = ['Ġ t', 'h e', 'Ġt he', 'Ġ a', 'i n', 'e r', 'o n', 'r e', 'Ġ s', 'a n', 'e n', 'o r']

/** GPT-2's reversible byte → printable character map; GPT-2's ids 0..255 follow this order. */
function byteAlphabet(): string[] {
  const bs: number[] = []
  for (let b = 33; b <= 126; b++) bs.push(b)
  for (let b = 161; b <= 172; b++) bs.push(b)
  for (let b = 174; b <= 255; b++) bs.push(b)
  const cs = [...bs]
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b)
      cs.push(256 + n++)
    }
  }
  return cs.map((c) => String.fromCharCode(c))
}

/** The id of the byte token of an ASCII character. */
function byteTokenId(ch: string): number {
  return byteAlphabet().indexOf(ch === ' ' ? 'Ġ' : ch)
}

function tokenizerJson(): { json: object; vocabSize: number; endOfTextId: number } {
  const vocab: Record<string, number> = {}
  for (const ch of byteAlphabet()) vocab[ch] = Object.keys(vocab).length
  for (const m of MERGES) vocab[m.replace(' ', '')] = Object.keys(vocab).length
  const endOfTextId = Object.keys(vocab).length
  vocab[EOT] = endOfTextId
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  return {
    json: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        {
          id: endOfTextId,
          content: EOT,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: true,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges: MERGES,
      },
    },
    vocabSize: endOfTextId + 1,
    endOfTextId,
  }
}

// The subset of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) that the graph uses, same field numbers.
const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  repeated int64 ints = 8;
  optional int32 type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
`

const FLOAT = 1
const INT64 = 7
const BOOL = 9
const ATTR_FLOAT = 1
const ATTR_INT = 2
const ATTR_INTS = 7

type Attr = number | number[] | { float: number }

/** Builds nodes and initializers with generated value names. */
class Graph {
  readonly nodes: object[] = []
  readonly initializers: object[] = []
  private count = 0

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[]): string {
    const outs = outputs ?? [`${type.toLowerCase()}_${this.count}`]
    const attribute = Object.entries(attrs).map(([name, v]) =>
      typeof v === 'number'
        ? { name, i: v, type: ATTR_INT }
        : Array.isArray(v)
          ? { name, ints: v, type: ATTR_INTS }
          : { name, f: v.float, type: ATTR_FLOAT },
    )
    this.nodes.push({
      input: inputs,
      output: outs,
      name: `${type}_${this.count++}`,
      op_type: type,
      attribute,
    })
    return outs[0]
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: raw })
    return name
  }

  int64s(name: string, dims: number[], values: number[]): string {
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer)
    this.initializers.push({ name, dims, data_type: INT64, raw_data: raw })
    return name
  }
}

function valueInfo(name: string, elemType: number, dims: Array<number | string>): object {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  }
}

function modelOnnx(vocabSize: number, opts: Required<TinyGpt2Options>, endOfTextId: number): Uint8Array {
  const rng = new Prng(opts.seed)
  const normal = (n: number, std: number) => Float32Array.from({ length: n }, () => std * rng.nextGaussian())
  const ones = (n: number) => new Float32Array(n).fill(1)
  const g = new Graph()
  const P = opts.nPositions

  const wte = normal(vocabSize * EMBED, 1)
  const wpe = normal(P * EMBED, 0.5)
  const lmHead = normal(EMBED * vocabSize, 1) // [EMBED, vocab]: logits = h · lmHead
  // residual dimension 1 is constant and favours letters, the space and the merges: readable-ish text
  const readable = new Set([...' abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].map(byteTokenId))
  for (let v = 0; v < vocabSize; v++) wte[v * EMBED + 1] = 0
  for (let p = 0; p < P; p++) wpe[p * EMBED + 1] = 6
  for (let v = 0; v < vocabSize; v++)
    lmHead[vocabSize + v] = readable.has(v) || (v >= 256 && v !== endOfTextId) ? 2 : 0
  if (opts.endOfTextFrom !== null) {
    // residual dimension 0 carries "past endOfTextFrom", and only end-of-text reads it
    for (let v = 0; v < vocabSize; v++) wte[v * EMBED] = 0
    for (let p = 0; p < P; p++) wpe[p * EMBED] = p >= opts.endOfTextFrom ? 60 : -8
    for (let v = 0; v < vocabSize; v++) lmHead[v] = v === endOfTextId ? 12 : 0
  }

  const layerNorm = (x: string, prefix: string) =>
    g.op(
      'LayerNormalization',
      [
        x,
        g.floats(`${prefix}.weight`, [EMBED], ones(EMBED)),
        g.floats(`${prefix}.bias`, [EMBED], new Float32Array(EMBED)),
      ],
      {
        axis: -1,
        epsilon: { float: 1e-5 },
      },
    )
  const linear = (x: string, prefix: string, nIn: number, nOut: number) =>
    g.op('Add', [
      g.op('MatMul', [x, g.floats(`${prefix}.weight`, [nIn, nOut], normal(nIn * nOut, 0.2))]),
      g.floats(`${prefix}.bias`, [nOut], normal(nOut, 0.02)),
    ])
  const scalar = (name: string, v: number) => g.floats(name, [], Float32Array.of(v))

  const x = g.op('Add', [
    g.op('Gather', [g.floats('wte', [vocabSize, EMBED], wte), 'input_ids'], { axis: 0 }),
    g.op('Gather', [g.floats('wpe', [P, EMBED], wpe), 'position_ids'], { axis: 0 }),
  ])

  // attention over the cache and the new positions
  const qkv = linear(layerNorm(x, 'h.0.ln_1'), 'h.0.attn.c_attn', EMBED, 3 * EMBED)
  const splitSizes = g.int64s('split_sizes', [3], [EMBED, EMBED, EMBED])
  g.op('Split', [qkv, splitSizes], { axis: 2 }, ['q', 'k', 'v'])
  const headsShape = g.int64s('heads_shape', [4], [0, 0, HEADS, HEAD_DIM])
  const heads = (t: string) => g.op('Transpose', [g.op('Reshape', [t, headsShape])], { perm: [0, 2, 1, 3] })
  const q = heads('q')
  const key = g.op('Concat', ['past_key_values.0.key', heads('k')], { axis: 2 }, ['present.0.key'])
  const value = g.op('Concat', ['past_key_values.0.value', heads('v')], { axis: 2 }, ['present.0.value'])
  const scores = g.op('Mul', [
    g.op('MatMul', [q, g.op('Transpose', [key], { perm: [0, 1, 3, 2] })]),
    scalar('attn_scale', 1 / Math.sqrt(HEAD_DIM)),
  ])
  // key j is visible to query i (absolute position total - seq + i) when j <= that position and the mask is 1
  const two = g.int64s('index_2', [], [2])
  const total = g.op('Gather', [g.op('Shape', [key]), two], { axis: 0 })
  const seq = g.op('Gather', [g.op('Shape', [q]), two], { axis: 0 })
  const zero = g.int64s('zero', [], [0])
  const one = g.int64s('one', [], [1])
  const keyPos = g.op('Unsqueeze', [g.op('Range', [zero, total, one]), g.int64s('axes_0', [1], [0])])
  const queryPos = g.op('Unsqueeze', [
    g.op('Range', [g.op('Sub', [total, seq]), total, one]),
    g.int64s('axes_1', [1], [1]),
  ])
  const causal = g.op('LessOrEqual', [keyPos, queryPos])
  const padding = g.op('Unsqueeze', [
    g.op('Cast', ['attention_mask'], { to: BOOL }),
    g.int64s('axes_1_2', [2], [1, 2]),
  ])
  const visible = g.op('And', [causal, padding])
  const probs = g.op('Softmax', [g.op('Where', [visible, scores, scalar('masked', -1e9)])], { axis: -1 })
  const context = g.op('Reshape', [
    g.op('Transpose', [g.op('MatMul', [probs, value])], { perm: [0, 2, 1, 3] }),
    g.int64s('merge_shape', [3], [0, 0, EMBED]),
  ])
  const x2 = g.op('Add', [x, linear(context, 'h.0.attn.c_proj', EMBED, EMBED)])

  // MLP with exact GELU: 0.5 · f · (1 + erf(f / √2))
  const f = linear(layerNorm(x2, 'h.0.ln_2'), 'h.0.mlp.c_fc', EMBED, INNER)
  const gelu = g.op('Mul', [
    g.op('Mul', [f, scalar('half', 0.5)]),
    g.op('Add', [g.op('Erf', [g.op('Mul', [f, scalar('inv_sqrt2', Math.SQRT1_2)])]), scalar('one_f', 1)]),
  ])
  const x3 = g.op('Add', [x2, linear(gelu, 'h.0.mlp.c_proj', INNER, EMBED)])
  g.op('MatMul', [layerNorm(x3, 'ln_f'), g.floats('lm_head', [EMBED, vocabSize], lmHead)], {}, ['logits'])

  const kv = ['batch_size', HEADS, 'past_sequence_length', HEAD_DIM]
  const kvOut = ['batch_size', HEADS, 'total_sequence_length', HEAD_DIM]
  const model = {
    ir_version: 8,
    producer_name: 'openledger-test-tiny-gpt2',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny_gpt2',
      node: g.nodes,
      initializer: g.initializers,
      input: [
        valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']),
        valueInfo('attention_mask', INT64, ['batch_size', 'total_sequence_length']),
        valueInfo('position_ids', INT64, ['batch_size', 'sequence_length']),
        valueInfo('past_key_values.0.key', FLOAT, kv),
        valueInfo('past_key_values.0.value', FLOAT, kv),
      ],
      output: [
        valueInfo('logits', FLOAT, ['batch_size', 'sequence_length', vocabSize]),
        valueInfo('present.0.key', FLOAT, kvOut),
        valueInfo('present.0.value', FLOAT, kvOut),
      ],
    },
  }
  const ModelProto = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto')
  return ModelProto.encode(ModelProto.fromObject(model)).finish()
}

/** Writes the model folder into `dir` (created if missing). */
export async function writeTinyGpt2(dir: string, options: TinyGpt2Options = {}): Promise<TinyGpt2> {
  const opts: Required<TinyGpt2Options> = {
    seed: options.seed ?? 1,
    nPositions: options.nPositions ?? 64,
    endOfTextFrom: options.endOfTextFrom === undefined ? 48 : options.endOfTextFrom,
  }
  const { json, vocabSize, endOfTextId } = tokenizerJson()
  await mkdir(join(dir, 'onnx'), { recursive: true })
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: vocabSize,
    n_positions: opts.nPositions,
    n_ctx: opts.nPositions,
    n_embd: EMBED,
    n_head: HEADS,
    n_layer: 1,
    n_inner: INNER,
    activation_function: 'gelu',
    layer_norm_epsilon: 1e-5,
    bos_token_id: endOfTextId,
    eos_token_id: endOfTextId,
    use_cache: true,
  }
  const tokenizerConfig = {
    tokenizer_class: 'GPT2Tokenizer',
    bos_token: EOT,
    eos_token: EOT,
    unk_token: EOT,
    add_prefix_space: false,
    model_max_length: opts.nPositions,
  }
  const generationConfig = { bos_token_id: endOfTextId, eos_token_id: endOfTextId }
  const write = (name: string, value: object) =>
    writeFile(join(dir, name), `${JSON.stringify(value, null, 2)}\n`)
  await write('config.json', config)
  await write('tokenizer.json', json)
  await write('tokenizer_config.json', tokenizerConfig)
  await write('generation_config.json', generationConfig)
  await writeFile(join(dir, 'onnx', 'model.onnx'), modelOnnx(vocabSize, opts, endOfTextId))
  return { dir, vocabSize, endOfTextId, nPositions: opts.nPositions, endOfTextFrom: opts.endOfTextFrom }
}

const written = new Map<string, Promise<TinyGpt2>>()

/** The model for these options, written once per process into a temporary folder removed at exit. */
export function tinyGpt2(options: TinyGpt2Options = {}): Promise<TinyGpt2> {
  const key = JSON.stringify(options)
  let model = written.get(key)
  if (!model) {
    model = mkdtemp(join(tmpdir(), 'openledger-tiny-gpt2-')).then((dir) => {
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
      return writeTinyGpt2(dir, options)
    })
    written.set(key, model)
  }
  return model
}
