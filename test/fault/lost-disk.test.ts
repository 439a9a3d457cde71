/**
 * The scenario of issue 10 on real processes: put 8 objects, kill -9 n2 and empty its data dir,
 * let it come back, wait for anti-entropy to refill it, then the same to n3. No operator action
 * and no reads in between (read repair off): every object then reads back byte-identical through
 * every gateway, and n2's and n3's own stores hold each one, at its version, with its bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TestCluster, CLUSTER_SECRET } from '../helpers/cluster.js';
import { randomBody, sha256 } from '../helpers/data.js';
import { RpcClient } from '../../src/rpc/client.js';
import type { ReplicaApi } from '../../src/store/types.js';
import { silentLogger } from '../../src/util/logger.js';

const BUCKET = 'lost-disk';
/** Inline, block-sized and multi-block bodies, an empty one among them. */
const SIZES = [0, 200, 1000, 10_000, 64 * 1024 + 1, 300_000, 1024 * 1024, 3 * 1024 * 1024 + 7];

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('a node that loses its disk is refilled by anti-entropy', () => {
  let cluster: TestCluster;
  let rpc: RpcClient;
  const objects = new Map<string, string>();

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, config: { replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 0 } } });
    rpc = new RpcClient({ nodeId: 'test', secret: CLUSTER_SECRET, timeoutMs: 5000, logger: silentLogger });
  });
  afterAll(async () => {
    await rpc?.close();
    await cluster?.stop();
  });

  const replica = (id: string): ReplicaApi => rpc.replica(id, `127.0.0.1:${cluster.node(id).rpcPort}`);

  /** Whether node `id`'s own store holds every object with its bytes. */
  async function holdsAll(id: string): Promise<boolean> {
    for (const [key, digest] of objects) {
      const held = await replica(id).head(BUCKET, key);
      if (!held || held.record.tombstone || held.record.storage === 'quarantined') return false;
      if (sha256(await bytesOf(await replica(id).read(BUCKET, key, held.record.version))) !== digest) return false;
    }
    return true;
  }

  async function loseDiskAndRefill(id: string): Promise<void> {
    await cluster.kill(id);
    await cluster.wipe(id);
    await cluster.startNode(id);
    const deadline = Date.now() + 30_000;
    while (!(await holdsAll(id).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`${id} was not refilled within 30 s:\n${cluster.node(id).log.slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('refills n2, then n3; every object reads back byte-identical through every gateway', async () => {
    const s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const [i, size] of SIZES.entries()) {
      const body = randomBody(size);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `obj-${i}`, Body: body }));
      objects.set(`obj-${i}`, sha256(body));
    }

    await loseDiskAndRefill('n2');
    await loseDiskAndRefill('n3');

    for (const id of ['n1', 'n2', 'n3']) {
      const client = cluster.s3(id);
      for (const [key, digest] of objects) {
        const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        expect(sha256(await got.Body!.transformToByteArray()), `${key} through ${id}`).toBe(digest);
      }
    }
    expect(await holdsAll('n2')).toBe(true);
    expect(await holdsAll('n3')).toBe(true);
  });
});
