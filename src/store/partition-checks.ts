/**
 * Argument checks of the partition and hint calls, shared by both stores so that they reject
 * the same inputs with the same errors.
 */
import { RingstoreError } from '../util/errors.js';
import { PARTITION_COUNT } from '../util/partition-space.js';
import type { SideWrite } from './types.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** Throws InvalidArgument unless p is a partition number (an integer in 0 … 65,535). */
export function checkPartitionNumber(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p >= PARTITION_COUNT) {
    throw new RingstoreError('InvalidArgument', `partition = ${String(p)}; expected an integer in 0 … ${PARTITION_COUNT - 1}`, { partition: p });
  }
}

/** Throws InvalidArgument unless `limit` is an integer ≥ 1 and `after` (if any) a well-formed string. */
export function checkPage(options: { readonly after?: string; readonly limit: number }): void {
  if (!Number.isSafeInteger(options.limit) || options.limit < 1) {
    throw new RingstoreError('InvalidArgument', 'page limit must be an integer ≥ 1', { limit: options.limit });
  }
  const { after } = options;
  if (after !== undefined && (typeof after !== 'string' || LONE_SURROGATE.test(after))) {
    throw new RingstoreError('InvalidArgument', 'page cursor must be a well-formed string', {});
  }
}

/** Throws InvalidArgument unless `owner` can name a hint (a non-empty member id without NUL). */
export function checkHintOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0 || owner.includes('\0') || LONE_SURROGATE.test(owner)) {
    throw new RingstoreError('InvalidArgument', 'hint owner must be a non-empty member id without NUL', { owner });
  }
}

/** Throws InvalidArgument unless every side write is a hint with a valid owner. */
export function checkSideWrites(sideWrites: readonly SideWrite[]): void {
  for (const w of sideWrites) {
    if ((w as { kind?: unknown }).kind !== 'hint') throw new RingstoreError('InvalidArgument', 'unknown side write', { kind: (w as { kind?: unknown }).kind });
    checkHintOwner(w.owner);
  }
}
