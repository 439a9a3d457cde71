/**
 * Reusable read buffers for body streams. Every large Buffer is an external allocation to V8,
 * and each 64 MiB of them starts a full mark-compact: streaming 400 MiB/s of fresh read buffers
 * cost a node a fifth of the machine's CPU in garbage collection. A buffer lent to a stream
 * comes back through the stream's `recycle` once the response writer is done with it
 * (util/send-body.ts); one that never comes back is simply collected.
 */

/** A bounded free list of equally sized buffers. */
export class ReadBufferPool {
  readonly size: number;
  readonly #maxFree: number;
  #free: Buffer[] = [];
  // Lent buffers only: a buffer given back twice, or a view of one, is never pooled twice.
  readonly #lent = new WeakSet<Uint8Array>();

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  /** A buffer of `size` bytes, reused when one is free. */
  take(): Buffer {
    const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.#lent.add(buffer);
    return buffer;
  }

  /** Returns a buffer from `take`; ignores anything else, and anything given back already. */
  give(buffer: Uint8Array): void {
    if (!this.#lent.delete(buffer)) return;
    if (this.#free.length < this.#maxFree) this.#free.push(buffer as Buffer);
  }

  /** Buffers waiting to be reused. */
  get free(): number {
    return this.#free.length;
  }
}
