// The HTTP API under a reviewer's attacks that the first API test did not try: the real fastify app with
// the real access, error and job layers over counting stubs (no chain, no network), so each test shows
// that a hostile request is a typed 4xx and never reaches the service, and that what a caller can pile up
// is bounded.
import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DatanetReplicator } from '../../protocols/datanet/replicator.ts'
import type { DatanetService } from '../../protocols/datanet/service.ts'
import type { ModelService } from '../../protocols/model/service.ts'
import { registerDatanetRoutes } from '../api/datanets.ts'
import { JobManager, jobRecordSchema, registerJobRoutes } from '../api/jobs.ts'
import { registerModelRoutes } from '../api/models.ts'
import { createApi } from '../api/server.ts'
import { Bucket } from '../storage/buckets.ts'
import { NodeDatabase } from '../storage/database.ts'
import { Repository } from '../storage/repository.ts'

const TOKEN = 'c'.repeat(64)
const MAX_UNFINISHED = 5

let root = ''
let db: NodeDatabase
let jobs: JobManager
let app: FastifyInstance
let port = 0
const calls: string[] = []

/** Records every service call; a serve never finishes until the job manager stops it. */
const service = new Proxy(
  {},
  {
    get:
      (_t, method) =>
      async (datanetId: bigint, ...args: unknown[]) => {
        calls.push(
          `${String(method)} ${datanetId} ${JSON.stringify(args.filter((a) => !(a instanceof Uint8Array)))}`,
        )
        return method === 'version' ? { manifestCid: 'bafkqaaa' } : { contributions: [] }
      },
  },
) as unknown as DatanetService
const replicator = {
  serve: (_id: string, { signal }: { signal: AbortSignal }) =>
    new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  status: async () => ({}),
} as unknown as DatanetReplicator

/** A model fetch that never finishes until the job manager stops it. */
const models = {
  fetch: ({ signal }: { signal: AbortSignal }) =>
    new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
} as unknown as ModelService

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-api-hostile-'))
  db = await NodeDatabase.open(join(root, 'db'))
  jobs = new JobManager(Repository.json(db, Bucket.apiJobs, jobRecordSchema), {
    maxUnfinished: MAX_UNFINISHED,
  })
  app = createApi(
    { ready: () => true, nodeInfo: () => ({}), peers: async () => [], metrics: new Registry() },
    [
      (a) =>
        registerDatanetRoutes(
          a,
          () => service,
          () => replicator,
          jobs,
        ),
      (a) => registerModelRoutes(a, () => models, { jobs, modelsDir: join(root, 'models') }),
      (a) => registerJobRoutes(a, jobs),
    ],
    { token: TOKEN, apiHost: '127.0.0.1', allowedHosts: [] },
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
  await jobs.start()
})

test.after(async () => {
  await jobs.stop()
  await app.close()
  await db.close()
  await rm(root, { recursive: true, force: true })
})

function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, timeout: 10_000 }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }))
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

const auth = { authorization: `Bearer ${TOKEN}` }
const upload = { ...auth, 'content-type': 'application/octet-stream' }

test('an upload whose name or licence is repeated or longer than gossip allows is a 400 and signs nothing', async () => {
  calls.length = 0
  const long = (n: number) => 'a'.repeat(n)
  const refused = [
    '?name=a.txt&name=b.txt', // an array, not a name
    '?name=a.txt&license=MIT&license=CC0',
    `?name=${long(256)}.txt`, // the contributions topic REJECTs names over 255
    `?name=a.txt&license=${long(65)}`, // and licences over 64
    '?name=',
    '?name=notes%1B%5B2K.txt', // a terminal escape: the topic REJECTs unprintable names
    '?name=a.txt&license=MIT%E2%80%AE',
    '',
  ]
  for (const query of refused) {
    const res = await raw('POST', `/v1/datanets/1/contributions${query}`, upload, 'hello')
    assert.is(res.status, 400, `${query.slice(0, 40)}: ${JSON.stringify(res.json)}`)
    assert.is(res.json.error, 'BAD_REQUEST')
  }
  assert.equal(calls, [])
  const ok = await raw(
    'POST',
    `/v1/datanets/1/contributions?name=${long(251)}.txt&license=${long(64)}`,
    upload,
    'hi',
  )
  assert.is(ok.status, 201, JSON.stringify(ok.json))
  assert.is(calls.length, 1)
})

test('a version that is not a plain positive integer is a 400 (no 1e3, 0x10, 1.0)', async () => {
  calls.length = 0
  for (const v of ['1e3', '0x10', '1.0', '%201', '01', '0', '-1', '9'.repeat(17)]) {
    const res = await raw('GET', `/v1/datanets/1/versions/${v}`, {})
    assert.is(res.status, 400, `${v}: ${JSON.stringify(res.json)}`)
    assert.is(res.json.error, 'BAD_REQUEST')
  }
  assert.equal(calls, [])
  assert.is((await raw('GET', '/v1/datanets/1/versions/16', {})).status, 200)
  assert.equal(calls, ['version 1 [16]', 'manifest bafkqaaa []'])
})

test('two models fetched into one folder name: the second is a 409, not two jobs racing for the folder', async () => {
  const json = { ...auth, 'content-type': 'application/json' }
  const first = await raw('POST', '/v1/registry/models/1/fetch', json, JSON.stringify({ name: 'shared' }))
  assert.is(first.status, 202, JSON.stringify(first.json))
  const other = await raw('POST', '/v1/registry/models/2/fetch', json, JSON.stringify({ name: 'shared' }))
  assert.is(other.status, 409, JSON.stringify(other.json))
  assert.is(other.json.error, 'FOLDER_IN_USE')
  // The same model into the same folder is the job already running.
  const again = await raw('POST', '/v1/registry/models/1/fetch', json, JSON.stringify({ name: 'shared' }))
  assert.is(again.status, 202)
  assert.is(again.json.jobId, first.json.jobId)
  const listed = await raw('GET', '/v1/jobs', auth)
  assert.is((listed.json.jobs as unknown[]).length, 1)
})

test('the job table is bounded: beyond the cap a submit is a 429 and nothing is queued or stored', async () => {
  const json = { ...auth, 'content-type': 'application/json' }
  const unfinished = async () =>
    ((await raw('GET', '/v1/jobs?limit=1000', auth)).json.jobs as { state: string }[]).filter(
      (j) => j.state === 'queued' || j.state === 'running',
    ).length
  const room = MAX_UNFINISHED - (await unfinished())
  assert.ok(room > 0)
  const answers: number[] = []
  for (let id = 1; id <= room + 20; id++)
    answers.push((await raw('POST', `/v1/datanets/${id}/serve`, json, '{}')).status)
  assert.equal(answers.slice(0, room), Array(room).fill(202))
  assert.equal(answers.slice(room), Array(20).fill(429))
  const refused = await raw('POST', `/v1/datanets/${MAX_UNFINISHED + 100}/serve`, json, '{}')
  assert.is(refused.json.error, 'TOO_MANY_JOBS')
  assert.is(await unfinished(), MAX_UNFINISHED)
  assert.is(((await raw('GET', '/v1/jobs?limit=1000', auth)).json.jobs as unknown[]).length, MAX_UNFINISHED)
  // The same Datanet again is the job already queued (deduplicated), not a refusal.
  assert.is((await raw('POST', '/v1/datanets/1/serve', json, '{}')).status, 202)
})

test.run()
