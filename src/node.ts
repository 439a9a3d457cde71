/**
 * The composition root: builds one running node from a Config. It is the only place that
 * constructs parts and wires them together; the clock, random source, RPC transport and
 * local store are injectable so a whole cluster can run in one process under simulation.
 * Parts start in order and stop in reverse.
 */
import { mkdir } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type Koa from 'koa';
import { Registry } from 'prom-client';
import type { Config } from './config/schema.js';
import type { Layout } from './ring/layout.js';
import { createHasher } from './ring/hasher.js';
import type { LocalStore, ReplicaApi } from './store/types.js';
import { LevelStore } from './store/level-store.js';
import { OrphanCollector } from './store/orphan-collector.js';
import { Membership } from './cluster/membership.js';
import { FailureDetector } from './cluster/failure-detector.js';
import { ClockSkewMonitor } from './cluster/clock-skew.js';
import { HighWaterFile } from './store/clock-high-water.js';
import { RpcClient } from './rpc/client.js';
import type { ReplicaResolver } from './rpc/transport.js';
import { createRpcApp } from './rpc/server.js';
import { Coordinator } from './replication/coordinator.js';
import { Buckets } from './model/buckets.js';
import { AccessKeys } from './model/keys.js';
import { keyRoutes } from './admin/keys-route.js';
import { Multipart } from './model/multipart.js';
import { PartsCollector } from './model/parts-collector.js';
import { createS3App } from './s3/server.js';
import { mountHealthRoutes } from './admin/health-routes.js';
import { mountAdminApi } from './admin/admin-api.js';
import { statusRoute, type StatusSection } from './admin/status-route.js';
import { scrubRoutes } from './admin/scrub-route.js';
import { ScrubWorker } from './antientropy/scrub.js';
import { TombstoneGcWorker } from './antientropy/tombstone-gc.js';
import { repairRoutes } from './admin/repair-route.js';
import { AntiEntropyWorker } from './antientropy/worker.js';
import { MerkleResponder } from './antientropy/responder.js';
import { SharedPartitions } from './antientropy/shared.js';
import { ReplicaCopier } from './antientropy/replica-copier.js';
import { RefillGate, mustRefill } from './antientropy/refill.js';
import { merkleNudgeEndpoint, mountMerkle, remoteMerklePeer } from './antientropy/endpoints.js';
import type { PartitionPlacement } from './antientropy/types.js';
import type { EndpointRegistry } from './rpc/registry.js';
import type { Liveness } from './cluster/membership.js';
import { createMetrics, type Metrics } from './metrics/definitions.js';
import { HybridClock, hlcWallMs, sleep, systemClock, systemTimers, type Clock, type Timers } from './util/clock.js';
import { cryptoRandom, type Random } from './util/random.js';
import { createLogger, type Logger } from './util/logger.js';
import { startHttpServer, type StartedHttpServer } from './util/http-server.js';
import { startWorker, type WorkerHandle } from './util/worker.js';
import { RingstoreError, describeError } from './util/errors.js';
import { HintDelivery, startHintDelivery } from './handoff/hint-delivery.js';
import { countingHints } from './handoff/queued-counter.js';
import { Readiness } from './util/readiness.js';
import { VERSION, COMMIT } from './version.js';

/** The injectable seams of a node. */
export interface NodeDeps {
  clock: Clock;
  /** Timers of the node's own background work, waits and deadlines (workers, pings, body idle guards, read speculation, quorum deadlines); virtual in the simulator. */
  timers: Timers;
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
  /** The store was empty at open and anti-entropy has not yet compared it with every peer: reads are refused (docs/consistency.md). */
  refilling(): boolean;
  /** Graceful stop: not ready, stop listening, drain, stop workers, close the store. */
  stop(): Promise<void>;
}

/** A koa app as a plain request listener; koa answers its own errors, so its promise needs no catch. */
export function listenerOf(app: Koa): RequestListener {
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

/** The initial layout described by the config (version 1). */
export function layoutFromConfig(config: Config): Layout {
  return { version: 1, members: config.cluster.members.map((m) => ({ ...m, state: 'active' as const })) };
}

/** Name of the clock's high-water mark file in the data dir. */
export const CLOCK_HIGH_WATER_FILE = 'clock-high-water';

/** How far ahead of its versions the clock reserves its high-water mark (one write per half of it). */
const HIGH_WATER_WINDOW_MS = 1000;

/** A restart this soon after the mark waits for the wall clock to pass it instead of refusing writes. */
const HIGH_WATER_WAIT_MS = 5000;

/** Milliseconds between hint delivery passes when nothing wakes it (a peer coming back does). */
const HINT_SCAN_INTERVAL_MS = 1000;
/** How often the anti-entropy worker looks for due work (queued partitions and peers, a due or requested pass). */
const ANTI_ENTROPY_TICK_MS = 1000;
/** The tick of a refilling node: a pass that could not reach every peer (a new cluster still starting) is retried this soon. */
const REFILL_TICK_MS = 100;

/**
 * Anti-entropy copies in flight at once: small bodies ride on the source's batched heads (64 at
 * once refilled 4 KiB objects ~1.5x faster than 16), large ones each hold one of the peer's
 * streamed-read connections (rpc.streamsPerPeer), so fewer of those, to leave room for GETs.
 */
const ANTI_ENTROPY_CONCURRENCY = 64;
const ANTI_ENTROPY_LARGE_CONCURRENCY = 8;

/** Builds and starts one node. */
export async function startNode(config: Config, deps: Partial<NodeDeps> = {}): Promise<RunningNode> {
  const logger = deps.logger ?? createLogger({ level: config.log.level, base: { node: config.nodeId } });
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const random = deps.random ?? cryptoRandom;
  const metrics = deps.metrics !== undefined ? deps.metrics : createMetrics(new Registry(), { version: VERSION, commit: COMMIT });

  const membership = new Membership({ selfId: config.nodeId, layout: layoutFromConfig(config), hasher: await createHasher(), vnodesPerUnit: config.ring.vnodesPerUnit });
  // A key's partition depends only on its hash, never on the layout, so every ring agrees on it.
  const partitionOf = (bucket: string, key: string): number => membership.ring.partitionOf(bucket, key);

  if (!deps.store) await mkdir(config.dataDir, { recursive: true });
  const store =
    deps.store ??
    new LevelStore({
      dir: config.dataDir,
      fsync: config.store.fsync,
      directIo: config.store.directIo,
      inlineThreshold: config.store.inlineThreshold,
      blobDeleteDelayMs: config.store.blobDeleteDelayMs,
      random,
      clock,
      timers,
      partitionOf,
      logger: logger.child({ component: 'store' }),
      onQuarantine: (q) => metrics?.corruptBodies.inc({ storage: q.storage }),
    });
  await store.open();
  // Leftovers of the previous run (a crash included) go before anything can be staged again.
  const orphans = new OrphanCollector(store, { olderThanMs: config.store.orphanAgeMs, metrics, clock });
  await orphans.startupPass();

  // The clock's high-water mark lives beside the store it versions (simulated stores have none).
  let floorMs: number | undefined;
  let highWater: HighWaterFile | undefined;
  if (!deps.store) {
    const opened = await HighWaterFile.open(join(config.dataDir, CLOCK_HIGH_WATER_FILE), { windowMs: HIGH_WATER_WINDOW_MS, fsync: config.store.fsync });
    floorMs = opened.floorMs;
    highWater = opened.file;
    // A quick restart finds the mark up to a window ahead: wait it out rather than refuse writes.
    const behindMs = floorMs - clock.now();
    if (behindMs > 0 && behindMs <= HIGH_WATER_WAIT_MS) await sleep(timers, behindMs + 1);
  }
  let futureLoggedAt = -Infinity;
  let futureSuppressed = 0;
  const hlc = new HybridClock(config.nodeId, clock, {
    maxAheadMs: config.cluster.maxClockOffsetMs,
    ...(floorMs !== undefined && { floorMs }),
    ...(highWater !== undefined && { highWater }),
    onRefused: (version, aheadMs) => {
      metrics?.clockFutureVersions.inc();
      // One line per 10 s at most: a skewed writer can make every read of a hot key see one.
      const now = clock.now();
      if (now - futureLoggedAt < 10_000) {
        futureSuppressed++;
        return;
      }
      logger.warn(
        { aheadMs, wallMs: hlcWallMs(version), boundMs: config.cluster.maxClockOffsetMs, suppressed: futureSuppressed },
        'saw a version further ahead of this clock than cluster.maxClockOffsetMs; not adopted (a skewed clock wrote it)',
      );
      futureLoggedAt = now;
      futureSuppressed = 0;
    },
  });

  const transport: ReplicaResolver =
    deps.transport ??
    new RpcClient({ nodeId: config.nodeId, secret: config.rpc.secret, timeoutMs: config.rpc.timeoutMs, streamsPerPeer: config.rpc.streamsPerPeer, timers, logger: logger.child({ component: 'rpc' }) });
  // The replica this node serves (and calls in-process): the store, with the hints it takes counted.
  const counted = countingHints(store, metrics);
  // A store empty at open in a cluster of several nodes lost its disk (or the cluster is new):
  // it serves no reads until anti-entropy compared it with every peer (docs/consistency.md).
  const refill = new RefillGate(mustRefill(store.partitionDigests(), membership.layout.members.length, config.antiEntropy.enabled), clock.now(), config.antiEntropy.refillPeerWaitMs);
  const served = refill.guard(counted);
  const replicaFor = (member: { id: string; address: string }): ReplicaApi => (member.id === config.nodeId ? served : transport.replica(member.id, member.address));
  const skew = new ClockSkewMonitor({ membership, boundMs: config.cluster.maxClockOffsetMs, logger: logger.child({ component: 'clock' }), metrics });
  const behindFloor = (): string | undefined => {
    const behindMs = hlc.behindFloorMs();
    return behindMs > 0 ? `its clock is ${behindMs} ms behind the versions it issued before it restarted (${CLOCK_HIGH_WATER_FILE} in the data dir)` : undefined;
  };
  const writeRefusal = (): RingstoreError | undefined => {
    const refusal = skew.writeRefusal();
    if (refusal) return refusal;
    const behind = behindFloor();
    if (behind === undefined) return undefined;
    metrics?.clockRefusedWrites.inc();
    return new RingstoreError('ClockSkew', `This node's clock is behind: ${behind}. Writes are refused until it catches up; send them to another node.`, { behindMs: hlc.behindFloorMs() });
  };

  const coordinator = new Coordinator({
    membership,
    replicaFor,
    clock: hlc,
    timers,
    writeRefusal,
    logger: logger.child({ component: 'coordinator' }),
    metrics,
    n: config.replication.factor,
    r: config.replication.readQuorum,
    w: config.replication.writeQuorum,
    inlineThreshold: config.store.inlineThreshold,
    random,
    readRepairChance: config.replication.readRepairPercent / 100,
    sloppyQuorum: config.replication.sloppyQuorum,
  });
  const buckets = new Buckets(coordinator, clock);
  const keys = new AccessKeys(coordinator, clock, random);
  const multipart = new Multipart(coordinator, random);

  // Scrub and tombstone GC. A corrupt copy scrub finds is repaired at once by a coordinator read
  // of all N replicas (read repair restores quarantined copies), and its partition is compared
  // by anti-entropy next, should that read fail.
  const scrub = config.scrub.enabled
    ? new ScrubWorker({
        source: store,
        clock,
        timers,
        logger: logger.child({ component: 'scrub' }),
        metrics,
        settings: { intervalMs: config.scrub.intervalMs, maxBytesPerSecond: config.scrub.maxMiBps * 1024 * 1024 },
        onCorrupt: (bucket, key, partition) => {
          coordinator.background(coordinator.repairKey(bucket, key));
          antiEntropy?.prioritize(partition);
        },
      })
    : undefined;
  const tombstoneGc = config.tombstoneGc.enabled
    ? new TombstoneGcWorker({
        self: config.nodeId,
        source: store,
        ownersOf: (p) => membership.ring.preferenceListOfPartition(p, config.replication.factor).replicas.map((m) => m.id),
        headOn: async (owner, bucket, key, signal) => {
          const member = membership.ring.members.find((m) => m.id === owner);
          if (member === undefined) throw new RingstoreError('PeerUnavailable', `${owner} is not a member`);
          return (await replicaFor(member).head(bucket, key, {}, signal))?.record;
        },
        clock,
        logger: logger.child({ component: 'tombstone-gc' }),
        metrics,
        settings: { graceMs: config.replication.tombstoneGraceMs, intervalMs: config.tombstoneGc.intervalMs },
      })
    : undefined;
  const startScrubAndGc = (): void => {
    if (scrub) workers.push(startWorker(scrub, 1000, (err) => logger.warn({ err: describeError(err) }, 'scrub step failed'), timers));
    if (tombstoneGc) workers.push(startWorker(tombstoneGc, 1000, (err) => logger.warn({ err: describeError(err) }, 'tombstone GC pass failed'), timers));
  };

  let started = false;
  let stopping: Promise<void> | undefined;
  const readiness = new Readiness();
  readiness.add('node', () => (stopping ? 'shutting down' : started ? undefined : 'starting'));
  readiness.add('store', () => store.writeProblem?.());
  // A node refilling after an empty start still coordinates every request, but its own replica
  // answers no reads yet; load balancers (and the test and dev clusters) wait for it.
  readiness.add('refill', () => refill.reason());
  readiness.add('clock', () => skew.readinessReason() ?? (behindFloor() === undefined ? undefined : `${behindFloor()!}; refusing writes`));
  const startedMs = clock.now();
  // Background subsystems add their progress here; GET /admin/v1/status reports each.
  const statusSections: StatusSection[] = [];

  // Anti-entropy: every node serves the Merkle exchange, and (when enabled) pulls from each peer
  // what it lacks, paced by antiEntropy.*; a peer seen coming back up is compared at once, and a
  // node that restarts (an empty data dir included) starts a full pass as soon as it is up.
  let aePlacement: PartitionPlacement | undefined;
  const placement = (): PartitionPlacement => {
    const { ring } = membership;
    if (aePlacement?.layoutVersion !== ring.layout.version) {
      aePlacement = { layoutVersion: ring.layout.version, ownersOf: (p) => ring.preferenceListOfPartition(p, config.replication.factor).replicas.map((m) => m.id) };
    }
    return aePlacement;
  };
  const shared = new SharedPartitions(config.nodeId);
  const responder = new MerkleResponder({ source: store, placement, shared });
  const addressOf = (id: string): string => membership.member(id)?.address ?? '';
  // The one way a copy of a key's version goes from a replica that holds it to one that lacks it
  // (anti-entropy repairs, hint delivery): same version, body checked by size and CRC32.
  const copier = new ReplicaCopier((id) => {
    const member = membership.member(id);
    if (member === undefined) throw new RingstoreError('InvalidArgument', `unknown member ${id}`, { id });
    // This node's own copies are its to move even while it refills (hints it took, say).
    return member.id === config.nodeId ? counted : replicaFor(member);
  });
  const antiEntropy = config.antiEntropy.enabled
    ? new AntiEntropyWorker({
        self: config.nodeId,
        source: store,
        placement,
        shared,
        peer: (id) => remoteMerklePeer(transport, id, addressOf(id)),
        // A refilling node tries every peer, whatever its failure detector believes: it serves no reads until each was compared.
        isUp: (id) => refill.refilling || membership.isUsable(id),
        repairer: copier,
        clock,
        timers,
        logger: logger.child({ component: 'anti-entropy' }),
        metrics,
        direction: 'pull',
        settings: {
          intervalMs: config.antiEntropy.intervalMs,
          maxPartitionsPerSecond: config.antiEntropy.maxPartitionsPerSecond,
          maxBytesPerSecond: config.antiEntropy.maxMiBps * 1024 * 1024,
          batchPartitions: config.antiEntropy.batchPartitions,
          tombstoneGraceMs: config.replication.tombstoneGraceMs,
          repairConcurrency: ANTI_ENTROPY_CONCURRENCY,
          largeRepairConcurrency: ANTI_ENTROPY_LARGE_CONCURRENCY,
        },
        onPassDone: (progress) => {
          const wasRefilling = refill.refilling;
          // A pass that could not reach every peer is retried at the next tick, not after intervalMs.
          if (refill.passEnded(progress, clock.now(), (id) => membership.isUsable(id))) void antiEntropy?.repairNow().catch(() => undefined);
          else if (wasRefilling) logger.info({ keysRepaired: progress.keysRepaired, ...refill.snapshot() }, 'refilled from every peer; serving reads');
        },
      })
    : undefined;
  if (refill.refilling) logger.warn({}, 'the store is empty: refilling from the peers before serving reads');
  statusSections.push({ name: 'refill', snapshot: () => refill.snapshot() });
  if (antiEntropy) statusSections.push({ name: 'antiEntropy', snapshot: () => antiEntropy.progress() });
  const lastLiveness = new Map<string, Liveness>();
  const antiEntropyOnLiveness = (peerId: string, state: Liveness): void => {
    if (state === 'up' && lastLiveness.get(peerId) === 'down') {
      // Compare with it, and ask it to pull from us: it may have missed writes while away.
      antiEntropy?.exchangeWith(peerId);
      transport
        .call(peerId, addressOf(peerId), merkleNudgeEndpoint, { from: config.nodeId })
        .catch((err: unknown) => logger.debug({ peer: peerId, err: describeError(err) }, 'anti-entropy nudge failed'));
    }
    lastLiveness.set(peerId, state);
  };
  /** Every endpoint this node serves beyond the replica verbs and the ping (over HTTP and in memory alike). */
  const endpoints = (registry: EndpointRegistry): void => {
    mountMerkle(registry, responder, (peer) => antiEntropy?.exchangeWith(peer));
  };
  transport.serve?.(config.nodeId, endpoints, (replica) => refill.guard(replica));
  const health = { readiness: () => readiness.state(), metrics, metricsToken: config.metrics.token };
  // A peer's stage may legitimately pause while its S3 client does (up to s3.idleTimeoutMs);
  // only a connection silent for longer than that, plus an RPC timeout, is given up.
  const rpcIdleMs = config.s3.idleTimeoutMs + config.rpc.timeoutMs;
  const rpcApp = createRpcApp({
    replica: served,
    secret: config.rpc.secret,
    nodeId: config.nodeId,
    logger: logger.child({ component: 'rpc-server' }),
    clock,
    idleTimeoutMs: rpcIdleMs,
    endpoints,
    extraRoutes: (router) => {
      mountHealthRoutes(router, health);
      mountAdminApi(router, config.admin.token, [
        statusRoute({
          nodeId: config.nodeId,
          membership,
          clock,
          startedMs,
          replicationFactor: config.replication.factor,
          s3Address: () => servers[1]?.address ?? config.s3.listen,
          sections: statusSections,
        }),
        ...scrubRoutes(scrub),
        ...repairRoutes(config.nodeId, antiEntropy),
        ...keyRoutes(keys, buckets),
      ]);
    },
  });
  const s3App = createS3App({ coordinator, buckets, keys, multipart, config, clock, timers, random, logger: logger.child({ component: 's3' }), metrics, health });

  const servers: StartedHttpServer[] = [];
  const workers: WorkerHandle[] = [];
  try {
    servers.push(await startHttpServer(listenerOf(rpcApp), config.rpc.listen, { maxConnections: config.rpc.maxConnections, socketIdleTimeoutMs: rpcIdleMs }));
    // The S3 socket backstop is twice the idle timeout: request bodies and streamed responses
    // time out first, with a proper answer; this catches whatever else stops (a buffered
    // response nobody reads) without cutting a handler that is briefly busy on its own.
    servers.push(
      await startHttpServer(listenerOf(s3App), config.s3.listen, {
        headersTimeoutMs: config.s3.headersTimeoutMs,
        maxConnections: config.s3.maxConnections,
        socketIdleTimeoutMs: 2 * config.s3.idleTimeoutMs,
      }),
    );
  } catch (err) {
    await Promise.all(servers.map((s) => s.close(0)));
    await store.close();
    throw err;
  }

  const detector = new FailureDetector({
    membership,
    ping: async (peerId, address, signal) => {
      // Every ping is also a clock sample: the peer's time against the midpoint of the round trip.
      const sentMs = clock.now();
      const answer = await transport.ping(peerId, address, signal);
      skew.record(peerId, sentMs, answer.time, clock.now());
    },
    pingTimeoutMs: Math.min(config.cluster.pingTimeoutMs, config.rpc.timeoutMs),
    downAfterMisses: config.cluster.downAfterMisses,
    intervalMs: config.cluster.pingIntervalMs,
    confirmAfterMs: Math.min(100, config.cluster.pingIntervalMs),
    logger: logger.child({ component: 'failure-detector' }),
    metrics,
    onChange: (peerId, state) => {
      updateNodeGauge();
      // A peer back up gets the writes it missed at once.
      hints.wake();
      antiEntropyOnLiveness(peerId, state);
    },
    timers,
  });
  const updateNodeGauge = (): void => {
    if (!metrics) return;
    const counts = { up: 0, suspect: 0, down: 0 };
    for (const m of membership.layout.members) counts[membership.liveness(m.id)]++;
    for (const [state, n] of Object.entries(counts)) metrics.clusterNodes.set({ state }, n);
  };
  updateNodeGauge();
  const hintDelivery = new HintDelivery({
    selfId: config.nodeId,
    store,
    copier,
    isUp: (id) => membership.isUsable(id),
    ownsKey: (bucket, key) => membership.ring.preferenceList(bucket, key, config.replication.factor).replicas.some((m) => m.id === config.nodeId),
    partitionOf,
    clock,
    bounds: { maxBytes: config.hints.maxBytes, maxAgeMs: config.hints.maxAgeMs },
    metrics,
    logger: logger.child({ component: 'hint-delivery' }),
    // Anti-entropy refills what a dropped hint would have delivered.
    onDropped: (partition) => antiEntropy?.prioritize(partition),
  });
  statusSections.push({ name: 'hints', snapshot: () => hintDelivery.snapshot() });
  const hints = startHintDelivery(hintDelivery, HINT_SCAN_INTERVAL_MS, (err) => logger.warn({ err: describeError(err) }, 'hint delivery pass failed'), timers);
  workers.push(hints);
  workers.push(detector.start());
  workers.push(startWorker(orphans, config.store.gcIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'store-gc pass failed'), timers));
  const parts = new PartsCollector({ coordinator, local: store, clock, logger: logger.child({ component: 'parts-gc' }), metrics, graceMs: config.store.partGraceMs });
  workers.push(startWorker(parts, config.store.gcIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'parts-gc pass failed'), timers));
  startScrubAndGc();
  if (scrub) statusSections.push({ name: 'scrub', snapshot: () => scrub.progress() });
  if (tombstoneGc) statusSections.push({ name: 'tombstoneGc', snapshot: () => tombstoneGc.progress() });
  if (antiEntropy)
    workers.push(startWorker(antiEntropy, refill.refilling ? REFILL_TICK_MS : ANTI_ENTROPY_TICK_MS, (err) => logger.warn({ err: describeError(err) }, 'anti-entropy step failed'), timers));
  started = true;
  logger.info({ s3: servers[1]!.address, rpc: servers[0]!.address, members: membership.layout.members.length }, 'node started');

  return {
    config,
    coordinator,
    membership,
    s3Address: () => servers[1]!.address,
    rpcAddress: () => servers[0]!.address,
    refilling: () => refill.refilling,
    stop() {
      stopping ??= (async () => {
        // A `POST /admin/v1/scrub {wait}` in flight is answered now, so it does not hold up the server's close.
        scrub?.abandon(new RingstoreError('ServiceUnavailable', 'the node is stopping'));
        await Promise.all([...servers].reverse().map((s) => s.close()));
        await Promise.all(workers.map((w) => w.stop()));
        // Late commits, discards and read repairs of requests already answered finish before the transport goes.
        await coordinator.drain();
        await transport.close();
        await highWater?.close();
        await store.close();
        logger.info({}, 'node stopped');
      })();
      return stopping;
    },
  };
}

// The offline store check runs without a node; the CLI reaches the store layer only through here.
export { checkStore, type FsckReport, type FsckProblem, type FsckLeftover } from './store/fsck.js';
