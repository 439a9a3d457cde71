/**
 * Serializes async work per key, so that a read-compare-write on one object is atomic while
 * different keys proceed in parallel.
 */

/** A set of FIFO locks, one per string key, that exist only while someone holds or awaits them. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous === undefined ? mine : previous.then(() => mine);
    this.#tails.set(key, tail);
    try {
      if (previous !== undefined) await previous;
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** How many keys are currently locked (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
