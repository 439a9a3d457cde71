/**
 * Virtual time for the simulator: a `Clock` and `Timers` whose time moves only when the driver
 * fires the next due timer, so a run takes no real time and the order timers fire in is a
 * function of the program and its seed alone. Timers due at the same instant fire in the order
 * they were set.
 *
 * Groups are the timers of one simulated process: a crash cancels them all, a pause holds them
 * until it ends (a stopped process runs nothing, then everything that came due at once).
 * `installGlobals` routes the global setTimeout/setInterval onto the same queue for code that
 * does not take the seam yet (replication's speculation timer, the LevelStore's delayed deletes).
 */
import type { Clock, Timer, Timers } from '../../src/util/clock.js';

/** A pending virtual timer; also shaped like Node's Timeout for code holding global timers. */
export class VirtualTimer implements Timer {
  cancelled = false;
  at: number;
  readonly seq: number;
  readonly fire: () => void;
  readonly group: TimerGroup | undefined;
  constructor(at: number, seq: number, fire: () => void, group: TimerGroup | undefined) {
    this.at = at;
    this.seq = seq;
    this.fire = fire;
    this.group = group;
  }
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  [Symbol.toPrimitive](): number {
    return this.seq;
  }
}

/** The timers of one simulated process. */
export class TimerGroup implements Timers {
  readonly #clock: VirtualClock;
  readonly #live = new Set<VirtualTimer>();
  /** While now < heldUntil, due timers are moved to heldUntil (a paused process). */
  heldUntil = -Infinity;
  dead = false;

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    if (this.dead) return new VirtualTimer(Infinity, -1, fn, this);
    const timer = this.#clock.schedule(fn, ms, this);
    this.#live.add(timer);
    return timer;
  }

  clearTimeout(timer: Timer): void {
    this.#clock.clearTimeout(timer);
  }

  /** @internal the clock tells the group a timer left the queue. */
  forget(timer: VirtualTimer): void {
    this.#live.delete(timer);
  }

  /** A crash: every pending timer is dropped, and timers set afterwards never fire. */
  kill(): void {
    this.dead = true;
    for (const timer of this.#live) timer.cancelled = true;
    this.#live.clear();
  }
}

/** Real timer functions, captured before `installGlobals` replaces them. */
const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval };

export class VirtualClock implements Clock, Timers {
  #now: number;
  #seq = 0;
  /** Pending timers, ordered by (at, seq). */
  readonly #queue: VirtualTimer[] = [];
  fired = 0;

  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms, undefined);
  }

  clearTimeout(timer: Timer): void {
    if (timer instanceof VirtualTimer) {
      timer.cancelled = true;
      timer.group?.forget(timer);
    }
  }

  /** A fresh group of timers (one simulated process). */
  group(): TimerGroup {
    return new TimerGroup(this);
  }

  /** @internal Node's rule: a delay below 1 ms (or not a number) is 1 ms. */
  schedule(fn: () => void, ms: number, group: TimerGroup | undefined): VirtualTimer {
    const delay = Number.isFinite(ms) && ms >= 1 ? Math.floor(ms) : 1;
    const timer = new VirtualTimer(this.#now + delay, this.#seq++, fn, group);
    this.#insert(timer);
    return timer;
  }

  #insert(timer: VirtualTimer): void {
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#queue[mid]!;
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, timer);
  }

  /** How many timers are waiting (cancelled ones excluded). */
  pending(): number {
    return this.#queue.filter((t) => !t.cancelled).length;
  }

  /** When the next timer is due, or undefined when none is pending. */
  nextAt(): number | undefined {
    while (this.#queue[0]?.cancelled) this.#queue.shift();
    return this.#queue[0]?.at;
  }

  /**
   * Moves time to the next due timer and fires it; false when none is pending. A timer of a
   * held group is moved to the end of the hold instead (it fires then, in its original order).
   */
  step(): boolean {
    for (;;) {
      const timer = this.#queue.shift();
      if (timer === undefined) return false;
      if (timer.cancelled) continue;
      if (timer.at > this.#now) this.#now = timer.at;
      const group = timer.group;
      if (group !== undefined && group.heldUntil > this.#now) {
        timer.at = group.heldUntil;
        this.#insert(timer);
        continue;
      }
      group?.forget(timer);
      this.fired++;
      timer.fire();
      return true;
    }
  }

  /** Moves time forward without firing anything (nothing may be due before `ms`). */
  advanceTo(ms: number): void {
    const next = this.nextAt();
    if (next !== undefined && next < ms) throw new Error(`a timer is due at ${next}, before ${ms}`);
    if (ms > this.#now) this.#now = ms;
  }

  /**
   * Replaces the global setTimeout/clearTimeout/setInterval/clearInterval with this clock's, for
   * code that does not take the seam yet. Returns the function that puts the real ones back.
   * Timers set before (real Node timers) are still cleared by the real functions.
   */
  installGlobals(): () => void {
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = { setTimeout: g['setTimeout'], clearTimeout: g['clearTimeout'], setInterval: g['setInterval'], clearInterval: g['clearInterval'] };
    const intervals = new WeakMap<VirtualTimer, { current: VirtualTimer | undefined }>();
    const clear = (timer: unknown): void => {
      if (timer instanceof VirtualTimer) this.clearTimeout(timer);
      else if (timer !== undefined) real.clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
    };
    g['setTimeout'] = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => this.setTimeout(() => fn(...args), ms ?? 0);
    g['clearTimeout'] = clear;
    g['setInterval'] = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      // One handle for the whole series: clearing it cancels whichever timer is next.
      const handle: { current: VirtualTimer | undefined } = { current: undefined };
      const interval = new VirtualTimer(Infinity, -1, () => undefined, undefined);
      const arm = (): void => {
        if (interval.cancelled) return;
        handle.current = this.schedule(
          () => {
            arm();
            fn(...args);
          },
          ms ?? 0,
          undefined,
        );
      };
      arm();
      intervals.set(interval, handle);
      return interval;
    };
    g['clearInterval'] = (timer: unknown) => {
      if (timer instanceof VirtualTimer) {
        timer.cancelled = true;
        const current = intervals.get(timer)?.current;
        if (current) this.clearTimeout(current);
      } else clear(timer);
    };
    return () => Object.assign(g, saved);
  }
}

/** Real (not virtual) helpers for the driver: yield to the event loop once, or wait real time. */
export const realTime = {
  turn: (): Promise<void> => new Promise((resolve) => setImmediate(resolve)),
  sleep: (ms: number): Promise<void> => new Promise((resolve) => real.setTimeout(resolve, ms)),
};

/** A clock `offset` ms off the virtual one; the offset can change during the run. */
export class OffsetClock implements Clock {
  offsetMs = 0;
  readonly base: Clock;
  constructor(base: Clock) {
    this.base = base;
  }
  now(): number {
    return this.base.now() + this.offsetMs;
  }
}
