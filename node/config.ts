// Node configuration: one schema, three sources. Precedence, lowest to highest: the config file
// (DIR/config.toml), then OPENLEDGER_<KEY> environment variables, then command-line flags. Every value is
// validated once at start; a wrong one becomes a ConfigError naming the key and what is allowed.
import { readFile } from 'node:fs/promises'
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'
import { OpenLedgerError } from '../protocols/common/errors.ts'

export class ConfigError extends OpenLedgerError<{
  code: 'CONFIG_INVALID' | 'CONFIG_UNREADABLE'
  key?: string
}> {}

const port = (what: string) =>
  z.coerce
    .number({ error: `must be a ${what} port number (an integer from 0 to 65535)` })
    .int({ error: `must be a ${what} port number (an integer from 0 to 65535)` })
    .min(0, { error: `must be a ${what} port number (an integer from 0 to 65535)` })
    .max(65535, { error: `must be a ${what} port number (an integer from 0 to 65535)` })

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'must be a 0x-prefixed 20-byte hex address' })
  .transform((value) => value as `0x${string}`)

const multiaddrList = z
  .array(
    z.string().regex(/^\/(ip4|ip6|dns|dns4|dns6)\//, {
      error: 'must be a multiaddr such as /ip4/1.2.3.4/tcp/9400/p2p/12D3Koo...',
    }),
  )
  .default([])

const positiveInt = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` })

const registryIds = (what: string) =>
  z
    .array(z.coerce.string().regex(/^[1-9]\d{0,76}$/, { error: `must be ${what} ids (positive integers)` }))
    .default([])

/** Every key, with the description printed in the generated config file and in `--help`. */
export const configKeys = {
  listen_host: {
    schema: z.string().min(1).default('0.0.0.0'),
    help: 'IP address the p2p TCP transport listens on',
  },
  listen_port: { schema: port('p2p TCP').default(9400), help: 'p2p TCP port (0 picks a free one)' },
  announce: {
    schema: multiaddrList,
    help: 'multiaddrs to announce instead of the listen addresses (comma separated in env/flags)',
  },
  bootstrap: {
    schema: multiaddrList,
    help: 'multiaddrs (with /p2p/<peer id>) of peers to join the network through',
  },
  min_peers: {
    schema: positiveInt(0, 1000).default(25),
    help: 'keep dialing discovered peers until this many are connected',
  },
  max_connections: {
    schema: positiveInt(1, 10000).default(200),
    help: 'upper bound on open libp2p connections',
  },
  api_host: {
    schema: z.string().min(1).default('127.0.0.1'),
    help: 'IP address the HTTP API and /metrics listen on',
  },
  api_port: { schema: port('HTTP API').default(9401), help: 'HTTP API port (0 picks a free one)' },
  api_allowed_hosts: {
    schema: z
      .array(
        z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, {
          error: 'must be host or host:port values such as 127.0.0.1:9411 or node.example',
        }),
      )
      .default([]),
    help: 'Host header values the API also answers to (besides api_host, localhost, 127.0.0.1 and [::1] on its port); a host without a port admits any port',
  },
  log_level: {
    schema: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    help: 'log level',
  },
  status_interval_ms: {
    schema: positiveInt(200, 3_600_000).default(30_000),
    help: 'how often the node gossips its signed status',
  },
  password_file: {
    schema: z.string().optional(),
    help: 'file holding the password of an encrypted account key',
  },
  chain_rpc: {
    schema: z.url({ error: 'must be an http(s) URL such as http://127.0.0.1:8545' }).optional(),
    help: 'JSON-RPC URL of the chain',
  },
  chain_id: {
    schema: positiveInt(1, 2 ** 32).default(31337),
    help: 'chain id (also part of every EIP-712 domain)',
  },
  chain_poll_ms: {
    schema: positiveInt(10, 60_000).default(1_000),
    help: 'how often to poll the chain for receipts and new blocks (ms)',
  },
  serve_datanets: {
    schema: z
      .array(z.coerce.string().regex(/^[1-9]\d*$/, { error: 'must be Datanet ids (positive integers)' }))
      .default([]),
    help: 'Datanet ids whose latest version this node replicates and provides',
  },
  datanet_reprovide_interval_ms: {
    schema: positiveInt(1_000, 47 * 3_600_000).default(12 * 3_600_000),
    help: 'how often served Datanet blocks are re-announced on the DHT (records live 48 h)',
  },
  datanet_poll_interval_ms: {
    schema: positiveInt(100, 3_600_000).default(30_000),
    help: 'how often served Datanets are checked for a new version on chain',
  },
  serve_models: {
    schema: registryIds('model'),
    help: 'ModelRegistry ids of base models this node serves (fetched into DATA_DIR/models/model-ID on first start)',
  },
  serve_adapters: {
    schema: registryIds('adapter'),
    help: 'ModelRegistry ids of adapters served on those base models (fetched by CID on first use)',
  },
  pin_adapters: {
    schema: registryIds('adapter'),
    help: 'served adapters loaded at start and never evicted from the adapter cache',
  },
  preload_adapters: {
    schema: registryIds('adapter'),
    help: 'served adapters loaded into the adapter cache at start (evictable)',
  },
  adapter_cache_mib: {
    schema: positiveInt(1, 1_048_576).default(256),
    help: 'bytes (MiB) of adapter weights kept in memory per served model (least recently used evicted)',
  },
  execution_provider: {
    schema: z.enum(['auto', 'cpu', 'cuda'], { error: 'must be one of auto, cpu, cuda' }).default('auto'),
    help: 'onnxruntime execution provider: auto (CUDA where its libraries are installed, else CPU), cpu, or cuda (fail without it)',
  },
  engine_urls: {
    schema: z
      .array(
        z
          .string()
          .regex(/^[1-9]\d{0,76}=https?:\/\/[^\s]+$/, {
            error: 'must be MODEL_ID=URL entries, such as 1=http://127.0.0.1:8000/v1',
          })
          .refine((entry) => URL.canParse(entry.slice(entry.indexOf('=') + 1)), {
            error: 'must be MODEL_ID=URL entries with a valid http(s) URL',
          }),
      )
      .default([]),
    help: 'served models answered by an external OpenAI-compatible engine (vLLM, llama.cpp server, LoRAX) instead of onnxruntime: MODEL_ID=http://HOST:PORT/v1; the engine serves the model and its adapters under their registry ids',
  },
  engine_api_key: {
    schema: z.string().min(1).optional(),
    help: 'sent to those engines as Authorization: Bearer KEY (vLLM --api-key)',
  },
  capacity_refresh_ms: {
    schema: positiveInt(1_000, 300_000).default(60_000),
    help: 'how often the signed capacity record is re-signed (it expires after twice this)',
  },
  capacity_reprovide_interval_ms: {
    schema: positiveInt(1_000, 47 * 3_600_000).default(12 * 3_600_000),
    help: 'how often served model keys are re-announced on the DHT (provider records live 48 h)',
  },
  ledger_address: {
    schema: address.optional(),
    help: 'Ledger contract address (the EIP-712 verifying contract)',
  },
  token_address: { schema: address.optional(), help: 'OPEN token contract address' },
  staking_address: { schema: address.optional(), help: 'Staking contract address' },
  datanet_registry_address: { schema: address.optional(), help: 'DatanetRegistry contract address' },
  model_registry_address: { schema: address.optional(), help: 'ModelRegistry contract address' },
} as const

type Keys = typeof configKeys
export type ConfigKey = keyof Keys
export const configSchema = z.strictObject(
  Object.fromEntries(Object.entries(configKeys).map(([k, v]) => [k, v.schema])) as {
    [K in ConfigKey]: Keys[K]['schema']
  },
)
export type NodeConfig = z.infer<typeof configSchema>

/** Keys holding lists: comma separated in the environment, repeatable or comma separated as flags. */
export const listKeys = new Set<string>([
  'announce',
  'bootstrap',
  'serve_datanets',
  'api_allowed_hosts',
  'serve_models',
  'serve_adapters',
  'pin_adapters',
  'preload_adapters',
  'engine_urls',
])

/** The engine URL configured for a served model (engine_urls), if any. */
export function engineUrlOf(config: Pick<NodeConfig, 'engine_urls'>, modelId: string): string | undefined {
  for (const entry of config.engine_urls) {
    const at = entry.indexOf('=')
    if (entry.slice(0, at) === modelId) return entry.slice(at + 1)
  }
  return undefined
}

export function envName(key: string): string {
  return `OPENLEDGER_${key.toUpperCase()}`
}

export function flagName(key: string): string {
  return key.replaceAll('_', '-')
}

/** Reads OPENLEDGER_<KEY> variables; lists are comma separated. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(configKeys)) {
    const value = env[envName(key)]
    if (value === undefined || value === '') continue
    out[key] = listKeys.has(key) ? splitList(value) : value
  }
  return out
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(
      { code: 'CONFIG_UNREADABLE' },
      `cannot read config file ${path}: ${(err as Error).message}`,
    )
  }
  try {
    return parseToml(text) as Record<string, unknown>
  } catch (err) {
    throw new ConfigError(
      { code: 'CONFIG_UNREADABLE' },
      `config file ${path} is not valid TOML: ${(err as Error).message.split('\n')[0]}`,
    )
  }
}

/** Merges the sources (later wins) and validates; the first problem becomes one ConfigError line. */
export function resolveConfig(...sources: Record<string, unknown>[]): NodeConfig {
  const merged: Record<string, unknown> = {}
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) if (value !== undefined) merged[key] = value
  }
  const result = configSchema.safeParse(merged)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!
    throw new ConfigError(
      { code: 'CONFIG_INVALID', key },
      `config: unknown key "${key}" (known keys: ${Object.keys(configKeys).join(', ')})`,
    )
  }
  const key = String(issue.path[0] ?? '')
  const got = key in merged ? ` (got ${JSON.stringify(merged[key])})` : ''
  throw new ConfigError(
    { code: 'CONFIG_INVALID', key },
    `config: ${issue.path.join('.')} ${issue.message}${got}`,
  )
}

/** The commented TOML written by `openledger init`: every key, commented out at its default. */
export function renderConfigFile(overrides: Partial<Record<ConfigKey, unknown>> = {}): string {
  const lines = [
    '# OpenLedger node configuration (TOML).',
    '# Each key can also be set as OPENLEDGER_<KEY> in the environment or as --<key-with-dashes> on the',
    '# command line; flags beat the environment, which beats this file.',
    '',
  ]
  for (const [key, { schema, help }] of Object.entries(configKeys)) {
    lines.push(`# ${help}`)
    if (key in overrides && overrides[key as ConfigKey] !== undefined) {
      lines.push(`${key} = ${JSON.stringify(overrides[key as ConfigKey])}`)
    } else {
      const parsed = (schema as z.ZodType).safeParse(undefined)
      const def = parsed.success && parsed.data !== undefined ? JSON.stringify(parsed.data) : '""'
      lines.push(`# ${key} = ${def}`)
    }
    lines.push('')
  }
  return lines.join('\n')
}
