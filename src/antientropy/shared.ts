/**
 * Which partitions this node shares with each peer under the current layout, computed once per
 * layout version (65,536 preference-list lookups) and kept until the layout changes. Both sides
 * of an exchange compute the same mask from the same layout.
 */
import { sharedMasks } from './merkle.js';
import type { PartitionPlacement } from './types.js';

/** Per-layout cache of `sharedMasks(self, placement)`. */
export class SharedPartitions {
  readonly #self: string;
  #version: number | undefined;
  #masks = new Map<string, Uint8Array>();

  constructor(self: string) {
    this.#self = self;
  }

  /** Peer id → mask of the partitions both own, for `placement`'s layout. */
  masks(placement: PartitionPlacement): ReadonlyMap<string, Uint8Array> {
    if (this.#version !== placement.layoutVersion) {
      this.#masks = sharedMasks(this.#self, placement);
      this.#version = placement.layoutVersion;
    }
    return this.#masks;
  }

  /** The mask shared with `peer` (all zero when they share nothing). */
  maskWith(placement: PartitionPlacement, peer: string): Uint8Array {
    return this.masks(placement).get(peer) ?? EMPTY;
  }
}

const EMPTY = new Uint8Array(65_536);
