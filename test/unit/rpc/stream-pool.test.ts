/**
 * Streams (stage, read) have a connection pool of their own: uploads that stall (their S3
 * client stopped sending) never leave heads, commits and pings to the same peer without a
 * connection, and a stream queued behind a full pool fails at its deadline instead of waiting
 * for a connection that may never come free.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from '../../../src/rpc/client.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';
import { SECRET, metaFor, startHarness } from './harness.js';

const TIMEOUT = 500;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A body that yields one chunk and then nothing until `release()` (which fails it). */
function stalledBody(): { body: AsyncGenerator<Uint8Array>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* body(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(1024);
    await released;
    throw new Error('stalled client gone');
  }
  return { body: body(), release };
}

async function setup(streamsPerPeer: number) {
  const store = new MemoryStore();
  await store.open();
  cleanups.push(() => store.close());
  const h = await startHarness(store, TIMEOUT);
  cleanups.push(() => h.close());
  const client = new RpcClient({ nodeId: 'client', secret: SECRET, timeoutMs: TIMEOUT, logger: silentLogger, connectionsPerPeer: 2, streamsPerPeer });
  cleanups.push(() => client.close());
  const remote = client.replica('server', h.server.address);
  await remote.commit(metaFor('k', 1), { kind: 'inline', data: new Uint8Array([7]) });
  return { client, remote, address: h.server.address };
}

describe('rpc stream pool', () => {
  it('stalled stages, more than every connection of both pools, do not hold up head, commit and ping', async () => {
    const { client, remote, address } = await setup(4);
    const stalled = Array.from({ length: 6 }, () => stalledBody());
    const stages = stalled.map((s) => remote.stage(s.body).catch((err: unknown) => err));
    cleanups.push(async () => {
      for (const s of stalled) s.release();
      await Promise.all(stages);
    });
    await new Promise((r) => setTimeout(r, 100));

    const started = performance.now();
    const head = await remote.head('bucket-1', 'k');
    expect(head?.record.size).toBe(1);
    await remote.commit(metaFor('k2', 1), { kind: 'inline', data: new Uint8Array([8]) });
    await client.ping('server', address);
    expect(performance.now() - started).toBeLessThan(TIMEOUT);
  });

  it('a stage queued behind a full stream pool fails with RpcTimeout at its deadline', async () => {
    const { remote } = await setup(1);
    const first = stalledBody();
    const holding = remote.stage(first.body).catch((err: unknown) => err);
    cleanups.push(async () => {
      first.release();
      await holding;
    });
    const second = stalledBody();
    cleanups.push(() => second.release());
    const started = performance.now();
    const queued = await remote.stage(second.body).catch((err: unknown) => err);
    const took = performance.now() - started;
    expect(queued).toBeInstanceOf(RingstoreError);
    expect((queued as RingstoreError).code).toBe('RpcTimeout');
    expect(took).toBeGreaterThanOrEqual(TIMEOUT - 50);
    expect(took).toBeLessThan(TIMEOUT + 1000);
  });
});
