/**
 * Hinted handoff on real processes: four nodes (N=3, W=2; with three there is no fallback to
 * hold a hint), n3 killed -9, 200 objects of 4 KiB to 1 MiB written meanwhile, n3 restarted. The
 * fallbacks' hint-delivery workers then copy every write n3 missed into n3's own store (asked
 * over RPC head, so no read repair helps; anti-entropy is not involved either). Reports the time
 * from n3 answering again to its store holding them all, and the rate.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestCluster, CLUSTER_SECRET } from '../helpers/cluster.js';
import { randomBody } from '../helpers/data.js';
import { RpcClient } from '../../src/rpc/client.js';
import { Membership } from '../../src/cluster/membership.js';
import { createHasher } from '../../src/ring/hasher.js';
import { silentLogger } from '../../src/util/logger.js';

const COUNT = 200;
const MIN = 4 * 1024;
const MAX = 1024 * 1024;

describe('hinted handoff (real processes)', () => {
  let cluster: TestCluster | undefined;
  let s3: S3Client | undefined;
  afterAll(async () => {
    s3?.destroy();
    await cluster?.stop();
  });

  it('delivers every write n3 missed to its own store once it is back', { timeout: 60_000 }, async () => {
    cluster = await TestCluster.start({ nodes: 4, config: { store: { fsync: false } } });
    s3 = cluster.s3('n1');
    const bucket = 'handoff';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await cluster.kill('n3');
    // Let the others' failure detectors mark n3 down (500 ms pings, a refused connect confirms at once).
    await new Promise((r) => setTimeout(r, 1500));

    const sizes = Array.from({ length: COUNT }, (_, i) => MIN + Math.floor(((MAX - MIN) * i) / (COUNT - 1)));
    const keys = sizes.map((_, i) => `obj-${String(i).padStart(3, '0')}`);
    let next = 0;
    const writeStarted = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < COUNT) {
          const i = next++;
          await s3!.send(new PutObjectCommand({ Bucket: bucket, Key: keys[i], Body: randomBody(sizes[i]!) }));
        }
      }),
    );
    const writeMs = Date.now() - writeStarted;

    // The keys n3 owns (the nodes' ring, rebuilt from the same layout).
    const members = cluster.nodes.map((n, i) => ({ id: n.id, address: `127.0.0.1:${n.rpcPort}`, zone: `z${(i % 3) + 1}`, capacity: 1, state: 'active' as const }));
    const ring = new Membership({ selfId: 'test', layout: { version: 1, members }, hasher: await createHasher(), vnodesPerUnit: 2048 }).ring;
    const owned = keys.map((key, i) => ({ key, size: sizes[i]! })).filter(({ key }) => ring.preferenceList(bucket, key, 3).replicas.some((m) => m.id === 'n3'));
    expect(owned.length).toBeGreaterThan(COUNT / 2);
    const ownedBytes = owned.reduce((n, o) => n + o.size, 0);

    await cluster.startNode('n3');
    const back = Date.now();
    const rpc = new RpcClient({ nodeId: 'test', secret: CLUSTER_SECRET, timeoutMs: 3000, logger: silentLogger });
    const replica = rpc.replica('n3', `127.0.0.1:${cluster.node('n3').rpcPort}`);
    let missing = owned.map((o) => o.key);
    let firstMs: number | undefined;
    try {
      const deadline = back + 20_000;
      while (missing.length > 0 && Date.now() < deadline) {
        const held = await Promise.all(missing.map(async (key) => ((await replica.head(bucket, key)) ? undefined : key)));
        missing = held.filter((k): k is string => k !== undefined);
        if (firstMs === undefined && missing.length < owned.length) firstMs = Date.now() - back;
        if (missing.length > 0) await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await rpc.close();
    }
    const deliveryMs = Date.now() - back;
    console.log(
      `hinted handoff: wrote ${COUNT} objects (${(sizes.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(1)} MiB) in ${writeMs} ms with n3 down; ` +
        `n3 owns ${owned.length} (${(ownedBytes / 2 ** 20).toFixed(1)} MiB), all in its store ${deliveryMs} ms after it was back ` +
        `(${(ownedBytes / 2 ** 20 / (deliveryMs / 1000)).toFixed(1)} MiB/s overall; first copy seen at ${firstMs ?? -1} ms, ` +
        `${(ownedBytes / 2 ** 20 / ((deliveryMs - (firstMs ?? 0)) / 1000)).toFixed(1)} MiB/s from then; polling every 100 ms included)`,
    );
    expect(missing).toEqual([]);
    expect(cluster.problems()).toEqual([]);
  });
});
