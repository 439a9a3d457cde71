/**
 * The cluster helper itself: a node that dies without the test killing it, or that logs an
 * uncaught exception, makes `stop()` throw, so a crash after an answered request fails its test.
 */
import { describe, it, expect } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';

describe('TestCluster reports what the test did not cause', () => {
  it('a node that died unasked fails stop(); one the test killed does not', async () => {
    const cluster = await TestCluster.start({ nodes: 3 });
    expect(cluster.problems()).toEqual([]);
    await cluster.kill('n3');
    expect(cluster.problems()).toEqual([]);
    const n1 = cluster.node('n1').process!;
    const exited = new Promise((resolve) => n1.once('exit', resolve));
    process.kill(n1.pid!, 'SIGKILL');
    await exited;
    expect(cluster.problems().join('\n')).toMatch(/n1 exited \(SIGKILL\) without being stopped by the test/);
    await expect(cluster.stop()).rejects.toThrow(/not healthy at the end of the test/);
  });
});
