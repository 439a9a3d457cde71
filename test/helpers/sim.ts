/**
 * Shared pieces of the in-process cluster tests: a seeded random source and the config of one of
 * three simulated nodes (n1..n3 on the in-memory transport), over which a test lays what it needs.
 */
import type { Config } from '../../src/config/schema.js';
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
  const merged = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) merged[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(base[k as keyof ConfigOverrides] as object), ...v } : v;
  return testConfig(merged as ConfigOverrides);
}
