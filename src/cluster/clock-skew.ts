/**
 * Clock skew between nodes. Every liveness ping carries the peer's wall clock; from the round
 * trip this node estimates each peer's offset (NTP-style), and from those whether its own clock
 * agrees with a majority of the cluster. A node that does not refuses writes: its versions
 * would otherwise hide later writes made through nodes whose clocks are right (a clock ahead)
 * or be hidden by earlier ones (a clock behind). Reads keep working.
 */
import type { Metrics } from '../metrics/definitions.js';
import { RingstoreError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Membership } from './membership.js';

/** One ping's view of a peer's clock. */
export interface OffsetSample {
  /** The peer's clock minus this node's (ms); positive when the peer is ahead. */
  readonly offsetMs: number;
  /** Round trip of the ping; the offset is exact to within half of it. */
  readonly rttMs: number;
}

/** NTP-style estimate: the peer's time minus the midpoint of when the ping left and its answer came back. */
export function offsetSample(sentMs: number, peerTimeMs: number, receivedMs: number): OffsetSample {
  return { offsetMs: peerTimeMs - (sentMs + receivedMs) / 2, rttMs: receivedMs - sentMs };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Per-peer offset estimates: the median of the last `window` samples, so one slow or odd ping
 * does not flip the estimate. Samples whose round trip exceeds `maxRttMs` are dropped: their
 * error could be as large as the bound they are checked against.
 */
export class OffsetEstimator {
  readonly #window: number;
  readonly #maxRttMs: number;
  readonly #samples = new Map<string, number[]>();

  constructor(options: { window?: number; maxRttMs: number }) {
    this.#window = options.window ?? 5;
    this.#maxRttMs = options.maxRttMs;
  }

  /** Records a sample; returns false when it was dropped for its round trip. */
  add(peer: string, sample: OffsetSample): boolean {
    if (!(sample.rttMs >= 0 && sample.rttMs <= this.#maxRttMs)) return false;
    const list = this.#samples.get(peer) ?? [];
    list.push(sample.offsetMs);
    if (list.length > this.#window) list.shift();
    this.#samples.set(peer, list);
    return true;
  }

  /** The peer's estimated offset (ms), or undefined before its first usable sample. */
  offset(peer: string): number | undefined {
    const list = this.#samples.get(peer);
    return list === undefined || list.length === 0 ? undefined : median(list);
  }
}

/** Whether this node's clock agrees with the cluster. */
export interface SkewVerdict {
  /** This node's clock minus the median of the measured clocks (itself included); positive = ahead. */
  readonly offsetMs: number;
  /** Members (this node included) whose clock is within the bound of this node's. */
  readonly agreeing: number;
  /** Members not measured yet: given the benefit of the doubt. */
  readonly unmeasured: number;
  /** Members of the cluster, this node included. */
  readonly members: number;
  /** True when even counting every unmeasured member, fewer than a majority agree. */
  readonly skewed: boolean;
}

/**
 * Judges this node's clock from its peers' offsets. It is skewed when a majority of the
 * members cannot be within `boundMs` of it: with one node 1 s ahead of two that agree, that
 * node sees both peers off and is skewed, while each of the others sees itself and one peer
 * agreeing (2 of 3) and keeps accepting writes. Two nodes that disagree with no third to
 * decide are both skewed: nothing says which one is right.
 */
export function judgeSkew(peerOffsets: ReadonlyMap<string, number | undefined>, boundMs: number): SkewVerdict {
  const measured = [0];
  let agreeing = 1;
  let unmeasured = 0;
  for (const offset of peerOffsets.values()) {
    if (offset === undefined) {
      unmeasured++;
      continue;
    }
    measured.push(offset);
    if (Math.abs(offset) <= boundMs) agreeing++;
  }
  const members = peerOffsets.size + 1;
  const majority = Math.floor(members / 2) + 1;
  return { offsetMs: 0 - median(measured), agreeing, unmeasured, members, skewed: agreeing + unmeasured < majority };
}

/** Options of the skew monitor. */
export interface ClockSkewMonitorOptions {
  readonly membership: Membership;
  /** `cluster.maxClockOffsetMs`. */
  readonly boundMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  /** Samples per peer the estimate is the median of. */
  readonly window?: number;
}

function signed(ms: number): string {
  const rounded = Math.round(ms);
  return `${rounded > 0 ? '+' : ''}${rounded} ms`;
}

/** Keeps the offset estimates of this node's peers and decides whether it may accept writes. */
export class ClockSkewMonitor {
  readonly #o: ClockSkewMonitorOptions;
  readonly #estimator: OffsetEstimator;
  #verdict: SkewVerdict;

  constructor(options: ClockSkewMonitorOptions) {
    this.#o = options;
    this.#estimator = new OffsetEstimator({ maxRttMs: options.boundMs, ...(options.window !== undefined && { window: options.window }) });
    this.#verdict = judgeSkew(this.#peerOffsets(), options.boundMs);
  }

  /** Records one ping: sent at `sentMs`, answered with the peer's `peerTimeMs`, received at `receivedMs`. */
  record(peer: string, sentMs: number, peerTimeMs: number, receivedMs: number): void {
    if (!this.#estimator.add(peer, offsetSample(sentMs, peerTimeMs, receivedMs))) return;
    const before = this.#verdict;
    this.#verdict = judgeSkew(this.#peerOffsets(), this.#o.boundMs);
    this.#updateMetrics();
    if (this.#verdict.skewed !== before.skewed) {
      if (this.#verdict.skewed)
        this.#o.logger.error({ offsetMs: Math.round(this.#verdict.offsetMs), boundMs: this.#o.boundMs, peers: this.#peerSummary() }, `clock skewed: ${this.#describe()}; refusing writes`);
      else this.#o.logger.info({ offsetMs: Math.round(this.#verdict.offsetMs), boundMs: this.#o.boundMs, peers: this.#peerSummary() }, 'clock agrees with the cluster again; accepting writes');
    }
  }

  /** The current verdict. */
  verdict(): SkewVerdict {
    return this.#verdict;
  }

  /** The error to refuse a write with while the clock is skewed (counted), else undefined. */
  writeRefusal(): RingstoreError | undefined {
    if (!this.#verdict.skewed) return undefined;
    this.#o.metrics?.clockRefusedWrites.inc();
    return new RingstoreError('ClockSkew', `This node's clock is off: ${this.#describe()}. Writes are refused until its clock is corrected; send them to another node.`, {
      offsetMs: Math.round(this.#verdict.offsetMs),
      boundMs: this.#o.boundMs,
    });
  }

  /** A readiness reason while the clock is skewed. */
  readinessReason(): string | undefined {
    return this.#verdict.skewed ? `${this.#describe()}; refusing writes` : undefined;
  }

  #describe(): string {
    const v = this.#verdict;
    return `its clock is ${signed(v.offsetMs)} from the cluster median and only ${v.agreeing} of ${v.members} members agree with it within cluster.maxClockOffsetMs (${this.#o.boundMs} ms) (peer offsets: ${this.#peerSummary()})`;
  }

  #peerSummary(): string {
    return [...this.#peerOffsets()].map(([peer, offset]) => `${peer} ${offset === undefined ? 'not measured' : signed(offset)}`).join(', ');
  }

  #peerOffsets(): Map<string, number | undefined> {
    return new Map(this.#o.membership.peers().map((p) => [p.id, this.#estimator.offset(p.id)]));
  }

  #updateMetrics(): void {
    const { metrics } = this.#o;
    if (!metrics) return;
    metrics.clockOffset.set(this.#verdict.offsetMs / 1000);
    metrics.clockSkewed.set(this.#verdict.skewed ? 1 : 0);
    for (const [peer, offset] of this.#peerOffsets()) if (offset !== undefined) metrics.clockPeerOffset.set({ peer }, offset / 1000);
  }
}
