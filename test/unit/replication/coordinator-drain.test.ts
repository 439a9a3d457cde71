/**
 * Coordinator.drain: the work a write leaves running after its answer (the third replica's
 * commit, a late stage's commit) is tracked, and drain resolves only once it is done, so a
 * stopping node does not close its transport under it.
 */
import { describe, it, expect } from 'vitest';
import { IDS, bodyOf, chunked, deferred, putInput, replicaHarness, stateOf, within } from '../../helpers/replica-faults.js';

describe('Coordinator.drain', () => {
  it.each([
    ['inline', Buffer.from('small')],
    ['staged', bodyOf(2 * 1024 * 1024 + 5, 3)],
  ] as const)('waits for the commit of a %s PUT that lands after the acknowledgement', async (_kind, data) => {
    const h = await replicaHarness();
    const gate = deferred();
    h.replicas.n3.commitGate = gate.promise;
    await within(h.coordinator.putObject(putInput('k', chunked(data))), 2000, 'PUT');
    expect(h.replicas.n3.applied).toEqual([]);
    const drained = h.coordinator.drain();
    expect(await stateOf(drained)).toBe('pending');
    gate.resolve();
    await within(drained, 2000, 'drain');
    for (const id of IDS) expect(h.replicas[id].applied.map((m) => m.key)).toEqual(['k']);
  });

  it('resolves at once when nothing is left running', async () => {
    const h = await replicaHarness();
    await h.coordinator.putObject(putInput('k', Buffer.from('x')));
    await stateOf(Promise.resolve());
    expect(await stateOf(h.coordinator.drain())).toBe('fulfilled');
  });
});
