/**
 * `GET /admin/v1/status`: this node's view of the cluster, answered from memory (no disk or
 * network on the way, so it stays well under the 100 ms the CLI allows): the layout with each
 * member's liveness as this node sees it, and one section per background subsystem (hints,
 * anti-entropy, scrub, …) that registers a `StatusSection`.
 */
import type { Membership } from '../cluster/membership.js';
import type { Clock } from '../util/clock.js';
import type { AdminRoute } from './admin-api.js';

/** A subsystem's part of the status answer (e.g. `antiEntropy` with its progress). */
export interface StatusSection {
  readonly name: string;
  snapshot(): unknown;
}

/** What the status route reports on. */
export interface StatusSource {
  readonly nodeId: string;
  readonly membership: Membership;
  readonly clock: Clock;
  readonly startedMs: number;
  /** Replication factor N, for each member's share of the key space. */
  readonly replicationFactor: number;
  /** This node's S3 address ("host:port"), for the CLI's table. */
  s3Address(): string;
  readonly sections: readonly StatusSection[];
}

/** The status answer (also the CLI's `--json` output per node). */
export interface NodeStatus {
  readonly node: string;
  readonly s3: string;
  readonly uptimeMs: number;
  readonly layout: {
    readonly version: number;
    readonly members: ReadonlyArray<{ readonly id: string; readonly address: string; readonly zone: string; readonly capacity: number; readonly liveness: string; readonly share: number }>;
  };
  readonly [section: string]: unknown;
}

export function statusRoute(source: StatusSource): AdminRoute {
  // The share of the key space each member replicates, recomputed only when the layout changes.
  let shares: { version: number; byMember: Map<string, number> } | undefined;
  const shareOf = (id: string): number => {
    const { ring } = source.membership;
    if (shares?.version !== ring.layout.version) shares = { version: ring.layout.version, byMember: ring.ownership(source.replicationFactor) };
    return shares.byMember.get(id) ?? 0;
  };
  return {
    method: 'GET',
    path: '/status',
    handle(): NodeStatus {
      const { layout } = source.membership;
      const status: Record<string, unknown> = {
        node: source.nodeId,
        s3: source.s3Address(),
        uptimeMs: Math.max(0, source.clock.now() - source.startedMs),
        layout: {
          version: layout.version,
          members: layout.members.map((m) => ({ id: m.id, address: m.address, zone: m.zone, capacity: m.capacity, liveness: source.membership.liveness(m.id), share: shareOf(m.id) })),
        },
      };
      for (const section of source.sections) status[section.name] = section.snapshot();
      return status as NodeStatus;
    },
  };
}
