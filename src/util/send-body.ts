/**
 * Writing a streamed body to an HTTP response ourselves instead of `pipe`: a body that fails
 * half-way must cut the connection (the client then sees a short read, never a silently
 * truncated object), and a chunk can be handed back for reuse only once the socket has taken
 * it, which `pipe` never tells.
 */
import type { ServerResponse } from 'node:http';
import { systemTime, type Timer, type TimeSource } from './clock.js';

/** A body stream whose chunks may be handed back for reuse once written out. */
export interface RecyclingBody {
  /** Takes back a chunk this body produced; anything else is ignored. */
  recycle(chunk: Uint8Array): void;
}

/** Whether `body` takes its chunks back. */
export function isRecycling(body: unknown): body is RecyclingBody {
  return typeof (body as Partial<RecyclingBody> | null)?.recycle === 'function';
}

/**
 * Resolves once `event` (or 'close') is emitted by `res`; or, once the socket has taken
 * nothing (no write completed) for `idleMs`, destroys the response and resolves: a reader
 * that stopped is let go like one that hung up, instead of holding the response, its buffers
 * and its source open.
 */
function progressOr(res: ServerResponse, event: 'drain' | 'finish', idleMs: number, lastProgress: () => number, time: TimeSource): Promise<void> {
  const { clock, timers } = time;
  return new Promise((resolve) => {
    let timer: Timer | undefined;
    const done = (): void => {
      if (timer !== undefined) timers.clearTimeout(timer);
      res.off(event, done);
      res.off('close', done);
      resolve();
    };
    const check = (): void => {
      const idleFor = clock.now() - lastProgress();
      if (idleFor < idleMs) {
        timer = timers.setTimeout(check, idleMs - idleFor);
        return;
      }
      res.destroy();
      done();
    };
    res.on(event, done);
    res.on('close', done);
    if (Number.isFinite(idleMs)) timer = timers.setTimeout(check, idleMs);
  });
}

/**
 * Writes `chunks` to `res` (status and headers already set), ends it and resolves once it is
 * finished. Each chunk goes to `recycle` once the socket is done with it. Stops early when the
 * client goes away, or stops reading: the response is cut once the socket has taken no data
 * for `idleTimeoutMs` (default: never). When the source fails, the response is destroyed and
 * the error rethrown. Idleness is measured on `time`.
 */
export async function sendBody(res: ServerResponse, chunks: AsyncIterable<Uint8Array>, recycle?: (chunk: Uint8Array) => void, idleTimeoutMs?: number, time: TimeSource = systemTime): Promise<void> {
  const idleMs = idleTimeoutMs ?? Infinity;
  const { clock } = time;
  // Progress is a write the socket completed (one per chunk: coarse, but it costs nothing).
  let progressAt = clock.now();
  const lastProgress = (): number => progressAt;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      // Node calls back once the bytes are in the kernel, or with an error once they never will be.
      const more = res.write(chunk, () => {
        progressAt = clock.now();
        recycle?.(chunk);
      });
      // The socket's clock starts when it has something to take, not while the source is slow.
      progressAt = clock.now();
      if (!more) await progressOr(res, 'drain', idleMs, lastProgress, time);
    }
    // Resolves once the last bytes are with the kernel (every chunk recycled by then), the
    // client left, or it stopped reading.
    if (!res.destroyed) {
      const finished = progressOr(res, 'finish', idleMs, lastProgress, time);
      res.end();
      await finished;
    }
  } catch (err) {
    res.destroy();
    throw err;
  }
}

/**
 * Yields an already-pulled first result, then the rest of `rest`. Pulling the first chunk
 * before committing to a status lets a body that fails at once be answered as an error.
 * Stopping early hands `rest` its return(), so the source stream is destroyed, not left open.
 */
export async function* resumeAfter(first: IteratorResult<Uint8Array>, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  let finished = first.done === true;
  try {
    if (finished) return;
    yield first.value as Uint8Array;
    for (;;) {
      const next = await rest.next();
      if (next.done === true) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) await rest.return?.();
  }
}
