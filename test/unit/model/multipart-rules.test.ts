/**
 * Multipart rules, in process over three replicas: a re-uploaded part replaces the earlier one;
 * Complete takes the parts the client names, in the order it names them (the S3 layer refuses a
 * descending list: InvalidPartOrder), each with its current ETag (InvalidPart), every part but the
 * last ≥ 5 MiB (EntityTooSmall); part listings page; a completed or aborted upload is gone.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { MIN_PART_SIZE, PARTS_NAMESPACE, UPLOADS_NAMESPACE } from '../../../src/model/multipart.js';
import { PartsCollector } from '../../../src/model/parts-collector.js';
import { parseCompleteMultipartUpload } from '../../../src/s3/xml-parse.js';
import { silentLogger } from '../../../src/util/logger.js';
import { HARNESS_NOW, IDS, bodyOf, deferred, eventually, readAll, replicaHarness, settle, type Harness } from '../../helpers/replica-faults.js';

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

function partBody(data: Buffer) {
  const body = (async function* () {
    for (let i = 0; i < data.length; i += 1024 * 1024) yield data.subarray(i, i + 1024 * 1024);
  })();
  return { body, seal: () => ({ etag: md5(data) }) };
}

/** The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, dash, count. */
function multipartEtag(parts: readonly Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(Buffer.from(md5(p), 'hex'));
  return `${h.digest('hex')}-${parts.length}`;
}

/** Numbers of the part objects of an upload that are not deleted (every attempt). */
async function livePartNumbers(h: Harness, uploadId: string): Promise<number[]> {
  const { records } = await h.coordinator.listPage(PARTS_NAMESPACE, { prefix: `${uploadId}\0`, limit: 100 });
  return records.map((r) => Number(r.key.slice(uploadId.length + 1, uploadId.length + 6)));
}

async function objectBody(h: Harness, key = 'k'): Promise<Buffer> {
  return readAll(await h.coordinator.openBody(await h.coordinator.headObject('b', key)));
}

const BIG_A = bodyOf(MIN_PART_SIZE, 11);
const BIG_B = bodyOf(MIN_PART_SIZE, 12);
const SMALL_C = bodyOf(3000, 13);

describe('multipart rules', () => {
  it('a re-uploaded part replaces the earlier one: listed once, its new ETag completes, the old one is InvalidPart', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: 'text/x', userMeta: { who: 'me' } });
    const first = Buffer.from('first upload of part 1');
    const second = Buffer.from('second upload of part one, longer');
    expect((await h.multipart.uploadPart('b', 'k', id, 1, partBody(first))).etag).toBe(md5(first));
    expect((await h.multipart.uploadPart('b', 'k', id, 1, partBody(second))).etag).toBe(md5(second));
    const { parts, truncated } = await h.multipart.listParts(id, { marker: 0, max: 100 });
    expect(parts.map((p) => [p.partNumber, p.etag, p.size])).toEqual([[1, md5(second), second.length]]);
    expect(truncated).toBe(false);
    await expect(h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(first) }])).rejects.toMatchObject({ code: 'InvalidPart', details: { partNumber: 1 } });
    const meta = await h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(second) }]);
    expect(meta.etag).toBe(multipartEtag([second]));
    expect(meta.size).toBe(second.length);
    expect(meta.contentType).toBe('text/x');
    expect(meta.userMeta).toEqual({ who: 'me' });
    expect((await objectBody(h)).equals(second)).toBe(true);
    // The earlier upload of part 1 is deleted once the object is complete.
    await eventually(async () => (await livePartNumbers(h, id)).join() === '1');
  });

  it('lists the newest upload of each part number, in pages, however often a part was uploaded', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    for (const [n, text] of [
      [2, 'two a'],
      [1, 'one a'],
      [2, 'two b'],
      [3, 'three'],
      [1, 'one b'],
      [2, 'two c'],
    ] as const) {
      await h.multipart.uploadPart('b', 'k', id, n, partBody(Buffer.from(text)));
    }
    const first = await h.multipart.listParts(id, { marker: 0, max: 2 });
    expect(first.parts.map((p) => [p.partNumber, p.etag])).toEqual([
      [1, md5(Buffer.from('one b'))],
      [2, md5(Buffer.from('two c'))],
    ]);
    expect(first.truncated).toBe(true);
    const rest = await h.multipart.listParts(id, { marker: 2, max: 2 });
    expect([rest.parts.map((p) => [p.partNumber, p.etag]), rest.truncated]).toEqual([[[3, md5(Buffer.from('three'))]], false]);
    const meta = await h.multipart.complete('b', 'k', id, [{ partNumber: 2, etag: md5(Buffer.from('two c')) }]);
    expect(meta.etag).toBe(multipartEtag([Buffer.from('two c')]));
    expect((await objectBody(h)).toString()).toBe('two c');
  });

  it('reads part objects written under the older key form (no attempt suffix)', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    const legacy = Buffer.from('a part from before attempt keys');
    await h.coordinator.putObject({ bucket: PARTS_NAMESPACE, key: `${id}\u000000001`, contentType: '', userMeta: {}, ...partBody(legacy) });
    await h.multipart.uploadPart('b', 'k', id, 2, partBody(SMALL_C));
    expect((await h.multipart.listParts(id, { marker: 0, max: 10 })).parts.map((p) => [p.partNumber, p.size])).toEqual([
      [1, legacy.length],
      [2, SMALL_C.length],
    ]);
    await h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(legacy) }]);
    expect((await objectBody(h)).equals(legacy)).toBe(true);
  });

  it('completes with a subset of the parts, and the parts left out are deleted', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k', id, 1, partBody(BIG_A));
    await h.multipart.uploadPart('b', 'k', id, 2, partBody(BIG_B));
    await h.multipart.uploadPart('b', 'k', id, 3, partBody(SMALL_C));
    const meta = await h.multipart.complete('b', 'k', id, [
      { partNumber: 1, etag: md5(BIG_A) },
      { partNumber: 3, etag: md5(SMALL_C) },
    ]);
    expect(meta.etag).toBe(multipartEtag([BIG_A, SMALL_C]));
    expect(meta.size).toBe(BIG_A.length + SMALL_C.length);
    expect(meta.parts?.map((p) => p.key.slice(0, id.length + 6))).toEqual([`${id}\u000000001`, `${id}\u000000003`]);
    expect((await objectBody(h)).equals(Buffer.concat([BIG_A, SMALL_C]))).toBe(true);
    // A range across the part boundary.
    const found = await h.coordinator.headObject('b', 'k');
    const range = await readAll(await h.coordinator.openBody(found, { start: BIG_A.length - 3, end: BIG_A.length + 2 }));
    expect(range.equals(Buffer.concat([BIG_A, SMALL_C]).subarray(BIG_A.length - 3, BIG_A.length + 3))).toBe(true);
    // Part 2 is no longer needed; the upload is gone.
    await eventually(async () => (await livePartNumbers(h, id)).join() === '1,3');
    await expect(h.multipart.get('b', 'k', id)).rejects.toMatchObject({ code: 'NoSuchUpload' });
  });

  it('joins the parts in the order given (the S3 layer refuses a list out of ascending order)', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k', id, 1, partBody(BIG_A));
    await h.multipart.uploadPart('b', 'k', id, 2, partBody(BIG_B));
    await h.multipart.complete('b', 'k', id, [
      { partNumber: 2, etag: md5(BIG_B) },
      { partNumber: 1, etag: md5(BIG_A) },
    ]);
    expect((await objectBody(h)).equals(Buffer.concat([BIG_B, BIG_A]))).toBe(true);
    const xml = (nums: number[]) => `<CompleteMultipartUpload>${nums.map((n) => `<Part><PartNumber>${n}</PartNumber><ETag>"e${n}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    expect(() => parseCompleteMultipartUpload(xml([2, 1]))).toThrow(expect.objectContaining({ code: 'InvalidPartOrder' }));
    expect(() => parseCompleteMultipartUpload(xml([1, 1]))).toThrow(expect.objectContaining({ code: 'InvalidPartOrder' }));
    expect(parseCompleteMultipartUpload(xml([1, 3])).map((p) => [p.partNumber, p.etag])).toEqual([
      [1, 'e1'],
      [3, 'e3'],
    ]);
  });

  it('InvalidPart for an unknown ETag or a part never uploaded; EntityTooSmall for a small part that is not the last', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k', id, 1, partBody(SMALL_C));
    await h.multipart.uploadPart('b', 'k', id, 2, partBody(SMALL_C));
    await expect(h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: 'f'.repeat(32) }])).rejects.toMatchObject({ code: 'InvalidPart', details: { partNumber: 1 } });
    await expect(h.multipart.complete('b', 'k', id, [{ partNumber: 7, etag: md5(SMALL_C) }])).rejects.toMatchObject({ code: 'InvalidPart', details: { partNumber: 7 } });
    await expect(
      h.multipart.complete('b', 'k', id, [
        { partNumber: 1, etag: md5(SMALL_C) },
        { partNumber: 2, etag: md5(SMALL_C) },
      ]),
    ).rejects.toMatchObject({ code: 'EntityTooSmall', details: { partNumber: 1 } });
    // None of these wrote the object or ended the upload.
    expect(await h.coordinator.findObject('b', 'k')).toBeUndefined();
    await h.multipart.get('b', 'k', id);
    // A single small part is fine: it is the last.
    await h.multipart.complete('b', 'k', id, [{ partNumber: 2, etag: md5(SMALL_C) }]);
    expect((await objectBody(h)).equals(SMALL_C)).toBe(true);
  });

  it('lists parts in pages by part number marker', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    for (const n of [5, 1, 3, 2, 4]) await h.multipart.uploadPart('b', 'k', id, n, partBody(Buffer.from(`part ${n}`)));
    const page = async (marker: number) => {
      const { parts, truncated } = await h.multipart.listParts(id, { marker, max: 2 });
      return [parts.map((p) => p.partNumber), truncated];
    };
    expect(await page(0)).toEqual([[1, 2], true]);
    expect(await page(2)).toEqual([[3, 4], true]);
    expect(await page(4)).toEqual([[5], false]);
    expect(await page(5)).toEqual([[], false]);
    const exact = await h.multipart.listParts(id, { marker: 0, max: 5 });
    expect([exact.parts.length, exact.truncated]).toEqual([5, false]);
    expect(exact.parts.find((p) => p.partNumber === 3)).toMatchObject({ etag: md5(Buffer.from('part 3')), size: 6 });
  });

  it('lists uploads in progress by key, in pages by key marker, with a prefix', async () => {
    const h = await replicaHarness();
    const ids: Record<string, string> = {};
    for (const key of ['docs/b', 'docs/a', 'img/c', 'docs/c']) ids[key] = await h.multipart.create('b', key, { contentType: '', userMeta: {} });
    await h.multipart.create('other', 'docs/a', { contentType: '', userMeta: {} });
    const page = async (keyMarker: string, prefix = '') => {
      const { uploads, truncated } = await h.multipart.listUploads('b', { prefix, keyMarker, max: 2 });
      return [uploads.map((u) => [u.key, u.uploadId]), truncated];
    };
    expect(await page('')).toEqual([
      [
        ['docs/a', ids['docs/a']],
        ['docs/b', ids['docs/b']],
      ],
      true,
    ]);
    expect(await page('docs/b')).toEqual([
      [
        ['docs/c', ids['docs/c']],
        ['img/c', ids['img/c']],
      ],
      false,
    ]);
    expect(await page('', 'img/')).toEqual([[['img/c', ids['img/c']]], false]);
  });

  it('lists an upload whose object key holds NUL under that key and its own upload id, so it can be aborted', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'a\u0000b', { contentType: '', userMeta: {} });
    const { uploads } = await h.multipart.listUploads('b', { prefix: '', keyMarker: '', max: 10 });
    expect(uploads.map((u) => [u.key, u.uploadId])).toEqual([['a\u0000b', id]]);
    await h.multipart.abort('b', uploads[0]!.key, uploads[0]!.uploadId);
    expect((await h.multipart.listUploads('b', { prefix: '', keyMarker: '', max: 10 })).uploads).toEqual([]);
  });

  it('a completed or aborted upload is NoSuchUpload for every later call (but a repeated Complete of the completed one), and an abort deletes its parts', async () => {
    const h = await replicaHarness();
    const done = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k', done, 1, partBody(SMALL_C));
    await h.multipart.complete('b', 'k', done, [{ partNumber: 1, etag: md5(SMALL_C) }]);
    const aborted = await h.multipart.create('b', 'k2', { contentType: '', userMeta: {} });
    await h.multipart.uploadPart('b', 'k2', aborted, 1, partBody(SMALL_C));
    await h.multipart.abort('b', 'k2', aborted);
    await eventually(async () => (await livePartNumbers(h, aborted)).length === 0);
    for (const [key, id] of [
      ['k', done],
      ['k2', aborted],
    ] as const) {
      await expect(h.multipart.uploadPart('b', key, id, 2, partBody(SMALL_C))).rejects.toMatchObject({ code: 'NoSuchUpload' });
      // Complete repeated answers the object it created (multipart-details.test.ts); an aborted upload has none.
      if (key === 'k2') await expect(h.multipart.complete('b', key, id, [{ partNumber: 1, etag: md5(SMALL_C) }])).rejects.toMatchObject({ code: 'NoSuchUpload' });
      else expect((await h.multipart.complete('b', key, id, [{ partNumber: 1, etag: md5(SMALL_C) }])).etag).toMatch(/-1$/);
      await expect(h.multipart.abort('b', key, id)).rejects.toMatchObject({ code: 'NoSuchUpload' });
    }
    expect((await h.multipart.listUploads('b', { prefix: '', keyMarker: '', max: 10 })).uploads).toEqual([]);
    // An upload id that was never issued, or of another key.
    await expect(h.multipart.get('b', 'k', 'not-hex')).rejects.toMatchObject({ code: 'NoSuchUpload' });
    const live = await h.multipart.create('b', 'k3', { contentType: '', userMeta: {} });
    await expect(h.multipart.get('b', 'other', live)).rejects.toMatchObject({ code: 'NoSuchUpload' });
    expect((await h.multipart.listUploads('b', { prefix: '', keyMarker: '', max: 10 })).uploads.map((u) => [u.key, u.uploadId])).toEqual([['k3', live]]);
    expect(await h.coordinator.findObject(UPLOADS_NAMESPACE, `b\u0000k3\u0000${live}`)).toBeDefined();
  });

  it('UploadPart racing CompleteMultipartUpload: the completed object stays readable, never a mix of its parts and a later upload', async () => {
    const h = await replicaHarness();
    const id = await h.multipart.create('b', 'k', { contentType: '', userMeta: {} });
    const first = Buffer.from('part 1, first upload');
    const second = Buffer.from('part 1, uploaded again while the upload completes');
    await h.multipart.uploadPart('b', 'k', id, 1, partBody(first));
    // The re-upload passes its upload check, then its commits are held until Complete is done.
    const hold = deferred();
    let held = 0;
    for (const id2 of IDS) {
      h.replicas[id2].commitHook = (meta) => {
        if (meta.etag !== md5(second)) return undefined;
        held++;
        return hold.promise;
      };
    }
    const racing = h.multipart.uploadPart('b', 'k', id, 1, partBody(second)).then(
      (meta) => ({ ok: true as const, meta }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    await eventually(() => held > 0);
    await h.multipart.complete('b', 'k', id, [{ partNumber: 1, etag: md5(first) }]);
    hold.resolve();
    const outcome = await racing;
    await settle();
    // The object reads back as completed: the re-upload (acknowledged, as it started before the
    // upload was gone) went to a key of its own and did not replace the part the object references.
    expect(outcome.ok).toBe(true);
    expect((await objectBody(h)).equals(first)).toBe(true);
    const found = await h.coordinator.headObject('b', 'k');
    expect(found.record.parts?.map((p) => p.etag)).toEqual([md5(first)]);
    expect(found.record.etag).toBe(multipartEtag([first]));
    // A later upload to the completed upload is refused.
    await expect(h.multipart.uploadPart('b', 'k', id, 1, partBody(second))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    // The racing upload's part is garbage: the parts collector deletes it and only it.
    await eventually(async () => (await livePartNumbers(h, id)).length === 2);
    let deleted = 0;
    for (const store of IDS)
      deleted += await new PartsCollector({
        coordinator: h.coordinator,
        local: h.stores[store],
        clock: { now: () => HARNESS_NOW + 60_000 },
        logger: silentLogger,
        metrics: null,
        graceMs: 0,
      }).collect();
    expect(deleted).toBe(1);
    expect(await livePartNumbers(h, id)).toEqual([1]);
    expect((await objectBody(h)).equals(first)).toBe(true);
  });
});
