/**
 * The shared vocabulary of the RPC wire format (version 1): validators, the object-model codecs,
 * JSON in headers, framing and query strings. Endpoints (replica-endpoints.ts, ping.ts, and those
 * subsystems declare beside their code) build their codecs from these pieces.
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
import type { ByteRange, ObjectMeta, ObjectRecord, PartRef } from '../store/types.js';

/** Names of the ringstore-specific headers (lower case, as node and undici expose them). */
export const RPC_HEADERS = {
  /** Response of read: base64url JSON `ObjectRecord`. */
  record: 'x-ringstore-record',
  /** Response of a streamed call: the number of body bytes that will follow, when the server knows it. */
  bodyLength: 'x-ringstore-length',
} as const;

/** Largest JSON request body a server accepts (list options, head queries, …). */
export const MAX_JSON_REQUEST_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// validation helpers

/** An RpcProtocol error (a malformed request or answer). */
export function protocol(message: string, details: Record<string, unknown> = {}): RingstoreError {
  return new RingstoreError('RpcProtocol', message, details);
}

/** `v` as a plain object; RpcProtocol otherwise. `what` names it in the message. */
export function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw protocol(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

/** A required string field. */
export function str(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw protocol(`${what}.${field}: expected a string`);
  return v;
}

/** An optional string field. */
export function optStr(o: Record<string, unknown>, field: string, what: string): string | undefined {
  return o[field] === undefined ? undefined : str(o, field, what);
}

/** A required integer field in [0, max]. */
export function int(o: Record<string, unknown>, field: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw protocol(`${what}.${field}: expected an integer in [0, ${max}]`);
  }
  return v;
}

/** A required boolean field. */
export function bool(o: Record<string, unknown>, field: string, what: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') throw protocol(`${what}.${field}: expected a boolean`);
  return v;
}

/** A string-to-string map. */
export function stringMap(v: unknown, what: string): Record<string, string> {
  const o = asObject(v, what);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== 'string') throw protocol(`${what}.${k}: expected a string`);
    out[k] = val;
  }
  return out;
}

/** A non-negative integer query parameter. */
export function parseIntParam(raw: string, name: string): number {
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

/** An optional query parameter, given at most once. */
export function optionalParam(params: URLSearchParams, name: string): string | undefined {
  return params.has(name) ? requireParam(params, name) : undefined;
}

/** Parses a JSON body (RpcProtocol when it is not JSON). */
export function parseJson(data: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as unknown;
  } catch {
    throw protocol(`${what}: not valid JSON`);
  }
}

/**
 * A JSON part and raw bodies in one buffer: a 4-byte big-endian length, that many bytes of
 * JSON, then the bodies back to back (the JSON says how long each one is).
 */
export function framed(json: unknown, bodies: readonly Uint8Array[]): Buffer {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(text.length, 0);
  return Buffer.concat([prefix, text, ...bodies]);
}

/** The JSON part of a `framed` buffer, and where its bodies start. */
export function unframe(data: Buffer, what: string): { json: unknown; at: number } {
  if (data.length < 4) throw protocol(`${what}: shorter than its length prefix`);
  const at = 4 + data.readUInt32BE(0);
  if (at > data.length) throw protocol(`${what}: truncated`);
  try {
    return { json: JSON.parse(data.toString('utf8', 4, at)) as unknown, at };
  } catch {
    throw protocol(`${what}: not valid JSON`);
  }
}

/** Number of bytes a range covers (inclusive bounds). */
export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}
