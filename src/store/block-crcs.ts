/**
 * Per-block checksums of a stored body: the CRC32 of every `BLOCK_BYTES` of it (the last block
 * may be shorter). A whole-body CRC can only judge a read that reaches the last byte, so a
 * ranged read could never tell a flipped byte from a good one; with block CRCs a reader reads
 * the blocks covering its range, checks each, and hands out only bytes it has checked. Bodies
 * stored before block CRCs existed simply have none (their full reads still check the whole CRC).
 */
import { crc32 } from '../util/crc.js';
import type { ByteRange } from './types.js';

/** Block size of new bodies: 1 MiB, two read chunks, and the size of an O_DIRECT slab. */
export const BLOCK_BYTES = 1024 * 1024;

/** The block CRCs of one body. */
export interface BlockCrcs {
  readonly blockBytes: number;
  readonly crcs: Uint32Array;
}

/** Computes block CRCs over a body that arrives in chunks of any size. */
export class BlockCrcBuilder {
  readonly #blockBytes: number;
  readonly #done: number[] = [];
  #crc = 0;
  #fill = 0;

  constructor(blockBytes = BLOCK_BYTES) {
    this.#blockBytes = blockBytes;
  }

  /** Adds the next bytes of the body. */
  update(chunk: Uint8Array): void {
    for (let from = 0; from < chunk.byteLength;) {
      const n = Math.min(this.#blockBytes - this.#fill, chunk.byteLength - from);
      this.#crc = crc32(n === chunk.byteLength ? chunk : chunk.subarray(from, from + n), this.#crc);
      this.#fill += n;
      from += n;
      if (this.#fill === this.#blockBytes) {
        this.#done.push(this.#crc);
        this.#crc = 0;
        this.#fill = 0;
      }
    }
  }

  /** The CRCs of every block so far, the partial last one included. */
  finish(): BlockCrcs {
    const crcs = this.#fill > 0 ? [...this.#done, this.#crc] : this.#done;
    return { blockBytes: this.#blockBytes, crcs: Uint32Array.from(crcs) };
  }
}

/** Block CRCs of a body held in memory. */
export function blockCrcsOf(data: Uint8Array, blockBytes = BLOCK_BYTES): BlockCrcs {
  const builder = new BlockCrcBuilder(blockBytes);
  builder.update(data);
  return builder.finish();
}

/** Whether `crcs` has exactly one CRC per block of a `size`-byte body. */
export function fitsSize(blocks: BlockCrcs, size: number): boolean {
  return blocks.blockBytes > 0 && blocks.crcs.length === Math.ceil(size / blocks.blockBytes);
}

/** The byte span of the whole blocks that cover `range` in a body of `size` bytes (inclusive). */
export function coveringSpan(range: ByteRange, size: number, blockBytes: number): ByteRange {
  const start = Math.floor(range.start / blockBytes) * blockBytes;
  const end = Math.min(size - 1, (Math.floor(range.end / blockBytes) + 1) * blockBytes - 1);
  return { start, end };
}

/** The index of the first block that does not match in `data` (which starts at block `first`), or -1. */
export function firstBadBlock(data: Uint8Array, blocks: BlockCrcs, first = 0): number {
  const { blockBytes, crcs } = blocks;
  for (let i = 0, at = 0; at < data.byteLength; i++, at += blockBytes) {
    if (crc32(data.subarray(at, Math.min(at + blockBytes, data.byteLength))) !== crcs[first + i]) return first + i;
  }
  return -1;
}

/** Block CRCs as stored in a record: big-endian u32s in base64 (about 5.3 characters per MiB of body). */
export function encodeBlockCrcs(blocks: BlockCrcs): [number, string] {
  const bytes = Buffer.allocUnsafe(blocks.crcs.length * 4);
  blocks.crcs.forEach((c, i) => bytes.writeUInt32BE(c, i * 4));
  return [blocks.blockBytes, bytes.toString('base64')];
}

/** The inverse of `encodeBlockCrcs`; undefined for anything malformed. */
export function decodeBlockCrcs(encoded: unknown): BlockCrcs | undefined {
  if (!Array.isArray(encoded) || encoded.length !== 2) return undefined;
  const [blockBytes, text] = encoded as [unknown, unknown];
  if (typeof blockBytes !== 'number' || !Number.isSafeInteger(blockBytes) || blockBytes <= 0 || typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const crcs = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < crcs.length; i++) crcs[i] = bytes.readUInt32BE(i * 4);
  return { blockBytes, crcs };
}
