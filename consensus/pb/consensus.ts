import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Spend {
  client: Uint8Array<ArrayBuffer>
  spent: Uint8Array<ArrayBuffer>
}

export namespace Spend {
  let _codec: Codec<Spend>

  export const codec = (): Codec<Spend> => {
    if (_codec == null) {
      _codec = message<Spend>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.client != null && obj.client.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.client)
        }

        if ((obj.spent != null && obj.spent.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.spent)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          client: uint8ArrayAlloc(0),
          spent: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.client = reader.bytes()
              break
            }
            case 2: {
              obj.spent = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.client`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.spent`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SpendClientFieldEvent {
    field: '$.client'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SpendSpentFieldEvent {
    field: '$.spent'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Spend>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Spend.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Spend>): Spend {
    return decodeMessage(buf, Spend.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Spend>): Generator<SpendClientFieldEvent | SpendSpentFieldEvent> {
    return streamMessage(buf, Spend.codec(), opts)
  }
}

export interface FeeSplit {
  node: number
  modelOwner: number
  adapterOwner: number
  contributors: number
  validators: number
  treasury: number
}

export namespace FeeSplit {
  let _codec: Codec<FeeSplit>

  export const codec = (): Codec<FeeSplit> => {
    if (_codec == null) {
      _codec = message<FeeSplit>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.node != null && obj.node !== 0)) {
          w.uint32(8)
          w.uint32(obj.node)
        }

        if ((obj.modelOwner != null && obj.modelOwner !== 0)) {
          w.uint32(16)
          w.uint32(obj.modelOwner)
        }

        if ((obj.adapterOwner != null && obj.adapterOwner !== 0)) {
          w.uint32(24)
          w.uint32(obj.adapterOwner)
        }

        if ((obj.contributors != null && obj.contributors !== 0)) {
          w.uint32(32)
          w.uint32(obj.contributors)
        }

        if ((obj.validators != null && obj.validators !== 0)) {
          w.uint32(40)
          w.uint32(obj.validators)
        }

        if ((obj.treasury != null && obj.treasury !== 0)) {
          w.uint32(48)
          w.uint32(obj.treasury)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          node: 0,
          modelOwner: 0,
          adapterOwner: 0,
          contributors: 0,
          validators: 0,
          treasury: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.node = reader.uint32()
              break
            }
            case 2: {
              obj.modelOwner = reader.uint32()
              break
            }
            case 3: {
              obj.adapterOwner = reader.uint32()
              break
            }
            case 4: {
              obj.contributors = reader.uint32()
              break
            }
            case 5: {
              obj.validators = reader.uint32()
              break
            }
            case 6: {
              obj.treasury = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.node`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.modelOwner`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.adapterOwner`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.contributors`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.validators`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.treasury`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FeeSplitNodeFieldEvent {
    field: '$.node'
    value: number
  }

  export interface FeeSplitModelOwnerFieldEvent {
    field: '$.modelOwner'
    value: number
  }

  export interface FeeSplitAdapterOwnerFieldEvent {
    field: '$.adapterOwner'
    value: number
  }

  export interface FeeSplitContributorsFieldEvent {
    field: '$.contributors'
    value: number
  }

  export interface FeeSplitValidatorsFieldEvent {
    field: '$.validators'
    value: number
  }

  export interface FeeSplitTreasuryFieldEvent {
    field: '$.treasury'
    value: number
  }

  export function encode (obj: Partial<FeeSplit>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FeeSplit.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FeeSplit>): FeeSplit {
    return decodeMessage(buf, FeeSplit.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FeeSplit>): Generator<FeeSplitNodeFieldEvent | FeeSplitModelOwnerFieldEvent | FeeSplitAdapterOwnerFieldEvent | FeeSplitContributorsFieldEvent | FeeSplitValidatorsFieldEvent | FeeSplitTreasuryFieldEvent> {
    return streamMessage(buf, FeeSplit.codec(), opts)
  }
}

export interface Checkpoint {
  epoch: bigint
  round: number
  parentRoot: Uint8Array<ArrayBuffer>
  stateRoot: Uint8Array<ArrayBuffer>
  receiptsRoot: Uint8Array<ArrayBuffer>
  receiptsCid: string
  validatorSetHash: Uint8Array<ArrayBuffer>
  feeSplit?: FeeSplit
  totalEarned: Uint8Array<ArrayBuffer>
  totals: Spend[]
}

export namespace Checkpoint {
  let _codec: Codec<Checkpoint>

  export const codec = (): Codec<Checkpoint> => {
    if (_codec == null) {
      _codec = message<Checkpoint>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.epoch != null && obj.epoch !== 0n)) {
          w.uint32(8)
          w.uint64(obj.epoch)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(16)
          w.uint32(obj.round)
        }

        if ((obj.parentRoot != null && obj.parentRoot.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.parentRoot)
        }

        if ((obj.stateRoot != null && obj.stateRoot.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.stateRoot)
        }

        if ((obj.receiptsRoot != null && obj.receiptsRoot.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.receiptsRoot)
        }

        if ((obj.receiptsCid != null && obj.receiptsCid !== '')) {
          w.uint32(50)
          w.string(obj.receiptsCid)
        }

        if ((obj.validatorSetHash != null && obj.validatorSetHash.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.validatorSetHash)
        }

        if (obj.feeSplit != null) {
          w.uint32(66)
          FeeSplit.codec().encode(obj.feeSplit, w)
        }

        if ((obj.totalEarned != null && obj.totalEarned.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.totalEarned)
        }

        if (obj.totals != null && obj.totals.length > 0) {
          for (const value of obj.totals) {
            w.uint32(82)
            Spend.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          epoch: 0n,
          round: 0,
          parentRoot: uint8ArrayAlloc(0),
          stateRoot: uint8ArrayAlloc(0),
          receiptsRoot: uint8ArrayAlloc(0),
          receiptsCid: '',
          validatorSetHash: uint8ArrayAlloc(0),
          totalEarned: uint8ArrayAlloc(0),
          totals: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.epoch = reader.uint64()
              break
            }
            case 2: {
              obj.round = reader.uint32()
              break
            }
            case 3: {
              obj.parentRoot = reader.bytes()
              break
            }
            case 4: {
              obj.stateRoot = reader.bytes()
              break
            }
            case 5: {
              obj.receiptsRoot = reader.bytes()
              break
            }
            case 6: {
              obj.receiptsCid = reader.string()
              break
            }
            case 7: {
              obj.validatorSetHash = reader.bytes()
              break
            }
            case 8: {
              obj.feeSplit = FeeSplit.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.feeSplit
              })
              break
            }
            case 9: {
              obj.totalEarned = reader.bytes()
              break
            }
            case 10: {
              if (opts.limits?.totals != null && obj.totals.length === opts.limits.totals) {
                throw new MaxLengthError('Decode error - repeated field "totals" had too many elements')
              }

              obj.totals.push(Spend.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.totals$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          totals: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.epoch`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.parentRoot`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.stateRoot`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.receiptsRoot`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.receiptsCid`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.validatorSetHash`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield * FeeSplit.codec().stream(reader, reader.uint32(), `${prefix}.feeSplit`, {
                limits: opts.limits?.feeSplit
              })

              break
            }
            case 9: {
              yield {
                field: `${prefix}.totalEarned`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              if (opts.limits?.totals != null && obj.totals === opts.limits.totals) {
                throw new MaxLengthError('Streaming decode error - repeated field "totals" had too many elements')
              }

              for (const evt of Spend.codec().stream(reader, reader.uint32(), `${prefix}.totals[]`, {
                limits: opts.limits?.totals$
              })) {
                yield {
                  ...evt,
                  index: obj.totals
                }
              }

              obj.totals++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CheckpointEpochFieldEvent {
    field: '$.epoch'
    value: bigint
  }

  export interface CheckpointRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface CheckpointParentRootFieldEvent {
    field: '$.parentRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CheckpointStateRootFieldEvent {
    field: '$.stateRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CheckpointReceiptsRootFieldEvent {
    field: '$.receiptsRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CheckpointReceiptsCidFieldEvent {
    field: '$.receiptsCid'
    value: string
  }

  export interface CheckpointValidatorSetHashFieldEvent {
    field: '$.validatorSetHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CheckpointFeeSplitNodeFieldEvent {
    field: '$.feeSplit.node'
    value: number
  }

  export interface CheckpointFeeSplitModelOwnerFieldEvent {
    field: '$.feeSplit.modelOwner'
    value: number
  }

  export interface CheckpointFeeSplitAdapterOwnerFieldEvent {
    field: '$.feeSplit.adapterOwner'
    value: number
  }

  export interface CheckpointFeeSplitContributorsFieldEvent {
    field: '$.feeSplit.contributors'
    value: number
  }

  export interface CheckpointFeeSplitValidatorsFieldEvent {
    field: '$.feeSplit.validators'
    value: number
  }

  export interface CheckpointFeeSplitTreasuryFieldEvent {
    field: '$.feeSplit.treasury'
    value: number
  }

  export interface CheckpointTotalEarnedFieldEvent {
    field: '$.totalEarned'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CheckpointTotalsClientFieldEvent {
    field: '$.totals[].client'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CheckpointTotalsSpentFieldEvent {
    field: '$.totals[].spent'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Checkpoint>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Checkpoint.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Checkpoint>): Checkpoint {
    return decodeMessage(buf, Checkpoint.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Checkpoint>): Generator<CheckpointEpochFieldEvent | CheckpointRoundFieldEvent | CheckpointParentRootFieldEvent | CheckpointStateRootFieldEvent | CheckpointReceiptsRootFieldEvent | CheckpointReceiptsCidFieldEvent | CheckpointValidatorSetHashFieldEvent | CheckpointFeeSplitNodeFieldEvent | CheckpointFeeSplitModelOwnerFieldEvent | CheckpointFeeSplitAdapterOwnerFieldEvent | CheckpointFeeSplitContributorsFieldEvent | CheckpointFeeSplitValidatorsFieldEvent | CheckpointFeeSplitTreasuryFieldEvent | CheckpointTotalEarnedFieldEvent | CheckpointTotalsClientFieldEvent | CheckpointTotalsSpentFieldEvent> {
    return streamMessage(buf, Checkpoint.codec(), opts)
  }
}

export interface ConsensusMessage {
  checkpoint?: Checkpoint
  voteSignature: Uint8Array<ArrayBuffer>
  snapshotBlock: bigint
  proposalSignature: Uint8Array<ArrayBuffer>
}

export namespace ConsensusMessage {
  let _codec: Codec<ConsensusMessage>

  export const codec = (): Codec<ConsensusMessage> => {
    if (_codec == null) {
      _codec = message<ConsensusMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.checkpoint != null) {
          w.uint32(10)
          Checkpoint.codec().encode(obj.checkpoint, w)
        }

        if ((obj.voteSignature != null && obj.voteSignature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.voteSignature)
        }

        if ((obj.snapshotBlock != null && obj.snapshotBlock !== 0n)) {
          w.uint32(24)
          w.uint64(obj.snapshotBlock)
        }

        if ((obj.proposalSignature != null && obj.proposalSignature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.proposalSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          voteSignature: uint8ArrayAlloc(0),
          snapshotBlock: 0n,
          proposalSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.checkpoint = Checkpoint.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.checkpoint
              })
              break
            }
            case 2: {
              obj.voteSignature = reader.bytes()
              break
            }
            case 3: {
              obj.snapshotBlock = reader.uint64()
              break
            }
            case 4: {
              obj.proposalSignature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Checkpoint.codec().stream(reader, reader.uint32(), `${prefix}.checkpoint`, {
                limits: opts.limits?.checkpoint
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.voteSignature`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.snapshotBlock`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.proposalSignature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ConsensusMessageCheckpointEpochFieldEvent {
    field: '$.checkpoint.epoch'
    value: bigint
  }

  export interface ConsensusMessageCheckpointRoundFieldEvent {
    field: '$.checkpoint.round'
    value: number
  }

  export interface ConsensusMessageCheckpointParentRootFieldEvent {
    field: '$.checkpoint.parentRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageCheckpointStateRootFieldEvent {
    field: '$.checkpoint.stateRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageCheckpointReceiptsRootFieldEvent {
    field: '$.checkpoint.receiptsRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageCheckpointReceiptsCidFieldEvent {
    field: '$.checkpoint.receiptsCid'
    value: string
  }

  export interface ConsensusMessageCheckpointValidatorSetHashFieldEvent {
    field: '$.checkpoint.validatorSetHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageCheckpointFeeSplitNodeFieldEvent {
    field: '$.checkpoint.feeSplit.node'
    value: number
  }

  export interface ConsensusMessageCheckpointFeeSplitModelOwnerFieldEvent {
    field: '$.checkpoint.feeSplit.modelOwner'
    value: number
  }

  export interface ConsensusMessageCheckpointFeeSplitAdapterOwnerFieldEvent {
    field: '$.checkpoint.feeSplit.adapterOwner'
    value: number
  }

  export interface ConsensusMessageCheckpointFeeSplitContributorsFieldEvent {
    field: '$.checkpoint.feeSplit.contributors'
    value: number
  }

  export interface ConsensusMessageCheckpointFeeSplitValidatorsFieldEvent {
    field: '$.checkpoint.feeSplit.validators'
    value: number
  }

  export interface ConsensusMessageCheckpointFeeSplitTreasuryFieldEvent {
    field: '$.checkpoint.feeSplit.treasury'
    value: number
  }

  export interface ConsensusMessageCheckpointTotalEarnedFieldEvent {
    field: '$.checkpoint.totalEarned'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageCheckpointTotalsClientFieldEvent {
    field: '$.checkpoint.totals[].client'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ConsensusMessageCheckpointTotalsSpentFieldEvent {
    field: '$.checkpoint.totals[].spent'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ConsensusMessageVoteSignatureFieldEvent {
    field: '$.voteSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ConsensusMessageSnapshotBlockFieldEvent {
    field: '$.snapshotBlock'
    value: bigint
  }

  export interface ConsensusMessageProposalSignatureFieldEvent {
    field: '$.proposalSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ConsensusMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ConsensusMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ConsensusMessage>): ConsensusMessage {
    return decodeMessage(buf, ConsensusMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ConsensusMessage>): Generator<ConsensusMessageCheckpointEpochFieldEvent | ConsensusMessageCheckpointRoundFieldEvent | ConsensusMessageCheckpointParentRootFieldEvent | ConsensusMessageCheckpointStateRootFieldEvent | ConsensusMessageCheckpointReceiptsRootFieldEvent | ConsensusMessageCheckpointReceiptsCidFieldEvent | ConsensusMessageCheckpointValidatorSetHashFieldEvent | ConsensusMessageCheckpointFeeSplitNodeFieldEvent | ConsensusMessageCheckpointFeeSplitModelOwnerFieldEvent | ConsensusMessageCheckpointFeeSplitAdapterOwnerFieldEvent | ConsensusMessageCheckpointFeeSplitContributorsFieldEvent | ConsensusMessageCheckpointFeeSplitValidatorsFieldEvent | ConsensusMessageCheckpointFeeSplitTreasuryFieldEvent | ConsensusMessageCheckpointTotalEarnedFieldEvent | ConsensusMessageCheckpointTotalsClientFieldEvent | ConsensusMessageCheckpointTotalsSpentFieldEvent | ConsensusMessageVoteSignatureFieldEvent | ConsensusMessageSnapshotBlockFieldEvent | ConsensusMessageProposalSignatureFieldEvent> {
    return streamMessage(buf, ConsensusMessage.codec(), opts)
  }
}

export interface ReceiptBatch {
  epoch: bigint
  receipts: Uint8Array<ArrayBuffer>[]
}

export namespace ReceiptBatch {
  let _codec: Codec<ReceiptBatch>

  export const codec = (): Codec<ReceiptBatch> => {
    if (_codec == null) {
      _codec = message<ReceiptBatch>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.epoch != null && obj.epoch !== 0n)) {
          w.uint32(8)
          w.uint64(obj.epoch)
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          epoch: 0n,
          receipts: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.epoch = reader.uint64()
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          receipts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.epoch`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              yield {
                field: `${prefix}.receipts[]`,
                index: obj.receipts,
                value: reader.bytes()
              }

              obj.receipts++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReceiptBatchEpochFieldEvent {
    field: '$.epoch'
    value: bigint
  }

  export interface ReceiptBatchReceiptsFieldEvent {
    field: '$.receipts[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ReceiptBatch>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptBatch.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBatch>): ReceiptBatch {
    return decodeMessage(buf, ReceiptBatch.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBatch>): Generator<ReceiptBatchEpochFieldEvent | ReceiptBatchReceiptsFieldEvent> {
    return streamMessage(buf, ReceiptBatch.codec(), opts)
  }
}
