/**
 * Operational endpoints on the RPC/admin port: liveness and readiness (always open, for probes)
 * and Prometheus metrics, open unless `metrics.token` is set (STYLE: the metrics token is
 * optional; everything else needs credentials).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Metrics } from '../metrics/definitions.js';
import type { ReadinessState } from '../util/readiness.js';

/** What the health routes report on. */
export interface HealthSource {
  readiness(): ReadinessState;
  readonly metrics: Metrics | null;
  /** When non-empty, /metrics answers 401 unless the request carries `Authorization: Bearer <token>`. */
  readonly metricsToken?: string;
}

/** Compares digests, so neither the token's length nor its bytes leak through timing. */
function bearerMatches(header: string, token: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(header), digest(`Bearer ${token}`));
}

/** Mounts GET /health, GET /ready and GET /metrics. */
export function mountHealthRoutes(router: Router, source: HealthSource): void {
  router.get('/health', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'ok\n';
  });
  router.get('/ready', (ctx) => {
    const state = source.readiness();
    ctx.status = state.ready ? 200 : 503;
    ctx.type = 'text/plain';
    ctx.body = state.ready ? 'ready\n' : `not ready\n${state.reasons.map((r) => `${r}\n`).join('')}`;
  });
  router.get('/metrics', async (ctx) => {
    const token = source.metricsToken ?? '';
    if (token !== '' && !bearerMatches(ctx.get('authorization'), token)) {
      ctx.status = 401;
      ctx.set('www-authenticate', 'Bearer realm="ringstore-metrics"');
      ctx.body = { code: 'Unauthorized', message: 'GET /metrics needs Authorization: Bearer <metrics.token>', details: {} };
      return;
    }
    if (!source.metrics) {
      ctx.status = 404;
      return;
    }
    ctx.type = source.metrics.registry.contentType;
    ctx.body = await source.metrics.registry.metrics();
  });
}
