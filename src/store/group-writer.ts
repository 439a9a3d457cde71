/**
 * Group commit for LevelDB puts. While one batch is being written (and fsynced), the puts that
 * arrive queue up and go out together in the next batch, so concurrent commits share one fsync
 * instead of each paying for its own. A lone put is written at once, with no added delay.
 * Only synced writes are grouped.
 */
import type { ClassicLevel } from 'classic-level';

interface Pending {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

// Caps one batch, so a burst cannot build one huge write that delays everybody in it.
const MAX_BATCH = 256;

/** Writes puts to `db` in batches of whatever queued while the previous batch was in flight. */
export class GroupWriter {
  readonly #db: ClassicLevel<Buffer, Buffer>;
  readonly #options: { sync: boolean };
  #queue: Pending[] = [];
  #writing = false;

  constructor(db: ClassicLevel<Buffer, Buffer>, sync: boolean) {
    this.#db = db;
    this.#options = { sync };
  }

  /** Resolves once `key` → `value` is written (durably, when syncing). */
  put(key: Buffer, value: Buffer): Promise<void> {
    // Without fsync a put is cheap and LevelDB queues concurrent writers itself; batching here
    // would only serialize them.
    if (!this.#options.sync) return this.#db.put(key, value);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ key, value, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= MAX_BATCH ? this.#queue : this.#queue.slice(0, MAX_BATCH);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_BATCH);
      try {
        if (batch.length === 1) {
          const only = batch[0] as Pending;
          await this.#db.put(only.key, only.value, this.#options);
        } else {
          await this.#db.batch(
            batch.map((p) => ({ type: 'put' as const, key: p.key, value: p.value })),
            this.#options,
          );
        }
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#writing = false;
  }
}
