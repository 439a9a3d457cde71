/**
 * A tiny HTTP GET for health probes (`ringstore health`, `ringstore dev` readiness), on
 * `node:http` so that a probe loads nothing else.
 */
import { request } from 'node:http';
import { formatHostPort, parseHostPort } from './http-server.js';

/** The outcome of one probe. */
export interface ProbeResult {
  /** True for a 2xx answer. */
  readonly ok: boolean;
  readonly status?: number;
  /** The start of the body (short text reasons from /ready). */
  readonly body?: string;
  /** Why no answer came (ECONNREFUSED, timeout…). */
  readonly error?: string;
}

/**
 * The address to connect to for a listen address: a wildcard host (0.0.0.0, ::) is reached on
 * the loopback address of the same family.
 */
export function connectAddress(listen: string): string {
  const { host, port } = parseHostPort(listen);
  if (host === '0.0.0.0' || host === '') return formatHostPort('127.0.0.1', port);
  if (host === '::' || host === '::0') return formatHostPort('::1', port);
  return formatHostPort(host, port);
}

/** GETs `http://<address><path>` and never throws; gives up after `timeoutMs`. */
export function probe(address: string, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let hostPort: { host: string; port: number };
    try {
      hostPort = parseHostPort(address);
    } catch (error) {
      resolve({ ok: false, error: (error as Error).message });
      return;
    }
    const req = request({ host: hostPort.host, port: hostPort.port, path, method: 'GET', timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 1024) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, body: Buffer.concat(chunks).toString('utf8').slice(0, 1024).trim() });
      });
      res.on('error', (error) => resolve({ ok: false, error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, error: error.code ?? error.message }));
    req.end();
  });
}
