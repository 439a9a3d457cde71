/**
 * Reading a found version's body: from its holders in turn when one fails before sending
 * anything, resumed on the next holder from the first byte not yet delivered when a checked
 * (resumable) copy turns out corrupt, cut when any other failure comes half-way; 503 when no
 * holder can serve it (superseded when they all moved on to a newer version). Multipart bodies
 * stream their parts in order, any range across them exact.
 */
import { describe, it, expect } from 'vitest';
import type { Readable } from 'node:stream';
import type { PartRef } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { IDS, bodyOf, injected, plant, readAll, replicaHarness, type Harness, type NodeId } from '../../helpers/replica-faults.js';

const NEW = 2000 * 1024;
const DATA = bodyOf(6000, 21);

async function blobEverywhere(): Promise<{ h: Harness; order: NodeId[] }> {
  const h = await replicaHarness({ self: 'n1', readRepairChance: 1 });
  for (const id of IDS) await plant(h.stores[id], 'k', NEW, DATA);
  const found = await h.coordinator.headObject('b', 'k');
  return { h, order: found.holders.map((t) => t.id as NodeId) };
}

describe('body reads', () => {
  it('reads the whole body, and any range, from the first holder', async () => {
    const { h, order } = await blobEverywhere();
    const found = await h.coordinator.headObject('b', 'k');
    expect(order[0]).toBe('n1');
    expect((await readAll(await h.coordinator.openBody(found))).equals(DATA)).toBe(true);
    for (const [start, end] of [
      [0, 0],
      [0, DATA.length - 1],
      [4095, 4096],
      [DATA.length - 1, DATA.length - 1],
      [100, 5000],
    ] as const) {
      expect((await readAll(await h.coordinator.openBody(found, { start, end }))).equals(DATA.subarray(start, end + 1))).toBe(true);
    }
    expect(h.replicas[order[1]!].count('read')).toBe(0);
  });

  it('moves on to the next holder when one fails before its first byte', async () => {
    const { h, order } = await blobEverywhere();
    h.replicas[order[0]!].readFault = { error: injected('read') };
    const found = await h.coordinator.headObject('b', 'k');
    expect((await readAll(await h.coordinator.openBody(found))).equals(DATA)).toBe(true);
    expect(h.replicas[order[1]!].log.filter((l) => l.startsWith('read'))).toEqual(['read k']);
  });

  it('resumes on the next holder from the first byte not delivered when a checked copy is corrupt half-way', async () => {
    const { h, order } = await blobEverywhere();
    const corrupt = new RingstoreError('CorruptBody', 'injected: block 2 is corrupt', { resumable: true });
    h.replicas[order[0]!].readFault = { error: corrupt, afterBytes: 2500 };
    const found = await h.coordinator.headObject('b', 'k');
    expect((await readAll(await h.coordinator.openBody(found))).equals(DATA)).toBe(true);
    // (A whole read may follow: the corrupt holder is given a good copy in the background.)
    expect(h.replicas[order[1]!].log.filter((l) => l.startsWith('read k ')).at(0)).toBe(`read k 2500-${DATA.length - 1}`);
    // The same within a range.
    const ranged = await readAll(await h.coordinator.openBody(found, { start: 1000, end: 5000 }));
    expect(ranged.equals(DATA.subarray(1000, 5001))).toBe(true);
    expect(h.replicas[order[1]!].log.filter((l) => l.startsWith('read k ')).at(-1)).toBe('read k 3500-5000');
  });

  it('cuts the body when a holder fails half-way for any other reason (no silent splice)', async () => {
    const { h, order } = await blobEverywhere();
    const cut = injected('connection reset');
    h.replicas[order[0]!].readFault = { error: cut, afterBytes: 2500 };
    const found = await h.coordinator.headObject('b', 'k');
    const body = (await h.coordinator.openBody(found)) as Readable;
    await expect(readAll(body)).rejects.toBe(cut);
    expect(h.replicas[order[1]!].count('read')).toBe(0);
    // A corrupt copy that does not vouch for what it gave (no block checks) is a cut too.
    h.replicas[order[0]!].readFault = { error: new RingstoreError('CorruptBody', 'whole-body CRC mismatch'), afterBytes: 2500 };
    await expect(readAll((await h.coordinator.openBody(found)) as Readable)).rejects.toMatchObject({ code: 'CorruptBody' });
  });

  it('no holder able to serve: ServiceUnavailable, superseded only when every holder moved on to a newer version', async () => {
    const { h, order } = await blobEverywhere();
    const found = await h.coordinator.headObject('b', 'k');
    for (const id of IDS) await plant(h.stores[id], 'k', NEW + 1, DATA);
    await expect(h.coordinator.openBody(found)).rejects.toMatchObject({ code: 'ServiceUnavailable', details: { superseded: true } });
    h.replicas[order[2]!].readFault = { error: injected('read') };
    await expect(h.coordinator.openBody(found)).rejects.toMatchObject({ code: 'ServiceUnavailable', details: { superseded: false } });
  });

  it('an inline body and its ranges come from the head answer, with no read', async () => {
    const h = await replicaHarness({ self: 'n1' });
    const small = Buffer.from('0123456789');
    for (const id of IDS) await plant(h.stores[id], 'k', NEW, small);
    const found = await h.coordinator.headObject('b', 'k');
    expect(Buffer.from((await h.coordinator.openBody(found)) as Uint8Array).toString()).toBe('0123456789');
    expect(Buffer.from((await h.coordinator.openBody(found, { start: 3, end: 5 })) as Uint8Array).toString()).toBe('345');
    expect(IDS.map((id) => h.replicas[id].count('read'))).toEqual([0, 0, 0]);
  });
});

describe('multipart bodies', () => {
  const sizes = [3000, 0, 5000, 1];
  const parts = sizes.map((size, i) => bodyOf(size, 40 + i));
  const whole = Buffer.concat(parts);

  async function manifest(): Promise<{ h: Harness; refs: PartRef[] }> {
    const h = await replicaHarness({ self: 'n1' });
    const refs: PartRef[] = [];
    for (const [i, data] of parts.entries()) {
      const key = `u\u0000${String(i + 1).padStart(5, '0')}`;
      for (const id of IDS) await plant(h.stores[id], key, NEW + i, data, {}, '.parts');
      refs.push({ bucket: '.parts', key, version: { hlc: NEW + i, node: 'n9' }, size: data.length, etag: `etag-${NEW + i}` });
    }
    for (const id of IDS) await plant(h.stores[id], 'k', NEW + 10, Buffer.alloc(0), { size: whole.length, etag: 'm-4', parts: refs });
    return { h, refs };
  }

  it('streams the parts in order, and every range across them exactly', async () => {
    const { h } = await manifest();
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.record.size).toBe(whole.length);
    expect((await readAll(await h.coordinator.openBody(found))).equals(whole)).toBe(true);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, 2999],
      [2999, 3000],
      [3000, 3000],
      [2000, 8000],
      [7999, 8000],
      [8000, 8000],
      [0, whole.length - 1],
    ];
    for (const [start, end] of ranges) {
      expect((await readAll(await h.coordinator.openBody(found, { start, end }))).equals(whole.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('a part replaced since the object was completed is ServiceUnavailable, not other bytes', async () => {
    const { h, refs } = await manifest();
    const found = await h.coordinator.headObject('b', 'k');
    for (const id of IDS) await plant(h.stores[id], refs[2]!.key, NEW + 50, bodyOf(5000, 99), {}, '.parts');
    await expect(readAll(await h.coordinator.openBody(found))).rejects.toMatchObject({ code: 'ServiceUnavailable', message: expect.stringMatching(/changed since it was completed/) });
    // A range that does not touch that part still reads.
    expect((await readAll(await h.coordinator.openBody(found, { start: 0, end: 2999 }))).equals(whole.subarray(0, 3000))).toBe(true);
  });
});
