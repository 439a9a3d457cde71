/**
 * Object bodies the bench writes, and what a read of them must return. For each size there is
 * one pseudo-random buffer (allocated once): the AES-128-CTR keystream under a fixed key with
 * the size as IV, so the same on every run and machine. Variant v of that size is the window
 * starting v·64 bytes in. A PUT picks a variant, so every body is a slice (no per-request
 * allocation) and its CRC32 is computed once per (size, variant) — which lets every GET check
 * the bytes it read, and a later run recognise objects an earlier one wrote.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { crc32 } from '../util/crc.js';

/** Different bodies per size; a key's body changes with each overwrite (generation % VARIANTS). */
export const VARIANTS = 16;
const STRIDE = 64;

/** The user-metadata header naming a body's variant and checksum (`<variant>-<crc32 hex>`). */
export const TAG_HEADER = 'x-amz-meta-ringbench';

const KEY = createHash('sha256').update('ringstore bench bodies v1').digest().subarray(0, 16);

/** `length` bytes of AES-128-CTR keystream for bodies of `size` bytes: incompressible, reproducible. */
export function keystream(size: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(size), 0);
  const cipher = createCipheriv('aes-128-ctr', KEY, iv);
  const out = Buffer.alloc(length);
  // In place, a MiB at a time: no second buffer of the full length.
  const chunk = 1024 * 1024;
  for (let off = 0; off < length; off += chunk) {
    const part = out.subarray(off, Math.min(length, off + chunk));
    cipher.update(part).copy(part);
  }
  return out;
}

/** Bodies for every size of a run, their checksums and (for signed payloads) their SHA-256. */
export class BodySource {
  readonly #buffers = new Map<number, Buffer>();
  readonly #crcs = new Map<string, number>();
  readonly #sha = new Map<string, string>();

  /** The body of variant `variant` of `size` bytes: a view, never a copy. */
  body(size: number, variant: number): Buffer {
    let buffer = this.#buffers.get(size);
    if (buffer === undefined) {
      buffer = keystream(size, size + (VARIANTS - 1) * STRIDE);
      this.#buffers.set(size, buffer);
    }
    const start = (variant % VARIANTS) * STRIDE;
    return buffer.subarray(start, start + size);
  }

  /** Bytes `[start, end)` of a body (a multipart part). */
  slice(size: number, variant: number, start: number, end: number): Buffer {
    return this.body(size, variant).subarray(start, end);
  }

  /** CRC32 of a whole body (computed once). */
  crc(size: number, variant: number): number {
    const key = `${size}:${variant}`;
    let crc = this.#crcs.get(key);
    if (crc === undefined) {
      crc = crc32(this.body(size, variant));
      this.#crcs.set(key, crc);
    }
    return crc;
  }

  /** The variant of `size` whose CRC32 is `crc`, if any (identifies what a racing read got). */
  variantOf(size: number, crc: number): number | undefined {
    for (let v = 0; v < VARIANTS; v++) if (this.crc(size, v) === crc) return v;
    return undefined;
  }

  /** Hex SHA-256 of bytes `[start, end)` of a body, cached (for `--sign-payload`). */
  sha256(size: number, variant: number, start = 0, end = size): string {
    const key = `${size}:${variant}:${start}:${end}`;
    let hash = this.#sha.get(key);
    if (hash === undefined) {
      hash = createHash('sha256')
        .update(this.slice(size, variant, start, end))
        .digest('hex');
      this.#sha.set(key, hash);
    }
    return hash;
  }

  /** The tag stored with a body in `TAG_HEADER`. */
  tag(size: number, variant: number): string {
    return `${variant}-${this.crc(size, variant).toString(16).padStart(8, '0')}`;
  }

  /** The variant a stored tag claims, if the tag is one this source would write for `size`. */
  parseTag(size: number, tag: string | undefined): number | undefined {
    const m = tag === undefined ? null : /^(\d+)-([0-9a-f]{8})$/.exec(tag.trim());
    if (m === null) return undefined;
    const variant = Number(m[1]);
    if (variant >= VARIANTS) return undefined;
    return this.tag(size, variant) === m[0] ? variant : undefined;
  }
}
