// The composition root: opens the database, assembles libp2p + Helia, registers gossip topics, starts
// the services and the HTTP API, and stops them in reverse order. It holds no protocol logic.

import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import type { PrivateKey } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { type Hex, zeroAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { openLedgerDomain } from '../protocols/common/eip712.ts'
import { OpenLedgerError } from '../protocols/common/errors.ts'
import { BlockSync } from '../protocols/datanet/block-sync.ts'
import { contributionRecordSchema } from '../protocols/datanet/contribution-records.ts'
import { contributionsRoot } from '../protocols/datanet/contributions-root.ts'
import { DatanetRegistryClient } from '../protocols/datanet/registry.ts'
import { DatanetReplicator } from '../protocols/datanet/replicator.ts'
import { DatanetService } from '../protocols/datanet/service.ts'
import { ModelRegistryClient } from '../protocols/model/registry.ts'
import { ModelService } from '../protocols/model/service.ts'
import { StatusService } from '../protocols/status/index.ts'
import { registerContentRoutes } from './api/content.ts'
import { registerDatanetRoutes } from './api/datanets.ts'
import { registerInferenceRoutes } from './api/inference.ts'
import { JobManager, jobRecordSchema, registerJobRoutes } from './api/jobs.ts'
import { registerModelRoutes } from './api/models.ts'
import { registerOpenAiRoutes } from './api/openai.ts'
import { registerReceiptRoutes } from './api/receipts.ts'
import { createApi } from './api/server.ts'
import { type ChainClients, connectChain } from './chain.ts'
import type { NodeConfig } from './config.ts'
import { ensureApiToken, paths } from './datadir.ts'
import { asyncValidatingPubsub, GossipRouter } from './gossip.ts'
import { createMetrics, type NodeMetrics } from './metrics.ts'
import { createNetwork, type Network } from './network.ts'
import { Payments } from './payments.ts'
import { PeerDialer } from './peer-dialer.ts'
import { Serving } from './serving.ts'
import type { AttributionSources } from './serving-attribution.ts'
import { Bucket } from './storage/buckets.ts'
import { NodeDatabase } from './storage/database.ts'
import { Repository } from './storage/repository.ts'
import { NODE_VERSION, USER_AGENT } from './version.ts'

export class NodeStartError extends OpenLedgerError<{ code: 'PORT_IN_USE' | 'LISTEN_FAILED'; key: string }> {}

export interface NodeInit {
  dataDir: string
  config: NodeConfig
  peerKey: PrivateKey
  accountKey: Hex
  log: Logger
}

function isAddrInUse(err: unknown): boolean {
  const text = `${(err as Error)?.message} ${(err as { code?: string })?.code} ${String((err as { cause?: unknown })?.cause)}`
  return /EADDRINUSE|address already in use/i.test(text)
}

export class OpenLedgerNode {
  readonly account
  readonly metrics: NodeMetrics
  db?: NodeDatabase
  network?: Network
  gossip?: GossipRouter
  status?: StatusService
  chain?: ChainClients
  datanets?: DatanetService
  replicator?: DatanetReplicator
  blockSync?: BlockSync
  models?: ModelService
  serving?: Serving
  payments?: Payments
  api?: FastifyInstance
  jobs?: JobManager
  private dialer?: PeerDialer
  apiUrl = ''
  ready = false

  constructor(private readonly init: NodeInit) {
    this.account = privateKeyToAccount(init.accountKey)
    this.metrics = createMetrics()
  }

  get config(): NodeConfig {
    return this.init.config
  }

  async start(): Promise<void> {
    const { config, log } = this.init
    try {
      await this.startParts()
    } catch (err) {
      await this.stop().catch(() => {})
      throw err
    }
    log.info(
      {
        peerId: this.network!.libp2p.peerId.toString(),
        account: this.account.address,
        api: this.apiUrl,
        addrs: this.listenAddresses(),
        chainId: config.chain_id,
      },
      'node started',
    )
  }

  private async startParts(): Promise<void> {
    const { config, log, dataDir } = this.init
    this.db = await NodeDatabase.open(paths(dataDir).db)
    // Background jobs of the API (serve, fetch), kept in the database; resumed or marked interrupted below.
    const jobs = new JobManager(Repository.json(this.db, Bucket.apiJobs, jobRecordSchema), {
      onError: (err) => log.warn({ err: (err as Error).message }, 'job bookkeeping failed'),
    })
    this.jobs = jobs
    const apiToken = await ensureApiToken(dataDir)

    // The API port is bound first: it is cheap to undo, and a busy port is the commonest start failure.
    const api = createApi(
      {
        ready: () => this.ready,
        nodeInfo: () => this.nodeInfo(),
        peers: () => this.peers(),
        metrics: this.metrics.registry,
      },
      [
        (app) =>
          registerDatanetRoutes(
            app,
            () => this.datanets,
            () => this.replicator,
            jobs,
          ),
        (app) => registerModelRoutes(app, () => this.models, { jobs, modelsDir: join(dataDir, 'models') }),
        (app) => registerJobRoutes(app, jobs),
        (app) => registerOpenAiRoutes(app, () => this.serving?.gateway),
        (app) => registerInferenceRoutes(app, () => this.serving?.network),
        (app) => registerReceiptRoutes(app, () => this.payments?.mempool),
        (app) =>
          registerContentRoutes(app, () =>
            this.network ? (cid, options) => unixfs(this.network!).cat(cid, options) : undefined,
          ),
      ],
      { token: apiToken, apiHost: config.api_host, allowedHosts: config.api_allowed_hosts },
    )
    try {
      await api.listen({ host: config.api_host, port: config.api_port })
    } catch (err) {
      if (isAddrInUse(err))
        throw new NodeStartError(
          { code: 'PORT_IN_USE', key: 'api_port' },
          `api_port ${config.api_port} on ${config.api_host} is already in use`,
        )
      throw new NodeStartError(
        { code: 'LISTEN_FAILED', key: 'api_host' },
        `cannot listen on ${config.api_host}:${config.api_port}: ${(err as Error).message}`,
      )
    }
    this.api = api
    const bound = api.server.address()
    const apiPort = typeof bound === 'object' && bound !== null ? bound.port : config.api_port
    this.apiUrl = `http://${config.api_host === '0.0.0.0' ? '127.0.0.1' : config.api_host}:${apiPort}`

    const network = await createNetwork(config, this.init.peerKey, this.db, USER_AGENT)
    try {
      await network.start()
    } catch (err) {
      await network.stop().catch(() => {})
      if (isAddrInUse(err))
        throw new NodeStartError(
          { code: 'PORT_IN_USE', key: 'listen_port' },
          `listen_port ${config.listen_port} on ${config.listen_host} is already in use`,
        )
      throw new NodeStartError(
        { code: 'LISTEN_FAILED', key: 'listen_host' },
        `cannot start p2p on ${config.listen_host}:${config.listen_port}: ${(err as Error).message}`,
      )
    }
    this.network = network
    const libp2p = network.libp2p
    this.metrics.bind({
      connectedPeers: () => libp2p.getPeers().length,
      routingTableSize: () => this.routingTableSize(),
    })

    this.gossip = new GossipRouter(
      asyncValidatingPubsub(libp2p.services.pubsub),
      this.metrics,
      log.child({ module: 'gossip' }),
    )
    const domain = openLedgerDomain({
      chainId: config.chain_id,
      ledger: config.ledger_address ?? zeroAddress,
    })
    if (config.ledger_address === undefined) {
      log.warn(
        "no ledger_address: this node signs and checks gossip for Ledger 0x0, so it cannot verify the peers of a network that has a Ledger (set --ledger-address and --chain-id to the network's)",
      )
    }
    this.status = new StatusService({
      peerId: libp2p.peerId,
      peerKey: this.init.peerKey,
      signer: this.account,
      domain,
      version: NODE_VERSION,
      apiUrl: this.apiUrl,
      intervalMs: config.status_interval_ms,
      publisher: this.gossip,
      onError: (err) => log.debug({ err: (err as Error).message }, 'status announcement failed'),
      onOtherNetwork: (peerId, chainId, ledger) =>
        log.warn(
          {
            peer: peerId,
            peerChainId: String(chainId),
            peerLedger: ledger,
            chainId: config.chain_id,
            ledger: domain.verifyingContract,
          },
          'a peer signs for another network (chain id or Ledger differ): its gossip is ignored; check chain_id and ledger_address',
        ),
    })
    this.gossip.register(this.status.topic())
    await this.status.start()

    let modelRegistry: ModelRegistryClient | undefined
    if (config.chain_rpc) {
      this.chain = await connectChain(config, this.account)
      await this.startDatanets(log)
      if (config.model_registry_address) {
        const helia = this.network
        modelRegistry = new ModelRegistryClient({ ...this.chain, address: config.model_registry_address })
        this.models = new ModelService({
          unixfs: unixfs(helia),
          pins: helia.pins,
          routing: helia.routing,
          registry: modelRegistry,
          log: log.child({ module: 'model' }),
        })
      }
    }
    // Receipts need the Ledger (balances) and the registry (prices): without either, answers go unpaid.
    if (this.chain && modelRegistry && config.ledger_address) {
      this.payments = await Payments.start({
        level: this.db.repositories,
        prefix: Bucket.receipts,
        chain: this.chain,
        ledger: config.ledger_address,
        registry: modelRegistry,
        account: this.account,
        domain,
        gossip: this.gossip,
        attribute: (target, text) =>
          this.serving?.recomputeAttribution(target, text) ?? Promise.resolve(null),
        log: log.child({ module: 'payments' }),
      })
    }
    // Every node can forward inference to the network; one with serve_models also serves.
    this.serving = new Serving({
      config,
      dataDir,
      network,
      account: this.account,
      peerKey: this.init.peerKey,
      domain,
      models: this.models,
      registry: modelRegistry,
      metrics: this.metrics,
      log: log.child({ module: 'serving' }),
      attributionSources: this.datanets ? this.attributionSources(this.datanets) : undefined,
      payments: this.payments,
    })
    await this.serving.start()

    this.dialer = new PeerDialer(libp2p, config.min_peers, log.child({ module: 'dialer' }))
    this.dialer.start()
    await jobs.start()
    this.ready = true
  }

  private async startDatanets(log: Logger): Promise<void> {
    const { config } = this.init
    const address = config.datanet_registry_address
    if (!address || !this.chain || !this.network || !this.gossip || !this.db) return
    const { publicClient, walletClient } = this.chain
    const client = new DatanetRegistryClient({ publicClient, walletClient, address })
    const helia = this.network
    this.datanets = new DatanetService({
      blockstore: helia.blockstore,
      unixfs: unixfs(helia),
      pins: helia.pins,
      routing: helia.routing,
      registry: client,
      contributionsRoot,
      account: this.account,
      domain: openLedgerDomain({ chainId: config.chain_id, ledger: config.ledger_address ?? zeroAddress }),
      publish: (topic, data) => this.gossip!.publish(topic, data),
      store: Repository.json(this.db, Bucket.datanetContributions, contributionRecordSchema, {
        onInvalid: (err) => log.warn({ err: err.message }, 'skipped an unreadable contribution record'),
      }),
      log: log.child({ module: 'datanet' }),
    })
    await this.datanets.start()
    this.gossip.register(this.datanets.topic())

    const replicationLog = log.child({ module: 'replication' })
    // Whole versions stream over /openledger/datanet-blocks/1.0.0 (2.5x bitswap's throughput 1->3 in
    // bench/replication.ts); bitswap fills whatever a sync leaves missing.
    this.blockSync = new BlockSync({
      libp2p: helia.libp2p,
      blockstore: helia.blockstore,
      getCodec: (code) => helia.getCodec(code),
      logger: { debug: (m) => replicationLog.debug(m) },
    })
    await this.blockSync.start()
    this.replicator = new DatanetReplicator(
      {
        helia,
        registry: client,
        peerCount: () => helia.libp2p.getPeers().length,
        blockSync: this.blockSync,
        logger: {
          info: (m) => replicationLog.info(m),
          warn: (m) => replicationLog.warn(m),
          debug: (m) => replicationLog.debug(m),
        },
      },
      {
        reprovideIntervalMs: config.datanet_reprovide_interval_ms,
        pollIntervalMs: config.datanet_poll_interval_ms,
      },
    )
    this.replicator.start()
    // Serving starts in the background: fetching a large version must not hold up the node's start.
    for (const id of config.serve_datanets) {
      this.replicator
        .serve(id)
        .catch((err) => replicationLog.warn(`serving Datanet ${id}: ${(err as Error).message}`))
    }
  }

  /** Datanet versions by CID for the serving node's attribution indexes. */
  private attributionSources(datanets: DatanetService): AttributionSources {
    const fs = unixfs(this.network!)
    return {
      manifestCid: async (datanetId, version) =>
        (await datanets.version(BigInt(datanetId), version)).manifestCid,
      contributions: async (cid) =>
        (await datanets.manifest(cid, AbortSignal.timeout(60_000))).contributions.map((e) => ({
          contentCid: e.contentCid.toString(),
          contributor: e.contributor,
        })),
      text: async (cid, maxBytes) => {
        const chunks: Uint8Array[] = []
        let bytes = 0
        for await (const chunk of fs.cat(CID.parse(cid), { signal: AbortSignal.timeout(60_000) })) {
          bytes += chunk.byteLength
          if (bytes > maxBytes) throw new Error(`contribution ${cid} is over ${maxBytes} bytes`)
          chunks.push(chunk)
        }
        return Buffer.concat(chunks).toString('utf8')
      },
    }
  }

  /** kad-dht's routing table is public on the implementation but not on its exported interface. */
  routingTableSize(): number {
    const dht = this.network?.libp2p.services.dht as unknown as
      | { routingTable?: { size: number } }
      | undefined
    return dht?.routingTable?.size ?? 0
  }

  listenAddresses(): string[] {
    if (!this.network) return []
    return this.network.libp2p.getMultiaddrs().map((ma) => ma.toString())
  }

  nodeInfo(): Record<string, unknown> {
    const libp2p = this.network?.libp2p
    return {
      peerId: libp2p?.peerId.toString(),
      account: this.account.address,
      version: NODE_VERSION,
      chainId: this.config.chain_id,
      apiUrl: this.apiUrl,
      listenAddresses: this.listenAddresses(),
      network: libp2p
        ? {
            connectedPeers: libp2p.getPeers().length,
            dhtRoutingTableSize: this.routingTableSize(),
            gossipTopics: Object.fromEntries(
              libp2p.services.pubsub
                .getTopics()
                .map((t) => [t, { subscribers: libp2p.services.pubsub.getSubscribers(t).length }]),
            ),
          }
        : null,
    }
  }

  async peers(): Promise<unknown[]> {
    const libp2p = this.network?.libp2p
    if (!libp2p) return []
    return libp2p.getConnections().reduce<Record<string, unknown>[]>((out, conn) => {
      const id = conn.remotePeer.toString()
      if (out.some((p) => p.peerId === id)) return out
      const status = this.status?.get(id)
      out.push({
        peerId: id,
        address: conn.remoteAddr.toString(),
        direction: conn.direction,
        status: status ?? null,
        gossipScore: this.gossip?.peerScore(id) ?? null,
        gossipMesh: this.gossip?.meshTopics(id) ?? [],
      })
      return out
    }, [])
  }

  async stop(): Promise<void> {
    this.ready = false
    this.dialer?.stop()
    // First, while the network is up: the record says draining, answers in flight end.
    await this.serving?.stop().catch(() => {})
    await this.jobs?.stop()
    // Queued gossip work is aborted, not awaited.
    this.gossip?.stop()
    await this.status?.stop()
    await this.datanets?.stop()
    await this.replicator?.stop()
    await this.blockSync?.stop()
    await this.api?.close().catch(() => {})
    await this.network?.stop().catch(() => {})
    await this.db?.close().catch(() => {})
  }
}
