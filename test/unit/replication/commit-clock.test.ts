/**
 * The commit path and the clock: every commit answer carries the version the replica holds and
 * the coordinator's clock observes it. A write hidden by a version within the bound lost a race
 * (acknowledged, and the next write is newer); a write hidden by a version from a clock further
 * ahead than the bound is not acknowledged (ClockSkew → 503) instead of being silently lost.
 */
import { describe, it, expect } from 'vitest';
import { Coordinator, type PutObjectInput } from '../../../src/replication/coordinator.js';
import { Membership } from '../../../src/cluster/membership.js';
import { createHasher } from '../../../src/ring/hasher.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { HybridClock, hlcWallMs } from '../../../src/util/clock.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';

const NOW = 1_800_000_000_000;
const wall = { now: () => NOW };

async function setup(options: { writeRefusal?: () => RingstoreError | undefined; now?: () => number } = {}) {
  const { now, ...rest } = options;
  const ids = ['n1', 'n2', 'n3'];
  const stores = new Map(ids.map((id) => [id, new MemoryStore({ inlineThreshold: 1024 })]));
  for (const s of stores.values()) await s.open();
  const layout = { version: 1, members: ids.map((id, i) => ({ id, address: `sim:${i}`, zone: `z${i}`, capacity: 1, state: 'active' as const })) };
  const membership = new Membership({ selfId: 'n2', layout, hasher: await createHasher(), vnodesPerUnit: 16 });
  const coordinator = new Coordinator({
    membership,
    replicaFor: (m) => stores.get(m.id)!,
    clock: new HybridClock('n2', now ? { now } : wall, { maxAheadMs: 250 }),
    logger: silentLogger,
    metrics: null,
    n: 3,
    r: 2,
    w: 2,
    random: { float: () => 0.5, hex: (n) => '0'.repeat(n * 2) },
    readRepairChance: 0,
    inlineThreshold: 1024,
    ...rest,
  });
  const holdEverywhere = async (key: string, hlc: number): Promise<void> => {
    for (const s of stores.values()) {
      await s.commit({ bucket: 'b', key, version: { hlc, node: 'n1' }, tombstone: false, size: 3, etag: 'old', contentType: '', userMeta: {} }, { kind: 'inline', data: Buffer.from('old') });
    }
  };
  return { coordinator, stores, holdEverywhere };
}

function put(key: string, body: string): PutObjectInput {
  const chunks = (async function* () {
    yield Buffer.from(body);
  })();
  return { bucket: 'b', key, contentType: 'text/plain', userMeta: {}, body: chunks, seal: () => ({ etag: 'e' }) };
}

describe('commits and the clock', () => {
  it('does not acknowledge a write hidden by a version from a clock 1 s ahead (ClockSkew, not a silent 200)', async () => {
    const { coordinator, stores, holdEverywhere } = await setup();
    await holdEverywhere('k', (NOW + 1000) * 1024);
    const err = await coordinator.putObject(put('k', 'new')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreError);
    expect((err as RingstoreError).code).toBe('ClockSkew');
    expect((err as RingstoreError).message).toMatch(/written by n1 1000 ms ahead.*cluster\.maxClockOffsetMs/);
    const del = await coordinator.deleteObject('b', 'k').catch((e: unknown) => e);
    expect((del as RingstoreError).code).toBe('ClockSkew');
    // The future version is still what every replica holds; nobody was told otherwise.
    expect((await stores.get('n3')!.head('b', 'k'))?.record.etag).toBe('old');
  });

  it('a write hidden by a version within clock uncertainty (from a clock ahead) is committed again above it: the later request wins', async () => {
    const { coordinator, stores, holdEverywhere } = await setup();
    const ahead = (NOW + 100) * 1024;
    await holdEverywhere('k', ahead);
    const meta = await coordinator.putObject(put('k', 'raced'));
    expect(meta.version.hlc).toBeGreaterThan(ahead);
    expect(hlcWallMs(meta.version.hlc)).toBe(NOW + 100);
    for (const s of stores.values()) expect((await s.head('b', 'k'))?.record.version).toEqual(meta.version);
    // A DELETE too: its tombstone is re-versioned above the version that hid it.
    await holdEverywhere('d', ahead + 5000);
    await coordinator.deleteObject('b', 'd');
    for (const s of stores.values()) expect((await s.head('b', 'd'))?.record.tombstone).toBe(true);
  });

  it('a newer version stamped before this commit went out is a later request: this write loses and is acknowledged (issue 9)', async () => {
    let t = NOW;
    const { coordinator, stores, holdEverywhere } = await setup({ now: () => t });
    // The version is taken when the request arrives; while its body is read, a PUT that started
    // 200 ms later (within the bound of this one's version) commits everywhere.
    const body = (async function* () {
      t = NOW + 1000;
      await holdEverywhere('k', (NOW + 200) * 1024);
      yield Buffer.from('slow');
    })();
    const meta = await coordinator.putObject({ ...put('k', ''), body });
    expect(hlcWallMs(meta.version.hlc)).toBe(NOW);
    for (const s of stores.values()) expect((await s.head('b', 'k'))?.record.etag).toBe('old');
  });

  it('a staged write hidden within clock uncertainty is ClockSkew (503, retry), not an acknowledged hidden write', async () => {
    const { coordinator, stores, holdEverywhere } = await setup();
    await holdEverywhere('k', (NOW + 100) * 1024);
    const err = await coordinator.putObject(put('k', 'x'.repeat(2000))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingstoreError);
    expect((err as RingstoreError).code).toBe('ClockSkew');
    for (const s of stores.values()) expect((await s.head('b', 'k'))?.record.etag).toBe('old');
    // The clock observed it: the client's retry is committed above it.
    const retry = await coordinator.putObject(put('k', 'x'.repeat(2000)));
    for (const s of stores.values()) expect((await s.head('b', 'k'))?.record.version).toEqual(retry.version);
  });

  it('refuses writes before reading the body while the node may not write', async () => {
    const refusal = new RingstoreError('ClockSkew', 'clock off');
    const { coordinator } = await setup({ writeRefusal: () => refusal });
    let read = false;
    const body = (async function* () {
      read = true;
      yield Buffer.from('x');
    })();
    await expect(coordinator.putObject({ ...put('k', ''), body })).rejects.toBe(refusal);
    await expect(coordinator.deleteObject('b', 'k')).rejects.toBe(refusal);
    await expect(coordinator.putSmall({ bucket: '.buckets', key: 'x', tombstone: false, size: 0, etag: '', contentType: '', userMeta: {} }, new Uint8Array(0))).rejects.toBe(refusal);
    expect(read).toBe(false);
  });
});
