/**
 * Writing a streamed body to an HTTP response ourselves instead of `pipe`: a body that fails
 * half-way must cut the connection (the client then sees a short read, never a silently
 * truncated object), and a chunk can be handed back for reuse only once the socket has taken
 * it, which `pipe` never tells.
 */
import type { ServerResponse } from 'node:http';

/** A body stream whose chunks may be handed back for reuse once written out. */
export interface RecyclingBody {
  /** Takes back a chunk this body produced; anything else is ignored. */
  recycle(chunk: Uint8Array): void;
}

/** Whether `body` takes its chunks back. */
export function isRecycling(body: unknown): body is RecyclingBody {
  return typeof (body as Partial<RecyclingBody> | null)?.recycle === 'function';
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes `chunks` to `res` (status and headers already set), ends it and resolves once it is
 * finished. Each chunk goes to `recycle` once the socket is done with it. Stops early when the
 * client goes away. When the source fails, the response is destroyed and the error rethrown.
 */
export async function sendBody(res: ServerResponse, chunks: AsyncIterable<Uint8Array>, recycle?: (chunk: Uint8Array) => void): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      // Node calls back once the bytes are in the kernel, or with an error once they never will be.
      const more = recycle === undefined ? res.write(chunk) : res.write(chunk, () => recycle(chunk));
      if (!more) await drained(res);
    }
    // Resolves once the last bytes are with the kernel (every chunk recycled by then), or the client left.
    if (!res.destroyed) await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.end(resolve);
    });
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
