import { describe, expect, it } from 'vitest';
import { BinaryReader, BinaryWriter } from '../../../src/util/binary-codec.js';

describe('BinaryWriter / BinaryReader', () => {
  it('round-trips bytes, varints up to 2^53, u64s, bytes and UTF-8 strings, growing past the first buffer', () => {
    const w = new BinaryWriter();
    const big = new Uint8Array(1000).fill(7);
    w.byte(3);
    w.varint(0);
    w.varint(Number.MAX_SAFE_INTEGER);
    w.u64(2n ** 64n - 1n);
    w.bytes(big);
    w.string('zürich ✓');
    const r = new BinaryReader(w.done(), 'test message');
    expect([r.byte(), r.varint(), r.varint(), r.u64()]).toEqual([3, 0, Number.MAX_SAFE_INTEGER, 2n ** 64n - 1n]);
    expect(r.bytes()).toEqual(big);
    expect(r.string()).toBe('zürich ✓');
    expect(r.end('ok')).toBe('ok');
  });

  it('refuses to encode a negative or unsafe integer', () => {
    expect(() => new BinaryWriter().varint(-1)).toThrow(/non-negative safe integer/);
    expect(() => new BinaryWriter().varint(2 ** 53)).toThrow(/non-negative safe integer/);
  });

  it.each([
    ['truncated', Uint8Array.of(0x80)],
    ['truncated', Uint8Array.of(5, 1, 2)],
    ['integer out of range', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)],
  ])('fails with RpcProtocol "%s" naming the message', (message, bytes) => {
    const r = new BinaryReader(bytes, 'test message');
    expect(() => (bytes.length === 3 ? r.bytes() : r.varint())).toThrow(`test message: ${message}`);
  });

  it('fails on invalid UTF-8, a wrong type byte and trailing bytes', () => {
    expect(() => new BinaryReader(Uint8Array.of(1, 0xff), 'm').string()).toThrow('m: invalid UTF-8');
    expect(() => new BinaryReader(Uint8Array.of(2), 'm').tag(1)).toThrow('m: expected message type 1');
    expect(() => new BinaryReader(Uint8Array.of(1), 'm').end()).toThrow('m: trailing bytes');
  });
});
