/**
 * Conditional request headers (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since)
 * evaluated as S3 does: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 * and RFC 9110 §13.2.2 for precedence.
 */

/** The outcome: go on, answer 304 Not Modified, or fail with 412 PreconditionFailed. */
export type ConditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/** The conditional headers of a request. */
export interface Conditions {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
}

function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((raw) => {
    const t = raw.trim().replace(/^W\//, '');
    return t === '*' || t === `"${etag}"` || t === etag;
  });
}

/** Seconds precision: HTTP dates carry no milliseconds. */
function parseHttpDate(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Evaluates the conditions against an object's ETag and Last-Modified (ms). */
export function evaluateConditions(c: Conditions, etag: string, lastModifiedMs: number): ConditionOutcome {
  const modified = Math.floor(lastModifiedMs / 1000);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, etag)) return 'precondition-failed';
  } else if (c.ifUnmodifiedSince !== undefined) {
    const since = parseHttpDate(c.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return 'precondition-failed';
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, etag)) return 'not-modified';
  } else if (c.ifModifiedSince !== undefined) {
    const since = parseHttpDate(c.ifModifiedSince);
    if (since !== undefined && modified <= since) return 'not-modified';
  }
  return 'proceed';
}
