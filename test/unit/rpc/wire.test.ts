import { describe, expect, it } from 'vitest';
import type { ObjectRecord } from '../../../src/store/types.js';
import { RingstoreError } from '../../../src/util/errors.js';
import {
  MAX_COMMIT_BATCH,
  MAX_HEAD_BATCH,
  decodeCommitsRequest,
  decodeCommitsResponse,
  decodeHeadsResponse,
  decodeReadQuery,
  encodeCommitsRequest,
  encodeCommitsResponse,
  encodeHeadsRequest,
  encodeHeadsResponse,
  parseHeadsRequest,
  encodeReadQuery,
  parseListOptions,
} from '../../../src/rpc/replica-endpoints.js';
import { decodeJsonHeader, encodeJsonHeader, parseObjectRecord, toWireRecord } from '../../../src/rpc/wire.js';
import { RPC_ERROR_STATUS, errorFromWire, errorToWire } from '../../../src/rpc/wire-errors.js';

const record: ObjectRecord = {
  bucket: 'photos',
  key: 'a/ b+c?d=e&f#g%h/é/😀',
  version: { hlc: 1_700_000_000_000 * 1024 + 3, node: 'n2' },
  tombstone: false,
  size: 42,
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  contentType: 'text/plain; charset=utf-8',
  userMeta: { owner: 'ann', note: 'ünïcode' },
  checksums: { crc32c: 'AAAAAA==' },
  crc32: 0xffffffff,
  storage: 'inline',
};

function query(target: string): URLSearchParams {
  return new URLSearchParams(target.slice(target.indexOf('?') + 1));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RingstoreError) return err.code;
    throw err;
  }
  return 'none';
}

describe('record codecs', () => {
  it('round-trips a record through a header', () => {
    const header = encodeJsonHeader(toWireRecord(record));
    expect(header).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(parseObjectRecord(decodeJsonHeader(header, 'x'))).toEqual(record);
  });

  it('drops fields that are not part of the contract', () => {
    const withPrivate = { ...record, blobId: 'secret-path', internal: 1 } as ObjectRecord;
    expect(Object.keys(toWireRecord(withPrivate))).not.toContain('blobId');
    const { checksums: _omit, ...noChecksums } = record;
    expect('checksums' in toWireRecord(noChecksums)).toBe(false);
  });

  it.each([
    ['size as string', { ...record, size: '42' }],
    ['negative size', { ...record, size: -1 }],
    ['fractional hlc', { ...record, version: { hlc: 1.5, node: 'n' } }],
    ['bad storage', { ...record, storage: 'disk' }],
    ['crc32 out of range', { ...record, crc32: 2 ** 32 }],
    ['non-string user meta', { ...record, userMeta: { a: 1 } }],
    ['array', [record]],
    ['null', null],
  ])('rejects %s with RpcProtocol', (_name, value) => {
    expect(code(() => parseObjectRecord(value))).toBe('RpcProtocol');
  });

  it('rejects malformed headers with RpcProtocol', () => {
    expect(code(() => decodeJsonHeader(undefined, 'x'))).toBe('RpcProtocol');
    expect(code(() => decodeJsonHeader('not base64!', 'x'))).toBe('RpcProtocol');
    expect(code(() => decodeJsonHeader(Buffer.from('{oops').toString('base64url'), 'x'))).toBe('RpcProtocol');
    expect(code(() => decodeJsonHeader(['a', 'b'], 'x'))).toBe('RpcProtocol');
  });

  it('round-trips a batch of commits with their inline bodies, byte for byte', () => {
    const { crc32: _c, storage: _s, ...meta } = record;
    const a = Buffer.from('first body');
    const b = Buffer.alloc(0);
    const c = Buffer.from([0, 255, 10, 13]);
    const commits = [
      { meta, body: { kind: 'inline' as const, data: a } },
      { meta: { ...meta, key: 'staged one' }, body: { kind: 'staged' as const, id: 'blob-1' } },
      { meta: { ...meta, key: 'tombstone', tombstone: true, size: 0 }, body: { kind: 'inline' as const, data: b } },
      { meta, body: { kind: 'inline' as const, data: c } },
    ];
    const decoded = decodeCommitsRequest(encodeCommitsRequest(commits));
    expect(decoded.map((d) => d.meta)).toEqual(commits.map((x) => x.meta));
    expect(decoded[1]!.body).toEqual({ kind: 'staged', id: 'blob-1' });
    const bytes = decoded.map((d) => (d.body.kind === 'inline' ? Buffer.from(d.body.data).toString('hex') : d.body.id));
    expect(bytes).toEqual([a.toString('hex'), 'blob-1', '', c.toString('hex')]);
  });

  it('refuses malformed, truncated, padded or oversized commit batches', () => {
    const { crc32: _c, storage: _s, ...meta } = record;
    const one = encodeCommitsRequest([{ meta, body: { kind: 'inline', data: Buffer.from('abc') } }]);
    expect(code(() => decodeCommitsRequest(one.subarray(0, one.length - 1)))).toBe('IncompleteBody');
    expect(code(() => decodeCommitsRequest(Buffer.concat([one, Buffer.from('x')])))).toBe('RpcProtocol');
    expect(code(() => decodeCommitsRequest(one.subarray(0, 3)))).toBe('RpcProtocol');
    const frame = (json: unknown): Buffer => {
      const text = Buffer.from(JSON.stringify(json));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(text.length);
      return Buffer.concat([prefix, text]);
    };
    expect(code(() => decodeCommitsRequest(frame({ commits: [] })))).toBe('RpcProtocol');
    expect(code(() => decodeCommitsRequest(frame({ commits: [{ meta, body: { kind: 'other' } }] })))).toBe('RpcProtocol');
    expect(code(() => decodeCommitsRequest(frame({ commits: [{ meta, body: { kind: 'inline', size: 2 ** 40 } }] })))).toBe('RpcProtocol');
    const many = Array.from({ length: MAX_COMMIT_BATCH + 1 }, () => ({ meta, body: { kind: 'staged', id: 'x' } }));
    expect(code(() => decodeCommitsRequest(frame({ commits: many })))).toBe('RpcProtocol');
  });

  it("carries a fallback commit's hints (side writes), optional both ways, and refuses malformed ones", () => {
    const { crc32: _c, storage: _s, ...meta } = record;
    const hinted = { meta, body: { kind: 'staged' as const, id: 'blob-2' }, sideWrites: [{ kind: 'hint' as const, owner: 'n3' }] };
    const plain = { meta, body: { kind: 'inline' as const, data: Buffer.from('xy') } };
    const decoded = decodeCommitsRequest(encodeCommitsRequest([hinted, plain]));
    expect(decoded[0]!.sideWrites).toEqual([{ kind: 'hint', owner: 'n3' }]);
    expect(decoded[1]!.sideWrites).toBeUndefined();
    // An owner's commit goes out exactly as before (no field an older peer would have to know).
    expect(encodeCommitsRequest([plain]).includes(Buffer.from('sideWrites'))).toBe(false);
    const frame = (json: unknown): Buffer => {
      const text = Buffer.from(JSON.stringify(json));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(text.length);
      return Buffer.concat([prefix, text]);
    };
    const body = { kind: 'staged', id: 'x' };
    expect(code(() => decodeCommitsRequest(frame({ commits: [{ meta, body, sideWrites: [{ kind: 'merkle', owner: 'n3' }] }] })))).toBe('RpcProtocol');
    expect(code(() => decodeCommitsRequest(frame({ commits: [{ meta, body, sideWrites: [{ kind: 'hint' }] }] })))).toBe('RpcProtocol');
    expect(code(() => decodeCommitsRequest(frame({ commits: [{ meta, body, sideWrites: 'n3' }] })))).toBe('RpcProtocol');
  });

  it('round-trips commit answers, each result or error on its own', () => {
    const text = encodeCommitsResponse([{ applied: true, current: { hlc: 5, node: 'n1' } }, new RingstoreError('StoreClosed', 'closing')]);
    const answers = decodeCommitsResponse(JSON.parse(text), 2, 'n3');
    expect(answers[0]).toEqual({ applied: true, current: { hlc: 5, node: 'n1' } });
    expect(answers[1]).toBeInstanceOf(RingstoreError);
    expect((answers[1] as RingstoreError).code).toBe('StoreClosed');
    expect(code(() => decodeCommitsResponse(JSON.parse(text), 3, 'n3'))).toBe('RpcProtocol');
  });

  it('validates list options', () => {
    expect(parseListOptions({ limit: 10 })).toEqual({ limit: 10 });
    expect(parseListOptions({ limit: 1, prefix: 'a', startAfter: 'ab' })).toEqual({ limit: 1, prefix: 'a', startAfter: 'ab' });
    expect(code(() => parseListOptions({ prefix: 'a' }))).toBe('RpcProtocol');
    expect(code(() => parseListOptions({ limit: 1, prefix: 3 }))).toBe('RpcProtocol');
  });
});

describe('query codecs', () => {
  it('round-trips a batch of head queries and refuses malformed or oversized ones', () => {
    const queries = [
      { bucket: 'photos', key: record.key, inlineUpTo: 4096 },
      { bucket: 'b', key: '' },
    ];
    expect(parseHeadsRequest(JSON.parse(encodeHeadsRequest(queries)))).toEqual(queries);
    expect(code(() => parseHeadsRequest({ queries: [] }))).toBe('RpcProtocol');
    expect(code(() => parseHeadsRequest({ queries: Array.from({ length: MAX_HEAD_BATCH + 1 }, () => ({ bucket: 'b', key: 'k' })) }))).toBe('RpcProtocol');
    expect(code(() => parseHeadsRequest({ queries: [{ bucket: 'b' }] }))).toBe('RpcProtocol');
    expect(code(() => parseHeadsRequest({ queries: [{ bucket: 'b', key: 'k', inlineUpTo: -1 }] }))).toBe('RpcProtocol');
  });

  it('round-trips head answers: records, inline bodies in order, absent keys and per-key errors', () => {
    const small = { ...record, key: 'small', size: 3 };
    const data = encodeHeadsResponse([
      { record, inlineBody: Buffer.from('x'.repeat(42)) },
      undefined,
      new RingstoreError('StoreClosed', 'closing'),
      { record: small, inlineBody: new Uint8Array([1, 2, 3]) },
      { record: { ...record, storage: 'blob' } },
    ]);
    const [a, b, c, d, e] = decodeHeadsResponse(data, 5, 'n9');
    expect(a).toEqual({ record, inlineBody: Buffer.from('x'.repeat(42)) });
    expect(b).toBeUndefined();
    expect(c).toMatchObject({ code: 'StoreClosed', details: { peer: 'n9' } });
    expect(d).toEqual({ record: small, inlineBody: Buffer.from([1, 2, 3]) });
    expect(e).toEqual({ record: { ...record, storage: 'blob' } });
    expect(code(() => decodeHeadsResponse(data, 4, 'n9'))).toBe('RpcProtocol');
    expect(code(() => decodeHeadsResponse(data.subarray(0, data.length - 1), 5, 'n9'))).toBe('RpcProtocol');
    expect(code(() => decodeHeadsResponse(Buffer.concat([data, Buffer.from([0])]), 5, 'n9'))).toBe('RpcProtocol');
    expect(code(() => decodeHeadsResponse(Buffer.from([0, 0, 0, 9, 123]), 1, 'n9'))).toBe('RpcProtocol');
  });

  it('round-trips reads with and without a range', () => {
    const version = record.version;
    const whole = encodeReadQuery({ bucket: 'b', key: 'k\0x', version });
    expect(decodeReadQuery(query(whole))).toEqual({ bucket: 'b', key: 'k\0x', version });
    const ranged = encodeReadQuery({ bucket: 'b', key: 'k', version, range: { start: 5, end: 9 } });
    expect(decodeReadQuery(query(ranged))).toEqual({ bucket: 'b', key: 'k', version, range: { start: 5, end: 9 } });
  });

  it('rejects bad read queries', () => {
    expect(code(() => decodeReadQuery(new URLSearchParams('bucket=b&key=k&hlc=1')))).toBe('RpcProtocol');
    expect(code(() => decodeReadQuery(new URLSearchParams('bucket=b&key=k&hlc=-1&node=n')))).toBe('RpcProtocol');
    expect(code(() => decodeReadQuery(new URLSearchParams('bucket=b&key=k&hlc=1&node=n&start=1')))).toBe('RpcProtocol');
    expect(code(() => decodeReadQuery(new URLSearchParams('bucket=b&key=k&hlc=1&node=n&start=5&end=1')))).toBe('RpcProtocol');
    expect(code(() => decodeReadQuery(new URLSearchParams('bucket=b&bucket=c&key=k&hlc=1&node=n')))).toBe('RpcProtocol');
  });
});

describe('wire errors', () => {
  it('round-trips a RingstoreError with its code and details, adding the peer', () => {
    const { status, body } = errorToWire(new RingstoreError('NoSuchKey', 'gone', { bucket: 'b', key: 'k' }));
    expect(status).toBe(404);
    const back = errorFromWire(status, JSON.parse(JSON.stringify(body)), 'n2');
    expect(back).toBeInstanceOf(RingstoreError);
    expect(back.code).toBe('NoSuchKey');
    expect(back.message).toBe('gone');
    expect(back.details).toEqual({ bucket: 'b', key: 'k', peer: 'n2' });
  });

  it('maps every code to an HTTP error status', () => {
    for (const status of Object.values(RPC_ERROR_STATUS)) expect(status).toBeGreaterThanOrEqual(400);
    expect(errorToWire(new RingstoreError('RpcUnauthorized', 'no')).status).toBe(401);
  });

  it('turns non-RingstoreErrors into 500 InternalError, and that into ServiceUnavailable on the caller', () => {
    const { status, body } = errorToWire(new TypeError('boom'));
    expect(status).toBe(500);
    expect(body.code).toBe('InternalError');
    const back = errorFromWire(status, body, 'n3');
    expect(back.code).toBe('ServiceUnavailable');
    expect(back.details).toMatchObject({ peer: 'n3', remoteCode: 'InternalError' });
  });

  it('keeps error bodies serializable', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(errorToWire(new RingstoreError('InvalidArgument', 'x', { circular })).body.details).toEqual({});
    expect(errorToWire(new RingstoreError('InvalidArgument', 'x', { n: 10n })).body.details).toEqual({ n: '10' });
  });

  it('treats an answer without an error body as RpcProtocol', () => {
    expect(errorFromWire(502, undefined, 'n1').code).toBe('RpcProtocol');
    expect(errorFromWire(502, 'Bad Gateway', 'n1').code).toBe('RpcProtocol');
  });
});
