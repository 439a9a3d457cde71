import { describe, it, expect } from 'vitest';
import { BodySource, TAG_HEADER, VARIANTS, keystream } from '../../../src/bench/bodies.js';
import { parseSizeSpec, resolveBenchOptions, type BenchOptions } from '../../../src/bench/options.js';
import type { BenchS3Client } from '../../../src/bench/s3-client.js';
import { KeySpace, KeyStates, VerifyError, Workload, ZipfSampler, type WorkerState } from '../../../src/bench/workload.js';

// A deterministic uniform source, so the distribution checks cannot flake.
function lcg(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('ZipfSampler', () => {
  it('follows 1/k^s: rank 1 takes 1/H(n) of the draws and twice rank 2', () => {
    const n = 100;
    const zipf = new ZipfSampler(n, 1);
    const counts = new Array<number>(n).fill(0);
    const u = lcg();
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[zipf.sample(u())]!++;
    let harmonic = 0;
    for (let k = 1; k <= n; k++) harmonic += 1 / k;
    expect(counts[0]! / draws).toBeCloseTo(1 / harmonic, 2);
    expect(counts[0]! / counts[1]!).toBeGreaterThan(1.85);
    expect(counts[0]! / counts[1]!).toBeLessThan(2.15);
    expect(counts[0]! / counts[9]!).toBeGreaterThan(9);
    expect(counts[0]! / counts[9]!).toBeLessThan(11);
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it('stays within 0…n-1 at the edges of [0, 1)', () => {
    const zipf = new ZipfSampler(10, 0.99);
    expect(zipf.sample(0)).toBe(0);
    expect(zipf.sample(0.999999999)).toBe(9);
  });

  it('with a tiny exponent is close to uniform', () => {
    const zipf = new ZipfSampler(4, 1e-9);
    const counts = [0, 0, 0, 0];
    const u = lcg(7);
    for (let i = 0; i < 40_000; i++) counts[zipf.sample(u())]!++;
    for (const c of counts) expect(c / 40_000).toBeCloseTo(0.25, 1);
  });
});

describe('KeySpace', () => {
  it('names keys with a zero-padded index under the prefix', () => {
    const keys = new KeySpace('p/x', 10, parseSizeSpec('4KiB')!);
    expect(keys.key(7)).toBe('p/x/000007');
    expect(new KeySpace('p', 12_345_678, parseSizeSpec('4KiB')!).key(7)).toBe('p/00000007');
  });

  it('gives every key a size from the mix, in proportion and the same on every run', () => {
    const spec = parseSizeSpec('4KiB:70,1MiB:25,64MiB:5')!;
    const a = new KeySpace('p', 20_000, spec);
    const b = new KeySpace('p', 20_000, spec);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      expect(a.size(i)).toBe(b.size(i));
      counts.set(a.size(i), (counts.get(a.size(i)) ?? 0) + 1);
    }
    expect(counts.get(4096)! / 20_000).toBeCloseTo(0.7, 1);
    expect(counts.get(1048576)! / 20_000).toBeCloseTo(0.25, 1);
    expect(counts.get(67108864)! / 20_000).toBeCloseTo(0.05, 1);
  });
});

describe('BodySource', () => {
  it('gives the same bytes for a size in every process (so later runs recognise objects)', () => {
    expect(keystream(4096, 64).equals(keystream(4096, 64))).toBe(true);
    expect(keystream(4096, 64).equals(keystream(4097, 64))).toBe(false);
    expect(new BodySource().tag(4096, 3)).toBe(new BodySource().tag(4096, 3));
  });

  it('has distinct variants, identified by their CRC32', () => {
    const bodies = new BodySource();
    const crcs = new Set<number>();
    for (let v = 0; v < VARIANTS; v++) {
      expect(bodies.body(1000, v).length).toBe(1000);
      crcs.add(bodies.crc(1000, v));
      expect(bodies.variantOf(1000, bodies.crc(1000, v))).toBe(v);
    }
    expect(crcs.size).toBe(VARIANTS);
    expect(bodies.variantOf(1000, 12345)).toBeUndefined();
  });

  it('slices bodies without copying', () => {
    const bodies = new BodySource();
    const a = bodies.body(4096, 1);
    expect(a.buffer).toBe(bodies.body(4096, 2).buffer);
    expect(bodies.slice(4096, 1, 100, 200).equals(a.subarray(100, 200))).toBe(true);
  });

  it('accepts only tags it would write itself', () => {
    const bodies = new BodySource();
    expect(bodies.parseTag(4096, bodies.tag(4096, 5))).toBe(5);
    expect(bodies.parseTag(4096, '5-00000000')).toBeUndefined();
    expect(bodies.parseTag(8192, bodies.tag(4096, 5))).toBeUndefined();
    expect(bodies.parseTag(4096, undefined)).toBeUndefined();
    expect(bodies.parseTag(4096, 'junk')).toBeUndefined();
  });
});

describe('KeyStates', () => {
  it('knows the last acknowledged variant of a key written alone', () => {
    const s = new KeyStates(2);
    const t = s.beginPut(0);
    s.endPut(0, t, 3, true);
    expect([s.variant[0], s.uncertain[0]]).toEqual([3, 0]);
    expect(s.nextVariant(0)).toBe(4);
  });

  it('marks overlapping and failed writes as uncertain', () => {
    const s = new KeyStates(1);
    const a = s.beginPut(0);
    const b = s.beginPut(0);
    s.endPut(0, a, 1, true);
    expect(s.uncertain[0]).toBe(1);
    s.endPut(0, b, 2, true);
    expect(s.uncertain[0]).toBe(1);
    const c = s.beginPut(0);
    s.endPut(0, c, 3, true);
    expect(s.uncertain[0]).toBe(0);
    const d = s.beginPut(0);
    s.endPut(0, d, 4, false);
    expect([s.variant[0], s.uncertain[0]]).toEqual([3, 1]);
  });
});

describe('Workload GET checks', () => {
  function setup(): { workload: Workload; answer: { bytes: number; crc: number }; worker: WorkerState; options: BenchOptions } {
    const r = resolveBenchOptions({ endpoint: 'http://h:1', 'access-key': 'k', secret: 's', op: 'get', size: '1000', objects: '1' });
    if ('error' in r) throw new Error(r.error);
    const options: BenchOptions = r.options;
    const answer = { bytes: 1000, crc: 0 };
    const client = { get: async () => ({ ...answer }), put: async () => undefined } as unknown as BenchS3Client;
    const workload = new Workload(client, options);
    const t = workload.states.beginPut(0);
    workload.states.endPut(0, t, 2, true);
    return { workload, answer, worker: { listToken: undefined, listSeen: 0 }, options };
  }

  it('counts a read of the acknowledged body as verified', async () => {
    const { workload, answer, worker } = setup();
    answer.crc = workload.bodies.crc(1000, 2);
    await expect(workload.run('get', worker)).resolves.toMatchObject({ kind: 'get', bytes: 1000, verified: 1, racing: 0 });
  });

  it('reports a body that matches nothing the bench wrote as corruption', async () => {
    const { workload, answer, worker } = setup();
    answer.crc = 0xdeadbeef;
    await expect(workload.run('get', worker)).rejects.toMatchObject({ kind: 'verify:checksum' });
  });

  it('reports an older body, read after a newer one was acknowledged, as stale', async () => {
    const { workload, answer, worker } = setup();
    answer.crc = workload.bodies.crc(1000, 1);
    await expect(workload.run('get', worker)).rejects.toBeInstanceOf(VerifyError);
    await expect(workload.run('get', worker)).rejects.toMatchObject({ kind: 'verify:stale' });
  });

  it('accepts another body the bench wrote while a write of the key is in flight', async () => {
    const { workload, answer, worker } = setup();
    answer.crc = workload.bodies.crc(1000, 3);
    workload.states.beginPut(0);
    await expect(workload.run('get', worker)).resolves.toMatchObject({ verified: 1, racing: 1 });
  });

  it('counts a body equal, byte for byte, to the variant its tag names as that variant', async () => {
    const { workload, worker, options } = setup();
    const client = {
      get: async (_key: string, reference: (headers: Record<string, string>) => Buffer | undefined) => {
        const body = reference({ [TAG_HEADER]: workload.bodies.tag(1000, 2) });
        return { bytes: 1000, matched: body !== undefined && body.equals(workload.bodies.body(1000, 2)), crc: 0 };
      },
    } as unknown as BenchS3Client;
    const tagged = new Workload(client, options);
    tagged.states.endPut(0, tagged.states.beginPut(0), 2, true);
    await expect(tagged.run('get', worker)).resolves.toMatchObject({ kind: 'get', verified: 1, racing: 0 });
    tagged.states.endPut(0, tagged.states.beginPut(0), 5, true);
    await expect(tagged.run('get', worker)).rejects.toMatchObject({ kind: 'verify:stale' });
  });

  it('reports a short body', async () => {
    const { workload, answer, worker } = setup();
    answer.bytes = 999;
    await expect(workload.run('get', worker)).rejects.toMatchObject({ kind: 'verify:size' });
  });
});
