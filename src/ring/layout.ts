/**
 * The cluster layout: who the members are, where they listen, their zone and capacity.
 * A layout is data; the ring (`ring.ts`) is the pure function of it that places keys.
 */
import { RingstoreError } from '../util/errors.js';

/** A member's role in the current layout change. */
export type MemberState = 'active' | 'joining' | 'leaving';

/** One storage node in the layout. */
export interface Member {
  /** Stable node id (e.g. "n1"); tokens are derived from it. */
  readonly id: string;
  /** RPC address "host:port" other nodes use to reach it. */
  readonly address: string;
  /** Failure domain; replicas of a key go to distinct zones first. */
  readonly zone: string;
  /** Relative weight; tokens = round(capacity × vnodesPerUnit). 0 = gateway only (no data). */
  readonly capacity: number;
  readonly state: MemberState;
}

/** The cluster membership at one version. Higher versions replace lower ones. */
export interface Layout {
  readonly version: number;
  readonly members: readonly Member[];
}

/** Every state a member may be in, for validating layouts that arrive as JSON. */
export const MEMBER_STATES: readonly MemberState[] = ['active', 'joining', 'leaving'];

/**
 * Checks a layout before a ring is built from it; throws RingstoreError('InvalidArgument')
 * whose message names the bad field (e.g. `layout.members[2].capacity`), the bad value and
 * the expected form. Rules: version is an integer ≥ 1; every member has a non-empty unique id,
 * string address and zone, a known state and a finite capacity ≥ 0; at least one member has
 * capacity > 0 (someone must hold data).
 */
export function validateLayout(layout: Layout): void {
  const bad = (field: string, value: unknown, expected: string, memberId?: string): never => {
    const who = memberId === undefined ? '' : ` (member "${memberId}")`;
    throw new RingstoreError('InvalidArgument', `layout.${field} = ${show(value)}${who}; expected ${expected}`, {
      field: `layout.${field}`,
      value,
      ...(memberId === undefined ? {} : { memberId }),
    });
  };
  if (typeof layout !== 'object' || layout === null) bad('', layout, 'an object {version, members}');
  if (!Number.isSafeInteger(layout.version) || layout.version < 1) bad('version', layout.version, 'an integer ≥ 1');
  if (!Array.isArray(layout.members)) bad('members', layout.members, 'an array of members');

  const seen = new Map<string, number>();
  let dataMembers = 0;
  layout.members.forEach((m, i) => {
    const at = `members[${i}]`;
    if (typeof m !== 'object' || m === null) bad(at, m, 'an object {id, address, zone, capacity, state}');
    if (typeof m.id !== 'string' || m.id.length === 0) bad(`${at}.id`, m.id, 'a non-empty string');
    const first = seen.get(m.id);
    if (first !== undefined) bad(`${at}.id`, m.id, `an id not already used by members[${first}]`, m.id);
    seen.set(m.id, i);
    if (typeof m.address !== 'string') bad(`${at}.address`, m.address, 'a "host:port" string', m.id);
    if (typeof m.zone !== 'string') bad(`${at}.zone`, m.zone, 'a string', m.id);
    if (typeof m.capacity !== 'number' || !Number.isFinite(m.capacity) || m.capacity < 0) {
      bad(`${at}.capacity`, m.capacity, 'a finite number ≥ 0', m.id);
    }
    if (!MEMBER_STATES.includes(m.state)) bad(`${at}.state`, m.state, `one of ${MEMBER_STATES.join(', ')}`, m.id);
    if (m.capacity > 0) dataMembers++;
  });
  if (dataMembers === 0) {
    throw new RingstoreError('InvalidArgument', `layout.members has no member with capacity > 0 (${layout.members.length} members); expected at least one data member`, {
      field: 'layout.members',
      members: layout.members.length,
    });
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
