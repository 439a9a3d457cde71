/**
 * The serving side of the exchange: answers a peer's summary and entry requests from this
 * node's store. The RPC endpoint handlers call these two methods and nothing else.
 */
import { RingstoreError } from '../util/errors.js';
import { childSummaries } from './merkle.js';
import type { SharedPartitions } from './shared.js';
import type { EntriesRequest, EntriesResponse, MerkleSource, PartitionPlacement, ReplicaEntry, SummariesRequest, SummariesResponse } from './types.js';

/** Most tree nodes one summaries request may expand (the response is ≤ 130 bytes each). */
export const MAX_NODES_PER_REQUEST = 1024;
/** Most partitions one entries request may list. */
export const MAX_PARTITIONS_PER_REQUEST = 1024;
/** Most entries one entries response carries. */
export const MAX_ENTRIES_PER_RESPONSE = 4096;

/** Options of a responder. */
export interface MerkleResponderOptions {
  readonly source: MerkleSource;
  /** The current placement (the ring of the current layout). */
  readonly placement: () => PartitionPlacement;
  readonly shared: SharedPartitions;
}

/** Answers `MerklePeer` calls made by other nodes. */
export class MerkleResponder {
  readonly #options: MerkleResponderOptions;

  constructor(options: MerkleResponderOptions) {
    this.#options = options;
  }

  /** The 16 child summaries of each requested node, restricted to the partitions shared with `from`. */
  summaries(request: SummariesRequest): SummariesResponse {
    const placement = this.#options.placement();
    if (request.layoutVersion !== placement.layoutVersion) return { layoutVersion: placement.layoutVersion, summaries: [] };
    if (request.nodes.length > MAX_NODES_PER_REQUEST) {
      throw new RingstoreError('InvalidArgument', `merkle summaries: ${request.nodes.length} nodes; expected at most ${MAX_NODES_PER_REQUEST}`);
    }
    const mask = this.#options.shared.maskWith(placement, request.from);
    const digests = this.#options.source.partitionDigests();
    return { layoutVersion: placement.layoutVersion, summaries: request.nodes.map((node) => childSummaries(digests, mask, node)) };
  }

  /** Entries of the listed partitions, up to the limit, in request order. */
  async entries(request: EntriesRequest): Promise<EntriesResponse> {
    if (request.partitions.length > MAX_PARTITIONS_PER_REQUEST) {
      throw new RingstoreError('InvalidArgument', `merkle entries: ${request.partitions.length} partitions; expected at most ${MAX_PARTITIONS_PER_REQUEST}`);
    }
    return scanPartitions(this.#options.source, request.partitions, request.after, Math.min(request.limit, MAX_ENTRIES_PER_RESPONSE));
  }
}

/**
 * Reads the listed partitions in order until `limit` entries are gathered: a prefix of the
 * partitions, the last possibly partial (then `next` says where it stopped). Also used for the
 * local side of a comparison.
 */
export async function scanPartitions(source: MerkleSource, partitions: readonly number[], after: string | undefined, limit: number): Promise<EntriesResponse> {
  const groups: { partition: number; entries: ReplicaEntry[] }[] = [];
  let budget = limit;
  let cursor = after;
  for (const partition of partitions) {
    if (budget === 0) break;
    const entries: ReplicaEntry[] = [];
    groups.push({ partition, entries });
    for (;;) {
      const page = await source.scanPartition(partition, cursor === undefined ? { limit: budget } : { after: cursor, limit: budget });
      entries.push(...page.entries);
      budget -= page.entries.length;
      cursor = page.next;
      // An empty page that claims more would loop forever; treat it as the end.
      if (cursor === undefined || page.entries.length === 0) break;
      if (budget === 0) return { groups, next: { partition, after: cursor } };
    }
    cursor = undefined;
  }
  return { groups };
}
