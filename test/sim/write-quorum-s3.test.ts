/**
 * The write quorum as an S3 client sees it, on three in-process nodes: with two of the three
 * owners cut off, PUT and DELETE are 503 ServiceUnavailable, and once the owners are back every
 * gateway reads what was there before — the refused writes left nothing behind.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { RunningNode } from '../../src/node.js';
import { startSimCluster } from '../helpers/sim.js';

function client(node: RunningNode): S3Client {
  return new S3Client({
    endpoint: `http://${node.s3Address()}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'SIMKEY', secretAccessKey: 'sim-secret-key-0123' },
    maxAttempts: 1,
  });
}

async function statusOf(p: Promise<unknown>): Promise<{ status: number | undefined; code: string }> {
  try {
    await p;
    return { status: 200, code: 'OK' };
  } catch (err) {
    if (!(err instanceof S3ServiceException)) throw err;
    return { status: err.$metadata.httpStatusCode, code: err.name };
  }
}

describe('write quorum through the S3 API', () => {
  const nodes: RunningNode[] = [];
  const clients: S3Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('with two owners down, PUT and DELETE are 503 and are not visible once the owners are back', async () => {
    // The nodes run on the wall clock here: the SDK signs on it (and resets any offset from each answer's Date).
    const { nodes: started, transport } = await startSimCluster({ seed: 31, now: () => Date.now() });
    nodes.push(...started);
    const s3 = started.map(client);
    clients.push(...s3);
    await s3[0]!.send(new CreateBucketCommand({ Bucket: 'sim' }));
    await s3[0]!.send(new PutObjectCommand({ Bucket: 'sim', Key: 'kept', Body: 'before' }));

    transport.setDown('n2', true);
    transport.setDown('n3', true);
    for (const [key, body] of [
      ['small', Buffer.from('small refused')],
      ['large', Buffer.alloc(200_000, 5)],
      ['kept', Buffer.from('overwrite refused')],
    ] as const) {
      expect(await statusOf(s3[0]!.send(new PutObjectCommand({ Bucket: 'sim', Key: key, Body: body })))).toEqual({ status: 503, code: 'ServiceUnavailable' });
    }
    expect(await statusOf(s3[0]!.send(new DeleteObjectCommand({ Bucket: 'sim', Key: 'kept' })))).toEqual({ status: 503, code: 'ServiceUnavailable' });

    transport.setDown('n2', false);
    transport.setDown('n3', false);
    for (const gateway of s3) {
      expect(await statusOf(gateway.send(new GetObjectCommand({ Bucket: 'sim', Key: 'small' })))).toEqual({ status: 404, code: 'NoSuchKey' });
      expect(await statusOf(gateway.send(new GetObjectCommand({ Bucket: 'sim', Key: 'large' })))).toEqual({ status: 404, code: 'NoSuchKey' });
      const kept = await gateway.send(new GetObjectCommand({ Bucket: 'sim', Key: 'kept' }));
      expect(await kept.Body?.transformToString()).toBe('before');
    }
  });
});
