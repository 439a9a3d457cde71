import { describe, it, expect } from 'vitest';
import { accept, commit, prepare, type AcceptorState, type RecordView } from '../../../src/consensus/acceptor.js';
import { runConditionalWrite, type AcceptorLink } from '../../../src/consensus/conditional-write.js';
import { HybridClock } from '../../../src/util/clock.js';
import { seededRandom } from '../../../src/util/random.js';

/** Three in-memory acceptors for one key, answering at once; `down` ones throw. */
function acceptors(down: ReadonlySet<string> = new Set()) {
  const states = new Map<string, AcceptorState<string>>();
  const records = new Map<string, RecordView & { value: string }>();
  const calls: string[] = [];
  const reach = (node: string, verb: string): void => {
    calls.push(`${verb} ${node}`);
    if (down.has(node)) throw new Error(`${node} is down`);
  };
  const link: AcceptorLink<string> = {
    prepare: async (node, ballot) => {
      reach(node, 'prepare');
      const t = prepare(states.get(node) ?? {}, ballot, { record: records.get(node) });
      states.set(node, t.state);
      return t.reply;
    },
    accept: async (node, ballot, proposal) => {
      reach(node, 'accept');
      const t = accept(states.get(node) ?? {}, ballot, proposal, { record: records.get(node) });
      states.set(node, t.state);
      return t.reply;
    },
    commit: async (node, ballot, proposal) => {
      reach(node, 'commit');
      const t = commit(states.get(node) ?? {}, ballot, proposal);
      states.set(node, t.state);
      if (t.applies && proposal.value !== null) records.set(node, { version: ballot, tombstone: false, etag: proposal.value, value: proposal.value, writer: proposal.id });
    },
    catchUp: async (node) => {
      reach(node, 'catch-up');
      return { kind: 'accepted' };
    },
  };
  return { link, records, calls };
}

const deps = (link: AcceptorLink<string>) => ({
  owners: ['a', 'b', 'c'],
  needed: 2,
  link,
  clock: new HybridClock('gw', { now: () => 1_000 }),
  now: () => 0,
  sleep: async () => undefined,
  random: seededRandom(1),
});

describe('runConditionalWrite', () => {
  it('uncontended: one attempt of prepare, accept and commit on every owner', async () => {
    const { link, records, calls } = acceptors();
    const outcome = await runConditionalWrite({ id: 'r1', condition: { kind: 'if-none-match' }, value: 'v1' }, deps(link));
    expect(outcome).toMatchObject({ kind: 'applied', attempts: 1 });
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['prepare', 'prepare', 'prepare', 'accept', 'accept', 'accept', 'commit', 'commit', 'commit']);
    expect([...records.values()].map((r) => r.value)).toEqual(['v1', 'v1', 'v1']);
  });

  it('a second If-None-Match is refused (412) from the stored record, a matching If-Match applies', async () => {
    const { link } = acceptors();
    await runConditionalWrite({ id: 'r1', condition: { kind: 'if-none-match' }, value: 'v1' }, deps(link));
    expect(await runConditionalWrite({ id: 'r2', condition: { kind: 'if-none-match' }, value: 'v2' }, deps(link))).toMatchObject({ kind: 'refused', refusal: 'precondition-failed' });
    expect(await runConditionalWrite({ id: 'r3', condition: { kind: 'if-match', etag: 'nope' }, value: 'v3' }, deps(link))).toMatchObject({ kind: 'refused', refusal: 'precondition-failed' });
    expect(await runConditionalWrite({ id: 'r4', condition: { kind: 'if-match', etag: 'v1' }, value: 'v4' }, deps(link))).toMatchObject({ kind: 'applied' });
  });

  it('If-Match on a missing key is 404', async () => {
    const { link } = acceptors();
    expect(await runConditionalWrite({ id: 'r1', condition: { kind: 'if-match', etag: 'x' }, value: 'v' }, deps(link))).toMatchObject({ kind: 'refused', refusal: 'no-such-key' });
  });

  it('a retry of an applied request gets its success again, not 412', async () => {
    const { link } = acceptors();
    await runConditionalWrite({ id: 'r1', condition: { kind: 'if-none-match' }, value: 'v1' }, deps(link));
    expect(await runConditionalWrite({ id: 'r1', condition: { kind: 'if-none-match' }, value: 'v1' }, deps(link))).toMatchObject({ kind: 'applied' });
  });

  it('with two of three owners down: unavailable (503), nothing accepted nor applied', async () => {
    const { link, records, calls } = acceptors(new Set(['b', 'c']));
    const outcome = await runConditionalWrite({ id: 'r1', condition: { kind: 'if-none-match' }, value: 'v1' }, deps(link));
    expect(outcome).toMatchObject({ kind: 'unavailable', maybeApplied: false });
    expect(calls.filter((c) => !c.startsWith('prepare'))).toEqual([]);
    expect(records.size).toBe(0);
  });
});
