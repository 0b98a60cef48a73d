// What a node runs on, for its capacity record: CPU model and cores and total memory from node:os, GPUs
// from `nvidia-smi` where it is installed. Detection never throws: no binary, a failing or slow one, or
// output that does not parse all mean "no GPUs". Every value is clamped to the record's bounds.
import { execFile } from 'node:child_process'
import { availableParallelism, cpus, totalmem } from 'node:os'
import type { GpuInfo, HardwareInfo } from './capacity-record.ts'
import { CAPACITY_MAX_GPUS, CAPACITY_MAX_STRING_BYTES } from './constants.ts'

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']
export const DEFAULT_NVIDIA_SMI_TIMEOUT_MS = 3_000
const NVIDIA_SMI_MAX_OUTPUT_BYTES = 64 * 1024

const UINT16_MAX = 0xffff
const UINT32_MAX = 0xffff_ffff

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(value: string, maxBytes = CAPACITY_MAX_STRING_BYTES): string {
  if (Buffer.byteLength(value) <= maxBytes) return value
  let out = ''
  let bytes = 0
  for (const ch of value) {
    const size = Buffer.byteLength(ch)
    if (bytes + size > maxBytes) break
    out += ch
    bytes += size
  }
  return out
}

function clamp(value: number, max: number): number {
  if (!Number.isFinite(value) || value < 0) return 0
  return Math.min(Math.floor(value), max)
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`: one line per GPU,
 * "NVIDIA H200, 143771" (memory in MiB). Lines that do not parse are skipped; at most CAPACITY_MAX_GPUS.
 */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  for (const line of output.split(/\r?\n/)) {
    if (gpus.length >= CAPACITY_MAX_GPUS) break
    const trimmed = line.trim()
    if (trimmed === '') continue
    // The name may itself hold a comma; the memory is the last field.
    const comma = trimmed.lastIndexOf(',')
    if (comma <= 0) continue
    const name = trimmed.slice(0, comma).trim()
    const memory = trimmed.slice(comma + 1).trim()
    if (name === '' || !/^\d+(\.\d+)?$/.test(memory)) continue
    gpus.push({ name: truncateUtf8(name), memoryMiB: clamp(Number(memory), UINT32_MAX) })
  }
  return gpus
}

/** Runs nvidia-smi; its stdout, or undefined when it is absent, fails or runs past the timeout. */
export function runNvidiaSmi(timeoutMs = DEFAULT_NVIDIA_SMI_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        'nvidia-smi',
        NVIDIA_SMI_ARGS,
        { timeout: timeoutMs, maxBuffer: NVIDIA_SMI_MAX_OUTPUT_BYTES, windowsHide: true },
        (err, stdout) => resolve(err ? undefined : String(stdout)),
      )
    } catch {
      resolve(undefined)
    }
  })
}

export interface DetectHardwareOptions {
  timeoutMs?: number
  /** replaces the nvidia-smi call (tests) */
  nvidiaSmi?: (timeoutMs: number) => Promise<string | undefined>
}

/** The machine's hardware; never throws. */
export async function detectHardware(options: DetectHardwareOptions = {}): Promise<HardwareInfo> {
  const cpuList = cpus()
  const cpuModel = truncateUtf8((cpuList[0]?.model ?? '').trim() || 'unknown')
  const cores = cpuList.length > 0 ? cpuList.length : availableParallelism()
  let gpus: GpuInfo[] = []
  try {
    const output = await (options.nvidiaSmi ?? runNvidiaSmi)(
      options.timeoutMs ?? DEFAULT_NVIDIA_SMI_TIMEOUT_MS,
    )
    if (output !== undefined) gpus = parseNvidiaSmi(output)
  } catch {
    gpus = []
  }
  return {
    cpuModel,
    cpuCores: clamp(cores, UINT16_MAX),
    memoryMiB: clamp(totalmem() / (1024 * 1024), UINT32_MAX),
    gpus,
  }
}
