/**
 * The failure detector's states: up → suspect on the first miss, → down after
 * `downAfterMisses` misses in a row, → up on any successful ping; what counts as a miss
 * (a failed ping, a ping slower than `pingTimeoutMs`) and what does not (a round stopped by
 * its own signal); who is pinged; what is reported. Rounds are driven with `runOnce`, and on
 * an interval with `startWorker` under fake timers.
 */
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it, expect, afterEach, vi } from 'vitest';
import { Registry } from 'prom-client';
import { FailureDetector, type PingFn } from '../../../src/cluster/failure-detector.js';
import { classifyPingFailure } from '../../../src/cluster/ping-outcome.js';
import { createMetrics } from '../../../src/metrics/definitions.js';
import type { Timer, Timers } from '../../../src/util/clock.js';
import type { Liveness, Membership } from '../../../src/cluster/membership.js';
import { startWorker } from '../../../src/util/worker.js';
import { silentLogger, type Logger } from '../../../src/util/logger.js';
import { layoutOf, membershipOf, recordingLogger } from './helpers.js';

/** A ping whose answer per peer the test sets: 'ok' resolves, 'fail' rejects, 'hang' waits for the signal. */
function scriptedPing(): { ping: PingFn; set: (peer: string, how: 'ok' | 'fail' | 'hang') => void; calls: { peer: string; address: string; signal: AbortSignal }[] } {
  const how = new Map<string, 'ok' | 'fail' | 'hang'>();
  const calls: { peer: string; address: string; signal: AbortSignal }[] = [];
  const ping: PingFn = (peer, address, signal) => {
    calls.push({ peer, address, signal });
    const mode = how.get(peer) ?? 'ok';
    if (mode === 'ok') return Promise.resolve();
    if (mode === 'fail') return Promise.reject(new Error(`connect ECONNREFUSED ${address}`));
    return new Promise<void>((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason as Error);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  };
  return { ping, set: (peer, mode) => how.set(peer, mode), calls };
}

interface Setup {
  membership: Membership;
  detector: FailureDetector;
  script: ReturnType<typeof scriptedPing>;
  changes: [string, Liveness][];
  round: () => Promise<void>;
}

async function setup(options: { downAfterMisses?: number; pingTimeoutMs?: number; logger?: Logger; ids?: string[] } = {}): Promise<Setup> {
  const membership = await membershipOf('n1', options.ids ?? ['n1', 'n2', 'n3']);
  const script = scriptedPing();
  const changes: [string, Liveness][] = [];
  const detector = new FailureDetector({
    membership,
    ping: script.ping,
    pingTimeoutMs: options.pingTimeoutMs ?? 60_000,
    downAfterMisses: options.downAfterMisses ?? 3,
    logger: options.logger ?? silentLogger,
    onChange: (peer, state) => changes.push([peer, state]),
  });
  const round = (): Promise<void> => detector.runOnce(new AbortController().signal);
  return { membership, detector, script, changes, round };
}

describe('FailureDetector transitions', () => {
  it('a peer is suspect after its first missed ping and down only after downAfterMisses misses in a row', async () => {
    const { membership, script, changes, round } = await setup({ downAfterMisses: 3 });
    script.set('n2', 'fail');
    await round();
    expect(membership.liveness('n2')).toBe('suspect');
    expect(membership.isUsable('n2')).toBe(true);
    await round();
    expect(membership.liveness('n2')).toBe('suspect');
    await round();
    expect(membership.liveness('n2')).toBe('down');
    expect(membership.isUsable('n2')).toBe(false);
    await round();
    expect(membership.liveness('n2')).toBe('down');
    // Each state change is reported once, not once per round.
    expect(changes).toEqual([
      ['n2', 'suspect'],
      ['n2', 'down'],
    ]);
  });

  it('any successful ping marks a down peer up again (reported once)', async () => {
    const { membership, script, changes, round } = await setup({ downAfterMisses: 2 });
    script.set('n2', 'fail');
    await round();
    await round();
    expect(membership.liveness('n2')).toBe('down');
    script.set('n2', 'ok');
    await round();
    expect(membership.liveness('n2')).toBe('up');
    expect(membership.isUsable('n2')).toBe(true);
    await round();
    expect(changes).toEqual([
      ['n2', 'suspect'],
      ['n2', 'down'],
      ['n2', 'up'],
    ]);
  });

  it('a suspect peer that answers is up again', async () => {
    const { membership, script, changes, round } = await setup({ downAfterMisses: 3 });
    script.set('n2', 'fail');
    await round();
    script.set('n2', 'ok');
    await round();
    expect(membership.liveness('n2')).toBe('up');
    expect(changes).toEqual([
      ['n2', 'suspect'],
      ['n2', 'up'],
    ]);
  });

  it('misses must be in a row: a successful ping resets the count', async () => {
    const { membership, script, round } = await setup({ downAfterMisses: 3 });
    script.set('n2', 'fail');
    await round();
    await round();
    script.set('n2', 'ok');
    await round();
    script.set('n2', 'fail');
    await round();
    await round();
    // Four misses in all, but only two since the last answer.
    expect(membership.liveness('n2')).toBe('suspect');
    await round();
    expect(membership.liveness('n2')).toBe('down');
  });

  it('a peer brought back up after being down needs downAfterMisses fresh misses to be down again', async () => {
    const { membership, script, round } = await setup({ downAfterMisses: 2 });
    script.set('n2', 'fail');
    await round();
    await round();
    script.set('n2', 'ok');
    await round();
    script.set('n2', 'fail');
    await round();
    expect(membership.liveness('n2')).toBe('suspect');
    await round();
    expect(membership.liveness('n2')).toBe('down');
  });

  it('with downAfterMisses = 1 the first miss marks the peer down directly', async () => {
    const { membership, script, changes, round } = await setup({ downAfterMisses: 1 });
    script.set('n3', 'fail');
    await round();
    expect(membership.liveness('n3')).toBe('down');
    expect(changes).toEqual([['n3', 'down']]);
  });

  it('judges each peer on its own pings', async () => {
    const { membership, script, round } = await setup({ downAfterMisses: 2, ids: ['n1', 'n2', 'n3', 'n4'] });
    script.set('n2', 'fail');
    script.set('n4', 'fail');
    await round();
    script.set('n4', 'ok');
    await round();
    expect(membership.liveness('n2')).toBe('down');
    expect(membership.liveness('n3')).toBe('up');
    expect(membership.liveness('n4')).toBe('up');
  });

  it('a peer presumed up whose first ping succeeds is not reported as a change', async () => {
    const { membership, changes, round } = await setup();
    await round();
    expect(changes).toEqual([]);
    expect(membership.liveness('n2')).toBe('up');
    expect(membership.liveness('n3')).toBe('up');
  });
});

describe('FailureDetector: what counts as a miss', () => {
  it('a ping slower than pingTimeoutMs is aborted and counts as missed', async () => {
    const { membership, script, changes, round } = await setup({ pingTimeoutMs: 20, downAfterMisses: 2 });
    script.set('n2', 'hang');
    const started = performance.now();
    await round();
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(membership.liveness('n2')).toBe('suspect');
    const n2signal = script.calls.find((c) => c.peer === 'n2')?.signal;
    expect(n2signal?.aborted).toBe(true);
    expect((n2signal?.reason as Error | undefined)?.name).toBe('TimeoutError');
    await round();
    expect(membership.liveness('n2')).toBe('down');
    expect(changes).toEqual([
      ['n2', 'suspect'],
      ['n2', 'down'],
    ]);
    // The peer that answered in time was not touched by n2's timeout.
    expect(membership.liveness('n3')).toBe('up');
  }, 5_000);

  it('a hung ping is missed after pingTimeoutMs even when garbage is collected while it waits', async () => {
    // On Node 20 an AbortSignal.timeout inside AbortSignal.any can be collected before it
    // fires (nodejs/node#57736): the ping then waited for the RPC deadline, or forever.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { membership, script, round } = await setup({ pingTimeoutMs: 50, downAfterMisses: 1 });
    script.set('n2', 'hang');
    const pending = round();
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    const outcome = await Promise.race([pending.then(() => 'finished'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000))]);
    expect(outcome).toBe('finished');
    expect(membership.liveness('n2')).toBe('down');
  }, 5_000);

  it('a round stopped by its own signal counts no miss and changes nobody', async () => {
    const { membership, detector, script, changes, round } = await setup({ downAfterMisses: 2 });
    script.set('n2', 'fail');
    await round();
    expect(membership.liveness('n2')).toBe('suspect');
    script.set('n2', 'hang');
    script.set('n3', 'hang');
    const stop = new AbortController();
    const pending = detector.runOnce(stop.signal);
    stop.abort();
    await pending;
    // Had the aborted ping counted, n2 would be down (2 misses) and n3 suspect.
    expect(membership.liveness('n2')).toBe('suspect');
    expect(membership.liveness('n3')).toBe('up');
    expect(changes).toEqual([['n2', 'suspect']]);
    script.set('n2', 'fail');
    script.set('n3', 'ok');
    await round();
    expect(membership.liveness('n2')).toBe('down');
  }, 5_000);

  it('leaves no abort listener behind on the long-lived worker signal, round after round', async () => {
    const { detector, script } = await setup({ pingTimeoutMs: 20 });
    script.set('n2', 'fail');
    script.set('n3', 'hang');
    const worker = new AbortController();
    for (let i = 0; i < 3; i++) await detector.runOnce(worker.signal);
    expect(getEventListeners(worker.signal, 'abort')).toHaveLength(0);
  }, 5_000);

  it('a round stopped before it began still returns promptly without marking anyone', async () => {
    const { membership, detector, script, changes } = await setup();
    script.set('n2', 'hang');
    const stop = new AbortController();
    stop.abort();
    await detector.runOnce(stop.signal);
    expect(membership.liveness('n2')).toBe('up');
    expect(changes).toEqual([]);
  }, 5_000);
});

describe('FailureDetector: who is pinged', () => {
  it('pings every peer at its address, never itself', async () => {
    const { script, round } = await setup({ ids: ['n1', 'n2', 'n3', 'n4'] });
    await round();
    expect(script.calls.map((c) => [c.peer, c.address]).sort()).toEqual([
      ['n2', 'sim:n2'],
      ['n3', 'sim:n3'],
      ['n4', 'sim:n4'],
    ]);
  });

  it('pings all peers of a round concurrently: one slow peer does not delay the others', async () => {
    const { membership, script, round } = await setup({ pingTimeoutMs: 30, downAfterMisses: 1 });
    script.set('n2', 'hang');
    script.set('n3', 'fail');
    const pending = round();
    // Before n2's ping times out, n3's failure has already been recorded.
    await new Promise((resolve) => setImmediate(resolve));
    expect(script.calls.map((c) => c.peer).sort()).toEqual(['n2', 'n3']);
    expect(membership.liveness('n3')).toBe('down');
    expect(membership.liveness('n2')).toBe('up');
    await pending;
    expect(membership.liveness('n2')).toBe('down');
  }, 5_000);

  it('follows the layout: a member added later is pinged, a removed one is not', async () => {
    const { membership, script, round } = await setup();
    expect(membership.adopt(layoutOf(['n1', 'n3', 'n4'], 2))).toBe(true);
    await round();
    expect(script.calls.map((c) => c.peer).sort()).toEqual(['n3', 'n4']);
  });
});

describe('FailureDetector reporting', () => {
  it('status() counts completed rounds and shows each peer liveness', async () => {
    const { detector, script, round } = await setup({ downAfterMisses: 2 });
    expect(detector.status()).toEqual({ rounds: 0, peers: { n2: 'up', n3: 'up' } });
    script.set('n3', 'fail');
    await round();
    expect(detector.status()).toEqual({ rounds: 1, peers: { n2: 'up', n3: 'suspect' } });
    await round();
    expect(detector.status()).toEqual({ rounds: 2, peers: { n2: 'up', n3: 'down' } });
    expect(detector.name).toBe('failure-detector');
  });

  it('logs each liveness change once with from/to, and a missed ping only at the first and the downAfterMisses-th miss', async () => {
    const logger = recordingLogger();
    const { script, round } = await setup({ downAfterMisses: 3, logger });
    script.set('n2', 'fail');
    for (let i = 0; i < 5; i++) await round();
    script.set('n2', 'ok');
    await round();
    const changes = logger.lines.filter((l) => l.msg === 'peer liveness changed').map((l) => l.obj);
    expect(changes).toEqual([
      { peer: 'n2', from: 'up', to: 'suspect' },
      { peer: 'n2', from: 'suspect', to: 'down' },
      { peer: 'n2', from: 'down', to: 'up' },
    ]);
    expect(logger.lines.filter((l) => l.level === 'info').length).toBe(3);
    const missed = logger.lines.filter((l) => l.msg === 'ping missed');
    expect(missed.map((l) => l.obj['misses'])).toEqual([1, 3]);
    expect(missed.every((l) => l.level === 'debug' && l.obj['peer'] === 'n2')).toBe(true);
    expect(String((missed[0]?.obj['err'] as { message?: unknown } | undefined)?.message ?? JSON.stringify(missed[0]?.obj['err']))).toMatch(/ECONNREFUSED/);
  });
});

describe('FailureDetector on an interval (startWorker, fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pings at once, then once per interval, so a dead peer is down after downAfterMisses intervals', async () => {
    vi.useFakeTimers();
    const { membership, detector, script } = await setup({ downAfterMisses: 3 });
    script.set('n2', 'fail');
    const errors: unknown[] = [];
    const handle = startWorker(detector, 1000, (err) => errors.push(err));
    await vi.advanceTimersByTimeAsync(0);
    expect(detector.status()['rounds']).toBe(1);
    expect(membership.liveness('n2')).toBe('suspect');
    await vi.advanceTimersByTimeAsync(999);
    expect(detector.status()['rounds']).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(detector.status()['rounds']).toBe(2);
    expect(membership.liveness('n2')).toBe('suspect');
    await vi.advanceTimersByTimeAsync(1000);
    expect(detector.status()['rounds']).toBe(3);
    expect(membership.liveness('n2')).toBe('down');
    script.set('n2', 'ok');
    await vi.advanceTimersByTimeAsync(1000);
    expect(membership.liveness('n2')).toBe('up');
    await handle.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(detector.status()['rounds']).toBe(4);
    expect(errors).toEqual([]);
  });

  it('a hung ping is missed exactly at pingTimeoutMs, and the next round starts an interval after it ends (no overlap)', async () => {
    vi.useFakeTimers();
    const { membership, detector, script } = await setup({ pingTimeoutMs: 1500, downAfterMisses: 2 });
    script.set('n2', 'hang');
    const handle = startWorker(detector, 1000, () => undefined);
    await vi.advanceTimersByTimeAsync(1499);
    expect(membership.liveness('n2')).toBe('up');
    expect(script.calls.filter((c) => c.peer === 'n2')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(membership.liveness('n2')).toBe('suspect');
    // Round 2 starts at 1500 + 1000 and misses at 2500 + 1500.
    await vi.advanceTimersByTimeAsync(999);
    expect(script.calls.filter((c) => c.peer === 'n2')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(script.calls.filter((c) => c.peer === 'n2')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1499);
    expect(membership.liveness('n2')).toBe('suspect');
    await vi.advanceTimersByTimeAsync(1);
    expect(membership.liveness('n2')).toBe('down');
    await handle.stop();
  });

  it('a round that throws is reported and the rounds go on', async () => {
    vi.useFakeTimers();
    const membership = await membershipOf('n1', ['n1', 'n2']);
    let fail = true;
    let calls = 0;
    const detector = new FailureDetector({
      membership,
      ping: () => (++calls, fail ? Promise.reject(new Error('refused')) : Promise.resolve()),
      pingTimeoutMs: 500,
      downAfterMisses: 3,
      logger: silentLogger,
      onChange: () => {
        throw new Error('gauge broke');
      },
    });
    const errors: unknown[] = [];
    const handle = startWorker(detector, 1000, (err) => errors.push(err));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors.map((e) => (e as Error).message)).toEqual(['gauge broke']);
    // The state was recorded before the callback threw.
    expect(membership.liveness('n2')).toBe('suspect');
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    expect(membership.liveness('n2')).toBe('up');
    await handle.stop();
  });

  it('a finished ping leaves no deadline timer running', async () => {
    vi.useFakeTimers();
    const { detector, script } = await setup({ pingTimeoutMs: 60_000 });
    script.set('n3', 'fail');
    await detector.runOnce(new AbortController().signal);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stopping aborts the ping in flight without counting it as a miss', async () => {
    vi.useFakeTimers();
    const { membership, detector, script, changes } = await setup({ downAfterMisses: 1 });
    script.set('n2', 'hang');
    const errors: unknown[] = [];
    const handle = startWorker(detector, 1000, (err) => errors.push(err));
    await vi.advanceTimersByTimeAsync(0);
    expect(script.calls.some((c) => c.peer === 'n2')).toBe(true);
    await handle.stop();
    expect(script.calls.find((c) => c.peer === 'n2')?.signal.aborted).toBe(true);
    expect(membership.liveness('n2')).toBe('up');
    expect(changes).toEqual([]);
    expect(errors).toEqual([]);
  }, 5_000);
});

/** Injected timers in virtual time: `advance` fires due timers in order, letting promise chains run in between. */
class VirtualTimers implements Timers {
  now = 0;
  #seq = 0;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.#seq;
    this.#due.set(id, { at: this.now + ms, fn });
    return { id } as Timer;
  }

  clearTimeout(timer: Timer): void {
    this.#due.delete((timer as { id: number }).id);
  }

  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await flush();
      const next = [...this.#due.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (next === undefined || next[1].at > end) break;
      this.#due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** An error shaped as the RPC client reports a refused connect. */
function refused(): Error {
  return Object.assign(new Error('rpc ping to n2: connect ECONNREFUSED'), { code: 'PeerUnavailable', details: { transportCode: 'ECONNREFUSED' } });
}

describe('FailureDetector timing (own loop per peer, virtual time)', () => {
  // Twice the default interval (ping every 500 ms; missed after 1000 ms, down after 2 misses, a refusal confirmed after 100 ms, as shipped): the bounds hold even so.
  async function looping(): Promise<{
    timers: VirtualTimers;
    membership: Membership;
    mode: Map<string, 'ok' | 'refused' | 'hang' | 'reset'>;
    downAt: Map<string, number>;
    calls: string[];
    stop: () => Promise<void>;
  }> {
    const membership = await membershipOf('n1', ['n1', 'n2', 'n3']);
    const timers = new VirtualTimers();
    const mode = new Map<string, 'ok' | 'refused' | 'hang' | 'reset'>();
    const downAt = new Map<string, number>();
    const calls: string[] = [];
    const ping: PingFn = (peer, _address, signal) => {
      calls.push(`${timers.now}:${peer}`);
      const how = mode.get(peer) ?? 'ok';
      if (how === 'ok') return Promise.resolve();
      if (how === 'refused') return Promise.reject(refused());
      if (how === 'reset') return Promise.reject(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
      return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    };
    const detector = new FailureDetector({
      membership,
      ping,
      pingTimeoutMs: 1000,
      downAfterMisses: 2,
      intervalMs: 500,
      confirmAfterMs: 100,
      timers,
      logger: silentLogger,
      onChange: (peer, state) => {
        if (state === 'down' && !downAt.has(peer)) downAt.set(peer, timers.now);
        if (state === 'up') downAt.delete(peer);
      },
    });
    const handle = detector.start();
    return { timers, membership, mode, downAt, calls, stop: () => handle.stop() };
  }

  it('a crashed peer (connect refused) is down within 1 s: the refusal is confirmed once, 100 ms later', async () => {
    const { timers, membership, mode, downAt, stop } = await looping();
    await timers.advance(1000);
    // It crashes just after a ping it answered: the worst case.
    await timers.advance(1);
    const crashedAt = timers.now;
    mode.set('n2', 'refused');
    await timers.advance(450);
    expect(membership.liveness('n2')).toBe('up');
    await timers.advance(50);
    expect(membership.liveness('n2')).toBe('suspect');
    await timers.advance(100);
    expect(membership.liveness('n2')).toBe('down');
    expect(downAt.get('n2')! - crashedAt).toBeLessThanOrEqual(600);
    expect(membership.liveness('n3')).toBe('up');
    await stop();
  });

  it('a crash first seen as a reset connection, then refused connects, is down within 1 s', async () => {
    const { timers, membership, mode, downAt, stop } = await looping();
    await timers.advance(1001);
    const crashedAt = timers.now;
    mode.set('n2', 'reset');
    await timers.advance(499);
    expect(membership.liveness('n2')).toBe('suspect');
    mode.set('n2', 'refused');
    await timers.advance(500);
    expect(membership.liveness('n2')).toBe('down');
    expect(downAt.get('n2')! - crashedAt).toBeLessThanOrEqual(700);
    await stop();
  });

  it('one refused connect (a restart in progress) only makes the peer suspect when the next ping is answered', async () => {
    const { timers, membership, mode, stop } = await looping();
    await timers.advance(1001);
    mode.set('n2', 'refused');
    await timers.advance(499);
    expect(membership.liveness('n2')).toBe('suspect');
    mode.set('n2', 'ok');
    await timers.advance(500);
    expect(membership.liveness('n2')).toBe('up');
    await stop();
  });

  it('a hung peer (accepts, never answers) is down within 3 s, and never delays the pings of the others', async () => {
    const { timers, membership, mode, downAt, calls, stop } = await looping();
    await timers.advance(1001);
    const hungAt = timers.now;
    mode.set('n2', 'hang');
    await timers.advance(1999);
    // One missed ping (1 s) and the next one under way: suspect, still asked.
    expect(membership.liveness('n2')).toBe('suspect');
    await timers.advance(1000);
    expect(membership.liveness('n2')).toBe('down');
    expect(downAt.get('n2')! - hungAt).toBeLessThanOrEqual(2500);
    // n3 kept its 500 ms schedule all along.
    const n3 = calls.filter((c) => c.endsWith(':n3')).map((c) => Number(c.split(':')[0]));
    expect(n3.filter((t) => t > hungAt).length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...n3.slice(1).map((t, i) => t - n3[i]!))).toBeLessThanOrEqual(500);
    expect(membership.liveness('n3')).toBe('up');
    await stop();
  });

  it('a slow peer whose pings take 900 ms (under load) is never marked down', async () => {
    const membership = await membershipOf('n1', ['n1', 'n2']);
    const timers = new VirtualTimers();
    const states: Liveness[] = [];
    let pings = 0;
    const detector = new FailureDetector({
      membership,
      ping: (_peer, _address, signal) => {
        pings++;
        return new Promise<void>((resolve, reject) => {
          timers.setTimeout(resolve, 900);
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      },
      pingTimeoutMs: 1000,
      downAfterMisses: 2,
      intervalMs: 500,
      timers,
      logger: silentLogger,
      onChange: (_peer, state) => states.push(state),
    });
    const handle = detector.start();
    await timers.advance(20_000);
    expect(pings).toBeGreaterThanOrEqual(14);
    expect(states).toEqual([]);
    expect(membership.liveness('n2')).toBe('up');
    await handle.stop();
  });

  it('a ping timing out alternately with answers never marks the peer down (misses must be in a row)', async () => {
    const { timers, membership, mode, downAt, stop } = await looping();
    for (let i = 0; i < 5; i++) {
      mode.set('n2', 'hang');
      await timers.advance(1000);
      mode.set('n2', 'ok');
      await timers.advance(1000);
    }
    expect(downAt.has('n2')).toBe(false);
    expect(membership.liveness('n2')).toBe('up');
    await stop();
  });

  it('a down peer that answers again is up at its next ping, and stop() ends every loop', async () => {
    const { timers, membership, mode, calls, stop } = await looping();
    mode.set('n2', 'refused');
    await timers.advance(1000);
    expect(membership.liveness('n2')).toBe('down');
    mode.set('n2', 'ok');
    await timers.advance(500);
    expect(membership.liveness('n2')).toBe('up');
    await stop();
    const before = calls.length;
    await timers.advance(5000);
    expect(calls.length).toBe(before);
  });

  it('counts state changes in ringstore_peer_state_changes_total by peer and new state', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry, { version: 't', commit: 't' });
    const membership = await membershipOf('n1', ['n1', 'n2']);
    let fail = true;
    const detector = new FailureDetector({
      membership,
      ping: () => (fail ? Promise.reject(refused()) : Promise.resolve()),
      pingTimeoutMs: 1000,
      downAfterMisses: 5,
      logger: silentLogger,
      metrics,
    });
    const round = (): Promise<void> => detector.runOnce(new AbortController().signal);
    await round();
    await round();
    fail = false;
    await round();
    const values = (await metrics.peerStateChanges.get()).values.map((v) => [v.labels.peer, v.labels.to, v.value]);
    expect(values).toEqual([
      ['n2', 'suspect', 1],
      ['n2', 'down', 1],
      ['n2', 'up', 1],
    ]);
  });
});

describe('classifyPingFailure', () => {
  it.each([
    ['a refused connect as the RPC client reports it', refused(), false, 'refused'],
    ['a raw ECONNREFUSED', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), false, 'refused'],
    [
      'a refusal inside an AggregateError (happy eyeballs), as a cause',
      new Error('wrapped', { cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]) }),
      false,
      'refused',
    ],
    ['the detector deadline, whatever the error', refused(), true, 'timeout'],
    ['an RPC timeout', Object.assign(new Error('x'), { code: 'RpcTimeout' }), false, 'timeout'],
    ['a reset connection', Object.assign(new Error('x'), { code: 'PeerUnavailable', details: { transportCode: 'ECONNRESET' } }), false, 'failed'],
    ['a message that merely mentions ECONNREFUSED', new Error('connect ECONNREFUSED 1.2.3.4'), false, 'failed'],
  ])('%s', (_name, err, timedOut, expected) => {
    expect(classifyPingFailure(err, timedOut)).toBe(expected);
  });
});
