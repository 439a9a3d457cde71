import { describe, expect, it } from 'vitest';
import { listUploads, type ListedUpload, type UploadPageSource } from '../../../src/s3/list/list-uploads.js';

/** Uploads as the model lists them: after every upload of `keyMarker`, in key order, with the prefix. */
function sourceOf(all: ListedUpload[], prefix: string, calls: { n: number } = { n: 0 }): UploadPageSource<ListedUpload> {
  const sorted = all.filter((u) => u.key.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  return async (keyMarker, max, uploadIdMarker) => {
    calls.n++;
    const after = Buffer.from(`${keyMarker}\0${uploadIdMarker ?? '\u{10FFFF}'}`);
    const rest = sorted.filter((u) => keyMarker === '' || Buffer.compare(Buffer.from(`${u.key}\0${u.uploadId}`), after) > 0);
    return { uploads: rest.slice(0, max), truncated: rest.length > max };
  };
}

const uploads: ListedUpload[] = ['a.bin', 'photos/2024/a.jpg', 'photos/2024/b.jpg', 'photos/c.jpg', 'z/1', 'z/2', 'zz'].map((key, i) => ({ key, uploadId: `U${i}` }));

describe('listUploads', () => {
  it('without a delimiter: one page as the model gives it, NextKeyMarker and NextUploadIdMarker when truncated', async () => {
    const out = await listUploads(sourceOf(uploads, ''), { prefix: '', keyMarker: '', maxUploads: 2 });
    expect(out).toEqual({ uploads: uploads.slice(0, 2), commonPrefixes: [], truncated: true, nextKeyMarker: 'photos/2024/a.jpg', nextUploadIdMarker: 'U1' });
  });

  it('paging by NextKeyMarker + NextUploadIdMarker through several uploads of one key sees each upload once', async () => {
    const many: ListedUpload[] = ['k', 'k', 'k', 'k', 'm'].map((key, i) => ({ key, uploadId: `U${i}` }));
    const seen: string[] = [];
    let markers: { keyMarker: string; uploadIdMarker?: string } = { keyMarker: '' };
    for (let i = 0; i < 10; i++) {
      const out = await listUploads(sourceOf(many, ''), { prefix: '', maxUploads: 2, ...markers });
      seen.push(...out.uploads.map((u) => `${u.key}/${u.uploadId}`));
      if (!out.truncated) break;
      markers = { keyMarker: out.nextKeyMarker!, uploadIdMarker: out.nextUploadIdMarker! };
    }
    expect(seen).toEqual(['k/U0', 'k/U1', 'k/U2', 'k/U3', 'm/U4']);
  });

  it('an upload-id-marker without a key marker is ignored', async () => {
    const out = await listUploads(sourceOf(uploads, ''), { prefix: '', keyMarker: '', uploadIdMarker: 'U3', maxUploads: 1000 });
    expect(out.uploads).toEqual(uploads);
  });

  it('rolls keys up under CommonPrefixes', async () => {
    const out = await listUploads(sourceOf(uploads, ''), { prefix: '', delimiter: '/', keyMarker: '', maxUploads: 1000 });
    expect(out.uploads.map((u) => u.key)).toEqual(['a.bin', 'zz']);
    expect(out.commonPrefixes).toEqual(['photos/', 'z/']);
    expect(out.truncated).toBe(false);
  });

  it('groups below a prefix', async () => {
    const out = await listUploads(sourceOf(uploads, 'photos/'), { prefix: 'photos/', delimiter: '/', keyMarker: '', maxUploads: 1000 });
    expect([out.uploads.map((u) => u.key), out.commonPrefixes]).toEqual([['photos/c.jpg'], ['photos/2024/']]);
  });

  it.each([1, 2, 3])('max-uploads=%i counts uploads and prefixes; paging by NextKeyMarker sees each entry once', async (maxUploads) => {
    const seen: string[] = [];
    let keyMarker = '';
    for (let i = 0; i < 20; i++) {
      const out = await listUploads(sourceOf(uploads, ''), { prefix: '', delimiter: '/', keyMarker, maxUploads });
      expect(out.uploads.length + out.commonPrefixes.length).toBeLessThanOrEqual(maxUploads);
      seen.push(...out.uploads.map((u) => u.key), ...out.commonPrefixes.map((p) => `P:${p}`));
      if (!out.truncated) break;
      keyMarker = out.nextKeyMarker!;
    }
    expect(seen.sort()).toEqual(['P:photos/', 'P:z/', 'a.bin', 'zz']);
  });

  it('a truncated page ending in a prefix has NextKeyMarker = the prefix and no NextUploadIdMarker', async () => {
    const out = await listUploads(sourceOf(uploads, ''), { prefix: '', delimiter: '/', keyMarker: '', maxUploads: 2 });
    expect(out).toEqual({ uploads: [uploads[0]], commonPrefixes: ['photos/'], truncated: true, nextKeyMarker: 'photos/' });
  });

  it('skips a large group without paging through it', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({ key: `big/${String(i).padStart(5, '0')}`, uploadId: `B${i}` })).concat([{ key: 'c', uploadId: 'C' }]);
    const calls = { n: 0 };
    const out = await listUploads(sourceOf(many, '', calls), { prefix: '', delimiter: '/', keyMarker: '', maxUploads: 10 });
    expect([out.commonPrefixes, out.uploads.map((u) => u.key), out.truncated]).toEqual([['big/'], ['c'], false]);
    expect(calls.n).toBeLessThanOrEqual(2);
  });
});
