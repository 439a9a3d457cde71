import { describe, it, expect } from 'vitest';
import { validateLayout, type Layout, type Member } from '../../../src/ring/layout.js';
import { RingstoreError } from '../../../src/util/errors.js';
import { layoutOf, member } from './fixtures.js';

function errorOf(layout: unknown): RingstoreError {
  try {
    validateLayout(layout as Layout);
  } catch (err) {
    if (err instanceof RingstoreError) return err;
    throw err;
  }
  throw new Error('expected validateLayout to throw');
}

const withMember = (i: number, fields: Partial<Record<keyof Member, unknown>>): Layout => {
  const layout = layoutOf(3);
  return { ...layout, members: layout.members.map((m, k) => (k === i ? ({ ...m, ...fields } as Member) : m)) };
};

describe('validateLayout', () => {
  it('accepts a layout with gateways and members in every state', () => {
    const layout: Layout = {
      version: 7,
      members: [member('a'), member('b', { state: 'joining', capacity: 0.5 }), member('gw', { capacity: 0, state: 'leaving' })],
    };
    expect(() => {
      validateLayout(layout);
    }).not.toThrow();
  });

  it.each([
    ['version 0', { ...layoutOf(2), version: 0 }, 'layout.version', /layout\.version = 0; expected an integer ≥ 1/],
    ['fractional version', { ...layoutOf(2), version: 1.5 }, 'layout.version', /layout\.version = 1\.5/],
    ['empty id', withMember(1, { id: '' }), 'layout.members[1].id', /layout\.members\[1\]\.id = ""; expected a non-empty string/],
    ['duplicate id', withMember(2, { id: 'n1' }), 'layout.members[2].id', /members\[2\]\.id = "n1" \(member "n1"\); expected an id not already used by members\[0\]/],
    ['negative capacity', withMember(0, { capacity: -1 }), 'layout.members[0].capacity', /members\[0\]\.capacity = -1 \(member "n1"\); expected a finite number ≥ 0/],
    ['infinite capacity', withMember(1, { capacity: Infinity }), 'layout.members[1].capacity', /capacity = Infinity \(member "n2"\)/],
    ['NaN capacity', withMember(1, { capacity: Number.NaN }), 'layout.members[1].capacity', /capacity = NaN/],
    ['string capacity', withMember(1, { capacity: '2' }), 'layout.members[1].capacity', /capacity = "2"/],
    ['unknown state', withMember(2, { state: 'dead' }), 'layout.members[2].state', /state = "dead" \(member "n3"\); expected one of active, joining, leaving/],
    ['missing zone', withMember(0, { zone: undefined }), 'layout.members[0].zone', /zone = undefined/],
    ['no data member', layoutOf(2, () => ({ capacity: 0 })), 'layout.members', /no member with capacity > 0/],
    ['no members at all', { version: 1, members: [] }, 'layout.members', /no member with capacity > 0/],
    ['members not an array', { version: 1, members: {} }, 'layout.members', /layout\.members = an object; expected an array/],
  ])('rejects %s, naming the field', (_name, layout, field, message) => {
    const err = errorOf(layout);
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toMatch(message);
    expect(err.details['field']).toBe(field);
  });
});
