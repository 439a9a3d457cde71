/**
 * Node-to-node request authentication with the shared cluster secret.
 *
 * Every RPC request carries `x-ringstore-auth: v1 <nodeId> <timestampMs> <hex-hmac>`, where the
 * HMAC-SHA256 (keyed by the cluster secret) covers `METHOD\npath-with-query\ntimestampMs\nnodeId`.
 * The server recomputes it, compares in constant time and rejects a timestamp more than
 * `MAX_CLOCK_SKEW_MS` away from its own clock.
 *
 * Known limits, by design for a trusted LAN / loopback network:
 * - The body and the response are not covered: whoever can modify traffic in flight can alter
 *   payloads. Run the RPC port behind TLS (or a WireGuard/IPsec link) on untrusted networks.
 * - A captured request can be replayed within the skew window (there is no nonce cache).
 *   Replays are mostly harmless here: commits are last-writer-wins and idempotent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RingstoreError } from '../util/errors.js';

/** The request header carrying the credentials. */
export const AUTH_HEADER = 'x-ringstore-auth';

/** The scheme tag of the current signature format. */
export const AUTH_SCHEME = 'v1';

/** Largest accepted difference between the sender's timestamp and the receiver's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The request facts a signature covers. */
export interface RpcSignInput {
  /** HTTP method; upper-cased before signing. */
  readonly method: string;
  /** The request target exactly as sent on the wire (`/rpc/v1/read?bucket=…`). */
  readonly pathWithQuery: string;
  /** Sender's wall clock in ms. */
  readonly timestampMs: number;
  /** The sending node's id (printable ASCII, no spaces). */
  readonly nodeId: string;
}

/** What the receiver checks a request against. */
export interface RpcVerifyInput {
  readonly method: string;
  readonly pathWithQuery: string;
  /** The receiver's wall clock in ms. */
  readonly nowMs: number;
  /** Defaults to `MAX_CLOCK_SKEW_MS`. */
  readonly maxSkewMs?: number;
}

/** A verified sender. */
export interface RpcCaller {
  readonly nodeId: string;
  readonly timestampMs: number;
}

const NODE_ID_RE = /^[\x21-\x7e]{1,256}$/;
const TIMESTAMP_RE = /^\d{1,16}$/;
const HMAC_RE = /^[0-9a-f]{64}$/;

function stringToSign(input: RpcSignInput): string {
  return `${input.method.toUpperCase()}\n${input.pathWithQuery}\n${input.timestampMs}\n${input.nodeId}`;
}

function hmacHex(secret: string, input: RpcSignInput): string {
  return createHmac('sha256', secret).update(stringToSign(input), 'utf8').digest('hex');
}

/** Computes the `x-ringstore-auth` header value for one request. */
export function signRpc(secret: string, input: RpcSignInput): string {
  if (secret.length === 0) throw new RingstoreError('InvalidArgument', 'rpc secret is empty');
  if (!NODE_ID_RE.test(input.nodeId)) {
    throw new RingstoreError('InvalidArgument', 'node id must be 1-256 printable ASCII characters without spaces', {
      nodeId: input.nodeId,
    });
  }
  if (!Number.isSafeInteger(input.timestampMs) || input.timestampMs < 0) {
    throw new RingstoreError('InvalidArgument', 'rpc timestamp must be a non-negative integer', {
      timestampMs: input.timestampMs,
    });
  }
  return `${AUTH_SCHEME} ${input.nodeId} ${input.timestampMs} ${hmacHex(secret, input)}`;
}

function unauthorized(message: string, details: Record<string, unknown> = {}): RingstoreError {
  return new RingstoreError('RpcUnauthorized', message, details);
}

/**
 * Checks an `x-ringstore-auth` header value. Returns the caller, or throws RpcUnauthorized for a
 * missing, malformed, wrongly signed or stale header. The message never echoes the signature.
 */
export function verifyRpc(secret: string, header: string | undefined, input: RpcVerifyInput): RpcCaller {
  if (secret.length === 0) throw new RingstoreError('InvalidArgument', 'rpc secret is empty');
  if (header === undefined || header === '') throw unauthorized(`missing ${AUTH_HEADER} header`);
  const parts = header.split(' ');
  const [scheme, nodeId, ts, mac] = parts;
  if (parts.length !== 4 || scheme !== AUTH_SCHEME) {
    throw unauthorized(`malformed ${AUTH_HEADER} header; expected "${AUTH_SCHEME} <nodeId> <timestampMs> <hmac>"`);
  }
  if (nodeId === undefined || !NODE_ID_RE.test(nodeId)) throw unauthorized('malformed node id in auth header');
  if (ts === undefined || !TIMESTAMP_RE.test(ts)) throw unauthorized('malformed timestamp in auth header');
  if (mac === undefined || !HMAC_RE.test(mac)) throw unauthorized('malformed signature in auth header');

  const timestampMs = Number(ts);
  const skew = Math.abs(input.nowMs - timestampMs);
  const maxSkewMs = input.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  if (skew > maxSkewMs) {
    throw unauthorized(`request timestamp is ${skew} ms away from this node's clock (max ${maxSkewMs} ms)`, {
      nodeId,
      skewMs: skew,
    });
  }

  const expected = Buffer.from(
    hmacHex(secret, { method: input.method, pathWithQuery: input.pathWithQuery, timestampMs, nodeId }),
    'hex',
  );
  const given = Buffer.from(mac, 'hex');
  // Both are 32 bytes here (HMAC_RE checked the length), as timingSafeEqual requires.
  if (!timingSafeEqual(expected, given)) {
    throw unauthorized('bad request signature (wrong cluster secret?)', { nodeId });
  }
  return { nodeId, timestampMs };
}
