/**
 * The idle timer of a request body: a client that stops sending for `s3.idleTimeoutMs` gets
 * 400 RequestTimeout instead of holding its request (and the replica streams behind it) open
 * forever. Time during which we do not read (the pipe is paused because replicas are slower
 * than the client) does not count: that wait is ours, and the RPC timeouts bound it.
 */
import type { Readable } from 'node:stream';
import { systemTime, type TimeSource } from '../../util/clock.js';
import { S3Error } from '../errors.js';

/**
 * Watches `req` from now until it ends or closes; once no byte has arrived for `idleMs` while
 * it was being read, calls `onIdle` with a RequestTimeout error (once). Time is `time`'s.
 */
export function guardIdle(req: Readable, idleMs: number, onIdle: (err: S3Error) => void, time: TimeSource = systemTime): void {
  if (req.readableEnded || req.destroyed) return;
  const { clock, timers } = time;
  let last = clock.now();
  // Also on resume: the client may have waited for us until then.
  const onProgress = (): void => {
    last = clock.now();
  };
  const check = (): void => {
    const now = clock.now();
    // Paused by back-pressure: the client may be waiting for us, so its clock does not run.
    if (req.readableFlowing === false) last = now;
    const idleFor = now - last;
    if (idleFor < idleMs) {
      timer = timers.setTimeout(check, idleMs - idleFor);
      return;
    }
    stop();
    onIdle(new S3Error('RequestTimeout', `No request body bytes arrived for ${idleMs} ms.`));
  };
  let timer = timers.setTimeout(check, idleMs);
  const stop = (): void => {
    timers.clearTimeout(timer);
    req.off('data', onProgress);
    req.off('resume', onProgress);
    req.off('end', stop);
    req.off('close', stop);
  };
  // Attach after the consumer (pipe): a 'data' listener alone would start the flow.
  req.on('data', onProgress);
  req.on('resume', onProgress);
  req.once('end', stop);
  req.once('close', stop);
}
