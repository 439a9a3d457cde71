/**
 * Multipart rules about keys and pages, over three in-process replicas and (for paging) a
 * scripted part listing: the headers given at CreateMultipartUpload are the completed object's;
 * a malformed upload id is NoSuchUpload without a replica lookup; listing, completing and
 * aborting an upload touch only its own parts; the InvalidPart and EntityTooSmall messages a
 * client sees; a part listing reads only the pages it needs and every page it needs.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import type { Coordinator, ListPage } from '../../../src/replication/coordinator.js';
import { MIN_PART_SIZE, Multipart, PARTS_NAMESPACE } from '../../../src/model/multipart.js';
import { toS3Error } from '../../../src/s3/errors.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { HARNESS_NOW, IDS, bodyOf, eventually, fixedRandom, replicaHarness, type Harness } from '../../helpers/replica-faults.js';

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

function partBody(data: Buffer) {
  const body = (async function* () {
    yield data;
  })();
  return { body, seal: () => ({ etag: md5(data) }) };
}

/** Part numbers and ETags of the live part objects of an upload (every attempt). */
async function liveParts(h: Harness, uploadId: string): Promise<string[]> {
  const { records } = await h.coordinator.listPage(PARTS_NAMESPACE, { prefix: `${uploadId}\0`, limit: 100 });
  return records.map((r) => `${Number(r.key.slice(uploadId.length + 1, uploadId.length + 6))}:${r.etag}`);
}

const allDown = (h: Harness, down: boolean): void => {
  for (const id of IDS) h.replicas[id].down = down;
};

describe('multipart keys and pages', () => {
  it('the headers given at CreateMultipartUpload are the completed object’s; an upload without headers completes into an object without any', async () => {
    const h = await replicaHarness();
    const headers = { 'cache-control': 'max-age=60', 'content-disposition': 'attachment; filename="a.bin"' };
    const data = Buffer.from('the only part');
    const withHeaders = await h.multipart.create('b', 'k', { contentType: 'application/x-a', userMeta: { m: '1' }, headers });
    await h.multipart.uploadPart('b', 'k', withHeaders, 1, partBody(data));
    expect((await h.multipart.complete('b', 'k', withHeaders, [{ partNumber: 1, etag: md5(data) }])).headers).toEqual(headers);
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.record).toMatchObject({ contentType: 'application/x-a', userMeta: { m: '1' }, headers });
    expect(found.record).not.toHaveProperty('cache-control');

    const plain = await h.multipart.create('b', 'k2', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k2', plain, 1, partBody(data));
    await h.multipart.complete('b', 'k2', plain, [{ partNumber: 1, etag: md5(data) }]);
    expect((await h.coordinator.headObject('b', 'k2')).record.headers).toBeUndefined();
  });

  it('an upload id that is not 32 lowercase hex digits is NoSuchUpload naming it, with no replica asked (so even when none answers)', async () => {
    const h = await replicaHarness();
    const real = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    allDown(h, true);
    for (const id of ['not-hex', `${real}0`, `g${real}`, real.toUpperCase(), real.slice(1)]) {
      await expect(h.multipart.get('b', 'k', id)).rejects.toMatchObject({ code: 'NoSuchUpload', details: { uploadId: id } });
    }
    expect(IDS.map((id) => h.replicas[id].count('head'))).toEqual([0, 0, 0]);
    // A well-formed id is looked up: with no replica answering that is a lost quorum (503), under ListParts.
    await expect(h.multipart.get('b', 'k', real)).rejects.toMatchObject({ code: 'QuorumNotReached', details: { op: 'ListParts' } });
  });

  it('listing, aborting and completing an upload touch only its own parts, never those of an upload whose id sorts after it', async () => {
    const h = await replicaHarness();
    const ids = [await h.multipart.create('b', 'k', { contentType: '', userMeta: {} }), await h.multipart.create('b', 'k', { contentType: '', userMeta: {} })];
    const [first, second] = [...ids].sort() as [string, string];
    const [a, b, c] = [Buffer.from('part one of the first'), Buffer.from('part two of the first'), Buffer.from('part seven of the second')];
    await h.multipart.uploadPart('b', 'k', first, 1, partBody(a));
    await h.multipart.uploadPart('b', 'k', first, 2, partBody(b));
    await h.multipart.uploadPart('b', 'k', second, 7, partBody(c));
    await h.multipart.uploadPart('b', 'k', second, 1, partBody(c));
    expect((await h.multipart.listParts(first, { marker: 0, max: 10 })).parts.map((p) => [p.partNumber, p.etag])).toEqual([
      [1, md5(a)],
      [2, md5(b)],
    ]);
    await h.multipart.abort('b', 'k', first);
    expect(await liveParts(h, first)).toEqual([]);
    expect(await liveParts(h, second)).toEqual([`1:${md5(c)}`, `7:${md5(c)}`]);

    // Completing the second with part 7 drops its part 1, and only that.
    const third = await h.multipart.create('b', 'k3', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k3', third, 1, partBody(a));
    await h.multipart.complete('b', 'k', second, [{ partNumber: 7, etag: md5(c) }]);
    await eventually(async () => (await liveParts(h, second)).join() === `7:${md5(c)}`);
    expect(await liveParts(h, third)).toEqual([`1:${md5(a)}`]);
  });

  it('InvalidPart and EntityTooSmall reach the client (400) with messages naming the part and what is wrong with it', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    const small = bodyOf(3000, 5);
    await h.multipart.uploadPart('b', 'k', id, 1, partBody(small));
    await h.multipart.uploadPart('b', 'k', id, 2, partBody(small));
    const answer = async (p: Promise<unknown>) => {
      const s3 = toS3Error(
        await p.then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      return { code: s3.code, status: s3.status, message: s3.message };
    };
    expect(await answer(h.multipart.complete('b', 'k', id, [{ partNumber: 7, etag: 'ab'.repeat(16) }]))).toEqual({
      code: 'InvalidPart',
      status: 400,
      message: `part 7 was not uploaded, or its ETag is not "${'ab'.repeat(16)}"`,
    });
    expect(
      await answer(
        h.multipart.complete('b', 'k', id, [
          { partNumber: 1, etag: md5(small) },
          { partNumber: 2, etag: md5(small) },
        ]),
      ),
    ).toEqual({ code: 'EntityTooSmall', status: 400, message: `part 1 is 3000 bytes; every part but the last must be at least ${MIN_PART_SIZE} bytes` });
  });

  describe('part listing pages (scripted listing of 1200 parts)', () => {
    const uploadId = 'c'.repeat(32);
    const key = (n: number) => `${uploadId}\0${String(n).padStart(5, '0')}\0${(n * 7919).toString(16).padStart(8, '0')}`;
    const records = Array.from({ length: 1200 }, (_, i): ObjectRecord => ({
      bucket: PARTS_NAMESPACE,
      key: key(i + 1),
      version: { hlc: (HARNESS_NOW + i) * 1024, node: 'n1' },
      tombstone: false,
      size: 100 + i,
      etag: md5(Buffer.from(`p${i + 1}`)),
      contentType: 'application/octet-stream',
      userMeta: {},
      crc32: 0,
      storage: 'inline',
    }));

    function scripted(emptyUnexhausted = false) {
      const calls: Array<{ prefix?: string; startAfter?: string; limit: number }> = [];
      const listPage = async (bucket: string, options: { prefix?: string; startAfter?: string; limit: number }): Promise<ListPage> => {
        expect([bucket, options.prefix]).toEqual([PARTS_NAMESPACE, `${uploadId}\0`]);
        calls.push(options);
        if (calls.length > 5) throw new Error('listed the same parts over and over');
        if (emptyUnexhausted) return { records: [], exhausted: false };
        const after = records.filter((r) => options.startAfter === undefined || r.key > options.startAfter);
        return { records: after.slice(0, options.limit), exhausted: after.length <= options.limit };
      };
      return { multipart: new Multipart({ listPage } as unknown as Coordinator, fixedRandom(1)), calls };
    }

    it('a short listing reads one page: it stops once it has one part more than asked for', async () => {
      const { multipart, calls } = scripted();
      const { parts, truncated } = await multipart.listParts(uploadId, { marker: 0, max: 2 });
      expect([parts.map((p) => p.partNumber), truncated]).toEqual([[1, 2], true]);
      expect(calls).toHaveLength(1);
    });

    it('a listing longer than a page of records goes on after the last key of each page, and stops at the exhausted one', async () => {
      const { multipart, calls } = scripted();
      const { parts, truncated } = await multipart.listParts(uploadId, { marker: 0, max: 1500 });
      expect(parts).toHaveLength(1200);
      expect(parts[1199]).toEqual({ partNumber: 1200, etag: records[1199]!.etag, size: 1299, lastModifiedMs: HARNESS_NOW + 1199 });
      expect(truncated).toBe(false);
      expect(calls.map((c) => c.startAfter)).toEqual([`${uploadId}\u000000000\u0000\u{10FFFF}`, key(1000)]);
    });

    it('an empty page ends a part listing even if not marked exhausted', async () => {
      const { multipart, calls } = scripted(true);
      expect(await multipart.listParts(uploadId, { marker: 0, max: 10 })).toEqual({ parts: [], truncated: false });
      expect(calls).toHaveLength(1);
    });
  });
});
