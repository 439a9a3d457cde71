/**
 * A seeded deterministic simulation of a whole cluster in one process: three nodes (startNode,
 * the real composition root) on one in-memory transport, behind a fault-injecting network
 * (sim-net.ts), on virtual time (virtual-clock.ts), driven by a workload of PUTs, overwrites,
 * DELETEs and quorum GETs whose every result is checked against the client's own history of
 * acknowledged writes (write-history.ts).
 *
 * Determinism: with MemoryStore, everything a node does is either synchronous, a microtask, or
 * a virtual timer; the driver lets all microtasks run out (one event-loop turn) before it fires
 * the next timer, and freezes virtual time while real I/O runs (a node's sockets opening and
 * closing: nothing else can move then, as every other task waits on a virtual timer). Random
 * choices come from streams seeded by the seed. Same seed, same schedule, same outcome: the
 * run's trace digest says so. With LevelDB stores (`store: 'level'`), store calls are real I/O
 * whose completions race: virtual time still stops while any is in flight, so the schedule
 * (operations, faults and their virtual times) replays, but the interleaving of concurrent store
 * calls, and hence the outcome, may differ.
 *
 * Extending: a fault is a `SimFault` (inject one episode, return how to heal it) registered in
 * FAULTS under a name `faults` can select; a check is a `SimCheck` (sees every read, may add
 * violations at the end) passed in `checks`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startNode, type RunningNode } from '../../src/node.js';
import { MemoryTransport } from '../../src/rpc/transport.js';
import { LevelStore } from '../../src/store/level-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { LocalStore } from '../../src/store/types.js';
import { sleep } from '../../src/util/clock.js';
import { isErrorCode } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { seededRandom, type Random } from '../../src/util/random.js';
import type { ConfigOverrides } from './config.js';
import { SimNetwork } from './sim-net.js';
import { SIM_EPOCH_MS, simNodeConfig } from './sim.js';
import { OffsetClock, VirtualClock, realTime, type TimerGroup } from './virtual-clock.js';
import { ABSENT, WriteHistory, md5Hex, sha256Hex, type Observed, type Violation } from './write-history.js';

/** Fault kinds `faults` can name. */
export type FaultName = 'net' | 'crash' | 'pause' | 'clock' | 'wipe' | 'corrupt';

/**
 * The faults today's code survives with zero violations: CI runs these. `wipe` and `corrupt`
 * need self-healing (hinted handoff, anti-entropy) to keep every acknowledged write; they join
 * when HEALING_IN_CI is true (HEALING_FAULTS).
 */
export const SURVIVABLE_FAULTS: readonly FaultName[] = ['net', 'crash', 'pause', 'clock'];

/**
 * Faults only self-healing survives: a disk lost (`wipe`), a flipped byte (`corrupt`). The lead
 * flips HEALING_IN_CI to true once the anti-entropy worker runs in node.ts (with hinted handoff):
 * CI then runs them too, and every run (`healing` on by default) ends with the convergence check.
 */
export const HEALING_FAULTS: readonly FaultName[] = ['wipe', 'corrupt'];
export const HEALING_IN_CI = true;

/** What CI runs: SURVIVABLE_FAULTS, plus HEALING_FAULTS once HEALING_IN_CI. */
export const CI_FAULTS: readonly FaultName[] = HEALING_IN_CI ? [...SURVIVABLE_FAULTS, ...HEALING_FAULTS] : SURVIVABLE_FAULTS;

/** Anti-entropy interval in a healing run: short, so that passes complete in the settle time. */
export const SIM_ANTI_ENTROPY_MS = 1000;

export const ALL_FAULTS: readonly FaultName[] = ['net', 'crash', 'pause', 'clock', 'wipe', 'corrupt'];

/** Options of one simulated run. */
export interface SimOptions {
  readonly seed: number;
  /** Fault kinds injected; CI_FAULTS by default, [] for a fault-free run. */
  readonly faults?: readonly string[];
  /** Operations in all (default 60), spread over `clients` concurrent clients (default 3). */
  readonly ops?: number;
  readonly clients?: number;
  /** Keys the workload touches (default 4: few keys, many overwrites). */
  readonly keys?: number;
  /** Config laid over every node's (e.g. a planted R=W=1). */
  readonly overrides?: ConfigOverrides;
  /** 'memory' (deterministic) or 'level' (LevelDB in a temp dir; the schedule replays, not the interleaving). */
  readonly store?: 'memory' | 'level';
  /** Extra checks beside the acknowledged-write checker (their atEnd runs before the convergence check's). */
  readonly checks?: readonly SimCheck[];
  /** Keep a line per event in the result (for a failing seed's replay). */
  readonly trace?: boolean;
  /**
   * The nodes heal themselves (anti-entropy on, every SIM_ANTI_ENTROPY_MS): the run settles long
   * enough for passes to complete and ends with the `convergence` check. Default HEALING_IN_CI;
   * off whenever the overrides turn antiEntropy.enabled off.
   */
  readonly healing?: boolean;
}

/** One simulated node: its store and process come and go, its identity and clock stay. */
export interface SimNode {
  readonly id: string;
  readonly index: number;
  store: LocalStore;
  /** The running process, undefined while crashed. */
  running: RunningNode | undefined;
  /** The process's timers (killed at a crash, held during a pause). */
  timers: TimerGroup;
  /** The node's wall clock: virtual time plus its offset. */
  readonly clock: OffsetClock;
  /** Bumped at every crash: an operation that saw it change lost its gateway mid-way. */
  epoch: number;
}

/** What faults and checks work with. */
export interface SimContext {
  readonly seed: number;
  readonly clock: VirtualClock;
  /** The fault schedule's random stream (the workload has its own). */
  readonly random: Random;
  readonly net: SimNetwork;
  readonly transport: MemoryTransport;
  readonly nodes: readonly SimNode[];
  readonly history: WriteHistory;
  /**
   * Copies lost by a wipe or corrupt fault and not yet restored. The system promises to survive
   * one lost copy of a key at a time (docs/testing.md, "The fault bound"), so a wipe or corrupt
   * is scheduled only when every earlier one has settled: the wiped node is back and has
   * finished its refill pass, the corrupted copy was repaired (or overwritten).
   */
  readonly losses: { readonly description: string; settled(): boolean }[];
  /** Largest clock offset the nodes accept (cluster.maxClockOffsetMs). */
  readonly clockBoundMs: number;
  readonly bucket: string;
  log(line: string): void;
  /** Kills a node's process (its timers, its calls in flight); the store keeps what it held. */
  crash(node: SimNode): Promise<void>;
  /** Starts a crashed node again, on its old store or (wipe) an empty one. */
  restart(node: SimNode, options: { wipe: boolean }): Promise<void>;
  /** Reads a key through a node's coordinator, as a GET would. */
  read(node: SimNode, key: string): Promise<Observed>;
}

/** One fault episode under way. */
export interface FaultEpisode {
  readonly description: string;
  heal(): Promise<void>;
}

/** A kind of fault. */
export interface SimFault {
  /** Starts one episode, or returns undefined when none applies now (say, every node is down). */
  inject(ctx: SimContext): Promise<FaultEpisode | undefined>;
}

/** A check of a run. */
export interface SimCheck {
  readonly name: string;
  /** Sees every successful read (no write of the key in flight); returns a violation or undefined. */
  onRead?(ctx: SimContext, key: string, seen: Observed): Violation | undefined;
  /** Runs once every fault is healed and the cluster has settled. */
  atEnd?(ctx: SimContext): Promise<Violation[]>;
}

/** The outcome of one run. */
export interface SimResult {
  readonly seed: number;
  readonly violations: Violation[];
  readonly counts: Record<string, number>;
  /** Every fault episode, with its virtual time. */
  readonly faults: string[];
  /** Digest of every event in order: equal for two runs of one seed (MemoryStore). */
  readonly digest: string;
  readonly virtualMs: number;
  readonly timersFired: number;
  readonly trace?: string[];
}

/** Lookups a read makes when the version found is overwritten before its body opens (the S3 GET's ATTEMPTS). */
const READ_ATTEMPTS = 3;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random.float() * items.length)]!;
const between = (random: Random, lo: number, hi: number): number => lo + Math.floor(random.float() * (hi - lo + 1));

/** The first wipe or corrupt still unsettled (pruning the settled ones), or undefined. */
function unsettledLoss(ctx: SimContext): string | undefined {
  for (let i = ctx.losses.length - 1; i >= 0; i--) if (ctx.losses[i]!.settled()) ctx.losses.splice(i, 1);
  return ctx.losses[0]?.description;
}

/** The fault kinds by name. Add one here to make it selectable. */
export const FAULTS: Record<string, SimFault> = {
  net: {
    async inject(ctx) {
      const { net, random, nodes } = ctx;
      const ids = nodes.map((n) => n.id);
      const kind = pick(random, ['partition', 'one-way', 'drop', 'delay', 'duplicate'] as const);
      const a = pick(random, ids);
      const b = pick(
        random,
        ids.filter((id) => id !== a),
      );
      let description: string;
      if (kind === 'partition') {
        net.partition(
          [a],
          ids.filter((id) => id !== a),
        );
        description = `partition ${a} | rest`;
      } else if (kind === 'one-way') {
        net.setLink(a, b, { cut: true });
        description = `one-way cut ${a} -> ${b}`;
      } else if (kind === 'drop') {
        const drop = between(random, 5, 30) / 100;
        net.setAll({ drop });
        description = `drop ${drop} everywhere`;
      } else if (kind === 'delay') {
        const delayMs = between(random, 10, 300);
        net.setAll({ delayMs });
        description = `delay up to ${delayMs} ms everywhere`;
      } else {
        net.setAll({ duplicate: 0.3, delayMs: 20 });
        description = 'duplicate 0.3 everywhere';
      }
      return { description, heal: async () => net.healAll() };
    },
  },
  crash: {
    async inject(ctx) {
      const up = ctx.nodes.filter((n) => n.running !== undefined);
      if (up.length < ctx.nodes.length) return undefined;
      const node = pick(ctx.random, up);
      await ctx.crash(node);
      return { description: `crash ${node.id} (state kept)`, heal: () => ctx.restart(node, { wipe: false }) };
    },
  },
  wipe: {
    async inject(ctx) {
      const up = ctx.nodes.filter((n) => n.running !== undefined);
      if (up.length < ctx.nodes.length || unsettledLoss(ctx)) return undefined;
      const node = pick(ctx.random, up);
      await ctx.crash(node);
      ctx.losses.push({ description: `${node.id} wiped`, settled: () => node.running !== undefined && !node.running.refilling() });
      return { description: `crash ${node.id} and wipe its disk`, heal: () => ctx.restart(node, { wipe: true }) };
    },
  },
  pause: {
    async inject(ctx) {
      const up = ctx.nodes.filter((n) => n.running !== undefined);
      if (up.length === 0) return undefined;
      const node = pick(ctx.random, up);
      const forMs = between(ctx.random, 100, 3000);
      const until = ctx.clock.now() + forMs;
      node.timers.heldUntil = until;
      ctx.net.pausedUntil.set(node.id, until);
      return { description: `pause ${node.id} for ${forMs} ms`, heal: async () => undefined };
    },
  },
  clock: {
    async inject(ctx) {
      const node = pick(ctx.random, ctx.nodes);
      // Within the bound: 0.4 of it either way keeps every pair of clocks within 0.8 of it.
      const limit = Math.floor(ctx.clockBoundMs * 0.4);
      const offset = between(ctx.random, -limit, limit);
      node.clock.offsetMs = offset;
      return {
        description: `clock of ${node.id} ${offset >= 0 ? '+' : ''}${offset} ms`,
        heal: async () => {
          node.clock.offsetMs = 0;
        },
      };
    },
  },
  corrupt: {
    async inject(ctx) {
      const node = pick(ctx.random, ctx.nodes);
      const keys = ctx.history.keys();
      if (!(node.store instanceof MemoryStore) || keys.length === 0 || unsettledLoss(ctx)) return undefined;
      const key = pick(ctx.random, keys);
      const store = node.store;
      try {
        store.corruptForTest(ctx.bucket, key, 0);
      } catch {
        return undefined;
      }
      // Settled once repaired, overwritten, or the node's disk was replaced (wiped).
      ctx.losses.push({ description: `${key} corrupt on ${node.id}`, settled: () => node.store !== store || !store.isDamagedForTest(ctx.bucket, key) });
      return { description: `flip a byte of ${key}'s body on ${node.id}`, heal: async () => undefined };
    },
  },
};

/** The acknowledged-write checker: every read obeys the history; at the end every key reads right through every node. */
export const acknowledgedWrites: SimCheck = {
  name: 'acknowledged-writes',
  onRead: (ctx, key, seen) => ctx.history.violation(key, seen),
  async atEnd(ctx) {
    const found: Violation[] = [];
    for (const key of ctx.history.keys()) {
      for (const node of ctx.nodes) {
        let seen: Observed;
        try {
          seen = await ctx.read(node, key);
        } catch (err) {
          found.push({ kind: 'lost-write', key, message: `${key}: unreadable through ${node.id} after every fault healed: ${String(err)}` });
          continue;
        }
        const v = ctx.history.violation(key, seen);
        // Healed and settled: an old value now is no longer a stale read but a lost write.
        if (v) found.push(v.kind === 'stale-read' || v.kind === 'phantom-read' ? { ...v, kind: 'lost-write', message: `at the end, via ${node.id}: ${v.message}` } : v);
      }
    }
    return found;
  },
};

/**
 * After healing, every owner's own copy of every key agrees: the same version, or all absent or
 * a tombstone (a GC'd tombstone and none are the same). With N equal to the node count (3 of 3),
 * every node owns every key. Reads the stores directly, not through a coordinator.
 */
export const convergence: SimCheck = {
  name: 'convergence',
  async atEnd(ctx) {
    const found: Violation[] = [];
    for (const key of ctx.history.keys()) {
      const copies: string[] = [];
      for (const node of ctx.nodes) {
        const held = await node.store.head(ctx.bucket, key);
        const record = held?.record;
        const copy = record === undefined || record.tombstone ? 'absent' : `${record.version.hlc}/${record.version.node}${record.storage === 'quarantined' ? ' quarantined' : ''}`;
        copies.push(`${node.id}: ${copy}`);
      }
      const distinct = new Set(copies.map((c) => c.slice(c.indexOf(':') + 2)));
      if (distinct.size > 1) found.push({ kind: 'diverged', key, message: `${key}: owners still disagree after healing (${copies.join(', ')})` });
    }
    return found;
  },
};

/** The command that replays one seed. */
export function replayCommand(options: SimOptions): string {
  const faults = options.faults ?? CI_FAULTS;
  const extra = options.overrides?.replication?.writeQuorum !== undefined ? ` --w ${options.overrides.replication.writeQuorum} --r ${options.overrides.replication.readQuorum ?? 2}` : '';
  return `npm run sim -- --seed ${options.seed} --faults ${faults.join(',') || 'none'}${options.store === 'level' ? ' --store level' : ''}${extra} --trace`;
}

/** A store proxy counting calls in flight, so virtual time stops while real I/O runs. */
function countingStore(store: LocalStore, real: { pending: number }): LocalStore {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        real.pending++;
        return result.finally(() => real.pending--);
      };
    },
  });
}

/**
 * Runs `main` on virtual time: lets every microtask run out, then fires the next timer, until
 * `main` settles. Time stands still while real I/O is counted in `real.pending`.
 */
async function drive<T>(clock: VirtualClock, real: { pending: number }, main: Promise<T>, limitMs: number): Promise<T> {
  let done = false;
  main.then(
    () => (done = true),
    () => (done = true),
  );
  const start = clock.now();
  let realSince: number | undefined;
  for (;;) {
    await realTime.turn();
    if (done) return main;
    if (real.pending > 0) {
      realSince ??= Date.now();
      if (Date.now() - realSince > 30_000) throw new Error('simulation stuck: real I/O did not finish in 30 s');
      continue;
    }
    realSince = undefined;
    await realTime.turn();
    if (done) return main;
    if (real.pending > 0) continue;
    if (!clock.step()) throw new Error('simulation deadlocked: nothing runs and no timer is pending');
    if (clock.now() - start > limitMs) throw new Error(`simulation did not finish within ${limitMs} virtual ms`);
  }
}

/** Runs one seed and returns what the checks found. */
export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const seed = options.seed;
  const faultNames = options.faults ?? CI_FAULTS;
  for (const name of faultNames) if (!(name in FAULTS)) throw new Error(`unknown fault ${name} (known: ${Object.keys(FAULTS).join(', ')})`);
  const clock = new VirtualClock(SIM_EPOCH_MS);
  const restoreGlobals = clock.installGlobals();
  const real = { pending: 0 };
  const hash = createHash('sha256');
  const trace: string[] = [];
  const faultLog: string[] = [];
  const counts: Record<string, number> = {};
  const count = (what: string): void => {
    counts[what] = (counts[what] ?? 0) + 1;
  };
  const log = (line: string): void => {
    const entry = `${clock.now() - SIM_EPOCH_MS} ${line}`;
    hash.update(entry + '\n');
    if (options.trace) trace.push(entry);
  };
  const dirs: string[] = [];
  const healing = (options.healing ?? HEALING_IN_CI) && options.overrides?.antiEntropy?.enabled !== false;
  const overrides: ConfigOverrides = {
    ...options.overrides,
    // Without healing, anti-entropy stays off, so a run is what it was before node.ts ran it.
    antiEntropy: healing ? { enabled: true, intervalMs: SIM_ANTI_ENTROPY_MS, ...options.overrides?.antiEntropy } : { enabled: false, ...options.overrides?.antiEntropy },
    cluster: { pingIntervalMs: 500, downAfterMisses: 2, ...options.overrides?.cluster },
    replication: { factor: 3, readQuorum: 2, writeQuorum: 2, readRepairPercent: 0, ...options.overrides?.replication },
  };
  const configs = ['n1', 'n2', 'n3'].map((id) => simNodeConfig(id, overrides));
  const timeoutMs = configs[0]!.rpc.timeoutMs;
  const clockBoundMs = configs[0]!.cluster.maxClockOffsetMs;
  const transport = new MemoryTransport({ clock });
  const nodes: SimNode[] = [];
  const net = new SimNetwork({ random: seededRandom(seed * 7 + 1), timers: clock, timeoutMs, now: () => clock.now(), clockOf: (id) => nodes.find((n) => n.id === id)?.clock ?? clock });
  const history = new WriteHistory(() => clock.now());
  const newStore = (id: string, index: number, generation: number): LocalStore => {
    if (options.store === 'level') {
      const dir = mkdtempSync(join(tmpdir(), `ringstore-sim-${id}-`));
      dirs.push(dir);
      return countingStore(
        new LevelStore({ dir, fsync: false, directIo: false, inlineThreshold: 1024, random: seededRandom(seed * 13 + index * 101 + generation), logger: silentLogger, clock, timers: clock }),
        real,
      );
    }
    return new MemoryStore({ inlineThreshold: 1024, random: seededRandom(seed * 13 + index * 101 + generation), clock });
  };
  let generation = 0;
  const boot = async (node: SimNode): Promise<void> => {
    generation++;
    transport.register(node.id, node.store);
    real.pending++;
    try {
      node.running = await startNode(configs[node.index]!, {
        store: node.store,
        transport: net.wrap(node.id, transport),
        logger: silentLogger,
        metrics: null,
        random: seededRandom(seed * 31 + node.index * 1009 + generation),
        clock: node.clock,
        timers: node.timers,
      });
    } finally {
      real.pending--;
    }
  };
  const ctx: SimContext = {
    seed,
    clock,
    random: seededRandom(seed * 3 + 2),
    net,
    transport,
    nodes,
    history,
    losses: [],
    clockBoundMs,
    bucket: 'sim',
    log,
    async crash(node) {
      const running = node.running;
      if (running === undefined) return;
      node.running = undefined;
      node.epoch++;
      net.crash(node.id);
      transport.setDown(node.id, true);
      node.timers.kill();
      log(`crash ${node.id}`);
      real.pending++;
      try {
        await running.stop();
      } finally {
        real.pending--;
      }
    },
    async restart(node, { wipe }) {
      if (node.running !== undefined) return;
      if (wipe) node.store = newStore(node.id, node.index, ++generation);
      node.timers = clock.group();
      net.restart(node.id);
      log(`restart ${node.id}${wipe ? ' wiped' : ''}`);
      await boot(node);
    },
    async read(node, key) {
      const running = node.running;
      if (running === undefined) throw new Error(`${node.id} is down`);
      // As the S3 GET does (object-get.ts): a version overwritten on its holders between the
      // lookup and the body (a read repair, a late commit) is looked up again.
      for (let attempt = 1; ; attempt++) {
        try {
          const found = await running.coordinator.headObject(ctx.bucket, key);
          const body = await running.coordinator.openBody(found);
          const chunks: Buffer[] = [];
          if (body instanceof Uint8Array) chunks.push(Buffer.from(body));
          else for await (const chunk of body) chunks.push(chunk as Buffer);
          const data = Buffer.concat(chunks);
          return { state: sha256Hex(data), md5: md5Hex(data), etag: found.record.etag };
        } catch (err) {
          if (isErrorCode(err, 'NoSuchKey')) return { state: ABSENT };
          if (attempt < READ_ATTEMPTS && isErrorCode(err, 'ServiceUnavailable') && err.details['superseded'] === true) continue;
          throw err;
        }
      }
    },
  };
  const checks = [acknowledgedWrites, ...(options.checks ?? []), ...(healing ? [convergence] : [])];
  const violations: Violation[] = [];
  const found = (v: Violation | undefined): void => {
    if (v === undefined) return;
    violations.push(v);
    log(`VIOLATION ${v.kind} ${v.message}`);
  };

  const main = async (): Promise<void> => {
    for (const [index, id] of ['n1', 'n2', 'n3'].entries()) {
      const node: SimNode = { id, index, store: newStore(id, index, 0), running: undefined, timers: clock.group(), clock: new OffsetClock(clock), epoch: 0 };
      nodes.push(node);
    }
    for (const node of nodes) await boot(node);

    // The workload: `clients` loops, each holding one key at a time (the checker needs the
    // operations on a key one after another), through a random live gateway.
    const random = seededRandom(seed * 5 + 3);
    const keys = Array.from({ length: options.keys ?? 4 }, (_, i) => `k${i}`);
    const held = new Set<string>();
    const totalOps = options.ops ?? 60;
    let issued = 0;
    let workloadDone = false;
    const client = async (c: number): Promise<void> => {
      while (issued < totalOps) {
        await sleep(clock, between(random, 1, 120));
        const free = keys.filter((k) => !held.has(k));
        const live = nodes.filter((n) => n.running !== undefined);
        if (free.length === 0 || live.length === 0) continue;
        const key = pick(random, free);
        const gateway = pick(random, live);
        const op = issued++;
        const roll = random.float();
        held.add(key);
        try {
          await operation(c, op, key, gateway, roll < 0.45 ? 'put' : roll < 0.6 ? 'delete' : 'get');
        } finally {
          held.delete(key);
        }
      }
    };
    const operation = async (c: number, op: number, key: string, gateway: SimNode, kind: 'put' | 'delete' | 'get'): Promise<void> => {
      const running = gateway.running!;
      const epoch = gateway.epoch;
      const tag = `c${c} #${op} ${kind} ${key} via ${gateway.id}`;
      if (kind === 'get') {
        try {
          const seen = await ctx.read(gateway, key);
          count('get.ok');
          log(`${tag} -> ${seen.state.slice(0, 8)}`);
          for (const check of checks) found(check.onRead?.(ctx, key, seen));
        } catch (err) {
          count('get.error');
          log(`${tag} -> error ${errorCode(err)}`);
        }
        return;
      }
      const data = kind === 'put' ? Buffer.from(`seed ${seed} op ${op} ${key} `.padEnd(random.float() < 0.3 ? 1500 : 40, 'x')) : undefined;
      const write = history.begin(key, kind, data ? sha256Hex(data) : ABSENT, gateway.id);
      try {
        if (data) {
          const etag = md5Hex(data);
          await running.coordinator.putObject({ bucket: ctx.bucket, key, contentType: 'application/octet-stream', userMeta: {}, body: Readable.from([data]), seal: () => ({ etag }) });
          // An answer from a process that died meanwhile never reached the client.
          history.end(write, gateway.epoch === epoch ? 'acked' : 'unknown', { etag });
        } else {
          await running.coordinator.deleteObject(ctx.bucket, key);
          history.end(write, gateway.epoch === epoch ? 'acked' : 'unknown');
        }
        count(`${kind}.ok`);
        log(`${tag} -> ok`);
      } catch (err) {
        // A failed write may have reached some replicas, which a later read can find: unknown.
        history.end(write, 'unknown', { error: errorCode(err) });
        count(`${kind}.error`);
        log(`${tag} -> error ${errorCode(err)}`);
      }
    };

    // Faults: an episode every few hundred virtual ms, each healed after a while.
    const active = new Set<FaultEpisode>();
    const healing: Promise<void>[] = [];
    const heal = (episode: FaultEpisode): void => {
      if (!active.delete(episode)) return;
      log(`heal: ${episode.description}`);
      healing.push(episode.heal());
    };
    const injector = async (): Promise<void> => {
      if (faultNames.length === 0) return;
      while (!workloadDone) {
        await sleep(clock, between(ctx.random, 50, 600));
        if (workloadDone) break;
        const name = pick(ctx.random, faultNames);
        const episode = await FAULTS[name]!.inject(ctx);
        if (episode === undefined) continue;
        count(`fault.${name}`);
        active.add(episode);
        faultLog.push(`${clock.now() - SIM_EPOCH_MS} ms: ${episode.description}`);
        log(`fault: ${episode.description}`);
        clock.setTimeout(() => heal(episode), between(ctx.random, 50, 2000));
      }
    };
    const injecting = injector();
    await Promise.all(Array.from({ length: options.clients ?? 3 }, (_, c) => client(c)));
    workloadDone = true;
    await injecting;
    for (const episode of [...active]) heal(episode);
    await Promise.all(healing);
    for (const node of nodes) if (node.running === undefined) await ctx.restart(node, { wipe: false });
    net.healAll();
    // Settle: pings mark every node up again, late commits land; when healing, three
    // anti-entropy intervals, so that every node completes a full pass after the last fault.
    await sleep(clock, 3000 + (healing ? 3 * (overrides.antiEntropy?.intervalMs ?? SIM_ANTI_ENTROPY_MS) : 0));
    for (const check of checks) for (const v of (await check.atEnd?.(ctx)) ?? []) found(v);
  };

  try {
    await drive(clock, real, main(), 10 * 60_000);
    await drive(clock, real, Promise.all(nodes.map((n) => n.running?.stop())), 60_000);
  } finally {
    restoreGlobals();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  return {
    seed,
    violations,
    counts,
    faults: faultLog,
    digest: hash.digest('hex').slice(0, 16),
    virtualMs: clock.now() - SIM_EPOCH_MS,
    timersFired: clock.fired,
    ...(options.trace && { trace }),
  };
}

function errorCode(err: unknown): string {
  return (err as { code?: string } | null)?.code ?? (err instanceof Error ? err.message : String(err));
}
