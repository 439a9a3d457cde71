/**
 * Validation of a merged config tree into a typed `Config`. Every problem is collected and
 * reported at once, each as `config: <key.path> = <value>; expected <form>`, so an operator
 * fixes a config in one pass. Secret values never appear in messages, only their length.
 */
import { RingstoreError } from '../util/errors.js';
import { parseHostPort } from '../util/http-server.js';
import { CONFIG_KEYS, type Config, type ConfigKeySpec, type MemberConfig } from './schema.js';
import { closest, formatSize, formatValue, getPath, isPlainObject, parseSize, setPath, type ConfigTree } from './values.js';

/** Where each key's value came from, by key path: `RINGSTORE_S3_LISTEN`, `--s3.listen`, `config file x.json`. */
export type ConfigSources = Readonly<Record<string, string>>;

/** The outcome of checking a config tree. */
export interface ConfigCheck {
  /** The typed config, when there are no problems. */
  readonly config: Config | undefined;
  /** One line per problem, each naming the key path, the value and the expected form. */
  readonly problems: readonly string[];
  /** Legal but probably unintended settings. */
  readonly warnings: readonly string[];
}

const MEMBER_KEYS = ['id', 'address', 'zone', 'capacity'] as const;
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const ZONE = /^[A-Za-z0-9_.-]{1,64}$/;

/** One problem line: `config: <path> = <value>; expected <form>`, plus where the value came from. */
export function configProblem(path: string, value: unknown, expected: string, options: { secret?: boolean; source?: string | undefined } = {}): string {
  const from = options.source !== undefined ? ` (from ${options.source})` : '';
  return `config: ${path} = ${formatValue(value, options.secret ?? false)}; expected ${expected}${from}`;
}

/** The expected form of a key, in words, as used after "expected". */
export function expectedForm(spec: ConfigKeySpec): string {
  switch (spec.kind) {
    case 'int':
      if (spec.min !== undefined && spec.max !== undefined) return `an integer between ${spec.min} and ${spec.max}`;
      return spec.min !== undefined ? `an integer ≥ ${spec.min}` : 'an integer';
    case 'size':
      return `a size between ${formatSize(spec.min ?? 0)} and ${formatSize(spec.max ?? Number.MAX_SAFE_INTEGER)}, in bytes or with a unit (e.g. 65536, 64KiB, 5GiB)`;
    case 'bool':
      return 'true or false';
    case 'hostport':
      return spec.anyPort === true ? '"host:port" (or "[ipv6]:port") with a port between 0 and 65535 (0 = any free port)' : '"host:port" (or "[ipv6]:port") with a port between 1 and 65535';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'members':
      return 'a list of members {id, address, zone, capacity}';
    case 'string':
      return spec.form ?? 'a string';
  }
}

/** The single InvalidConfig error listing every problem. */
export function invalidConfigError(problems: readonly string[]): RingstoreError {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return new RingstoreError('InvalidConfig', `invalid configuration (${count}):\n  ${problems.join('\n  ')}`, {
    problems: [...problems],
  });
}

function setHint(spec: ConfigKeySpec): string {
  if (spec.secret) return `set ${spec.env}${spec.fileEnv !== undefined ? ` or ${spec.fileEnv}` : ''}`;
  return `set ${spec.env}, --${spec.path} or "${spec.path}" in the config file`;
}

function isValidHostPort(value: string, anyPort: boolean): boolean {
  try {
    const { port } = parseHostPort(value);
    return anyPort || port >= 1;
  } catch {
    return false;
  }
}

/** Checks one scalar key; returns the typed value or undefined after recording a problem. */
function checkScalar(spec: ConfigKeySpec, value: unknown, problem: (expected: string) => void): unknown {
  switch (spec.kind) {
    case 'int': {
      const ok = typeof value === 'number' && Number.isSafeInteger(value) && value >= (spec.min ?? -Infinity) && value <= (spec.max ?? Infinity);
      if (!ok) problem(expectedForm(spec));
      return ok ? value : undefined;
    }
    case 'size': {
      const bytes = typeof value === 'number' ? value : typeof value === 'string' ? parseSize(value) : undefined;
      const ok = bytes !== undefined && Number.isSafeInteger(bytes) && bytes >= (spec.min ?? 0) && bytes <= (spec.max ?? Infinity);
      if (!ok) problem(expectedForm(spec));
      return ok ? bytes : undefined;
    }
    case 'bool':
      if (typeof value !== 'boolean') problem(expectedForm(spec));
      return typeof value === 'boolean' ? value : undefined;
    case 'hostport': {
      const ok = typeof value === 'string' && isValidHostPort(value, spec.anyPort === true);
      if (!ok) problem(expectedForm(spec));
      return ok ? value : undefined;
    }
    case 'enum': {
      const ok = typeof value === 'string' && (spec.values ?? []).includes(value);
      if (!ok) problem(expectedForm(spec));
      return ok ? value : undefined;
    }
    case 'string': {
      const ok = typeof value === 'string' && (spec.pattern === undefined || spec.pattern.test(value));
      if (!ok) problem(expectedForm(spec));
      return ok ? value : undefined;
    }
    case 'members':
      return undefined;
  }
}

/** Checks the members list; returns it typed or undefined after recording problems. */
function checkMembers(value: unknown, report: (path: string, value: unknown, expected: string) => void): MemberConfig[] | undefined {
  const base = 'cluster.members';
  if (!Array.isArray(value)) {
    report(base, value, 'a list of members {id, address, zone, capacity}');
    return undefined;
  }
  const members: MemberConfig[] = [];
  let ok = true;
  value.forEach((item: unknown, i) => {
    const at = `${base}[${i}]`;
    if (!isPlainObject(item)) {
      report(at, item, 'an object {id, address, zone, capacity}');
      ok = false;
      return;
    }
    for (const k of Object.keys(item)) {
      if (!(MEMBER_KEYS as readonly string[]).includes(k)) {
        report(`${at}.${k}`, item[k], `only the member keys ${MEMBER_KEYS.join(', ')}`);
        ok = false;
      }
    }
    const { id, address, zone, capacity } = item;
    const fieldOk = [
      typeof id === 'string' && NODE_ID.test(id) ? true : (report(`${at}.id`, id, 'a node id of 1–64 characters from A–Z a–z 0–9 _ . -'), false),
      typeof address === 'string' && isValidHostPort(address, false)
        ? true
        : (report(`${at}.address`, address, '"host:port" (or "[ipv6]:port") with a port between 1 and 65535, where peers reach its RPC port'), false),
      typeof zone === 'string' && ZONE.test(zone) ? true : (report(`${at}.zone`, zone, 'a zone name of 1–64 characters from A–Z a–z 0–9 _ . -'), false),
      typeof capacity === 'number' && Number.isFinite(capacity) && capacity >= 0 ? true : (report(`${at}.capacity`, capacity, 'a number ≥ 0 (0 = gateway only, stores no data)'), false),
    ].every(Boolean);
    if (fieldOk) members.push({ id: id as string, address: address as string, zone: zone as string, capacity: capacity as number });
    else ok = false;
  });
  if (!ok) return undefined;
  for (const field of ['id', 'address'] as const) {
    const seen = new Map<string, number>();
    members.forEach((m, i) => {
      const first = seen.get(m[field]);
      if (first !== undefined) {
        report(`${base}[${i}].${field}`, m[field], `${field === 'id' ? 'an id' : 'an address'} not used by another member (also ${base}[${first}])`);
        ok = false;
      } else {
        seen.set(m[field], i);
      }
    });
  }
  return ok ? members : undefined;
}

/** Records every key of `input` that is not in the key table, with a "did you mean" hint. */
function checkUnknownKeys(input: Record<string, unknown>, problems: string[], sources: ConfigSources): void {
  const paths = CONFIG_KEYS.map((k) => k.path);
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      const path = prefix === '' ? k : `${prefix}.${k}`;
      if (paths.includes(path)) continue;
      const children = paths.filter((p) => p.startsWith(`${path}.`));
      if (children.length > 0) {
        if (isPlainObject(v)) walk(v, path);
        else problems.push(configProblem(path, v, `an object with the keys ${children.map((c) => c.slice(path.length + 1)).join(', ')}`, { source: sources[path] }));
        continue;
      }
      const guess = closest(path, paths);
      const from = sources[path] !== undefined ? ` in ${sources[path]}` : '';
      problems.push(`config: ${path}: unknown key${from}${guess !== undefined ? ` (did you mean ${guess}?)` : ''}`);
    }
  };
  walk(input, '');
}

/** Options of `checkConfig`. */
export interface CheckOptions {
  /** Key paths already reported by the loader (e.g. an unreadable secret file): not reported again. */
  readonly skip?: ReadonlySet<string>;
}

/**
 * Checks a config tree (e.g. the loader's merge, or a literal in a test) and builds the typed
 * `Config`. Missing keys take their defaults; `dataDir` defaults to `./data/<nodeId>`.
 */
export function checkConfig(input: unknown, sources: ConfigSources = {}, options: CheckOptions = {}): ConfigCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!isPlainObject(input)) {
    return { config: undefined, problems: [configProblem('(config)', input, 'a JSON object')], warnings };
  }
  checkUnknownKeys(input, problems, sources);

  const out: ConfigTree = {};
  const valid = new Set<string>();
  for (const spec of CONFIG_KEYS) {
    let value = getPath(input, spec.path);
    if (value === undefined) value = spec.default;
    if (value === undefined && spec.path === 'dataDir') {
      const nodeId = getPath(input, 'nodeId');
      if (typeof nodeId === 'string' && NODE_ID.test(nodeId)) value = `./data/${nodeId}`;
      // Derived from nodeId: the nodeId problem already says what to fix.
      else continue;
    }
    const report = (path: string, v: unknown, expected: string): void => {
      if (options.skip?.has(spec.path) === true) return;
      const hint = v === undefined && path === spec.path ? ` — ${setHint(spec)}` : '';
      problems.push(configProblem(path, v, `${expected}${hint}`, { secret: spec.secret, source: sources[spec.path] }));
    };
    const typed = spec.kind === 'members' ? checkMembers(value, report) : checkScalar(spec, value, (expected) => report(spec.path, value, expected));
    if (typed !== undefined) {
      setPath(out, spec.path, typed);
      valid.add(spec.path);
    }
  }

  const get = (path: string): unknown => (valid.has(path) ? getPath(out, path) : undefined);
  const source = (path: string): string | undefined => sources[path];
  const n = get('replication.factor');
  if (typeof n === 'number') {
    for (const path of ['replication.readQuorum', 'replication.writeQuorum']) {
      const q = get(path);
      if (typeof q === 'number' && q > n) problems.push(configProblem(path, q, `an integer between 1 and replication.factor (${n})`, { source: source(path) }));
    }
    const members = get('cluster.members') as MemberConfig[] | undefined;
    if (members !== undefined) {
      const dataMembers = members.filter((m) => m.capacity > 0).length;
      if (n > dataMembers) {
        const hint = members.length === 0 ? '; set cluster.members' : '';
        problems.push(configProblem('replication.factor', n, `at most the number of cluster.members with capacity > 0 (${dataMembers})${hint}`, { source: source('replication.factor') }));
      }
    }
    const r = get('replication.readQuorum');
    const w = get('replication.writeQuorum');
    if (typeof r === 'number' && typeof w === 'number' && r <= n && w <= n && r + w <= n) {
      warnings.push(`replication: R (${r}) + W (${w}) ≤ N (${n}): a read may miss the latest acknowledged write`);
    }
  }
  const nodeId = get('nodeId');
  const members = get('cluster.members') as MemberConfig[] | undefined;
  if (typeof nodeId === 'string' && members !== undefined && members.length > 0) {
    const self = members.find((m) => m.id === nodeId);
    if (self === undefined) {
      warnings.push(`nodeId ${nodeId} is not in cluster.members: this node runs as a gateway only and stores no data`);
    } else {
      const listen = get('rpc.listen');
      if (typeof listen === 'string') {
        const listenPort = parseHostPort(listen).port;
        const memberPort = parseHostPort(self.address).port;
        if (listenPort !== 0 && listenPort !== memberPort) {
          warnings.push(`rpc.listen port ${listenPort} differs from this node's cluster.members address ${self.address}: peers may not reach it`);
        }
      }
    }
  }

  return { config: problems.length === 0 ? (out as unknown as Config) : undefined, problems, warnings };
}

/** Checks a config tree and returns the typed `Config`, or throws one InvalidConfig listing every problem. */
export function validateConfig(input: unknown, sources: ConfigSources = {}): Config {
  const { config, problems } = checkConfig(input, sources);
  if (config === undefined) throw invalidConfigError(problems);
  return config;
}
