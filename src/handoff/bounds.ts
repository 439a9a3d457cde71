/**
 * Which hints a node gives up on (pure): a hint older than `maxAgeMs` (its owner has been down so
 * long that anti-entropy is the better way to refill it), and, while the hints held add up to
 * more than `maxBytes`, the oldest ones. Bounding the queue keeps a long outage from filling the
 * fallback's disk; a dropped hint's partition goes to anti-entropy, so nothing is lost for it.
 */
import type { HintEntry } from '../store/types.js';

/** The bounds of the hint queue (config `hints.maxBytes`, `hints.maxAgeMs`). */
export interface HintBounds {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

/** Why a hint was dropped (the `reason` label of ringstore_hints_dropped_total). */
export type DropReason = 'size' | 'age';

/** The hints to drop and why, and the bytes of those kept. */
export function hintsBeyondBounds(hints: readonly HintEntry[], nowMs: number, bounds: HintBounds): { drop: Array<{ hint: HintEntry; reason: DropReason }>; keptBytes: number } {
  const drop: Array<{ hint: HintEntry; reason: DropReason }> = [];
  const kept: HintEntry[] = [];
  for (const hint of hints) {
    if (nowMs - hint.createdMs > bounds.maxAgeMs) drop.push({ hint, reason: 'age' });
    else kept.push(hint);
  }
  let keptBytes = kept.reduce((n, h) => n + h.size, 0);
  if (keptBytes > bounds.maxBytes) {
    // Oldest first: the newest hints are the ones whose owners are likeliest to be back soon.
    const byAge = [...kept].sort((a, b) => a.createdMs - b.createdMs);
    for (const hint of byAge) {
      if (keptBytes <= bounds.maxBytes) break;
      drop.push({ hint, reason: 'size' });
      keptBytes -= hint.size;
    }
  }
  return { drop, keptBytes };
}
