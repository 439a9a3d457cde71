import { it, expect } from 'vitest';
import { crc32 } from '@node-rs/crc32';
import { TestCluster } from '../helpers/cluster.js';
import { FuzzClient, signRaw } from '../helpers/fuzz-client.js';
import { encodeAwsChunked } from '../../src/s3/body/aws-chunked.js';

it('repro', async () => {
  const cluster = await TestCluster.start({ nodes: 3 });
  const client = new FuzzClient(cluster);
  try {
    await client.send({ method: 'PUT', path: '/bkt' });
    for (const [size, h] of [[70000, {'x-amz-checksum-crc32': 'AAAAAA=='}], [70000, {'content-md5': Buffer.alloc(16).toString('base64')}], [2000000, {'x-amz-checksum-crc32': 'AAAAAA=='}]] as const) {
      const plain = Buffer.alloc(size, 1);
      const rq = { method: 'PUT', path: `/bkt/p${size}`, body: plain, payloadHash: 'UNSIGNED-PAYLOAD', headers: { ...h, 'content-length': String(size) } };
      let r0; try { r0 = await client.send(rq); } catch (e) { r0 = String(e); }
      await new Promise((res) => setTimeout(res, 500));
      console.log('plain', size, JSON.stringify(h), typeof r0 === 'string' ? r0 : r0.status + ' ' + r0.text.slice(60, 120), 'n1 exit', cluster.node('n1').process?.exitCode);
      if (cluster.node('n1').process?.exitCode !== null) break;
    }
    for (const size of [10, 1000, 70000, 250000]) {
      const data = Buffer.alloc(size, 1);
      const wire = encodeAwsChunked(data, { trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
      const req = { method: 'PUT', path: `/bkt/k${size}`, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(size), 'x-amz-trailer': 'x-amz-checksum-crc32', 'content-length': String(wire.length) } };
      const { headers } = signRaw(req, client.host());
      let r; try { r = await client.sendPrepared({ ...req, body: wire }, headers); } catch (e) { r = String(e); }
      await new Promise((res) => setTimeout(res, 500));
      console.log(size, typeof r === 'string' ? r : r.status + ' ' + r.text.slice(0, 120), 'n1 exit', cluster.node('n1').process?.exitCode);
      if (cluster.node('n1').process?.exitCode !== null) { console.log(cluster.node('n1').log.slice(-3).join('\n')); break; }
    }
  } finally { await client.close(); await cluster.stop(); }
});
