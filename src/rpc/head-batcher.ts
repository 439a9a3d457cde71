/**
 * Batches the head calls to one peer. A quorum read asks a remote replica for one key's version;
 * under load, each of those was one HTTP exchange, and on loopback the system calls of an
 * exchange cost more than the lookup. Queries wait for the end of the current event-loop turn
 * (`schedule`, setImmediate by default), so every request handled in that turn shares one call;
 * while `maxInFlight` calls to the peer are open, they wait for one to return. No timers: an
 * idle node adds only the rest of one loop turn, and a busy one sends one exchange for many keys.
 */
import type { HeadResult } from '../store/types.js';
import type { HeadAnswer, HeadQuery } from './wire.js';

/** Sends one batch; resolves with one answer per query, in order, or rejects for the whole batch. */
export type SendHeads = (queries: readonly HeadQuery[]) => Promise<readonly HeadAnswer[]>;

/** Limits of a HeadBatcher. */
export interface HeadBatcherOptions {
  /** Calls to the peer open at once. */
  readonly maxInFlight: number;
  /** Queries in one call. */
  readonly maxBatch: number;
  /** Runs a function at the end of the current event-loop turn (setImmediate by default). */
  readonly schedule?: (fn: () => void) => void;
}

interface Waiter {
  readonly query: HeadQuery;
  readonly resolve: (result: HeadResult | undefined) => void;
  readonly reject: (err: unknown) => void;
  /** Detaches the caller's abort listener; true when the caller is still waiting. */
  readonly release: () => boolean;
}

/** The head-call queue of one peer. */
export class HeadBatcher {
  readonly #send: SendHeads;
  readonly #options: HeadBatcherOptions;
  #queue: Waiter[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(send: SendHeads, options: HeadBatcherOptions) {
    this.#send = send;
    this.#options = options;
  }

  /** Queries waiting for a free call. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Looks one key up; a caller's abort rejects its own promise only, never the batch it rides in. */
  head(query: HeadQuery, signal?: AbortSignal): Promise<HeadResult | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let waiting = true;
      const onAbort = (): void => {
        if (!waiting) return;
        waiting = false;
        this.#queue = this.#queue.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        query,
        resolve,
        reject,
        release: () => {
          signal?.removeEventListener('abort', onAbort);
          const was = waiting;
          waiting = false;
          return was;
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      if (!this.#scheduled && this.#inFlight < this.#options.maxInFlight) {
        this.#scheduled = true;
        (this.#options.schedule ?? setImmediate)(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#inFlight++;
      this.#send(batch.map((w) => w.query))
        .then(
          (answers) => {
            batch.forEach((w, i) => {
              if (!w.release()) return;
              const answer = answers[i];
              if (answer instanceof Error) w.reject(answer);
              else w.resolve(answer);
            });
          },
          (err: unknown) => {
            for (const w of batch) if (w.release()) w.reject(err);
          },
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }
}
