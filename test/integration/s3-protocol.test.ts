/**
 * The protocol details current clients rely on, against one real node with
 * `s3.rootDomain = s3.localhost`: headers returned byte for byte (awscli's head-object, the
 * SDK, raw UTF-8 metadata), `Expect`, listing shapes and `encoding-type=url`, presigned URLs
 * (`aws s3 presign`, SigV2 from `s3cmd signurl`), s3cmd's round trip and virtual-hosted style.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsCli, writeS3cmdConfig } from '../helpers/s3-cli.js';
import { TestCluster, ACCESS_KEY, SECRET_KEY } from '../helpers/cluster.js';
import { presignUrl, signRequest } from '../../src/s3/sigv4/signing.js';
import { signV2 } from '../../src/s3/sigv4/presigned-v2.js';

const AWS = '/usr/bin/aws';
const S3CMD = '/usr/bin/s3cmd';
const CURL = '/usr/bin/curl';
const run = promisify(execFile);
const ROOT_DOMAIN = 's3.localhost';
const BUCKET = 'proto-bucket';

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header name (lower case) → value exactly as the bytes arrived (latin1: one char per byte). */
  raw: Map<string, string>;
  body: Buffer;
  /** Whether a `100 Continue` came before the answer. */
  continued: boolean;
}

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (text: string): string => text.replace(/&(amp|lt|gt|quot|apos);/g, (_m, name: string) => XML_ENTITIES[name]!);

/** Texts of every `<tag>…</tag>` (not nested in itself), XML-unescaped. */
function all(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => unescape(m[1]!));
}

/** The listing's own fields (before the first Contents/CommonPrefixes/Upload entry). */
function head(xml: string): string {
  const at = xml.search(/<Contents>|<CommonPrefixes>|<Upload>/);
  return at < 0 ? xml : xml.slice(0, at);
}

function commonPrefixes(xml: string): string[] {
  return [...xml.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map((m) => unescape(m[1]!));
}

const loopback: LookupFunction = (_host, options, callback) => {
  if (options.all) (callback as unknown as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

describe('S3 protocol details', () => {
  let cluster: TestCluster;
  let s3: S3Client;
  let port: number;
  let dir: string;

  /** Sends one HTTP request to the node, returning the answer with its raw header bytes. */
  function send(method: string, target: string, headers: Record<string, string>, body?: Buffer, options: { waitForContinue?: boolean } = {}): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = new Map<string, string>();
          for (let i = 0; i < res.rawHeaders.length; i += 2) raw.set(res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body: Buffer.concat(chunks), continued });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (options.waitForContinue) {
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        // Flush the headers now; the body waits for the 100 (or is never sent).
        req.flushHeaders();
      } else req.end(body);
    });
  }

  /** A SigV4-signed request (host 127.0.0.1:port unless given). */
  function signed(method: string, target: string, options: { headers?: Record<string, string>; body?: Buffer; host?: string } = {}): Promise<RawAnswer> {
    const host = options.host ?? `127.0.0.1:${port}`;
    const s = signRequest(
      { method, url: `http://${host}${target}`, headers: { ...options.headers, host }, ...(options.body && { body: options.body }) },
      { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' },
    );
    return send(method, target, { ...s.headers, ...(options.body && { 'content-length': String(options.body.length) }) }, options.body);
  }

  const aws = awsCli(
    () => cluster.endpoint('n1'),
    () => dir,
    { timeoutMs: 60_000 },
  );

  async function s3cmd(...args: string[]): Promise<string> {
    const { stdout } = await run(S3CMD, ['-c', join(dir, 's3cmd.cfg'), ...args], { timeout: 60_000 });
    return stdout;
  }

  async function curl(url: string): Promise<{ status: number; body: string }> {
    const { stdout } = await run(CURL, ['-s', '-g', '-o', '-', '-w', '\n%{http_code}', url], { timeout: 30_000 });
    const nl = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
  }

  async function put(key: string, body = 'x'): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-proto-'));
    cluster = await TestCluster.start({ nodes: 1, env: { RINGSTORE_S3_ROOT_DOMAIN: ROOT_DOMAIN }, config: { replication: { factor: 1, readQuorum: 1, writeQuorum: 1 } } });
    port = cluster.node('n1').s3Port;
    s3 = cluster.s3('n1');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await writeS3cmdConfig(join(dir, 's3cmd.cfg'), `127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('conditional writes are refused until they have consensus (never a silent write)', () => {
    it.each([
      ['PUT If-None-Match: *', 'PUT', { 'if-none-match': '*' }],
      ['PUT If-Match', 'PUT', { 'if-match': '"0123456789abcdef0123456789abcdef"' }],
      ['DELETE If-Match', 'DELETE', { 'if-match': '"0123456789abcdef0123456789abcdef"' }],
    ])('%s → 501 NotImplemented and the key is unchanged', async (_name, method, headers) => {
      const key = `conditional/${method.toLowerCase()}-${Object.keys(headers)[0]}`;
      await put(key, 'before');
      const answer = await signed(method, `/${BUCKET}/${key}`, { headers, ...(method === 'PUT' && { body: Buffer.from('after') }) });
      expect([answer.status, codeOf(answer.body.toString())]).toEqual([501, 'NotImplemented']);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(await got.Body!.transformToString()).toBe('before');
    });
  });

  describe('headers come back as stored', () => {
    const types = [
      'text/x-foo',
      'text/plain',
      'application/json',
      'text/html; charset=ISO-8859-1',
      'image/svg+xml',
      'application/x-www-form-urlencoded',
      'Text/X-Mixed-Case',
      'application/vnd.a+b;v=2',
    ];

    it.skipIf(!existsSync(AWS) && !process.env['CI']).each(types)('aws s3api head-object shows Content-Type %s exactly', async (type) => {
      const key = `types/${encodeURIComponent(type)}`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'body', ContentType: type }));
      const shown = JSON.parse(await aws('s3api', 'head-object', '--bucket', BUCKET, '--key', key)) as { ContentType: string };
      expect(shown.ContentType).toBe(type);
      const got = await signed('GET', `/${BUCKET}/${encodeURIComponent(key)}`);
      expect(got.raw.get('content-type')).toBe(type);
    });

    it('an object PUT without a type is binary/octet-stream', async () => {
      await signed('PUT', `/${BUCKET}/untyped`, { body: Buffer.from('b') });
      expect((await signed('HEAD', `/${BUCKET}/untyped`)).raw.get('content-type')).toBe('binary/octet-stream');
    });

    const stored = {
      ContentType: 'text/x-foo',
      CacheControl: 'max-age=60, must-revalidate',
      ContentDisposition: 'attachment; filename="report 2024.txt"',
      ContentEncoding: 'x-custom',
      ContentLanguage: 'de-CH',
      Expires: new Date('2030-01-02T03:04:05Z'),
    };

    function expectStored(answer: object): void {
      expect(answer).toMatchObject({
        ContentType: stored.ContentType,
        CacheControl: stored.CacheControl,
        ContentDisposition: stored.ContentDisposition,
        ContentEncoding: stored.ContentEncoding,
        ContentLanguage: stored.ContentLanguage,
        ExpiresString: stored.Expires.toUTCString(),
      });
    }

    it('Content-Encoding, Content-Disposition, Content-Language, Cache-Control and Expires: stored, returned by GET and HEAD', async () => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'stored', Body: 'hello', ...stored }));
      expectStored(await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'stored' })));
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'stored' }));
      expectStored(got);
      expect(await got.Body?.transformToString()).toBe('hello');
    });

    it('the same through a multipart upload', async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'stored-mp', ...stored }));
      const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'stored-mp', UploadId, PartNumber: 1, Body: 'part one' }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'stored-mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
      expectStored(await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'stored-mp' })));
      expectStored(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'stored-mp' })));
    });

    it('non-ASCII metadata from the SDK (which signs and sends it as UTF-8) is accepted and its bytes come back', async () => {
      // (The SDK refuses chars beyond latin1 itself, before sending: "Invalid character in header content".)
      const value = 'Zürich café';
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'meta-sdk', Body: 'm', Metadata: { city: value } }));
      // The SDK hands back header bytes as latin1 chars (it decodes no charset): read them as UTF-8.
      const city = (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'meta-sdk' }))).Metadata?.['city'] ?? '';
      expect(Buffer.from(city, 'latin1').toString('utf8')).toBe(value);
      const raw = (await signed('GET', `/${BUCKET}/meta-sdk`)).raw.get('x-amz-meta-city') ?? '';
      expect(Buffer.from(raw, 'latin1').equals(Buffer.from(value, 'utf8'))).toBe(true);
    });

    it('UTF-8 metadata sent as raw bytes (curl, Go, Python) is verified, stored and returned byte for byte', async () => {
      const value = '日本語 – Zoë à';
      const utf8 = Buffer.from(value, 'utf8');
      const host = `127.0.0.1:${port}`;
      const s = signRequest(
        { method: 'PUT', url: `http://${host}/${BUCKET}/meta-raw`, headers: { host, 'x-amz-meta-title': value }, body: 'r' },
        { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' },
      );
      const putAnswer = await send('PUT', `/${BUCKET}/meta-raw`, { ...s.headers, 'x-amz-meta-title': utf8.toString('latin1'), 'content-length': '1' }, Buffer.from('r'));
      expect(putAnswer.status, putAnswer.body.toString()).toBe(200);
      for (const method of ['GET', 'HEAD']) {
        const answer = await signed(method, `/${BUCKET}/meta-raw`);
        expect(Buffer.from(answer.raw.get('x-amz-meta-title') ?? '', 'latin1').equals(utf8)).toBe(true);
      }
    });
  });

  describe('Expect', () => {
    function signedPut(key: string, body: Buffer, extra: Record<string, string>, bucket = BUCKET): Record<string, string> {
      const host = `127.0.0.1:${port}`;
      const s = signRequest({ method: 'PUT', url: `http://${host}/${bucket}/${key}`, headers: { host }, body }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' });
      return { ...s.headers, 'content-length': String(body.length), ...extra };
    }

    it('100-continue: the client gets 100 Continue, sends the body, and gets 200', async () => {
      const body = Buffer.from('continued body');
      const answer = await send('PUT', `/${BUCKET}/expect-100`, signedPut('expect-100', body, { expect: '100-continue' }), body, { waitForContinue: true });
      expect([answer.status, answer.continued]).toEqual([200, true]);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'expect-100' }));
      expect(await got.Body?.transformToString()).toBe('continued body');
    });

    it.each<[string, (headers: Record<string, string>) => Record<string, string>, string, number, string]>([
      ['a bad signature', (h) => ({ ...h, authorization: h['authorization']!.replace(/Signature=\w+/, `Signature=${'0'.repeat(64)}`) }), BUCKET, 403, 'SignatureDoesNotMatch'],
      ['no such bucket', (h) => h, 'no-such-bucket-here', 404, 'NoSuchBucket'],
    ])('100-continue refused early (%s): the error comes without a 100, and the body is never sent', async (_name, tamper, bucket, status, code) => {
      const body = Buffer.from('never sent');
      const answer = await send('PUT', `/${bucket}/expect-refused`, tamper(signedPut('expect-refused', body, { expect: '100-continue' }, bucket)), body, { waitForContinue: true });
      expect([answer.status, codeOf(answer.body.toString()), answer.continued]).toEqual([status, code, false]);
    });

    it.each(['', 'foo', '200-ok'])('Expect: "%s" is ignored (not 417)', async (value) => {
      const body = Buffer.from(`expect ${value}`);
      const answer = await send('PUT', `/${BUCKET}/expect-other`, signedPut('expect-other', body, { expect: value }), body);
      expect(answer.status).toBe(200);
    });
  });

  describe('listing', () => {
    const keys = ['a', 'a/', 'a/b', 'a/b/c', 'a--x--y', 'a--z', 'photos/2024/jan.jpg', 'photos/2024/feb.jpg', 'photos/cover.jpg', 'photos', 'photo-album', 'q r/s+t&u.txt', 'q r/zz', 'zed'];

    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'proto-list' }));
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'proto-list', Key: key, Body: key }));
    });

    async function list(query: string): Promise<string> {
      const answer = await signed('GET', `/proto-list?${query}`);
      expect(answer.status, answer.body.toString()).toBe(200);
      return answer.body.toString();
    }

    interface Expected {
      keys: string[];
      prefixes: string[];
      truncated?: boolean;
      /** Fields of the listing itself: present with this text, or absent (null). */
      fields?: Record<string, string | null>;
    }

    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    it.each<[string, string, Expected]>([
      ['an empty delimiter is no delimiter (v1)', 'delimiter=', { keys: sorted, prefixes: [], fields: { Delimiter: null, Prefix: '' } }],
      ['an empty delimiter is no delimiter (v2)', 'list-type=2&delimiter=', { keys: sorted, prefixes: [], fields: { Delimiter: null, KeyCount: String(keys.length) } }],
      [
        'delimiter / at the top',
        'list-type=2&delimiter=/',
        { keys: ['a', 'a--x--y', 'a--z', 'photo-album', 'photos', 'zed'], prefixes: ['a/', 'photos/', 'q r/'], fields: { Delimiter: '/', KeyCount: '9' } },
      ],
      ['prefix ending with the delimiter', 'list-type=2&prefix=photos/&delimiter=/', { keys: ['photos/cover.jpg'], prefixes: ['photos/2024/'], fields: { Prefix: 'photos/' } }],
      ['prefix ending mid-segment', 'list-type=2&prefix=pho&delimiter=/', { keys: ['photo-album', 'photos'], prefixes: ['photos/'] }],
      ['a key equal to the prefix is a key', 'list-type=2&prefix=a/&delimiter=/', { keys: ['a/', 'a/b'], prefixes: ['a/b/'] }],
      ['a delimiter of two characters', 'list-type=2&prefix=a&delimiter=--', { keys: ['a', 'a/', 'a/b', 'a/b/c'], prefixes: ['a--'] }],
      ['a prefix matching nothing', 'list-type=2&prefix=nothing/', { keys: [], prefixes: [], fields: { KeyCount: '0', IsTruncated: 'false' } }],
      [
        'max-keys counts keys and common prefixes (v1 NextMarker with a delimiter)',
        'delimiter=/&max-keys=4',
        { keys: ['a', 'a--x--y', 'a--z'], prefixes: ['a/'], truncated: true, fields: { NextMarker: 'a/', MaxKeys: '4' } },
      ],
      ['v1 without a delimiter has no NextMarker', 'max-keys=2', { keys: ['a', 'a--x--y'], prefixes: [], truncated: true, fields: { NextMarker: null } }],
      ['v1 marker before a common prefix', 'delimiter=/&max-keys=1&marker=a--z', { keys: [], prefixes: ['a/'], truncated: true, fields: { NextMarker: 'a/', Marker: 'a--z' } }],
      [
        'v1 marker equal to a common prefix (its NextMarker) resumes after the group',
        'delimiter=/&marker=a/&max-keys=2',
        { keys: ['photo-album', 'photos'], prefixes: [], truncated: true, fields: { NextMarker: 'photos' } },
      ],
      ['v2 start-after inside a common prefix resumes after the group', 'list-type=2&delimiter=/&start-after=photos/2024/feb.jpg', { keys: ['zed'], prefixes: ['q r/'] }],
      ['v1 marker', 'marker=photos/cover.jpg', { keys: ['q r/s+t&u.txt', 'q r/zz', 'zed'], prefixes: [], fields: { Marker: 'photos/cover.jpg', NextMarker: null } }],
      ['v2 start-after', 'list-type=2&start-after=photos/cover.jpg', { keys: ['q r/s+t&u.txt', 'q r/zz', 'zed'], prefixes: [], fields: { StartAfter: 'photos/cover.jpg' } }],
      ['v2 max-keys=0', 'list-type=2&max-keys=0', { keys: [], prefixes: [], fields: { KeyCount: '0', MaxKeys: '0' } }],
    ])('%s (%s)', async (_name, query, expected) => {
      const xml = await list(query);
      const own = head(xml);
      expect(all(xml.slice(own.length).replace(/<CommonPrefixes>.*?<\/CommonPrefixes>/g, ''), 'Key')).toEqual(expected.keys);
      expect(commonPrefixes(xml)).toEqual(expected.prefixes);
      expect(all(own, 'IsTruncated')).toEqual([String(expected.truncated ?? false)]);
      for (const [field, value] of Object.entries(expected.fields ?? {})) expect(all(own, field), field).toEqual(value === null ? [] : [value]);
    });

    it('v2: a continuation token wins over start-after, which is still echoed', async () => {
      const first = await list('list-type=2&max-keys=2');
      const token = all(first, 'NextContinuationToken')[0]!;
      const xml = await list(`list-type=2&max-keys=2&start-after=zed&continuation-token=${encodeURIComponent(token)}`);
      expect(all(xml, 'Key')).toEqual(sorted.slice(2, 4));
      expect(all(head(xml), 'StartAfter')).toEqual(['zed']);
      expect(all(head(xml), 'ContinuationToken')).toEqual([token]);
    });

    it('v1 encoding-type=url encodes Delimiter, Marker, Prefix, NextMarker and Key, and says so', async () => {
      const xml = await list(`encoding-type=url&prefix=${encodeURIComponent('q r/')}&delimiter=${encodeURIComponent('&')}&marker=${encodeURIComponent('q r/a b')}&max-keys=1`);
      const own = head(xml);
      expect(all(own, 'EncodingType')).toEqual(['url']);
      expect(all(own, 'Prefix')).toEqual(['q%20r/']);
      expect(all(own, 'Delimiter')).toEqual(['%26']);
      expect(all(own, 'Marker')).toEqual(['q%20r/a%20b']);
      expect(commonPrefixes(xml)).toEqual(['q%20r/s%2Bt%26']);
      const keysXml = await list(`encoding-type=url&prefix=${encodeURIComponent('q r/')}&max-keys=1&delimiter=/`);
      expect(all(keysXml, 'Key')).toEqual(['q%20r/s%2Bt%26u.txt']);
      expect(all(head(keysXml), 'NextMarker')).toEqual(['q%20r/s%2Bt%26u.txt']);
      // Without encoding-type the same fields are plain (XML-escaped) text.
      const plain = await list(`prefix=${encodeURIComponent('q r/')}&max-keys=1&delimiter=/`);
      expect(all(plain, 'Key')).toEqual(['q r/s+t&u.txt']);
      expect(all(head(plain), 'EncodingType')).toEqual([]);
    });

    it('v2 encoding-type=url encodes Delimiter, Prefix, Key and StartAfter, not the continuation tokens', async () => {
      const xml = await list(`list-type=2&encoding-type=url&prefix=${encodeURIComponent('q r/')}&delimiter=${encodeURIComponent('+')}&start-after=${encodeURIComponent('q r/a b')}`);
      const own = head(xml);
      expect(all(own, 'EncodingType')).toEqual(['url']);
      expect(all(own, 'Prefix')).toEqual(['q%20r/']);
      expect(all(own, 'Delimiter')).toEqual(['%2B']);
      expect(all(own, 'StartAfter')).toEqual(['q%20r/a%20b']);
      expect(commonPrefixes(xml)).toEqual(['q%20r/s%2B']);
      const page = await list('list-type=2&encoding-type=url&max-keys=1&start-after=q');
      expect(all(page, 'Key')).toEqual(['q%20r/s%2Bt%26u.txt']);
      const token = all(page, 'NextContinuationToken')[0]!;
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('ListMultipartUploads encoding-type=url encodes Key, KeyMarker and Prefix; a delimiter groups uploads', async () => {
      const key = 'q r/up+load&.bin';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'proto-list', Key: key }));
      expect(UploadId).toBeDefined();
      const answer = await signed('GET', `/proto-list?uploads&encoding-type=url&prefix=${encodeURIComponent('q r/')}&key-marker=${encodeURIComponent('q r/a')}`);
      const xml = answer.body.toString();
      expect(answer.status).toBe(200);
      expect(all(head(xml), 'EncodingType')).toEqual(['url']);
      expect(all(head(xml), 'Prefix')).toEqual(['q%20r/']);
      expect(all(head(xml), 'KeyMarker')).toEqual(['q%20r/a']);
      expect(all(xml, 'Key')).toEqual(['q%20r/up%2Bload%26.bin']);
      // With a delimiter the upload rolls up under its CommonPrefix (encoded too).
      const grouped = (await signed('GET', '/proto-list?uploads&delimiter=/&encoding-type=url')).body.toString();
      expect([all(grouped, 'Key'), commonPrefixes(grouped), all(head(grouped), 'Delimiter')]).toEqual([[], ['q%20r/'], ['/']]);
    });

    it.each([
      ['encoding-type=gzip', 'InvalidArgument'],
      ['max-keys=-1', 'InvalidArgument'],
      ['max-keys=abc', 'InvalidArgument'],
      ['list-type=2&continuation-token=not*a*token', 'InvalidArgument'],
    ])('%s → 400 %s', async (query, code) => {
      const answer = await signed('GET', `/proto-list?${query}`);
      expect([answer.status, codeOf(answer.body.toString())]).toEqual([400, code]);
    });
  });

  describe('presigned URLs', () => {
    beforeAll(async () => {
      await put('presigned', 'presigned body');
    });

    async function fetchUrl(url: string): Promise<RawAnswer> {
      const u = new URL(url);
      return send('GET', u.pathname + u.search, { host: u.host });
    }

    it.skipIf(!existsSync(AWS) && !process.env['CI'])('aws s3 presign: the URL works with a plain GET (curl too)', async () => {
      const url = (await aws('s3', 'presign', `s3://${BUCKET}/presigned`, '--expires-in', '60')).trim();
      const answer = await fetchUrl(url);
      expect([answer.status, answer.body.toString()]).toEqual([200, 'presigned body']);
      expect(await curl(url)).toEqual({ status: 200, body: 'presigned body' });
    });

    it.skipIf(!existsSync(AWS) && !process.env['CI'])('aws s3 presign: expired → 403 AccessDenied', async () => {
      const url = (await aws('s3', 'presign', `s3://${BUCKET}/presigned`, '--expires-in', '1')).trim();
      await new Promise((r) => setTimeout(r, 2100));
      const answer = await fetchUrl(url);
      expect([answer.status, codeOf(answer.body.toString())]).toEqual([403, 'AccessDenied']);
      expect(answer.body.toString()).toContain('<Message>Request has expired</Message>');
      expect(answer.body.toString()).toContain('<X-Amz-Expires>1</X-Amz-Expires>');
    });

    const creds = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' };
    const v4 = (expiresIn: number, now = Date.now()): string =>
      presignUrl({ method: 'GET', url: `http://127.0.0.1:${port}/${BUCKET}/presigned`, expiresIn: 600, now }, creds).replace('X-Amz-Expires=600', `X-Amz-Expires=${expiresIn}`);
    const v2 = (expires: number, key = 'presigned'): string => {
      const sig = signV2(SECRET_KEY, `GET\n\n\n${expires}\n/${BUCKET}/${key}`);
      return `http://127.0.0.1:${port}/${BUCKET}/${key}?AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(sig)}`;
    };
    const inAMinute = (): number => Math.floor(Date.now() / 1000) + 60;

    it.each<[string, () => string, number, string]>([
      ['X-Amz-Expires=604801', () => v4(604801), 403, 'AuthorizationQueryParametersError'],
      ['X-Amz-Expires=-7', () => v4(-7), 403, 'AuthorizationQueryParametersError'],
      ['X-Amz-Expires=abc', () => v4(NaN).replace('X-Amz-Expires=NaN', 'X-Amz-Expires=abc'), 403, 'AuthorizationQueryParametersError'],
      [
        'a V4 URL signed an hour ago for 60 s',
        () => presignUrl({ method: 'GET', url: `http://127.0.0.1:${port}/${BUCKET}/presigned`, expiresIn: 60, now: Date.now() - 3_600_000 }, creds),
        403,
        'AccessDenied',
      ],
      ['a V4 URL with another key', () => v4(600).replace('/presigned?', '/other?'), 403, 'SignatureDoesNotMatch'],
      ['a SigV2 URL past its Expires', () => v2(Math.floor(Date.now() / 1000) - 10), 403, 'AccessDenied'],
      ['a SigV2 URL for another key', () => v2(inAMinute()).replace('/presigned?', '/other?'), 403, 'SignatureDoesNotMatch'],
      ['a SigV2 URL of an unknown key id', () => v2(inAMinute()).replace(`AWSAccessKeyId=${ACCESS_KEY}`, 'AWSAccessKeyId=NOBODY'), 403, 'InvalidAccessKeyId'],
      ['a SigV2 URL without Signature', () => v2(inAMinute()).replace(/&Signature=.*$/, ''), 403, 'AccessDenied'],
      ['a SigV2 URL with Expires=soon', () => v2(inAMinute()).replace(/Expires=\d+/, 'Expires=soon'), 403, 'AccessDenied'],
    ])('%s → %i %s', async (_name, url, status, code) => {
      const answer = await fetchUrl(url());
      expect([answer.status, codeOf(answer.body.toString())]).toEqual([status, code]);
    });

    it('a SigV2 Authorization header is refused: 400 InvalidRequest', async () => {
      const answer = await send('GET', `/${BUCKET}/presigned`, { host: `127.0.0.1:${port}`, date: new Date().toUTCString(), authorization: `AWS ${ACCESS_KEY}:${signV2(SECRET_KEY, 'x')}` });
      expect([answer.status, codeOf(answer.body.toString())]).toEqual([400, 'InvalidRequest']);
    });

    it('a SigV2 presigned URL works, for GET with a response override too', async () => {
      expect((await fetchUrl(v2(inAMinute()))).body.toString()).toBe('presigned body');
      const expires = inAMinute();
      const sig = signV2(SECRET_KEY, `GET\n\n\n${expires}\n/${BUCKET}/presigned?response-content-type=text/x-override`);
      const answer = await fetchUrl(
        `http://127.0.0.1:${port}/${BUCKET}/presigned?response-content-type=text%2Fx-override&AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(sig)}`,
      );
      expect([answer.status, answer.raw.get('content-type')]).toEqual([200, 'text/x-override']);
    });

    it.skipIf(!existsSync(S3CMD) && !process.env['CI'])('s3cmd signurl s3://b/k +60, fetched with curl, returns the body', async () => {
      const url = (await s3cmd('signurl', `s3://${BUCKET}/presigned`, '+60')).trim();
      expect(url).toContain('Signature=');
      expect(await curl(url)).toEqual({ status: 200, body: 'presigned body' });
    });
  });

  it.skipIf(!existsSync(S3CMD) && !process.env['CI'])('s3cmd: put, ls, get, del', async () => {
    const local = join(dir, 'upload.txt');
    await writeFile(local, 's3cmd round trip');
    await s3cmd('put', '--mime-type=text/x-s3cmd', local, `s3://${BUCKET}/s3cmd/upload.txt`);
    expect(await s3cmd('ls', `s3://${BUCKET}/s3cmd/`)).toContain(`s3://${BUCKET}/s3cmd/upload.txt`);
    await s3cmd('get', '--force', `s3://${BUCKET}/s3cmd/upload.txt`, join(dir, 'download.txt'));
    expect(await readFile(join(dir, 'download.txt'), 'utf8')).toBe('s3cmd round trip');
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 's3cmd/upload.txt' }))).ContentType).toBe('text/x-s3cmd');
    await s3cmd('del', `s3://${BUCKET}/s3cmd/upload.txt`);
    expect(await s3cmd('ls', `s3://${BUCKET}/s3cmd/`)).not.toContain('upload.txt');
  });

  describe('virtual-hosted style (s3.rootDomain = s3.localhost)', () => {
    let hosted: S3Client;
    beforeAll(() => {
      // *.s3.localhost may not resolve here: the agent sends every name to 127.0.0.1, the Host stays the bucket's.
      hosted = new S3Client({
        endpoint: `http://${ROOT_DOMAIN}:${port}`,
        region: 'us-east-1',
        forcePathStyle: false,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ lookup: loopback }) }),
      });
    });

    it('the SDK creates a bucket, puts, gets and lists through bucket.s3.localhost', async () => {
      await hosted.send(new CreateBucketCommand({ Bucket: 'proto-hosted' }));
      await hosted.send(new PutObjectCommand({ Bucket: 'proto-hosted', Key: 'dir/a b+c.txt', Body: 'hosted', ContentType: 'text/x-hosted' }));
      const got = await hosted.send(new GetObjectCommand({ Bucket: 'proto-hosted', Key: 'dir/a b+c.txt' }));
      expect([await got.Body?.transformToString(), got.ContentType]).toEqual(['hosted', 'text/x-hosted']);
      const listed = await hosted.send(new ListObjectsV2Command({ Bucket: 'proto-hosted', Prefix: 'dir/' }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['dir/a b+c.txt']);
      // The same object path style, from the ordinary client.
      const pathStyle = await s3.send(new GetObjectCommand({ Bucket: 'proto-hosted', Key: 'dir/a b+c.txt' }));
      expect(await pathStyle.Body?.transformToString()).toBe('hosted');
    });

    it('raw signed requests: Host bucket.s3.localhost:port is the bucket, the path the key; the root domain is path style', async () => {
      await put('hosted/raw', 'raw hosted');
      const hostedGet = await signed('GET', '/hosted/raw', { host: `${BUCKET}.${ROOT_DOMAIN}:${port}` });
      expect([hostedGet.status, hostedGet.body.toString()]).toEqual([200, 'raw hosted']);
      const rootGet = await signed('GET', `/${BUCKET}/hosted/raw`, { host: `${ROOT_DOMAIN}:${port}` });
      expect([rootGet.status, rootGet.body.toString()]).toEqual([200, 'raw hosted']);
      const missing = await signed('GET', '/hosted/raw', { host: `no-such-bucket-x.${ROOT_DOMAIN}:${port}` });
      expect([missing.status, codeOf(missing.body.toString())]).toEqual([404, 'NoSuchBucket']);
      expect(missing.body.toString()).toContain('<Resource>/no-such-bucket-x/hosted/raw</Resource>');
      const badName = await signed('GET', '/k', { host: `Bad_Name.${ROOT_DOMAIN}:${port}` });
      expect([badName.status, codeOf(badName.body.toString())]).toEqual([400, 'InvalidBucketName']);
    });

    it('a SigV2 presigned URL virtual-hosted signs /bucket/key', async () => {
      const expires = Math.floor(Date.now() / 1000) + 60;
      const sig = signV2(SECRET_KEY, `GET\n\n\n${expires}\n/${BUCKET}/presigned`);
      const answer = await send('GET', `/presigned?AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(sig)}`, { host: `${BUCKET}.${ROOT_DOMAIN}:${port}` });
      expect([answer.status, answer.body.toString()]).toEqual([200, 'presigned body']);
    });
  });
});
