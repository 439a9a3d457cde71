/**
 * Placement: a write goes to the owners (local first, down ones only when too few are up, then
 * last), each down owner gets the next live fallback tagged with its id, and a read asks the
 * owners local first and down last.
 */
import { describe, it, expect } from 'vitest';
import { planRead, planWrite } from '../../../src/replication/placement.js';
import type { Member } from '../../../src/ring/layout.js';
import type { PreferenceList } from '../../../src/ring/ring.js';

const member = (id: string): Member => ({ id, address: `${id}:9100`, zone: 'z', capacity: 1, state: 'active' });
const list: PreferenceList = { replicas: ['n1', 'n2', 'n3'].map(member), fallbacks: ['n4', 'n5', 'n6'].map(member) };
const ids = (ms: readonly Member[]): string[] => ms.map((m) => m.id);
const upBut =
  (...down: string[]) =>
  (id: string): boolean =>
    !down.includes(id);

describe('planWrite', () => {
  it('with every owner up: the owners, local first, one set, no fallbacks', () => {
    const plan = planWrite(list, upBut(), 'n2', 2);
    expect(ids(plan.owners)).toEqual(['n2', 'n1', 'n3']);
    expect(plan.sets).toEqual([['n2', 'n1', 'n3']]);
    expect(plan.fallbacks).toEqual([]);
  });

  it('a down owner is left out while W others are up, and gets the next live fallback tagged hintFor', () => {
    const plan = planWrite(list, upBut('n3', 'n4'), 'n1', 2);
    expect(ids(plan.owners)).toEqual(['n1', 'n2']);
    expect(plan.fallbacks.map((f) => [f.member.id, f.hintFor])).toEqual([['n5', 'n3']]);
  });

  it('too few owners up: every owner is written, the down ones last; each down owner has its own fallback', () => {
    const plan = planWrite(list, upBut('n1', 'n2'), 'n3', 2);
    expect(ids(plan.owners)).toEqual(['n3', 'n1', 'n2']);
    expect(plan.fallbacks.map((f) => [f.member.id, f.hintFor])).toEqual([
      ['n4', 'n1'],
      ['n5', 'n2'],
    ]);
  });

  it('runs out of fallbacks quietly', () => {
    const plan = planWrite({ replicas: list.replicas, fallbacks: [member('n4')] }, upBut('n1', 'n2'), 'x', 1);
    expect(plan.fallbacks.map((f) => f.hintFor)).toEqual(['n1']);
    expect(ids(plan.owners)).toEqual(['n3']);
  });
});

describe('planRead', () => {
  it('asks the owners, local first', () => {
    expect(ids(planRead(list, upBut(), 'n3', 2))).toEqual(['n3', 'n1', 'n2']);
  });

  it('skips a down owner while enough are up, and asks it last when not', () => {
    expect(ids(planRead(list, upBut('n1'), 'n3', 2))).toEqual(['n3', 'n2']);
    expect(ids(planRead(list, upBut('n1', 'n2'), 'n3', 2))).toEqual(['n3', 'n1', 'n2']);
  });

  it('a coordinator that is not an owner keeps the preference order', () => {
    expect(ids(planRead(list, upBut(), 'n9', 2))).toEqual(['n1', 'n2', 'n3']);
  });
});
