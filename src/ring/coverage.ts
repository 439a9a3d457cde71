/**
 * Coverage for listings: the fewest members whose data, together, includes every key at least
 * `per` times (R where it can), so a listing need not ask every node. Pure.
 */
import type { RingRange } from './ring.js';

/**
 * Picks members greedily until every range has `per` chosen replicas, or all of its usable
 * replicas when fewer are usable. `preferred` (the local node) is taken first when usable.
 * Returns undefined when some range has no usable replica at all.
 */
export function coveringMembers(ranges: readonly RingRange[], per: number, usable: ReadonlySet<string>, preferred?: string): string[] | undefined {
  const needed = ranges.map((r) => Math.min(per, r.replicas.filter((m) => usable.has(m.id)).length));
  if (needed.some((n) => n === 0)) return undefined;
  const chosen: string[] = [];
  const have = new Array<number>(ranges.length).fill(0);
  const take = (id: string): void => {
    chosen.push(id);
    ranges.forEach((r, i) => {
      if (r.replicas.some((m) => m.id === id)) have[i]!++;
    });
  };
  if (preferred !== undefined && usable.has(preferred)) take(preferred);
  for (;;) {
    const short = ranges.map((_, i) => have[i]! < needed[i]!);
    if (!short.includes(true)) return chosen;
    // The member that fills the most still-short ranges next.
    let best: string | undefined;
    let bestGain = 0;
    for (const id of usable) {
      if (chosen.includes(id)) continue;
      let gain = 0;
      ranges.forEach((r, i) => {
        if (short[i] && r.replicas.some((m) => m.id === id)) gain++;
      });
      if (gain > bestGain || (gain === bestGain && best !== undefined && id < best)) {
        best = id;
        bestGain = gain;
      }
    }
    if (best === undefined || bestGain === 0) return chosen;
    take(best);
  }
}
