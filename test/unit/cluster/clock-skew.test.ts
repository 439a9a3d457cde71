import { describe, it, expect } from 'vitest';
import { OffsetEstimator, judgeSkew, median, offsetSample } from '../../../src/cluster/clock-skew.js';

describe('offsetSample (NTP-style)', () => {
  it('is the peer time minus the midpoint of the round trip', () => {
    // Sent at 1000, the peer read its clock at 2005, the answer came back at 1010: the peer is ~1000 ms ahead.
    expect(offsetSample(1000, 2005, 1010)).toEqual({ offsetMs: 1000, rttMs: 10 });
    expect(offsetSample(1000, 1003, 1010)).toEqual({ offsetMs: -2, rttMs: 10 });
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
});

describe('OffsetEstimator', () => {
  it('has no estimate before the first sample', () => {
    expect(new OffsetEstimator({ maxRttMs: 250 }).offset('n2')).toBeUndefined();
  });

  it('one odd ping does not flip the estimate: it is the median of the last samples', () => {
    const e = new OffsetEstimator({ window: 5, maxRttMs: 250 });
    for (const offset of [1000, 1002, 998]) e.add('n2', { offsetMs: offset, rttMs: 4 });
    e.add('n2', { offsetMs: -80, rttMs: 200 });
    expect(e.offset('n2')).toBe(999);
  });

  it('follows a clock that was corrected once most of the window agrees', () => {
    const e = new OffsetEstimator({ window: 5, maxRttMs: 250 });
    for (let i = 0; i < 5; i++) e.add('n2', { offsetMs: 1000, rttMs: 2 });
    for (let i = 0; i < 2; i++) e.add('n2', { offsetMs: 0, rttMs: 2 });
    expect(e.offset('n2')).toBe(1000);
    e.add('n2', { offsetMs: 0, rttMs: 2 });
    expect(e.offset('n2')).toBe(0);
  });

  it('drops samples whose round trip exceeds the bound (their error could be as large)', () => {
    const e = new OffsetEstimator({ maxRttMs: 250 });
    expect(e.add('n2', { offsetMs: 400, rttMs: 600 })).toBe(false);
    expect(e.offset('n2')).toBeUndefined();
    expect(e.add('n2', { offsetMs: 3, rttMs: 250 })).toBe(true);
    expect(e.offset('n2')).toBe(3);
  });
});

describe('judgeSkew', () => {
  const bound = 250;

  it('with one node 1 s ahead of two that agree, only that node is skewed', () => {
    const fast = judgeSkew(
      new Map([
        ['n2', -1000],
        ['n3', -1001],
      ]),
      bound,
    );
    expect(fast).toMatchObject({ skewed: true, agreeing: 1, members: 3 });
    expect(fast.offsetMs).toBe(1000);
    const honest = judgeSkew(
      new Map([
        ['n1', 1000],
        ['n3', -1],
      ]),
      bound,
    );
    expect(honest).toMatchObject({ skewed: false, agreeing: 2, members: 3 });
    expect(honest.offsetMs).toBe(0);
  });

  it('a node 1 s behind is skewed too', () => {
    expect(
      judgeSkew(
        new Map([
          ['n2', 1000],
          ['n3', 1003],
        ]),
        bound,
      ),
    ).toMatchObject({ skewed: true, offsetMs: -1000 });
  });

  it('offsets within the bound are fine', () => {
    expect(
      judgeSkew(
        new Map([
          ['n2', 240],
          ['n3', -240],
        ]),
        bound,
      ).skewed,
    ).toBe(false);
  });

  it('gives members not measured yet the benefit of the doubt', () => {
    expect(
      judgeSkew(
        new Map([
          ['n2', undefined],
          ['n3', undefined],
        ]),
        bound,
      ).skewed,
    ).toBe(false);
    expect(
      judgeSkew(
        new Map([
          ['n2', -1000],
          ['n3', undefined],
        ]),
        bound,
      ).skewed,
    ).toBe(false);
  });

  it('two nodes that disagree with no third to decide are both skewed', () => {
    // n3 was measured once (agreeing with n2) and is down now; here n1 and n2 each see the other 1 s off.
    expect(
      judgeSkew(
        new Map([
          ['n2', -1000],
          ['n3', -1000],
        ]),
        bound,
      ).skewed,
    ).toBe(true);
    expect(judgeSkew(new Map([['n1', 1000]]), bound)).toMatchObject({ skewed: true, members: 2 });
  });

  it('a single-node cluster is never skewed', () => {
    expect(judgeSkew(new Map(), bound)).toMatchObject({ skewed: false, members: 1, offsetMs: 0 });
  });

  it('in five nodes, two off on the same side leave the three that agree writing', () => {
    expect(
      judgeSkew(
        new Map([
          ['n2', 0],
          ['n3', 2],
          ['n4', 900],
          ['n5', 950],
        ]),
        bound,
      ).skewed,
    ).toBe(false);
    expect(
      judgeSkew(
        new Map([
          ['n1', -900],
          ['n2', -900],
          ['n3', -898],
          ['n5', 50],
        ]),
        bound,
      ),
    ).toMatchObject({ skewed: true, agreeing: 2, members: 5 });
  });
});
