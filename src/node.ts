/**
 * The composition root: builds one running node from a Config. It is the only place that
 * constructs parts and wires them together; the clock, random source, RPC transport and
 * local store are injectable so a whole cluster can run in one process under simulation.
 * Parts start in order and stop in reverse.
 */
import { mkdir } from 'node:fs/promises';
import { Registry } from 'prom-client';
import type { Config } from './config/schema.js';
import type { Layout } from './ring/layout.js';
import { createHasher } from './ring/hasher.js';
import type { LocalStore, ReplicaApi } from './store/types.js';
import { LevelStore } from './store/level-store.js';
import { OrphanCollector } from './store/orphan-collector.js';
import { Membership } from './cluster/membership.js';
import { FailureDetector } from './cluster/failure-detector.js';
import { RpcClient } from './rpc/client.js';
import type { ReplicaResolver } from './rpc/transport.js';
import { createRpcApp } from './rpc/server.js';
import { Coordinator } from './replication/coordinator.js';
import { Buckets } from './replication/buckets.js';
import { Multipart } from './replication/multipart.js';
import { PartsCollector } from './replication/parts-collector.js';
import { createS3App } from './s3/server.js';
import { mountHealthRoutes } from './admin/health-routes.js';
import { createMetrics, type Metrics } from './metrics/definitions.js';
import { HybridClock, systemClock, type Clock } from './util/clock.js';
import { cryptoRandom, type Random } from './util/random.js';
import { createLogger, type Logger } from './util/logger.js';
import { startHttpServer, type StartedHttpServer } from './util/http-server.js';
import { startWorker, type WorkerHandle } from './util/worker.js';
import { describeError } from './util/errors.js';
import { Readiness } from './util/readiness.js';
import { VERSION, COMMIT } from './version.js';

/** The injectable seams of a node. */
export interface NodeDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
  /** The node's disk; a LevelStore under config.dataDir by default. */
  store: LocalStore;
  /** How this node reaches its peers; HTTP RPC by default. */
  transport: ReplicaResolver;
  /** Null disables metrics (simulation). */
  metrics: Metrics | null;
}

/** A started node. */
export interface RunningNode {
  readonly config: Config;
  readonly coordinator: Coordinator;
  readonly membership: Membership;
  /** The bound S3 address "host:port". */
  s3Address(): string;
  /** The bound RPC/admin address "host:port". */
  rpcAddress(): string;
  /** Graceful stop: not ready, stop listening, drain, stop workers, close the store. */
  stop(): Promise<void>;
}

/** The initial layout described by the config (version 1). */
export function layoutFromConfig(config: Config): Layout {
  return { version: 1, members: config.cluster.members.map((m) => ({ ...m, state: 'active' as const })) };
}

/** Builds and starts one node. */
export async function startNode(config: Config, deps: Partial<NodeDeps> = {}): Promise<RunningNode> {
  const logger = deps.logger ?? createLogger({ level: config.log.level, base: { node: config.nodeId } });
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? cryptoRandom;
  const metrics = deps.metrics !== undefined ? deps.metrics : createMetrics(new Registry(), { version: VERSION, commit: COMMIT });

  if (!deps.store) await mkdir(config.dataDir, { recursive: true });
  const store =
    deps.store ??
    new LevelStore({ dir: config.dataDir, fsync: config.store.fsync, directIo: config.store.directIo, inlineThreshold: config.store.inlineThreshold, blobDeleteDelayMs: config.store.blobDeleteDelayMs, random, logger: logger.child({ component: 'store' }) });
  await store.open();
  // Leftovers of the previous run (a crash included) go before anything can be staged again.
  const orphans = new OrphanCollector(store, { olderThanMs: config.store.orphanAgeMs, metrics });
  await orphans.startupPass();

  const membership = new Membership({ selfId: config.nodeId, layout: layoutFromConfig(config), hasher: await createHasher(), vnodesPerUnit: config.ring.vnodesPerUnit });
  const transport = deps.transport ?? new RpcClient({ nodeId: config.nodeId, secret: config.rpc.secret, timeoutMs: config.rpc.timeoutMs, logger: logger.child({ component: 'rpc' }) });
  const replicaFor = (member: { id: string; address: string }): ReplicaApi => (member.id === config.nodeId ? store : transport.replica(member.id, member.address));

  const coordinator = new Coordinator({
    membership,
    replicaFor,
    clock: new HybridClock(config.nodeId, clock),
    logger: logger.child({ component: 'coordinator' }),
    metrics,
    n: config.replication.factor,
    r: config.replication.readQuorum,
    w: config.replication.writeQuorum,
    inlineThreshold: config.store.inlineThreshold,
    random,
    readRepairChance: config.replication.readRepairPercent / 100,
  });
  const buckets = new Buckets(coordinator, clock);
  const multipart = new Multipart(coordinator, random);

  let started = false;
  let stopping: Promise<void> | undefined;
  const readiness = new Readiness();
  readiness.add('node', () => (stopping ? 'shutting down' : started ? undefined : 'starting'));
  readiness.add('store', () => store.writeProblem?.());
  const health = { readiness: () => readiness.state(), metrics };
  const rpcApp = createRpcApp({ replica: store, secret: config.rpc.secret, nodeId: config.nodeId, logger: logger.child({ component: 'rpc-server' }), clock, extraRoutes: (router) => mountHealthRoutes(router, health) });
  const s3App = createS3App({ coordinator, buckets, multipart, config, clock, random, logger: logger.child({ component: 's3' }), metrics, health });

  const servers: StartedHttpServer[] = [];
  const workers: WorkerHandle[] = [];
  try {
    servers.push(await startHttpServer(rpcApp.callback(), config.rpc.listen));
    servers.push(await startHttpServer(s3App.callback(), config.s3.listen));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close(0)));
    await store.close();
    throw err;
  }

  const detector = new FailureDetector({
    membership,
    ping: async (peerId, address, signal) => {
      await transport.ping(peerId, address, signal);
    },
    pingTimeoutMs: Math.min(config.cluster.pingIntervalMs * 2, config.rpc.timeoutMs),
    downAfterMisses: config.cluster.downAfterMisses,
    logger: logger.child({ component: 'failure-detector' }),
    onChange: () => updateNodeGauge(),
  });
  const updateNodeGauge = (): void => {
    if (!metrics) return;
    const counts = { up: 0, suspect: 0, down: 0 };
    for (const m of membership.layout.members) counts[membership.liveness(m.id)]++;
    for (const [state, n] of Object.entries(counts)) metrics.clusterNodes.set({ state }, n);
  };
  updateNodeGauge();
  workers.push(startWorker(detector, config.cluster.pingIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'failure detector round failed')));
  workers.push(startWorker(orphans, config.store.gcIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'store-gc pass failed')));
  const parts = new PartsCollector({ coordinator, local: store, clock, logger: logger.child({ component: 'parts-gc' }), metrics, graceMs: config.store.partGraceMs });
  workers.push(startWorker(parts, config.store.gcIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'parts-gc pass failed')));
  started = true;
  logger.info({ s3: servers[1]!.address, rpc: servers[0]!.address, members: membership.layout.members.length }, 'node started');

  return {
    config,
    coordinator,
    membership,
    s3Address: () => servers[1]!.address,
    rpcAddress: () => servers[0]!.address,
    stop() {
      stopping ??= (async () => {
        await Promise.all([...servers].reverse().map((s) => s.close()));
        await Promise.all(workers.map((w) => w.stop()));
        await transport.close();
        await store.close();
        logger.info({}, 'node stopped');
      })();
      return stopping;
    },
  };
}
