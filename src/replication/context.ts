/**
 * What the write, read and list paths share: the injected parts of a coordinator, resolved once
 * by the Coordinator facade, so each path is a plain class over the same context.
 */
import type { Member } from '../ring/layout.js';
import type { ReplicaApi } from '../store/types.js';
import type { HybridClock, Timers } from '../util/clock.js';
import type { RingstoreError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import type { Metrics } from '../metrics/definitions.js';
import type { Placement } from './placement.js';
import type { Leftovers } from './quorum-call.js';
import type { FanoutTarget } from './fanout.js';

/** The coordinator's parts, as the paths use them. */
export interface PathContext {
  readonly selfId: string;
  readonly placement: Placement;
  readonly replicaFor: (member: Member) => ReplicaApi;
  readonly clock: HybridClock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly r: number;
  readonly w: number;
  readonly random: Random;
  readonly readRepairChance: number;
  readonly inlineThreshold: number;
  /** Whether a fallback's ack (a hint for a down owner) counts toward W (replication.sloppyQuorum). */
  readonly sloppyQuorum: boolean;
  readonly writeRefusal?: () => RingstoreError | undefined;
  /** Work still running after its request was answered (late commits, repairs), drained on stop. */
  readonly leftovers: Leftovers;
}

/** The replica APIs of `members`, in the same order. */
export function targetsOf(ctx: PathContext, members: readonly Member[]): FanoutTarget[] {
  return members.map((m) => ({ id: m.id, api: ctx.replicaFor(m) }));
}
