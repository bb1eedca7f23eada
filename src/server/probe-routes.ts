// GET /healthz, /readyz, /metrics. Exempt from overload shedding: a busy webhook must not be killed by its
// liveness probe, and must stay observable.
import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from './metrics.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in plain words (empty when ready). */
  readonly reasons: readonly string[];
}

export interface ProbeRouteOptions {
  readonly readiness: () => Readiness;
  readonly metrics: Metrics;
}

export const probeRoutes: FastifyPluginAsync<ProbeRouteOptions> = async (app, { readiness, metrics }) => {
  const config = { config: { pressureHandler: () => undefined } };
  app.get('/healthz', config, async () => ({ status: 'ok' }));
  app.get('/readyz', config, async (_req, reply) => {
    const r = readiness();
    if (!r.ready) return reply.code(503).send({ status: 'not ready', reasons: r.reasons });
    return { status: 'ready' };
  });
  app.get('/metrics', config, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
