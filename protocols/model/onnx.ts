// A small ONNX ModelProto writer (IR version 8, opset 13, weights as raw_data initializers), protobuf
// encoded by hand: the subset of onnx.proto this model needs is a dozen fields, smaller than a codegen step.
//
// The LoRA adapter enters as graph inputs (A and B of each projection, and the scale), so one loaded
// session serves every adapter: Y = X·W + s·(X·A)·B + b. The base alone is a zero adapter (B = 0 makes the
// LoRA term exactly zero, so the logits are bit-identical to the base's).
import { baseTensorSpecs, type LoraWeights, type MlpConfig, type MlpWeights } from './mlp.ts'

const IR_VERSION = 8
const OPSET = 13
const FLOAT = 1
const INT64 = 7

/** Graph input and output names, the contract between the exporter and every runtime that loads it. */
export const ONNX_IO = {
  inputIds: 'input_ids',
  logits: 'logits',
  hiddenA: 'hidden.lora_A',
  hiddenB: 'hidden.lora_B',
  outputA: 'output.lora_A',
  outputB: 'output.lora_B',
  scale: 'lora_scale',
} as const

class Writer {
  private chunks: number[] = []

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v))
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80)
      x >>= 7n
    }
    this.chunks.push(Number(x))
    return this
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire)
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v)
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length)
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i])
    return this
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s))
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    return this.bytes(field, inner.finish())
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks)
  }
}

interface Tensor {
  name: string
  dims: number[]
  type: typeof FLOAT | typeof INT64
  raw: Uint8Array
}

function floatTensor(name: string, dims: number[], data: Float32Array): Tensor {
  const raw = new Uint8Array(data.length * 4)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true)
  return { name, dims, type: FLOAT, raw }
}

function int64Tensor(name: string, values: number[]): Tensor {
  const raw = new Uint8Array(values.length * 8)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < values.length; i++) view.setBigInt64(8 * i, BigInt(values[i]), true)
  return { name, dims: [values.length], type: INT64, raw }
}

interface Node {
  op: string
  inputs: string[]
  outputs: string[]
  attrs?: Array<{ name: string; int: number }>
}

type Dim = number | string

interface ValueInfo {
  name: string
  type: typeof FLOAT | typeof INT64
  dims: Dim[]
}

function writeTensor(w: Writer, t: Tensor): void {
  for (const d of t.dims) w.int(1, d) // dims
  w.int(2, t.type) // data_type
  w.string(8, t.name) // name
  w.bytes(9, t.raw) // raw_data
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name)
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, v.type)
      tensorType.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)))
        }
      })
    }),
  )
}

function writeNode(w: Writer, n: Node, index: number): void {
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, `${n.op}_${index}`)
  w.string(4, n.op)
  for (const a of n.attrs ?? []) {
    w.message(5, (attr) => {
      attr.string(1, a.name)
      attr.int(3, a.int)
      attr.int(20, 2) // AttributeType INT
    })
  }
}

export interface OnnxExportOptions {
  /** Adapter inputs in the graph (the default). Without them the graph is the bare base model. */
  adapterInputs?: boolean
  producerVersion?: string
}

/** Encodes the model as an ONNX ModelProto: input_ids int64 [batch, k] → logits float [batch, V]. */
export function exportOnnx(config: MlpConfig, weights: MlpWeights, opts: OnnxExportOptions = {}): Uint8Array {
  const withAdapter = opts.adapterInputs ?? true
  const k = config.contextSize
  const kd = k * config.embedDim
  const initializers: Tensor[] = baseTensorSpecs(config).map((s) =>
    floatTensor(s.name, s.shape, weights[s.key]),
  )
  initializers.push(int64Tensor('flat_shape', [-1, kd]))
  const nodes: Node[] = [
    {
      op: 'Gather',
      inputs: ['embed.weight', ONNX_IO.inputIds],
      outputs: ['embedded'],
      attrs: [{ name: 'axis', int: 0 }],
    },
    { op: 'Reshape', inputs: ['embedded', 'flat_shape'], outputs: ['x'] },
  ]
  const projection = (prefix: 'hidden' | 'output', input: string, output: string): void => {
    nodes.push({ op: 'MatMul', inputs: [input, `${prefix}.weight`], outputs: [`${prefix}.xw`] })
    let sum = `${prefix}.xw`
    if (withAdapter) {
      nodes.push(
        { op: 'MatMul', inputs: [input, `${prefix}.lora_A`], outputs: [`${prefix}.xa`] },
        { op: 'MatMul', inputs: [`${prefix}.xa`, `${prefix}.lora_B`], outputs: [`${prefix}.xab`] },
        { op: 'Mul', inputs: [`${prefix}.xab`, ONNX_IO.scale], outputs: [`${prefix}.lora`] },
        { op: 'Add', inputs: [`${prefix}.xw`, `${prefix}.lora`], outputs: [`${prefix}.adapted`] },
      )
      sum = `${prefix}.adapted`
    }
    nodes.push({ op: 'Add', inputs: [sum, `${prefix}.bias`], outputs: [output] })
  }
  projection('hidden', 'x', 'hidden.pre')
  nodes.push({ op: 'Tanh', inputs: ['hidden.pre'], outputs: ['h'] })
  projection('output', 'h', ONNX_IO.logits)

  const inputs: ValueInfo[] = [{ name: ONNX_IO.inputIds, type: INT64, dims: ['batch', k] }]
  if (withAdapter) {
    inputs.push(
      { name: ONNX_IO.hiddenA, type: FLOAT, dims: [kd, 'rank'] },
      { name: ONNX_IO.hiddenB, type: FLOAT, dims: ['rank', config.hiddenSize] },
      { name: ONNX_IO.outputA, type: FLOAT, dims: [config.hiddenSize, 'rank'] },
      { name: ONNX_IO.outputB, type: FLOAT, dims: ['rank', config.vocabSize] },
      { name: ONNX_IO.scale, type: FLOAT, dims: [1] },
    )
  }
  const model = new Writer()
  model.int(1, IR_VERSION) // ir_version
  model.string(2, 'openledger') // producer_name
  model.string(3, opts.producerVersion ?? '0.1.0') // producer_version
  model.message(7, (graph) => {
    for (let i = 0; i < nodes.length; i++) graph.message(1, (w) => writeNode(w, nodes[i], i))
    graph.string(2, 'openledger_mlp_lm')
    for (const t of initializers) graph.message(5, (w) => writeTensor(w, t))
    for (const v of inputs) graph.message(11, (w) => writeValueInfo(w, v))
    graph.message(12, (w) =>
      writeValueInfo(w, { name: ONNX_IO.logits, type: FLOAT, dims: ['batch', config.vocabSize] }),
    )
  })
  model.message(8, (opset) => {
    opset.string(1, '')
    opset.int(2, OPSET)
  })
  return model.finish()
}

/** The adapter as graph-input tensors (name → [shape, data]); a zero rank-1 adapter stands for the base. */
export function adapterFeeds(
  config: MlpConfig,
  lora: LoraWeights,
): Record<string, { dims: number[]; data: Float32Array }> {
  const kd = config.contextSize * config.embedDim
  const r = lora.rank
  return {
    [ONNX_IO.hiddenA]: { dims: [kd, r], data: lora.hiddenA },
    [ONNX_IO.hiddenB]: { dims: [r, config.hiddenSize], data: lora.hiddenB },
    [ONNX_IO.outputA]: { dims: [config.hiddenSize, r], data: lora.outputA },
    [ONNX_IO.outputB]: { dims: [r, config.vocabSize], data: lora.outputB },
    [ONNX_IO.scale]: { dims: [1], data: Float32Array.of(lora.alpha / lora.rank) },
  }
}
