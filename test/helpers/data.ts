import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** Hex SHA-256 of a buffer. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A deterministic pseudo-random stream of `size` bytes (no buffer of that size is ever held), and its SHA-256 once read. */
export function patternStream(size: number, seed = 1): { stream: Readable; digest: Promise<string> } {
  const block = randomBytesFromSeed(1024 * 1024, seed);
  const hash = createHash('sha256');
  let sent = 0;
  let resolveDigest!: (d: string) => void;
  const digest = new Promise<string>((r) => (resolveDigest = r));
  const stream = new Readable({
    read() {
      if (sent >= size) {
        resolveDigest(hash.digest('hex'));
        this.push(null);
        return;
      }
      const n = Math.min(block.length, size - sent);
      const chunk = block.subarray(0, n);
      // Vary each block so that shifted or repeated blocks would not hash the same.
      const out = Buffer.from(chunk);
      out.writeUInt32BE(sent / block.length, 0);
      hash.update(out);
      sent += n;
      this.push(out);
    },
  });
  return { stream, digest };
}

/** A deterministic 32-bit xorshift generator: the same `seed` gives the same sequence everywhere. */
export function xorshift32(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomBytesFromSeed(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  const next = xorshift32(seed);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE(next(), i);
  return out;
}

/** Random bytes for small bodies. */
export function randomBody(size: number): Buffer {
  return randomBytes(size);
}

/** Reads a stream to its SHA-256 and length without keeping it. */
export async function digestStream(stream: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}
