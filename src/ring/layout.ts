/**
 * The cluster layout: who the members are, where they listen, their zone and capacity.
 * A layout is data; the ring (`ring.ts`) is the pure function of it that places keys.
 */

/** A member's role in the current layout change. */
export type MemberState = 'active' | 'joining' | 'leaving';

/** One storage node in the layout. */
export interface Member {
  /** Stable node id (e.g. "n1"); tokens are derived from it. */
  readonly id: string;
  /** RPC address "host:port" other nodes use to reach it. */
  readonly address: string;
  /** Failure domain; replicas of a key go to distinct zones first. */
  readonly zone: string;
  /** Relative weight; tokens = round(capacity × vnodesPerUnit). 0 = gateway only (no data). */
  readonly capacity: number;
  readonly state: MemberState;
}

/** The cluster membership at one version. Higher versions replace lower ones. */
export interface Layout {
  readonly version: number;
  readonly members: readonly Member[];
}
