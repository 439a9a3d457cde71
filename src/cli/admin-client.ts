/**
 * How a remote CLI command reaches the admin API: the address and token come from `--admin` and
 * `RINGSTORE_ADMIN_TOKEN` (`RINGSTORE_ADMIN_URL` also names the address); run from the project
 * directory with neither, they come from the dev cluster `npm start` runs (`./data/dev-cluster.json`
 * and `./data/dev-credentials.json`), so `ringstore status` needs no flags there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RingstoreError, describeError } from '../util/errors.js';
import type { CommandOption } from './command.js';

/** The options every admin command takes. */
export const ADMIN_OPTIONS: readonly CommandOption[] = [
  { name: 'admin', type: 'string', valueName: 'URL', description: 'Admin API of any node, http://HOST:PORT (its RPC port; default: $RINGSTORE_ADMIN_URL, else the dev cluster in ./data).' },
  { name: 'json', type: 'boolean', description: 'Print the answer as JSON.' },
];

/** Where and how to call the admin API. */
export interface AdminTarget {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:9100`. */
  readonly url: string;
  readonly token: string;
}

/** The dev cluster's file naming its nodes (written by `ringstore dev`). */
export interface DevClusterFile {
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly s3: string; readonly rpc: string }>;
}

export const DEV_CLUSTER_FILE = 'dev-cluster.json';

async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function normalizeUrl(value: string): string {
  const url = /^https?:\/\//.test(value) ? value : `http://${value}`;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    throw new RingstoreError('InvalidArgument', `--admin = ${JSON.stringify(value)}; expected http://HOST:PORT`);
  }
}

/** Resolves the admin target, or throws InvalidArgument saying what to set. */
export async function resolveAdminTarget(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, dataDir = join(process.cwd(), 'data')): Promise<AdminTarget> {
  let url = flag ?? env['RINGSTORE_ADMIN_URL'];
  let token = env['RINGSTORE_ADMIN_TOKEN'];
  if (url === undefined || token === undefined) {
    const dev = await readJsonFile(join(dataDir, DEV_CLUSTER_FILE));
    const credentials = await readJsonFile(join(dataDir, 'dev-credentials.json'));
    const nodes = Array.isArray(dev?.['nodes']) ? (dev['nodes'] as Array<Record<string, unknown>>) : [];
    const rpc = nodes.map((n) => n['rpc']).find((a): a is string => typeof a === 'string');
    url ??= rpc;
    if (token === undefined && typeof credentials?.['adminToken'] === 'string') token = credentials['adminToken'];
  }
  if (url === undefined) throw new RingstoreError('InvalidArgument', 'no admin address: give --admin http://HOST:PORT (a node\'s RPC port) or run from the directory of a running "npm start"');
  if (token === undefined || token === '') throw new RingstoreError('InvalidArgument', 'no admin token: set RINGSTORE_ADMIN_TOKEN (the admin.token of the cluster)');
  return { url: normalizeUrl(url), token };
}

/** An admin API call that got an error answer (or none). */
export class AdminCallError extends Error {
  readonly status: number | undefined;
  readonly code: string;

  constructor(message: string, status: number | undefined, code: string) {
    super(message);
    this.name = 'AdminCallError';
    this.status = status;
    this.code = code;
  }
}

/** Calls `method path` and resolves to its JSON answer; throws AdminCallError otherwise. */
export async function adminCall<T = unknown>(target: AdminTarget, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
  const url = `${target.url}/admin/v1${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new AdminCallError(`${method} ${url}: ${describeError(cause ?? error)}`, undefined, 'Unreachable');
  }
  const text = await res.text();
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new AdminCallError(`${method} ${url} → ${res.status}: not JSON: ${text.slice(0, 200)}`, res.status, 'BadAnswer');
  }
  if (!res.ok) {
    const answer = value as { code?: string; message?: string };
    throw new AdminCallError(`${method} ${url} → ${res.status} ${answer.code ?? ''}: ${answer.message ?? text.slice(0, 200)}`, res.status, answer.code ?? 'Error');
  }
  return value as T;
}
