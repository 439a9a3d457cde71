/**
 * Options of `ringstore bench`: sizes (`4KiB`, `1MiB`, a mix `4KiB:70,1MiB:25,64MiB:5`), the
 * workload, how long it runs and where it sends requests. Pure: parses and validates the values
 * the CLI parsed, and every problem names the flag, the value and the expected form.
 */

/** The workloads `--op` accepts. */
export const BENCH_OPS = ['put', 'get', 'head', 'delete', 'list', 'mixed', 'multipart'] as const;
/** A workload. */
export type BenchOp = (typeof BENCH_OPS)[number];
/** One kind of timed operation (a `mixed` run does `get` and `put`). */
export type OpKind = Exclude<BenchOp, 'mixed'>;
/** How keys are picked from the key space. */
export type KeyDistribution = 'uniform' | 'zipf';

/** One object size of a size spec and its share of the keys. */
export interface SizeClass {
  readonly bytes: number;
  /** Relative weight (the mix need not add up to 100). */
  readonly weight: number;
}

/** `--size`: one size, or a weighted mix of sizes. */
export interface SizeSpec {
  readonly classes: readonly SizeClass[];
  /** As given, normalised (`4KiB`, `4KiB:70,1MiB:30`). */
  readonly label: string;
  /** Weighted mean object size in bytes. */
  readonly meanBytes: number;
}

/** Where the requests go: an S3 endpoint, or a local cluster the bench starts and stops. */
export type BenchTarget =
  | { readonly kind: 'endpoint'; readonly endpoint: string; readonly accessKey: string; readonly secretKey: string }
  | { readonly kind: 'local'; readonly nodes: number; readonly nodeLogLevel: string; readonly dataRoot: string | undefined };

/** Every setting of one bench run, validated. */
export interface BenchOptions {
  readonly target: BenchTarget;
  readonly region: string;
  readonly bucket: string;
  readonly op: BenchOp;
  readonly sizes: SizeSpec;
  /** Fraction of GETs in a mixed run. */
  readonly readRatio: number;
  /** Key-space size. */
  readonly objects: number;
  readonly distribution: KeyDistribution;
  /** Zipf exponent s (weight of rank k is 1/k^s). */
  readonly zipfS: number;
  /** Keys are `<prefix>/<index>`. */
  readonly prefix: string;
  readonly partSize: number;
  readonly listMaxKeys: number;
  readonly skipPopulate: boolean;
  readonly signPayload: boolean;
  readonly concurrency: number;
  /** Requests in flight while populating (default: `concurrency`). */
  readonly populateConcurrency: number;
  /** Measured seconds; undefined with `count`. */
  readonly durationS: number | undefined;
  /** Operations to run; undefined with `durationS`. */
  readonly count: number | undefined;
  readonly warmupS: number;
  readonly timeoutS: number;
  readonly maxTimeS: number;
  readonly json: boolean;
  readonly outDir: string | undefined;
  readonly label: string | undefined;
  readonly quiet: boolean;
  /** Start the local cluster, print how to reach it, and wait (for suites). */
  readonly serve: boolean;
  readonly profile: boolean;
  readonly profileTop: number;
  readonly profileIntervalUs: number;
  /** Server processes to account CPU and disk writes to (with their descendants). */
  readonly serverPids: readonly number[];
  /** Or: server processes found by command line. */
  readonly serverMatch: RegExp | undefined;
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** Bytes of a size like `4096`, `4KiB`, `1MiB`, `1.5MB`, `64m`; undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (m === null) return undefined;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `4KiB`, `1MiB`, `64MiB`, `1.5KiB` → shortest exact binary unit, else bytes (`1000B`). */
export function formatSize(bytes: number): string {
  for (const [unit, value] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= value && bytes % value === 0) return `${bytes / value}${unit}`;
  }
  return `${bytes}B`;
}

/** Parses `--size`: `4KiB`, or `4KiB:70,1MiB:25,64MiB:5`; undefined when malformed. */
export function parseSizeSpec(text: string): SizeSpec | undefined {
  const parts = text.split(',').map((p) => p.trim());
  const classes: SizeClass[] = [];
  for (const part of parts) {
    const [sizeText, weightText, extra] = part.split(':');
    if (sizeText === undefined || extra !== undefined) return undefined;
    const bytes = parseSize(sizeText);
    if (bytes === undefined || bytes < 1) return undefined;
    let weight = 1;
    if (weightText !== undefined) {
      weight = Number(weightText);
      if (weightText.trim() === '' || !Number.isFinite(weight) || weight <= 0) return undefined;
    } else if (parts.length > 1) {
      return undefined;
    }
    if (classes.some((c) => c.bytes === bytes)) return undefined;
    classes.push({ bytes, weight });
  }
  if (classes.length === 0) return undefined;
  const total = classes.reduce((sum, c) => sum + c.weight, 0);
  const meanBytes = classes.reduce((sum, c) => sum + (c.bytes * c.weight) / total, 0);
  const label = classes.length === 1 ? formatSize(classes[0]!.bytes) : classes.map((c) => `${formatSize(c.bytes)}:${c.weight}`).join(',');
  return { classes, label, meanBytes };
}

/** The default key space: about 256 MiB of data, between 8 and 1000 keys (as s3load does). */
export function defaultObjects(meanBytes: number): number {
  return Math.min(1000, Math.max(8, Math.floor((256 * 1024 * 1024) / Math.max(1, meanBytes))));
}

/** The raw flag values (as `parseArgs` gives them) and environment the options come from. */
export type RawValues = Readonly<Record<string, string | boolean | undefined>>;

class OptionError extends Error {}

function fail(flag: string, value: unknown, expected: string): never {
  throw new OptionError(`--${flag} = ${String(value)}; expected ${expected}`);
}

function str(values: RawValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function int(values: RawValues, name: string, fallback: number, min: number, max: number): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(name, v, `an integer between ${min} and ${max}`);
  return n;
}

function num(values: RawValues, name: string, fallback: number, min: number, max: number, minExclusive = false): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (minExclusive && n === min)) fail(name, v, `a number ${minExclusive ? '>' : '≥'} ${min} and ≤ ${max}`);
  return n;
}

function oneOf<T extends string>(values: RawValues, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) fail(name, v, `one of ${allowed.join(', ')}`);
  return v as T;
}

function target(values: RawValues, env: Readonly<Record<string, string | undefined>>): BenchTarget {
  const endpoint = str(values, 'endpoint');
  if (endpoint !== undefined) {
    if (values['nodes'] !== undefined) throw new OptionError('--nodes starts a local cluster; it cannot be combined with --endpoint');
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      fail('endpoint', endpoint, 'an http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('endpoint', endpoint, 'an http:// or https:// URL');
    if (url.search !== '' || url.hash !== '') fail('endpoint', endpoint, 'a URL without query or fragment');
    const accessKey = str(values, 'access-key') ?? env['AWS_ACCESS_KEY_ID'];
    const secretKey = str(values, 'secret') ?? env['AWS_SECRET_ACCESS_KEY'];
    if (accessKey === undefined || accessKey === '') throw new OptionError('--endpoint needs --access-key (or $AWS_ACCESS_KEY_ID)');
    if (secretKey === undefined || secretKey === '') throw new OptionError('--endpoint needs --secret (or $AWS_SECRET_ACCESS_KEY)');
    return { kind: 'endpoint', endpoint: endpoint.replace(/\/+$/, ''), accessKey, secretKey };
  }
  for (const flag of ['access-key', 'secret']) {
    if (values[flag] !== undefined) throw new OptionError(`--${flag} needs --endpoint (without it, the bench starts a local cluster with fresh credentials)`);
  }
  const nodes = int(values, 'nodes', 3, 1, 9);
  const nodeLogLevel = oneOf(values, 'node-log-level', ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], 'warn');
  return { kind: 'local', nodes, nodeLogLevel, dataRoot: str(values, 'data') };
}

/**
 * Validates the flag values of `ringstore bench` into options; `{ error }` says what is wrong
 * with which flag.
 */
export function resolveBenchOptions(values: RawValues, env: Readonly<Record<string, string | undefined>> = {}): { options: BenchOptions } | { error: string } {
  try {
    return { options: resolve(values, env) };
  } catch (error) {
    if (error instanceof OptionError) return { error: error.message };
    throw error;
  }
}

function resolve(values: RawValues, env: Readonly<Record<string, string | undefined>>): BenchOptions {
  const t = target(values, env);
  const op = oneOf(values, 'op', BENCH_OPS, 'put');
  const sizeText = str(values, 'size') ?? '4KiB';
  const sizes = parseSizeSpec(sizeText);
  if (sizes === undefined) fail('size', sizeText, 'a size like 4KiB, 1MiB, 64MiB, or a mix like 4KiB:70,1MiB:25,64MiB:5');
  const durationText = str(values, 'duration');
  const countText = str(values, 'count');
  if (durationText !== undefined && countText !== undefined) throw new OptionError('give --duration or --count, not both');
  const count = countText === undefined ? undefined : int(values, 'count', 0, 1, Number.MAX_SAFE_INTEGER);
  const durationS = count !== undefined ? undefined : num(values, 'duration', 20, 0, 86_400, true);
  const objectsDefault = op === 'delete' && count !== undefined ? count : defaultObjects(sizes.meanBytes);
  const objects = int(values, 'objects', objectsDefault, 1, 10_000_000);
  const partSize = (() => {
    const text = str(values, 'part-size') ?? '8MiB';
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < 5 * 1024 * 1024 || bytes > 5 * 1024 ** 3) fail('part-size', text, 'a size between 5MiB and 5GiB (the S3 part limits)');
    return bytes;
  })();
  const largest = Math.max(...sizes.classes.map((c) => c.bytes));
  if (op === 'multipart' && Math.ceil(largest / partSize) > 10_000) fail('part-size', formatSize(partSize), `a part size giving at most 10,000 parts for ${formatSize(largest)}`);
  const serverPidsText = str(values, 'server-pids');
  const serverPids =
    serverPidsText === undefined
      ? []
      : serverPidsText.split(',').map((p) => {
          const n = Number(p.trim());
          if (!Number.isSafeInteger(n) || n < 1) fail('server-pids', serverPidsText, 'a comma-separated list of process ids');
          return n;
        });
  const serverMatchText = str(values, 'server-match');
  let serverMatch: RegExp | undefined;
  if (serverMatchText !== undefined) {
    try {
      serverMatch = new RegExp(serverMatchText);
    } catch {
      fail('server-match', serverMatchText, 'a regular expression');
    }
  }
  const profile = values['profile'] === true;
  const serve = values['serve'] === true;
  if ((profile || serve) && t.kind !== 'local') throw new OptionError(`--${profile ? 'profile' : 'serve'} needs the local cluster (leave out --endpoint)`);
  if (t.kind === 'local' && (serverPids.length > 0 || serverMatch !== undefined)) {
    throw new OptionError("--server-pids/--server-match are for --endpoint runs; the local cluster's processes are measured anyway");
  }
  const bucket = str(values, 'bucket') ?? 'ringbench';
  // Only what would break the path; whether the name is valid is the server's call (the example uses "b").
  if (!/^[^/\s?#]{1,255}$/.test(bucket)) fail('bucket', bucket, 'a bucket name without "/", spaces, "?" or "#"');
  const prefix = (str(values, 'prefix') ?? `ringbench/${sizes.label.replace(/[:,]/g, (c) => (c === ':' ? '-' : '_'))}`).replace(/\/+$/, '');
  if (prefix === '') fail('prefix', str(values, 'prefix'), 'a non-empty key prefix');
  const concurrency = int(values, 'concurrency', 16, 1, 4096);
  const label = str(values, 'label');
  const outDir = str(values, 'out');
  return {
    target: t,
    region: str(values, 'region') ?? 'us-east-1',
    bucket,
    op,
    sizes,
    readRatio: num(values, 'read-ratio', 0.7, 0, 1),
    objects,
    distribution: oneOf(values, 'distribution', ['uniform', 'zipf'], 'uniform'),
    zipfS: num(values, 'zipf-s', 0.99, 0, 10, true),
    prefix,
    partSize,
    listMaxKeys: int(values, 'list-max-keys', 1000, 1, 1000),
    skipPopulate: values['skip-populate'] === true,
    signPayload: values['sign-payload'] === true,
    concurrency,
    populateConcurrency: int(values, 'populate-concurrency', concurrency, 1, 4096),
    durationS,
    count,
    // With --count or a delete run a warm-up would use up keys or operations; it only applies to timed runs.
    warmupS: count === undefined && op !== 'delete' ? num(values, 'warmup', 0, 0, 3600) : 0,
    timeoutS: num(values, 'timeout', 120, 0, 3600, true),
    maxTimeS: num(values, 'max-time', 900, 0, 7 * 86_400, true),
    json: values['json'] === true,
    outDir,
    label,
    quiet: values['quiet'] === true,
    serve,
    profile,
    profileTop: int(values, 'profile-top', 10, 1, 1000),
    profileIntervalUs: int(values, 'profile-interval', 1000, 50, 1_000_000),
    serverPids,
    serverMatch,
  };
}
