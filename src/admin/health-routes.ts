/**
 * Unauthenticated operational endpoints on the RPC/admin port: liveness, readiness and
 * Prometheus metrics (STYLE: health and metrics need no token; everything else does).
 */
import type Router from '@koa/router';
import type { Metrics } from '../metrics/definitions.js';
import type { ReadinessState } from '../util/readiness.js';

/** What the health routes report on. */
export interface HealthSource {
  readiness(): ReadinessState;
  readonly metrics: Metrics | null;
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
    if (!source.metrics) {
      ctx.status = 404;
      return;
    }
    ctx.type = source.metrics.registry.contentType;
    ctx.body = await source.metrics.registry.metrics();
  });
}
