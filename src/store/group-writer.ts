/**
 * Group commit for LevelDB puts. While one batch is being written (and fsynced), the puts that
 * arrive queue up and go out together in the next batch, so concurrent commits share one fsync
 * instead of each paying for its own. A lone put is written at once, with no added delay.
 * Only synced writes are grouped. An entry whose value is undefined deletes its key.
 */
import type { ClassicLevel } from 'classic-level';

interface Pending {
  /** Key/value pairs written together (atomically, in one batch); an undefined value deletes. */
  readonly entries: ReadonlyArray<WriteEntry>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** One key written by a batch: a put, or a delete when the value is undefined. */
export type WriteEntry = readonly [key: Buffer, value: Buffer | undefined];

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

function toOp([key, value]: WriteEntry): Op {
  return value === undefined ? { type: 'del', key } : { type: 'put', key, value };
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

  /** Resolves once every key → value (or delete) of `entries` is written, atomically (durably, when syncing). */
  put(entries: ReadonlyArray<WriteEntry>): Promise<void> {
    // Without fsync a write is cheap and LevelDB queues concurrent writers itself; batching here
    // would only serialize them.
    if (!this.#options.sync) return this.#db.batch(entries.map(toOp));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ entries, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= MAX_BATCH ? this.#queue : this.#queue.slice(0, MAX_BATCH);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_BATCH);
      try {
        await this.#db.batch(
          batch.flatMap((p) => p.entries.map(toOp)),
          this.#options,
        );
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#writing = false;
  }
}
