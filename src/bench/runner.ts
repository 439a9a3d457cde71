/**
 * Runs one bench: bucket, populate, warm-up, the measured window (`--duration` seconds or
 * `--count` operations) with `--concurrency` workers, then (multipart) a read-back check.
 * Always bounded: `--max-time` stops everything (in-flight requests are aborted), every
 * request has `--timeout`, and `interrupt()` (Ctrl-C) stops it early with the figures so far.
 */
import type { BenchOptions, OpKind } from './options.js';
import { costBetween, snapshot, type ProcSnapshot, type ServerCost, type ServerSelector } from './proc-stats.js';
import { S3RequestError, type BenchS3Client } from './s3-client.js';
import { RunStats, Timeline, type TimelineSample } from './stats.js';
import { VerifyError, type PopulateResult, type WorkerState, type Workload } from './workload.js';

/** Called about once a second while the load runs. */
export type ProgressHook = (sample: TimelineSample, stats: RunStats, phase: 'warm-up' | 'measure', elapsedS: number) => void;

/** Read-back of the objects a multipart run completed. */
export interface PostVerify {
  readonly checked: number;
  readonly verified: number;
  readonly errors: number;
}

/** Everything a run measured. */
export interface RunOutcome {
  readonly stats: RunStats;
  readonly timeline: readonly TimelineSample[];
  /** The measured window on the monotonic clock, µs (what CPU profiles are stamped with). */
  readonly windowUs: { readonly startUs: number; readonly endUs: number };
  /** Length of the measured window. */
  readonly elapsedS: number;
  /** Warm-up actually run. */
  readonly warmupS: number;
  readonly populate: PopulateResult | null;
  readonly postVerify: PostVerify | null;
  /** Errors of operations started during the warm-up (not in the measured figures, but shown). */
  readonly warmupErrors: number;
  /** Requests cut off by `--max-time` or Ctrl-C (not counted as errors). */
  readonly aborted: number;
  readonly hardStopped: boolean;
  readonly interrupted: boolean;
  /** The bench's own CPU over the measured window, % of one core. */
  readonly clientCpuPct: number;
  /** Server processes' cost over the measured window (null when none are known). */
  readonly server: ServerCost | null;
  /** Busy CPU of the machine over the measured window, % of one core. */
  readonly machineCpuPct: number | null;
}

/** The error-tally kind of a failure: `503 SlowDown`, `TIMEOUT`, `verify:checksum`… */
export function errorKind(error: unknown): string {
  if (error instanceof VerifyError) return error.kind;
  if (error instanceof S3RequestError) return error.status === undefined ? error.code : `${error.status} ${error.code}`;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const isAbort = (error: unknown): boolean => error instanceof S3RequestError && error.code === 'ABORTED';
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One bench run over a client and workload. */
export class Runner {
  readonly #options: BenchOptions;
  readonly #client: BenchS3Client;
  readonly #workload: Workload;
  readonly #selector: ServerSelector | undefined;
  readonly #bucketRetryMs: number;
  #interrupted = false;
  #hardStopped = false;

  /**
   * `selector` names the server processes to measure; `bucketRetryMs` is how long bucket creation
   * is retried on 5xx or connection errors (a cluster that has just started is still forming).
   */
  constructor(options: BenchOptions, client: BenchS3Client, workload: Workload, selector: ServerSelector | undefined, bucketRetryMs = 0) {
    this.#options = options;
    this.#client = client;
    this.#workload = workload;
    this.#selector = selector;
    this.#bucketRetryMs = bucketRetryMs;
  }

  /** Stops the run now (Ctrl-C): no new operations, requests in flight aborted. */
  interrupt(): void {
    this.#interrupted = true;
    this.#client.abortAll('interrupted');
  }

  get #halted(): boolean {
    return this.#interrupted || this.#hardStopped;
  }

  /** Creates the bucket, retrying briefly while a fresh cluster forms (503, refused connections). */
  async #createBucket(): Promise<void> {
    const deadline = performance.now() + this.#bucketRetryMs;
    for (;;) {
      try {
        return await this.#client.createBucket();
      } catch (error) {
        const retryable = error instanceof S3RequestError && (error.status === undefined ? error.code !== 'ABORTED' : error.status >= 500);
        if (!retryable || performance.now() > deadline || this.#halted) throw error;
        await sleep(250);
      }
    }
  }

  /** Runs everything; throws only when the bucket cannot be created. */
  async run(onProgress?: ProgressHook): Promise<RunOutcome> {
    const o = this.#options;
    const hardTimer = setTimeout(() => {
      this.#hardStopped = true;
      this.#client.abortAll(`--max-time ${o.maxTimeS} s reached`);
    }, o.maxTimeS * 1000);
    hardTimer.unref();
    try {
      await this.#createBucket();
      let populate: PopulateResult | null = null;
      let aborted = 0;
      if (this.#workload.needsPopulate) {
        populate = await this.#workload.populate(
          o.populateConcurrency,
          () => this.#halted,
          (error) => {
            if (isAbort(error)) aborted++;
          },
        );
      }
      const timed = await this.#timed(onProgress);
      aborted += timed.aborted;
      const postVerify = await this.#postVerify(timed.stats);
      return { ...timed, aborted, populate, postVerify, hardStopped: this.#hardStopped, interrupted: this.#interrupted };
    } finally {
      clearTimeout(hardTimer);
    }
  }

  async #timed(onProgress: ProgressHook | undefined): Promise<Omit<RunOutcome, 'populate' | 'postVerify' | 'hardStopped' | 'interrupted'>> {
    const o = this.#options;
    const workload = this.#workload;
    const start = performance.now();
    const timeline = new Timeline(start);
    let stats = new RunStats();
    let measuring = o.warmupS <= 0;
    let stop = false;
    let issued = 0;
    let aborted = 0;
    let warmupErrors = 0;
    let measureStart = start;
    let windowStartUs = monotonicUs();
    let cpu0 = process.cpuUsage();
    let proc0: ProcSnapshot = snapshot(this.#selector ?? { pids: [] });
    const beginMeasuring = (): void => {
      measuring = true;
      stats = new RunStats();
      measureStart = performance.now();
      windowStartUs = monotonicUs();
      cpu0 = process.cpuUsage();
      proc0 = snapshot(this.#selector ?? { pids: [] });
    };
    const timers: NodeJS.Timeout[] = [];
    if (!measuring) timers.push(setTimeout(beginMeasuring, o.warmupS * 1000));
    if (o.durationS !== undefined) timers.push(setTimeout(() => (stop = true), (o.warmupS + o.durationS) * 1000));
    const ticker = setInterval(() => {
      const now = performance.now();
      // A sample that is mostly warm-up is flagged as such (the two timers fire at about the same moment).
      const sample = timeline.tick(now, !measuring || now - measureStart < 500);
      onProgress?.(sample, stats, sample.warmup ? 'warm-up' : 'measure', (now - start) / 1000);
    }, 1000);

    const loop = async (): Promise<void> => {
      const worker: WorkerState = { listToken: undefined, listSeen: 0 };
      while (!stop && !this.#halted) {
        if (o.count !== undefined && issued >= o.count) return;
        const kind: OpKind | 'done' = workload.next();
        if (kind === 'done') {
          stop = true;
          return;
        }
        issued++;
        // Operations started during the warm-up are not measured, even when they end after it.
        const target = measuring ? stats : undefined;
        const t0 = performance.now();
        try {
          const result = await workload.run(kind, worker);
          const us = (performance.now() - t0) * 1000;
          timeline.record(us, result.bytes);
          if (target === stats) {
            stats.record(result.kind, us, result.bytes);
            stats.verified += result.verified;
            stats.verifiedRacing += result.racing;
            stats.listedKeys += result.listed;
          }
        } catch (error) {
          if (isAbort(error) && this.#halted) {
            aborted++;
            continue;
          }
          timeline.error();
          if (target === stats) stats.errors.add(errorKind(error), errorMessage(error));
          else warmupErrors++;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: o.concurrency }, loop));
    } finally {
      for (const timer of timers) clearTimeout(timer);
      clearInterval(ticker);
    }
    const end = performance.now();
    const windowEndUs = monotonicUs();
    if (end - timeline.lastTick > 100) timeline.tick(end, !measuring);
    // A run that ended (count reached, interrupted) before the warm-up did has measured nothing.
    if (!measuring) beginMeasuring();
    const elapsedS = Math.max(1e-3, (end - measureStart) / 1000);
    const cpu = process.cpuUsage(cpu0);
    const cost = costBetween(proc0, snapshot(this.#selector ?? { pids: [] }));
    return {
      stats,
      timeline: timeline.samples,
      windowUs: { startUs: windowStartUs, endUs: windowEndUs },
      elapsedS,
      warmupS: Math.max(0, (measureStart - start) / 1000),
      aborted,
      warmupErrors,
      clientCpuPct: Math.round(((cpu.user + cpu.system) / 1e3 / (end - measureStart)) * 1000) / 10,
      server: this.#selector === undefined ? null : cost,
      machineCpuPct: cost.machine_cpu_pct > 0 ? cost.machine_cpu_pct : null,
    };
  }

  /** After a multipart run: GET every completed object once and check it (not timed). */
  async #postVerify(stats: RunStats): Promise<PostVerify | null> {
    if (this.#options.op !== 'multipart') return null;
    const keys = [...this.#workload.multipartKeys];
    let next = 0;
    let verified = 0;
    let errors = 0;
    const worker = async (): Promise<void> => {
      while (!this.#halted) {
        const i = keys[next++];
        if (i === undefined) return;
        try {
          await this.#workload.verifyKey(i);
          verified++;
        } catch (error) {
          if (isAbort(error)) return;
          errors++;
          stats.errors.add(`read-back ${errorKind(error)}`, errorMessage(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#options.concurrency, Math.max(1, keys.length)) }, worker));
    return { checked: verified + errors, verified, errors };
  }
}
