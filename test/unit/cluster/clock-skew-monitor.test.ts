/**
 * The skew monitor end to end (pings in, verdict/refusal/readiness/metrics out), and the
 * boundary rules of the estimator and the verdict that clock-skew.test.ts does not pin down.
 */
import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { ClockSkewMonitor, OffsetEstimator, judgeSkew, offsetSample } from '../../../src/cluster/clock-skew.js';
import { createMetrics, type Metrics } from '../../../src/metrics/definitions.js';
import { isErrorCode } from '../../../src/util/errors.js';
import { layoutOf, membershipOf, recordingLogger } from './helpers.js';

async function gauge(metrics: Metrics, name: 'clockOffset' | 'clockSkewed'): Promise<number | undefined> {
  return (await metrics[name].get()).values[0]?.value;
}

async function setup(ids = ['n1', 'n2', 'n3'], window?: number) {
  const membership = await membershipOf('n1', ids);
  const logger = recordingLogger();
  const metrics = createMetrics(new Registry(), { version: 't', commit: 't' });
  const monitor = new ClockSkewMonitor({ membership, boundMs: 250, logger, metrics, ...(window !== undefined && { window }) });
  /** One ping to `peer` with a 10 ms round trip that saw the peer `offsetMs` ahead. */
  const ping = (peer: string, offsetMs: number, rttMs = 10): void => monitor.record(peer, 1000, 1000 + rttMs / 2 + offsetMs, 1000 + rttMs);
  return { membership, logger, metrics, monitor, ping };
}

describe('ClockSkewMonitor', () => {
  it('before any ping the node is not skewed: peers get the benefit of the doubt', async () => {
    const { monitor } = await setup();
    expect(monitor.verdict()).toMatchObject({ skewed: false, agreeing: 1, unmeasured: 2, members: 3, offsetMs: 0 });
    expect(monitor.writeRefusal()).toBeUndefined();
    expect(monitor.readinessReason()).toBeUndefined();
  });

  it('a node whose peers both read 1 s behind it is skewed: writes refused (ClockSkew, counted), readiness says why', async () => {
    const { monitor, metrics, logger, ping } = await setup();
    ping('n2', -1000);
    // One peer off and one unmeasured: still given the benefit of the doubt.
    expect(monitor.verdict().skewed).toBe(false);
    ping('n3', -1004);
    expect(monitor.verdict()).toMatchObject({ skewed: true, agreeing: 1, unmeasured: 0, members: 3 });
    expect(monitor.verdict().offsetMs).toBe(1000);

    const refusal = monitor.writeRefusal();
    expect(isErrorCode(refusal, 'ClockSkew')).toBe(true);
    expect(refusal?.details).toEqual({ offsetMs: 1000, boundMs: 250 });
    expect(refusal?.message).toMatch(/\+1000 ms from the cluster median and only 1 of 3 members agree .*\(250 ms\).*n2 -1000 ms, n3 -1004 ms/);
    monitor.writeRefusal();
    expect((await metrics.clockRefusedWrites.get()).values[0]?.value).toBe(2);
    expect(monitor.readinessReason()).toMatch(/only 1 of 3 members agree.*; refusing writes$/);

    expect(await gauge(metrics, 'clockSkewed')).toBe(1);
    expect(await gauge(metrics, 'clockOffset')).toBe(1);
    expect((await metrics.clockPeerOffset.get()).values.map((v) => [v.labels['peer'], v.value])).toEqual([
      ['n2', -1],
      ['n3', -1.004],
    ]);
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/^clock skewed: .*; refusing writes$/);
  });

  it('logs the change of verdict once, not on every ping, and accepts writes again once the clock agrees', async () => {
    const { monitor, metrics, logger, ping } = await setup(['n1', 'n2', 'n3'], 1);
    for (let i = 0; i < 4; i++) {
      ping('n2', 900);
      ping('n3', 901);
    }
    expect(monitor.verdict().skewed).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    // Window 1: the next sample of each peer replaces the estimate.
    ping('n2', 3);
    expect(monitor.verdict().skewed).toBe(false);
    expect(monitor.writeRefusal()).toBeUndefined();
    expect(monitor.readinessReason()).toBeUndefined();
    expect(await gauge(metrics, 'clockSkewed')).toBe(0);
    expect((await metrics.clockRefusedWrites.get()).values[0]?.value ?? 0).toBe(0);
    const infos = logger.lines.filter((l) => l.level === 'info');
    expect(infos.map((l) => l.msg)).toEqual(['clock agrees with the cluster again; accepting writes']);
  });

  it('ignores a ping whose round trip exceeds the bound: it neither skews the node nor moves the metrics', async () => {
    const { monitor, metrics, ping } = await setup();
    ping('n2', -1000, 251);
    ping('n3', -1000, 400);
    expect(monitor.verdict()).toMatchObject({ skewed: false, unmeasured: 2 });
    expect((await metrics.clockPeerOffset.get()).values).toEqual([]);
    // A round trip of exactly the bound is still usable.
    ping('n2', -1000, 250);
    ping('n3', -1000, 250);
    expect(monitor.verdict().skewed).toBe(true);
  });

  it('judges against the members of the current layout only', async () => {
    const { membership, monitor, ping } = await setup(['n1', 'n2', 'n3', 'n4', 'n5']);
    ping('n2', 0);
    ping('n3', 1000);
    ping('n4', 1000);
    ping('n5', 1000);
    expect(monitor.verdict()).toMatchObject({ skewed: true, agreeing: 2, members: 5 });
    // n3, n4 and n5 leave; the next ping is judged among n1 and n2, which agree.
    membership.adopt(layoutOf(['n1', 'n2'], 2));
    ping('n2', 1);
    expect(monitor.verdict()).toMatchObject({ skewed: false, agreeing: 2, members: 2 });
  });

  it('uses the median of the last `window` pings per peer', async () => {
    const { monitor, ping } = await setup(['n1', 'n2'], 3);
    ping('n2', 0);
    ping('n2', 2000);
    expect(monitor.verdict().skewed).toBe(true); // median of [0, 2000] = 1000
    ping('n2', 1);
    expect(monitor.verdict().skewed).toBe(false); // median of [0, 2000, 1] = 1
    ping('n2', 2000);
    expect(monitor.verdict().skewed).toBe(true); // window 3: [2000, 1, 2000]
  });

  it('names the peers not measured yet when it refuses', async () => {
    const { monitor, ping } = await setup(['n1', 'n2', 'n3', 'n4', 'n5']);
    ping('n2', 800);
    ping('n3', 800);
    ping('n4', 800);
    // 1 agreeing + 1 unmeasured < 3 of 5.
    expect(monitor.verdict()).toMatchObject({ skewed: true, agreeing: 1, unmeasured: 1 });
    expect(monitor.readinessReason()).toMatch(/-800 ms from the cluster median.*n2 \+800 ms, n3 \+800 ms, n4 \+800 ms, n5 not measured/);
  });

  it('works without metrics', async () => {
    const membership = await membershipOf('n1', ['n1', 'n2']);
    const monitor = new ClockSkewMonitor({ membership, boundMs: 250, logger: recordingLogger(), metrics: null });
    monitor.record('n2', 0, 5000, 10);
    expect(isErrorCode(monitor.writeRefusal(), 'ClockSkew')).toBe(true);
  });
});

describe('OffsetEstimator boundaries', () => {
  it('drops a sample with a negative or non-numeric round trip (the local clock stepped mid-ping)', () => {
    const e = new OffsetEstimator({ maxRttMs: 250 });
    expect(e.add('n2', offsetSample(1000, 5000, 990))).toBe(false);
    expect(e.add('n2', { offsetMs: 1, rttMs: Number.NaN })).toBe(false);
    expect(e.offset('n2')).toBeUndefined();
    expect(e.add('n2', { offsetMs: 7, rttMs: 0 })).toBe(true);
    expect(e.offset('n2')).toBe(7);
  });

  it('keeps 5 samples by default and each peer apart', () => {
    const e = new OffsetEstimator({ maxRttMs: 250 });
    for (const offset of [100, 100, 100, 0, 0]) e.add('n2', { offsetMs: offset, rttMs: 1 });
    e.add('n3', { offsetMs: -50, rttMs: 1 });
    expect(e.offset('n2')).toBe(100);
    e.add('n2', { offsetMs: 0, rttMs: 1 });
    expect(e.offset('n2')).toBe(0); // the first 100 fell out: [100, 100, 0, 0, 0]
    expect(e.offset('n3')).toBe(-50);
  });
});

describe('judgeSkew boundaries', () => {
  it('a peer exactly boundMs off (either way) agrees; 1 ms more does not', () => {
    expect(judgeSkew(new Map([['n2', 250]]), 250)).toMatchObject({ agreeing: 2, skewed: false });
    expect(judgeSkew(new Map([['n2', -250]]), 250)).toMatchObject({ agreeing: 2, skewed: false });
    expect(judgeSkew(new Map([['n2', 251]]), 250)).toMatchObject({ agreeing: 1, skewed: true });
    expect(judgeSkew(new Map([['n2', -251]]), 250)).toMatchObject({ agreeing: 1, skewed: true });
  });

  it('in four nodes a majority is three: agreeing with one peer is not enough', () => {
    const verdict = judgeSkew(
      new Map([
        ['n2', 0],
        ['n3', 900],
        ['n4', 900],
      ]),
      250,
    );
    expect(verdict).toMatchObject({ agreeing: 2, members: 4, skewed: true });
    expect(
      judgeSkew(
        new Map([
          ['n2', 0],
          ['n3', 900],
          ['n4', undefined],
        ]),
        250,
      ),
    ).toMatchObject({ agreeing: 2, unmeasured: 1, skewed: false });
  });

  it('the offset is this clock minus the median of all measured clocks, itself included', () => {
    expect(
      judgeSkew(
        new Map([
          ['n2', 100],
          ['n3', 300],
          ['n4', undefined],
        ]),
        250,
      ).offsetMs,
    ).toBe(-100);
    expect(
      judgeSkew(
        new Map([
          ['n2', -40],
          ['n3', 10],
          ['n4', 20],
        ]),
        250,
      ).offsetMs,
    ).toBe(-5);
  });
});
