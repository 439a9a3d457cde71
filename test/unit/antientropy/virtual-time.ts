/** Virtual time for the worker tests: a Clock and Timers that move only when `run` advances them. */
import type { Clock, Timer, Timers } from '../../../src/util/clock.js';

interface Pending extends Timer {
  at: number;
  fn: () => void;
}

export class VirtualTime implements Clock, Timers {
  #now: number;
  #pending: Pending[] = [];
  /** Every sleep asked for, in ms. */
  readonly sleeps: number[] = [];

  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t: Pending = { at: this.#now + ms, fn };
    this.sleeps.push(ms);
    this.#pending.push(t);
    return t;
  }

  clearTimeout(timer: Timer): void {
    this.#pending = this.#pending.filter((t) => t !== timer);
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  /** Settles `work`, firing timers in time order whenever nothing else can make progress. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const settled = work.finally(() => {
      done = true;
    });
    // Handled by the caller once returned; this keeps a rejection between turns from counting as unhandled.
    settled.catch(() => {});
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (done) return settled;
      this.#pending.sort((a, b) => a.at - b.at);
      let next = this.#pending.shift();
      // Real I/O (a LevelStore on disk) settles in real time: give it a moment before calling the work stuck.
      for (let waited = 0; !next && !done && waited < 2000; waited += 5) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        this.#pending.sort((a, b) => a.at - b.at);
        next = this.#pending.shift();
      }
      if (done) {
        if (next) this.#pending.unshift(next);
        return settled;
      }
      if (!next) throw new Error('virtual time: work is stuck with no timer pending');
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
  }
}
