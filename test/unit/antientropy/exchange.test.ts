/**
 * The exchange between two replicas over the real codecs, measuring the bytes on the wire:
 * the budget is 8 KiB for 100,000 keys in sync and 4 KiB more per differing key.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findDifferences, planPartitions, readAll, type ExchangeContext } from '../../../src/antientropy/exchange.js';
import { MerkleResponder, scanPartitions } from '../../../src/antientropy/responder.js';
import { SharedPartitions } from '../../../src/antientropy/shared.js';
import type { MerklePeer, PartitionPlacement, RepairItem } from '../../../src/antientropy/types.js';
import { createHasher, type Hasher } from '../../../src/ring/hasher.js';
import { FakeReplica, entry, link, newTraffic, placement, type Traffic } from './fakes.js';

const KEYS = 100_000;
const NOW = 1_800_000_000_000;
const signal = new AbortController().signal;
let hasher: Hasher;
/** 100,000 keys, built once and cloned per test. */
let template: FakeReplica;

beforeAll(async () => {
  hasher = await createHasher();
  template = new FakeReplica('t', hasher);
  for (let i = 0; i < KEYS; i++) template.set(entry('photos', `2026/12/img-${i}.jpg`, { hlc: NOW * 1024 + i, node: 'n1' }, { storage: 'blob', size: 4096 }));
});

function pair(keys: number, layout: PartitionPlacement = placement(['a', 'b'])): { a: FakeReplica; b: FakeReplica; traffic: Traffic; ctx: ExchangeContext } {
  const a = keys === KEYS ? template.clone('a') : new FakeReplica('a', hasher);
  const b = keys === KEYS ? template.clone('b') : new FakeReplica('b', hasher);
  for (let i = 0; keys < KEYS && i < keys; i++) {
    const e = entry('photos', `2026/12/img-${i}.jpg`, { hlc: NOW * 1024 + i, node: 'n1' }, { storage: 'blob', size: 4096 });
    a.set(e);
    b.set(e);
  }
  const traffic = newTraffic();
  const peer = link(b, () => layout, traffic);
  return { a, b, traffic, ctx: { self: 'a', peer, source: a, layoutVersion: layout.layoutVersion, mask: new SharedPartitions('a').maskWith(layout, 'b') } };
}

async function exchange(ctx: ExchangeContext): Promise<RepairItem[]> {
  const { differing } = await findDifferences(ctx, signal);
  const items: RepairItem[] = [];
  for (let i = 0; i < differing.length; i += 256) items.push(...(await planPartitions(ctx, differing.slice(i, i + 256), { nowMs: NOW, tombstoneGraceMs: 86_400_000 }, signal)));
  return items;
}

describe('exchange bytes (100,000 keys)', () => {
  it('in sync: one request, one answer, no entries read; well under 8 KiB', async () => {
    const { traffic, ctx } = pair(KEYS);
    const found = await findDifferences(ctx, signal);
    expect(found).toEqual({ differing: [], equal: 65_536 });
    expect(await exchange(ctx)).toEqual([]);
    console.log(`in sync, ${KEYS} keys: ${traffic.bytes / 2} bytes per exchange, ${traffic.messages / 2} messages`);
    expect(traffic.summaryRequests).toBe(2);
    expect(traffic.entryRequests).toBe(0);
    expect(traffic.bytes / 2).toBeLessThanOrEqual(8 * 1024);
    expect(traffic.bytes / 2).toBeLessThan(200);
  });

  it('one differing key: exactly that key, at most 4 KiB more', async () => {
    const base = pair(KEYS);
    await exchange(base.ctx);
    const inSync = base.traffic.bytes;
    const { a, b, traffic, ctx } = pair(KEYS);
    b.set(entry('photos', '2026/12/img-42.jpg', { hlc: (NOW + 5000) * 1024, node: 'n2' }, { storage: 'blob', size: 1 << 20 }));
    const items = await exchange(ctx);
    expect(items.map((i) => [i.key, i.source, i.target, i.reason])).toEqual([['2026/12/img-42.jpg', 'b', 'a', 'stale']]);
    const extra = traffic.bytes - inSync;
    console.log(`one differing key: ${traffic.bytes} bytes (${extra} more than in sync), ${traffic.messages} messages`);
    expect(extra).toBeLessThanOrEqual(4 * 1024);
    expect(traffic.entryRequests).toBe(1);
    expect(a.get('photos', '2026/12/img-42.jpg')?.version.node).toBe('n1');
  });

  it('one missing key on this side: exactly that key pulled', async () => {
    const { a, traffic, ctx } = pair(KEYS);
    a.delete('photos', '2026/12/img-7.jpg');
    const items = await exchange(ctx);
    expect(items.map((i) => [i.key, i.source, i.target, i.reason])).toEqual([['2026/12/img-7.jpg', 'b', 'a', 'missing']]);
    expect(traffic.bytes).toBeLessThanOrEqual(8 * 1024 + 4 * 1024);
  });

  it('1,000 differing keys: each found, under 4 KiB per key', async () => {
    const { b, traffic, ctx } = pair(KEYS);
    for (let i = 0; i < 1000; i++) b.set(entry('photos', `2026/12/img-${i * 97}.jpg`, { hlc: (NOW + 5000) * 1024 + i, node: 'n2' }));
    const items = await exchange(ctx);
    expect(items).toHaveLength(1000);
    expect(new Set(items.map((i) => i.key)).size).toBe(1000);
    console.log(`1000 differing keys: ${traffic.bytes} bytes (${(traffic.bytes / 1000).toFixed(0)} per key), ${traffic.messages} messages`);
    expect(traffic.bytes / 1000).toBeLessThanOrEqual(4 * 1024);
  });

  it('a wiped replica: every key planned, in a bounded number of messages', async () => {
    const { a, traffic, ctx } = pair(KEYS);
    a.wipe();
    const items = await exchange(ctx);
    expect(items).toHaveLength(KEYS);
    expect(items.every((i) => i.source === 'b' && i.target === 'a' && i.reason === 'missing')).toBe(true);
    console.log(`wiped replica, ${KEYS} keys: ${traffic.bytes} bytes (${(traffic.bytes / KEYS).toFixed(1)} per key), ${traffic.messages} messages`);
    expect(traffic.messages).toBeLessThan(2 * (1 + 1 + 1 + 4 + 256 + 30));
  });
});

describe('exchange rules', () => {
  it('compares only the partitions both replicas own', async () => {
    const layout = placement(['a', 'b', 'c'], (p) => (p % 2 === 0 ? ['a', 'b'] : ['a', 'c']));
    const { a, b, ctx } = pair(0, layout);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const key of keys) b.set(entry('b', key, { hlc: NOW * 1024, node: 'n1' }));
    const shared = keys.filter((k) => a.partitionOf('b', k) % 2 === 0);
    const items = await exchange(ctx);
    expect(items.map((i) => i.key).sort()).toEqual(shared.sort());
    expect(shared.length).toBeGreaterThan(50);
  });

  it('repairs a quarantined copy from the good one', async () => {
    const { a, ctx } = pair(1000);
    const held = a.get('photos', '2026/12/img-5.jpg')!;
    a.set({ ...held, storage: 'quarantined' });
    const items = await exchange(ctx);
    expect(items.map((i) => [i.key, i.source, i.target, i.reason, i.version])).toEqual([['2026/12/img-5.jpg', 'b', 'a', 'quarantined', held.version]]);
  });

  it('stops with ServiceUnavailable when the peer is on another layout version', async () => {
    const { ctx } = pair(10);
    await expect(findDifferences({ ...ctx, layoutVersion: 2 }, signal)).rejects.toMatchObject({ code: 'ServiceUnavailable' });
  });

  it('pages through partitions larger than one answer', async () => {
    const a = new FakeReplica('a', hasher);
    const crowded = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
    for (const key of crowded) a.set(entry('b', key, { hlc: 1, node: 'n' }));
    const parts = [...new Set(crowded.map((k) => a.partitionOf('b', k)))].sort((x, y) => x - y).slice(0, 300);
    const responder = new MerkleResponder({ source: a, placement: () => placement(['a']), shared: new SharedPartitions('a') });
    let calls = 0;
    const got = await readAll(parts, (ps, after) => {
      calls++;
      return responder.entries(after === undefined ? { layoutVersion: 1, partitions: ps, limit: 7 } : { layoutVersion: 1, partitions: ps, after, limit: 7 });
    });
    const direct = await readAll(parts, (ps, after) => scanPartitions(a, ps, after, 100_000));
    expect(calls).toBeGreaterThan(10);
    expect(got).toEqual(direct);
    expect([...got.values()].reduce((n, es) => n + es.length, 0)).toBe(crowded.filter((k) => parts.includes(a.partitionOf('b', k))).length);
  });

  it('rejects a peer answer that skips a partition', async () => {
    const bogus: MerklePeer['entries'] = () => Promise.resolve({ groups: [{ partition: 9, entries: [] }] });
    await expect(readAll([1, 9], (ps) => bogus({ layoutVersion: 1, partitions: ps, limit: 1 }, signal))).rejects.toMatchObject({ code: 'RpcProtocol' });
  });
});
