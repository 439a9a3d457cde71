/**
 * Handing a body read from one replica to a call that sends it to another (a stage in read
 * repair or anti-entropy). Until that call starts reading (it may wait for a connection, or fail
 * before it reads at all), the stream has no reader: an error of the source then (its node going
 * down) would be an unhandled 'error' event, which ends the process. And a body the call never
 * read would keep the source's read open. So the error is held for the reader (a destroyed
 * stream throws on iteration) and the stream is closed once the call settles.
 */
import type { Readable } from 'node:stream';

/** Runs `send(body)`, keeping an error of `body` from going unheard meanwhile and closing `body` afterwards. */
export async function relayBody<T>(body: Readable, send: (body: Readable) => Promise<T>): Promise<T> {
  const held = (): void => undefined;
  body.on('error', held);
  try {
    return await send(body);
  } finally {
    if (!body.destroyed) body.destroy();
    body.off('error', held);
  }
}
