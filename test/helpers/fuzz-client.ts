/**
 * What the fuzz tests need to talk to a real node: requests sent with the exact raw path,
 * query and header bytes chosen by the test (signed or not), raw TCP for what undici refuses
 * to send, and the invariants checked after every request and every property run.
 */
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { expect } from 'vitest';
import type { TestCluster, TestNode } from './cluster.js';
import { ACCESS_KEY, SECRET_KEY } from './cluster.js';
import { canonicalRequest } from '../../src/s3/sigv4/canonical.js';
import { ALGORITHM, credentialScope, deriveSigningKey, sha256Hex, sign, stringToSign, toAmzDate, type SigningSeed } from '../../src/s3/sigv4/signing.js';

/** A fixed seed per run of the suite; printed by fast-check on failure. Override with FUZZ_SEED. */
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);

/** One request as the test wants it on the wire. */
export interface RawRequest {
  readonly method: string;
  /** Raw path, already percent-encoded exactly as it is sent (never normalised). */
  readonly path: string;
  /** Raw query without `?`. */
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** Send the body with Transfer-Encoding: chunked (as an async iterable), not with its length. */
  readonly streamBody?: boolean;
  /** Payload hash to sign; defaults to the SHA-256 of the body. */
  readonly payloadHash?: string;
  /** Leave the request unsigned (no Authorization header). */
  readonly unsigned?: boolean;
}

/** A response, fully read. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text of an XML element as a parser would give it (the five entities and character references). */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (all, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (XML_ENTITIES[e] ?? all),
  );
}

/** The XML `<Code>` of an error body. */
export function codeOf(text: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
}

/**
 * Signs a request for a raw path. signRequest() takes a URL, and WHATWG URL parsing would
 * resolve `..`, `%2e%2e` and `\` in keys before signing, so this builds the same signature from
 * the same primitives over the path as sent.
 */
export function signRaw(req: RawRequest, host: string, now = Date.now()): { headers: Record<string, string>; seed: SigningSeed } {
  const amzDate = toAmzDate(now);
  const scope = credentialScope(amzDate.slice(0, 8), 'us-east-1', 's3');
  const signingKey = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), 'us-east-1', 's3');
  const payloadHash = req.payloadHash ?? sha256Hex(req.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] = host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  const signed = Object.keys(headers)
    .filter((h) => h !== 'transfer-encoding' && h !== 'connection' && h !== 'expect')
    .sort();
  const creq = canonicalRequest({ method: req.method, path: req.path, query: req.query ?? '', headers, signedHeaders: signed, payloadHash });
  const signature = sign(signingKey, stringToSign(amzDate, scope, creq));
  headers['authorization'] = `${ALGORITHM} Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return { headers, seed: { signature, signingKey, scope, amzDate } };
}

async function* pieces(body: Buffer): AsyncGenerator<Buffer> {
  for (let off = 0; off < body.length; off += 4096) yield body.subarray(off, off + 4096);
}

/** undici pools to every node of a cluster, sending paths verbatim. */
export class FuzzClient {
  readonly #pools = new Map<string, Pool>();
  readonly #cluster: TestCluster;

  constructor(cluster: TestCluster) {
    this.#cluster = cluster;
  }

  #pool(nodeId: string): Pool {
    let pool = this.#pools.get(nodeId);
    if (pool === undefined) {
      pool = new Pool(this.#cluster.endpoint(nodeId), { connections: 4, headersTimeout: 30_000, bodyTimeout: 30_000 });
      this.#pools.set(nodeId, pool);
    }
    return pool;
  }

  host(nodeId = 'n1'): string {
    return `127.0.0.1:${this.#cluster.node(nodeId).s3Port}`;
  }

  /** Sends one request (signed unless `unsigned`) and reads the whole answer. */
  async send(req: RawRequest, nodeId = 'n1'): Promise<RawResponse> {
    const headers = req.unsigned === true ? { host: this.host(nodeId), ...req.headers } : signRaw(req, this.host(nodeId)).headers;
    return this.sendPrepared(req, headers, nodeId);
  }

  /** Sends with exactly these headers (for tests that tamper with the signature). */
  async sendPrepared(req: RawRequest, headers: Record<string, string>, nodeId = 'n1'): Promise<RawResponse> {
    const path = req.query !== undefined && req.query !== '' ? `${req.path}?${req.query}` : req.path;
    const sent = req.body === undefined ? undefined : req.streamBody === true ? Readable.from(pieces(req.body)) : req.body;
    const res = await this.#pool(nodeId).request({ method: req.method, path, headers, ...(sent !== undefined && { body: sent }) });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

/**
 * The per-request property: no 5xx except 503 (and 501 NotImplemented), and an error is an S3 error: an
 * x-amz-request-id, and (unless HEAD) an XML body with a <Code>.
 */
export function expectWellFormed(res: RawResponse, method: string, what: string): void {
  const context = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
  // 501 NotImplemented is S3's answer for an operation it does not offer (?policy, ?tagging…), not a server fault.
  const notImplemented = res.status === 501 && (method === 'HEAD' || codeOf(res.text) === 'NotImplemented');
  expect(res.status >= 500 && res.status !== 503 && !notImplemented, `5xx: ${context}`).toBe(false);
  expect(typeof res.headers['x-amz-request-id'], `no request id: ${context}`).toBe('string');
  if (res.status >= 400 && method !== 'HEAD') {
    expect(codeOf(res.text), `error without <Code>: ${context}`).toBeDefined();
    expect(String(res.headers['content-type']), `error not XML: ${context}`).toContain('application/xml');
  }
}

/** Watches every line every node prints for "uncaught" / "unhandled" (TestNode.log keeps only a tail). */
export class LogWatch {
  readonly bad: string[] = [];

  constructor(cluster: TestCluster) {
    for (const node of cluster.nodes) this.attach(node);
  }

  /** Watches one node's current process (again after a restart). */
  attach(node: TestNode): void {
    for (const stream of [node.process?.stdout, node.process?.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (/uncaught|unhandled/i.test(line)) this.bad.push(`${node.id}: ${line.slice(0, 600)}`);
      });
    }
  }
}

/**
 * After a property run: every node process is alive, answers /health, and logged no uncaught
 * error. A node found dead is restarted after the check is recorded, so that one crash fails
 * the property that caused it and not every later one.
 */
export async function expectClusterHealthy(cluster: TestCluster, watch: LogWatch): Promise<void> {
  const problems: string[] = [];
  for (const node of cluster.nodes) {
    if (node.process?.exitCode !== null || node.process?.signalCode !== null) {
      problems.push(`${node.id} exited (${node.process?.exitCode ?? node.process?.signalCode}):\n${node.log.slice(-5).join('\n')}`);
      await cluster.startNode(node.id);
      watch.attach(node);
      continue;
    }
    const res = await fetch(`http://127.0.0.1:${node.s3Port}/health`, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => err);
    if (res instanceof Error || res.status !== 200) problems.push(`${node.id} /health: ${res instanceof Error ? res.message : res.status}`);
    if (!(res instanceof Error)) await res.arrayBuffer();
  }
  problems.push(...watch.bad.splice(0));
  expect(problems, 'dead nodes, failed /health, uncaught / unhandled errors in node logs').toEqual([]);
}

/** A raw HTTP/1.1 exchange over TCP: what undici refuses to send (bad framing, raw header bytes). */
export async function rawExchange(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<{ status: number | undefined; head: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const text = raw.toString('latin1');
      const head = text.slice(0, text.indexOf('\r\n\r\n') >= 0 ? text.indexOf('\r\n\r\n') : text.length);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, head, raw });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One response is enough: stop once its declared body has arrived.
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (len && Buffer.concat(chunks).length >= end + 4 + Number(len[1])) done();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err)));
    socket.write(bytes);
  });
}
