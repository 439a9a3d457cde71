/**
 * S3 lists keys in UTF-8 byte order. UTF-16 code-unit order (JavaScript's `<`) agrees with it
 * except that surrogates (astral characters, 4 UTF-8 bytes) must sort after U+E000–U+FFFF;
 * remapping the first differing unit fixes that without encoding either string.
 */

/** Orders well-formed strings as their UTF-8 bytes would (code point order), unlike `<`. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

function utf8Rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
