/**
 * A stalled client costs no more than its own request: uploads that stop sending, and header
 * blocks that never finish, neither hold up other requests through the same gateway nor keep
 * their connections (and file descriptors) for ever; beyond the concurrency cap a request gets
 * 503 SlowDown instead of queueing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'undici';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { signRequest } from '../../src/s3/sigv4/signing.js';

const CREDS = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' };
const MiB = 1024 * 1024;
const IDLE_MS = 6000;
const HEADERS_MS = 1500;

/** What became of a raw connection: the bytes answered and when it closed (ms after it opened). */
interface RawOutcome {
  readonly text: string;
  readonly closedAfterMs: number;
}

/** A raw connection that sends `preamble`, then nothing; `outcome` settles when the server closes it. */
interface RawClient {
  readonly socket: Socket;
  readonly outcome: Promise<RawOutcome>;
  closed: boolean;
}

function rawClient(port: number, preamble: Buffer): RawClient {
  const opened = Date.now();
  const socket = connect(port, '127.0.0.1');
  socket.on('connect', () => socket.write(preamble));
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  const client: RawClient = {
    socket,
    closed: false,
    outcome: new Promise<RawOutcome>((resolve) => {
      socket.on('close', () => {
        client.closed = true;
        resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - opened });
      });
    }),
  };
  return client;
}

/** A PUT that declares `declared` bytes (UNSIGNED-PAYLOAD), sends `sent` of them, then stalls. */
function stalledPut(port: number, path: string, declared: number, sent: number): RawClient {
  const url = `http://127.0.0.1:${port}${path}`;
  const signed = signRequest({ method: 'PUT', url, headers: { 'content-length': String(declared) }, payloadHash: 'UNSIGNED-PAYLOAD' }, CREDS);
  const head = [`PUT ${path} HTTP/1.1`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return rawClient(port, Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(sent, 0x61)]));
}

/** A signed request on a fresh connection, timed from start to the end of its body. */
async function signedFetch(port: number, method: 'GET' | 'PUT', path: string, body?: Buffer): Promise<{ status: number; text: string; ms: number }> {
  const url = `http://127.0.0.1:${port}${path}`;
  const signed = signRequest({ method, url, ...(body === undefined ? {} : { body }) }, CREDS);
  const started = Date.now();
  const res = await request(url, { method, headers: { ...signed.headers, connection: 'close' }, ...(body === undefined ? {} : { body }), headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: Date.now() - started };
}

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

/** A process's open fds: all of them, and the sockets among them accepted on `port`. */
function fds(pid: number, port: number): { total: number; onPort: number } {
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const onPortInodes = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local !== undefined && parseInt(local.split(':')[1] ?? '', 16) === port && cols[9] !== undefined) onPortInodes.add(cols[9]);
  }
  return { total: links.length, onPort: links.filter((l) => onPortInodes.has(/^socket:\[(\d+)\]$/.exec(l)?.[1] ?? '')).length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `ok()` or `ms` passed; returns whether it held. */
async function eventually(ms: number, ok: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (ok()) return true;
    await sleep(100);
  }
  return ok();
}

describe('40 uploads stalled after 70 KiB on one gateway', () => {
  let cluster: TestCluster;
  const bucket = 'stalls';

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: 3,
      env: { RINGSTORE_S3_IDLE_TIMEOUT_MS: String(IDLE_MS), RINGSTORE_S3_HEADERS_TIMEOUT_MS: String(HEADERS_MS) },
    });
    const port = cluster.node('n1').s3Port;
    expect((await signedFetch(port, 'PUT', `/${bucket}`)).status).toBe(200);
    expect((await signedFetch(port, 'PUT', `/${bucket}/small`, Buffer.from('hello'))).status).toBe(200);
    // Warm the pools (a staged PUT and a GET) so the fd baseline includes their connections.
    expect((await signedFetch(port, 'PUT', `/${bucket}/large`, Buffer.alloc(MiB, 1))).status).toBe(200);
    expect((await signedFetch(port, 'GET', `/${bucket}/large`)).status).toBe(200);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('GETs and small PUTs through that gateway stay fast; the stalled ones get 400 RequestTimeout; fds return to baseline', async () => {
    const n1 = cluster.node('n1');
    const pid = n1.process!.pid!;
    await sleep(500);
    const fdBefore = fds(pid, n1.s3Port);
    const stalled = Array.from({ length: 40 }, (_, i) => stalledPut(n1.s3Port, `/${bucket}/stalled-${i}`, MiB, 70 * 1024));
    const stallStarted = Date.now();
    // Wait until every stalled upload is on the gateway and streaming to its replicas: its S3
    // socket, a temp blob file and a stage connection to each of the two peers.
    const stalling = await eventually(5000, () => {
      const now = fds(pid, n1.s3Port);
      return now.onPort >= fdBefore.onPort + 40 && now.total >= fdBefore.total + 40 * 3;
    });
    const fdDuring = fds(pid, n1.s3Port);
    expect(stalling, `40 stalled uploads open (fds ${fdDuring.total}, S3 sockets ${fdDuring.onPort})`).toBe(true);

    const timings: Array<{ op: string; status: number; ms: number }> = [];
    for (let i = 0; i < 4; i++) {
      const get = await signedFetch(n1.s3Port, 'GET', `/${bucket}/small`);
      expect([get.status, get.text]).toEqual([200, 'hello']);
      const put = await signedFetch(n1.s3Port, 'PUT', `/${bucket}/small-${i}`, Buffer.from(`v${i}`));
      expect(put.status).toBe(200);
      timings.push({ op: 'GET', status: get.status, ms: get.ms }, { op: 'PUT', status: put.status, ms: put.ms });
    }
    const checkedWithin = Date.now() - stallStarted;
    console.log('during the stall (ms):', timings.map((t) => `${t.op} ${t.ms}`).join(', '), `; checked ${checkedWithin} ms into the stall`);
    for (const t of timings) expect(t.ms, `${t.op} took ${t.ms} ms during the stall`).toBeLessThan(2000);
    // They really ran while the stalled uploads were still held open.
    expect(stalled.every((s) => !s.closed)).toBe(true);

    const outcomes = await Promise.race([Promise.all(stalled.map((s) => s.outcome)), sleep(IDLE_MS + 20_000).then(() => undefined)]);
    for (const s of stalled) if (!s.closed) s.socket.destroy();
    expect(outcomes, 'every stalled upload is answered and closed by the server').toBeDefined();
    for (const o of outcomes!) {
      expect(o.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(codeOf(o.text)).toBe('RequestTimeout');
      expect(o.closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 200);
      expect(o.closedAfterMs).toBeLessThan(IDLE_MS + 8000);
    }
    const closedAfter = outcomes!.map((o) => o.closedAfterMs);
    // Promptly: the S3 connections and the stalled uploads' temp files are gone; what is left
    // are the stage streams' connections to the peers, idle in their pool (at most 40 per peer).
    const prompt = await eventually(5000, () => fds(pid, n1.s3Port).onPort <= fdBefore.onPort && fds(pid, n1.s3Port).total <= fdBefore.total + 80 + 10);
    const fdAfterDrop = fds(pid, n1.s3Port);
    // Then those idle pool connections retire too (undici keep-alive: 30 s).
    const settled = await eventually(40_000, () => fds(pid, n1.s3Port).total <= fdBefore.total + 10);
    const fdSettled = fds(pid, n1.s3Port);
    console.log({ fdBefore, fdDuring, fdAfterDrop, fdSettled, closedAfterMs: [Math.min(...closedAfter), Math.max(...closedAfter)] });
    expect(prompt, `S3 sockets back to ${fdBefore.onPort} (now ${fdAfterDrop.onPort}), fds ${fdAfterDrop.total} of ${fdBefore.total}`).toBe(true);
    expect(settled, `fds back to about ${fdBefore.total} (now ${fdSettled.total})`).toBe(true);

    // The gateway still works and stored none of the stalled objects.
    expect((await signedFetch(n1.s3Port, 'GET', `/${bucket}/small`)).status).toBe(200);
    const missing = await signedFetch(n1.s3Port, 'GET', `/${bucket}/stalled-0`);
    expect([missing.status, codeOf(missing.text)]).toEqual([404, 'NoSuchKey']);
  });

  it('a connection whose headers never finish is closed after s3.headersTimeoutMs', async () => {
    const port = cluster.node('n1').s3Port;
    const partial = rawClient(port, Buffer.from(`GET /${bucket}/small HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-date: 2`, 'latin1'));
    const silent = rawClient(port, Buffer.alloc(0));
    const timedOut = await Promise.race([Promise.all([partial.outcome, silent.outcome]), sleep(HEADERS_MS + 15_000).then(() => undefined)]);
    partial.socket.destroy();
    silent.socket.destroy();
    expect(timedOut, 'both connections closed by the server').toBeDefined();
    console.log(
      'header timeouts closed after (ms):',
      timedOut!.map((o) => o.closedAfterMs),
    );
    for (const o of timedOut!) {
      expect(o.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS - 200);
      expect(o.closedAfterMs).toBeLessThan(HEADERS_MS + 5000);
    }
  });
});

describe('the concurrency cap (s3.maxConcurrentRequests)', () => {
  let cluster: TestCluster;
  const bucket = 'capped';

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: 1,
      config: { replication: { factor: 1, readQuorum: 1, writeQuorum: 1 } },
      env: { RINGSTORE_S3_IDLE_TIMEOUT_MS: '3000', RINGSTORE_S3_MAX_CONCURRENT_REQUESTS: '4' },
    });
    const port = cluster.node('n1').s3Port;
    expect((await signedFetch(port, 'PUT', `/${bucket}`)).status).toBe(200);
    expect((await signedFetch(port, 'PUT', `/${bucket}/k`, Buffer.from('v'))).status).toBe(200);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers 503 SlowDown beyond the cap, and serves again once the slots are free', async () => {
    const port = cluster.node('n1').s3Port;
    const holders = Array.from({ length: 4 }, (_, i) => stalledPut(port, `/${bucket}/held-${i}`, MiB, 70 * 1024));
    await sleep(500);
    const refused = await signedFetch(port, 'GET', `/${bucket}/k`);
    expect([refused.status, codeOf(refused.text)]).toEqual([503, 'SlowDown']);
    expect(refused.ms).toBeLessThan(2000);
    // Health probes are not counted against the cap.
    const health = await request(`http://127.0.0.1:${port}/health`);
    expect([health.statusCode, await health.body.text()]).toEqual([200, 'ok\n']);
    const outcomes = await Promise.race([Promise.all(holders.map((h) => h.outcome)), sleep(20_000).then(() => undefined)]);
    for (const h of holders) h.socket.destroy();
    expect(outcomes).toBeDefined();
    const served = await signedFetch(port, 'GET', `/${bucket}/k`);
    expect([served.status, served.text]).toEqual([200, 'v']);
  });
});
