import { readFileSync } from 'node:fs'

/** The package version, reported by /v1/node, the status gossip and the libp2p user agent. */
export const NODE_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version
export const USER_AGENT = `openledger/${NODE_VERSION} node/${process.versions.node}`
