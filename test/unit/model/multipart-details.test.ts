/**
 * Versions taken at a request's arrival, and Complete repeated. Of two overlapping writes of
 * one key (PUTs, a PUT and a DELETE, two uploads of one part number) the one whose request
 * arrived later wins, however long the other's body takes (S3: "the latest timestamp wins").
 * A Complete repeated after it succeeded answers the object it created while the key still
 * holds it, and NoSuchUpload once it does not.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { MIN_PART_SIZE } from '../../../src/model/multipart.js';
import { HARNESS_NOW, bodyOf, deferred, putInput, readAll, replicaHarness, settle, type Harness } from '../../helpers/replica-faults.js';

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

/** A body that yields its first chunk at once and the rest only when `release` resolves. */
function slowBody(data: Buffer, release: Promise<void>) {
  const body = (async function* () {
    yield data.subarray(0, 1);
    await release;
    yield data.subarray(1);
  })();
  return { body, seal: () => ({ etag: md5(data) }) };
}

/** A harness whose wall clock moves only when told (so versions order as requests arrive). */
async function steppedHarness(inlineThreshold = 1024): Promise<{ h: Harness; tick: (ms: number) => void }> {
  let now = HARNESS_NOW;
  const h = await replicaHarness({ now: () => now, inlineThreshold });
  return { h, tick: (ms) => (now += ms) };
}

async function read(h: Harness, key: string): Promise<Buffer> {
  return readAll(await h.coordinator.openBody(await h.coordinator.headObject('b', key)));
}

describe('versions taken at arrival', () => {
  for (const [what, size] of [
    ['inline bodies', 100],
    ['staged bodies', 64 * 1024],
  ] as const) {
    it(`of two overlapping PUTs the later-started wins although the earlier finishes last (${what})`, async () => {
      const { h, tick } = await steppedHarness();
      const first = bodyOf(size, 1);
      const second = bodyOf(size, 2);
      const release = deferred();
      const firstVersion = await h.coordinator.arrivalVersion();
      const slow = h.coordinator.putObject({ ...putInput('k', first), ...slowBody(first, release.promise), version: firstVersion });
      await settle();
      tick(1000);
      const secondVersion = await h.coordinator.arrivalVersion();
      await h.coordinator.putObject({ ...putInput('k', second), version: secondVersion });
      tick(1000);
      release.resolve();
      // The earlier request is acknowledged (it lost a race, as in S3), and hidden.
      await expect(slow).resolves.toMatchObject({ version: firstVersion });
      expect((await read(h, 'k')).equals(second)).toBe(true);
    });
  }

  it('a slow write is not committed again above a later request through a clock running ahead within the bound', async () => {
    const { h, tick } = await steppedHarness();
    let now = HARNESS_NOW;
    const ahead = await h.coordinatorOn('n2', { now: () => now + 100 });
    const early = bodyOf(100, 7);
    const late = bodyOf(100, 8);
    const release = deferred();
    const slow = h.coordinator.putObject({ ...putInput('k', early), ...slowBody(early, release.promise), version: await h.coordinator.arrivalVersion() });
    await settle();
    tick(100);
    now += 100;
    // Started 100 ms after the slow one, stamped 200 ms above it (within the 250 ms bound) by a clock 100 ms ahead.
    await ahead.putObject({ ...putInput('k', late), version: await ahead.arrivalVersion() });
    tick(1000);
    now += 1000;
    release.resolve();
    await slow;
    expect((await read(h, 'k')).equals(late)).toBe(true);
  });

  it('a DELETE that arrives while a long PUT streams wins over it; one that arrived before loses', async () => {
    const { h, tick } = await steppedHarness();
    const data = bodyOf(64 * 1024, 3);
    const release = deferred();
    const put = h.coordinator.putObject({ ...putInput('k', data), ...slowBody(data, release.promise), version: await h.coordinator.arrivalVersion() });
    await settle();
    tick(1000);
    await h.coordinator.deleteObject('b', 'k', await h.coordinator.arrivalVersion());
    tick(1000);
    release.resolve();
    await put;
    await expect(h.coordinator.headObject('b', 'k')).rejects.toMatchObject({ code: 'NoSuchKey' });

    const deleteVersion = await h.coordinator.arrivalVersion();
    tick(1000);
    await h.coordinator.putObject({ ...putInput('k2', data), version: await h.coordinator.arrivalVersion() });
    await h.coordinator.deleteObject('b', 'k2', deleteVersion);
    expect((await read(h, 'k2')).equals(data)).toBe(true);
  });

  it('of two uploads of one part number the later-started is the part, even when the earlier finishes last', async () => {
    const { h, tick } = await steppedHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    const early = bodyOf(64 * 1024, 4);
    const late = bodyOf(32 * 1024, 5);
    const release = deferred();
    const slow = h.multipart.uploadPart('b', 'k', id, 1, { ...slowBody(early, release.promise), version: await h.coordinator.arrivalVersion() });
    await settle();
    tick(1000);
    await h.multipart.uploadPart('b', 'k', id, 1, { ...slowBody(late, Promise.resolve()), version: await h.coordinator.arrivalVersion() });
    tick(1000);
    release.resolve();
    await slow;
    const { parts } = await h.multipart.listParts(id, { marker: 0, max: 10 });
    expect(parts.map((p) => [p.partNumber, p.etag, p.size])).toEqual([[1, md5(late), late.length]]);
    await expect(h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(early) }])).rejects.toMatchObject({ code: 'InvalidPart' });
    await h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(late) }]);
    expect((await read(h, 'k')).equals(late)).toBe(true);
  });

  it("Complete's version is its arrival: a PUT that arrived after the Complete began wins", async () => {
    const { h, tick } = await steppedHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    const part = Buffer.from('the only part');
    await h.multipart.uploadPart('b', 'k', id, 1, slowBody(part, Promise.resolve()));
    tick(1000);
    const completeVersion = await h.coordinator.arrivalVersion();
    tick(1000);
    const put = Buffer.from('a later plain PUT');
    await h.coordinator.putObject({ ...putInput('k', put), version: await h.coordinator.arrivalVersion() });
    const meta = await h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(part) }], completeVersion);
    expect(meta.version).toEqual(completeVersion);
    expect((await read(h, 'k')).equals(put)).toBe(true);
  });
});

describe('CompleteMultipartUpload repeated', () => {
  async function completed(h: Harness) {
    const id = await h.multipart.create('b', 'k', { contentType: 'text/x', userMeta: {} });
    const a = bodyOf(MIN_PART_SIZE, 6);
    const b = Buffer.from('tail');
    await h.multipart.uploadPart('b', 'k', id, 1, slowBody(a, Promise.resolve()));
    await h.multipart.uploadPart('b', 'k', id, 2, slowBody(b, Promise.resolve()));
    const list = [
      { partNumber: 1, etag: md5(a) },
      { partNumber: 2, etag: md5(b) },
    ];
    return { id, list, meta: await h.multipart.complete('b', 'k', id, list) };
  }

  it('answers the object the first completion created, with the same ETag, while the key holds it', async () => {
    const h = await replicaHarness();
    const { id, list, meta } = await completed(h);
    const again = await h.multipart.complete('b', 'k', id, list);
    expect(again.etag).toBe(meta.etag);
    expect(again.version).toEqual(meta.version);
    expect(again.size).toBe(MIN_PART_SIZE + 4);
  });

  it('answers NoSuchUpload once the key was overwritten or deleted, and for an upload that never completed there', async () => {
    const h = await replicaHarness();
    const { id, list } = await completed(h);
    await h.coordinator.putObject(putInput('k', Buffer.from('overwritten')));
    await expect(h.multipart.complete('b', 'k', id, list)).rejects.toMatchObject({ code: 'NoSuchUpload' });
    const second = await completed(h);
    await h.coordinator.deleteObject('b', 'k');
    await expect(h.multipart.complete('b', 'k', second.id, second.list)).rejects.toMatchObject({ code: 'NoSuchUpload' });
    // Another upload's id, completed into the same key, is not this one.
    const third = await completed(h);
    await expect(h.multipart.complete('b', 'k', second.id, third.list)).rejects.toMatchObject({ code: 'NoSuchUpload' });
    await expect(h.multipart.complete('b', 'other', third.id, third.list)).rejects.toMatchObject({ code: 'NoSuchUpload' });
  });
});
