#!/usr/bin/env node
// Runs every `<area>/test/*.test.ts` file in its own process (multi-node tests own ports, temp dirs and
// children, so isolation keeps one failure from leaking into the next), then prints one closing line
// `N passed, N failed` counted from uvu's own summaries. A file that crashes before uvu's summary counts
// as one failure. `npm test -- PATTERN` runs only files whose path contains PATTERN.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const areas = ['protocols', 'consensus', 'contracts', 'node', 'testnet', 'bench']
const filters = process.argv.slice(2)

function findTests(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...findTests(path))
    else if (name.endsWith('.test.ts') && dir.split('/').includes('test')) out.push(path)
  }
  return out
}

// A test file that runs longer than this is killed with everything it started and counted as failed.
const FILE_TIMEOUT_MS = 8 * 60_000

function runFile(file) {
  return new Promise((resolve) => {
    // Its own process group, so a hung or crashed file's children (anvil, nodes) die with it.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './protocols/common/polyfills.ts', file],
      {
        cwd: root,
        env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    )
    current = child.pid
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      process.stdout.write(`\n${file}: still running after ${FILE_TIMEOUT_MS / 60_000} minutes, killed\n`)
      killGroup(child.pid)
    }, FILE_TIMEOUT_MS)
    let output = ''
    const collect = (chunk) => {
      output += chunk
      process.stdout.write(chunk)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      killGroup(child.pid)
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0)
      let failed = total - passed
      if ((code !== 0 || signal || timedOut) && failed === 0) failed = 1
      resolve({ passed, failed })
    })
  })
}

// Detached children do not see the terminal's Ctrl-C: pass it on.
let current
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current) killGroup(current)
    process.exit(130)
  })
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // the group is already gone
  }
}

const files = areas
  .flatMap((area) => {
    try {
      return findTests(join(root, area))
    } catch {
      return []
    }
  })
  .map((file) => relative(root, file))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort()

let passed = 0
let failed = 0
const failedFiles = []
for (const file of files) {
  process.stdout.write(`\n# ${file}\n`)
  const result = await runFile(file)
  passed += result.passed
  failed += result.failed
  if (result.failed > 0) failedFiles.push(file)
}
if (failedFiles.length > 0)
  process.stdout.write(`\nfailed files:\n${failedFiles.map((f) => `  ${f}`).join('\n')}\n`)
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0
