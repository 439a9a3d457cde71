/**
 * Counts the hints this node stores (`ringstore_hints_queued_total`): the store writes a hint in
 * the batch of a fallback's commit, so the count is taken around the replica the node serves.
 */
import type { Metrics } from '../metrics/definitions.js';
import type { ReplicaApi } from '../store/types.js';

/** `replica` with every applied commit that carried a hint counted. */
export function countingHints(replica: ReplicaApi, metrics: Metrics | null): ReplicaApi {
  if (!metrics) return replica;
  return {
    stage: (body, signal) => replica.stage(body, signal),
    async commit(meta, body, signal, sideWrites) {
      const result = await replica.commit(meta, body, signal, sideWrites);
      if (result.applied && sideWrites !== undefined) metrics.hintsQueued.inc(sideWrites.filter((w) => w.kind === 'hint').length);
      return result;
    },
    discard: (id, signal) => replica.discard(id, signal),
    head: (bucket, key, options, signal) => replica.head(bucket, key, options, signal),
    read: (bucket, key, version, range, signal) => replica.read(bucket, key, version, range, signal),
    list: (bucket, options, signal) => replica.list(bucket, options, signal),
  };
}
