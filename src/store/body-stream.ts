/**
 * Readable streams over stored bodies. Full reads verify length and CRC32 as the last byte
 * goes by and error with CorruptBody instead of ending, so a corrupt copy is never served as
 * a complete one. Bodies with block CRCs are read a whole block at a time and each block is
 * checked before any of its bytes is handed out, full and ranged reads alike: such a stream
 * only ever yields checked bytes, and its CorruptBody says so (`details.resumable`), so a
 * reader may continue from another copy where this one failed.
 */
import type { StoreFile } from './file-system.js';
import { Readable } from 'node:stream';
import { crc32 } from '../util/crc.js';
import { RingstoreError } from '../util/errors.js';
import type { RecyclingBody } from '../util/send-body.js';
import type { ReadBufferPool } from './read-buffers.js';
import type { BlockCrcs } from './block-crcs.js';

/** Bytes per file read: large reads keep syscalls and stream overhead small per MiB. */
export const READ_CHUNK = 512 * 1024;
/** Chunks a body stream may read ahead of its consumer. */
const READ_AHEAD_CHUNKS = 4;

/** What a stream needs to check a full body, and the names to put in a CorruptBody error. */
export interface VerifyOptions {
  readonly crc32: number;
  readonly details: Readonly<Record<string, unknown>>;
}

function corrupt(message: string, details: Readonly<Record<string, unknown>>): RingstoreError {
  return new RingstoreError('CorruptBody', message, { ...details });
}

/** A stream of `data`, checked against `verify.crc32` when given. */
export function bufferReadable(data: Uint8Array, verify?: VerifyOptions): Readable {
  if (verify !== undefined && crc32(data) !== verify.crc32) {
    return errorReadable(corrupt('stored body does not match its checksum', verify.details));
  }
  let sent = false;
  return new Readable({
    read() {
      if (!sent && data.byteLength > 0) this.push(data);
      sent = true;
      this.push(null);
    },
  });
}

/** A stream that fails with `err` as soon as it is read. */
export function errorReadable(err: Error): Readable {
  return new Readable({
    read() {
      this.destroy(err);
    },
  });
}

/** Options for a stream over part of an open file. */
export interface FileRangeOptions {
  readonly start: number;
  readonly length: number;
  /** Check the CRC32 of all `length` bytes (only meaningful for a whole body). */
  readonly verify?: VerifyOptions;
  readonly details: Readonly<Record<string, unknown>>;
  readonly chunkSize?: number;
  /** Where full-size chunks come from and go back to (their size is the chunk size). */
  readonly buffers?: ReadBufferPool;
  /**
   * Check every block against these CRCs before handing it out. `start` must then be the start
   * of block `firstBlock`, and `length` end at a block end or the body's end.
   */
  readonly blocks?: { readonly crcs: BlockCrcs; readonly firstBlock: number };
  /** Only bytes of the file in [start, end) are handed out (the rest of the covering blocks is only checked). */
  readonly emit?: { readonly start: number; readonly end: number };
  /** Called (and awaited) before the stream fails with CorruptBody, e.g. to quarantine the copy. */
  readonly onCorrupt?: (err: RingstoreError) => Promise<void>;
}

/**
 * Streams `length` bytes of an open file from `start`, then closes it. A file that ends early
 * is CorruptBody; so is a CRC mismatch when verifying (the last chunk is withheld then).
 */
export class FileRangeReadable extends Readable implements RecyclingBody {
  readonly #fh: StoreFile;
  readonly #buffers: ReadBufferPool | undefined;
  readonly #verify: VerifyOptions | undefined;
  readonly #details: Readonly<Record<string, unknown>>;
  readonly #chunk: number;
  readonly #blocks: FileRangeOptions['blocks'];
  readonly #emit: { readonly start: number; readonly end: number };
  readonly #onCorrupt: FileRangeOptions['onCorrupt'];
  readonly #start: number;
  #position: number;
  #remaining: number;
  #crc = 0;
  #busy = false;
  #again = false;
  #ended = false;

  constructor(fh: StoreFile, options: FileRangeOptions) {
    // Read ahead a few chunks, so the next file read overlaps with sending the previous one.
    // Object mode: a consumer's read() then returns one chunk as it was read, where a byte
    // stream would concatenate whatever is buffered (a copy, and a buffer that cannot be recycled).
    super({ objectMode: true, highWaterMark: READ_AHEAD_CHUNKS });
    this.#fh = fh;
    this.#verify = options.verify;
    this.#details = options.details;
    this.#buffers = options.buffers;
    this.#chunk = options.buffers?.size ?? options.chunkSize ?? READ_CHUNK;
    this.#position = options.start;
    this.#remaining = options.length;
    this.#start = options.start;
    this.#blocks = options.blocks;
    this.#emit = options.emit ?? { start: options.start, end: options.start + options.length };
    this.#onCorrupt = options.onCorrupt;
  }

  override _read(): void {
    if (this.#blocks !== undefined) {
      // A block takes several reads; a call meanwhile is remembered and served once it is done.
      if (this.#busy) {
        this.#again = true;
        return;
      }
      this.#busy = true;
      this.#again = false;
      this.#readBlock(this.#blocks).then(
        () => {
          this.#busy = false;
          if (this.#again && !this.destroyed && !this.#ended) this._read();
        },
        (err: unknown) => {
          this.#busy = false;
          this.destroy(err as Error);
        },
      );
      return;
    }
    if (this.#remaining === 0) {
      this.#finish(undefined);
      return;
    }
    const n = Math.min(this.#chunk, this.#remaining);
    const buffer = n === this.#chunk && this.#buffers !== undefined ? this.#buffers.take() : Buffer.allocUnsafe(n);
    this.#fh.read(buffer, 0, n, this.#position).then(
      ({ bytesRead }) => {
        if (this.destroyed) {
          this.recycle(buffer);
          return;
        }
        if (bytesRead === 0) {
          this.recycle(buffer);
          this.destroy(corrupt('stored body is shorter than recorded', this.#details));
          return;
        }
        const data = bytesRead < n ? buffer.subarray(0, bytesRead) : buffer;
        this.#position += bytesRead;
        this.#remaining -= bytesRead;
        if (this.#verify !== undefined) this.#crc = crc32(data, this.#crc);
        if (this.#remaining === 0) this.#finish(data);
        else this.push(data);
      },
      (err: unknown) => {
        this.recycle(buffer);
        this.destroy(err as Error);
      },
    );
  }

  /** Reads the next block, checks it (and at the end the whole CRC when asked to), then hands out its bytes in the emit window. */
  async #readBlock(blocks: NonNullable<FileRangeOptions['blocks']>): Promise<void> {
    if (this.#remaining === 0) {
      this.#ended = true;
      this.push(null);
      return;
    }
    const { blockBytes, crcs } = blocks.crcs;
    const index = blocks.firstBlock + Math.floor((this.#position - this.#start) / blockBytes);
    const blockStart = this.#start + (index - blocks.firstBlock) * blockBytes;
    const blockEnd = Math.min(blockStart + blockBytes, this.#position + this.#remaining);
    const pending: Array<{ at: number; data: Buffer; buffer: Buffer }> = [];
    let crc = 0;
    try {
      while (this.#position < blockEnd) {
        const n = Math.min(this.#chunk, blockEnd - this.#position);
        const buffer = n === this.#chunk && this.#buffers !== undefined ? this.#buffers.take() : Buffer.allocUnsafe(n);
        const { bytesRead } = await this.#fh.read(buffer, 0, n, this.#position);
        if (bytesRead === 0) {
          this.recycle(buffer);
          await this.#fail(corrupt('stored body is shorter than recorded', { ...this.#details, resumable: true }));
          return;
        }
        const data = bytesRead < n ? buffer.subarray(0, bytesRead) : buffer;
        pending.push({ at: this.#position, data, buffer });
        crc = crc32(data, crc);
        if (this.#verify !== undefined) this.#crc = crc32(data, this.#crc);
        this.#position += bytesRead;
        this.#remaining -= bytesRead;
        if (this.destroyed) return;
      }
      if (crc !== crcs[index]) {
        await this.#fail(corrupt('stored body does not match its block checksum', { ...this.#details, block: index, resumable: true }));
        return;
      }
      if (this.#remaining === 0 && this.#verify !== undefined && this.#crc !== this.#verify.crc32) {
        await this.#fail(corrupt('stored body does not match its checksum', { ...this.#details, resumable: true }));
        return;
      }
    } finally {
      // Anything not handed out below goes back to the pool.
      if (this.destroyed) for (const p of pending) this.recycle(p.buffer);
    }
    const { start, end } = this.#emit;
    for (const { at, data, buffer } of pending) {
      const from = Math.max(start, at) - at;
      const to = Math.min(end, at + data.byteLength) - at;
      if (to <= from) this.recycle(buffer);
      else this.push(from === 0 && to === data.byteLength ? data : data.subarray(from, to));
    }
    if (this.#remaining === 0) {
      this.#ended = true;
      this.push(null);
    }
  }

  async #fail(err: RingstoreError): Promise<void> {
    if (this.#onCorrupt !== undefined) await this.#onCorrupt(err).catch(() => {});
    this.destroy(err);
  }

  /** Takes back a chunk once its consumer is done with it (only full chunks from the pool are kept). */
  recycle(chunk: Uint8Array): void {
    this.#buffers?.give(chunk);
  }

  #finish(last: Buffer | undefined): void {
    if (this.#verify !== undefined && this.#crc !== this.#verify.crc32) {
      if (last !== undefined) this.recycle(last);
      void this.#fail(corrupt('stored body does not match its checksum', this.#details));
      return;
    }
    if (last !== undefined) this.push(last);
    this.push(null);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#fh.close().then(
      () => callback(err),
      (closeErr: unknown) => callback(err ?? (closeErr as Error)),
    );
  }
}
