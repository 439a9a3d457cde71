/**
 * The HTTP Range header as S3 reads it: one `bytes=` range, resolved against the object size.
 * https://www.rfc-editor.org/rfc/rfc9110#section-14.1 and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
 */
import type { ByteRange } from '../store/types.js';
import { S3Error } from './errors.js';

/**
 * Resolves a Range header against `size`. Returns undefined when the whole object should be
 * sent (no header, or one S3 ignores: not `bytes=`, several ranges, or malformed).
 * Throws InvalidRange (416) when the range starts past the end.
 */
export function resolveRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // Suffix range: the last N bytes.
    const n = Number(last);
    if (n === 0) throw invalidRange(size);
    if (size === 0) return undefined;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) throw invalidRange(size);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return undefined;
  return { start, end };
}

function invalidRange(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { extra: { ActualObjectSize: String(size) } });
}

/** The Content-Range value of a partial answer. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
