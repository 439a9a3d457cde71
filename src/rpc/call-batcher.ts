/**
 * Batches the small calls to one peer (head lookups, commits). Under load, each of those was one
 * HTTP exchange, and on loopback the system calls of an exchange cost more than the work it
 * carries. Queries wait for the end of the current event-loop turn (`schedule`, setImmediate by
 * default), so every request handled in that turn shares one call; while `maxInFlight` calls to
 * the peer are open, they wait for one to return. No timers: an idle node adds only the rest of
 * one loop turn, and a busy one sends one exchange for many queries.
 */

/** Sends one batch; resolves with one answer per query, in order (an Error fails that query only), or rejects for the whole batch. */
export type SendBatch<Q, A> = (queries: readonly Q[]) => Promise<ReadonlyArray<A | Error>>;

/** Limits of a CallBatcher. */
export interface CallBatcherOptions<Q> {
  /** Calls to the peer open at once. */
  readonly maxInFlight: number;
  /** Queries in one call. */
  readonly maxBatch: number;
  /** With `weight`: most total weight in one call (a heavier single query still goes, alone). */
  readonly maxWeight?: number;
  /** The weight of a query (e.g. its inline body's bytes). */
  readonly weight?: (query: Q) => number;
  /** Runs a function at the end of the current event-loop turn (setImmediate by default). */
  readonly schedule?: (fn: () => void) => void;
}

interface Waiter<Q, A> {
  readonly query: Q;
  readonly resolve: (answer: A) => void;
  readonly reject: (err: unknown) => void;
  /** Detaches the caller's abort listener; true when the caller is still waiting. */
  readonly release: () => boolean;
}

/** The call queue of one kind of call to one peer. */
export class CallBatcher<Q, A> {
  readonly #send: SendBatch<Q, A>;
  readonly #options: CallBatcherOptions<Q>;
  #queue: Array<Waiter<Q, A>> = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(send: SendBatch<Q, A>, options: CallBatcherOptions<Q>) {
    this.#send = send;
    this.#options = options;
  }

  /** Queries waiting for a free call. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends one query. A caller's abort rejects its own promise only, never the batch it rides in
   * (the peer may still carry the query out, as with any call whose answer is not awaited).
   */
  call(query: Q, signal?: AbortSignal): Promise<A> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<A>((resolve, reject) => {
      let waiting = true;
      const onAbort = (): void => {
        if (!waiting) return;
        waiting = false;
        this.#queue = this.#queue.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter<Q, A> = {
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

  /** The next batch: up to maxBatch queries and maxWeight, at least one. */
  #take(): Array<Waiter<Q, A>> {
    const { maxBatch, maxWeight, weight } = this.#options;
    let n = 0;
    let total = 0;
    while (n < this.#queue.length && n < maxBatch) {
      const w = weight === undefined ? 0 : weight(this.#queue[n]!.query);
      if (n > 0 && maxWeight !== undefined && total + w > maxWeight) break;
      total += w;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  #pump(): void {
    while (this.#inFlight < this.#options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight++;
      this.#send(batch.map((w) => w.query))
        .then(
          (answers) => {
            batch.forEach((w, i) => {
              if (!w.release()) return;
              const answer = answers[i];
              if (answer instanceof Error) w.reject(answer);
              else w.resolve(answer as A);
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
