import { describe, expect, it } from 'vitest';
import { refuseConditionalWrite } from '../../../src/s3/write-conditions.js';
import { S3Error } from '../../../src/s3/errors.js';

describe('refuseConditionalWrite', () => {
  it.each([
    ['PutObject', { 'if-none-match': '*' }],
    ['PutObject', { 'if-match': '"abc"' }],
    ['CompleteMultipartUpload', { 'if-none-match': '*' }],
    ['CopyObject', { 'if-match': '"abc"' }],
    ['DeleteObject', { 'if-match': '"abc"' }],
  ])('%s with %o is 501 NotImplemented, never a silent write', (op, headers) => {
    let thrown: unknown;
    try {
      refuseConditionalWrite(op, headers);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(S3Error);
    expect(thrown).toMatchObject({ code: 'NotImplemented', status: 501 });
  });

  it.each([
    ['PutObject', {}],
    ['GetObject', { 'if-match': '"abc"', 'if-none-match': '*' }],
    ['HeadObject', { 'if-none-match': '"abc"' }],
    // CopyObject's source conditions are x-amz-copy-source-if-*, which are implemented.
    ['CopyObject', { 'x-amz-copy-source-if-match': '"abc"' }],
  ])('%s with %o passes', (op, headers) => {
    expect(() => refuseConditionalWrite(op, headers)).not.toThrow();
  });
});
