/** partNumber on GetObject/HeadObject: which bytes a part number selects, and the errors. */
import { describe, it, expect } from 'vitest';
import { assertNoRangeWithPart, partSelection, partsCountOf } from '../../../src/s3/part-range.js';
import { s3ErrorStatus } from '../../../src/s3/errors.js';

const part = (size: number) => ({ bucket: '.parts', key: `u\0${size}`, version: { hlc: 1, node: 'n' }, size, etag: 'e' });
const multipart = { size: 10 + 20 + 5, parts: [part(10), part(20), part(5)] };

describe('partSelection', () => {
  it.each([
    [1, { start: 0, end: 9 }],
    [2, { start: 10, end: 29 }],
    [3, { start: 30, end: 34 }],
  ])('part %i of a multipart object is its bytes within the object', (n, range) => {
    expect(partSelection(multipart, n)).toEqual({ kind: 'range', range });
    expect(partsCountOf(multipart)).toBe(3);
  });

  it('part 1 of a plain object is the whole object; of an empty object, nothing', () => {
    expect(partSelection({ size: 7 }, 1)).toEqual({ kind: 'range', range: { start: 0, end: 6 } });
    expect(partSelection({ size: 0 }, 1)).toEqual({ kind: 'empty' });
    expect(partsCountOf({})).toBe(1);
  });

  it.each([
    ['plain object, part 2', { size: 7 }, 2],
    ['multipart object, one past the last', multipart, 4],
    ['multipart object, far past', multipart, 10000],
  ] as const)('%s → 416 InvalidPartNumber', (_what, record, n) => {
    let caught: unknown;
    try {
      partSelection(record, n);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'InvalidPartNumber' });
    expect(s3ErrorStatus('InvalidPartNumber')).toBe(416);
  });

  it('a Range header beside partNumber is 400 InvalidRequest', () => {
    expect(() => assertNoRangeWithPart('bytes=0-1')).toThrow(expect.objectContaining({ code: 'InvalidRequest' }) as Error);
    expect(() => assertNoRangeWithPart(undefined)).not.toThrow();
  });
});
