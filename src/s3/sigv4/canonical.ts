/**
 * SigV4 canonical request pieces: URI encoding as AWS defines it, the canonical URI and query,
 * canonical headers and the canonical request itself. Pure string functions shared by the
 * verifier and the client signer.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request
 */

/** The literal payload hash for an unsigned body. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string, hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const RESERVED_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;

/**
 * URI-encodes per SigV4: every byte except `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex),
 * and `/` is kept when `keepSlash` is set (object key paths).
 */
export function uriEncode(text: string, keepSlash = false): string {
  // encodeURIComponent already encodes everything but the unreserved set plus !'()*.
  let out = encodeURIComponent(text).replace(RESERVED_BY_ENCODE_URI_COMPONENT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (keepSlash) out = out.replaceAll('%2F', '/');
  return out;
}

/** `decodeURIComponent` that returns undefined for malformed input instead of throwing. */
export function tryDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The canonical URI of a raw (still percent-encoded) request path. S3 encodes the path once
 * and does not normalise it (no `.`/`..` or `//` removal), so the raw path is decoded and
 * encoded again to tolerate clients that escape more or fewer characters than SigV4.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  const decoded = tryDecode(rawPath);
  return decoded === undefined ? rawPath : uriEncode(decoded, true);
}

/**
 * Splits a raw query string into decoded `[name, value]` pairs in order. A raw `+` is a space
 * (form encoding, as S3 reads query strings and as the router's URLSearchParams does), so the
 * signature covers exactly the parameters the request is served with; SigV4 signers send a
 * literal plus as `%2B` and a space as `%20`, which mean the same either way.
 */
export function parseRawQuery(rawQuery: string): Array<[string, string]> {
  const q = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const pairs: Array<[string, string]> = [];
  if (q === '') return pairs;
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const n = name.replaceAll('+', ' ');
    const v = value.replaceAll('+', ' ');
    pairs.push([tryDecode(n) ?? n, tryDecode(v) ?? v]);
  }
  return pairs;
}

/**
 * The canonical query string: every parameter name and value URI-encoded, sorted by name then
 * value (code-unit order of the encoded strings, i.e. byte order), joined with `&`.
 * `exclude` drops a parameter (the presigned `X-Amz-Signature`).
 */
export function canonicalQuery(rawQuery: string, exclude?: string): string {
  const encoded: Array<[string, string]> = [];
  for (const [name, value] of parseRawQuery(rawQuery)) {
    if (name === exclude) continue;
    encoded.push([uriEncode(name), uriEncode(value)]);
  }
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/** Header value as SigV4 canonicalises it: trimmed, runs of spaces collapsed to one. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** Headers looked up by lower-case name (Node already lower-cases incoming header names). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The value of header `name` (lower-case) in `headers`, whatever the case of its key there. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  let v = headers[name];
  if (v === undefined) {
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === name) {
        v = headers[k];
        break;
      }
    }
  }
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/**
 * How header values are read for signing. Node hands them over as latin1 strings (one char per
 * byte received). `as-received` signs those chars as the string they are: what the AWS SDK for
 * JavaScript signed when it sent a value like `é` as the single latin1 byte. `utf8-bytes` signs
 * the bytes as sent, read as UTF-8: what curl, Go (rclone) or Python signed when they sent UTF-8.
 */
export type HeaderReading = 'as-received' | 'utf8-bytes';

/** A header value as signed under `reading`; undefined when its bytes are not valid UTF-8. */
export function readHeaderValue(value: string, reading: HeaderReading): string | undefined {
  if (reading === 'as-received') return canonicalHeaderValue(value);
  // Only ASCII blanks are trimmed and collapsed: a 0xA0 byte inside a UTF-8 sequence is not a space.
  const collapsed = value.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ');
  const bytes = Buffer.from(collapsed, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/** True when a value holds a char beyond ASCII (where the two readings differ). */
export function hasNonAscii(value: string): boolean {
  return /[^\x00-\x7f]/.test(value);
}

/**
 * The canonical headers block for `signedHeaders` (lower-case names, in the signed order):
 * `name:value\n` per header. A signed header absent from the request canonicalises as empty.
 * Undefined when a value cannot be read as `reading` asks.
 */
export function canonicalHeaders(headers: HeaderBag, signedHeaders: readonly string[], reading: HeaderReading = 'as-received'): string | undefined {
  let out = '';
  for (const name of signedHeaders) {
    const value = readHeaderValue(headerValue(headers, name) ?? '', reading);
    if (value === undefined) return undefined;
    out += `${name}:${value}\n`;
  }
  return out;
}

/** Inputs of a canonical request. */
export interface CanonicalRequestParts {
  readonly method: string;
  /** Raw path, still percent-encoded as received (or as it will be sent). */
  readonly path: string;
  /** Raw query string without `?` (may be empty). */
  readonly query: string;
  readonly headers: HeaderBag;
  /** Lower-case header names in signing order (sorted by the signer). */
  readonly signedHeaders: readonly string[];
  /** Hex SHA-256 of the body, or one of the literal markers (UNSIGNED-PAYLOAD, STREAMING-…). */
  readonly payloadHash: string;
  /** Query parameter left out of the canonical query (presigned `X-Amz-Signature`). */
  readonly excludeQuery?: string;
  /** How header values are read (default `as-received`). */
  readonly headerReading?: HeaderReading;
}

/**
 * The canonical request:
 * `METHOD\nURI\nQUERY\nHEADERS\n\nSIGNED;HEADERS\nPAYLOAD-HASH`.
 */
export function canonicalRequest(p: CanonicalRequestParts): string {
  // A value that is not UTF-8 cannot have been signed as such; it is signed as received instead.
  const headers = canonicalHeaders(p.headers, p.signedHeaders, p.headerReading) ?? canonicalHeaders(p.headers, p.signedHeaders, 'as-received') ?? '';
  return [p.method.toUpperCase(), canonicalUri(p.path), canonicalQuery(p.query, p.excludeQuery), headers, p.signedHeaders.join(';'), p.payloadHash].join('\n');
}
