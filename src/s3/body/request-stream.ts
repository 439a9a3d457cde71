/**
 * The request body as the handlers read it: the raw request piped through the verifying
 * transforms, with the idle timer of `s3.idleTimeoutMs`.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';
import type { TimeSource } from '../../util/clock.js';
import { guardIdle } from './idle-guard.js';

const ignore = (): void => {};

/**
 * The request piped through the verifying transforms; any failure on the way errors the
 * returned stream, as does a client that sends nothing for `idleMs` (RequestTimeout). The
 * request itself is never destroyed, so the error can still be answered.
 */
export function verifiedStream(req: Readable, transforms: readonly NodeJS.ReadWriteStream[], idleMs?: number, time?: TimeSource): Readable {
  // pipe() plus explicit error forwarding rather than stream.pipeline(), which builds an
  // AbortController and a DOMException per call: measurable at thousands of small PUTs a second.
  let source: Readable = req;
  for (const transform of transforms) {
    const next = transform as unknown as Readable & NodeJS.WritableStream;
    const from = source;
    from.on('error', (err) => next.destroy(err));
    // A client that goes away mid-body must fail the upload, not leave it waiting.
    from.once('close', () => {
      if (!from.readableEnded) next.destroy(new S3Error('IncompleteBody', 'The client closed the connection before sending the whole body.'));
    });
    from.pipe(next);
    source = next;
  }
  const first = transforms[0] as unknown as Readable | undefined;
  if (idleMs !== undefined && first !== undefined) guardIdle(req, idleMs, (err) => first.destroy(err), time);
  // The consumer may stop reading before the chain fails (a replica quorum lost, an answer
  // already sent): the error then has no reader, and an unheard 'error' event would be an
  // uncaught exception. A reader still iterating gets the error from its iterator.
  source.on('error', ignore);
  return source;
}
