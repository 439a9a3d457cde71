import { describe, expect, it } from 'vitest';
import { AUTH_SCHEME, MAX_CLOCK_SKEW_MS, signRpc, verifyRpc } from '../../../src/rpc/auth.js';
import { RingstoreError } from '../../../src/util/errors.js';

const SECRET = 'cluster-secret-for-tests';
const NOW = 1_700_000_000_000;
const request = { method: 'GET', pathWithQuery: '/rpc/v1/head?bucket=b&key=k', timestampMs: NOW, nodeId: 'node-1' };
const verifyInput = { method: 'GET', pathWithQuery: '/rpc/v1/head?bucket=b&key=k', nowMs: NOW };

function rejection(fn: () => unknown): RingstoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RingstoreError);
    return err as RingstoreError;
  }
  throw new Error('expected a rejection');
}

describe('signRpc', () => {
  it('produces "v1 <nodeId> <timestampMs> <64 hex>"', () => {
    const header = signRpc(SECRET, request);
    expect(header).toMatch(/^v1 node-1 1700000000000 [0-9a-f]{64}$/);
    expect(header.startsWith(`${AUTH_SCHEME} `)).toBe(true);
  });

  it('is deterministic and depends on every signed field', () => {
    const base = signRpc(SECRET, request);
    expect(signRpc(SECRET, request)).toBe(base);
    const mac = (h: string): string => h.split(' ')[3] ?? '';
    expect(mac(signRpc(SECRET, { ...request, method: 'POST' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, pathWithQuery: '/rpc/v1/head?bucket=b&key=j' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, timestampMs: NOW + 1 }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, nodeId: 'node-2' }))).not.toBe(mac(base));
    expect(mac(signRpc('other-secret', request))).not.toBe(mac(base));
  });

  it('upper-cases the method before signing', () => {
    expect(signRpc(SECRET, { ...request, method: 'get' })).toBe(signRpc(SECRET, request));
  });

  it('refuses node ids with spaces, empty secrets and bad timestamps', () => {
    expect(rejection(() => signRpc(SECRET, { ...request, nodeId: 'a b' })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, nodeId: '' })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc('', request)).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, timestampMs: -1 })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, timestampMs: 1.5 })).code).toBe('InvalidArgument');
  });
});

describe('verifyRpc', () => {
  it('accepts a valid header and returns the caller', () => {
    expect(verifyRpc(SECRET, signRpc(SECRET, request), verifyInput)).toEqual({ nodeId: 'node-1', timestampMs: NOW });
  });

  it('accepts skew up to the limit, in both directions', () => {
    const early = signRpc(SECRET, { ...request, timestampMs: NOW - MAX_CLOCK_SKEW_MS });
    const late = signRpc(SECRET, { ...request, timestampMs: NOW + MAX_CLOCK_SKEW_MS });
    expect(verifyRpc(SECRET, early, verifyInput).nodeId).toBe('node-1');
    expect(verifyRpc(SECRET, late, verifyInput).nodeId).toBe('node-1');
  });

  it('rejects skew beyond the limit', () => {
    const stale = signRpc(SECRET, { ...request, timestampMs: NOW - MAX_CLOCK_SKEW_MS - 1 });
    const future = signRpc(SECRET, { ...request, timestampMs: NOW + MAX_CLOCK_SKEW_MS + 1 });
    expect(rejection(() => verifyRpc(SECRET, stale, verifyInput)).code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, future, verifyInput)).code).toBe('RpcUnauthorized');
    const custom = signRpc(SECRET, { ...request, timestampMs: NOW - 2000 });
    expect(rejection(() => verifyRpc(SECRET, custom, { ...verifyInput, maxSkewMs: 1000 })).code).toBe('RpcUnauthorized');
  });

  it('rejects a wrong secret', () => {
    const err = rejection(() => verifyRpc(SECRET, signRpc('wrong-secret', request), verifyInput));
    expect(err.code).toBe('RpcUnauthorized');
    expect(err.message).toMatch(/signature/);
  });

  it('rejects a header replayed on another method, path or sender', () => {
    const header = signRpc(SECRET, request);
    expect(rejection(() => verifyRpc(SECRET, header, { ...verifyInput, method: 'POST' })).code).toBe('RpcUnauthorized');
    expect(
      rejection(() => verifyRpc(SECRET, header, { ...verifyInput, pathWithQuery: '/rpc/v1/head?bucket=b&key=other' }))
        .code,
    ).toBe('RpcUnauthorized');
    const forged = header.replace('node-1', 'node-2');
    expect(rejection(() => verifyRpc(SECRET, forged, verifyInput)).code).toBe('RpcUnauthorized');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['wrong scheme', `v2 node-1 ${NOW} ${'a'.repeat(64)}`],
    ['too few parts', `v1 node-1 ${NOW}`],
    ['too many parts', `v1 node-1 ${NOW} ${'a'.repeat(64)} extra`],
    ['non-numeric timestamp', `v1 node-1 12abc ${'a'.repeat(64)}`],
    ['short mac', `v1 node-1 ${NOW} abcd`],
    ['upper-case hex mac', `v1 node-1 ${NOW} ${'A'.repeat(64)}`],
    ['non-hex mac', `v1 node-1 ${NOW} ${'z'.repeat(64)}`],
    ['double space', `v1  node-1 ${NOW} ${'a'.repeat(64)}`],
  ])('rejects a %s header', (_name, header) => {
    const err = rejection(() => verifyRpc(SECRET, header, verifyInput));
    expect(err.code).toBe('RpcUnauthorized');
    if (header !== undefined && header.length > 64) expect(err.message).not.toContain('a'.repeat(64));
  });

  it('rejects everything when the secret is empty', () => {
    expect(rejection(() => verifyRpc('', signRpc(SECRET, request), verifyInput)).code).toBe('InvalidArgument');
  });
});
