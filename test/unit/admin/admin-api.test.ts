import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Router } from '@koa/router';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ADMIN_BODY_BYTES, mountAdminApi, type AdminRoute } from '../../../src/admin/admin-api.js';
import { RingstoreError } from '../../../src/util/errors.js';

const TOKEN = 'admin-token-0123456789abcdef';
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(token: string, routes: AdminRoute[]): Promise<string> {
  const app = new Koa();
  const router = new Router();
  mountAdminApi(router, token, routes);
  app.use(router.routes());
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const echo: AdminRoute = { method: 'POST', path: '/echo', handle: ({ body, query }) => ({ body, query }) };
const failing: AdminRoute = {
  method: 'GET',
  path: '/fail',
  handle: ({ query }) => {
    if (query['kind'] === 'bug') throw new Error('boom');
    throw new RingstoreError('InvalidArgument', 'bad node name');
  },
};

function auth(token = TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe('admin API', () => {
  it('answers a route with its JSON, given the token', async () => {
    const base = await serve(TOKEN, [echo]);
    const res = await fetch(`${base}/admin/v1/echo?wait=true`, { method: 'POST', headers: auth(), body: JSON.stringify({ node: 'n2' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ body: { node: 'n2' }, query: { wait: 'true' } });
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', auth('admin-token-0123456789abcdeX')],
    ['a token as a prefix of the right one', auth(TOKEN.slice(0, -1))],
    ['Basic instead of Bearer', { authorization: `Basic ${TOKEN}` }],
  ])('refuses %s with 401 Unauthorized', async (_, headers) => {
    const base = await serve(TOKEN, [echo]);
    const res = await fetch(`${base}/admin/v1/echo`, { method: 'POST', headers, body: '{}' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('Unauthorized');
  });

  it('is off (403 AdminDisabled) on a node without admin.token, whatever the request carries', async () => {
    const base = await serve('', [echo]);
    const res = await fetch(`${base}/admin/v1/echo`, { method: 'POST', headers: auth(''), body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'AdminDisabled', message: expect.stringContaining('admin.token') });
  });

  it('refuses a body that is not JSON, or too large, with 400 InvalidArgument', async () => {
    const base = await serve(TOKEN, [echo]);
    const bad = await fetch(`${base}/admin/v1/echo`, { method: 'POST', headers: auth(), body: '{nope' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('InvalidArgument');
    const big = await fetch(`${base}/admin/v1/echo`, { method: 'POST', headers: auth(), body: `"${'x'.repeat(MAX_ADMIN_BODY_BYTES)}"` });
    expect(big.status).toBe(400);
  });

  it('maps a RingstoreError to its status and code, and anything else to 500 InternalError', async () => {
    const base = await serve(TOKEN, [failing]);
    const typed = await fetch(`${base}/admin/v1/fail`, { headers: auth() });
    expect(typed.status).toBe(400);
    expect(await typed.json()).toEqual({ code: 'InvalidArgument', message: 'bad node name' });
    const bug = await fetch(`${base}/admin/v1/fail?kind=bug`, { headers: auth() });
    expect(bug.status).toBe(500);
    expect(((await bug.json()) as { code: string }).code).toBe('InternalError');
  });

  it('answers an unknown admin path with a JSON 404', async () => {
    const base = await serve(TOKEN, [echo]);
    const res = await fetch(`${base}/admin/v1/nothing/here`, { headers: auth() });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('NoSuchRoute');
  });

  it('refuses two routes with the same method and path', () => {
    expect(() => mountAdminApi(new Router(), TOKEN, [echo, echo])).toThrow(/declared twice/);
  });
});
