import { describe, it, expect } from 'vitest';
import { coveringMembers } from '../../../src/ring/coverage.js';
import { Ring } from '../../../src/ring/ring.js';
import { createHasher } from '../../../src/ring/hasher.js';
import type { Layout } from '../../../src/ring/layout.js';

function layoutOf(n: number): Layout {
  return { version: 1, members: Array.from({ length: n }, (_, i) => ({ id: `n${i + 1}`, address: `h:${i}`, zone: `z${i % 3}`, capacity: 1, state: 'active' as const })) };
}

describe('coveringMembers', () => {
  it('needs R of 3 nodes when N=3 (every node holds everything), the local one first', async () => {
    const ring = new Ring(layoutOf(3), await createHasher(), { vnodesPerUnit: 64 });
    const usable = new Set(['n1', 'n2', 'n3']);
    expect(coveringMembers(ring.ranges(3), 2, usable, 'n3')).toHaveLength(2);
    expect(coveringMembers(ring.ranges(3), 2, usable, 'n3')?.[0]).toBe('n3');
    expect(coveringMembers(ring.ranges(3), 1, usable, 'n2')).toEqual(['n2']);
  });

  it('covers every range R times on a larger ring, and every usable replica when fewer remain', async () => {
    const ring = new Ring(layoutOf(7), await createHasher(), { vnodesPerUnit: 64 });
    const ranges = ring.ranges(3);
    for (const down of [[], ['n2'], ['n2', 'n5']]) {
      const usable = new Set(['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].filter((id) => !down.includes(id)));
      const chosen = new Set(coveringMembers(ranges, 2, usable, 'n1'));
      for (const r of ranges) {
        const live = r.replicas.filter((m) => usable.has(m.id)).length;
        expect(r.replicas.filter((m) => chosen.has(m.id)).length).toBeGreaterThanOrEqual(Math.min(2, live));
      }
      expect(chosen.size).toBeLessThan(usable.size + 1);
    }
  });

  it('is undefined when a range has no usable replica', async () => {
    const ring = new Ring(layoutOf(5), await createHasher(), { vnodesPerUnit: 64 });
    expect(coveringMembers(ring.ranges(2), 1, new Set(['n1']), 'n1')).toBeUndefined();
  });
});
