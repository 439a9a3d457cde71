/**
 * The replica verbs (`ReplicaApi` over the network), each declared once: stage, commit (batched),
 * discard, head (batched), read and list. `mountReplica` registers a replica's handlers; the
 * calling side is `RemoteReplica` (remote-replica.ts). Request and response bytes are exactly
 * those of wire format v1 (see wire.ts for the building blocks).
 */
import type { Readable } from 'node:stream';
import type { ByteRange, ListOptions, ObjectRecord, ReplicaApi, StagedBody } from '../store/types.js';
import { compareVersions, type Version } from '../util/clock.js';
import { RingstoreError } from '../util/errors.js';
import { defineEndpoint } from './endpoint.js';
import {
  MAX_INLINE_COMMIT_BYTES,
  decodeCommitsRequest,
  decodeCommitsResponse,
  decodeHeadsResponse,
  encodeCommitsRequest,
  encodeCommitsResponse,
  encodeHeadsRequest,
  encodeHeadsResponse,
  parseHeadsRequest,
  type CommitAnswer,
  type CommitQuery,
  type HeadAnswer,
  type HeadQuery,
} from './replica-batches.js';
import type { EndpointRegistry } from './registry.js';
import {
  MAX_JSON_REQUEST_BYTES,
  RPC_HEADERS,
  asObject,
  decodeJsonHeader,
  encodeJsonHeader,
  int,
  optStr,
  optionalParam,
  parseIntParam,
  parseJson,
  parseObjectRecord,
  protocol,
  rangeLength,
  requireParam,
  str,
  toWireRecord,
  withQuery,
} from './wire.js';

/** Query of a read call. */
export interface ReadQuery {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly range?: ByteRange;
}

/** A read's answer: the body stream, its length when known, and the record for a full read. */
export interface ReadAnswer {
  readonly body: Readable;
  readonly length?: number;
  readonly record?: ObjectRecord;
}

/** A stage request: the body, streamed (followed on the wire by its trailing MAC). */
export interface StageRequest {
  readonly body: AsyncIterable<Uint8Array>;
}

/** A list request: one bucket's records in key order. */
export interface ListRequest {
  readonly bucket: string;
  readonly options: ListOptions;
}

export * from './replica-batches.js';

/** A rejection as a batch answer (so one failing item does not fail its neighbours). */
function orError<T>(pending: Promise<T>): Promise<T | Error> {
  return pending.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
}

const JSON_TYPE = 'application/json';
const BYTES_TYPE = 'application/octet-stream';

// ---------------------------------------------------------------------------------------------
// stage

/** Validates a stage answer. */
export function parseStagedBody(v: unknown): StagedBody {
  const o = asObject(v, 'staged');
  return { id: str(o, 'id', 'staged'), size: int(o, 'size', 'staged'), crc32: int(o, 'crc32', 'staged', 0xffffffff) };
}

/** `POST /rpc/v1/stage`: a raw body streamed into `replica.stage` → JSON StagedBody. */
export const stageEndpoint = defineEndpoint<StageRequest, StagedBody>({
  name: 'stage',
  method: 'POST',
  path: '/rpc/v1/stage',
  pool: 'streams',
  stream: 'request',
  request: {
    encode: (req) => ({ stream: req.body, contentType: BYTES_TYPE }),
    decode: (received) => {
      if (received.stream === undefined) throw protocol('stage: no body stream');
      return { body: received.stream };
    },
  },
  response: {
    encode: (staged) => ({ body: JSON.stringify({ id: staged.id, size: staged.size, crc32: staged.crc32 }), contentType: JSON_TYPE }),
    decode: (received) => parseStagedBody(parseJson(received.body, 'staged')),
  },
});

// ---------------------------------------------------------------------------------------------
// commits

/**
 * `POST /rpc/v1/commits`: framed JSON `{commits}` (up to 64) and their inline bodies → JSON
 * `{answers}`, one per commit (its CommitResult or its error).
 */
export const commitsEndpoint = defineEndpoint<readonly CommitQuery[], readonly CommitAnswer[]>({
  name: 'commit',
  method: 'POST',
  path: '/rpc/v1/commits',
  pool: 'calls',
  bodyLimit: 4 + MAX_JSON_REQUEST_BYTES + MAX_INLINE_COMMIT_BYTES,
  request: {
    encode: (commits) => ({ body: encodeCommitsRequest(commits), contentType: BYTES_TYPE }),
    decode: (received) => decodeCommitsRequest(received.body),
  },
  response: {
    encode: (answers) => ({ body: encodeCommitsResponse(answers), contentType: JSON_TYPE }),
    decode: (received, commits, peer) => decodeCommitsResponse(parseJson(received.body, 'commits answer'), commits.length, peer),
  },
});

// ---------------------------------------------------------------------------------------------
// discard

/** `POST /rpc/v1/discard?id=` → 204. */
export const discardEndpoint = defineEndpoint<{ readonly id: string }, void>({
  name: 'discard',
  method: 'POST',
  path: '/rpc/v1/discard',
  pool: 'calls',
  request: {
    encode: (req) => ({ query: { id: req.id } }),
    decode: (received) => ({ id: requireParam(received.query, 'id') }),
  },
  response: {
    encode: () => ({ status: 204 }),
    decode: (received) => {
      if (received.status !== 204) throw protocol(`discard answer: expected 204, got ${received.status}`);
    },
  },
});

// ---------------------------------------------------------------------------------------------
// heads

/** `POST /rpc/v1/heads`: JSON `{queries}` (up to 64) → framed answers, one per query. */
export const headsEndpoint = defineEndpoint<readonly HeadQuery[], readonly HeadAnswer[]>({
  name: 'head',
  method: 'POST',
  path: '/rpc/v1/heads',
  pool: 'calls',
  bodyLimit: MAX_JSON_REQUEST_BYTES,
  request: {
    encode: (queries) => ({ body: encodeHeadsRequest(queries), contentType: JSON_TYPE }),
    decode: (received) => parseHeadsRequest(parseJson(received.body, 'request body')),
  },
  response: {
    encode: (answers) => ({ body: encodeHeadsResponse(answers), contentType: BYTES_TYPE }),
    decode: (received, queries, peer) => decodeHeadsResponse(received.body, queries.length, peer),
  },
});

// ---------------------------------------------------------------------------------------------
// read

/** Query parameters of a read call (the range, when any, as explicit `start`/`end`). */
function readParams(q: ReadQuery): Record<string, string | number | undefined> {
  return { bucket: q.bucket, key: q.key, hlc: q.version.hlc, node: q.version.node, start: q.range?.start, end: q.range?.end };
}

/** Request target of a read call. */
export function encodeReadQuery(q: ReadQuery): string {
  return withQuery(readEndpoint.path, readParams(q));
}

/** Parses a read call's query; `start` and `end` come together or not at all. */
export function decodeReadQuery(params: URLSearchParams): ReadQuery {
  const bucket = requireParam(params, 'bucket');
  const key = requireParam(params, 'key');
  const hlc = parseIntParam(requireParam(params, 'hlc'), 'hlc');
  const version: Version = { hlc, node: requireParam(params, 'node') };
  const rawStart = optionalParam(params, 'start');
  const rawEnd = optionalParam(params, 'end');
  if (rawStart === undefined && rawEnd === undefined) return { bucket, key, version };
  if (rawStart === undefined || rawEnd === undefined) throw protocol('read: start and end must be given together');
  const range = { start: parseIntParam(rawStart, 'start'), end: parseIntParam(rawEnd, 'end') };
  if (range.end < range.start) throw protocol('read: end must be >= start', { range });
  return { bucket, key, version, range };
}

/**
 * `GET /rpc/v1/read?bucket=&key=&hlc=&node=[&start=&end=]` → 200 raw stream, chunked, with
 * `x-ringstore-length` (and `x-ringstore-record` for full reads).
 */
export const readEndpoint = defineEndpoint<ReadQuery, ReadAnswer>({
  name: 'read',
  method: 'GET',
  path: '/rpc/v1/read',
  pool: 'streams',
  stream: 'response',
  request: {
    encode: (q) => ({ query: readParams(q) }),
    decode: (received) => decodeReadQuery(received.query),
  },
  response: {
    encode: (answer) => ({
      stream: answer.body,
      ...(answer.length === undefined ? {} : { length: answer.length }),
      ...(answer.record === undefined ? {} : { headers: { [RPC_HEADERS.record]: encodeJsonHeader(toWireRecord(answer.record)) } }),
    }),
    decode: (received) => {
      if (received.stream === undefined) throw protocol('read answer: no body stream');
      const header = received.headers[RPC_HEADERS.record];
      return {
        body: received.stream,
        ...(received.length === undefined ? {} : { length: received.length }),
        ...(header === undefined ? {} : { record: parseObjectRecord(decodeJsonHeader(header, RPC_HEADERS.record), 'read record') }),
      };
    },
    expectedLength: (announced, q, peer) => {
      if (q.range === undefined) return announced;
      const expected = rangeLength(q.range);
      if (announced !== undefined && announced !== expected) {
        throw new RingstoreError('RpcProtocol', `read from ${peer}: announced ${announced} bytes for a ${expected}-byte range`, { peer });
      }
      return expected;
    },
  },
});

// ---------------------------------------------------------------------------------------------
// list

/** Validates list options (the JSON body of a list call). */
export function parseListOptions(v: unknown): ListOptions {
  const o = asObject(v, 'listOptions');
  const prefix = optStr(o, 'prefix', 'listOptions');
  const startAfter = optStr(o, 'startAfter', 'listOptions');
  const limit = int(o, 'limit', 'listOptions');
  return {
    limit,
    ...(prefix === undefined ? {} : { prefix }),
    ...(startAfter === undefined ? {} : { startAfter }),
  };
}

/** Validates a list answer `{records: [...]}`. */
export function parseListResult(v: unknown): ObjectRecord[] {
  const o = asObject(v, 'listResult');
  const records = o['records'];
  if (!Array.isArray(records)) throw protocol('listResult.records: expected an array');
  return records.map((r, i) => parseObjectRecord(r, `listResult.records[${i}]`));
}

/** `POST /rpc/v1/list?bucket=`: JSON ListOptions → JSON `{records}`. */
export const listEndpoint = defineEndpoint<ListRequest, ObjectRecord[]>({
  name: 'list',
  method: 'POST',
  path: '/rpc/v1/list',
  pool: 'calls',
  bodyLimit: MAX_JSON_REQUEST_BYTES,
  request: {
    encode: ({ bucket, options }) => ({
      query: { bucket },
      body: JSON.stringify({
        limit: options.limit,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.startAfter === undefined ? {} : { startAfter: options.startAfter }),
      }),
      contentType: JSON_TYPE,
    }),
    decode: (received) => ({ bucket: requireParam(received.query, 'bucket'), options: parseListOptions(parseJson(received.body, 'request body')) }),
  },
  response: {
    encode: (records) => ({ body: JSON.stringify({ records: records.map(toWireRecord) }), contentType: JSON_TYPE }),
    decode: (received) => parseListResult(parseJson(received.body, 'listResult')),
  },
});

// ---------------------------------------------------------------------------------------------
// handlers

/** Serves `replica` (this node's store) on every replica endpoint. */
export function mountReplica(registry: EndpointRegistry, replica: ReplicaApi): EndpointRegistry {
  return registry
    .mount(stageEndpoint, (req, { signal }) => replica.stage(req.body, signal), {
      // The body's MAC failed after the store took it: the staged file must not survive.
      refuse: (staged, signal) => replica.discard(staged.id, signal),
    })
    .mount(commitsEndpoint, (commits, { signal }) =>
      // Each commit is answered on its own (they share the store's group commit), so one
      // refused write does not fail its neighbours.
      Promise.all(commits.map((c) => orError(replica.commit(c.meta, c.body, signal, c.sideWrites)))),
    )
    .mount(discardEndpoint, (req, { signal }) => replica.discard(req.id, signal))
    .mount(headsEndpoint, (queries) =>
      // No cancellation signal: a head is one metadata lookup, cheaper than the signal itself.
      Promise.all(queries.map((q) => orError(replica.head(q.bucket, q.key, q.inlineUpTo === undefined ? {} : { inlineUpTo: q.inlineUpTo })))),
    )
    .mount(readEndpoint, async (q, { signal }) => {
      let length: number | undefined;
      let record: ObjectRecord | undefined;
      if (q.range !== undefined) {
        length = rangeLength(q.range);
      } else {
        // One metadata lookup tells the caller how many bytes a whole read must deliver.
        const head = await replica.head(q.bucket, q.key, {}, signal);
        if (head !== undefined && compareVersions(head.record.version, q.version) === 0) {
          record = head.record;
          length = head.record.size;
        }
      }
      const body = await replica.read(q.bucket, q.key, q.version, q.range, signal);
      return { body, ...(length === undefined ? {} : { length }), ...(record === undefined ? {} : { record }) };
    })
    .mount(listEndpoint, (req, { signal }) => replica.list(req.bucket, req.options, signal));
}
