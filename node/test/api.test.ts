// The HTTP API as an attacker and as the CLI meet it: a real node (libp2p, level on disk, the token file
// in its data dir) for auth, Host/Origin and body checks and for a job's state across a restart; the real
// fastify app with the real access and error layers over a counting Datanet stub to show that a refused
// request never reaches a handler; the error table against every typed error class in the tree; and the
// CLI client's three kinds of failure.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Registry } from 'prom-client'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OpenLedgerError } from '../../protocols/common/errors.ts'
import type { DatanetService } from '../../protocols/datanet/service.ts'
import { ModelErrorCode } from '../../protocols/model/errors.ts'
import { registerDatanetRoutes } from '../api/datanets.ts'
import {
  ERRORS_FROM_ROUTES,
  ERRORS_NOT_FROM_ROUTES,
  HTTP_STATUS_BY_CODE,
  type KnownErrorCode,
  toHttpError,
} from '../api/errors.ts'
import { JobManager, type JobRecord, jobRecordSchema } from '../api/jobs.ts'
import { createApi } from '../api/server.ts'
import { ApiError, callApi } from '../cli/api-client.ts'
import { resolveConfig } from '../config.ts'
import { initDataDir, loadIdentity, paths, readApiToken } from '../datadir.ts'
import { createLogger } from '../logger.ts'
import { OpenLedgerNode } from '../node.ts'
import { Bucket } from '../storage/buckets.ts'
import { NodeDatabase } from '../storage/database.ts'
import { Repository } from '../storage/repository.ts'

let root = ''
let dataDir = ''
let node: OpenLedgerNode | undefined
let base = ''
let port = 0
let token = ''

async function startNode(): Promise<void> {
  const identity = await loadIdentity(dataDir)
  node = new OpenLedgerNode({
    dataDir,
    config: resolveConfig({ listen_host: '127.0.0.1', listen_port: 0, api_port: 0, log_level: 'silent' }),
    peerKey: identity.peerKey,
    accountKey: identity.accountKey,
    log: createLogger('silent'),
  })
  await node.start()
  base = node.apiUrl
  port = Number(new URL(base).port)
}

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-api-'))
  dataDir = join(root, 'node')
  await initDataDir(dataDir)
  await startNode()
  token = (await readApiToken(dataDir))!
})

test.after(async () => {
  await node?.stop()
  await rm(root, { recursive: true, force: true })
})

/** A raw HTTP/1.1 request (fetch will not send a chosen Host header). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  target = { host: '127.0.0.1', port: () => port },
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.host, port: target.port(), method, path, headers, timeout: 10_000 },
      (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => {
          let json: Record<string, unknown> = {}
          try {
            json = text ? JSON.parse(text) : {}
          } catch {
            json = { text }
          }
          resolve({ status: res.statusCode ?? 0, json })
        })
      },
    )
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

const auth = () => ({ authorization: `Bearer ${token}` })
const jsonHeaders = () => ({ ...auth(), 'content-type': 'application/json' })

async function jobCount(): Promise<number> {
  const res = await raw('GET', '/v1/jobs', auth())
  assert.is(res.status, 200, JSON.stringify(res.json))
  return (res.json.jobs as unknown[]).length
}

test('the node made its token at start: 64 hex characters in DIR/api-token, mode 0600', async () => {
  assert.match(token, /^[0-9a-f]{64}$/)
  assert.is((await stat(paths(dataDir).apiToken)).mode & 0o777, 0o600)
})

test('health, metrics and public reads need no token; jobs, content and every write do', async () => {
  assert.is((await raw('GET', '/healthz', {})).status, 200)
  assert.is((await raw('GET', '/metrics', {})).status, 200)
  assert.is((await raw('GET', '/v1/node', {})).status, 200)
  assert.is((await raw('GET', '/v1/peers', {})).status, 200)
  for (const path of ['/v1/jobs', `/v1/content/${'bafkqaaa'}`]) {
    const res = await raw('GET', path, {})
    assert.is(res.status, 401, path)
    assert.is(res.json.error, 'UNAUTHORIZED')
  }
  const writes: [string, string][] = [
    ['POST', '/v1/datanets'],
    ['POST', '/v1/datanets/1/contributions?name=a.txt'],
    ['POST', '/v1/datanets/1/contributions/bafkqaaa/accept'],
    ['POST', '/v1/datanets/1/contributions/bafkqaaa/reject'],
    ['POST', '/v1/datanets/1/publish'],
    ['POST', '/v1/datanets/1/serve'],
    ['POST', '/v1/registry/models'],
    ['POST', '/v1/registry/models/1/fetch'],
  ]
  for (const [method, path] of writes) {
    const none = await raw(method, path, { 'content-type': 'application/json' }, '{}')
    assert.is(none.status, 401, `${method} ${path} without a token`)
    assert.is(none.json.error, 'UNAUTHORIZED')
    const wrong = await raw(
      method,
      path,
      { 'content-type': 'application/json', authorization: `Bearer ${'0'.repeat(64)}` },
      '{}',
    )
    assert.is(wrong.status, 401, `${method} ${path} with a wrong token`)
    assert.is(wrong.json.message, 'wrong API token')
  }
  // A token of another length, or another scheme, is just as wrong.
  assert.is((await raw('GET', '/v1/jobs', { authorization: 'Bearer short' })).status, 401)
  assert.is((await raw('GET', '/v1/jobs', { authorization: `Basic ${token}` })).status, 401)
  assert.is(await jobCount(), 0)
})

test('a foreign Host or Origin is refused with 403, even with the token', async () => {
  const host = await raw('GET', '/v1/jobs', { ...auth(), host: `evil.example:${port}` })
  assert.is(host.status, 403)
  assert.is(host.json.error, 'FORBIDDEN_HOST')
  // DNS rebinding: the page's own name with the node's port, on a public route too.
  assert.is((await raw('GET', '/v1/node', { host: `rebind.evil.example:${port}` })).status, 403)
  // The right name on another port is another origin.
  assert.is((await raw('GET', '/v1/node', { host: `127.0.0.1:${port + 1}` })).status, 403)
  for (const origin of ['http://evil.example', 'null', `http://localhost:${port + 1}`]) {
    const res = await raw('POST', '/v1/registry/models/1/fetch', { ...jsonHeaders(), origin }, '{}')
    assert.is(res.status, 403, origin)
    assert.is(res.json.error, 'FORBIDDEN_ORIGIN')
  }
  const crossSite = await raw('GET', '/v1/node', { 'sec-fetch-site': 'cross-site' })
  assert.is(crossSite.status, 403)
  // The API's own names and origin are fine.
  for (const h of [`localhost:${port}`, `127.0.0.1:${port}`]) {
    const res = await raw('GET', '/v1/jobs', { ...auth(), host: h, origin: `http://${h}` })
    assert.is(res.status, 200, h)
  }
  assert.is(await jobCount(), 0)
})

test('a browser-style POST (no body, a form, text) does nothing: 415/400 and no job, no folder', async () => {
  const attempts: [Record<string, string>, string | undefined, number, string][] = [
    [auth(), undefined, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      'name=x',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [{ ...auth(), 'content-type': 'text/plain' }, '{"name":"x"}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      { ...auth(), 'content-type': 'multipart/form-data; boundary=x' },
      '--x--',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [jsonHeaders(), '[]', 400, 'BODY_REQUIRED'],
    [jsonHeaders(), 'null', 400, 'BODY_REQUIRED'],
    [jsonHeaders(), '{"name":', 400, 'BAD_JSON'],
  ]
  for (const path of ['/v1/registry/models/1/fetch', '/v1/datanets/1/serve']) {
    for (const [headers, body, status, code] of attempts) {
      const res = await raw('POST', path, headers, body)
      assert.is(res.status, status, `${path} ${JSON.stringify(headers)} ${body}: ${JSON.stringify(res.json)}`)
      assert.is(res.json.error, code)
    }
  }
  // Without a body or with an empty one under application/json: fastify's own 400.
  assert.is((await raw('POST', '/v1/registry/models/1/fetch', jsonHeaders(), '')).status, 400)
  assert.is(await jobCount(), 0)
  assert.throws(() => statSync(join(dataDir, 'models')))
})

test('model fetch takes a folder name under the data dir, never a path', async () => {
  for (const name of ['/etc', '../escape', 'a/b', '..', '.hidden']) {
    const res = await raw('POST', '/v1/registry/models/1/fetch', jsonHeaders(), JSON.stringify({ name }))
    assert.is(res.status, 400, name)
    assert.is(res.json.error, 'BAD_REQUEST')
  }
  const old = await raw(
    'POST',
    '/v1/registry/models/1/fetch',
    jsonHeaders(),
    JSON.stringify({ outDir: '/tmp/x' }),
  )
  assert.is(old.status, 400)
  // A valid request on a node without a model registry: 503, and still nothing queued.
  const noChain = await raw(
    'POST',
    '/v1/registry/models/1/fetch',
    jsonHeaders(),
    JSON.stringify({ name: 'm' }),
  )
  assert.is(noChain.status, 503)
  assert.is(noChain.json.error, 'CHAIN_NOT_CONFIGURED')
  assert.is(await jobCount(), 0)
})

test('a job running when the node stopped is interrupted after the restart (read through the API)', async () => {
  await node!.stop()
  node = undefined
  // What a crash mid-fetch leaves in the database: a running, non-resumable job.
  const db = await NodeDatabase.open(paths(dataDir).db)
  const store = Repository.json(db, Bucket.apiJobs, jobRecordSchema)
  const id = `${Date.now().toString(36).padStart(9, '0')}-0123456789`
  const running: JobRecord = {
    id,
    kind: 'model.fetch',
    params: { modelId: '7', name: 'model-7' },
    state: 'running',
    progress: { unit: 'bytes', done: 1024 },
    result: null,
    error: null,
    createdAt: Date.now(),
    startedAt: Date.now(),
    finishedAt: null,
    attempts: 1,
  }
  await store.put(id, running)
  await db.close()
  await startNode()
  const res = await raw('GET', `/v1/jobs/${id}`, auth())
  assert.is(res.status, 200, JSON.stringify(res.json))
  assert.is(res.json.state, 'interrupted')
  assert.is((res.json.error as { code: string }).code, 'JOB_INTERRUPTED')
  assert.equal(res.json.params, running.params)
  const unknown = await raw('GET', `/v1/jobs/${id.slice(0, -1)}8`, auth())
  assert.is(unknown.status, 404)
  assert.is(unknown.json.error, 'UNKNOWN_JOB')
})

test('job manager: a resumable job runs again after a restart, a non-resumable one is interrupted', async () => {
  const dir = join(root, 'jobs-db')
  let db = await NodeDatabase.open(dir)
  let runs = 0
  const define = (jobs: JobManager, finish: boolean) => {
    const hang = (signal: AbortSignal) =>
      new Promise((_, reject) => {
        signal.throwIfAborted()
        signal.addEventListener('abort', () => reject(signal.reason))
      })
    jobs.define('test.resumable', {
      resumable: true,
      run: async (_params, ctx) => {
        runs++
        ctx.progress({ unit: 'blocks', done: 1, total: 2 })
        if (!finish) await hang(ctx.signal)
        return { blocks: 2 }
      },
    })
    jobs.define('test.once', { resumable: false, run: async (_p, ctx) => hang(ctx.signal) })
  }
  let jobs = new JobManager(Repository.json(db, Bucket.apiJobs, jobRecordSchema))
  define(jobs, false)
  await jobs.start()
  const a = await jobs.submit('test.resumable', { datanetId: '1' }, '1')
  const again = await jobs.submit('test.resumable', { datanetId: '1' }, '1')
  assert.is(again.id, a.id, 'the same key while queued or running gives the same job')
  const b = await jobs.submit('test.once', {})
  // Deadlines, not timings: 60 s for a job to start and report progress, even on a loaded machine.
  for (
    const until = Date.now() + 60_000;
    Date.now() < until &&
    ((await jobs.get(a.id))!.state !== 'running' ||
      (await jobs.get(a.id))!.progress?.done !== 1 ||
      (await jobs.get(b.id))!.state !== 'running');
  )
    await new Promise((r) => setTimeout(r, 10))
  assert.is((await jobs.get(a.id))!.progress?.done, 1)
  await jobs.stop()
  await db.close()

  db = await NodeDatabase.open(dir)
  jobs = new JobManager(Repository.json(db, Bucket.apiJobs, jobRecordSchema))
  define(jobs, true)
  await jobs.start()
  for (const until = Date.now() + 60_000; Date.now() < until && (await jobs.get(a.id))!.state !== 'done'; )
    await new Promise((r) => setTimeout(r, 10))
  const resumed = (await jobs.get(a.id))!
  assert.is(resumed.state, 'done')
  assert.equal(resumed.result, { blocks: 2 })
  assert.is(resumed.attempts, 2)
  assert.is(runs, 2)
  const interrupted = (await jobs.get(b.id))!
  assert.is(interrupted.state, 'interrupted')
  assert.is(interrupted.error?.code, 'JOB_INTERRUPTED')
  // Both jobs may share a creation millisecond: compare them as a set, not in list order.
  assert.equal((await jobs.list()).map((j) => j.id).sort(), [a.id, b.id].sort())
  await jobs.stop()
  await db.close()
})

test('a refused request never reaches the handler; an accepted one does (counting stub service)', async () => {
  const calls: string[] = []
  const stub = {
    publish: async (id: bigint) => {
      calls.push(`publish ${id}`)
      return { version: 1 }
    },
    decide: async (id: bigint, cid: string, accept: boolean) => {
      calls.push(`${accept ? 'accept' : 'reject'} ${id} ${cid}`)
      return {}
    },
  } as unknown as DatanetService
  const dir = join(root, 'stub-db')
  const db = await NodeDatabase.open(dir)
  const jobs = new JobManager(Repository.json(db, Bucket.apiJobs, jobRecordSchema))
  const stubToken = 'b'.repeat(64)
  const app = createApi(
    { ready: () => true, nodeInfo: () => ({}), peers: async () => [], metrics: new Registry() },
    [
      (a) =>
        registerDatanetRoutes(
          a,
          () => stub,
          () => undefined,
          jobs,
        ),
    ],
    { token: stubToken, apiHost: '127.0.0.1', allowedHosts: ['dashboard.local'] },
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  const stubPort = (app.server.address() as { port: number }).port
  const target = { host: '127.0.0.1', port: () => stubPort }
  try {
    const refused: Record<string, string>[] = [
      {},
      { 'content-type': 'application/x-www-form-urlencoded' },
      { authorization: `Bearer ${stubToken}` },
      { authorization: `Bearer ${stubToken}`, 'content-type': 'text/plain' },
      {
        authorization: `Bearer ${stubToken}`,
        'content-type': 'application/json',
        origin: 'https://evil.example',
      },
    ]
    for (const headers of refused) {
      for (const path of ['/v1/datanets/1/publish', '/v1/datanets/1/contributions/bafkqaaa/accept']) {
        const res = await raw('POST', path, headers, headers['content-type'] ? 'x=1' : undefined, target)
        assert.ok(res.status >= 400 && res.status < 500, `${path} ${JSON.stringify(headers)}: ${res.status}`)
      }
    }
    assert.equal(calls, [])
    const ok = await raw(
      'POST',
      '/v1/datanets/1/publish',
      { authorization: `Bearer ${stubToken}`, 'content-type': 'application/json' },
      '{}',
      target,
    )
    assert.is(ok.status, 200, JSON.stringify(ok.json))
    assert.equal(calls, ['publish 1'])
    // An allow-list entry without a port admits that name on the API's port.
    const listed = await raw('GET', '/healthz', { host: 'dashboard.local:1234' }, undefined, target)
    assert.is(listed.status, 200)
    assert.is((await raw('GET', '/healthz', { host: 'other.local:1234' }, undefined, target)).status, 403)
    // Serving without a replicator: 503 at once, no job queued.
    const serve = await raw(
      'POST',
      '/v1/datanets/1/serve',
      { authorization: `Bearer ${stubToken}`, 'content-type': 'application/json' },
      '{}',
      target,
    )
    assert.is(serve.status, 503)
    assert.is(serve.json.error, 'NOT_READY')
  } finally {
    await app.close()
    await db.close()
  }
})

test('error table: every code of every error class routes reach has a 4xx/5xx status', () => {
  const table = HTTP_STATUS_BY_CODE as Record<string, number>
  for (const [code, status] of Object.entries(table))
    assert.ok(status >= 400 && status < 600, `${code} ${status}`)
  // Enum codes are enumerable at run time; string unions are held by the `satisfies` in errors.ts (tsc).
  for (const code of Object.values(ModelErrorCode)) assert.ok(code in table, code)
  const expect: [KnownErrorCode, number][] = [
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN_HOST', 403],
    ['UNKNOWN_DATANET', 404],
    ['NOT_CURATOR', 403],
    ['NOTHING_TO_PUBLISH', 409],
    ['TX_REVERTED', 502],
    ['CHAIN_ERROR', 502],
    ['MODEL_TX_REVERTED', 502],
    ['STOPPED', 503],
    ['NO_PEERS', 503],
    ['FETCH_FAILED', 504],
    ['LOCAL_IO_FAILED', 500],
  ]
  for (const [code, status] of expect) assert.is(table[code], status, code)
})

test('error table: typed errors, unknown codes, fastify errors and local disk failures', () => {
  class SomeError extends OpenLedgerError<{ code: string; reason?: string }> {}
  assert.is(toHttpError(new SomeError({ code: 'TX_REVERTED' })).status, 502)
  assert.is(toHttpError(new SomeError({ code: 'CONTRIBUTION_REFUSED', reason: 'TOO_LARGE' })).status, 413)
  assert.is(toHttpError(new SomeError({ code: 'CONTRIBUTION_REFUSED', reason: 'NOT_UTF8' })).status, 422)
  // A code nobody listed is our bug, not the caller's.
  const unknown = toHttpError(new SomeError({ code: 'SOMETHING_NEW' }, 'x'))
  assert.is(unknown.status, 500)
  assert.is(unknown.body.error, 'SOMETHING_NEW')
  const disk = toHttpError(
    Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC', syscall: 'write' }),
  )
  assert.equal([disk.status, disk.body.error, disk.body.reason], [500, 'LOCAL_IO_FAILED', 'ENOSPC'])
  const fastify = toHttpError(
    Object.assign(new Error('body too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }),
  )
  assert.equal(
    [fastify.status, fastify.body.error, fastify.body.reason],
    [413, 'BODY_TOO_LARGE', 'FST_ERR_CTP_BODY_TOO_LARGE'],
  )
  const json = toHttpError(
    Object.assign(new Error('bad json'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }),
  )
  assert.equal([json.status, json.body.error], [400, 'BAD_JSON'])
  const other = toHttpError(Object.assign(new Error('odd'), { statusCode: 400, code: 'FST_ERR_SOMETHING' }))
  assert.equal([other.status, other.body.error, other.body.reason], [400, 'BAD_REQUEST', 'FST_ERR_SOMETHING'])
  assert.is(toHttpError(new Error('boom')).status, 500)
})

test('error table: every OpenLedgerError subclass in the tree is covered or listed as unreachable', () => {
  const repo = fileURLToPath(new URL('../..', import.meta.url))
  const found = new Set<string>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.') || name === 'test') continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/class\s+(\w+)\s+extends\s+OpenLedgerError\b/g))
          found.add(m[1]!)
    }
  }
  for (const area of ['protocols', 'consensus', 'node']) {
    try {
      walk(join(repo, area))
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err
    }
  }
  assert.ok(found.size > 10, `found ${found.size} classes`)
  const covered = new Set<string>([...ERRORS_FROM_ROUTES, ...Object.keys(ERRORS_NOT_FROM_ROUTES)])
  const missing = [...found].filter((name) => !covered.has(name))
  assert.equal(
    missing,
    [],
    `add these to node/api/errors.ts (the table or ERRORS_NOT_FROM_ROUTES): ${missing}`,
  )
})

test('CLI client: cannot connect, timed out and an HTTP error read apart; a 401 says how to pass the token', async () => {
  const closed = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const codeOf = async (promise: Promise<unknown>) => {
    try {
      await promise
    } catch (err) {
      assert.instance(err, ApiError)
      return err as ApiError
    }
    throw new Error('expected an ApiError')
  }
  const refused = await codeOf(callApi(`http://127.0.0.1:${closed}`, 'GET', '/v1/node'))
  assert.is(refused.code, 'API_UNREACHABLE')
  assert.match(refused.message, /cannot connect/)
  // A server that accepts and never answers.
  const silent: Server = createServer(() => {})
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
  try {
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`
    const timedOut = await codeOf(callApi(url, 'GET', '/v1/node', { timeoutMs: 200 }))
    assert.is(timedOut.code, 'API_TIMEOUT')
    assert.match(timedOut.message, /did not answer within/)
  } finally {
    silent.closeAllConnections()
    silent.close()
  }
  const noToken = await codeOf(callApi({ url: base }, 'GET', '/v1/jobs'))
  assert.is(noToken.code, 'UNAUTHORIZED')
  assert.is(noToken.type.status, 401)
  assert.match(noToken.message, /--node-dir DIR/)
  const notFound = await codeOf(callApi({ url: base, token }, 'GET', '/v1/jobs/000000000-0000000000'))
  assert.equal([notFound.code, notFound.type.status], ['UNKNOWN_JOB', 404])
  assert.equal(await callApi({ url: base, token }, 'GET', '/v1/jobs'), {
    jobs: (await raw('GET', '/v1/jobs', auth())).json.jobs,
  })
})

test.run()
