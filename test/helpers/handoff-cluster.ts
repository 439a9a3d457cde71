/**
 * Five in-process replicas (MemoryStore each) behind a MemoryTransport, with a coordinator on
 * any of them: enough members for a key's N=3 owners plus fallbacks, for the hinted-handoff tests.
 */
import { createHasher } from '../../src/ring/hasher.js';
import { Membership } from '../../src/cluster/membership.js';
import { Coordinator } from '../../src/replication/coordinator.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemoryTransport } from '../../src/rpc/transport.js';
import type { Member } from '../../src/ring/layout.js';
import type { ReplicaApi } from '../../src/store/types.js';
import { HybridClock, type Clock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import type { Metrics } from '../../src/metrics/definitions.js';
import { fixedRandom } from './replica-faults.js';

export const HANDOFF_IDS = ['n1', 'n2', 'n3', 'n4', 'n5'] as const;

/** A settable clock. */
export class ManualClock implements Clock {
  ms = 1_800_000_000_000;
  now(): number {
    return this.ms;
  }
}

export interface HandoffCluster {
  readonly clock: ManualClock;
  readonly transport: MemoryTransport;
  readonly stores: Record<string, MemoryStore>;
  readonly members: readonly Member[];
  /** A membership as node `self` sees it. */
  membership(self: string): Membership;
  /** The replica of `id` as node `self` reaches it (its store when local). */
  replicaOf(self: string, id: string): ReplicaApi;
  /** A coordinator on `self` whose membership is `membership`. */
  coordinator(membership: Membership, options?: { sloppyQuorum?: boolean; w?: number; metrics?: Metrics }): Coordinator;
  /** Takes `id` down (or back up) in the transport and in `memberships`. */
  setDown(id: string, down: boolean, ...memberships: Membership[]): void;
}

export async function handoffCluster(options: { inlineThreshold?: number } = {}): Promise<HandoffCluster> {
  const clock = new ManualClock();
  const hasher = await createHasher();
  const members: Member[] = HANDOFF_IDS.map((id, i) => ({ id, address: `mem:${i}`, zone: `z${i}`, capacity: 1, state: 'active' as const }));
  const layout = { version: 1, members };
  const transport = new MemoryTransport({ clock });
  const stores: Record<string, MemoryStore> = {};
  for (const [i, id] of HANDOFF_IDS.entries()) {
    const store = new MemoryStore({ inlineThreshold: options.inlineThreshold ?? 1024, random: fixedRandom(200 + i), clock });
    await store.open();
    stores[id] = store;
    transport.register(id, store);
  }
  const replicaOf = (self: string, id: string): ReplicaApi => (id === self ? stores[id]! : transport.replica(id, members.find((m) => m.id === id)!.address));
  return {
    clock,
    transport,
    stores,
    members,
    membership: (self) => new Membership({ selfId: self, layout, hasher, vnodesPerUnit: 16 }),
    replicaOf,
    coordinator: (membership, o = {}) =>
      new Coordinator({
        membership,
        replicaFor: (m) => replicaOf(membership.selfId, m.id),
        clock: new HybridClock(membership.selfId, clock, { maxAheadMs: 250 }),
        logger: silentLogger,
        metrics: o.metrics ?? null,
        n: 3,
        r: 2,
        w: o.w ?? 2,
        random: fixedRandom(7),
        readRepairChance: 0,
        inlineThreshold: options.inlineThreshold ?? 1024,
        ...(o.sloppyQuorum !== undefined && { sloppyQuorum: o.sloppyQuorum }),
      }),
    setDown(id, down, ...memberships) {
      transport.setDown(id, down);
      for (const m of memberships) m.setLiveness(id, down ? 'down' : 'up');
    },
  };
}
