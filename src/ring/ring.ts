/**
 * The token ring: the pure, synchronous function from a layout to key placement.
 *
 * Every data member (capacity > 0) gets `round(capacity × vnodesPerUnit)` tokens at positions
 * `h64(memberId + "#" + i)` on the unsigned 64-bit circle; a key sits at
 * `h64(bucket + "\0" + key)` and belongs to the first token at or after it (wrapping). Token
 * `t` therefore owns the positions `(position[t-1], position[t]]`. Walking clockwise from that
 * token gives every data member once, in "walk order"; the preference list takes its replicas
 * from that walk, distinct zones first, and the rest of the walk are the fallbacks.
 *
 * Every key in a token's range has the same preference list, so lists are computed once per
 * (token, n) on first use and cached: a lookup is one hash, one binary search and an array read.
 * The cache grows to O(tokens × members) references for each n in use.
 */
import { RingstoreError } from '../util/errors.js';
import type { Hasher } from './hasher.js';
import { validateLayout, type Layout, type Member } from './layout.js';

/**
 * Tokens per unit of capacity when the config does not say. At 2048 tokens per member, five
 * equal members each own 1/5 ± ~2% (1 σ) of the key space, so ±10% holds with a wide margin
 * for any member ids; at 256 it fails for about a quarter of random id sets.
 */
export const DEFAULT_VNODES_PER_UNIT = 2048;

/** Number of positions on the ring (positions are 0 … 2^64 − 1). */
export const RING_SIZE = 1n << 64n;

/** The last position on the ring. */
export const MAX_POSITION = RING_SIZE - 1n;

// Guards against a capacity given in bytes or GB by mistake, which would allocate millions of tokens.
const MAX_TOKENS = 1 << 22;

/** Options for building a ring. */
export interface RingOptions {
  /** Tokens per unit of capacity; default DEFAULT_VNODES_PER_UNIT. */
  readonly vnodesPerUnit?: number;
}

/** Where one key's copies live. Both arrays are frozen and shared between calls. */
export interface PreferenceList {
  /** The min(n, data members) members that hold the key, distinct zones first; [0] is the first in walk order. */
  readonly replicas: readonly Member[];
  /** Every other data member, in walk order: stand-ins for sloppy quorum when replicas are down. */
  readonly fallbacks: readonly Member[];
}

/** A run of ring positions `start … end` (both inclusive, never wrapping) with one replica list. */
export interface RingRange {
  readonly start: bigint;
  readonly end: bigint;
  /** The replicas (as in PreferenceList.replicas) of every key whose position is in the range. */
  readonly replicas: readonly Member[];
}

/** Number of positions in an inclusive range. */
export function rangeSize(range: { readonly start: bigint; readonly end: bigint }): bigint {
  return range.end - range.start + 1n;
}

/** Placement for one layout: build once per layout version, then query on every request. */
export class Ring {
  /** The layout the ring was built from (validated). */
  readonly layout: Layout;
  /** The data members (capacity > 0), in layout order. Members of any state count. */
  readonly members: readonly Member[];
  /** Tokens per unit of capacity this ring was built with. */
  readonly vnodesPerUnit: number;

  readonly #hasher: Hasher;
  /** Token positions, ascending. */
  readonly #positions: BigUint64Array;
  /** Index into `members` of each token's owner, parallel to #positions. */
  readonly #owners: Uint32Array;
  /** Zone number of each member, parallel to `members`. */
  readonly #zones: Uint32Array;
  /** Per n: the preference list of each token, filled on first use. */
  readonly #lists = new Map<number, (PreferenceList | undefined)[]>();
  readonly #ranges = new Map<number, readonly RingRange[]>();

  /** Builds the ring; throws RingstoreError('InvalidArgument') on a bad layout or options. */
  constructor(layout: Layout, hasher: Hasher, options: RingOptions = {}) {
    validateLayout(layout);
    const vnodesPerUnit = options.vnodesPerUnit ?? DEFAULT_VNODES_PER_UNIT;
    if (typeof vnodesPerUnit !== 'number' || !Number.isFinite(vnodesPerUnit) || vnodesPerUnit <= 0) {
      throw new RingstoreError('InvalidArgument', `ring.vnodesPerUnit = ${String(vnodesPerUnit)}; expected a number > 0`, {
        field: 'ring.vnodesPerUnit',
        value: vnodesPerUnit,
      });
    }
    this.layout = layout;
    this.vnodesPerUnit = vnodesPerUnit;
    this.#hasher = hasher;
    this.members = Object.freeze(layout.members.filter((m) => m.capacity > 0));

    const zoneIds = new Map<string, number>();
    this.#zones = Uint32Array.from(this.members, (m) => {
      let z = zoneIds.get(m.zone);
      if (z === undefined) zoneIds.set(m.zone, (z = zoneIds.size));
      return z;
    });

    // A tiny capacity still gets one token, so every data member can be reached by the walk.
    const counts = this.members.map((m) => Math.max(1, Math.round(m.capacity * vnodesPerUnit)));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > MAX_TOKENS) {
      throw new RingstoreError(
        'InvalidArgument',
        `layout needs ${total} tokens (capacities × vnodesPerUnit ${vnodesPerUnit}); expected at most ${MAX_TOKENS}: ` + 'capacity is a relative weight, not bytes',
        { field: 'layout.members[].capacity', tokens: total },
      );
    }
    const rawPos = new BigUint64Array(total);
    const rawOwner = new Uint32Array(total);
    let t = 0;
    this.members.forEach((m, mi) => {
      const count = counts[mi] ?? 0;
      for (let i = 0; i < count; i++, t++) {
        rawPos[t] = hasher.h64(`${m.id}#${i}`);
        rawOwner[t] = mi;
      }
    });
    // Equal positions (astronomically rare) are ordered by member id so every node agrees.
    const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => {
      const pa = rawPos[a] ?? 0n;
      const pb = rawPos[b] ?? 0n;
      if (pa !== pb) return pa < pb ? -1 : 1;
      const ia = this.members[rawOwner[a] ?? 0]?.id ?? '';
      const ib = this.members[rawOwner[b] ?? 0]?.id ?? '';
      return ia < ib ? -1 : ia > ib ? 1 : a - b;
    });
    this.#positions = BigUint64Array.from(order, (i) => rawPos[i] ?? 0n);
    this.#owners = Uint32Array.from(order, (i) => rawOwner[i] ?? 0);
  }

  /** Number of tokens on the ring (sum over data members of round(capacity × vnodesPerUnit)). */
  get tokenCount(): number {
    return this.#positions.length;
  }

  /** The member with this id (data member or gateway), if it is in the layout. */
  member(id: string): Member | undefined {
    return this.layout.members.find((m) => m.id === id);
  }

  /** Ring position of an object key: h64(bucket + "\0" + key). */
  keyPosition(bucket: string, key: string): bigint {
    return this.#hasher.h64(`${bucket}\0${key}`);
  }

  /** Replicas and fallbacks of an object key for replication factor `n` (an integer ≥ 1). */
  preferenceList(bucket: string, key: string, n: number): PreferenceList {
    return this.preferenceListAt(this.keyPosition(bucket, key), n);
  }

  /** Replicas and fallbacks of whatever key sits at `position` (0 … 2^64 − 1). */
  preferenceListAt(position: bigint, n: number): PreferenceList {
    const lists = this.#listsFor(n);
    const t = this.#tokenAt(position);
    return lists[t] ?? (lists[t] = this.#compute(t, n));
  }

  /**
   * The key space cut into maximal runs with the same replica list (in order), sorted by start,
   * covering 0 … 2^64 − 1 exactly once. Cached per n.
   */
  ranges(n: number): readonly RingRange[] {
    const cached = this.#ranges.get(n);
    if (cached !== undefined) return cached;
    const lists = this.#listsFor(n);
    const pos = this.#positions;
    const last = pos.length - 1;
    const out: RingRange[] = [];
    const push = (start: bigint, end: bigint, t: number): void => {
      const replicas = (lists[t] ??= this.#compute(t, n)).replicas;
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.end + 1n === start && sameMembers(prev.replicas, replicas)) {
        out[out.length - 1] = { start: prev.start, end, replicas: prev.replicas };
      } else {
        out.push({ start, end, replicas });
      }
    };
    // Token 0 owns the wrap-around range: [0, pos[0]] and (pos[last], MAX].
    push(0n, pos[0] ?? 0n, 0);
    for (let t = 1; t <= last; t++) {
      const start = (pos[t - 1] ?? 0n) + 1n;
      const end = pos[t] ?? 0n;
      if (end >= start) push(start, end, t);
    }
    const tail = pos[last] ?? MAX_POSITION;
    if (tail < MAX_POSITION) push(tail + 1n, MAX_POSITION, 0);
    const frozen = Object.freeze(out.map((r) => Object.freeze(r)));
    this.#ranges.set(n, frozen);
    return frozen;
  }

  /**
   * For every layout member, the exact fraction of the key space for which it is one of the
   * replicas at replication factor n (computed from token ranges; gateways get 0). With n = 1
   * this is primary ownership; the fractions sum to min(n, data members).
   */
  ownership(n: number): Map<string, number> {
    const sums = new Map<string, bigint>(this.layout.members.map((m) => [m.id, 0n]));
    for (const range of this.ranges(n)) {
      const size = rangeSize(range);
      for (const m of range.replicas) sums.set(m.id, (sums.get(m.id) ?? 0n) + size);
    }
    return new Map([...sums].map(([id, sum]) => [id, Number(sum) / Number(RING_SIZE)]));
  }

  #listsFor(n: number): (PreferenceList | undefined)[] {
    let lists = this.#lists.get(n);
    if (lists === undefined) {
      if (!Number.isSafeInteger(n) || n < 1) {
        throw new RingstoreError('InvalidArgument', `replication factor n = ${String(n)}; expected an integer ≥ 1`, {
          field: 'n',
          value: n,
        });
      }
      lists = new Array<PreferenceList | undefined>(this.#positions.length);
      this.#lists.set(n, lists);
    }
    return lists;
  }

  /** Index of the first token at or after `position`, wrapping to 0 past the last one. */
  #tokenAt(position: bigint): number {
    const pos = this.#positions;
    let lo = 0;
    let hi = pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((pos[mid] ?? 0n) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === pos.length ? 0 : lo;
  }

  /** Walks clockwise from token t: replicas from unused zones first, then walk order; the rest are fallbacks. */
  #compute(t: number, n: number): PreferenceList {
    const memberCount = this.members.length;
    const tokens = this.#owners.length;
    const seen = new Uint8Array(memberCount);
    const walk: number[] = [];
    for (let k = 0; k < tokens && walk.length < memberCount; k++) {
      const m = this.#owners[(t + k) % tokens] ?? 0;
      if (seen[m] === 0) {
        seen[m] = 1;
        walk.push(m);
      }
    }
    const want = Math.min(n, memberCount);
    const picked = new Uint8Array(memberCount);
    const zoneUsed = new Set<number>();
    const chosen: number[] = [];
    for (const m of walk) {
      if (chosen.length === want) break;
      const zone = this.#zones[m] ?? 0;
      if (zoneUsed.has(zone)) continue;
      zoneUsed.add(zone);
      picked[m] = 1;
      chosen.push(m);
    }
    for (const m of walk) {
      if (chosen.length === want) break;
      if (picked[m] === 0) {
        picked[m] = 1;
        chosen.push(m);
      }
    }
    const member = (m: number): Member => this.members[m] as Member;
    return Object.freeze({
      replicas: Object.freeze(chosen.map(member)),
      fallbacks: Object.freeze(walk.filter((m) => picked[m] === 0).map(member)),
    });
  }
}

/** Shorthand for `new Ring(layout, hasher, options)`. */
export function buildRing(layout: Layout, hasher: Hasher, options: RingOptions = {}): Ring {
  return new Ring(layout, hasher, options);
}

function sameMembers(a: readonly Member[], b: readonly Member[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
