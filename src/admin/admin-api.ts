/**
 * The admin API: HTTP JSON under `/admin/v1/` on the RPC port, for operators and the `ringstore`
 * CLI. Every route needs `Authorization: Bearer <admin.token>` (compared by digest, so neither
 * length nor bytes leak through timing); with no token configured the API answers 403 and says
 * how to enable it. Subsystems contribute routes as plain data (`AdminRoute`), so status, repair,
 * scrub and later layout and keys are each one file; this module owns auth, body limits and the
 * error shape `{code, message}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { RingstoreError, describeError, type ErrorCode } from '../util/errors.js';

/** Path prefix of every admin route. */
export const ADMIN_PREFIX = '/admin/v1';

/** Largest JSON body an admin route accepts. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** What a route handler sees of a request. */
export interface AdminRequest {
  /** Query parameters (the first value of each). */
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body (`{}` when there is none). */
  readonly body: unknown;
  /** Path parameters (`:id` in the route's path). */
  readonly params?: Readonly<Record<string, string>>;
}

/** One admin route; `path` is relative to `/admin/v1` (e.g. `/status`). */
export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /** Resolves to the JSON answer (200), or throws a RingstoreError mapped below. */
  handle(request: AdminRequest): Promise<unknown> | unknown;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  InvalidArgument: 400,
  NoSuchKey: 404,
  NoSuchBucket: 404,
  PeerUnavailable: 503,
  QuorumNotReached: 503,
  ServiceUnavailable: 503,
  RpcTimeout: 504,
};

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function fail(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { code, message };
}

async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) throw new RingstoreError('InvalidArgument', `request body over ${MAX_ADMIN_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new RingstoreError('InvalidArgument', 'request body is not valid JSON');
  }
}

/** Mounts `routes` under `/admin/v1`, behind the bearer token. */
export function mountAdminApi(router: Router, token: string, routes: readonly AdminRoute[]): void {
  const expected = token === '' ? undefined : digest(`Bearer ${token}`);
  const seen = new Set<string>();
  for (const route of routes) {
    const id = `${route.method} ${route.path}`;
    if (seen.has(id)) throw new RingstoreError('InvalidArgument', `admin route ${id} declared twice`);
    seen.add(id);
    const handler = async (ctx: Context): Promise<void> => {
      if (expected === undefined) return fail(ctx, 403, 'AdminDisabled', 'the admin API is disabled on this node: set admin.token (RINGSTORE_ADMIN_TOKEN)');
      if (!timingSafeEqual(digest(ctx.get('authorization')), expected)) {
        ctx.set('www-authenticate', 'Bearer realm="ringstore-admin"');
        return fail(ctx, 401, 'Unauthorized', `${route.method} ${ADMIN_PREFIX}${route.path} needs Authorization: Bearer <admin.token>`);
      }
      try {
        const query: Record<string, string> = {};
        for (const [k, v] of Object.entries(ctx.query)) if (v !== undefined) query[k] = Array.isArray(v) ? v[0]! : v;
        const body = route.method === 'POST' ? await readJson(ctx) : {};
        const params: Record<string, string> = { ...(ctx['params'] as Record<string, string> | undefined) };
        ctx.body = (await route.handle({ query, body, params })) ?? {};
        ctx.status = 200;
      } catch (error) {
        if (error instanceof RingstoreError) return fail(ctx, STATUS[error.code] ?? 500, error.code, error.message);
        fail(ctx, 500, 'InternalError', describeError(error));
      }
    };
    if (route.method === 'GET') router.get(`${ADMIN_PREFIX}${route.path}`, handler);
    else if (route.method === 'DELETE') router.delete(`${ADMIN_PREFIX}${route.path}`, handler);
    else router.post(`${ADMIN_PREFIX}${route.path}`, handler);
  }
  // Anything else under the prefix is a JSON 404, not koa's text one.
  router.all(`${ADMIN_PREFIX}/*rest`, (ctx) => fail(ctx, 404, 'NoSuchRoute', `no admin route ${ctx.method} ${ctx.path}`));
}

/** Reads an optional boolean query/body flag given as true/false. */
export function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true' || value === '') return true;
  throw new RingstoreError('InvalidArgument', `${name} must be true or false`);
}
