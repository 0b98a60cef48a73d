// The whole tree type-checks (strict): a type error is a failed test, not a warning.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

test('tsc --noEmit passes on the whole project', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const res = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], {
    cwd: root,
    encoding: 'utf8',
  })
  assert.is(res.status, 0, `${res.stdout}${res.stderr}`.slice(0, 4000))
})

test.run()
