/**
 * Paxos ballots. A ballot has the shape of an object version, `(hlc, node)`: the wall part comes
 * from the proposing node's hybrid logical clock, the node id breaks ties. Ballots are therefore
 * totally ordered (compareVersions), unique per proposer (one HLC per node never issues the same
 * value twice, and two nodes differ in `node`), and comparable with record versions: a value
 * committed at ballot b is written as the record version b, so "newer record" and "higher ballot"
 * are one order, and a plain last-writer-wins write above a ballot supersedes it (the record
 * version is the acceptor's floor, see acceptor.ts).
 */
import { compareVersions, type Version } from '../util/clock.js';

/** A Paxos ballot: ordered like a Version, newest wins. */
export type Ballot = Version;

/** Orders ballots: negative when a is lower than b, 0 when equal, positive when higher. */
export function compareBallots(a: Ballot, b: Ballot): number {
  return compareVersions(a, b);
}

/** The higher of two ballots, either of which may be absent. */
export function maxBallot(a: Ballot | undefined, b: Ballot | undefined): Ballot | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareBallots(a, b) >= 0 ? a : b;
}

/** Whether `a` is strictly above `b` (anything is above an absent ballot). */
export function isAbove(a: Ballot, b: Ballot | undefined): boolean {
  return b === undefined || compareBallots(a, b) > 0;
}

/**
 * What makeBallot needs of a clock: HybridClock's `observe` (adopt a value seen elsewhere; false
 * when it lies further ahead than the clock accepts) and `next` (a fresh value above everything
 * issued or observed).
 */
export interface BallotClock {
  observe(hlc: number): boolean;
  next(): Version;
}

/**
 * A fresh ballot of this node, strictly above `seen` (the highest ballot or record version a
 * rejection or promise reported), or undefined when the clock refuses to move that far ahead
 * (`seen` came from a clock beyond the skew bound: the caller fails the request with 503, as a
 * plain write hidden by such a version does). Observing before issuing keeps the node's later
 * versions, plain writes included, above the ballot too.
 */
export function makeBallot(clock: BallotClock, seen?: Ballot): Ballot | undefined {
  if (seen !== undefined && !clock.observe(seen.hlc)) return undefined;
  const ballot = clock.next();
  // next() is above every observed hlc, so the node tie-break is never needed against `seen`.
  return isAbove(ballot, seen) ? ballot : undefined;
}

/**
 * The lowest ballot of a wall-clock instant (node '' sorts below every node id): the floor an
 * acceptor puts at its purge horizon, below which no ballot is promised or accepted.
 */
export function ballotAtWallMs(wallMs: number): Ballot {
  // 1024 logical ticks per millisecond, as util/clock.ts packs an HLC value.
  return { hlc: Math.max(0, Math.floor(wallMs)) * 1024, node: '' };
}

/** A ballot as a short string for logs and error messages (`<hlc>@<node>`). */
export function describeBallot(ballot: Ballot | undefined): string {
  return ballot === undefined ? 'none' : `${ballot.hlc}@${ballot.node}`;
}
