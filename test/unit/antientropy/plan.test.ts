import { describe, expect, it } from 'vitest';
import { planPartition, type PlanContext } from '../../../src/antientropy/plan.js';
import type { ReplicaEntry } from '../../../src/antientropy/types.js';
import { entry } from './fakes.js';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const ctx: PlanContext = { partition: 3, self: 'me', peer: 'them', nowMs: NOW, tombstoneGraceMs: DAY };
const v = (wallMs: number, node = 'n1'): { hlc: number; node: string } => ({ hlc: wallMs * 1024, node });
const summary = (mine: ReplicaEntry[], theirs: ReplicaEntry[]): string[] => planPartition(mine, theirs, ctx).map((i) => `${i.key}:${i.source}->${i.target}:${i.reason}`);

describe('planPartition', () => {
  it('plans nothing when both hold the same versions', () => {
    const same = [entry('b', 'x', v(NOW)), entry('b', 'y', v(NOW), { tombstone: true, size: 0 })];
    expect(summary(same, same)).toEqual([]);
  });

  it('pulls what the peer holds newer or alone, pushes what this node holds newer or alone', () => {
    const mine = [entry('b', 'old-here', v(NOW - 10)), entry('b', 'new-here', v(NOW)), entry('b', 'only-here', v(NOW))];
    const theirs = [entry('b', 'old-here', v(NOW)), entry('b', 'new-here', v(NOW - 10)), entry('b', 'only-there', v(NOW))];
    expect(summary(mine, theirs)).toEqual(['old-here:them->me:stale', 'new-here:me->them:stale', 'only-here:me->them:missing', 'only-there:them->me:missing']);
  });

  it('breaks an equal hlc by node id, as newest-wins does', () => {
    expect(summary([entry('b', 'k', v(NOW, 'n2'))], [entry('b', 'k', v(NOW, 'n1'))])).toEqual(['k:me->them:stale']);
  });

  it('replaces a quarantined copy from the side with a good one, under the same version', () => {
    const good = entry('b', 'k', v(NOW), { storage: 'blob', size: 1 << 20 });
    const bad = entry('b', 'k', v(NOW), { storage: 'quarantined', size: 1 << 20 });
    expect(summary([bad], [good])).toEqual(['k:them->me:quarantined']);
    expect(summary([good], [bad])).toEqual(['k:me->them:quarantined']);
    expect(summary([bad], [bad])).toEqual([]);
  });

  it('never copies a quarantined body, even when it is the newer version', () => {
    expect(summary([entry('b', 'k', v(NOW), { storage: 'quarantined' })], [entry('b', 'k', v(NOW - 10))])).toEqual([]);
    expect(summary([], [entry('b', 'k', v(NOW), { storage: 'quarantined' })])).toEqual([]);
  });

  it('copies a tombstone within the grace to a replica lacking it, never one past the grace', () => {
    const recent = entry('b', 'recent', v(NOW - DAY + 1000), { tombstone: true, size: 0 });
    const old = entry('b', 'old', v(NOW - DAY - 1000), { tombstone: true, size: 0 });
    expect(summary([recent, old], [])).toEqual(['recent:me->them:missing']);
    expect(summary([], [recent, old])).toEqual(['recent:them->me:missing']);
  });

  it('still lets a tombstone past the grace replace an older live version', () => {
    const old = entry('b', 'k', v(NOW - 2 * DAY), { tombstone: true, size: 0 });
    const items = planPartition([old], [entry('b', 'k', v(NOW - 3 * DAY))], ctx);
    expect(items).toEqual([{ partition: 3, bucket: 'b', key: 'k', version: old.version, tombstone: true, size: 0, source: 'me', target: 'them', reason: 'stale' }]);
  });
});
