import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compareUtf8 } from '../../../src/util/utf8-order.js';

describe('compareUtf8', () => {
  it('agrees with UTF-8 byte order for any pair of well-formed strings', () => {
    // unit 'binary' draws any code point, astral ones included (never lone surrogates).
    const key = fc.string({ unit: 'binary', maxLength: 6 });
    fc.assert(
      fc.property(key, key, (a, b) => Math.sign(compareUtf8(a, b)) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))),
      { numRuns: 5000 },
    );
  });

  it('puts U+FF5E (3 UTF-8 bytes) before U+1F600 (4 bytes), unlike UTF-16 order', () => {
    expect(compareUtf8('\uff5e', '\u{1F600}')).toBeLessThan(0);
    expect('\uff5e' < '\u{1F600}').toBe(false);
  });
});
