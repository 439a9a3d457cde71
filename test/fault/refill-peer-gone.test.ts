/**
 * A node refilling after a lost disk whose peer never comes back: 3 nodes, N=3 W=2 R=2,
 * `antiEntropy.refillPeerWaitMs` 3 s. Objects are written, n3 is killed for good, then n2 loses
 * its disk and restarts. n2's /ready names n3 as the peer it awaits while refilling; once n3 has
 * been down 3 s, n2 gives up on it and serves reads: every object reads back through n2 (R = 2
 * needs n2's own replica, since n3 is gone) and n2's own store holds each one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TestCluster, CLUSTER_SECRET } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';
import { RpcClient } from '../../src/rpc/client.js';
import { silentLogger } from '../../src/util/logger.js';

const BUCKET = 'refill-gone';
const PEER_WAIT_MS = 3000;
/** The wait, the failure detector's time to mark n3 down and a few refill passes. */
const SERVING_BOUND_MS = 20_000;

describe('a refilling node whose peer never returns', () => {
  let cluster: TestCluster;
  let rpc: RpcClient;
  const objects = new Map<string, string>();

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: 3,
      config: { replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 0 }, antiEntropy: { refillPeerWaitMs: PEER_WAIT_MS } },
    });
    rpc = new RpcClient({ nodeId: 'test', secret: CLUSTER_SECRET, timeoutMs: 3000, logger: silentLogger });
  });
  afterAll(async () => {
    await rpc?.close();
    await cluster?.stop();
  });

  it('awaits the down peer for refillPeerWaitMs, naming it in /ready, then serves reads without it', async () => {
    const s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < 6; i++) {
      const body = randomBody(100 + i * 5000);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `obj-${i}`, Body: body }));
      objects.set(`obj-${i}`, sha256(body));
    }
    await cluster.kill('n3');
    await cluster.kill('n2');
    await cluster.wipe('n2');
    const restarted = Date.now();
    await cluster.startNode('n2');

    const readyUrl = `http://127.0.0.1:${cluster.node('n2').s3Port}/ready`;
    const notReady: string[] = [];
    let servingAfter: number | undefined;
    while (Date.now() - restarted < SERVING_BOUND_MS) {
      const res = await fetch(readyUrl);
      const text = await res.text();
      if (res.status === 200 || !text.includes('refilling')) {
        servingAfter = Date.now() - restarted;
        break;
      }
      notReady.push(text);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`refill-peer-gone: ${JSON.stringify({ servingAfterMs: servingAfter, lastReason: notReady.at(-1) })}`);
    expect(servingAfter, `n2 still refilling after ${SERVING_BOUND_MS} ms: ${notReady.at(-1)}`).toBeDefined();
    // It waited for n3 (and said so) rather than opening at once, and not past the bound.
    expect(notReady.some((t) => /awaiting n3 \(down/.test(t))).toBe(true);
    expect(notReady.every((t) => !t.includes('n1 ('))).toBe(true);
    expect(servingAfter!).toBeGreaterThanOrEqual(PEER_WAIT_MS);

    const status = (await (await fetch(`http://127.0.0.1:${cluster.node('n2').s3Port}/ready`)).text()).trim();
    expect(status).not.toContain('refilling');
    const n2 = rpc.replica('n2', `127.0.0.1:${cluster.node('n2').rpcPort}`);
    const client = cluster.s3('n2');
    for (const [key, digest] of objects) {
      expect((await n2.head(BUCKET, key))?.record.tombstone, `${key} in n2's own store`).toBe(false);
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(sha256(await got.Body!.transformToByteArray()), `${key} through n2`).toBe(digest);
    }
  });
});
