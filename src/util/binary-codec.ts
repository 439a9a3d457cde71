/**
 * The byte-level pieces of ringstore's compact binary codecs (Merkle exchange messages, Paxos
 * acceptor state): a growing writer and a validating reader of bytes, LEB128-style varints up to
 * 2^53, little-endian u64s, and length-prefixed bytes and UTF-8 strings. A reader never reads past
 * its input and fails with RpcProtocol naming what it decodes, so a codec built on it validates
 * by construction.
 */
import { RingstoreError } from './errors.js';

/** Encodes a value to bytes and back (decode validates, throwing on bad input). */
export interface BinaryCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Appends bytes to a buffer that grows as needed. */
export class BinaryWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    bigger.set(this.#buf.subarray(0, this.#len));
    this.#buf = bigger;
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }

  /** Unsigned integer up to 2^53, 7 bits per byte. */
  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RingstoreError('InvalidArgument', `binary codec: ${n} is not a non-negative safe integer`);
    let v = n;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  u64(x: bigint): void {
    this.#room(8);
    new DataView(this.#buf.buffer, this.#buf.byteOffset).setBigUint64(this.#len, x, true);
    this.#len += 8;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    this.bytes(utf8.encode(s));
  }

  done(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads what a BinaryWriter wrote; `what` names the message in errors ("merkle message: truncated"). */
export class BinaryReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #pos = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  /** A RpcProtocol error about this message. */
  fail(message: string): RingstoreError {
    return new RingstoreError('RpcProtocol', `${this.#what}: ${message}`);
  }

  byte(): number {
    const b = this.#bytes[this.#pos++];
    if (b === undefined) throw this.fail('truncated');
    return b;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(n)) throw this.fail('integer out of range');
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  u64(): bigint {
    if (this.#pos + 8 > this.#bytes.length) throw this.fail('truncated');
    const x = new DataView(this.#bytes.buffer, this.#bytes.byteOffset).getBigUint64(this.#pos, true);
    this.#pos += 8;
    return x;
  }

  /** Length-prefixed bytes (a copy). */
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.#pos + n > this.#bytes.length) throw this.fail('truncated');
    return this.#bytes.slice(this.#pos, (this.#pos += n));
  }

  /** Length-prefixed UTF-8, validated. */
  string(): string {
    const n = this.varint();
    if (this.#pos + n > this.#bytes.length) throw this.fail('truncated');
    try {
      return fromUtf8.decode(this.#bytes.subarray(this.#pos, (this.#pos += n)));
    } catch {
      throw this.fail('invalid UTF-8');
    }
  }

  /** Checks a message's leading type byte. */
  tag(expected: number): void {
    if (this.byte() !== expected) throw this.fail(`expected message type ${expected}`);
  }

  /** Fails unless every byte was read; returns `value` for `return r.end(decoded)`. */
  end(): void;
  end<T>(value: T): T;
  end<T>(value?: T): T | undefined {
    if (this.#pos !== this.#bytes.length) throw this.fail('trailing bytes');
    return value;
  }
}
