/**
 * Readable streams over stored bodies. Full reads verify length and CRC32 as the last byte
 * goes by and error with CorruptBody instead of ending, so a corrupt copy is never served as
 * a complete one.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { crc32 } from '../util/crc.js';
import { RingstoreError } from '../util/errors.js';
import type { RecyclingBody } from '../util/send-body.js';
import type { ReadBufferPool } from './read-buffers.js';

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
}

/**
 * Streams `length` bytes of an open file from `start`, then closes it. A file that ends early
 * is CorruptBody; so is a CRC mismatch when verifying (the last chunk is withheld then).
 */
export class FileRangeReadable extends Readable implements RecyclingBody {
  readonly #fh: FileHandle;
  readonly #buffers: ReadBufferPool | undefined;
  readonly #verify: VerifyOptions | undefined;
  readonly #details: Readonly<Record<string, unknown>>;
  readonly #chunk: number;
  #position: number;
  #remaining: number;
  #crc = 0;

  constructor(fh: FileHandle, options: FileRangeOptions) {
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
  }

  override _read(): void {
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

  /** Takes back a chunk once its consumer is done with it (only full chunks from the pool are kept). */
  recycle(chunk: Uint8Array): void {
    this.#buffers?.give(chunk);
  }

  #finish(last: Buffer | undefined): void {
    if (this.#verify !== undefined && this.#crc !== this.#verify.crc32) {
      this.destroy(corrupt('stored body does not match its checksum', this.#details));
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
