import { describe, it, expect } from 'vitest';
import { evaluateConditions } from '../../../src/s3/conditions.js';

const etag = '9bb58f26192e4ba00f01e2e7b136bbd8';
const modified = Date.parse('2026-01-02T03:04:05.678Z');

describe('evaluateConditions', () => {
  it.each([
    [{}, 'proceed'],
    [{ ifMatch: `"${etag}"` }, 'proceed'],
    [{ ifMatch: '"other"' }, 'precondition-failed'],
    [{ ifMatch: '*' }, 'proceed'],
    [{ ifNoneMatch: `"${etag}"` }, 'not-modified'],
    [{ ifNoneMatch: '"other", "x"' }, 'proceed'],
    [{ ifModifiedSince: 'Fri, 02 Jan 2026 03:04:05 GMT' }, 'not-modified'],
    [{ ifModifiedSince: 'Fri, 02 Jan 2026 03:04:04 GMT' }, 'proceed'],
    [{ ifUnmodifiedSince: 'Fri, 02 Jan 2026 03:04:04 GMT' }, 'precondition-failed'],
    [{ ifUnmodifiedSince: 'Fri, 02 Jan 2026 03:04:05 GMT' }, 'proceed'],
    // If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since (RFC 9110).
    [{ ifMatch: `"${etag}"`, ifUnmodifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' }, 'proceed'],
    [{ ifNoneMatch: '"other"', ifModifiedSince: 'Sat, 03 Jan 2026 00:00:00 GMT' }, 'proceed'],
    [{ ifModifiedSince: 'not a date' }, 'proceed'],
  ] as const)('%j → %s', (conditions, outcome) => {
    expect(evaluateConditions(conditions, etag, modified)).toBe(outcome);
  });
});
