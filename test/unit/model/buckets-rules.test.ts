/**
 * Bucket rules over three in-process replicas: the S3 errors a client sees (code, status and the
 * BucketName element) for an existing, a missing and a non-empty bucket; a bucket seen is trusted
 * for 2 s without a lookup, a missing one is never cached; a lost quorum is reported under the
 * bucket operation; ListBuckets pages through every bucket record (against a scripted listing).
 */
import { describe, it, expect } from 'vitest';
import { BUCKETS_NAMESPACE, Buckets } from '../../../src/model/buckets.js';
import type { Coordinator, ListPage } from '../../../src/replication/coordinator.js';
import { toS3Error } from '../../../src/s3/errors.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { HARNESS_NOW, IDS, putInput, replicaHarness, type Harness } from '../../helpers/replica-faults.js';

/** What the client is answered for the rejection of `p`. */
async function s3Rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  const s3 = toS3Error(err);
  return { code: s3.code, status: s3.status, extra: s3.extra };
}

const allDown = (h: Harness, down: boolean): void => {
  for (const id of IDS) h.replicas[id].down = down;
};

describe('bucket rules', () => {
  it('CreateBucket of a bucket that exists is 409 BucketAlreadyOwnedByYou naming the bucket', async () => {
    const h = await replicaHarness();
    const buckets = new Buckets(h.coordinator, { now: () => HARNESS_NOW });
    await buckets.create('photos');
    expect(await s3Rejection(buckets.create('photos'))).toEqual({ code: 'BucketAlreadyOwnedByYou', status: 409, extra: { BucketName: 'photos' } });
  });

  it('a bucket never created, or deleted, is 404 NoSuchBucket naming it; DeleteBucket with a key left is 409 BucketNotEmpty naming it', async () => {
    const h = await replicaHarness();
    const buckets = new Buckets(h.coordinator, { now: () => HARNESS_NOW });
    expect(await s3Rejection(buckets.assertExists('nope'))).toEqual({ code: 'NoSuchBucket', status: 404, extra: { BucketName: 'nope' } });
    await buckets.create('docs');
    await h.coordinator.putObject(putInput('readme', new Uint8Array([1, 2, 3]), 'etag-readme', 'docs'));
    expect(await s3Rejection(buckets.remove('docs'))).toEqual({ code: 'BucketNotEmpty', status: 409, extra: { BucketName: 'docs' } });
    await buckets.assertExists('docs');
    await h.coordinator.deleteObject('docs', 'readme');
    await buckets.remove('docs');
    expect(await s3Rejection(buckets.remove('docs'))).toEqual({ code: 'NoSuchBucket', status: 404, extra: { BucketName: 'docs' } });
    expect(await s3Rejection(buckets.assertExists('docs'))).toEqual({ code: 'NoSuchBucket', status: 404, extra: { BucketName: 'docs' } });
  });

  it('a bucket seen is trusted for 2 s without a replica lookup, then looked up again; a missing bucket is not cached', async () => {
    let now = HARNESS_NOW;
    const h = await replicaHarness();
    const gateway = new Buckets(h.coordinator, { now: () => now });
    await gateway.create('b1');
    // No replica answers, yet the bucket just created (or checked) passes for the next 2 s.
    allDown(h, true);
    await gateway.assertExists('b1');
    now += 1999;
    await gateway.assertExists('b1');
    now += 1;
    await expect(gateway.assertExists('b1')).rejects.toMatchObject({ code: 'QuorumNotReached', details: { op: 'HeadBucket' } });
    allDown(h, false);
    await gateway.assertExists('b1');

    // Another gateway creates a bucket this one was just told is missing: visible at once.
    await expect(gateway.assertExists('b2')).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await new Buckets(h.coordinator, { now: () => now }).create('b2');
    await gateway.assertExists('b2');
  });

  it('a lost quorum on CreateBucket fails the request (503) under the operation CreateBucket, and creates nothing', async () => {
    const h = await replicaHarness();
    const buckets = new Buckets(h.coordinator, { now: () => HARNESS_NOW });
    allDown(h, true);
    const attempt = buckets.create('b3');
    await expect(attempt).rejects.toMatchObject({ code: 'QuorumNotReached', details: { op: 'CreateBucket' } });
    expect((await s3Rejection(attempt)).status).toBe(503);
    allDown(h, false);
    expect(await h.coordinator.findObject(BUCKETS_NAMESPACE, 'b3')).toBeUndefined();
  });

  describe('ListBuckets', () => {
    const names = Array.from({ length: 1001 }, (_, i) => `bucket-${String(i).padStart(4, '0')}`);
    const createdMs = (i: number) => HARNESS_NOW - 5000 + i;

    /** A coordinator whose `.buckets` listing holds `count` of `names`, paged as listPage pages. */
    function scripted(count: number, emptyUnexhausted = false) {
      const calls: Array<{ startAfter?: string; limit: number }> = [];
      const listPage = async (bucket: string, options: { startAfter?: string; limit: number }): Promise<ListPage> => {
        expect(bucket).toBe(BUCKETS_NAMESPACE);
        calls.push(options);
        if (calls.length > 5) throw new Error('listed the same buckets over and over');
        if (emptyUnexhausted) return { records: [], exhausted: false };
        const after = names.slice(0, count).filter((n) => options.startAfter === undefined || n > options.startAfter);
        const records = after.slice(0, options.limit).map((name): ObjectRecord => ({
          bucket: BUCKETS_NAMESPACE,
          key: name,
          version: { hlc: createdMs(names.indexOf(name)) * 1024 + 7, node: 'n2' },
          tombstone: false,
          size: 0,
          etag: '',
          contentType: '',
          userMeta: {},
          crc32: 0,
          storage: 'inline',
        }));
        return { records, exhausted: after.length <= options.limit };
      };
      return { buckets: new Buckets({ listPage } as unknown as Coordinator, { now: () => HARNESS_NOW }), calls };
    }

    it('lists every bucket with its creation time, 1000 a page, each page after the last name of the one before', async () => {
      const { buckets, calls } = scripted(1001);
      const listed = await buckets.list();
      expect(listed).toEqual(names.map((name, i) => ({ name, createdMs: createdMs(i), owner: '' })));
      expect(calls).toStrictEqual([{ limit: 1000 }, { limit: 1000, startAfter: names[999] }]);
    });

    it('a listing that fits one page takes one call; an empty page ends the listing even if not marked exhausted', async () => {
      const one = scripted(3);
      expect((await one.buckets.list()).map((b) => b.name)).toEqual(names.slice(0, 3));
      expect(one.calls).toHaveLength(1);
      const empty = scripted(0, true);
      expect(await empty.buckets.list()).toEqual([]);
      expect(empty.calls).toHaveLength(1);
    });
  });
});
