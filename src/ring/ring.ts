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
 * Placement is per partition (`partition.ts`): every key of partition p (the top 16 bits of its
 * position) gets the preference list of the token that owns the partition's start position, so a
 * partition's keys always live together and move together. Lists are computed once per (token, n)
 * and referenced once per (partition, n), both on first use: a lookup is one hash, one shift and an
 * array read. The caches grow to O(tokens × members + partitions) references for each n in use.
 */
import { RingstoreError } from '../util/errors.js';
import type { Hasher } from './hasher.js';
import { validateLayout, type Layout, type Member } from './layout.js';
import { PARTITION_COUNT, PARTITION_SIZE, checkPartition, isPartition, partitionOfPosition } from './partition.js';

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

/** A run of ring positions `start … end` (both inclusive, never wrapping, whole partitions) with one replica list. */
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
  /** Partition of each token's position, parallel to #positions (so non-decreasing). */
  readonly #tokenPartitions: Uint32Array;
  /** Index into `members` of each token's owner, parallel to #positions. */
  readonly #owners: Uint32Array;
  /** Zone number of each member, parallel to `members`. */
  readonly #zones: Uint32Array;
  /** Per n: the preference list of each token, filled on first use. */
  readonly #lists = new Map<number, (PreferenceList | undefined)[]>();
  /** Per n: the preference list of each partition (shared with #lists), filled on first use. */
  readonly #partitionLists = new Map<number, (PreferenceList | undefined)[]>();
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
    this.#tokenPartitions = Uint32Array.from(this.#positions, (pos) => partitionOfPosition(pos));
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

  /** The partition (0 … 65,535) of an object key: the top 16 bits of its ring position. */
  partitionOf(bucket: string, key: string): number {
    return partitionOfPosition(this.keyPosition(bucket, key));
  }

  /** Replicas and fallbacks of an object key for replication factor `n` (an integer ≥ 1): those of its partition. */
  preferenceList(bucket: string, key: string, n: number): PreferenceList {
    return this.preferenceListOfPartition(this.partitionOf(bucket, key), n);
  }

  /** Replicas and fallbacks of whatever key sits at `position` (0 … 2^64 − 1): those of its partition. */
  preferenceListAt(position: bigint, n: number): PreferenceList {
    return this.preferenceListOfPartition(partitionOfPosition(position), n);
  }

  /**
   * Replicas and fallbacks of every key of partition p (0 … 65,535): the list of the token that
   * owns the partition's first position. Cached per (p, n).
   */
  preferenceListOfPartition(p: number, n: number): PreferenceList {
    let lists = this.#partitionLists.get(n);
    if (lists === undefined) {
      this.#listsFor(n);
      // Filled, so V8 keeps fast (packed) elements instead of a dictionary for a 65,536-slot hole.
      lists = new Array<PreferenceList | undefined>(PARTITION_COUNT).fill(undefined);
      this.#partitionLists.set(n, lists);
    }
    if (!isPartition(p)) checkPartition(p);
    return lists[p] ?? (lists[p] = this.#tokenList(this.#tokenOfPartition(p), n));
  }

  /**
   * The key space cut into maximal runs of whole partitions with the same replica list (in order),
   * sorted by start, covering 0 … 2^64 − 1 exactly once. Cached per n.
   */
  ranges(n: number): readonly RingRange[] {
    const cached = this.#ranges.get(n);
    if (cached !== undefined) return cached;
    this.#listsFor(n);
    const out: RingRange[] = [];
    // Partitions first … last all take token t's list.
    const push = (first: number, last: number, t: number): void => {
      const replicas = this.#tokenList(t, n).replicas;
      const start = BigInt(first) * PARTITION_SIZE;
      const end = BigInt(last + 1) * PARTITION_SIZE - 1n;
      const prev = out[out.length - 1];
      if (prev !== undefined && sameMembers(prev.replicas, replicas)) out[out.length - 1] = { start: prev.start, end, replicas: prev.replicas };
      else out.push({ start, end, replicas });
    };
    // Token t owns the partitions after the previous token's partition up to its own (see #tokenOfPartition).
    const parts = this.#tokenPartitions;
    let covered = -1;
    for (let t = 0; t < parts.length; t++) {
      const q = parts[t] ?? 0;
      if (q > covered) push(covered + 1, q, t);
      covered = Math.max(covered, q);
    }
    if (covered < PARTITION_COUNT - 1) push(covered + 1, PARTITION_COUNT - 1, 0);
    const frozen = Object.freeze(out.map((r) => Object.freeze(r)));
    this.#ranges.set(n, frozen);
    return frozen;
  }

  /**
   * For every layout member, the exact fraction of the key space for which it is one of the
   * replicas at replication factor n (computed from partition ranges; gateways get 0). With n = 1
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

  /** The preference list of token t at replication factor n, computed on first use. */
  #tokenList(t: number, n: number): PreferenceList {
    const lists = this.#listsFor(n);
    return lists[t] ?? (lists[t] = this.#compute(t, n));
  }

  /**
   * Index of the first token at or after the start of partition p, wrapping to 0 past the last
   * one. A start has no low bits, so `position ≥ start(p)` exactly when `partition(position) ≥ p`:
   * the search runs on the tokens' partition numbers, with no bigint compares.
   */
  #tokenOfPartition(p: number): number {
    const parts = this.#tokenPartitions;
    let lo = 0;
    let hi = parts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((parts[mid] ?? 0) < p) lo = mid + 1;
      else hi = mid;
    }
    return lo === parts.length ? 0 : lo;
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
