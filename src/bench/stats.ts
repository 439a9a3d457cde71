/**
 * What a bench run measures: latency in HDR histograms (microseconds, 3 significant digits),
 * operation and byte counts per kind of operation, errors by status or cause (never dropped),
 * and a per-second timeline for the progress line and the chart.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import type { OpKind } from './options.js';

const MIB = 1024 * 1024;

/** A latency histogram in microseconds, 1 µs to 1 h (grows beyond if needed). */
export function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Rounds to 3 decimals (for JSON). */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Throughput and latency of a set of operations, as reported. */
export interface OpSummary {
  readonly ops: number;
  readonly bytes: number;
  readonly ops_per_s: number;
  readonly mib_per_s: number;
  readonly mean_ms: number | null;
  readonly p50_ms: number | null;
  readonly p90_ms: number | null;
  readonly p99_ms: number | null;
  readonly p999_ms: number | null;
  readonly max_ms: number | null;
}

/** Counts and latencies of one kind of operation (or of all). */
export class OpStats {
  readonly histogram: Histogram = newHistogram();
  ops = 0;
  bytes = 0;

  /** One successful operation that took `us` microseconds and moved `bytes` of payload. */
  record(us: number, bytes: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(us)));
    this.ops++;
    this.bytes += bytes;
  }

  /** Totals, rates over `elapsedS`, and latency percentiles in ms. */
  summary(elapsedS: number): OpSummary {
    const h = this.histogram;
    // A percentile is the top of its HDR bucket, which can exceed the exact maximum: cap it.
    const pct = (p: number): number | null => (this.ops === 0 ? null : r3(Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000));
    return {
      ops: this.ops,
      bytes: this.bytes,
      ops_per_s: elapsedS > 0 ? r3(this.ops / elapsedS) : 0,
      mib_per_s: elapsedS > 0 ? r3(this.bytes / MIB / elapsedS) : 0,
      mean_ms: this.ops === 0 ? null : r3(h.mean / 1000),
      p50_ms: pct(50),
      p90_ms: pct(90),
      p99_ms: pct(99),
      p999_ms: pct(99.9),
      max_ms: this.ops === 0 ? null : r3(h.maxValue / 1000),
    };
  }
}

/** Errors by kind: an HTTP status (`503`), a network or timeout code, or a failed check (`verify:checksum`). */
export class ErrorTally {
  count = 0;
  readonly byKind = new Map<string, { count: number; sample: string }>();

  /** Counts one error; the first message of each kind is kept as its sample. */
  add(kind: string, message: string): void {
    this.count++;
    const entry = this.byKind.get(kind);
    if (entry === undefined) this.byKind.set(kind, { count: 1, sample: message.slice(0, 400) });
    else entry.count++;
  }

  /** `{ kind: count }`, most frequent first. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, { count }] of [...this.byKind].sort((a, b) => b[1].count - a[1].count)) out[kind] = count;
    return out;
  }

  /** `{ kind: first message }`. */
  samples(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [kind, { sample }] of this.byKind) out[kind] = sample;
    return out;
  }
}

/** One second (or so) of the run. */
export interface TimelineSample {
  /** Seconds since the run started (end of this sample). */
  readonly t_s: number;
  readonly ops: number;
  readonly ops_per_s: number;
  readonly mib_per_s: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly max_ms: number | null;
  readonly errors: number;
  /** The sample belongs to the warm-up (not measured). */
  readonly warmup: boolean;
}

/** Per-second samples: the current interval's histogram and counts, closed by `tick()`. */
export class Timeline {
  readonly samples: TimelineSample[] = [];
  readonly #histogram = newHistogram();
  readonly #start: number;
  #last: number;
  #ops = 0;
  #bytes = 0;
  #errors = 0;

  constructor(start: number) {
    this.#start = start;
    this.#last = start;
  }

  /** When the current interval started (ms, performance.now()). */
  get lastTick(): number {
    return this.#last;
  }

  /** One operation completed in the current interval. */
  record(us: number, bytes: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(us)));
    this.#ops++;
    this.#bytes += bytes;
  }

  /** One error in the current interval. */
  error(): void {
    this.#errors++;
  }

  /** Closes the current interval at `now` (ms, performance.now()) and starts the next. */
  tick(now: number, warmup: boolean): TimelineSample {
    const dt = Math.max(1e-3, (now - this.#last) / 1000);
    const h = this.#histogram;
    const sample: TimelineSample = {
      t_s: r3((now - this.#start) / 1000),
      ops: this.#ops,
      ops_per_s: r3(this.#ops / dt),
      mib_per_s: r3(this.#bytes / MIB / dt),
      p50_ms: this.#ops === 0 ? null : r3(Math.min(h.getValueAtPercentile(50), h.maxValue) / 1000),
      p99_ms: this.#ops === 0 ? null : r3(Math.min(h.getValueAtPercentile(99), h.maxValue) / 1000),
      max_ms: this.#ops === 0 ? null : r3(h.maxValue / 1000),
      errors: this.#errors,
      warmup,
    };
    this.samples.push(sample);
    h.reset();
    this.#ops = 0;
    this.#bytes = 0;
    this.#errors = 0;
    this.#last = now;
    return sample;
  }
}

/** Everything measured in the measured window of a run. */
export class RunStats {
  readonly all = new OpStats();
  readonly byOp = new Map<OpKind, OpStats>();
  readonly errors = new ErrorTally();
  /** GETs whose size and CRC32 matched what was written. */
  verified = 0;
  /** Of those, reads that matched a concurrent or uncertain overwrite rather than the last acknowledged one. */
  verifiedRacing = 0;
  /** Keys seen by complete list traversals. */
  listedKeys = 0;

  /** One successful operation. */
  record(kind: OpKind, us: number, bytes: number): void {
    this.all.record(us, bytes);
    let stats = this.byOp.get(kind);
    if (stats === undefined) {
      stats = new OpStats();
      this.byOp.set(kind, stats);
    }
    stats.record(us, bytes);
  }
}
