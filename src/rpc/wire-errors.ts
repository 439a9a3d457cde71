/**
 * Errors on the wire. A failing RPC answers with an HTTP status and the JSON body
 * `{code, message, details}`; the client turns it back into a `RingstoreError` with the same
 * code, so a NoSuchKey from a remote replica is indistinguishable from a local one.
 */
import { RingstoreError, type ErrorCode } from '../util/errors.js';

/** The JSON body of every RPC error response. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/**
 * HTTP status per error code. Typed as a full `Record<ErrorCode, …>` on purpose: adding a code
 * to util/errors.ts fails the typecheck here until it gets a status.
 */
export const RPC_ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  NoSuchKey: 404,
  NoSuchBucket: 404,
  BucketNotEmpty: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketAlreadyExists: 409,
  NoSuchUpload: 404,
  InvalidPart: 400,
  EntityTooSmall: 400,
  QuorumNotReached: 503,
  ServiceUnavailable: 503,
  ClockSkew: 503,
  Refilling: 503,
  ChecksumMismatch: 400,
  BadDigest: 400,
  IncompleteBody: 400,
  RpcUnauthorized: 401,
  RpcProtocol: 400,
  RpcTimeout: 504,
  PeerUnavailable: 503,
  StoreClosed: 503,
  CorruptBody: 500,
  InsufficientStorage: 507,
  InvalidConfig: 500,
  InvalidArgument: 400,
};

/** The code a server sends for an error that is not a RingstoreError (a bug on that node). */
export const INTERNAL_ERROR_CODE = 'InternalError';

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(RPC_ERROR_STATUS, code);
}

/** Details made safe for JSON (drops what cannot be serialized rather than failing the answer). */
function jsonSafe(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    const text = JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Status and JSON body for any thrown value. Non-RingstoreErrors become 500 InternalError. */
export function errorToWire(err: unknown): { status: number; body: WireError } {
  if (err instanceof RingstoreError) {
    return {
      status: RPC_ERROR_STATUS[err.code],
      body: { code: err.code, message: err.message, details: jsonSafe(err.details) },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { code: INTERNAL_ERROR_CODE, message, details: {} } };
}

/**
 * Rebuilds the error a peer answered with. `peer` (its node id) is added to the details. A body
 * that is not a WireError becomes RpcProtocol; a remote internal error (or a code this node does
 * not know) becomes ServiceUnavailable, since that replica cannot serve the call.
 */
export function errorFromWire(status: number, body: unknown, peer: string): RingstoreError {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    const code = o['code'];
    const message = typeof o['message'] === 'string' ? o['message'] : '';
    const rawDetails = o['details'];
    const details = typeof rawDetails === 'object' && rawDetails !== null && !Array.isArray(rawDetails) ? (rawDetails as Record<string, unknown>) : {};
    if (isErrorCode(code)) return new RingstoreError(code, message, { ...details, peer });
    if (typeof code === 'string') {
      return new RingstoreError('ServiceUnavailable', `peer ${peer} failed: ${code}: ${message}`, {
        ...details,
        peer,
        status,
        remoteCode: code,
      });
    }
  }
  return new RingstoreError('RpcProtocol', `peer ${peer} answered HTTP ${status} without an rpc error body`, {
    peer,
    status,
  });
}
