/**
 * The seams of anti-entropy: what it reads from the local store (`MerkleSource`), what it asks of a
 * peer (`MerklePeer`, carried by an RPC endpoint), which partitions two replicas share
 * (`PartitionPlacement`, backed by the ring) and who copies a key between replicas (`Repairer`,
 * backed by the read repairer). Everything here is an interface so the exchange runs against
 * in-memory fakes in tests and against the store and RPC in a node.
 */
import type { Version } from '../util/clock.js';

/** How a replica stores a copy; a quarantined copy knows its version but has no body. */
export type EntryStorage = 'inline' | 'blob' | 'quarantined';

/**
 * One key as a replica holds it: what the exchange compares at a partition. The store's
 * `PartitionEntry` (which adds the leaf digest) is assignable to it.
 */
export interface ReplicaEntry {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly tombstone: boolean;
  readonly storage: EntryStorage;
  /** Body size in bytes (0 for a tombstone); the repair's byte budget is charged with it. */
  readonly size: number;
}

/** A page of one partition's entries, in the store's index order (bucket, then key). */
export interface EntryPage {
  readonly entries: readonly ReplicaEntry[];
  /** Pass as `after` to get the next page; absent on the last page. */
  readonly next?: string;
}

/** What anti-entropy reads from this node's store (`LocalStore` implements it). */
export interface MerkleSource {
  /** The 65,536 partition digests (XOR of the leaf digests of every key held in the partition; 0n when empty). Read only. */
  partitionDigests(): BigUint64Array;
  /** One page of a partition's entries, keys strictly after the cursor `after`. */
  scanPartition(partition: number, options: { after?: string; limit: number }): Promise<EntryPage>;
}

/** Which nodes own each partition under one layout (backed by `Ring.preferenceListOfPartition(p, n)`). */
export interface PartitionPlacement {
  /** The layout version this placement was computed from; both sides of an exchange must agree on it. */
  readonly layoutVersion: number;
  /** Ids of the replicas (not fallbacks) of partition `p`. */
  ownersOf(partition: number): readonly string[];
}

/** A node of the exchange tree: level 0 is the root (all partitions), level 4 single partitions. */
export interface TreeNode {
  readonly level: number;
  readonly index: number;
}

/** Asks a peer for the 16 child summaries of each node, over the partitions it shares with `from`. */
export interface SummariesRequest {
  readonly layoutVersion: number;
  /** The asking node's id: the peer restricts every summary to the partitions both replicate. */
  readonly from: string;
  /** Interior nodes (level 0..3) to expand. */
  readonly nodes: readonly TreeNode[];
}

/** The peer's answer: for each requested node in order, its 16 child summaries. */
export interface SummariesResponse {
  /** The peer's layout version; when it differs from the request's, `summaries` is empty. */
  readonly layoutVersion: number;
  readonly summaries: readonly (readonly bigint[])[];
}

/** Asks a peer for the entries of some partitions, in the order listed. */
export interface EntriesRequest {
  readonly layoutVersion: number;
  readonly partitions: readonly number[];
  /** Cursor inside the first listed partition (from a previous response's `next`). */
  readonly after?: string;
  /** At most this many entries in the response (the last group may then be partial). */
  readonly limit: number;
}

/**
 * Entries of a prefix of the requested partitions, one group each, in request order; the
 * partitions after the last group were not answered (ask again).
 */
export interface EntriesResponse {
  readonly groups: readonly { readonly partition: number; readonly entries: readonly ReplicaEntry[] }[];
  /** Where to resume when the limit cut the answer: that partition (its group is partial) after this cursor. */
  readonly next?: { readonly partition: number; readonly after: string };
}

/** One remote replica as the exchange sees it (an RPC endpoint pair in a node, a fake in tests). */
export interface MerklePeer {
  readonly id: string;
  summaries(request: SummariesRequest, signal: AbortSignal): Promise<SummariesResponse>;
  entries(request: EntriesRequest, signal: AbortSignal): Promise<EntriesResponse>;
}

/** Why a key is copied. */
export type RepairReason = 'missing' | 'stale' | 'quarantined';

/** One copy to make: exactly `version` of a key, from a replica holding a good copy to one that needs it. */
export interface RepairItem {
  readonly partition: number;
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly tombstone: boolean;
  readonly size: number;
  /** Node id of the replica with the good copy. */
  readonly source: string;
  /** Node id of the replica that lacks it, holds an older version, or holds it quarantined. */
  readonly target: string;
  readonly reason: RepairReason;
}

/** What one copy did. */
export interface RepairOutcome {
  /** True when the target committed the version (false: the source no longer holds it, or the target already had it or newer). */
  readonly applied: boolean;
  /** Body bytes moved (0 for tombstones and multipart manifests). */
  readonly bytes: number;
  /** Body bytes that reached the target, applied or not (default `bytes`): the transfer cost. */
  readonly moved?: number;
}

/**
 * Copies a key's version between replicas: head `source`; if it still holds exactly
 * `item.version` with a good copy, stage its body on `target` (checking size and CRC32 against
 * the record) and commit it there under the same version. Failures reject; the next pass retries.
 */
export interface Repairer {
  copy(item: RepairItem, signal: AbortSignal): Promise<RepairOutcome>;
}
