/**
 * Shared pieces of the in-process cluster tests: a seeded random source and the config of one of
 * three simulated nodes (n1..n3 on the in-memory transport), over which a test lays what it needs.
 */
import type { Config } from '../../src/config/schema.js';
import { startNode, type RunningNode } from '../../src/node.js';
import { MemoryTransport } from '../../src/rpc/transport.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ReplicaApi } from '../../src/store/types.js';
import { silentLogger } from '../../src/util/logger.js';
import type { Random } from '../../src/util/random.js';
import { testConfig, type ConfigOverrides } from './config.js';
import { xorshift32 } from './data.js';

/** A deterministic `Random` from `seed`. */
export function seededRandom(seed: number): Random {
  const next = xorshift32(seed);
  return { float: () => next() / 2 ** 32, hex: (bytes) => Array.from({ length: bytes }, () => (next() & 0xff).toString(16).padStart(2, '0')).join('') };
}

/** The config of simulated node `id` of a 3-node cluster, N=3 R=2 W=2, with `overrides` on top. */
export function simNodeConfig(id: string, overrides: ConfigOverrides = {}): Config {
  const base: ConfigOverrides = {
    nodeId: id,
    dataDir: `/nonexistent/${id}`,
    s3: { listen: '127.0.0.1:0', accessKey: 'SIMKEY', secretKey: 'sim-secret-key-0123' },
    rpc: { listen: '127.0.0.1:0', secret: 'sim-cluster-secret-0123', timeoutMs: 1000 },
    replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 0 },
    ring: { vnodesPerUnit: 64 },
    store: { inlineThreshold: 1024, fsync: false, directIo: false },
    cluster: { members: ['n1', 'n2', 'n3'].map((m, i) => ({ id: m, address: `sim:${i}`, zone: `z${i}`, capacity: 1 })), pingIntervalMs: 60_000, downAfterMisses: 3 },
    log: { level: 'silent' },
  };
  return testConfig(base, overrides);
}

/** Wall-clock start of simulated time; node i runs i ms ahead of it. */
export const SIM_EPOCH_MS = 1_800_000_000_000;

/** A 3-node in-process cluster: memory stores on one in-memory transport, seeded and on simulated time. */
export interface SimCluster {
  readonly nodes: [RunningNode, RunningNode, RunningNode];
  readonly stores: [MemoryStore, MemoryStore, MemoryStore];
  readonly transport: MemoryTransport;
}

/** Options of `startSimCluster`. */
export interface SimClusterOptions {
  /** Node i gets `seededRandom(seed + i)`. */
  readonly seed: number;
  readonly overrides?: ConfigOverrides;
  /** Simulated wall clock (node i adds i ms); SIM_EPOCH_MS by default. */
  readonly now?: () => number;
  /** What the transport serves for a node instead of its store (to inject replica faults). */
  readonly replicaFor?: (id: string, store: MemoryStore) => ReplicaApi;
}

/**
 * Starts n1..n3. Pings answer on the nodes' time base, or every node would see its peers'
 * clocks far off and refuse writes. The caller stops the nodes.
 */
export async function startSimCluster(options: SimClusterOptions): Promise<SimCluster> {
  const now = options.now ?? (() => SIM_EPOCH_MS);
  const transport = new MemoryTransport({ clock: { now } });
  const nodes: RunningNode[] = [];
  const stores: MemoryStore[] = [];
  for (const [i, id] of ['n1', 'n2', 'n3'].entries()) {
    const store = new MemoryStore({ inlineThreshold: 1024 });
    stores.push(store);
    transport.register(id, options.replicaFor?.(id, store) ?? store);
    nodes.push(
      await startNode(simNodeConfig(id, options.overrides), { store, transport, logger: silentLogger, metrics: null, random: seededRandom(options.seed + i), clock: { now: () => now() + i } }),
    );
  }
  // Every store starts empty, so each node refills (serves no reads) until its first anti-entropy
  // pass has compared it with every peer: milliseconds once all three are registered.
  for (let waited = 0; nodes.some((n) => n.refilling()); waited += 10) {
    if (waited > 10_000) throw new Error('the simulated cluster did not finish its first anti-entropy passes');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { nodes: nodes as SimCluster['nodes'], stores: stores as SimCluster['stores'], transport };
}
