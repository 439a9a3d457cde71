/** Layout builders shared by the ring tests. */
import type { Layout, Member } from '../../../src/ring/layout.js';

/** A member with sensible defaults; override any field. */
export function member(id: string, fields: Partial<Member> = {}): Member {
  return { id, address: `127.0.0.1:${9100 + id.length}`, zone: 'z1', capacity: 1, state: 'active', ...fields };
}

/** A layout of `count` members n1…nCount, all capacity 1 in zone z1 unless `fields(i)` says otherwise. */
export function layoutOf(count: number, fields: (i: number) => Partial<Member> = () => ({}), version = 1): Layout {
  return { version, members: Array.from({ length: count }, (_, i) => member(`n${i + 1}`, fields(i))) };
}

/** Deterministic pseudo-random key names (mulberry32), so sampled tests are reproducible. */
export function sampleKeys(count: number, seed = 42): string[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, (_, i) => `obj/${i}/${Math.floor(next() * 1e12).toString(36)}`);
}
