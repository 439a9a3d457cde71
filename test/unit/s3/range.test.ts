import { describe, it, expect } from 'vitest';
import { resolveRange, contentRange } from '../../../src/s3/range.js';
import { S3Error } from '../../../src/s3/errors.js';

describe('resolveRange', () => {
  it.each([
    ['bytes=0-0', 100, { start: 0, end: 0 }],
    ['bytes=0-99', 100, { start: 0, end: 99 }],
    ['bytes=10-', 100, { start: 10, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-5000', 100, { start: 50, end: 99 }],
    ['Bytes = 1 - 2', 100, { start: 1, end: 2 }],
  ])('%s of %i bytes', (header, size, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });

  it.each([undefined, 'items=0-1', 'bytes=0-1,5-6', 'bytes=5-1', 'bytes=-', 'garbage'])('sends the whole object for %s', (header) => {
    expect(resolveRange(header, 100)).toBeUndefined();
  });

  it.each(['bytes=100-', 'bytes=200-300', 'bytes=-0'])('rejects %s on a 100-byte object with InvalidRange (416)', (header) => {
    let caught: unknown;
    try {
      resolveRange(header, 100);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(S3Error);
    expect((caught as S3Error).code).toBe('InvalidRange');
    expect((caught as S3Error).status).toBe(416);
  });

  it('formats Content-Range', () => {
    expect(contentRange({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
  });
});
