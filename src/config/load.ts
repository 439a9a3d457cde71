/**
 * Loading the effective config: built-in defaults < JSON file (`--config` or RINGSTORE_CONFIG)
 * < `RINGSTORE_*` environment variables < flags. Secrets may also come from files named by
 * `*_FILE` variables (the Docker/Kubernetes secret convention). Everything is validated at once.
 */
import { readFileSync, statSync } from 'node:fs';
import { CONFIG_KEYS, META_ENV, configKey, type Config, type ConfigKeySpec } from './schema.js';
import { checkConfig, configProblem, expectedForm, invalidConfigError } from './validate.js';
import { closest, fromString, isPlainObject, parseBool, setPath, type ConfigTree } from './values.js';

/** Inputs of the loader; the process environment and flags are passed in so tests control them. */
export interface LoadConfigOptions {
  /** The JSON config file; `RINGSTORE_CONFIG` is used when absent. */
  readonly file?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Flag values by key path, e.g. `{ 's3.listen': '127.0.0.1:9001' }` from `--s3.listen 127.0.0.1:9001`. */
  readonly flags: Readonly<Record<string, string>>;
  /** Receives warnings: unknown RINGSTORE_* variables, secrets given as flags, gateway-only node, R + W ≤ N. */
  readonly onWarning?: (message: string) => void;
}

/** The merged but unvalidated config, with where each value came from. */
export interface ResolvedConfig {
  /** defaults < file < env < flags, values typed where the input was well-formed. */
  readonly tree: ConfigTree;
  /** Key path → origin (`config file x.json`, `RINGSTORE_S3_LISTEN`, `--s3.listen`); defaults have none. */
  readonly sources: Readonly<Record<string, string>>;
  /** The config file read, if any. */
  readonly file: string | undefined;
  /** Problems found while loading (bad env or flag values, unreadable secret files, unknown flags). */
  readonly problems: readonly string[];
  /** Key paths the problems are about, so validation does not report them twice. */
  readonly problemPaths: ReadonlySet<string>;
  readonly warnings: readonly string[];
}

// Read by other parts of the program, not by the config loader; not worth a warning.
const OTHER_KNOWN_ENV = new Set(['RINGSTORE_COMMIT']);

/** The tree of built-in defaults (keys without a default are left out). */
export function defaultTree(): ConfigTree {
  const tree: ConfigTree = {};
  for (const spec of CONFIG_KEYS) if (spec.default !== undefined) setPath(tree, spec.path, structuredClone(spec.default));
  return tree;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw invalidConfigError([`config: cannot read config file ${file} (${code})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidConfigError([`config: config file ${file} is not valid JSON (${(err as Error).message})`]);
  }
  if (!isPlainObject(parsed)) throw invalidConfigError([`config: config file ${file} must hold a JSON object`]);
  return parsed;
}

/**
 * Deep-merges `source` into `target` (objects merge, everything else replaces), recording each
 * path's origin. A section (`s3`, `rpc`…) that is not an object is a problem, not merged: a later
 * env or flag value would otherwise silently replace it.
 */
function mergeInto(target: ConfigTree, source: Record<string, unknown>, origin: string, sources: Record<string, string>, problems: string[], prefix = ''): void {
  for (const [k, v] of Object.entries(source)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    const children = CONFIG_KEYS.filter((spec) => spec.path.startsWith(`${path}.`)).map((spec) => spec.path.slice(path.length + 1));
    if (children.length > 0 && !isPlainObject(v)) {
      problems.push(configProblem(path, v, `an object with the keys ${children.join(', ')}`, { source: origin }));
      continue;
    }
    sources[path] = origin;
    const existing = target[k];
    if (isPlainObject(v) && isPlainObject(existing)) mergeInto(existing, v, origin, sources, problems, path);
    else target[k] = structuredClone(v);
  }
}

/**
 * Reads a secret from a file named by a `*_FILE` variable, dropping trailing newlines. Refuses
 * files that every user may read (mode & 0o004) unless `allowWorldReadable`.
 */
export function readSecretFile(spec: ConfigKeySpec, file: string, allowWorldReadable: boolean): { value: string } | { problem: string } {
  const via = `${spec.fileEnv ?? 'file'}`;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { problem: `config: ${spec.path}: secret file ${file} (from ${via}) is not a regular file` };
    if ((stat.mode & 0o004) !== 0 && !allowWorldReadable) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      return {
        problem:
          `config: ${spec.path}: secret file ${file} (from ${via}) is readable by every user (mode ${mode}); ` + `restrict it (chmod 600 ${file}) or set ${META_ENV.allowWorldReadableSecrets}=true`,
      };
    }
    return { value: readFileSync(file, 'utf8').replace(/[\r\n]+$/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { problem: `config: ${spec.path}: cannot read secret file ${file} (from ${via}): ${code}` };
  }
}

/** A string-valued input converted to the key's type, or a problem line. */
function convert(spec: ConfigKeySpec, text: string, source: string): { value: unknown } | { problem: string } {
  const converted = fromString(spec, text);
  if ('value' in converted) return converted;
  const form = spec.kind === 'members' ? 'id@host:port/zone/capacity,… or a JSON array of {id, address, zone, capacity}' : expectedForm(spec);
  return { problem: configProblem(spec.path, text, `${form}: ${converted.error}`, { secret: spec.secret, source }) };
}

/**
 * Merges defaults < file < env < flags without validating. Throws InvalidConfig only when the
 * config file cannot be read or parsed; every other problem is returned for reporting together.
 */
export function resolveConfig(options: LoadConfigOptions): ResolvedConfig {
  const { env } = options;
  const nonEmpty = (name: string): string | undefined => {
    const v = env[name];
    // An empty variable counts as unset (compose files often pass `X=` through).
    return v === undefined || v === '' ? undefined : v;
  };
  const tree = defaultTree();
  const sources: Record<string, string> = {};
  const problems: string[] = [];
  const problemPaths = new Set<string>();
  const warnings: string[] = [];

  const file = options.file ?? nonEmpty(META_ENV.config);
  if (file !== undefined) mergeInto(tree, readConfigFile(file), `config file ${file}`, sources, problems);

  const allowWorldReadable = parseBool(env[META_ENV.allowWorldReadableSecrets] ?? '') === true;
  for (const spec of CONFIG_KEYS) {
    const raw = nonEmpty(spec.env);
    const secretFile = spec.fileEnv !== undefined ? nonEmpty(spec.fileEnv) : undefined;
    if (raw !== undefined && secretFile !== undefined) {
      problems.push(`config: ${spec.path}: both ${spec.env} and ${spec.fileEnv ?? ''} are set; set only one`);
      problemPaths.add(spec.path);
      continue;
    }
    if (secretFile !== undefined) {
      const read = readSecretFile(spec, secretFile, allowWorldReadable);
      if ('problem' in read) {
        problems.push(read.problem);
        problemPaths.add(spec.path);
      } else {
        setPath(tree, spec.path, read.value);
        sources[spec.path] = `${spec.fileEnv ?? ''}=${secretFile}`;
      }
    } else if (raw !== undefined) {
      const converted = convert(spec, raw, spec.env);
      if ('problem' in converted) {
        problems.push(converted.problem);
        problemPaths.add(spec.path);
      } else {
        setPath(tree, spec.path, converted.value);
      }
      sources[spec.path] = spec.env;
    }
  }
  const knownEnv = new Set<string>([...Object.values(META_ENV), ...OTHER_KNOWN_ENV]);
  for (const spec of CONFIG_KEYS) {
    knownEnv.add(spec.env);
    if (spec.fileEnv !== undefined) knownEnv.add(spec.fileEnv);
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith('RINGSTORE_') || knownEnv.has(name)) continue;
    const guess = closest(name, [...knownEnv]);
    warnings.push(`environment variable ${name} is not a ringstore setting and is ignored${guess !== undefined ? ` (did you mean ${guess}?)` : ''}`);
  }

  for (const [name, raw] of Object.entries(options.flags)) {
    const spec = configKey(name);
    if (spec === undefined) {
      const guess = closest(
        name,
        CONFIG_KEYS.map((k) => k.path),
      );
      problems.push(`config: --${name}: unknown option${guess !== undefined ? ` (did you mean --${guess}?)` : ''}`);
      continue;
    }
    if (spec.secret) warnings.push(`--${name} puts a secret on the command line, where other users can see it; prefer ${spec.env} or ${spec.fileEnv ?? spec.env}`);
    const converted = convert(spec, raw, `--${name}`);
    if ('problem' in converted) {
      problems.push(converted.problem);
      problemPaths.add(spec.path);
    } else {
      setPath(tree, spec.path, converted.value);
    }
    sources[spec.path] = `--${name}`;
  }

  return { tree, sources, file, problems, problemPaths, warnings };
}

/**
 * Loads and validates the effective config. Throws one RingstoreError('InvalidConfig') whose
 * message lists every problem, each naming the key path, the bad value and the expected form.
 */
export function loadConfig(options: LoadConfigOptions): Config {
  const resolved = resolveConfig(options);
  const check = checkConfig(resolved.tree, resolved.sources, { skip: resolved.problemPaths });
  const problems = [...resolved.problems, ...check.problems];
  if (problems.length > 0 || check.config === undefined) throw invalidConfigError(problems);
  for (const warning of [...resolved.warnings, ...check.warnings]) options.onWarning?.(warning);
  return check.config;
}
