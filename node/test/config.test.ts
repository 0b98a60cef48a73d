import { parse as parseToml } from 'smol-toml'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  ConfigError,
  configFromEnv,
  configSchema,
  engineUrlOf,
  renderConfigFile,
  resolveConfig,
} from '../config.ts'

test('later sources win: file < env < flags', () => {
  const config = resolveConfig(
    { listen_port: 1000, api_port: 2000, log_level: 'debug' },
    configFromEnv({ OPENLEDGER_API_PORT: '3000', OPENLEDGER_LOG_LEVEL: 'warn' }),
    { log_level: 'error' },
  )
  assert.is(config.listen_port, 1000)
  assert.is(config.api_port, 3000)
  assert.is(config.log_level, 'error')
})

test('env lists are comma separated', () => {
  const a = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWA'
  const b = '/ip4/127.0.0.1/tcp/2/p2p/12D3KooWB'
  assert.equal(resolveConfig(configFromEnv({ OPENLEDGER_BOOTSTRAP: `${a}, ${b}` })).bootstrap, [a, b])
})

test('a wrong value names the key, what is allowed and what was given', () => {
  try {
    resolveConfig({ api_port: 'eighty' })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ConfigError)
    assert.is((err as ConfigError).type.key, 'api_port')
    assert.match(
      (err as Error).message,
      /api_port must be a HTTP API port number \(an integer from 0 to 65535\) \(got "eighty"\)/,
    )
  }
})

test('out-of-range, enum and address errors', () => {
  assert.throws(() => resolveConfig({ listen_port: 70000 }), /listen_port .*65535/)
  assert.throws(() => resolveConfig({ log_level: 'loud' }), /log_level must be one of fatal, error/)
  assert.throws(
    () => resolveConfig({ ledger_address: '0x1234' }),
    /ledger_address must be a 0x-prefixed 20-byte hex address/,
  )
  assert.throws(() => resolveConfig({ bootstrap: ['not-a-multiaddr'] }), /bootstrap.0 must be a multiaddr/)
})

test('engine_urls: MODEL_ID=URL per served model, from the environment too; anything else is refused', () => {
  const config = resolveConfig(
    configFromEnv({ OPENLEDGER_ENGINE_URLS: '1=http://127.0.0.1:8000/v1, 12=https://gpu.example:443/v1' }),
  )
  assert.is(engineUrlOf(config, '1'), 'http://127.0.0.1:8000/v1')
  assert.is(engineUrlOf(config, '12'), 'https://gpu.example:443/v1')
  assert.is(engineUrlOf(config, '2'), undefined, 'a model not named stays on onnxruntime')
  for (const bad of [
    'http://127.0.0.1:8000/v1',
    '0=http://x/v1',
    '1=ftp://x/v1',
    '1=http://',
    'x=http://a/v1',
  ])
    assert.throws(() => resolveConfig({ engine_urls: [bad] }), /engine_urls.0 must be MODEL_ID=URL/, bad)
})

test('an unknown key is refused by name', () => {
  assert.throws(() => resolveConfig({ listen_prot: 1 }), /unknown key "listen_prot"/)
})

test('the generated config file is valid TOML and yields the defaults', () => {
  const parsed = parseToml(renderConfigFile())
  assert.equal(Object.keys(parsed), [])
  assert.equal(resolveConfig(parsed), configSchema.parse({}))
  const withOverride = parseToml(renderConfigFile({ api_port: 1234 }))
  assert.is(resolveConfig(withOverride).api_port, 1234)
})

test.run()
