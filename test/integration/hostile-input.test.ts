/**
 * Guards two rules. A body that fails verification, or a client that goes away, is answered (or
 * dropped) without taking the node down: before this was guarded, a PUT
 * above the inline threshold with a wrong Content-MD5 killed the gateway with an uncaught
 * exception, because the fan-out destroyed a replica lane whose local stage was still opening its
 * file. And everything a client sends is bounded: trailers, headers kept with an object, XML
 * bodies, DeleteObjects keys, response overrides.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'undici';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { signRequest, chunkStringToSign, sign as signString, sha256Hex } from '../../src/s3/sigv4/signing.js';

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

const md5b64 = (b: Uint8Array): string => createHash('md5').update(b).digest('base64');
const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('a node survives bodies that fail verification', () => {
  let cluster: TestCluster;
  const bucket = 'survival';

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    const s3 = cluster.s3();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  function sign(method: string, path: string, headers: Record<string, string>, payloadHash: string) {
    const url = new URL(path, cluster.endpoint());
    const req = signRequest({ method, url: url.toString(), headers, payloadHash }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' });
    return { url, headers: req.headers };
  }

  async function send(method: string, path: string, body: Buffer, headers: Record<string, string>, payloadHash = 'UNSIGNED-PAYLOAD') {
    const signed = sign(method, path, { ...headers, 'content-length': String(body.length) }, payloadHash);
    const res = await request(signed.url, { method, headers: signed.headers, body });
    return { status: res.statusCode, code: codeOf(await res.body.text()) };
  }

  /** Every node process is running and no log line reports an uncaught error. */
  async function expectAllAlive(): Promise<void> {
    // An uncaught exception is raised after the answer; give it a moment to show.
    await new Promise((r) => setTimeout(r, 300));
    expect(cluster.problems()).toEqual([]);
    for (const node of cluster.nodes) {
      const health = await request(`${cluster.endpoint(node.id)}/health`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
    }
  }

  // Sizes around and far above the 64 KiB inline threshold, where the body is staged on replicas.
  const sizes = [70 * 1024, 200 * 1024, 3 * 1024 * 1024];

  it.each(sizes)('PUT of %i bytes with a wrong Content-MD5 → 400 BadDigest, node alive, nothing stored', async (size) => {
    const body = randomBytes(size);
    for (let i = 0; i < 5; i++) {
      const res = await send('PUT', `/${bucket}/md5-${size}`, body, { 'content-md5': md5b64(randomBytes(8)) });
      expect(res).toEqual({ status: 400, code: 'BadDigest' });
    }
    await expectAllAlive();
    const get = sign('GET', `/${bucket}/md5-${size}`, {}, 'UNSIGNED-PAYLOAD');
    const res = await request(get.url, { headers: get.headers });
    expect([res.statusCode, codeOf(await res.body.text())]).toEqual([404, 'NoSuchKey']);
  });

  it.each(sizes)('PUT of %i bytes with a wrong x-amz-checksum-crc32 → 400 BadDigest, node alive', async (size) => {
    const body = randomBytes(size);
    const res = await send('PUT', `/${bucket}/crc-${size}`, body, { 'x-amz-checksum-crc32': 'AAAAAA==' });
    expect(res).toEqual({ status: 400, code: 'BadDigest' });
    await expectAllAlive();
  });

  it.each(sizes)('PUT of %i bytes whose signed payload hash is wrong → 400 XAmzContentSHA256Mismatch, node alive', async (size) => {
    const body = randomBytes(size);
    const res = await send('PUT', `/${bucket}/sha-${size}`, body, {}, sha256hex(randomBytes(4)));
    expect(res).toEqual({ status: 400, code: 'XAmzContentSHA256Mismatch' });
    await expectAllAlive();
  });

  it.each(sizes)('aws-chunked PUT of %i bytes with a wrong chunk signature → 403 SignatureDoesNotMatch, node alive', async (size) => {
    const body = randomBytes(size);
    const path = `/${bucket}/chunked-${size}`;
    const url = new URL(path, cluster.endpoint());
    const chunkSize = 64 * 1024;
    const chunks: Buffer[] = [];
    for (let at = 0; at < size; at += chunkSize) chunks.push(body.subarray(at, at + chunkSize));
    chunks.push(Buffer.alloc(0));
    const framedLength = chunks.reduce((n, c) => n + c.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + c.length, 0);
    const signed = signRequest(
      {
        method: 'PUT',
        url: url.toString(),
        headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(size), 'content-length': String(framedLength) },
        payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      },
      { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' },
    );
    let previous = signed.seed.signature;
    const framed = chunks.map((chunk, i) => {
      let signature = signString(signed.seed.signingKey, chunkStringToSign(signed.seed.amzDate, signed.seed.scope, previous, sha256Hex(chunk)));
      previous = signature;
      // The second chunk's signature is wrong: the body fails after the inline threshold's worth was read.
      if (i === 1) signature = signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      return Buffer.concat([Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`), chunk, Buffer.from('\r\n')]);
    });
    const res = await request(url, { method: 'PUT', headers: signed.headers, body: Buffer.concat(framed) });
    expect([res.statusCode, codeOf(await res.body.text())]).toEqual([403, 'SignatureDoesNotMatch']);
    await expectAllAlive();
  });

  it('UploadPart with a wrong Content-MD5 → 400 BadDigest, node alive', async () => {
    const create = sign('POST', `/${bucket}/mp?uploads`, {}, 'UNSIGNED-PAYLOAD');
    const created = await request(create.url, { method: 'POST', headers: create.headers });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.body.text())?.[1];
    expect(uploadId).toBeDefined();
    for (const size of sizes) {
      const res = await send('PUT', `/${bucket}/mp?partNumber=1&uploadId=${encodeURIComponent(uploadId!)}`, randomBytes(size), { 'content-md5': md5b64(randomBytes(8)) });
      expect(res).toEqual({ status: 400, code: 'BadDigest' });
    }
    // And on an upload that does not exist.
    const missing = await send('PUT', `/${bucket}/mp?partNumber=1&uploadId=nope`, randomBytes(200 * 1024), { 'content-md5': md5b64(randomBytes(8)) });
    expect(missing.status).toBe(404);
    expect(['NoSuchUpload', 'BadDigest']).toContain(missing.code);
    await expectAllAlive();
  });

  it('PUT with more than 2 KiB of user metadata → 400, node alive', async () => {
    const res = await send('PUT', `/${bucket}/meta`, randomBytes(200 * 1024), { 'x-amz-meta-big': 'x'.repeat(3000) });
    expect(res.status).toBe(400);
    expect(res.code).toBe('MetadataTooLarge');
    await expectAllAlive();
  });

  it('an aws-chunked upload followed by 300,000 trailer lines → 400 MalformedTrailerError, gateway memory flat', async () => {
    const gateway = cluster.nodes[0]!.id;
    const before = await cluster.rss(gateway);
    const data = Buffer.from('abc');
    const trailer = 'x-amz-meta-flood:' + 'v'.repeat(20) + '\r\n';
    const framed = Buffer.concat([Buffer.from(`3\r\nabc\r\n0\r\n`), Buffer.from(trailer.repeat(300_000)), Buffer.from('\r\n')]);
    const signed = sign(
      'PUT',
      `/${bucket}/trailer-flood`,
      { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': 'x-amz-checksum-crc32', 'content-length': String(framed.length) },
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    );
    const res = await request(signed.url, { method: 'PUT', headers: signed.headers, body: framed }).catch((err: unknown) => err as Error);
    // The server may answer and close before the whole flood is sent.
    if (!(res instanceof Error)) expect([res.statusCode, codeOf(await res.body.text())]).toEqual([400, 'MalformedTrailerError']);
    const after = await cluster.rss(gateway);
    expect(after - before).toBeLessThan(32 * 1024 * 1024);
    await expectAllAlive();
  });

  it('headers kept with an object are capped at 8 KiB (RequestHeaderSectionTooLarge); 7 KiB of them read back through every node', async () => {
    const tooBig = await send('PUT', `/${bucket}/big-headers`, randomBytes(100), { 'content-disposition': `attachment; filename="${'x'.repeat(49 * 1024)}"` });
    expect(tooBig).toEqual({ status: 400, code: 'RequestHeaderSectionTooLarge' });
    const disposition = `attachment; filename="${'y'.repeat(7 * 1024)}"`;
    const ok = await send('PUT', `/${bucket}/big-headers`, randomBytes(100 * 1024), { 'content-disposition': disposition });
    expect(ok.status).toBe(200);
    for (const node of cluster.nodes) {
      const url = new URL(`/${bucket}/big-headers`, cluster.endpoint(node.id));
      const req = signRequest({ method: 'GET', url: url.toString(), headers: {}, payloadHash: 'UNSIGNED-PAYLOAD' }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' });
      const res = await request(url, { headers: req.headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-disposition']).toBe(disposition);
      expect((await res.body.arrayBuffer()).byteLength).toBe(100 * 1024);
    }
  });

  it('DeleteObjects answers a key over 1024 bytes with KeyTooLongError and deletes the others', async () => {
    expect((await send('PUT', `/${bucket}/keep-out`, randomBytes(10), {})).status).toBe(200);
    const long = 'k'.repeat(1025);
    const xml = `<Delete><Object><Key>${long}</Key></Object><Object><Key>keep-out</Key></Object></Delete>`;
    const body = Buffer.from(xml);
    const res = await send('POST', `/${bucket}?delete`, body, { 'content-md5': md5b64(body) }, sha256hex(body));
    expect(res.status).toBe(200);
    const signed = sign('POST', `/${bucket}?delete`, { 'content-length': String(body.length), 'content-md5': md5b64(body) }, sha256hex(body));
    const again = await request(signed.url, { method: 'POST', headers: signed.headers, body });
    const text = await again.body.text();
    expect(text).toContain('<Code>KeyTooLongError</Code>');
    expect(text).toContain('<Deleted><Key>keep-out</Key></Deleted>');
  });

  it('a GET whose response-content-type cannot be sent → 400 InvalidArgument, and opens nothing', async () => {
    expect((await send('PUT', `/${bucket}/override`, randomBytes(300 * 1024), {})).status).toBe(200);
    const pid = cluster.nodes[0]!.process!.pid!;
    const fds = async (): Promise<number> => (await readdir(`/proc/${pid}/fd`)).length;
    const before = await fds();
    for (let i = 0; i < 20; i++) {
      const signed = sign('GET', `/${bucket}/override?response-content-type=${encodeURIComponent('text/€')}`, {}, 'UNSIGNED-PAYLOAD');
      const res = await request(signed.url, { headers: signed.headers });
      expect([res.statusCode, codeOf(await res.body.text())]).toEqual([400, 'InvalidArgument']);
    }
    expect(await fds()).toBeLessThanOrEqual(before + 2);
    await expectAllAlive();
  });

  it('clients that reset the connection at every point of a large PUT leave the node alive', async () => {
    const size = 2 * 1024 * 1024;
    const body = randomBytes(size);
    const signed = sign('PUT', `/${bucket}/reset`, { 'content-length': String(size) }, 'UNSIGNED-PAYLOAD');
    const head = [
      `PUT ${signed.url.pathname} HTTP/1.1`,
      `Host: ${signed.url.host}`,
      ...Object.entries(signed.headers)
        .filter(([k]) => k.toLowerCase() !== 'host')
        .map(([k, v]) => `${k}: ${String(v)}`),
      '',
      '',
    ].join('\r\n');
    for (const cut of [0, 1, 1000, 64 * 1024, 65 * 1024, 70 * 1024, 300 * 1024, 1024 * 1024 + 7, size - 1]) {
      for (const delay of [0, 5, 30]) {
        await new Promise<void>((resolve) => {
          const socket = connect(cluster.nodes[0]!.s3Port, '127.0.0.1', () => {
            socket.write(head);
            socket.write(body.subarray(0, cut), () => {
              setTimeout(() => {
                socket.resetAndDestroy();
                resolve();
              }, delay);
            });
          });
          socket.on('error', () => resolve());
        });
      }
    }
    await expectAllAlive();
  });
});
