import { describe, expect, it } from 'vitest';
import { AUTH_SCHEME, MAX_CLOCK_SKEW_MS, ReplayCache, STREAMED_BODY, bodyDigest, signRpc, signRpcRequest, verifyRpc } from '../../../src/rpc/auth.js';
import { RingstoreError } from '../../../src/util/errors.js';

const SECRET = 'cluster-secret-for-tests';
const NOW = 1_700_000_000_000;
const BODY = JSON.stringify({ queries: [{ bucket: 'b', key: 'k' }] });
const NONCE = 'nonce-0123456789abcdef';
const request = { method: 'POST', pathWithQuery: '/rpc/v1/heads', timestampMs: NOW, nodeId: 'node-1', nonce: NONCE, bodyDigest: bodyDigest(BODY) };
const verifyInput = { method: 'POST', pathWithQuery: '/rpc/v1/heads', nowMs: NOW, bodyDigest: bodyDigest(BODY) };

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
  it('produces "v2 <nodeId> <timestampMs> <nonce> <64 hex>"', () => {
    const header = signRpc(SECRET, request);
    expect(header).toMatch(/^v2 node-1 1700000000000 nonce-0123456789abcdef [0-9a-f]{64}$/);
    expect(header.startsWith(`${AUTH_SCHEME} `)).toBe(true);
  });

  it('draws a fresh nonce for every request, so two identical calls never share a signature', () => {
    const { nonce: _omit, ...noNonce } = request;
    const a = signRpcRequest(SECRET, noNonce);
    const b = signRpcRequest(SECRET, noNonce);
    expect(a.signature).not.toBe(b.signature);
    expect(verifyRpc(SECRET, a.header, verifyInput).signature).toBe(a.signature);
  });

  it('is deterministic and depends on every signed field, the body included', () => {
    const base = signRpc(SECRET, request);
    expect(signRpc(SECRET, request)).toBe(base);
    const mac = (h: string): string => h.split(' ')[4] ?? '';
    expect(mac(signRpc(SECRET, { ...request, method: 'GET' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, pathWithQuery: '/rpc/v1/list?bucket=b' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, timestampMs: NOW + 1 }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, nodeId: 'node-2' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, nonce: 'nonce-0123456789abcdeX' }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, bodyDigest: bodyDigest(`${BODY} `) }))).not.toBe(mac(base));
    expect(mac(signRpc(SECRET, { ...request, bodyDigest: STREAMED_BODY }))).not.toBe(mac(base));
    expect(mac(signRpc('other-secret', request))).not.toBe(mac(base));
  });

  it('upper-cases the method before signing', () => {
    expect(signRpc(SECRET, { ...request, method: 'post' })).toBe(signRpc(SECRET, request));
  });

  it('refuses node ids with spaces, empty secrets, bad timestamps, digests and nonces', () => {
    expect(rejection(() => signRpc(SECRET, { ...request, nodeId: 'a b' })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, nodeId: '' })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc('', request)).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, timestampMs: -1 })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, timestampMs: 1.5 })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, bodyDigest: 'abc' })).code).toBe('InvalidArgument');
    expect(rejection(() => signRpc(SECRET, { ...request, nonce: 'short' })).code).toBe('InvalidArgument');
  });
});

describe('verifyRpc', () => {
  it('accepts a valid header and returns the caller', () => {
    expect(verifyRpc(SECRET, signRpc(SECRET, request), verifyInput)).toMatchObject({ nodeId: 'node-1', timestampMs: NOW });
  });

  it('refuses the signed header with another body (the body is covered)', () => {
    const header = signRpc(SECRET, request);
    const other = JSON.stringify({ queries: [{ bucket: 'b', key: 'secret-key' }] });
    const err = rejection(() => verifyRpc(SECRET, header, { ...verifyInput, bodyDigest: bodyDigest(other) }));
    expect(err.code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, header, { ...verifyInput, bodyDigest: bodyDigest(undefined) })).code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, header, { ...verifyInput, bodyDigest: STREAMED_BODY })).code).toBe('RpcUnauthorized');
  });

  it('has a 60 s window', () => {
    expect(MAX_CLOCK_SKEW_MS).toBe(60_000);
  });

  it('accepts skew up to the limit, in both directions', () => {
    const early = signRpc(SECRET, { ...request, timestampMs: NOW - MAX_CLOCK_SKEW_MS });
    const late = signRpc(SECRET, { ...request, timestampMs: NOW + MAX_CLOCK_SKEW_MS });
    expect(verifyRpc(SECRET, early, verifyInput).nodeId).toBe('node-1');
    expect(verifyRpc(SECRET, late, verifyInput).nodeId).toBe('node-1');
  });

  it('rejects stale and future timestamps beyond the limit', () => {
    const stale = signRpc(SECRET, { ...request, timestampMs: NOW - MAX_CLOCK_SKEW_MS - 1 });
    const future = signRpc(SECRET, { ...request, timestampMs: NOW + MAX_CLOCK_SKEW_MS + 1 });
    expect(rejection(() => verifyRpc(SECRET, stale, verifyInput)).message).toMatch(/behind/);
    expect(rejection(() => verifyRpc(SECRET, future, verifyInput)).message).toMatch(/ahead of/);
    const custom = signRpc(SECRET, { ...request, timestampMs: NOW - 2000 });
    expect(rejection(() => verifyRpc(SECRET, custom, { ...verifyInput, maxSkewMs: 1000 })).code).toBe('RpcUnauthorized');
  });

  it('rejects a wrong secret', () => {
    const err = rejection(() => verifyRpc(SECRET, signRpc('wrong-secret', request), verifyInput));
    expect(err.code).toBe('RpcUnauthorized');
    expect(err.message).toMatch(/signature/);
  });

  it('rejects a header replayed on another method, path, sender or nonce', () => {
    const header = signRpc(SECRET, request);
    expect(rejection(() => verifyRpc(SECRET, header, { ...verifyInput, method: 'GET' })).code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, header, { ...verifyInput, pathWithQuery: '/rpc/v1/list?bucket=b' })).code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, header.replace('node-1', 'node-2'), verifyInput)).code).toBe('RpcUnauthorized');
    expect(rejection(() => verifyRpc(SECRET, header.replace(NONCE, 'nonce-0123456789abcdeY'), verifyInput)).code).toBe('RpcUnauthorized');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['old v1 scheme', `v1 node-1 ${NOW} ${'a'.repeat(64)}`],
    ['too few parts', `v2 node-1 ${NOW} ${NONCE}`],
    ['too many parts', `v2 node-1 ${NOW} ${NONCE} ${'a'.repeat(64)} extra`],
    ['non-numeric timestamp', `v2 node-1 12abc ${NONCE} ${'a'.repeat(64)}`],
    ['short nonce', `v2 node-1 ${NOW} abc ${'a'.repeat(64)}`],
    ['short mac', `v2 node-1 ${NOW} ${NONCE} abcd`],
    ['upper-case hex mac', `v2 node-1 ${NOW} ${NONCE} ${'A'.repeat(64)}`],
    ['non-hex mac', `v2 node-1 ${NOW} ${NONCE} ${'z'.repeat(64)}`],
    ['double space', `v2  node-1 ${NOW} ${NONCE} ${'a'.repeat(64)}`],
  ])('rejects a %s header', (_name, header) => {
    const err = rejection(() => verifyRpc(SECRET, header, verifyInput));
    expect(err.code).toBe('RpcUnauthorized');
    if (header !== undefined && header.length > 64) expect(err.message).not.toContain('a'.repeat(64));
  });

  it('rejects everything when the secret is empty', () => {
    expect(rejection(() => verifyRpc('', signRpc(SECRET, request), verifyInput)).code).toBe('InvalidArgument');
  });
});

describe('ReplayCache', () => {
  const sig = (i: number): string => i.toString(16).padStart(8, '0').repeat(8);

  it('admits a signature once and refuses it again within the window', () => {
    const cache = new ReplayCache();
    cache.admit(sig(1), NOW, NOW);
    expect(rejection(() => cache.check(sig(1), NOW)).message).toMatch(/replayed/);
    expect(rejection(() => cache.admit(sig(1), NOW, NOW + 10)).code).toBe('RpcUnauthorized');
    cache.admit(sig(2), NOW, NOW);
  });

  it('forgets entries once their timestamp is out of the window', () => {
    const cache = new ReplayCache({ windowMs: 1000 });
    cache.admit(sig(1), NOW, NOW);
    cache.admit(sig(2), NOW + 2500, NOW + 2500);
    expect(cache.size).toBe(1);
  });

  it('stays bounded: past its size it refuses everything up to the evicted second, replays included', () => {
    const cache = new ReplayCache({ windowMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 5; i++) cache.admit(sig(i), NOW + i * 1000, NOW + i * 1000);
    expect(cache.size).toBe(3);
    // sig(0) and sig(1) were evicted; replaying them must still fail.
    expect(rejection(() => cache.check(sig(0), NOW)).code).toBe('RpcUnauthorized');
    expect(rejection(() => cache.check(sig(1), NOW + 1000)).code).toBe('RpcUnauthorized');
    cache.admit(sig(9), NOW + 10_000, NOW + 10_000);
  });

  it('a sender whose clock runs ahead does not raise the floor for the others', () => {
    const cache = new ReplayCache({ windowMs: 60_000, maxEntries: 3 });
    cache.admit(sig(100), NOW + 59_000, NOW);
    for (let i = 0; i < 4; i++) cache.admit(sig(i), NOW + i * 1000, NOW + i * 1000);
    // The evicted buckets are the earliest seconds, not the ahead-of-time entry that arrived first.
    cache.admit(sig(50), NOW + 5000, NOW + 5000);
    expect(rejection(() => cache.check(sig(100), NOW + 59_000)).message).toMatch(/replayed/);
  });
});
