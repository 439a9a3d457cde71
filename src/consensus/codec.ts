/**
 * A compact binary codec for one key's acceptor state, so the store can keep it beside the
 * record (in the record's batch) and an RPC can carry it. The style of antientropy/codec.ts:
 * varints for numbers, UTF-8 strings with a varint length, a flags byte saying which parts are
 * present, and a decoder that validates everything (RpcProtocol on anything unexpected,
 * trailing bytes included). The proposal value is opaque here: the caller's `BinaryCodec` turns
 * it into bytes (the store's record codec, for an ObjectMeta).
 *
 * Layout: `0x01 | flags | [promised] | [accepted ballot, id, value?] | [committed ballot, id] (a
 * flag marks it a no-op) |
 * [varint count, (ballot, id)… earlier commits]`,
 * a ballot being `varint hlc | string node`, a value `varint length | bytes`.
 */
import { BinaryReader, BinaryWriter, type BinaryCodec } from '../util/binary-codec.js';
import { RingstoreError } from '../util/errors.js';
import { RECENT_COMMITS, type AcceptorState, type Accepted, type Committed, type Proposal } from './acceptor.js';
import type { Ballot } from './ballot.js';

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

const STATE = 'paxos state';

function protocol(message: string): RingstoreError {
  return new RingstoreError('RpcProtocol', `${STATE}: ${message}`);
}

function writeBallot(w: BinaryWriter, b: Ballot): void {
  w.varint(b.hlc);
  w.string(b.node);
}

function readBallot(r: BinaryReader): Ballot {
  const hlc = r.varint();
  return { hlc, node: r.string() };
}

/** Encodes one key's acceptor state. */
export function encodeAcceptorState<V>(state: AcceptorState<V>, values: BinaryCodec<V>): Uint8Array {
  const w = new BinaryWriter();
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
  if (promised) writeBallot(w, promised);
  if (accepted) {
    writeBallot(w, accepted.ballot);
    w.string(accepted.proposal.id);
    if (value !== null) w.bytes(values.encode(value));
  }
  if (committed) {
    writeBallot(w, committed.ballot);
    w.string(committed.id);
  }
  if (hasEarlier) {
    w.varint(earlier.length);
    for (const c of earlier) {
      if (c.noop) throw new RingstoreError('InvalidArgument', 'paxos state: a no-op among the earlier commits');
      writeBallot(w, c.ballot);
      w.string(c.id);
    }
  }
  return w.done();
}

/** Decodes what encodeAcceptorState wrote; throws RpcProtocol on anything else. */
export function decodeAcceptorState<V>(bytes: Uint8Array, values: BinaryCodec<V>): AcceptorState<V> {
  const r = new BinaryReader(bytes, STATE);
  const format = r.byte();
  if (format !== FORMAT) throw protocol(`unknown format ${format}`);
  const flags = r.byte();
  if ((flags & ~KNOWN_FLAGS) !== 0) throw protocol(`unknown flags ${flags}`);
  if (flags & F_ACCEPTED_VALUE && !(flags & F_ACCEPTED)) throw protocol('a value without an accepted proposal');
  if (flags & F_COMMITTED_NOOP && !(flags & F_COMMITTED)) throw protocol('a no-op mark without a commit');
  const promised = flags & F_PROMISED ? readBallot(r) : undefined;
  let accepted: Accepted<V> | undefined;
  if (flags & F_ACCEPTED) {
    const ballot = readBallot(r);
    const id = r.string();
    const proposal: Proposal<V> = { id, value: flags & F_ACCEPTED_VALUE ? values.decode(r.bytes()) : null };
    accepted = { ballot, proposal };
  }
  let committed: Committed | undefined;
  if (flags & F_COMMITTED) {
    const ballot = readBallot(r);
    const id = r.string();
    committed = flags & F_COMMITTED_NOOP ? { ballot, id, noop: true } : { ballot, id };
  }
  const earlier: Committed[] = [];
  if (flags & F_EARLIER) {
    const count = r.varint();
    if (count === 0 || count >= RECENT_COMMITS) throw protocol(`${count} earlier commits`);
    for (let i = 0; i < count; i++) {
      const ballot = readBallot(r);
      earlier.push({ ballot, id: r.string() });
    }
  }
  r.end();
  return { ...(promised ? { promised } : {}), ...(accepted ? { accepted } : {}), ...(committed ? { committed } : {}), ...(earlier.length ? { earlier } : {}) };
}

/** A value codec for UTF-8 strings (tests, and values that are already serialized). */
export const stringValues: BinaryCodec<string> = {
  encode: (value) => utf8.encode(value),
  decode: (bytes) => {
    try {
      return fromUtf8.decode(bytes);
    } catch {
      throw protocol('invalid UTF-8 value');
    }
  },
};
