// POST /mutate (vault-k8s' Handle): checks the envelope, hands the request to `admit`, answers, and records the
// metrics and the one log line of the admission.
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { parseAdmissionReview } from '../admission/parse.ts';
import { serializeReview } from '../admission/respond.ts';
import { admit, type AdmitDeps } from './admit.ts';
import { webhookTimeoutMs } from './deadline.ts';
import type { Metrics } from './metrics.ts';

export interface MutateRouteOptions {
  readonly admit: AdmitDeps;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Admissions in progress above which new ones get 503 at once. */
  readonly maxInFlight: number;
}

export const mutateRoutes: FastifyPluginAsync<MutateRouteOptions> = async (app, options) => {
  const { logger, metrics, maxInFlight } = options;
  const admitDeps = options.admit;
  let inFlight = 0;

  app.post('/mutate', async (req, reply) => {
    if (inFlight >= maxInFlight) {
      metrics.rejectedRequests.inc({ reason: 'overloaded' });
      return reply.code(503).header('Retry-After', '1').send({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `db-access-webhook has ${inFlight} admissions in progress (limit ${maxInFlight}); retry shortly`,
      });
    }
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      metrics.rejectedRequests.inc({ reason: 'bad-request' });
      logger.debug({ reason: parsed.message }, 'bad AdmissionReview');
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: parsed.message });
    }
    inFlight++;
    metrics.inFlight.inc();
    try {
      const timeoutMs = webhookTimeoutMs((req.query as Record<string, unknown> | undefined)?.timeout);
      // Deadline and duration count from the headers' arrival, as the apiserver's clock does: a slow body or a busy
      // event loop has used part of its time. fastify records that moment only when it has a logger (buildApp always
      // passes one; app.test.ts checks the duration).
      const result = await admit(parsed.request, { timeoutMs, elapsedMs: reply.elapsedTime }, admitDeps);
      const seconds = reply.elapsedTime / 1000;
      metrics.admissions.inc({ outcome: result.outcome });
      metrics.admissionDuration.observe({ outcome: result.outcome }, seconds);
      const line = { ...result.log, outcome: result.outcome, durationMs: Math.round(seconds * 10_000) / 10 };
      if (result.err !== undefined) logger.error({ ...line, err: result.err }, 'admission');
      else logger[result.level](line, 'admission');
      // Sent as text: fastify's serializer would walk the base64 patch again (serializeReview says why).
      return reply.type('application/json; charset=utf-8').send(serializeReview(result.review));
    } finally {
      inFlight--;
      metrics.inFlight.dec();
    }
  });
};
