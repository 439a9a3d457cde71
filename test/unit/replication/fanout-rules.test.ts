/**
 * The fan-out's rules, on stub replicas that record what they receive: socket-sized chunks
 * reach the replicas gathered into 1 MiB writes; once the quorum is lost no more of the client's
 * body is read; every body that staged on a write that failed is discarded, including stages
 * that finish after the failure; and a lane torn down before its replica reads it is harmless.
 */
import { describe, it, expect } from 'vitest';
import { stageOnReplicas, type FanoutTarget } from '../../../src/replication/fanout.js';
import type { ReplicaApi, StagedBody } from '../../../src/store/types.js';
import { injected } from '../../helpers/replica-faults.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Stub extends FanoutTarget {
  readonly sizes: number[];
  readonly discarded: string[];
}

/** A replica whose stage runs `stage` (by default: read everything, then succeed). */
function stub(id: string, stage?: (body: AsyncIterable<Uint8Array>, sizes: number[]) => Promise<void>): Stub {
  const sizes: number[] = [];
  const discarded: string[] = [];
  const api = {
    stage: async (body: AsyncIterable<Uint8Array>): Promise<StagedBody> => {
      if (stage) await stage(body, sizes);
      else for await (const c of body) sizes.push(c.byteLength);
      return { id: `s-${id}`, size: sizes.reduce((a, b) => a + b, 0), crc32: 0 };
    },
    discard: async (sid: string) => void discarded.push(sid),
  } as unknown as ReplicaApi;
  return { id, api, sizes, discarded };
}

/** `count` chunks of `size` bytes; `pulled.n` counts how many were taken; throws `fail` at the end if given. */
function source(count: number, size: number, pulled: { n: number }, fail?: Error): AsyncIterator<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < count; i++) {
      pulled.n++;
      yield Buffer.alloc(size, i);
    }
    if (fail) throw fail;
  })();
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fan-out rules', () => {
  it('64 KiB chunks reach every replica gathered into 1 MiB writes', async () => {
    const targets = [stub('a'), stub('b'), stub('c')];
    const { staged, late } = await stageOnReplicas('PutObject', targets, 2, [], source(32, 64 * KiB, { n: 0 }), undefined);
    await late;
    expect(staged.length + (await late).length).toBe(3);
    for (const t of targets) expect(t.sizes).toEqual([MiB, MiB]);
  });

  it('once the quorum is lost, no more of the body is read', async () => {
    const fail = async (): Promise<void> => {
      throw injected('stage');
    };
    const pulled = { n: 0 };
    const targets = [stub('a'), stub('b', fail), stub('c', fail)];
    await expect(stageOnReplicas('PutObject', targets, 2, [], source(128, 64 * KiB, pulled), undefined)).rejects.toMatchObject({
      code: 'QuorumNotReached',
      details: { got: 0, errors: { b: 'PeerUnavailable: injected: stage', c: 'PeerUnavailable: injected: stage' } },
    });
    expect(pulled.n).toBe(16);
  });

  it('a body that fails: a stage that completes after the failure is discarded too', async () => {
    const slow = stub('slow', async (body, sizes) => {
      const it = body[Symbol.asyncIterator]();
      const first = await it.next();
      sizes.push(first.value!.byteLength);
      await delay(20);
    });
    const targets = [stub('a'), slow, stub('c')];
    await expect(stageOnReplicas('PutObject', targets, 2, [], source(16, 64 * KiB, { n: 0 }, new Error('bad checksum')), undefined)).rejects.toThrow('bad checksum');
    expect(slow.discarded).toEqual(['s-slow']);
  });

  it('a missed quorum: a stage that completes after it is discarded too', async () => {
    const failAtEnd = async (body: AsyncIterable<Uint8Array>): Promise<void> => {
      for await (const _ of body);
      throw injected('fsync');
    };
    const slow = stub('slow', async (body, sizes) => {
      for await (const c of body) sizes.push(c.byteLength);
      await delay(20);
    });
    const targets = [slow, stub('b', failAtEnd), stub('c', failAtEnd)];
    await expect(stageOnReplicas('PutObject', targets, 2, [], source(1, 100, { n: 0 }), undefined)).rejects.toMatchObject({ code: 'QuorumNotReached' });
    expect(slow.discarded).toEqual(['s-slow']);
  });

  it('a lane torn down before its replica reads it raises no error of its own', async () => {
    const late = async (body: AsyncIterable<Uint8Array>): Promise<void> => {
      await delay(20);
      for await (const _ of body);
    };
    const targets = [stub('a', late), stub('b', late), stub('c', late)];
    await expect(stageOnReplicas('PutObject', targets, 2, [], source(0, 0, { n: 0 }, new Error('client gone')), undefined)).rejects.toThrow('client gone');
    await delay(40);
    for (const t of targets) expect(t.discarded).toEqual([]);
  });
});
