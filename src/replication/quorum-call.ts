/**
 * The one "answer at quorum, let the rest run" machine behind every replicated call (the idea of
 * Garage's RequestStrategy and try_write_many_sets). It asks targets in order, counts their
 * answers per replica set (`QuorumSetTracker`), and settles as soon as every set has its quorum
 * or some set can no longer get one. What it can do besides: ask only a few targets at first and
 * one more each time one fails or `speculateMs` passes without the quorum (reads); hold a target
 * back until its ack could complete the quorum (the coordinator's own copy of a write); give up
 * at a deadline. Calls still running once it settled are leftovers, tracked in a `Leftovers` so
 * that a node stopping can wait for them.
 */
import type { Timer, Timers } from '../util/clock.js';
import { systemTimers } from '../util/clock.js';
import { QuorumSetTracker } from './quorum.js';

/** Background work still running after its caller got its answer, waited for on stop. */
export class Leftovers {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `work` until it settles; its failure is the owner's to handle (it is only waited for here). */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
  }

  /** How many pieces of work are running. */
  get size(): number {
    return this.#pending.size;
  }

  /** Resolves once every tracked piece of work has settled, including work tracked meanwhile. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

/** Something a quorum call asks. */
export interface CallTarget {
  readonly id: string;
}

/** One target's answer. */
export interface CallAnswer<T extends CallTarget, R> {
  readonly target: T;
  readonly result: R;
}

/** What a quorum call does. */
export interface QuorumCallOptions<T extends CallTarget, R> {
  /** The operation, for the error message. */
  readonly op: string;
  /** Who may be asked, in the order they are asked. */
  readonly targets: readonly T[];
  /** Acks needed in each set. */
  readonly needed: number;
  /** The replica sets (target ids); one set of every target when omitted. */
  readonly sets?: readonly (readonly string[])[];
  /** Fallback id → the owner it stands in for (see QuorumSetTracker). */
  readonly standIns?: ReadonlyMap<string, string>;
  readonly sloppy?: boolean;
  /**
   * The call; `index` is its place in the order of asking (0 = first asked). `signal` aborts at
   * the deadline; without `deadlineMs` nothing aborts a call, so there is none (an AbortSignal
   * per head was a measurable share of a 4 KiB GET).
   */
  readonly call: (target: T, index: number, signal: AbortSignal | undefined) => Promise<R>;
  /** Turns an answer into a failure when it returns an error. */
  readonly check?: (target: T, result: R) => unknown;
  /** Called once for each target that failed (its error, or what `check` returned). */
  readonly onFailure?: (target: T, err: unknown) => void;
  /** How many targets to ask at once (all when omitted); one more is asked each time one fails. */
  readonly initial?: number;
  /** While the quorum is pending, ask one more target every this many ms. */
  readonly speculateMs?: number;
  /** Give up (the quorum's error, unanswered targets named) when the quorum is still pending after this long. */
  readonly deadlineMs?: number;
  /** Targets held back until their ack could complete every set (or the quorum is reached). */
  readonly holdBack?: (target: T) => boolean;
  readonly timers?: Timers;
  /** Where calls still running after the quorum settled are tracked. */
  readonly leftovers?: Leftovers;
}

/** A running quorum call. */
export interface QuorumCall<T extends CallTarget, R> {
  /** The live tracker (answers arriving after the quorum are recorded too). */
  readonly tracker: QuorumSetTracker<R>;
  /** Resolves with the successes once every set has its quorum; rejects with the tracker's error once one cannot (or at the deadline). */
  readonly quorum: Promise<ReadonlyMap<string, R>>;
  /** The calls made so far, in the order they were made (each rejects as its call did). */
  readonly calls: ReadonlyArray<Promise<CallAnswer<T, R>>>;
  /** Targets that were never asked (they were held back or not needed). */
  unasked(): T[];
  /** Resolves once every call made has settled (never rejects). */
  settled(): Promise<void>;
}

/** Starts a quorum call (see the module comment). */
export function quorumCall<T extends CallTarget, R>(o: QuorumCallOptions<T, R>): QuorumCall<T, R> {
  const timers = o.timers ?? systemTimers;
  const tracker = new QuorumSetTracker<R>({
    op: o.op,
    sets: o.sets ?? [o.targets.map((t) => t.id)],
    needed: o.needed,
    ...(o.standIns && { standIns: o.standIns }),
    ...(o.sloppy !== undefined && { sloppy: o.sloppy }),
  });
  const held = new Set(o.holdBack ? o.targets.filter(o.holdBack) : []);
  const asked = new Set<T>();
  const calls: Array<Promise<CallAnswer<T, R>>> = [];
  const controller = o.deadlineMs === undefined ? undefined : new AbortController();
  let settled = false;
  let speculation: Timer | undefined;
  let deadline: Timer | undefined;
  let resolveQuorum!: (value: ReadonlyMap<string, R>) => void;
  let rejectQuorum!: (err: unknown) => void;
  const quorum = new Promise<ReadonlyMap<string, R>>((resolve, reject) => {
    resolveQuorum = resolve;
    rejectQuorum = reject;
  });

  const finish = (err?: unknown): void => {
    if (settled) return;
    settled = true;
    if (speculation) timers.clearTimeout(speculation);
    if (deadline) timers.clearTimeout(deadline);
    if (err === undefined) {
      resolveQuorum(tracker.successes);
      // Held-back targets still get the write once the quorum stands.
      for (const target of held) if (!asked.has(target)) ask(target);
    } else rejectQuorum(err);
    if (o.leftovers && asked.size > 0) o.leftovers.track(Promise.allSettled(calls));
  };
  const judge = (): void => {
    const state = tracker.state;
    if (state === 'reached') finish();
    else if (state === 'failed') finish(tracker.error());
    else if (!settled) for (const target of held) if (!asked.has(target) && tracker.wouldReach(target.id)) ask(target);
  };
  const ask = (target: T): void => {
    asked.add(target);
    const index = calls.length;
    let started: Promise<R>;
    try {
      started = o.call(target, index, controller?.signal);
    } catch (err) {
      started = Promise.reject(err);
    }
    const call = started.then((result) => ({ target, result }));
    calls.push(call);
    call.then(
      ({ result }) => {
        const problem = o.check?.(target, result);
        if (problem !== undefined) return failed(target, problem);
        tracker.succeed(target.id, result);
        judge();
      },
      (err: unknown) => failed(target, err),
    );
  };
  const failed = (target: T, err: unknown): void => {
    o.onFailure?.(target, err);
    tracker.fail(target.id, err);
    judge();
    if (!settled) askNext();
  };
  const askNext = (): boolean => {
    const next = o.targets.find((t) => !asked.has(t) && !held.has(t));
    if (next === undefined || settled) return false;
    ask(next);
    return true;
  };
  const speculate = (): void => {
    speculation = undefined;
    if (askNext() && o.targets.some((t) => !asked.has(t) && !held.has(t))) speculation = timers.setTimeout(speculate, o.speculateMs!);
  };

  const initial = o.initial ?? o.targets.length;
  for (let i = 0; i < initial && askNext(); i++);
  judge();
  if (!settled && o.speculateMs !== undefined && o.targets.some((t) => !asked.has(t) && !held.has(t))) speculation = timers.setTimeout(speculate, o.speculateMs);
  if (!settled && o.deadlineMs !== undefined) {
    deadline = timers.setTimeout(() => {
      controller?.abort(new DOMException(`${o.op}: no quorum within ${o.deadlineMs} ms`, 'TimeoutError'));
      finish(tracker.error());
    }, o.deadlineMs);
  }
  return {
    tracker,
    quorum,
    calls,
    unasked: () => o.targets.filter((t) => !asked.has(t)),
    settled: async () => void (await Promise.allSettled(calls)),
  };
}
