/**
 * The clock's high-water mark across a restart, through the composition root: a node whose
 * wall clock went back 10 s while it was down refuses writes (ClockSkew, and /ready says why)
 * instead of issuing versions older than its own earlier ones, and once its clock has passed
 * the mark its writes are newer than everything it wrote before.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOCK_HIGH_WATER_FILE, startNode, type RunningNode } from '../../src/node.js';
import { silentLogger } from '../../src/util/logger.js';
import { RingstoreError } from '../../src/util/errors.js';
import type { Config } from '../../src/config/schema.js';
import { testConfig } from '../helpers/config.js';

function configFor(dataDir: string): Config {
  return testConfig({
    nodeId: 'n1',
    dataDir,
    s3: { listen: '127.0.0.1:0', accessKey: 'SIMKEY', secretKey: 'sim-secret-key-0123456789' },
    rpc: { listen: '127.0.0.1:0', secret: 'sim-cluster-secret-0123', timeoutMs: 1000 },
    replication: { factor: 1, readQuorum: 1, writeQuorum: 1, readRepairPercent: 0 },
    ring: { vnodesPerUnit: 16 },
    store: { inlineThreshold: 1024, fsync: false, directIo: false },
    cluster: { members: [{ id: 'n1', address: '127.0.0.1:1', zone: 'z1', capacity: 1 }], pingIntervalMs: 60_000, downAfterMisses: 3, maxClockOffsetMs: 250 },
    log: { level: 'silent' },
  });
}

const record = { bucket: 'b', key: 'k', tombstone: false, size: 0, etag: '', contentType: '', userMeta: {} };

describe('the hybrid clock across a restart', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('never issues a version below one issued before the restart, even with the wall clock set back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringstore-restart-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    let t = 1_800_000_000_000;
    const clock = { now: () => t };

    const first: RunningNode = await startNode(configFor(dir), { clock, logger: silentLogger, metrics: null });
    const before = await first.coordinator.putSmall(record, new Uint8Array(0));
    await first.stop();
    const mark = JSON.parse(await readFile(join(dir, CLOCK_HIGH_WATER_FILE), 'utf8')) as { wallMs: number };
    expect(mark.wallMs).toBeGreaterThan(t);

    t -= 10_000; // the host's clock was corrected back 10 s while the node was down
    const second = await startNode(configFor(dir), { clock, logger: silentLogger, metrics: null });
    cleanup.push(() => second.stop());
    const refused = await second.coordinator.putSmall(record, new Uint8Array(0)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RingstoreError);
    expect((refused as RingstoreError).code).toBe('ClockSkew');
    expect((refused as RingstoreError).message).toMatch(/behind the versions it issued before it restarted/);
    const ready = await fetch(`http://${second.rpcAddress()}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/clock: its clock is \d+ ms behind/);

    t = mark.wallMs + 1;
    const after = await second.coordinator.putSmall(record, new Uint8Array(0));
    expect(after.version.hlc).toBeGreaterThan(before.version.hlc);
    expect((await fetch(`http://${second.rpcAddress()}/ready`)).status).toBe(200);
  });
});
