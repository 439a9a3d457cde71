/**
 * Conditional writes (`If-None-Match` / `If-Match` on PutObject, CompleteMultipartUpload,
 * CopyObject's destination, and `If-Match` on DeleteObject) need per-key consensus to hold under
 * concurrency, which ringstore does not have yet. A condition silently skipped is worse than one
 * refused (a lock taken twice, a table commit lost), so until then such a request is 501
 * NotImplemented and nothing is written. Pure.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import { S3Error } from './errors.js';

/** The write operations S3 lets carry a condition on the key being written. */
const CONDITIONAL_WRITES = new Set(['PutObject', 'CompleteMultipartUpload', 'CopyObject', 'DeleteObject']);

/** Throws NotImplemented when a write operation carries If-None-Match or If-Match. */
export function refuseConditionalWrite(op: string, headers: Readonly<Record<string, string | string[] | undefined>>): void {
  if (!CONDITIONAL_WRITES.has(op)) return;
  for (const name of ['if-none-match', 'if-match'] as const) {
    if (headers[name] === undefined) continue;
    throw new S3Error(
      'NotImplemented',
      `Conditional writes (${name === 'if-match' ? 'If-Match' : 'If-None-Match'} on ${op}) are not implemented by ringstore yet; the request was refused and nothing was written.`,
      {
        extra: { Header: name === 'if-match' ? 'If-Match' : 'If-None-Match' },
      },
    );
  }
}
