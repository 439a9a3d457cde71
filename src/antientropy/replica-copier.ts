/**
 * A `Repairer` over `ReplicaApi`s (the local store, or a peer over RPC), for one planned key:
 * head the source, and if it still holds the planned version with a good copy, copy it to the
 * target with the step read repair takes too (`store/copy-version.ts`: same version, body
 * checked by size and CRC32 before it is committed).
 */
import { copyVersion } from '../store/copy-version.js';
import type { ReplicaApi } from '../store/types.js';
import { compareVersions } from '../util/clock.js';
import type { RepairItem, RepairOutcome, Repairer } from './types.js';

/** Bodies up to this size come along with the source's head answer (one round trip less). */
const INLINE_UP_TO = 64 * 1024;

/** Copies versions between replicas found by id. */
export class ReplicaCopier implements Repairer {
  readonly #replica: (id: string) => ReplicaApi;

  /** `replica(id)` is the local store for this node's id and an RPC client for a peer's. */
  constructor(replica: (id: string) => ReplicaApi) {
    this.#replica = replica;
  }

  async copy(item: RepairItem, signal: AbortSignal): Promise<RepairOutcome> {
    const source = this.#replica(item.source);
    const target = this.#replica(item.target);
    const held = await source.head(item.bucket, item.key, { inlineUpTo: INLINE_UP_TO }, signal);
    // The source moved on (a newer write will be compared next pass) or lost its good copy.
    if (!held || compareVersions(held.record.version, item.version) !== 0) return { applied: false, bytes: 0 };
    if (!held.record.tombstone && held.record.storage === 'quarantined') return { applied: false, bytes: 0 };
    const { applied, moved } = await copyVersion(held, target, source, signal, item.source);
    // Tombstones and multipart manifests move no body (moved undefined).
    return moved === undefined ? { applied, bytes: 0 } : { applied, bytes: applied ? held.record.size : 0, moved };
  }
}
