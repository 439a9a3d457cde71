/**
 * The ring's hot call: one preferenceList per request. About 1 µs per call on an idle machine
 * (5 members × 256 vnodes, and the default vnode count). `npm run bench:micro`.
 */
import { bench, describe } from 'vitest';
import { createHasher } from '../../src/ring/hasher.js';
import { DEFAULT_VNODES_PER_UNIT, Ring } from '../../src/ring/ring.js';
import type { Layout } from '../../src/ring/layout.js';

const hasher = await createHasher();
const layout: Layout = {
  version: 1,
  members: Array.from({ length: 5 }, (_, i) => ({ id: `n${i + 1}`, address: `127.0.0.1:${9101 + i}`, zone: `z${i % 3}`, capacity: 1, state: 'active' as const })),
};
const keys = Array.from({ length: 20_000 }, (_, i) => `obj/${i}/${((i * 2654435761) >>> 0).toString(36)}`);

describe('Ring.preferenceList, 20,000 keys, N=3', () => {
  for (const vnodesPerUnit of [256, DEFAULT_VNODES_PER_UNIT]) {
    const ring = new Ring(layout, hasher, { vnodesPerUnit });
    for (const key of keys) ring.preferenceList('bucket', key, 3); // warm the per-token cache and the JIT
    bench(`${vnodesPerUnit} vnodes per unit`, () => {
      for (const key of keys) ring.preferenceList('bucket', key, 3);
    });
  }
});
