#!/usr/bin/env node
// The CLI entry: TypeScript sources run through tsx, so a fresh `npm install` needs no build step.
import { register } from 'tsx/esm/api'

register()
await import('../protocols/common/polyfills.ts')
const { main } = await import('../node/cli/main.ts')
await main(process.argv)
