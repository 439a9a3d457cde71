/**
 * A compact binary codec for one key's acceptor state, so the store can keep it beside the
 * record (in the record's batch) and an RPC can carry it. The style of antientropy/codec.ts:
 * varints for numbers, UTF-8 strings with a varint length, a flags byte saying which parts are
 * present, and a decoder that validates everything (RpcProtocol on anything unexpected,
 * trailing bytes included). The proposal value is opaque here: the caller's `ValueCodec` turns
 * it into bytes (the store's record codec, for an ObjectMeta).
 *
 * Layout: `0x01 | flags | [promised] | [accepted ballot, id, value?] | [committed ballot, id] (a
 * flag marks it a no-op) |
 * [varint count, (ballot, id)… earlier commits]`,
 * a ballot being `varint hlc | string node`, a value `varint length | bytes`.
 */
import { RingstoreError } from '../util/errors.js';
import { RECENT_COMMITS, type AcceptorState, type Accepted, type Committed, type Proposal } from './acceptor.js';
import type { Ballot } from './ballot.js';

/** Turns a proposal value into bytes and back (decode validates, throwing on bad input). */
export interface ValueCodec<V> {
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

const FORMAT = 1;
const F_PROMISED = 1;
const F_ACCEPTED = 2;
const F_ACCEPTED_VALUE = 4;
const F_COMMITTED = 8;
const F_EARLIER = 16;
const F_COMMITTED_NOOP = 32;
const KNOWN_FLAGS = F_PROMISED | F_ACCEPTED | F_ACCEPTED_VALUE | F_COMMITTED | F_EARLIER | F_COMMITTED_NOOP;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function protocol(message: string): RingstoreError {
  return new RingstoreError('RpcProtocol', `paxos state: ${message}`);
}

class Writer {
  readonly #parts: number[] = [];
  readonly #chunks: Uint8Array[] = [];

  byte(b: number): void {
    this.#parts.push(b);
  }

  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RingstoreError('InvalidArgument', `paxos state: ${n} is not a non-negative safe integer`);
    let v = n;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.#flush();
    this.#chunks.push(b);
  }

  string(s: string): void {
    this.bytes(utf8.encode(s));
  }

  ballot(b: Ballot): void {
    this.varint(b.hlc);
    this.string(b.node);
  }

  #flush(): void {
    if (this.#parts.length > 0) this.#chunks.push(Uint8Array.from(this.#parts.splice(0)));
  }

  done(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

class Reader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  byte(): number {
    const b = this.#bytes[this.#pos++];
    if (b === undefined) throw protocol('truncated');
    return b;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(n)) throw protocol('integer out of range');
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.#pos + n > this.#bytes.length) throw protocol('truncated');
    return this.#bytes.slice(this.#pos, (this.#pos += n));
  }

  string(): string {
    try {
      return fromUtf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof RingstoreError) throw err;
      throw protocol('invalid UTF-8');
    }
  }

  ballot(): Ballot {
    const hlc = this.varint();
    return { hlc, node: this.string() };
  }

  end(): void {
    if (this.#pos !== this.#bytes.length) throw protocol('trailing bytes');
  }
}

/** Encodes one key's acceptor state. */
export function encodeAcceptorState<V>(state: AcceptorState<V>, values: ValueCodec<V>): Uint8Array {
  const w = new Writer();
  w.byte(FORMAT);
  const { promised, accepted, committed, earlier } = state;
  const value = accepted?.proposal.value ?? null;
  const hasEarlier = earlier !== undefined && earlier.length > 0;
  w.byte(
    (promised ? F_PROMISED : 0) |
      (accepted ? F_ACCEPTED : 0) |
      (value !== null ? F_ACCEPTED_VALUE : 0) |
      (committed ? F_COMMITTED : 0) |
      (hasEarlier ? F_EARLIER : 0) |
      (committed?.noop ? F_COMMITTED_NOOP : 0),
  );
  if (promised) w.ballot(promised);
  if (accepted) {
    w.ballot(accepted.ballot);
    w.string(accepted.proposal.id);
    if (value !== null) w.bytes(values.encode(value));
  }
  if (committed) {
    w.ballot(committed.ballot);
    w.string(committed.id);
  }
  if (hasEarlier) {
    w.varint(earlier.length);
    for (const c of earlier) {
      if (c.noop) throw new RingstoreError('InvalidArgument', 'paxos state: a no-op among the earlier commits');
      w.ballot(c.ballot);
      w.string(c.id);
    }
  }
  return w.done();
}

/** Decodes what encodeAcceptorState wrote; throws RpcProtocol on anything else. */
export function decodeAcceptorState<V>(bytes: Uint8Array, values: ValueCodec<V>): AcceptorState<V> {
  const r = new Reader(bytes);
  const format = r.byte();
  if (format !== FORMAT) throw protocol(`unknown format ${format}`);
  const flags = r.byte();
  if ((flags & ~KNOWN_FLAGS) !== 0) throw protocol(`unknown flags ${flags}`);
  if (flags & F_ACCEPTED_VALUE && !(flags & F_ACCEPTED)) throw protocol('a value without an accepted proposal');
  if (flags & F_COMMITTED_NOOP && !(flags & F_COMMITTED)) throw protocol('a no-op mark without a commit');
  const promised = flags & F_PROMISED ? r.ballot() : undefined;
  let accepted: Accepted<V> | undefined;
  if (flags & F_ACCEPTED) {
    const ballot = r.ballot();
    const id = r.string();
    const proposal: Proposal<V> = { id, value: flags & F_ACCEPTED_VALUE ? values.decode(r.bytes()) : null };
    accepted = { ballot, proposal };
  }
  let committed: Committed | undefined;
  if (flags & F_COMMITTED) {
    const ballot = r.ballot();
    const id = r.string();
    committed = flags & F_COMMITTED_NOOP ? { ballot, id, noop: true } : { ballot, id };
  }
  const earlier: Committed[] = [];
  if (flags & F_EARLIER) {
    const count = r.varint();
    if (count === 0 || count >= RECENT_COMMITS) throw protocol(`${count} earlier commits`);
    for (let i = 0; i < count; i++) {
      const ballot = r.ballot();
      earlier.push({ ballot, id: r.string() });
    }
  }
  r.end();
  return { ...(promised ? { promised } : {}), ...(accepted ? { accepted } : {}), ...(committed ? { committed } : {}), ...(earlier.length ? { earlier } : {}) };
}

/** A ValueCodec for UTF-8 strings (tests, and values that are already serialized). */
export const stringValues: ValueCodec<string> = {
  encode: (value) => utf8.encode(value),
  decode: (bytes) => {
    try {
      return fromUtf8.decode(bytes);
    } catch {
      throw protocol('invalid UTF-8 value');
    }
  },
};
