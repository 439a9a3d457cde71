/**
 * Per-call plumbing of the RPC client: the deadline that keeps a dead or frozen peer from
 * hanging a call, the translation of transport errors into `RingstoreError` codes, and the
 * length check on streamed read bodies.
 */
import { Transform, type Readable } from 'node:stream';
import { systemTimers, type Timer, type Timers } from '../util/clock.js';
import { RingstoreError, describeError } from '../util/errors.js';

/** Transport error codes meaning "the peer cannot be reached / went away". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Transport error codes meaning "the peer took too long". */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The `code` of a transport error; for an AggregateError (happy eyeballs) the first inner one. */
function transportCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) return transportCode(err.errors[0]);
  return undefined;
}

/**
 * One RPC call's lifetime: an AbortSignal for undici that fires when the caller aborts or when
 * the armed deadline passes. The deadline can be re-armed so a long streamed upload is timed by
 * its progress, not by its total duration.
 */
export class CallScope {
  /** Pass to undici: aborts the request (and its body) on caller abort or deadline. */
  readonly signal: AbortSignal;
  readonly peer: string;
  readonly address: string;
  readonly op: string;
  readonly timeoutMs: number;
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort: () => void;
  readonly #timers: Timers;
  #timer: Timer | undefined;
  #timedOut = false;
  #body: Readable | undefined;
  #sourceError: { readonly err: unknown } | undefined;

  constructor(peer: string, address: string, op: string, timeoutMs: number, caller?: AbortSignal, timers: Timers = systemTimers) {
    this.#timers = timers;
    this.peer = peer;
    this.address = address;
    this.op = op;
    this.timeoutMs = timeoutMs;
    this.signal = this.#controller.signal;
    this.#caller = caller;
    this.#onCallerAbort = () => this.#controller.abort(caller?.reason);
    if (caller?.aborted) this.#controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.arm();
  }

  /** (Re)starts the deadline: the call fails with RpcTimeout unless disarmed within timeoutMs. */
  arm(): void {
    this.disarm();
    if (this.#controller.signal.aborted) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(this.timeoutError());
    }, this.timeoutMs);
  }

  /** Stops the deadline (the caller's signal still applies). */
  disarm(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Releases the timer and the listener on the caller's signal. */
  dispose(): void {
    this.disarm();
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }

  /** Records that the upload source (not the peer) failed; the call then fails with that error. */
  noteSourceError(err: unknown): void {
    this.#sourceError ??= { err };
  }

  /** Remembers the response body, so that a failed call can release its connection. */
  attachBody(body: Readable): void {
    this.#body = body;
  }

  /** Destroys an attached body that was not read to the end (an unread body blocks its connection). */
  abandonBody(): void {
    const body = this.#body;
    if (body !== undefined && !body.destroyed && !body.readableEnded) body.destroy();
  }

  /** The error of a passed deadline. */
  timeoutError(cause?: unknown): RingstoreError {
    return new RingstoreError(
      'RpcTimeout',
      `rpc ${this.op} to ${this.peer} (${this.address}): no progress within ${this.timeoutMs} ms`,
      { peer: this.peer, address: this.address, op: this.op, timeoutMs: this.timeoutMs },
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * What a failed call throws: the caller's own abort reason when the caller aborted; the upload
   * source's own error when the body being sent failed; RpcTimeout for deadlines and transport
   * timeouts; PeerUnavailable for connection failures; RingstoreErrors (already mapped, e.g. a
   * peer's error answer) unchanged; RpcProtocol otherwise.
   */
  mapError(err: unknown): unknown {
    if (this.#caller?.aborted) return this.#caller.reason ?? err;
    if (this.#sourceError !== undefined) return this.#sourceError.err;
    if (this.#timedOut) return this.timeoutError();
    if (err instanceof RingstoreError) return err;
    const code = transportCode(err);
    const details = { peer: this.peer, address: this.address, op: this.op, transportCode: code };
    if (code !== undefined && TIMEOUT_CODES.has(code)) return this.timeoutError(err);
    if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
      return new RingstoreError('PeerUnavailable', `rpc ${this.op} to ${this.peer} (${this.address}): ${describeError(err)}`, details, { cause: err });
    }
    return new RingstoreError('RpcProtocol', `rpc ${this.op} to ${this.peer} (${this.address}) failed: ${describeError(err)}`, details, { cause: err });
  }

  /** Like `mapError`, for an error while a response body streams: a cut connection is IncompleteBody. */
  mapBodyError(err: unknown, received: number, expected: number | undefined): unknown {
    const mapped = this.mapError(err);
    if (mapped instanceof RingstoreError && mapped.code === 'PeerUnavailable') {
      return new RingstoreError(
        'IncompleteBody',
        `rpc ${this.op} from ${this.peer} (${this.address}) ended after ${received} of ` + `${expected ?? 'unknown'} bytes: ${describeError(err)}`,
        { peer: this.peer, address: this.address, op: this.op, received, expected },
        { cause: err },
      );
    }
    return mapped;
  }
}

/**
 * Wraps a response body so that the consumer sees an error, never a silently short stream: a
 * transport failure, a byte count above `expected`, or an end before `expected` bytes all
 * destroy the returned stream with a RingstoreError. Destroying the returned stream destroys
 * the body (and so frees the connection); `onClose` runs once when it is done either way.
 */
export function checkedBody(body: Readable, expected: number | undefined, scope: CallScope, onClose: () => void): Readable {
  let received = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (expected !== undefined && received > expected) {
        callback(new RingstoreError('RpcProtocol', `rpc ${scope.op} from ${scope.peer}: more than the announced ${expected} bytes`, { peer: scope.peer, received, expected }));
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (expected !== undefined && received !== expected) {
        callback(
          new RingstoreError('IncompleteBody', `rpc ${scope.op} from ${scope.peer} (${scope.address}) ended after ${received} of ${expected} bytes`, {
            peer: scope.peer,
            address: scope.address,
            op: scope.op,
            received,
            expected,
          }),
        );
        return;
      }
      callback();
    },
  });
  body.on('error', (err) => out.destroy(scope.mapBodyError(err, received, expected) as Error));
  out.once('close', () => {
    if (!body.destroyed && !body.readableEnded) body.destroy();
    onClose();
  });
  body.pipe(out);
  return out;
}

/**
 * Presents an upload body to undici while timing the peer: the deadline runs while undici has a
 * chunk it cannot hand to the socket (the peer does not drain) and after the last chunk until
 * the answer, but not while we wait for the source (a slow uploader is not the peer's fault).
 * Chunks are passed as Buffer views over the same memory (no copies).
 */
export async function* watchedUpload(source: AsyncIterable<Uint8Array>, scope: CallScope): AsyncGenerator<Buffer> {
  // Undici pulls the first chunk only once a connection is open and the request is on it.
  scope.disarm();
  const chunks = source[Symbol.asyncIterator]();
  let exhausted = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (err) {
        exhausted = true;
        scope.noteSourceError(err);
        throw err;
      }
      if (next.done === true) {
        exhausted = true;
        break;
      }
      const chunk = next.value;
      scope.arm();
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      scope.disarm();
    }
  } finally {
    // Stopped early because the call failed: release the source, as for-await would.
    if (!exhausted) await chunks.return?.();
  }
  scope.arm();
}
