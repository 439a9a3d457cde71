/**
 * The RPC wire format (version 1): routes, headers and the codecs both sides share, so the
 * client and the server cannot drift apart.
 *
 * - Metadata travels as JSON: in the request/response body when there is no binary payload, or
 *   as base64url JSON in a header when the body streams raw bytes (a read), or as a
 *   length-prefixed JSON part before the raw bytes (`framed`: a batch of commits with their
 *   inline bodies, a batch of heads with theirs). Bodies are never base64 inside JSON.
 * - Buckets, keys and ids travel in the query string (percent-encoded) or in JSON, never as
 *   URL path segments.
 * - Every decoder validates shape and types and throws RpcProtocol on anything unexpected; the
 *   encoders copy only the fields of the contract, so implementation-private fields a store
 *   keeps on its records never leak onto the wire.
 */
import { RingstoreError } from '../util/errors.js';
import type { Version } from '../util/clock.js';
import { errorFromWire, type WireError } from './wire-errors.js';
import type { ByteRange, CommitBody, CommitResult, HeadResult, ListOptions, ObjectMeta, ObjectRecord, PartRef, StagedBody } from '../store/types.js';

/** Every route of the node-to-node API (all under one version prefix). */
export const RPC_PATHS = {
  stage: '/rpc/v1/stage',
  commits: '/rpc/v1/commits',
  discard: '/rpc/v1/discard',
  heads: '/rpc/v1/heads',
  read: '/rpc/v1/read',
  list: '/rpc/v1/list',
  ping: '/rpc/v1/ping',
} as const;

/** Prefix of every authenticated RPC route. */
export const RPC_PREFIX = '/rpc/';

/** Names of the ringstore-specific headers (lower case, as node and undici expose them). */
export const RPC_HEADERS = {
  /** Response of read: base64url JSON `ObjectRecord`. */
  record: 'x-ringstore-record',
  /** Response of read: the number of body bytes that will follow, when the server knows it. */
  bodyLength: 'x-ringstore-length',
} as const;

/** Largest JSON request body a server accepts (list options, …). */
export const MAX_JSON_REQUEST_BYTES = 1024 * 1024;

/** Largest inline body a commit may carry, and most inline bytes in one `commits` call. */
export const MAX_INLINE_COMMIT_BYTES = 16 * 1024 * 1024;

/** Most commits in one `commits` call. */
export const MAX_COMMIT_BATCH = 64;

/** One commit of a `commits` request as JSON: the metadata and which body to bind. */
export interface WireCommit {
  readonly meta: ObjectMeta;
  /** `inline`: the next `size` raw bytes after the JSON part. */
  readonly body: { readonly kind: 'staged'; readonly id: string } | { readonly kind: 'inline'; readonly size: number };
}

/** One commit as both ends hold it: metadata and the body to bind. */
export interface CommitQuery {
  readonly meta: ObjectMeta;
  readonly body: CommitBody;
}

/** One answer of a `commits` call: the commit's result, or the error the replica raised for it. */
export type CommitAnswer = CommitResult | RingstoreError;

/** The answer to `GET /rpc/v1/ping`. */
export interface PingResult {
  readonly nodeId: string;
  /** The answering node's wall clock (ms), for skew diagnostics. */
  readonly time: number;
}

/** Query of a head call. */
export interface HeadQuery {
  readonly bucket: string;
  readonly key: string;
  readonly inlineUpTo?: number;
}

/** Query of a read call. */
export interface ReadQuery {
  readonly bucket: string;
  readonly key: string;
  readonly version: Version;
  readonly range?: ByteRange;
}

// ---------------------------------------------------------------------------------------------
// validation helpers

function protocol(message: string, details: Record<string, unknown> = {}): RingstoreError {
  return new RingstoreError('RpcProtocol', message, details);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw protocol(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw protocol(`${what}.${field}: expected a string`);
  return v;
}

function optStr(o: Record<string, unknown>, field: string, what: string): string | undefined {
  return o[field] === undefined ? undefined : str(o, field, what);
}

function int(o: Record<string, unknown>, field: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw protocol(`${what}.${field}: expected an integer in [0, ${max}]`);
  }
  return v;
}

function bool(o: Record<string, unknown>, field: string, what: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') throw protocol(`${what}.${field}: expected a boolean`);
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> {
  const o = asObject(v, what);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== 'string') throw protocol(`${what}.${k}: expected a string`);
    out[k] = val;
  }
  return out;
}

function parseIntParam(raw: string, name: string): number {
  if (!/^\d{1,16}$/.test(raw)) throw protocol(`query parameter ${name}: expected a non-negative integer`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw protocol(`query parameter ${name}: out of range`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// JSON in headers

/** Encodes a JSON value for a header: base64url of its UTF-8 JSON text. */
export function encodeJsonHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a header written by `encodeJsonHeader`; RpcProtocol when missing or malformed. */
export function decodeJsonHeader(value: string | string[] | undefined, name: string): unknown {
  if (typeof value !== 'string' || value === '' || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw protocol(`header ${name}: missing or not base64url`);
  }
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw protocol(`header ${name}: not valid JSON`);
  }
}

// ---------------------------------------------------------------------------------------------
// model codecs

/** Validates a version from the wire. */
export function parseVersion(v: unknown, what = 'version'): Version {
  const o = asObject(v, what);
  return { hlc: int(o, 'hlc', what), node: str(o, 'node', what) };
}

/** The contract fields of a meta, in a plain object ready for JSON. */
export function toWireMeta(meta: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = {
    bucket: meta.bucket,
    key: meta.key,
    version: { hlc: meta.version.hlc, node: meta.version.node },
    tombstone: meta.tombstone,
    size: meta.size,
    etag: meta.etag,
    contentType: meta.contentType,
    userMeta: { ...meta.userMeta },
  };
  const withChecksums = meta.checksums === undefined ? out : { ...out, checksums: { ...meta.checksums } };
  const withHeaders = meta.headers === undefined ? withChecksums : { ...withChecksums, headers: { ...meta.headers } };
  return meta.parts === undefined
    ? withHeaders
    : { ...withHeaders, parts: meta.parts.map((p) => ({ bucket: p.bucket, key: p.key, version: { hlc: p.version.hlc, node: p.version.node }, size: p.size, etag: p.etag })) };
}

/** The contract fields of a record, in a plain object ready for JSON. */
export function toWireRecord(record: ObjectRecord): ObjectRecord {
  return { ...toWireMeta(record), crc32: record.crc32, storage: record.storage };
}

/** Validates an object meta from the wire. */
export function parseObjectMeta(v: unknown, what = 'meta'): ObjectMeta {
  const o = asObject(v, what);
  const meta: ObjectMeta = {
    bucket: str(o, 'bucket', what),
    key: str(o, 'key', what),
    version: parseVersion(o['version'], `${what}.version`),
    tombstone: bool(o, 'tombstone', what),
    size: int(o, 'size', what),
    etag: str(o, 'etag', what),
    contentType: str(o, 'contentType', what),
    userMeta: stringMap(o['userMeta'], `${what}.userMeta`),
  };
  const withChecksums = o['checksums'] === undefined ? meta : { ...meta, checksums: stringMap(o['checksums'], `${what}.checksums`) };
  const withHeaders = o['headers'] === undefined ? withChecksums : { ...withChecksums, headers: stringMap(o['headers'], `${what}.headers`) };
  return o['parts'] === undefined ? withHeaders : { ...withHeaders, parts: parseParts(o['parts'], `${what}.parts`) };
}

/** Validates the part list of a multipart manifest. */
function parseParts(v: unknown, what: string): PartRef[] {
  if (!Array.isArray(v)) throw protocol(`${what}: expected an array`);
  return v.map((item: unknown, i) => {
    const o = asObject(item, `${what}[${i}]`);
    return { bucket: str(o, 'bucket', what), key: str(o, 'key', what), version: parseVersion(o['version'], `${what}[${i}].version`), size: int(o, 'size', what), etag: str(o, 'etag', what) };
  });
}

/** Validates an object record from the wire. */
export function parseObjectRecord(v: unknown, what = 'record'): ObjectRecord {
  const o = asObject(v, what);
  const storage = o['storage'];
  if (storage !== 'inline' && storage !== 'blob' && storage !== 'quarantined') throw protocol(`${what}.storage: expected "inline", "blob" or "quarantined"`);
  return { ...parseObjectMeta(o, what), crc32: int(o, 'crc32', what, 0xffffffff), storage };
}

function parseWireCommit(v: unknown, what: string): WireCommit {
  const o = asObject(v, what);
  const meta = parseObjectMeta(o['meta'], `${what}.meta`);
  const b = asObject(o['body'], `${what}.body`);
  if (b['kind'] === 'staged') return { meta, body: { kind: 'staged', id: str(b, 'id', `${what}.body`) } };
  if (b['kind'] === 'inline') return { meta, body: { kind: 'inline', size: int(b, 'size', `${what}.body`, MAX_INLINE_COMMIT_BYTES) } };
  throw protocol(`${what}.body.kind: expected "staged" or "inline"`);
}

/** Body of a `commits` request: the commits as JSON, then their inline bodies back to back (`framed`). */
export function encodeCommitsRequest(commits: readonly CommitQuery[]): Buffer {
  const bodies: Uint8Array[] = [];
  const json = commits.map((c): WireCommit => {
    if (c.body.kind === 'staged') return { meta: toWireMeta(c.meta), body: { kind: 'staged', id: c.body.id } };
    bodies.push(c.body.data);
    return { meta: toWireMeta(c.meta), body: { kind: 'inline', size: c.body.data.byteLength } };
  });
  return framed({ commits: json }, bodies);
}

/** Parses a `commits` request; the inline bodies are views into `data`. */
export function decodeCommitsRequest(data: Buffer): CommitQuery[] {
  const { json, at: start } = unframe(data, 'commits');
  const raw = asObject(json, 'commits')['commits'];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_COMMIT_BATCH) throw protocol(`commits: expected 1 to ${MAX_COMMIT_BATCH} commits`);
  let at = start;
  const out = raw.map((item: unknown, i): CommitQuery => {
    const wire = parseWireCommit(item, `commits[${i}]`);
    if (wire.body.kind === 'staged') return { meta: wire.meta, body: wire.body };
    const end = at + wire.body.size;
    if (end > data.length) throw new RingstoreError('IncompleteBody', `commits[${i}]: inline body runs past the end of the request`, { index: i, size: wire.body.size });
    const body: CommitBody = { kind: 'inline', data: data.subarray(at, end) };
    at = end;
    return { meta: wire.meta, body };
  });
  if (at !== data.length) throw protocol(`commits: ${data.length - at} bytes after the last inline body`);
  return out;
}

/** Body of a `commits` answer: per commit `{applied, current}` or `{status, error}`. */
export function encodeCommitsResponse(answers: readonly (CommitResult | { status: number; error: WireError })[]): string {
  return JSON.stringify({
    answers: answers.map((a) => ('error' in a ? a : { applied: a.applied, current: { hlc: a.current.hlc, node: a.current.node } })),
  });
}

/** Parses a `commits` answer for `count` commits; errors come back as the peer's RingstoreError. */
export function decodeCommitsResponse(v: unknown, count: number, peer: string): CommitAnswer[] {
  const answers = asObject(v, 'commits answer')['answers'];
  if (!Array.isArray(answers) || answers.length !== count) throw protocol(`commits answer: expected ${count} answers`);
  return answers.map((a: unknown, i): CommitAnswer => {
    const what = `commits answer[${i}]`;
    const o = asObject(a, what);
    if (o['error'] !== undefined) return errorFromWire(int(o, 'status', what, 599), o['error'], peer);
    return parseCommitResult(o);
  });
}

/** Validates a stage answer. */
export function parseStagedBody(v: unknown): StagedBody {
  const o = asObject(v, 'staged');
  return { id: str(o, 'id', 'staged'), size: int(o, 'size', 'staged'), crc32: int(o, 'crc32', 'staged', 0xffffffff) };
}

/** Validates a commit answer. */
export function parseCommitResult(v: unknown): CommitResult {
  const o = asObject(v, 'commitResult');
  return { applied: bool(o, 'applied', 'commitResult'), current: parseVersion(o['current'], 'commitResult.current') };
}

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

/** Validates a ping answer. */
export function parsePingResult(v: unknown): PingResult {
  const o = asObject(v, 'ping');
  return { nodeId: str(o, 'nodeId', 'ping'), time: int(o, 'time', 'ping') };
}

// ---------------------------------------------------------------------------------------------
// query strings

/** Builds `path?query` from defined parameters (percent-encoded by URLSearchParams). */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.append(k, String(v));
  const s = qs.toString();
  return s === '' ? path : `${path}?${s}`;
}

/** A required query parameter, given exactly once; RpcProtocol otherwise. */
export function requireParam(params: URLSearchParams, name: string): string {
  const all = params.getAll(name);
  if (all.length !== 1 || all[0] === undefined) throw protocol(`query parameter ${name}: expected exactly one value`);
  return all[0];
}

function optionalParam(params: URLSearchParams, name: string): string | undefined {
  return params.has(name) ? requireParam(params, name) : undefined;
}

/** Most head queries in one `heads` call. */
export const MAX_HEAD_BATCH = 64;

/** One answer of a `heads` call: the head, absent, or the error the replica raised for that key. */
export type HeadAnswer = HeadResult | undefined | RingstoreError;

/** Body of a `heads` request. */
export function encodeHeadsRequest(queries: readonly HeadQuery[]): string {
  return JSON.stringify({ queries });
}

/** Parses the body of a `heads` request. */
export function parseHeadsRequest(v: unknown): HeadQuery[] {
  const raw = asObject(v, 'heads')['queries'];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_HEAD_BATCH) throw protocol(`heads.queries: expected 1 to ${MAX_HEAD_BATCH} queries`);
  return raw.map((item: unknown, i) => {
    const what = `heads.queries[${i}]`;
    const o = asObject(item, what);
    const q = { bucket: str(o, 'bucket', what), key: str(o, 'key', what) };
    return o['inlineUpTo'] === undefined ? q : { ...q, inlineUpTo: int(o, 'inlineUpTo', what) };
  });
}

/**
 * A JSON part and raw bodies in one buffer: a 4-byte big-endian length, that many bytes of
 * JSON, then the bodies back to back (the JSON says how long each one is).
 */
function framed(json: unknown, bodies: readonly Uint8Array[]): Buffer {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(text.length, 0);
  return Buffer.concat([prefix, text, ...bodies]);
}

/** The JSON part of a `framed` buffer, and where its bodies start. */
function unframe(data: Buffer, what: string): { json: unknown; at: number } {
  if (data.length < 4) throw protocol(`${what}: shorter than its length prefix`);
  const at = 4 + data.readUInt32BE(0);
  if (at > data.length) throw protocol(`${what}: truncated`);
  try {
    return { json: JSON.parse(data.toString('utf8', 4, at)) as unknown, at };
  } catch {
    throw protocol(`${what}: not valid JSON`);
  }
}

/**
 * The answer body of a `heads` call (`framed`): JSON `{answers}` (per query: `null` when absent,
 * `{record, inline?}` with the inline body's length, or `{status, error}`), then the inline
 * bodies in query order.
 */
export function encodeHeadsResponse(answers: readonly (HeadResult | undefined | { status: number; error: WireError })[]): Buffer {
  const bodies: Uint8Array[] = [];
  const json = answers.map((a) => {
    if (a === undefined) return null;
    if ('error' in a) return a;
    if (a.inlineBody === undefined) return { record: toWireRecord(a.record) };
    bodies.push(a.inlineBody);
    return { record: toWireRecord(a.record), inline: a.inlineBody.byteLength };
  });
  return framed({ answers: json }, bodies);
}

/** Parses a `heads` answer for `count` queries; errors come back as the peer's RingstoreError. */
export function decodeHeadsResponse(data: Buffer, count: number, peer: string): HeadAnswer[] {
  const { json, at: jsonEnd } = unframe(data, 'heads answer');
  const answers = asObject(json, 'heads answer')['answers'];
  if (!Array.isArray(answers) || answers.length !== count) throw protocol(`heads answer: expected ${count} answers`);
  let at = jsonEnd;
  const out = answers.map((a: unknown, i): HeadAnswer => {
    if (a === null) return undefined;
    const what = `heads answer[${i}]`;
    const o = asObject(a, what);
    if (o['error'] !== undefined) return errorFromWire(int(o, 'status', what, 599), o['error'], peer);
    const record = parseObjectRecord(o['record'], `${what}.record`);
    if (o['inline'] === undefined) return { record };
    const length = int(o, 'inline', what);
    if (at + length > data.length) throw protocol(`${what}: inline body runs past the end`);
    const inlineBody = data.subarray(at, at + length);
    at += length;
    return { record, inlineBody };
  });
  if (at !== data.length) throw protocol(`heads answer: ${data.length - at} bytes after the last inline body`);
  return out;
}

/** Request target of a read call (the range, when any, as explicit `start`/`end`). */
export function encodeReadQuery(q: ReadQuery): string {
  return withQuery(RPC_PATHS.read, {
    bucket: q.bucket,
    key: q.key,
    hlc: q.version.hlc,
    node: q.version.node,
    start: q.range?.start,
    end: q.range?.end,
  });
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

/** Number of bytes a range covers (inclusive bounds). */
export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}
