/**
 * What a layout change moves: the ranges of the key space whose replica set differs between
 * two rings, and how much data that means. Pure; the rebalancer and `ringstore layout plan`
 * build on it.
 */
import { RING_SIZE, type Ring, type RingRange } from './ring.js';

/** One run of ring positions `start … end` (both inclusive) whose replica set changes. */
export interface RangeChange {
  readonly start: bigint;
  readonly end: bigint;
  /** Replica ids under the old ring, in preference order. */
  readonly before: string[];
  /** Replica ids under the new ring, in preference order. */
  readonly after: string[];
  /** after \ before: members that must receive a copy of the range. */
  readonly added: string[];
  /** before \ after: members that may drop the range once the change is done. */
  readonly removed: string[];
}

/** The difference in placement between two rings at one replication factor. */
export interface RingDiff {
  /** Replication factor the rings were compared at. */
  readonly n: number;
  /** Ranges whose replica set (order ignored) changes, sorted by start, adjacent equal runs merged. */
  readonly ranges: RangeChange[];
  /** Share of the key space whose replica set changes, in [0, 1]. */
  readonly movedFraction: number;
  /**
   * Share of (key space × n replicas) that must be copied to a new owner:
   * Σ |after \ before| × rangeSize / (2^64 × n).
   */
  readonly transferFraction: number;
}

/** Compares the placement of two rings at replication factor n (an integer ≥ 1). */
export function diffRings(from: Ring, to: Ring, n: number): RingDiff {
  const a = withIds(from.ranges(n));
  const b = withIds(to.ranges(n));
  const ranges: RangeChange[] = [];
  let moved = 0n;
  let transferred = 0n;
  let i = 0;
  let j = 0;
  let start = 0n;
  // Both lists partition 0 … 2^64 − 1 in order, so one sweep visits every common sub-range.
  for (;;) {
    const ra = a[i];
    const rb = b[j];
    if (ra === undefined || rb === undefined) break;
    const end = ra.range.end < rb.range.end ? ra.range.end : rb.range.end;
    const added = rb.ids.filter((id) => !ra.ids.includes(id));
    const removed = ra.ids.filter((id) => !rb.ids.includes(id));
    if (added.length > 0 || removed.length > 0) {
      const size = end - start + 1n;
      moved += size;
      transferred += BigInt(added.length) * size;
      const prev = ranges[ranges.length - 1];
      if (prev !== undefined && prev.end + 1n === start && same(prev.before, ra.ids) && same(prev.after, rb.ids)) {
        ranges[ranges.length - 1] = { ...prev, end };
      } else {
        ranges.push({ start, end, before: [...ra.ids], after: [...rb.ids], added, removed });
      }
    }
    if (ra.range.end === end) i++;
    if (rb.range.end === end) j++;
    start = end + 1n;
  }
  const space = Number(RING_SIZE);
  return {
    n,
    ranges,
    movedFraction: Number(moved) / space,
    transferFraction: Number(transferred) / (space * n),
  };
}

function withIds(ranges: readonly RingRange[]): { range: RingRange; ids: readonly string[] }[] {
  return ranges.map((range) => ({ range, ids: range.replicas.map((m) => m.id) }));
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, k) => x === b[k]);
}
