/**
 * The batched replica verbs' bodies: a `commits` call carries up to 64 commits with their inline
 * bodies, a `heads` call up to 64 lookups; each item is answered on its own (its result, or its
 * error as `{status, error}`), so one failing key never fails its neighbours. Declared as
 * endpoints in replica-endpoints.ts.
 */
import type { CommitBody, CommitResult, HeadResult, ObjectMeta, SideWrite } from '../store/types.js';
import { RingstoreError } from '../util/errors.js';
import { asObject, bool, framed, int, parseObjectMeta, parseObjectRecord, parseVersion, protocol, str, toWireMeta, toWireRecord, unframe } from './wire.js';
import { errorFromWire, errorToWire } from './wire-errors.js';

/** Largest inline body a commit may carry, and most inline bytes in one `commits` call. */
export const MAX_INLINE_COMMIT_BYTES = 16 * 1024 * 1024;

/** Most commits in one `commits` call. */
export const MAX_COMMIT_BATCH = 64;

/** Most head queries in one `heads` call. */
export const MAX_HEAD_BATCH = 64;

/** One commit as both ends hold it: metadata and the body to bind. */
export interface CommitQuery {
  readonly meta: ObjectMeta;
  readonly body: CommitBody;
  /** Hints to store with the record (a fallback's commit); absent for an owner's. */
  readonly sideWrites?: readonly SideWrite[];
}

/** One answer of a `commits` call: the commit's result, or the error the replica raised for it. */
export type CommitAnswer = CommitResult | Error;

/** Query of a head call. */
export interface HeadQuery {
  readonly bucket: string;
  readonly key: string;
  readonly inlineUpTo?: number;
}

/** One answer of a `heads` call: the head, absent, or the error the replica raised for that key. */
export type HeadAnswer = HeadResult | undefined | Error;

/** One commit of a `commits` request as JSON: the metadata and which body to bind. */
interface WireCommit {
  readonly meta: ObjectMeta;
  /** `inline`: the next `size` raw bytes after the JSON part. */
  readonly body: { readonly kind: 'staged'; readonly id: string } | { readonly kind: 'inline'; readonly size: number };
  /** Optional (older peers neither send nor read it): `[{kind: 'hint', owner}]`. */
  readonly sideWrites?: readonly SideWrite[];
}

/** Most side writes one commit may carry (one hint per owner of a key). */
const MAX_SIDE_WRITES = 16;

function parseSideWrites(v: unknown, what: string): SideWrite[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > MAX_SIDE_WRITES) throw protocol(`${what}: expected an array of at most ${MAX_SIDE_WRITES} side writes`);
  return v.map((item: unknown, i): SideWrite => {
    const o = asObject(item, `${what}[${i}]`);
    if (o['kind'] !== 'hint') throw protocol(`${what}[${i}].kind: expected "hint"`);
    return { kind: 'hint', owner: str(o, 'owner', `${what}[${i}]`) };
  });
}

/** A batch item's error as it goes on the wire. */
function wireFailure(err: Error): { status: number; error: ReturnType<typeof errorToWire>['body'] } {
  const wire = errorToWire(err);
  return { status: wire.status, error: wire.body };
}

function parseWireCommit(v: unknown, what: string): WireCommit {
  const o = asObject(v, what);
  const meta = parseObjectMeta(o['meta'], `${what}.meta`);
  const b = asObject(o['body'], `${what}.body`);
  const sideWrites = parseSideWrites(o['sideWrites'], `${what}.sideWrites`);
  const extra = sideWrites === undefined ? {} : { sideWrites };
  if (b['kind'] === 'staged') return { meta, body: { kind: 'staged', id: str(b, 'id', `${what}.body`) }, ...extra };
  if (b['kind'] === 'inline') return { meta, body: { kind: 'inline', size: int(b, 'size', `${what}.body`, MAX_INLINE_COMMIT_BYTES) }, ...extra };
  throw protocol(`${what}.body.kind: expected "staged" or "inline"`);
}

/** Body of a `commits` request: the commits as JSON, then their inline bodies back to back (`framed`). */
export function encodeCommitsRequest(commits: readonly CommitQuery[]): Buffer {
  const bodies: Uint8Array[] = [];
  const json = commits.map((c): WireCommit => {
    const extra = c.sideWrites === undefined || c.sideWrites.length === 0 ? {} : { sideWrites: c.sideWrites.map((w) => ({ kind: w.kind, owner: w.owner })) };
    if (c.body.kind === 'staged') return { meta: toWireMeta(c.meta), body: { kind: 'staged', id: c.body.id }, ...extra };
    bodies.push(c.body.data);
    return { meta: toWireMeta(c.meta), body: { kind: 'inline', size: c.body.data.byteLength }, ...extra };
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
    const extra = wire.sideWrites === undefined ? {} : { sideWrites: wire.sideWrites };
    if (wire.body.kind === 'staged') return { meta: wire.meta, body: wire.body, ...extra };
    const end = at + wire.body.size;
    if (end > data.length) throw new RingstoreError('IncompleteBody', `commits[${i}]: inline body runs past the end of the request`, { index: i, size: wire.body.size });
    const body: CommitBody = { kind: 'inline', data: data.subarray(at, end) };
    at = end;
    return { meta: wire.meta, body, ...extra };
  });
  if (at !== data.length) throw protocol(`commits: ${data.length - at} bytes after the last inline body`);
  return out;
}

/** Validates a commit answer. */
export function parseCommitResult(v: unknown): CommitResult {
  const o = asObject(v, 'commitResult');
  return { applied: bool(o, 'applied', 'commitResult'), current: parseVersion(o['current'], 'commitResult.current') };
}

/** Body of a `commits` answer: per commit `{applied, current}` or `{status, error}`. */
export function encodeCommitsResponse(answers: readonly CommitAnswer[]): string {
  return JSON.stringify({
    answers: answers.map((a) => (a instanceof Error ? wireFailure(a) : { applied: a.applied, current: { hlc: a.current.hlc, node: a.current.node } })),
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
 * The answer body of a `heads` call (`framed`): JSON `{answers}` (per query: `null` when absent,
 * `{record, inline?}` with the inline body's length, or `{status, error}`), then the inline
 * bodies in query order.
 */
export function encodeHeadsResponse(answers: readonly HeadAnswer[]): Buffer {
  const bodies: Uint8Array[] = [];
  const json = answers.map((a) => {
    if (a === undefined) return null;
    if (a instanceof Error) return wireFailure(a);
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
