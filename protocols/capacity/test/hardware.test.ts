// Hardware detection: nvidia-smi's CSV parsed from sample text, and detection that never throws.
import '../../common/polyfills.ts'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { checkCapacityRecord } from '../capacity-record.ts'
import { CAPACITY_MAX_GPUS } from '../constants.ts'
import { detectHardware, parseNvidiaSmi, truncateUtf8 } from '../hardware.ts'
import { identity, recordFor } from './fixtures.ts'

const test = suite('capacity hardware')

test('parses nvidia-smi output: one GPU per line, names with commas, blank and junk lines skipped', () => {
  const sample = [
    'NVIDIA H200, 143771',
    'NVIDIA GeForce RTX 4090, 24564',
    '',
    'Tesla V100-SXM2-16GB, 16160',
    'NVIDIA A100-SXM4-80GB, with a comma, 81920',
    '[N/A]',
    'NVIDIA T4, [N/A]',
    '  NVIDIA L4 , 23034  ',
  ].join('\r\n')
  assert.equal(parseNvidiaSmi(sample), [
    { name: 'NVIDIA H200', memoryMiB: 143_771 },
    { name: 'NVIDIA GeForce RTX 4090', memoryMiB: 24_564 },
    { name: 'Tesla V100-SXM2-16GB', memoryMiB: 16_160 },
    { name: 'NVIDIA A100-SXM4-80GB, with a comma', memoryMiB: 81_920 },
    { name: 'NVIDIA L4', memoryMiB: 23_034 },
  ])
  assert.equal(parseNvidiaSmi(''), [])
  assert.equal(
    parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'),
    [],
  )
})

test('bounds: at most 16 GPUs, names cut to 128 bytes on a character boundary', () => {
  const many = Array.from({ length: 40 }, (_, i) => `GPU ${i}, 1024`).join('\n')
  assert.is(parseNvidiaSmi(many).length, CAPACITY_MAX_GPUS)
  const [gpu] = parseNvidiaSmi(`${'é'.repeat(100)}, 8`)
  assert.is(Buffer.byteLength(gpu!.name), 128)
  assert.is(truncateUtf8('abc', 2), 'ab')
  assert.is(truncateUtf8('aé', 2), 'a')
})

test('detection: a failing or missing nvidia-smi means no GPUs; the result fits a record', async () => {
  const none = await detectHardware({ nvidiaSmi: async () => undefined })
  assert.equal(none.gpus, [])
  assert.ok(none.cpuCores >= 1)
  assert.ok(none.memoryMiB > 0)
  assert.ok(none.cpuModel.length > 0)
  const thrown = await detectHardware({
    nvidiaSmi: async () => {
      throw new Error('spawn nvidia-smi ENOENT')
    },
  })
  assert.equal(thrown.gpus, [])
  const two = await detectHardware({ nvidiaSmi: async () => 'NVIDIA H200, 143771\nNVIDIA H200, 143771\n' })
  assert.is(two.gpus.length, 2)
  // the real machine (nvidia-smi present or not): never throws, always within bounds
  const real = await detectHardware({ timeoutMs: 5_000 })
  checkCapacityRecord(recordFor(await identity(), { hardware: real }))
})

test.run()
