/**
 * A `Repairer` over `ReplicaApi`s (the local store, or a peer over RPC): the same steps read
 * repair takes to bring a stale or quarantined replica up to date, for one planned key. The body
 * is staged on the target from the source's copy and committed under the source's version, so the
 * target ends up with exactly that version; a body whose size or CRC32 differs from the record is
 * discarded, never committed.
 */
import type { ReplicaApi } from '../store/types.js';
import { compareVersions } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { relayBody } from '../util/relay-body.js';
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
    const { record } = held;
    if (!record.tombstone && record.storage === 'quarantined') return { applied: false, bytes: 0 };
    // Tombstones and multipart manifests carry no body of their own (parts are keys of their own).
    if (record.tombstone || record.parts !== undefined) {
      const result = await target.commit(record, { kind: 'inline', data: new Uint8Array(0) }, signal);
      return { applied: result.applied, bytes: 0 };
    }
    if (held.inlineBody) {
      const result = await target.commit(record, { kind: 'inline', data: held.inlineBody }, signal);
      return { applied: result.applied, bytes: result.applied ? record.size : 0, moved: held.inlineBody.length };
    }
    const staged = await relayBody(await source.read(record.bucket, record.key, record.version, undefined, signal), (body) => target.stage(body, signal));
    try {
      if (staged.size !== record.size || staged.crc32 !== record.crc32) {
        throw new RingstoreError('ChecksumMismatch', `the body copied from ${item.source} differs from its record`, { source: item.source, size: staged.size, expected: record.size });
      }
      const result = await target.commit(record, { kind: 'staged', id: staged.id }, signal);
      return { applied: result.applied, bytes: result.applied ? record.size : 0, moved: staged.size };
    } catch (err) {
      // A staged body nothing commits would hold the target's disk until its GC.
      await target.discard(staged.id).catch(() => {});
      throw err;
    }
  }
}
