/**
 * Starting and stopping a plain `node:http` server the same way for every listener of a node
 * (S3 API, RPC/admin API): sane timeouts for large streamed bodies, and a graceful close that
 * drains in-flight requests up to a deadline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RingstoreError } from './errors.js';

/** A parsed `"host:port"` address. IPv6 hosts are written in brackets: `"[::1]:9100"`. */
export interface HostPort {
  /** The host without brackets (`::1`, `127.0.0.1`, `node1`). */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `"host:port"` (or `"[v6]:port"`). Port 0 is allowed (listen on any free port).
 * Throws InvalidArgument naming the bad value.
 */
export function parseHostPort(address: string): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/?#@]+)):(\d{1,5})$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RingstoreError('InvalidArgument', `bad address "${address}"; expected "host:port" or "[ipv6]:port"`, {
      address,
    });
  }
  return { host, port };
}

/** Formats a host and port as `"host:port"`, bracketing IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Tunables of `startHttpServer`; the defaults suit both the S3 and the RPC listener. */
export interface HttpServerOptions {
  /**
   * How long an idle keep-alive connection stays open (ms). Longer than the clients' own idle
   * timeout (undici: 4 s by default, or our RPC pools' value) so the client closes first and
   * never sends on a socket the server is closing. Default 65 s.
   */
  readonly keepAliveTimeoutMs?: number;
  /** Time allowed to receive a request's complete headers (ms). Default 30 s. */
  readonly headersTimeoutMs?: number;
  /**
   * A connection on which nothing is read or written for this long (ms) while a request is in
   * progress is destroyed: the backstop for a peer that stops mid-request. 0 (default) = none.
   */
  readonly socketIdleTimeoutMs?: number;
  /** Open connections accepted; further ones are closed at once. Default: no limit. */
  readonly maxConnections?: number;
  /** Largest accepted request header block in bytes. Default 64 KiB (record metadata travels in headers). */
  readonly maxHeaderSize?: number;
  /** How long `close()` waits for in-flight requests before cutting connections (ms). Default 10 s. */
  readonly closeDeadlineMs?: number;
}

/** A listening HTTP server and its graceful stop. */
export interface StartedHttpServer {
  readonly server: Server;
  /** The address actually bound, as `"host:port"` (resolves port 0). */
  readonly address: string;
  /**
   * Stops accepting connections, closes idle keep-alive sockets, waits for in-flight requests
   * up to the deadline, then destroys whatever is left. Idempotent.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** A request listener, e.g. `koaApp.callback()`. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const IDLE_SWEEP_MS = 100;

/**
 * `Expect` as clients rely on it. Node answers every request whose Expect is not
 * `100-continue` (an empty value, `foo`) with a bare 417; S3 ignores such values, so they are
 * served like any request. `100-continue` is answered with `100 Continue` only when the handler
 * first reads the body: a request refused before that (bad signature, no such bucket) gets
 * its error without a 100, and its client need not send the body at all.
 */
function honourExpect(server: Server, handler: RequestListener): void {
  server.on('checkExpectation', handler);
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const read = req._read.bind(req);
    let asked = false;
    // _read is how every consumer (pipe, iteration, 'data') asks a Readable for data. Node
    // also reads (dumps) an unread body after the response ends: no 100 may follow the answer.
    req._read = (size: number): void => {
      if (!asked) {
        asked = true;
        if (!res.headersSent && !res.writableEnded) res.writeContinue();
      }
      read(size);
    };
    handler(req, res);
  });
}

/**
 * Creates an HTTP server for `handler` and listens on `listen` (`"host:port"`, port 0 for any).
 * `requestTimeout` is 0 because a 5 GiB body may legitimately take minutes; stalls are caught
 * by the application's own progress timeouts (and `socketIdleTimeoutMs`), and slow header
 * senders by `headersTimeout`.
 */
export async function startHttpServer(handler: RequestListener, listen: string, options: HttpServerOptions = {}): Promise<StartedHttpServer> {
  const { host, port } = parseHostPort(listen);
  const headersTimeout = options.headersTimeoutMs ?? 30_000;
  const idle = options.socketIdleTimeoutMs ?? 0;
  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout,
      // Node checks headersTimeout only this often (30 s by default), which would stretch a
      // short timeout to 30 s.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4))),
      maxHeaderSize: options.maxHeaderSize ?? 64 * 1024,
    },
    handler,
  );
  honourExpect(server, handler);
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  // Node applies this while a request is in progress and keepAliveTimeout between requests.
  if (idle > 0) server.timeout = idle;
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = formatHostPort(bound.address, bound.port);

  let closing: Promise<void> | undefined;
  const close = (deadlineMs = options.closeDeadlineMs ?? 10_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
        resolve();
      });
      server.closeIdleConnections();
      // Connections that finish their request after close() become idle keep-alive sockets
      // that nothing else would close; sweep them until the server is down.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
      sweep.unref();
      deadline.unref();
    });
    return closing;
  };

  return { server, address, close };
}
