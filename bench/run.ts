// `npm run bench -- NAME [--quick]`: runs bench/NAME.ts, which prints JSON and writes bench/results/NAME.json.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [name, ...args] = process.argv.slice(2)
const dir = fileURLToPath(new URL('.', import.meta.url))
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
if (!name || !existsSync(`${dir}/${name}.ts`)) {
  console.error(`usage: npm run bench -- NAME [--quick]; NAME is one of: ${available.join(', ')}`)
  process.exit(2)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', '../protocols/common/polyfills.ts', `${name}.ts`, ...args],
  { cwd: dir, stdio: 'inherit' },
)
process.exit(result.status ?? 1)
