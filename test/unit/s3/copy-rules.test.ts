import { describe, it, expect } from 'vitest';
import { S3Error } from '../../../src/s3/errors.js';
import {
  MAX_COPY_SOURCE_BYTES,
  assertCopyObjectSize,
  assertCurrentVersion,
  assertNotSelfCopy,
  checkCopyConditions,
  copyChecksumAlgorithms,
  metadataDirectiveOf,
  partCopyRange,
} from '../../../src/s3/copy-rules.js';

/** The status, code and (when asked) one extra of what `fn` throws; 'ok' when it returns. */
function outcome(fn: () => unknown, extra?: string): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof S3Error)) throw err;
    return `${err.status} ${err.code}${extra === undefined ? '' : ` ${err.extra[extra] ?? '-'}`}`;
  }
}

describe('metadataDirectiveOf', () => {
  it.each([
    [undefined, 'COPY'],
    ['COPY', 'COPY'],
    ['REPLACE', 'REPLACE'],
  ])('%s → %s', (value, want) => {
    expect(metadataDirectiveOf(value === undefined ? {} : { 'x-amz-metadata-directive': value })).toBe(want);
  });
  it.each(['copy', 'MOVE', ''])('%j → 400 InvalidArgument', (value) => {
    expect(outcome(() => metadataDirectiveOf({ 'x-amz-metadata-directive': value }), 'ArgumentName')).toBe('400 InvalidArgument x-amz-metadata-directive');
  });
});

describe('checkCopyConditions (S3 precedence; every false condition is 412)', () => {
  const etag = '0123456789abcdef0123456789abcdef';
  const modified = Date.parse('2026-06-01T12:00:00Z');
  const before = 'Mon, 01 Jun 2026 11:00:00 GMT';
  const after = 'Mon, 01 Jun 2026 13:00:00 GMT';
  it.each([
    ['none', {}, 'ok'],
    ['if-match true', { 'x-amz-copy-source-if-match': `"${etag}"` }, 'ok'],
    ['if-match false', { 'x-amz-copy-source-if-match': '"ffff"' }, '412 PreconditionFailed x-amz-copy-source-If-Match'],
    ['if-none-match true', { 'x-amz-copy-source-if-none-match': '"ffff"' }, 'ok'],
    ['if-none-match false', { 'x-amz-copy-source-if-none-match': `"${etag}"` }, '412 PreconditionFailed x-amz-copy-source-If-None-Match'],
    ['if-modified-since true', { 'x-amz-copy-source-if-modified-since': before }, 'ok'],
    ['if-modified-since false', { 'x-amz-copy-source-if-modified-since': after }, '412 PreconditionFailed x-amz-copy-source-If-Modified-Since'],
    ['if-unmodified-since true', { 'x-amz-copy-source-if-unmodified-since': after }, 'ok'],
    ['if-unmodified-since false', { 'x-amz-copy-source-if-unmodified-since': before }, '412 PreconditionFailed x-amz-copy-source-If-Unmodified-Since'],
    ['if-match true wins over if-unmodified-since false', { 'x-amz-copy-source-if-match': etag, 'x-amz-copy-source-if-unmodified-since': before }, 'ok'],
    [
      'if-none-match false with if-modified-since true',
      { 'x-amz-copy-source-if-none-match': etag, 'x-amz-copy-source-if-modified-since': before },
      '412 PreconditionFailed x-amz-copy-source-If-None-Match',
    ],
  ])('%s → %s', (_name, headers, want) => {
    expect(outcome(() => checkCopyConditions(headers, etag, modified), 'Condition')).toBe(want);
  });
});

describe('size limits and the copy-source range', () => {
  it('CopyObject copies up to 5 GiB', () => {
    expect(outcome(() => assertCopyObjectSize(MAX_COPY_SOURCE_BYTES))).toBe('ok');
    expect(outcome(() => assertCopyObjectSize(MAX_COPY_SOURCE_BYTES + 1))).toBe('400 InvalidRequest');
  });
  it.each([
    [undefined, 10, 'ok'],
    [{ start: 0, end: 9 }, 10, 'ok'],
    [{ start: 9, end: 9 }, 10, 'ok'],
    [{ start: 0, end: 10 }, 10, '400 InvalidRange'],
    [{ start: 10, end: 12 }, 10, '400 InvalidRange'],
    [undefined, MAX_COPY_SOURCE_BYTES + 1, '400 InvalidRequest'],
    [{ start: 0, end: MAX_COPY_SOURCE_BYTES }, 2 * MAX_COPY_SOURCE_BYTES, '400 InvalidRequest'],
    [{ start: 1, end: MAX_COPY_SOURCE_BYTES }, 2 * MAX_COPY_SOURCE_BYTES, 'ok'],
  ])('range %j of a %i-byte source → %s', (range, size, want) => {
    expect(outcome(() => partCopyRange(range, size))).toBe(want);
  });
  it('returns the range to copy', () => {
    expect(partCopyRange({ start: 2, end: 5 }, 10)).toEqual({ start: 2, end: 5 });
    expect(partCopyRange(undefined, 10)).toBeUndefined();
  });
});

describe('assertNotSelfCopy', () => {
  const src = { bucket: 'b', key: 'k' };
  it.each([
    ['another key', { bucket: 'b', key: 'other' }, 'COPY', {}, 'ok'],
    ['another bucket', { bucket: 'c', key: 'k' }, 'COPY', {}, 'ok'],
    ['itself, COPY', src, 'COPY', {}, '400 InvalidRequest'],
    ['itself, REPLACE', src, 'REPLACE', {}, 'ok'],
    ['itself, new storage class', src, 'COPY', { 'x-amz-storage-class': 'STANDARD' }, 'ok'],
    ['itself, new checksum', src, 'COPY', { 'x-amz-checksum-algorithm': 'SHA256' }, 'ok'],
  ] as const)('%s → %s', (_name, dest, directive, headers, want) => {
    expect(outcome(() => assertNotSelfCopy(src, dest, directive, headers))).toBe(want);
  });
});

describe('copyChecksumAlgorithms', () => {
  it('takes the requested algorithm, else the source’s', () => {
    expect(copyChecksumAlgorithms({ 'x-amz-checksum-algorithm': 'crc32c' }, { CRC32: 'AAAAAA==' })).toEqual(['CRC32C']);
    expect(copyChecksumAlgorithms({}, { CRC32: 'AAAAAA==' })).toEqual(['CRC32']);
    expect(copyChecksumAlgorithms({}, undefined)).toEqual([]);
  });
  it('refuses an unknown algorithm with 400 InvalidRequest', () => {
    expect(outcome(() => copyChecksumAlgorithms({ 'x-amz-checksum-algorithm': 'MD4' }, undefined))).toBe('400 InvalidRequest');
  });
});

describe('assertCurrentVersion', () => {
  it.each([
    [undefined, 'ok'],
    ['null', 'ok'],
    ['3HL4kqtJlcpXroDTDmJ', '400 InvalidArgument'],
  ])('versionId %s → %s', (versionId, want) => {
    expect(outcome(() => assertCurrentVersion(versionId === undefined ? { bucket: 'b', key: 'k' } : { bucket: 'b', key: 'k', versionId }))).toBe(want);
  });
});
