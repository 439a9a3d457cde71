/**
 * fast-check arbitraries shared by the fuzz tests: object keys, bucket names, Range headers,
 * header names and values, XML documents and aws-chunked framings.
 */
import fc from 'fast-check';

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Pieces keys are glued from: path tricks, URL tricks, control characters S3 allows, unicode incl. astral. */
const KEY_PIECES = [
  '..',
  '.',
  '/',
  '\\',
  ' ',
  '+',
  '%',
  '%20',
  '%2F',
  '?',
  '#',
  '&',
  '=',
  ';',
  '~',
  '*',
  "'",
  '"',
  '<',
  '>',
  '\t',
  '\n',
  '\r',
  '\u0001',
  '\u001f',
  '\u007f',
  'é',
  '日本',
  '\u200b',
  '\ufeff',
  '😀',
  '𝄞',
  'a',
  'Z',
  '0',
];

/** A valid object key: 1..1024 UTF-8 bytes, no NUL, no lone surrogates (they cannot be UTF-8). */
export const validKey: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 3, arbitrary: fc.array(fc.constantFrom(...KEY_PIECES), { minLength: 1, maxLength: 24 }).map((p) => p.join('')) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'é', '😀', '/', '日'), minLength: 200, maxLength: 400 }) },
  )
  .map((k) => k.replaceAll('\u0000', ''))
  .map((k) => {
    // Trim to ≤ 1024 bytes without splitting a surrogate pair.
    const cps = [...k];
    while (utf8Bytes(cps.join('')) > 1024) cps.pop();
    return cps.join('');
  })
  .filter((k) => k.length > 0);

/** A key over 1024 UTF-8 bytes (1025 exactly in a good share of cases). */
export const tooLongKey: fc.Arbitrary<string> = fc.oneof(
  fc.constant('k'.repeat(1025)),
  fc.nat({ max: 300 }).map((n) => 'é'.repeat(513 + n)),
  fc.tuple(fc.constantFrom('a', '😀', '/'), fc.nat({ max: 2000 })).map(([c, n]) => c.repeat(Math.ceil((1025 + n) / utf8Bytes(c)))),
);

const BUCKET_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_ABCXYZ!é'.split('');

/** An invalid bucket name (by the general-purpose rules), as the client writes it before URL-encoding. */
export const invalidBucketName: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...BUCKET_CHARS), minLength: 0, maxLength: 70 }),
    fc.constantFrom('ab', 'a'.repeat(64), 'UPPER', '-abc', 'abc-', '.abc', 'abc.', 'a..b', '192.168.0.1', 'xn--abc', 'sthree-x', 'abc-s3alias', 'abc--ol-s3', 'abc.mrap', 'abc--x-s3', 'a_b'),
    fc.tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.constantFrom(' ', '%', '\\', '😀', '\u0001', ':', '@')).map(([s, c]) => `${s}${c}${s}`),
  )
  .filter(
    (name) =>
      !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name) || /^(xn--|sthree-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(name),
  )
  // The empty name is the service endpoint, not a bucket.
  .filter((name) => name !== '');

/** A Range header: mostly plausible `bytes=` forms around the body size, some garbage. */
export function rangeHeader(size: number): fc.Arbitrary<string> {
  const n = fc.oneof(fc.nat({ max: size + 3 }), fc.constantFrom(0, size - 1, size, size + 1, 2 ** 53, 99999999999999999999, 65535, 65536, 65537, 262143, 262144));
  const num = n.map(String);
  const ws = fc.constantFrom('', ' ', '  ');
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(num, num).map(([a, b]) => `bytes=${a}-${b}`) },
    { weight: 2, arbitrary: num.map((a) => `bytes=${a}-`) },
    { weight: 2, arbitrary: num.map((b) => `bytes=-${b}`) },
    { weight: 1, arbitrary: fc.tuple(ws, ws, num, ws, num, ws).map(([a, b, x, c, y, d]) => `${a}bytes${b}=${x}${c}-${y}${d}`) },
    { weight: 1, arbitrary: fc.tuple(num, num, num, num).map(([a, b, c, d]) => `bytes=${a}-${b},${c}-${d}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'bytes=',
        'bytes=-',
        'bytes=--1',
        'bytes=1--2',
        'items=0-1',
        'bytes=a-b',
        'bytes=0x1-2',
        'bytes=1e3-',
        'bytes=-0',
        'BYTES=0-0',
        'bytes=+1-2',
        'bytes=0-1;',
        'bytes=0-1 ,',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('b', 'y', 't', 'e', 's', '=', '-', ',', ' ', '0', '1', '9', 'x'), maxLength: 20 }) },
  );
}

/**
 * What S3 answers for `header` on a body of `size` bytes, as a model: the inclusive slice to
 * send with 206, `'full'` for 200, or `'unsatisfiable'` for 416.
 */
export function rangeModel(header: string, size: number): { start: number; end: number } | 'full' | 'unsatisfiable' {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return 'full';
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return 'full';
  if (first === '') {
    const n = Number(last);
    if (n === 0) return 'unsatisfiable';
    if (size === 0) return 'full';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return end < start ? 'full' : { start, end };
}

/** Header names: printable token characters, some in S3's namespaces. */
export const headerName: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
  fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => `x-amz-${s}`),
  fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => `x-amz-meta-${s}`),
  fc.constantFrom(
    'content-md5',
    'content-type',
    'content-encoding',
    'x-amz-checksum-crc32',
    'x-amz-checksum-sha256',
    'x-amz-checksum-algorithm',
    'x-amz-sdk-checksum-algorithm',
    'x-amz-trailer',
    'x-amz-decoded-content-length',
    'x-amz-copy-source',
    'x-amz-copy-source-range',
    'if-match',
    'if-none-match',
    'if-modified-since',
    'if-unmodified-since',
    'range',
    'x-amz-checksum-mode',
    'cache-control',
    'expires',
    'content-disposition',
    'x-amz-storage-class',
    'x-amz-acl',
  ),
);

/** Header values undici will send: visible ASCII, spaces, tabs inside. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.constantFrom(
    '',
    'true',
    'ENABLED',
    'CRC32',
    'SHA256',
    'AAAAAA==',
    '1B2M2Y8AsgTpgAmY7PrvyQ==',
    '*',
    '"abc"',
    'Thu, 01 Jan 1970 00:00:00 GMT',
    '-1',
    '18446744073709551616',
    'aws-chunked',
    'x-amz-checksum-crc32',
    '/b/k',
    'bytes=0-1',
  ),
  fc.nat({ max: 8000 }).map((n) => 'v'.repeat(n)),
);

/** Query strings: S3 parameters with fuzzed values, raw bytes and broken escapes. */
export const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc
        .tuple(
          fc.constantFrom(
            'list-type',
            'max-keys',
            'prefix',
            'delimiter',
            'marker',
            'continuation-token',
            'start-after',
            'encoding-type',
            'fetch-owner',
            'uploads',
            'uploadId',
            'partNumber',
            'versionId',
            'max-parts',
            'part-number-marker',
            'max-uploads',
            'key-marker',
            'upload-id-marker',
            'delete',
            'acl',
            'location',
            'versioning',
            'tagging',
            'policy',
            'response-content-type',
            'response-expires',
            'X-Amz-Signature',
            'X-Amz-Credential',
            'X-Amz-Date',
          ),
          fc.oneof(
            fc.constant(null),
            fc.constantFrom('', '2', '0', '-1', '1001', '99999999999', 'url', 'URL', 'true', '%', '%zz', '%C0%AF', '%F0%9F%98%80', '%00', 'a+b', '%2B', 'x'.repeat(2000)),
            fc.stringMatching(/^[A-Za-z0-9%._~+-]{0,30}$/),
          ),
        )
        .map(([k, v]) => (v === null ? k : `${k}=${v}`)),
      fc.stringMatching(/^[A-Za-z0-9%=&._~+-]{0,30}$/),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join('&'));

/** The chunk sizes of an aws-chunked framing of `length` bytes (every chunk non-empty, last one ends the data). */
export function chunkSizes(length: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: Math.max(1, length) }), { maxLength: 12 }).map((cuts) => {
    const sizes: number[] = [];
    let left = length;
    for (const c of cuts) {
      if (left === 0) break;
      const s = Math.min(c, left);
      sizes.push(s);
      left -= s;
    }
    if (left > 0) sizes.push(left);
    return sizes;
  });
}
