#!/usr/bin/env node
// "Lose n2's disk, wait 60 s, lose n3's" (issue 10), measured: a local 3-node cluster of real
// processes (N=3, R=W=2) is loaded with one size class, then n2 is killed -9, its data dir emptied
// and the node restarted; its own anti-entropy pass refills it (no operator action). After GAP
// seconds the same happens to n3. For each refill it reports the rate (MiB/s, objects/s) from the
// pass's own start and end, and the body bytes moved against the ideal (what the node should
// hold). Then every object (1 MiB) or a sample (4 KiB) is read back through every gateway and
// checked byte for byte. In the 4 KiB phase it also counts the Merkle exchange bytes on the wire
// (HTTP requests and answers of /rpc/v1/merkle/*, headers included) through a counting proxy in
// front of n1's RPC port: one in-sync exchange, and the exchange that finds one missed key.
//
//   npm run build && node bench/refill.mjs                       # both phases, ~6 min
//   PHASES=4KiB GAP=10 SMALL_COUNT=5000 node bench/refill.mjs    # quick
//
// Settings (environment): PHASES (1MiB,4KiB), BIG_COUNT (256), SMALL_COUNT (10000), GAP (60 s),
// CONCURRENCY (loader, 32), MAX_MIBPS (antiEntropy.maxMiBps, 160). Every step is bounded; the
// nodes are stopped by PID at the end, even on an error.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { NodeProcess } = await import(join(ROOT, 'dist/devcluster/node-process.js'));
const { freePort } = await import(join(ROOT, 'dist/devcluster/ports.js'));
const { RpcClient } = await import(join(ROOT, 'dist/rpc/client.js'));
const { silentLogger } = await import(join(ROOT, 'dist/util/logger.js'));

const env = process.env;
const num = (name, fallback) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
const S = {
  PHASES: (env.PHASES ?? '1MiB,4KiB').split(',').map((s) => s.trim()),
  BIG_COUNT: num('BIG_COUNT', 256),
  SMALL_COUNT: num('SMALL_COUNT', 10_000),
  GAP: num('GAP', 60),
  CONCURRENCY: num('CONCURRENCY', 32),
  MAX_MIBPS: num('MAX_MIBPS', 160),
};
const ACCESS = 'RSBENCHACCESSKEY0001';
const SECRET = 'bench-secret-key-0123456789abcdefghij';
const CLUSTER_SECRET = 'bench-cluster-secret-0123456789abcdef';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** A TCP proxy that counts the bytes of HTTP exchanges whose request line starts with `prefix`. */
function countingProxy(targetPort, prefix) {
  const counts = { requestBytes: 0, responseBytes: 0, requests: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let current = false;
    client.on('data', (chunk) => {
      const head = chunk.subarray(0, 64).toString('latin1');
      if (/^(GET|POST|PUT|DELETE|HEAD) /.test(head)) {
        current = head.startsWith(prefix);
        if (current) counts.requests++;
      }
      if (current) counts.requestBytes += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (current) counts.responseBytes += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return {
    counts,
    reset: () => Object.assign(counts, { requestBytes: 0, responseBytes: 0, requests: 0 }),
    listen: (port) => new Promise((r) => server.listen(port, '127.0.0.1', r)),
    close: () => new Promise((r) => server.close(r)),
  };
}

async function startCluster(tag) {
  const root = mkdtempSync(join(os.tmpdir(), `ringstore-refill-${tag}-`));
  const ports = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const ids = ['n1', 'n2', 'n3'];
  // n1's RPC address, as every node knows it, is the counting proxy in front of its real port.
  const proxy = countingProxy(ports[3], 'POST /rpc/v1/merkle/');
  await proxy.listen(ports[6]);
  const rpcPort = (i) => ports[3 + i];
  const members = ids.map((id, i) => ({ id, address: `127.0.0.1:${i === 0 ? ports[6] : rpcPort(i)}`, zone: `z${i + 1}`, capacity: 1 }));
  const nodes = ids.map((id, i) => {
    const dataDir = join(root, id);
    mkdirSync(dataDir, { recursive: true });
    const configFile = join(root, `${id}.json`);
    const config = {
      nodeId: id,
      dataDir,
      s3: { listen: `127.0.0.1:${ports[i]}`, accessKey: ACCESS, secretKey: SECRET },
      rpc: { listen: `127.0.0.1:${rpcPort(i)}`, secret: CLUSTER_SECRET, timeoutMs: 5000 },
      admin: { token: ADMIN_TOKEN },
      replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 0 },
      // Passes only at boot and when asked, so the measured windows see no periodic pass.
      antiEntropy: { intervalMs: 3_600_000, maxMiBps: S.MAX_MIBPS },
      cluster: { pingIntervalMs: 500, downAfterMisses: 2, members },
      log: { level: 'warn' },
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const proc = new NodeProcess({ id, mainJs: join(ROOT, 'dist/cli/main.js'), args: ['--config', configFile], env: { ...env }, s3Listen: `127.0.0.1:${ports[i]}`, dataDir, detached: false });
    return { id, proc, s3: `http://127.0.0.1:${ports[i]}`, admin: `http://127.0.0.1:${rpcPort(i)}`, rpc: `127.0.0.1:${rpcPort(i)}` };
  });
  for (const n of nodes) n.proc.start();
  for (const n of nodes) {
    const why = await n.proc.waitHealthy(30_000);
    if (why !== undefined) throw new Error(`${n.id}: ${why}`);
  }
  const s3 = (n) => new S3Client({ endpoint: n.s3, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET }, maxAttempts: 3 });
  return {
    root,
    nodes,
    proxy,
    s3,
    async stop() {
      await Promise.all(nodes.map((n) => n.proc.stop(10_000)));
      await proxy.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function admin(node, method, path, body) {
  const res = await fetch(`${node.admin}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(600_000),
  });
  if (!res.ok) throw new Error(`${method} ${path} on ${node.id}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function pool(count, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** Kills one node, empties its data dir, restarts it and waits for its boot pass to end. */
async function loseDisk(cluster, id, ideal) {
  const node = cluster.nodes.find((n) => n.id === id);
  await node.proc.kill();
  await node.proc.wipe();
  const t0 = Date.now();
  node.proc.start();
  const why = await node.proc.waitHealthy(30_000);
  if (why !== undefined) throw new Error(`${id}: ${why}`);
  const healthyMs = Date.now() - t0;
  for (const deadline = Date.now() + 900_000; ; ) {
    const { progress } = await admin(node, 'GET', '/repair').catch(() => ({ progress: { passes: 0 } }));
    if (progress.passes >= 1 && !progress.running) {
      const seconds = (progress.finishedMs - progress.startedMs) / 1000;
      const r = {
        node: id,
        restartToHealthyS: healthyMs / 1000,
        passSeconds: seconds,
        keys: progress.keysRepaired,
        bytes: progress.bytesRepaired,
        bytesMoved: progress.bytesMoved,
        idealBytes: ideal,
        movedVsIdeal: progress.bytesMoved / ideal,
        mibPerSecond: progress.bytesRepaired / MiB / seconds,
        objectsPerSecond: progress.keysRepaired / seconds,
        partitionsDiffering: progress.partitionsDiffering,
        repairFailures: progress.repairFailures,
        peersSkipped: progress.peersSkipped,
      };
      log(`${id} refilled:`, JSON.stringify(r));
      for (const line of node.proc.tail.last()) if (/anti-entropy|exchange/.test(line)) log(`  ${id}: ${line.slice(0, 400)}`);
      return r;
    }
    if (Date.now() > deadline) throw new Error(`${id}: no pass ended within 900 s`);
    await sleep(200);
  }
}

async function phase(name) {
  const size = name === '1MiB' ? MiB : 4096;
  const count = name === '1MiB' ? S.BIG_COUNT : S.SMALL_COUNT;
  log(`phase ${name}: ${count} objects of ${size} bytes`);
  const cluster = await startCluster(name);
  const result = { phase: name, size, count };
  try {
    const clients = cluster.nodes.map((n) => cluster.s3(n));
    await clients[0].send(new CreateBucketCommand({ Bucket: 'refill' }));
    const digests = new Array(count);
    const seed = randomBytes(size);
    const t0 = Date.now();
    await pool(count, S.CONCURRENCY, async (i) => {
      const body = Buffer.from(seed);
      body.writeUInt32BE(i, 0);
      digests[i] = sha(body);
      await clients[i % 3].send(new PutObjectCommand({ Bucket: 'refill', Key: `o/${i}`, Body: body }));
    });
    result.loadSeconds = (Date.now() - t0) / 1000;
    log(`loaded in ${result.loadSeconds} s`);
    // Every node should hold every object (N = 3 on 3 nodes): the ideal is all the bodies.
    const ideal = count * size;
    const rpc = new RpcClient({ nodeId: 'bench', secret: CLUSTER_SECRET, timeoutMs: 5000, logger: silentLogger });
    if (name === '4KiB') {
      // Merkle bytes on the wire, n2 asking n1 (through the proxy): one in-sync exchange…
      const n2 = cluster.nodes[1];
      await sleep(1500);
      cluster.proxy.reset();
      await admin(n2, 'POST', '/repair', { wait: true });
      result.inSyncExchange = { keys: count, ...cluster.proxy.counts };
      // …and the one that finds a key n2 missed: n2 is down (killed, so the write's commit to it
      // fails at once) while the key is written, then restarts with its data; its boot pass pulls
      // the key from n1 (n1 is its first peer). The window also holds one in-sync exchange (n1
      // sees n2 back up and nudges it) and the copy itself (head, not a Merkle message: not counted).
      await n2.proc.kill();
      await clients[0].send(new PutObjectCommand({ Bucket: 'refill', Key: 'missed', Body: Buffer.alloc(4096, 7) }));
      cluster.proxy.reset();
      n2.proc.start();
      const why = await n2.proc.waitHealthy(30_000);
      if (why !== undefined) throw new Error(`n2: ${why}`);
      for (const deadline = Date.now() + 30_000; !(await rpc.replica('n2', n2.rpc).head('refill', 'missed').catch(() => undefined)); ) {
        if (Date.now() > deadline) throw new Error('n2 did not get the missed key');
        await sleep(100);
      }
      await sleep(2000);
      result.oneDifferingKeyExchange = { ...cluster.proxy.counts, note: 'every Merkle message to n1 in the window: the boot pass that finds the key, plus an in-sync exchange after the nudge' };
      log('merkle bytes', JSON.stringify({ inSync: result.inSyncExchange, oneDiffering: result.oneDifferingKeyExchange }));
    }
    result.n2 = await loseDisk(cluster, 'n2', ideal + (name === '4KiB' ? 4096 : 0));
    log(`waiting ${S.GAP} s`);
    await sleep(S.GAP * 1000);
    result.n3 = await loseDisk(cluster, 'n3', ideal + (name === '4KiB' ? 4096 : 0));
    // Read back through every gateway: all of them for 1 MiB, a sample of 1,000 at 4 KiB.
    const sample = name === '1MiB' ? [...Array(count).keys()] : Array.from({ length: Math.min(1000, count) }, (_, j) => Math.floor((j * count) / Math.min(1000, count)));
    let bad = 0;
    for (const client of clients) {
      await pool(sample.length, 8, async (j) => {
        const i = sample[j];
        const got = await client.send(new GetObjectCommand({ Bucket: 'refill', Key: `o/${i}` }));
        if (sha(Buffer.from(await got.Body.transformToByteArray())) !== digests[i]) bad++;
      });
    }
    result.verified = { perGateway: sample.length, gateways: clients.length, mismatches: bad };
    log('verified', JSON.stringify(result.verified));
    await rpc.close();
  } finally {
    await cluster.stop();
  }
  return result;
}

const results = { date: new Date().toISOString(), settings: S, loadavgAtStart: os.loadavg(), cpus: os.cpus().length, phases: [] };
for (const name of S.PHASES) results.phases.push(await phase(name));
results.loadavgAtEnd = os.loadavg();
console.log(JSON.stringify(results, null, 2));
