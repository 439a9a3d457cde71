/**
 * One exchange with one peer: walk the tree down from the root, asking the peer for the child
 * summaries of every node whose summaries differ (one request per level), then read the entries
 * of the differing partitions on both sides and plan the copies. Two in-sync replicas exchange
 * one request and one ~130-byte answer; each differing key adds one node per level and its
 * partition's entry list.
 */
import { RingstoreError } from '../util/errors.js';
import { LEAF_LEVEL, ROOT, childOf, childSummaries, countMasked, rangeOf } from './merkle.js';
import { planPartition } from './plan.js';
import { MAX_ENTRIES_PER_RESPONSE, MAX_NODES_PER_REQUEST, MAX_PARTITIONS_PER_REQUEST, scanPartitions } from './responder.js';
import type { EntriesResponse, MerklePeer, MerkleSource, RepairItem, ReplicaEntry, TreeNode } from './types.js';

/** What one exchange works with. */
export interface ExchangeContext {
  readonly self: string;
  readonly peer: MerklePeer;
  readonly source: MerkleSource;
  readonly layoutVersion: number;
  /** Partitions both replicas own (0/1 per partition). */
  readonly mask: Uint8Array;
}

/** The outcome of the tree walk. */
export interface Differences {
  /** Shared partitions whose digests differ, ascending. */
  readonly differing: number[];
  /** Shared partitions found equal (inside equal subtrees). */
  readonly equal: number;
}

/**
 * Finds the shared partitions whose digests differ from the peer's. Rejects with
 * ServiceUnavailable when the peer is on another layout version (try again later).
 */
export async function findDifferences(ctx: ExchangeContext, signal: AbortSignal): Promise<Differences> {
  const digests = ctx.source.partitionDigests();
  const differing: number[] = [];
  let equal = 0;
  let frontier: TreeNode[] = [ROOT];
  while (frontier.length > 0) {
    const next: TreeNode[] = [];
    for (let i = 0; i < frontier.length; i += MAX_NODES_PER_REQUEST) {
      const nodes = frontier.slice(i, i + MAX_NODES_PER_REQUEST);
      const theirs = await askSummaries(ctx, nodes, signal);
      nodes.forEach((node, n) => {
        const mine = childSummaries(digests, ctx.mask, node);
        for (let c = 0; c < mine.length; c++) {
          const child = childOf(node, c);
          const { lo, hi } = rangeOf(child);
          if (mine[c] === theirs[n]?.[c]) equal += countMasked(ctx.mask, lo, hi);
          else if (child.level === LEAF_LEVEL) differing.push(lo);
          else next.push(child);
        }
      });
    }
    frontier = next;
  }
  return { differing, equal };
}

async function askSummaries(ctx: ExchangeContext, nodes: TreeNode[], signal: AbortSignal): Promise<readonly (readonly bigint[])[]> {
  const res = await ctx.peer.summaries({ layoutVersion: ctx.layoutVersion, from: ctx.self, nodes }, signal);
  if (res.layoutVersion !== ctx.layoutVersion) {
    throw new RingstoreError('ServiceUnavailable', `peer ${ctx.peer.id} is on layout version ${res.layoutVersion}, this node on ${ctx.layoutVersion}`, {
      peer: ctx.peer.id,
      theirs: res.layoutVersion,
      ours: ctx.layoutVersion,
    });
  }
  if (res.summaries.length !== nodes.length || res.summaries.some((s) => s.length !== 16)) {
    throw new RingstoreError('RpcProtocol', `peer ${ctx.peer.id} answered ${res.summaries.length} summaries for ${nodes.length} nodes`, { peer: ctx.peer.id });
  }
  return res.summaries;
}

/** Reads every entry of `partitions` through `fetch` (one side's paged reader), grouped by partition. */
export async function readAll(partitions: readonly number[], fetch: (partitions: readonly number[], after: string | undefined) => Promise<EntriesResponse>): Promise<Map<number, ReplicaEntry[]>> {
  const out = new Map<number, ReplicaEntry[]>(partitions.map((p) => [p, []]));
  let pending = partitions;
  let after: string | undefined;
  while (pending.length > 0) {
    const res = await fetch(pending, after);
    if (res.groups.length === 0) throw new RingstoreError('RpcProtocol', 'merkle entries: an answer without any partition');
    res.groups.forEach((group, i) => {
      if (group.partition !== pending[i]) throw new RingstoreError('RpcProtocol', `merkle entries: partition ${group.partition} answered in place of ${String(pending[i])}`);
      out.get(group.partition)?.push(...group.entries);
    });
    const last = res.groups.length - 1;
    if (res.next !== undefined && res.next.partition !== pending[last]) throw new RingstoreError('RpcProtocol', 'merkle entries: a cursor for a partition not answered last');
    pending = pending.slice(res.next === undefined ? last + 1 : last);
    after = res.next?.after;
  }
  return out;
}

/** Options of `planPartitions`. */
export interface PlanOptions {
  readonly nowMs: number;
  readonly tombstoneGraceMs: number;
}

/** Compares the entries of `partitions` (at most MAX_PARTITIONS_PER_REQUEST) with the peer's and plans the copies. */
export async function planPartitions(ctx: ExchangeContext, partitions: readonly number[], options: PlanOptions, signal: AbortSignal): Promise<RepairItem[]> {
  if (partitions.length > MAX_PARTITIONS_PER_REQUEST) throw new RingstoreError('InvalidArgument', `at most ${MAX_PARTITIONS_PER_REQUEST} partitions per comparison`);
  const limit = MAX_ENTRIES_PER_RESPONSE;
  const theirs = await readAll(partitions, (ps, after) =>
    ctx.peer.entries(after === undefined ? { layoutVersion: ctx.layoutVersion, partitions: ps, limit } : { layoutVersion: ctx.layoutVersion, partitions: ps, after, limit }, signal),
  );
  const mine = await readAll(partitions, (ps, after) => scanPartitions(ctx.source, ps, after, limit));
  return partitions.flatMap((partition) =>
    planPartition(mine.get(partition) ?? [], theirs.get(partition) ?? [], { partition, self: ctx.self, peer: ctx.peer.id, nowMs: options.nowMs, tombstoneGraceMs: options.tombstoneGraceMs }),
  );
}
