import { describe, it, expect } from 'vitest';
import { listObjects, type PageSource } from '../../../src/s3/list/list-objects.js';
import type { ObjectRecord } from '../../../src/store/types.js';

function sourceOf(keys: string[], calls: { n: number } = { n: 0 }): PageSource {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return async (startAfter, limit) => {
    calls.n++;
    const rest = sorted.filter((k) => startAfter === undefined || Buffer.compare(Buffer.from(k), Buffer.from(startAfter)) > 0);
    const page = rest.slice(0, limit);
    const records = page.map((key) => ({ key }) as ObjectRecord);
    return { records, exhausted: page.length === rest.length };
  };
}

async function pageThrough(keys: string[], prefix: string, delimiter: string | undefined, maxKeys: number) {
  const seen: string[] = [];
  let startAfter: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const out = await listObjects(sourceOf(keys), { prefix, maxKeys, ...(delimiter && { delimiter }), ...(startAfter !== undefined && { startAfter }) });
    seen.push(...out.contents.map((r) => r.key), ...out.commonPrefixes.map((p) => `P:${p}`));
    if (!out.isTruncated) return seen;
    startAfter = out.nextStartAfter;
  }
  throw new Error('did not finish');
}

describe('listObjects', () => {
  const keys = ['a.txt', 'photos/2024/a.jpg', 'photos/2024/b.jpg', 'photos/2025/c.jpg', 'photos/d.jpg', 'z/1', 'z/2'];

  it('rolls keys up under CommonPrefixes with a delimiter', async () => {
    const out = await listObjects(sourceOf(keys), { prefix: '', delimiter: '/', maxKeys: 1000 });
    expect(out.contents.map((r) => r.key)).toEqual(['a.txt']);
    expect(out.commonPrefixes).toEqual(['photos/', 'z/']);
    expect(out.isTruncated).toBe(false);
  });

  it('groups below a prefix', async () => {
    const out = await listObjects(sourceOf(keys.filter((k) => k.startsWith('photos/'))), { prefix: 'photos/', delimiter: '/', maxKeys: 1000 });
    expect(out.contents.map((r) => r.key)).toEqual(['photos/d.jpg']);
    expect(out.commonPrefixes).toEqual(['photos/2024/', 'photos/2025/']);
  });

  it('counts common prefixes against max-keys and pages through everything exactly once', async () => {
    for (const maxKeys of [1, 2, 3, 1000]) {
      expect(await pageThrough(keys, '', '/', maxKeys)).toEqual(['a.txt', 'P:photos/', 'P:z/']);
      expect(await pageThrough(keys, '', undefined, maxKeys)).toEqual(keys);
    }
  });

  it('pages v1-style through NextMarker (the last key or common prefix returned) exactly once', async () => {
    for (const maxKeys of [1, 2, 3]) {
      const seen: string[] = [];
      let marker: string | undefined;
      for (let i = 0; i < 20; i++) {
        const out = await listObjects(sourceOf(keys), { prefix: '', delimiter: '/', maxKeys, ...(marker !== undefined && { startAfter: marker }) });
        seen.push(...out.contents.map((r) => r.key), ...out.commonPrefixes.map((p) => `P:${p}`));
        if (!out.isTruncated) break;
        marker = out.lastReturned;
      }
      expect(seen.sort()).toEqual(['P:photos/', 'P:z/', 'a.txt']);
    }
  });

  it.each([
    ['photos/', ['z/']],
    ['photos/2024/a.jpg', ['z/']],
    ['a.txt', ['photos/', 'z/']],
    ['p', ['photos/', 'z/']],
  ])('a marker %s that is or lies inside a common prefix resumes after that group', async (marker, prefixes) => {
    const out = await listObjects(sourceOf(keys), { prefix: '', delimiter: '/', maxKeys: 1000, startAfter: marker });
    expect(out.commonPrefixes).toEqual(prefixes);
  });

  it('reports truncation only when more entries exist', async () => {
    const exact = await listObjects(sourceOf(['a', 'b']), { prefix: '', maxKeys: 2 });
    expect(exact.isTruncated).toBe(false);
    const more = await listObjects(sourceOf(['a', 'b', 'c']), { prefix: '', maxKeys: 2 });
    expect(more.isTruncated).toBe(true);
    expect(more.nextStartAfter).toBe('b');
  });

  it('skips a large common prefix without paging through all of its keys', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `big/${String(i).padStart(5, '0')}`).concat(['c']);
    const calls = { n: 0 };
    const out = await listObjects(sourceOf(many, calls), { prefix: '', delimiter: '/', maxKeys: 10 });
    expect(out.commonPrefixes).toEqual(['big/']);
    expect(out.contents.map((r) => r.key)).toEqual(['c']);
    expect(calls.n).toBeLessThanOrEqual(3);
  });

  it('learns that a full page is truncated from the same source call', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    const calls = { n: 0 };
    const out = await listObjects(sourceOf(many, calls), { prefix: '', maxKeys: 1000 });
    expect(out.contents).toHaveLength(1000);
    expect(out.isTruncated).toBe(true);
    expect(calls.n).toBe(1);
  });

  it('returns nothing for max-keys=0', async () => {
    const out = await listObjects(sourceOf(keys), { prefix: '', maxKeys: 0 });
    expect(out).toEqual({ contents: [], commonPrefixes: [], isTruncated: false });
  });
});
