import { describe, it, expect } from 'vitest';
import { defaultObjects, formatSize, parseSize, parseSizeSpec, resolveBenchOptions, type BenchOptions } from '../../../src/bench/options.js';

const ENDPOINT = { endpoint: 'http://127.0.0.1:9000', 'access-key': 'K', secret: 'S' };

function options(values: Record<string, string | boolean>): BenchOptions {
  const r = resolveBenchOptions(values);
  if ('error' in r) throw new Error(r.error);
  return r.options;
}

function error(values: Record<string, string | boolean>, env: Record<string, string> = {}): string {
  const r = resolveBenchOptions(values, env);
  if (!('error' in r)) throw new Error('expected an error');
  return r.error;
}

describe('parseSize / formatSize', () => {
  it.each([
    ['4096', 4096],
    ['4KiB', 4096],
    ['4k', 4096],
    ['4KB', 4000],
    ['1MiB', 1048576],
    ['1.5MiB', 1572864],
    ['64MiB', 67108864],
    ['1GiB', 1073741824],
    [' 2 mib ', 2097152],
  ])('%s is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'KiB', '4XB', '-1', '1e3', '4 KiB extra'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  it.each([
    [4096, '4KiB'],
    [1048576, '1MiB'],
    [67108864, '64MiB'],
    [1000, '1000B'],
    [1536, '1536B'],
  ])('%i formats as %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});

describe('parseSizeSpec', () => {
  it('reads a single size', () => {
    expect(parseSizeSpec('1MiB')).toEqual({ classes: [{ bytes: 1048576, weight: 1 }], label: '1MiB', meanBytes: 1048576 });
  });

  it('reads a weighted mix and its mean', () => {
    const spec = parseSizeSpec('4KiB:70,1MiB:25,64MiB:5')!;
    expect(spec.classes).toEqual([
      { bytes: 4096, weight: 70 },
      { bytes: 1048576, weight: 25 },
      { bytes: 67108864, weight: 5 },
    ]);
    expect(spec.label).toBe('4KiB:70,1MiB:25,64MiB:5');
    expect(spec.meanBytes).toBeCloseTo(0.7 * 4096 + 0.25 * 1048576 + 0.05 * 67108864, 3);
  });

  it('accepts weights that do not add up to 100', () => {
    expect(parseSizeSpec('4KiB:1, 8KiB:3')!.meanBytes).toBe(7168);
  });

  it.each(['', '4KiB,1MiB', '4KiB:0,1MiB:1', '4KiB:-1', '4KiB:x', '4KiB:1,4KiB:2', '4KiB:1:2', '0', 'big'])('rejects %j', (text) => {
    expect(parseSizeSpec(text)).toBeUndefined();
  });
});

describe('resolveBenchOptions', () => {
  it('defaults to a 20 s put of 4 KiB at c=16 against a local 3-node cluster', () => {
    const o = options({});
    expect(o.target).toEqual({ kind: 'local', nodes: 3, nodeLogLevel: 'warn', dataRoot: undefined });
    expect(o).toMatchObject({ op: 'put', concurrency: 16, durationS: 20, count: undefined, warmupS: 0, objects: 1000, bucket: 'ringbench', prefix: 'ringbench/4KiB' });
    expect(o).toMatchObject({ timeoutS: 120, maxTimeS: 900, readRatio: 0.7, distribution: 'uniform', signPayload: false, json: false, profile: false });
  });

  it('takes the example from the issue', () => {
    const o = options({ ...ENDPOINT, bucket: 'b', op: 'put', size: '4KiB', concurrency: '16', duration: '20', json: true });
    expect(o.target).toEqual({ kind: 'endpoint', endpoint: 'http://127.0.0.1:9000', accessKey: 'K', secretKey: 'S' });
    expect(o).toMatchObject({ bucket: 'b', op: 'put', concurrency: 16, durationS: 20, json: true });
  });

  it('reads credentials from the AWS environment variables', () => {
    const r = resolveBenchOptions({ endpoint: 'http://h:1' }, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    expect('options' in r && r.options.target).toEqual({ kind: 'endpoint', endpoint: 'http://h:1', accessKey: 'a', secretKey: 'b' });
  });

  it('sizes the key space from the mean object size', () => {
    expect(defaultObjects(4096)).toBe(1000);
    expect(defaultObjects(1048576)).toBe(256);
    expect(defaultObjects(67108864)).toBe(8);
    expect(options({ size: '64MiB' }).objects).toBe(8);
    expect(options({ op: 'delete', count: '50' }).objects).toBe(50);
    expect(options({ size: '4KiB:1,1MiB:1' }).prefix).toBe('ringbench/4KiB-1_1MiB-1');
  });

  it('ignores the warm-up for counted and delete runs', () => {
    expect(options({ warmup: '2', count: '10' }).warmupS).toBe(0);
    expect(options({ warmup: '2', op: 'delete' }).warmupS).toBe(0);
    expect(options({ warmup: '2' }).warmupS).toBe(2);
  });

  it.each([
    [{ op: 'copy' }, '--op = copy; expected one of put, get, head, delete, list, mixed, multipart'],
    [{ size: '4XB' }, '--size = 4XB; expected a size like'],
    [{ duration: '5', count: '5' }, 'give --duration or --count, not both'],
    [{ duration: '0' }, '--duration = 0; expected a number > 0'],
    [{ concurrency: '0' }, '--concurrency = 0; expected an integer between 1 and 4096'],
    [{ 'read-ratio': '1.5' }, '--read-ratio = 1.5'],
    [{ distribution: 'normal' }, '--distribution = normal; expected one of uniform, zipf'],
    [{ 'part-size': '1MiB' }, '--part-size = 1MiB; expected a size between 5MiB and 5GiB'],
    [{ bucket: 'a/b' }, '--bucket = a/b'],
    [{ endpoint: 'ftp://x' }, '--endpoint = ftp://x; expected an http:// or https:// URL'],
    [{ endpoint: 'http://x:1' }, '--endpoint needs --access-key'],
    [{ ...ENDPOINT, nodes: '3' }, '--nodes starts a local cluster; it cannot be combined with --endpoint'],
    [{ secret: 'S' }, '--secret needs --endpoint'],
    [{ ...ENDPOINT, profile: true }, '--profile needs the local cluster'],
    [{ 'server-pids': '1,2' }, '--server-pids/--server-match are for --endpoint runs'],
    [{ ...ENDPOINT, 'server-pids': '1,x' }, '--server-pids = 1,x'],
    [{ nodes: '10' }, '--nodes = 10; expected an integer between 1 and 9'],
  ])('rejects %j', (values, message) => {
    expect(error(values as Record<string, string | boolean>)).toContain(message);
  });
});
