/**
 * Membership: who is alive as this node sees it, which members a request asks
 * (`isUsable`, `candidates`), and which layout is current (`adopt`).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Liveness } from '../../../src/cluster/membership.js';
import { layoutOf, memberOf, membershipOf } from './helpers.js';

const ids = (members: readonly { id: string }[]): string[] => members.map((m) => m.id);

describe('Membership liveness', () => {
  it('presumes a peer up until the detector says otherwise', async () => {
    const m = await membershipOf('n1', ['n1', 'n2', 'n3']);
    expect(m.liveness('n2')).toBe('up');
    expect(m.liveness('not-in-layout')).toBe('up');
    expect(m.isUsable('n2')).toBe(true);
  });

  it('is always up to itself, whatever was recorded for it', async () => {
    const m = await membershipOf('n1', ['n1', 'n2']);
    m.setLiveness('n1', 'down');
    expect(m.liveness('n1')).toBe('up');
    expect(m.isUsable('n1')).toBe(true);
    expect(m.candidates(m.layout.members, 2).map((x) => x.id)).toEqual(['n1', 'n2']);
  });

  it('only a down peer is unusable: a suspect one is still asked', async () => {
    const m = await membershipOf('n1', ['n1', 'n2', 'n3', 'n4']);
    m.setLiveness('n2', 'suspect');
    m.setLiveness('n3', 'down');
    m.setLiveness('n4', 'up');
    expect(['n1', 'n2', 'n3', 'n4'].map((id) => [m.liveness(id), m.isUsable(id)])).toEqual([
      ['up', true],
      ['suspect', true],
      ['down', false],
      ['up', true],
    ]);
  });

  it('setLiveness returns the state before (undefined the first time)', async () => {
    const m = await membershipOf('n1', ['n1', 'n2']);
    expect(m.setLiveness('n2', 'suspect')).toBeUndefined();
    expect(m.setLiveness('n2', 'down')).toBe('suspect');
    expect(m.setLiveness('n2', 'up')).toBe('down');
    expect(m.liveness('n2')).toBe('up');
  });
});

describe('Membership.candidates', () => {
  const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

  it('skips down members when enough usable ones remain, keeping the given order', async () => {
    const m = await membershipOf('n1', five);
    m.setLiveness('n2', 'down');
    m.setLiveness('n4', 'suspect');
    const members = [memberOf('n4'), memberOf('n2'), memberOf('n3'), memberOf('n5')];
    expect(ids(m.candidates(members, 2))).toEqual(['n4', 'n3', 'n5']);
    // Exactly as many usable as needed is enough: the down one is still skipped.
    expect(ids(m.candidates(members, 3))).toEqual(['n4', 'n3', 'n5']);
  });

  it('asks the down members too, last, when too few are usable (a down guess must never fail a request)', async () => {
    const m = await membershipOf('n1', five);
    m.setLiveness('n2', 'down');
    m.setLiveness('n3', 'down');
    const members = [memberOf('n3'), memberOf('n4'), memberOf('n2'), memberOf('n5')];
    expect(ids(m.candidates(members, 3))).toEqual(['n4', 'n5', 'n3', 'n2']);
  });

  it('asks everyone, in the given order, when all are down', async () => {
    const m = await membershipOf('n1', five);
    for (const id of ['n2', 'n3', 'n4']) m.setLiveness(id, 'down');
    const members = [memberOf('n4'), memberOf('n2'), memberOf('n3')];
    expect(ids(m.candidates(members, 1))).toEqual(['n4', 'n2', 'n3']);
  });

  it('returns the same member objects and leaves the input untouched', async () => {
    const m = await membershipOf('n1', five);
    m.setLiveness('n2', 'down');
    const members = Object.freeze([memberOf('n2'), memberOf('n3')]);
    const out = m.candidates(members, 2);
    expect(out[0]).toBe(members[1]);
    expect(out[1]).toBe(members[0]);
    expect(ids(members)).toEqual(['n2', 'n3']);
  });

  it('property: the usable members in order, then (only if fewer than needed) the down ones in order', async () => {
    const m = await membershipOf('n0', ['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
    const peers = ['n1', 'n2', 'n3', 'n4', 'n5'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Liveness>('up', 'suspect', 'down'), { minLength: 5, maxLength: 5 }), fc.shuffledSubarray(peers), fc.integer({ min: 0, max: 6 }), (states, order, needed) => {
        peers.forEach((id, i) => m.setLiveness(id, states[i] ?? 'up'));
        const members = order.map((id) => memberOf(id));
        const usable = order.filter((id) => m.liveness(id) !== 'down');
        const down = order.filter((id) => m.liveness(id) === 'down');
        expect(ids(m.candidates(members, needed))).toEqual(usable.length >= needed ? usable : [...usable, ...down]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Membership layout', () => {
  it('peers() are the layout members other than this node', async () => {
    const m = await membershipOf('n2', ['n1', 'n2', 'n3']);
    expect(ids(m.peers())).toEqual(['n1', 'n3']);
    expect(m.member('n3')?.address).toBe('sim:n3');
    expect(m.member('n9')).toBeUndefined();
    expect(m.selfId).toBe('n2');
  });

  it('adopts only a newer layout, and rebuilds the ring from it', async () => {
    const m = await membershipOf('n1', ['n1', 'n2', 'n3'], 5);
    const ring = m.ring;
    expect(ring.tokenCount).toBe(3 * 8);
    expect(m.adopt(layoutOf(['n1', 'n2'], 5))).toBe(false);
    expect(m.adopt(layoutOf(['n1', 'n2'], 4))).toBe(false);
    expect(m.ring).toBe(ring);
    expect(m.layout.version).toBe(5);
    expect(ids(m.peers())).toEqual(['n2', 'n3']);

    const next = layoutOf(['n1', 'n2', 'n3', 'n4'], 6);
    expect(m.adopt(next)).toBe(true);
    expect(m.layout).toBe(next);
    expect(m.ring).not.toBe(ring);
    expect(m.ring.tokenCount).toBe(4 * 8);
    expect(ids(m.peers())).toEqual(['n2', 'n3', 'n4']);
  });

  it('keeps what it knows of peer liveness across a layout change', async () => {
    const m = await membershipOf('n1', ['n1', 'n2', 'n3']);
    m.setLiveness('n3', 'down');
    m.adopt(layoutOf(['n1', 'n2', 'n3', 'n4'], 2));
    expect(m.liveness('n3')).toBe('down');
    expect(m.isUsable('n3')).toBe(false);
  });
});
