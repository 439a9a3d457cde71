/**
 * An in-memory, seeded simulation of per-key Paxos: acceptors running the pure transitions of
 * src/consensus/acceptor.ts over a key-value "store" (record per key, last-writer-wins), clients
 * running the real conditional-write loop (src/consensus/conditional-write.ts), and a network
 * in virtual time that delays, reorders, loses and duplicates messages, while acceptors restart
 * (their state kept, as the store keeps it in the record's batch). Every client operation goes
 * into a history for the linearizability checker (linearizability.ts).
 *
 * Determinism: one event queue in virtual time, one seeded random stream; between two events
 * every microtask runs out (setImmediate), and nothing else runs, so a seed replays exactly.
 *
 * `forgetPromiseOnRestart` plants the classic acceptor bug: a restart loses the promises made.
 */
import { accept, admitPlainWrite, admitRepair, commit, prepare, type AcceptorState, type RecordView } from '../../src/consensus/acceptor.js';
import { runConditionalWrite, type AcceptorLink, type ConditionalWriteOutcome } from '../../src/consensus/conditional-write.js';
import type { WriteCondition } from '../../src/consensus/proposer.js';
import { HybridClock, compareVersions, type Version } from '../../src/util/clock.js';
import { seededRandom, type Random } from '../../src/util/random.js';
import type { HistoryOp, OpResult, RegisterOp } from './linearizability.js';

/** The value a conditional delete commits (a tombstone). */
const TOMBSTONE = '\u0000tombstone';

/** One simulated run. */
export interface PaxosSimOptions {
  readonly seed: number;
  /** Acceptors (the key's owners), default 3. */
  readonly acceptors?: number;
  readonly clients?: number;
  readonly opsPerClient?: number;
  readonly keys?: number;
  /** 'create': If-None-Match only (one winner per key); 'mixed': creates, If-Match swaps and deletes, plain writes, quorum reads. */
  readonly workload?: 'create' | 'mixed';
  /** Probability that a message is lost, and that a request is delivered twice. */
  readonly loss?: number;
  readonly duplicate?: number;
  /** One-way delay, uniform in [minDelayMs, maxDelayMs]: a wide range reorders. */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Mean ms between restarts of each acceptor (0: none); each is down for 1–5 ms. */
  readonly restartEveryMs?: number;
  /**
   * Each client's clock is off by up to this many ms. Plain writes are last-writer-wins by
   * version, so under clock offsets they are not linearizable (by design: docs/consistency.md);
   * keep `plainWrites` off when offsets are on.
   */
  readonly clockOffsetMs?: number;
  /** Whether the mixed workload has plain writes (default true). */
  readonly plainWrites?: boolean;
  readonly forgetPromiseOnRestart?: boolean;
  /** A stop to the run in virtual ms (default 20 s). */
  readonly limitMs?: number;
}

/** What a run produced. */
export interface PaxosSimRun {
  readonly history: HistoryOp[];
  /** Each acceptor's record per key at the end (after every late message was delivered). */
  readonly finalValues: Map<string, Map<string, string | null>>;
  readonly outcomes: { readonly client: string; readonly key: string; readonly outcome: ConditionalWriteOutcome; readonly startedAt: number; readonly endedAt: number }[];
  readonly endedAtMs: number;
  readonly messages: number;
}

interface StoredRecord {
  readonly version: Version;
  readonly value: string;
  /** The conditional write's request id that wrote it. */
  readonly writer?: string;
}

class EventQueue {
  readonly #events: { at: number; seq: number; fn: () => void }[] = [];
  #seq = 0;
  now = 0;

  at(delayMs: number, fn: () => void): { cancelled: boolean } {
    const handle = { cancelled: false };
    const event = { at: this.now + Math.max(0, delayMs), seq: this.#seq++, fn: () => handle.cancelled || fn() };
    let lo = 0;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#events[mid]!;
      if (e.at < event.at || (e.at === event.at && e.seq < event.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#events.splice(lo, 0, event);
    return handle;
  }

  /** Runs events in time order, letting microtasks run out after each, until `done` or the limit. */
  async run(done: () => boolean, limitMs: number): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (done()) return;
      const next = this.#events.shift();
      if (next === undefined || next.at > limitMs) return;
      this.now = next.at;
      next.fn();
    }
  }
}

class SimAcceptor {
  readonly states = new Map<string, AcceptorState<string>>();
  readonly records = new Map<string, StoredRecord>();
  up = true;
  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }

  view(key: string): RecordView | undefined {
    const r = this.records.get(key);
    return r && { version: r.version, tombstone: r.value === TOMBSTONE, etag: r.value === TOMBSTONE ? '' : r.value, writer: r.writer };
  }

  /** Writes a record under last-writer-wins. */
  write(key: string, record: StoredRecord): void {
    const held = this.records.get(key);
    if (!held || compareVersions(record.version, held.version) > 0) this.records.set(key, record);
  }
}

/** Runs one simulation to its end. */
export async function runPaxosSim(options: PaxosSimOptions): Promise<PaxosSimRun> {
  const random = seededRandom(options.seed);
  const n = options.acceptors ?? 3;
  const needed = Math.floor(n / 2) + 1;
  const loss = options.loss ?? 0;
  const duplicate = options.duplicate ?? 0;
  const minDelay = options.minDelayMs ?? 0.1;
  const maxDelay = options.maxDelayMs ?? 2;
  const limitMs = options.limitMs ?? 20_000;
  const workload = options.workload ?? 'mixed';
  const keys = Array.from({ length: options.keys ?? 1 }, (_, i) => `k${i}`);
  const queue = new EventQueue();
  const acceptors = Array.from({ length: n }, (_, i) => new SimAcceptor(`a${i}`));
  const byId = new Map(acceptors.map((a) => [a.id, a]));
  const owners = acceptors.map((a) => a.id);
  let messages = 0;
  let healed = false;

  const delay = (): number => minDelay + random.float() * (maxDelay - minDelay);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => queue.at(ms, resolve));

  /** A request to an acceptor and its reply, over the faulty network; rejects on timeout. */
  function rpc<T>(to: string, handle: (a: SimAcceptor) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timeout = queue.at(20, () => {
        settled = true;
        reject(new Error(`rpc to ${to} timed out`));
      });
      const deliver = (): void => {
        messages++;
        const acceptor = byId.get(to)!;
        if (!acceptor.up) return;
        const reply = handle(acceptor);
        if (!healed && random.float() < loss) return;
        queue.at(delay(), () => {
          if (settled) return;
          settled = true;
          timeout.cancelled = true;
          resolve(reply);
        });
      };
      if (healed || random.float() >= loss) queue.at(delay(), deliver);
      if (random.float() < duplicate) queue.at(delay(), deliver);
    });
  }

  const state = (a: SimAcceptor, key: string): AcceptorState<string> => a.states.get(key) ?? {};
  const trace = (line: string): void => {
    if (process.env['PAXOS_TRACE']) console.log(`${queue.now.toFixed(2)} ${line}`);
  };
  const linkFor = (key: string): AcceptorLink<string> => ({
    prepare: (to, ballot) =>
      rpc(to, (a) => {
        const t = prepare(state(a, key), ballot, { record: a.view(key) });
        trace(`${a.id} prepare ${ballot.hlc}@${ballot.node} → ${JSON.stringify(t.reply)}`);
        a.states.set(key, t.state);
        return t.reply;
      }),
    accept: (to, ballot, proposal) =>
      rpc(to, (a) => {
        const t = accept(state(a, key), ballot, proposal, { record: a.view(key) });
        trace(`${a.id} accept ${ballot.hlc}@${ballot.node} ${proposal.id}=${proposal.value} → ${t.reply.kind}`);
        a.states.set(key, t.state);
        return t.reply;
      }),
    commit: (to, ballot, proposal) =>
      rpc(to, (a) => {
        const t = commit(state(a, key), ballot, proposal);
        trace(`${a.id} commit ${ballot.hlc}@${ballot.node} ${proposal.id}=${proposal.value}`);
        a.states.set(key, t.state);
        if (t.applies && proposal.value !== null) a.write(key, { version: ballot, value: proposal.value, writer: proposal.id });
      }),
    catchUp: async (to, ballot, current, holders) => {
      const source = await rpc(holders[0]!, (a) => a.records.get(key));
      if (!source || compareVersions(source.version, current.version) < 0) throw new Error('the holder no longer has it');
      return rpc(to, (a) => {
        const admitted = admitRepair(state(a, key), ballot);
        trace(`${a.id} catch-up ${ballot.hlc}@${ballot.node} ${source.value} → ${admitted.kind}`);
        if (admitted.kind === 'accepted') a.write(key, source);
        return admitted;
      });
    },
  });

  /**
   * A quorum read that writes the newest record back to a quorum before it answers (ABD), so
   * reads are linearizable too. The write-back is a plain write: an owner refuses it below its
   * promise (admitPlainWrite), since completing a write the proposer did not see after its read
   * would break its condition; the read then starts again.
   */
  async function quorumRead(key: string): Promise<string | null> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const got = await gatherAll(owners.map((o) => rpc(o, (a) => a.records.get(key) ?? null)));
      if (got.length < needed) throw new Error('read: no quorum');
      let newest: StoredRecord | null = null;
      for (const r of got) if (r && (!newest || compareVersions(r.version, newest.version) > 0)) newest = r;
      if (newest) {
        const found = newest;
        const answers = await gatherAll(
          owners.map((o) =>
            rpc(o, (a) => {
              // Only a copy of exactly this version counts: a newer one means what was found is
              // superseded (by a write the finder may not be linearized after), so read again.
              const held = a.records.get(key);
              if (held) {
                const order = compareVersions(held.version, found.version);
                if (order > 0) return false;
                if (order === 0) return true;
              }
              if (admitPlainWrite(state(a, key), found.version).kind === 'reject') return false;
              a.write(key, found);
              return true;
            }),
          ),
        );
        if (answers.filter(Boolean).length < needed) {
          await sleep(1 + random.float() * 4);
          continue;
        }
      }
      return newest === null || newest.value === TOMBSTONE ? null : newest.value;
    }
    throw new Error('read repair: refused again and again');
  }

  /**
   * A plain (unconditional) write on a quorum, at a fresh version from the client's clock. An
   * owner refuses a version at or below its promise for the key (admitPlainWrite); when every
   * owner refused, the write tries again above it (a few times); otherwise it is indeterminate.
   */
  async function plainWrite(key: string, clock: HybridClock, value: string): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = clock.next();
      const answers = await gatherAll(
        owners.map((o) =>
          rpc(o, (a) => {
            const admitted = admitPlainWrite(state(a, key), version);
            if (admitted.kind === 'accepted') a.write(key, { version, value });
            return admitted;
          }),
        ),
      );
      const taken = answers.filter((r) => r.kind === 'accepted').length;
      if (taken >= needed) return true;
      // Again above the promise only when no owner took it: a copy somewhere may have been seen
      // (and, say, deleted by If-Match), and writing it again later would apply it twice.
      if (taken > 0 || answers.length < owners.length) return false;
      for (const r of answers) if (r.kind === 'reject') clock.observe(r.higher.hlc);
    }
    return false;
  }

  // Acceptor restarts: down for 1–5 ms, state kept (or, planted, promises lost).
  const restartEvery = options.restartEveryMs ?? 0;
  if (restartEvery > 0) {
    for (const a of acceptors) {
      const schedule = (): void => {
        queue.at(random.float() * 2 * restartEvery, () => {
          if (healed) return;
          a.up = false;
          trace(`${a.id} down`);
          queue.at(1 + random.float() * 4, () => {
            if (options.forgetPromiseOnRestart) {
              for (const [key, s] of a.states) {
                const { promised: _forgotten, ...kept } = s;
                a.states.set(key, kept);
              }
            }
            a.up = true;
            schedule();
          });
        });
      };
      schedule();
    }
  }

  const history: HistoryOp[] = [];
  const outcomes: PaxosSimRun['outcomes'] = [];
  const clientCount = options.clients ?? 3;
  const opsPerClient = options.opsPerClient ?? 4;
  let running = clientCount;

  async function client(c: number): Promise<void> {
    const name = `c${c}`;
    const offset = (random.float() * 2 - 1) * (options.clockOffsetMs ?? 0);
    // Microsecond "wall" ticks, so that writes a fraction of a virtual ms apart get distinct versions.
    const clock = new HybridClock(name, { now: () => Math.floor((queue.now + offset) * 1000) + 1_000_000 });
    const lastSeen = new Map<string, string | null>();
    const backoffRandom = clientRandom(random);
    await sleep(random.float() * 3);
    for (let i = 0; i < opsPerClient; i++) {
      const key = keys[Math.floor(random.float() * keys.length)]!;
      const value = `${name}.${i}`;
      const call = queue.now;
      const pick = workload === 'create' ? 0 : random.float();
      if (pick > 0.8) {
        let result: OpResult;
        try {
          const seen = await quorumRead(key);
          lastSeen.set(key, seen);
          result = { status: 'ok', value: seen };
        } catch {
          result = { status: 'unknown' };
        }
        history.push({ key, client: name, call, ret: queue.now, op: { kind: 'read' }, result });
      } else if (pick > 0.7 && (options.plainWrites ?? true)) {
        const ok = await plainWrite(key, clock, value);
        history.push({ key, client: name, call, ...(ok ? { ret: queue.now } : {}), op: { kind: 'write', value }, result: { status: ok ? 'ok' : 'unknown' } });
      } else {
        const known = lastSeen.get(key);
        const del = pick > 0.6 && known !== undefined && known !== null;
        const condition: WriteCondition = pick < 0.3 || known === undefined || known === null ? { kind: 'if-none-match' } : { kind: 'if-match', etag: known };
        const op: RegisterOp = condition.kind === 'if-none-match' ? { kind: 'put-if-none-match', value } : { kind: 'put-if-match', etag: condition.etag, value: del ? null : value };
        const outcome = await runConditionalWrite(
          { id: `${name}#${i}`, condition, value: del ? TOMBSTONE : value },
          { owners, needed, link: linkFor(key), clock, now: () => queue.now, sleep, random: backoffRandom },
        );
        outcomes.push({ client: name, key, outcome, startedAt: call, endedAt: queue.now });
        const result = resultOf(outcome);
        if (outcome.kind === 'applied') lastSeen.set(key, del ? null : value);
        if (outcome.kind === 'refused') lastSeen.set(key, outcome.current && !outcome.current.tombstone ? outcome.current.etag : null);
        history.push({ key, client: name, call, ...(result.status === 'unknown' ? {} : { ret: queue.now }), op, result });
      }
      await sleep(random.float() * 2);
    }
    running--;
  }

  for (let c = 0; c < clientCount; c++) void client(c);
  await queue.run(() => running === 0, limitMs);
  // Late messages (commits still in flight) land; then one final read per key, after everything.
  await queue.run(() => false, queue.now + 200);
  for (const a of acceptors) a.up = true;
  for (const key of keys) {
    // Everyone is up and nothing is lost any more, so the final read gets its quorum.
    let final: { call: number; value: string | null } | undefined;
    const call = queue.now;
    healed = true;
    quorumRead(key).then(
      (value) => (final = { call, value }),
      () => undefined,
    );
    await queue.run(() => final !== undefined, queue.now + 1000);
    if (final) history.push({ key, client: 'final', call: final.call, ret: queue.now, op: { kind: 'read' }, result: { status: 'ok', value: final.value } });
  }
  const finalValues = new Map(acceptors.map((a) => [a.id, new Map(keys.map((k) => [k, a.records.get(k)?.value ?? null]))]));
  return { history, finalValues, outcomes, endedAtMs: queue.now, messages };
}

/** What the client saw of an outcome, for the history. */
function resultOf(outcome: ConditionalWriteOutcome): OpResult {
  switch (outcome.kind) {
    case 'applied':
      return { status: 'ok' };
    case 'refused':
      return { status: outcome.refusal };
    case 'conflict':
      return { status: 'conflict' };
    case 'unavailable':
      return { status: outcome.maybeApplied ? 'unknown' : 'failed' };
  }
}

/** Each client's backoff draws from its own stream (seeded from the run's), as each node has its own Random. */
function clientRandom(parent: Random): Random {
  return seededRandom(Math.floor(parent.float() * 2 ** 32));
}

/** Settles every promise, keeping the values of those that resolved. */
async function gatherAll<T>(calls: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}
