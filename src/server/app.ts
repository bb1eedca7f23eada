// The fastify application (fastify/demo's app.ts): server limits, body parsing, error mapping, overload shedding,
// and the route plugins (mutate-route.ts: vault-k8s' Handle; probe-routes.ts). It does not listen: the caller
// (server.ts, or a test with `app.inject()`) decides where and how.
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Logger } from 'pino';
import type { SecretPreflight } from '../aws/types.ts';
import { DEFAULT_MAX_EVENT_LOOP_DELAY_MS, DEFAULT_MAX_IN_FLIGHT, type OnKubeError, type PreflightMode } from '../config.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy } from '../engine/types.ts';
import type { SecretProviderClassStore } from '../kube/types.ts';
import type { Metrics, RejectionReason } from './metrics.ts';
import { mutateRoutes } from './mutate-route.ts';
import { probeRoutes, type Readiness } from './probe-routes.ts';

export type { Readiness };

export interface AppDeps {
  readonly policy: EnginePolicy;
  readonly preflightMode: PreflightMode;
  readonly onKubeError: OnKubeError;
  readonly store: SecretProviderClassStore;
  readonly preflight?: SecretPreflight | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** TLS loaded, store usable, not shutting down. */
  readonly readiness: () => Readiness;
  /** True once shutdown has begun: every answer then carries `Connection: close` (see `startServer().close`). */
  readonly draining?: () => boolean;
  /** Replaces the engine (tests only). */
  readonly decide?: (request: AdmissionRequestInput, policy: EnginePolicy) => Decision;
}

export interface OverloadOptions {
  /** Mean event-loop delay over one sample above which /mutate answers 503 at once; 0 disables the check. */
  readonly maxEventLoopDelayMs: number;
  readonly sampleIntervalMs: number;
  /** Concurrent /mutate requests above which new ones get 503 (bounds memory when a dependency hangs). */
  readonly maxInFlight: number;
  /** Seconds, sent as Retry-After with every 503. */
  readonly retryAfterSeconds: number;
}

export interface AppOptions {
  /** TLS options for an HTTPS server; omitted for plain HTTP (the probe listener, and `inject()` tests). */
  readonly https?: HttpsServerOptions;
  /** 'webhook': /mutate plus probes and metrics; 'probes': /healthz, /readyz, /metrics only. */
  readonly routes?: 'webhook' | 'probes';
  readonly bodyLimit?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** A client that connects must finish its TLS handshake within this time. */
  readonly handshakeTimeoutMs?: number;
  /** How often Node checks header and request timeouts (its default, 30 s, would let a slow client hold 40 s). */
  readonly connectionsCheckingIntervalMs?: number;
  /** false turns overload protection off (tests of other things under CPU load). */
  readonly overload?: Partial<OverloadOptions> | false;
}

/**
 * The apiserver limits a request body to 3 MiB; an AdmissionReview wraps the object with a little more, so we
 * accept up to 3 MiB plus 256 KiB and answer 413 above that.
 */
export const BODY_LIMIT = 3 * 1024 * 1024 + 256 * 1024;

/**
 * Idle keep-alive connections are kept longer than the apiserver keeps them (90 s): the client must always be
 * the side that closes an idle connection, or a POST it sends as we close would fail (it never retries a POST).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 100_000;
/**
 * Headers, and a whole request, must arrive within these times (slowloris guard). Node counts them from the start of
 * a request, but on a new connection from the moment it opened. Go's transport keeps connections it dialled and
 * did not need in its idle pool, for up to 90 s: a shorter limit would answer such a connection 408 while the
 * apiserver may be sending its POST, and that 408 would fail the pod. So both exceed the 90 s, like the keep-alive.
 * An idle kept-alive connection can be held that long anyway; the handshake timeout bounds the cheaper case.
 */
export const HEADERS_TIMEOUT_MS = 100_000;
export const REQUEST_TIMEOUT_MS = 100_000;
/** Node's default is 120 s: a connection that never starts TLS (a port scan, a TCP health check) is cut at 10 s. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Timeouts above are enforced by a periodic sweep; this bounds how late. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/**
 * The sample window must be at least the delay limit: under-pressure reads a window without any event-loop sample
 * as an infinite delay, and short windows produced false 503s under ordinary bursts (SECURITY.md, finding 1).
 * The delay limit is high on purpose (config.ts, DEFAULT_MAX_EVENT_LOOP_DELAY_MS): a 503 fails the pod, a slow
 * answer does not. Both limits are settings (DB_ACCESS_MAX_IN_FLIGHT, DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS).
 */
export const DEFAULT_OVERLOAD: OverloadOptions = {
  maxEventLoopDelayMs: DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
  sampleIntervalMs: 1000,
  maxInFlight: DEFAULT_MAX_IN_FLIGHT,
  retryAfterSeconds: 1,
};

export function buildApp(deps: AppDeps, options: AppOptions = {}): FastifyInstance {
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const checkingInterval = options.connectionsCheckingIntervalMs ?? CONNECTIONS_CHECKING_INTERVAL_MS;
  const app = fastify({
    loggerInstance: deps.logger,
    // One log line per admission, written by the handler; fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Nothing logs through req.log (the handler writes the admission line), so no per-request child logger.
    childLoggerFactory: (logger) => logger,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT,
    keepAliveTimeout,
    requestTimeout,
    // While draining, requests on open connections are still served (with `Connection: close`), not refused.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ...(options.https
      ? {
          https: {
            ...options.https,
            connectionsCheckingInterval: checkingInterval,
            handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
          },
        }
      : { http: { connectionsCheckingInterval: checkingInterval } }),
  }) as unknown as FastifyInstance;
  // Not a fastify option; must not exceed requestTimeout.
  app.server.headersTimeout = Math.min(options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout || Infinity);

  installBodyParsing(app);
  installErrorHandling(app, deps);

  // Draining: answers carry `Connection: close` from the start of shutdown, so each kept-alive connection ends
  // with its next answer and close() can finish (fastify only marks requests that arrive after close()).
  let closing = false;
  const draining = deps.draining ?? (() => false);
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing || draining()) void reply.header('connection', 'close');
    done(null, payload);
  });

  const overload = options.overload === false ? undefined : { ...DEFAULT_OVERLOAD, ...options.overload };
  if (overload) overload.sampleIntervalMs = Math.max(overload.sampleIntervalMs, overload.maxEventLoopDelayMs);
  if (overload) {
    void app.register(underPressure, {
      maxEventLoopDelay: overload.maxEventLoopDelayMs,
      sampleInterval: overload.sampleIntervalMs,
      retryAfter: overload.retryAfterSeconds,
      // Once a hook has replied, fastify runs nothing further for the request: the admission never starts.
      pressureHandler: (_req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
        deps.metrics.rejectedRequests.inc({ reason: 'overloaded' });
        let detail = '';
        if (type === 'eventLoopDelay' && value !== undefined) {
          detail = Number.isFinite(value)
            ? ` (event loop delay ${Math.round(value)} ms)`
            : ' (event loop blocked for a whole sample window)';
        }
        void reply.code(503).header('Retry-After', String(overload.retryAfterSeconds)).send({
          statusCode: 503,
          error: 'Service Unavailable',
          message: `db-access-webhook is overloaded${detail}; retry shortly or scale the webhook out`,
        });
      },
    });
  }

  void app.register(probeRoutes, { readiness: deps.readiness, metrics: deps.metrics });
  if ((options.routes ?? 'webhook') === 'webhook') {
    void app.register(mutateRoutes, {
      admit: {
        policy: deps.policy,
        store: deps.store,
        preflight: deps.preflight,
        preflightMode: deps.preflightMode,
        onKubeError: deps.onKubeError,
        onEnsure: deps.metrics.onEnsure,
        onPreflight: deps.metrics.onPreflight,
        ...(deps.decide ? { decide: deps.decide } : {}),
      },
      logger: deps.logger,
      metrics: deps.metrics,
      maxInFlight: overload?.maxInFlight ?? Infinity,
    });
  }
  return app;
}

/** Only application/json is accepted (415 otherwise). JSON errors never echo the body (it could hold secrets). */
function installBodyParsing(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(clientError(400, 'the body is empty; send an admission.k8s.io/v1 AdmissionReview as JSON'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      done(clientError(400, `the body is not valid JSON${at ? ` (error at byte ${at})` : ''}`), undefined);
    }
  });
}

function clientError(statusCode: number, message: string): FastifyError {
  const err = new Error(message) as FastifyError & { statusCode: number };
  err.statusCode = statusCode;
  err.code = 'DB_ACCESS_BAD_REQUEST';
  return err;
}

const REJECTION_REASON: Record<number, RejectionReason> = {
  400: 'bad-request',
  404: 'not-found',
  405: 'not-found',
  413: 'too-large',
  415: 'unsupported-media-type',
};

function installErrorHandling(app: FastifyInstance, deps: AppDeps): void {
  app.setNotFoundHandler((req, reply) => {
    deps.metrics.rejectedRequests.inc({ reason: 'not-found' });
    void reply.code(404).send({
      statusCode: 404,
      error: 'Not Found',
      message: `no route for ${req.method} ${req.url.split('?')[0]?.slice(0, 100)}; the webhook path is POST /mutate`,
    });
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      deps.metrics.rejectedRequests.inc({ reason: REJECTION_REASON[status] ?? 'bad-request' });
      deps.logger.debug({ code: err.code, status, method: req.method, url: req.url.split('?')[0] }, 'request refused');
      return reply.code(status).send({ statusCode: status, error: errorName(status), message: clientMessage(err, status) });
    }
    // A bug. The message stays in the log; the client gets a generic one.
    deps.logger.error({ err, method: req.method, url: req.url.split('?')[0] }, 'unexpected error');
    return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the webhook logs' });
  });
}

function clientMessage(err: FastifyError, status: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      if (status === 415) return 'the content type must be application/json';
      break;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${BODY_LIMIT} bytes (the apiserver's own limit is 3 MiB)`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty; send an admission.k8s.io/v1 AdmissionReview as JSON';
    case 'DB_ACCESS_BAD_REQUEST':
      return err.message;
  }
  if (status === 415) return 'the content type must be application/json';
  if (status === 413) return `the body is larger than ${BODY_LIMIT} bytes`;
  // Other fastify client errors have fixed, input-free messages.
  return err.message.slice(0, 200);
}

function errorName(status: number): string {
  return (
    { 400: 'Bad Request', 404: 'Not Found', 408: 'Request Timeout', 413: 'Payload Too Large', 415: 'Unsupported Media Type' }[
      status
    ] ?? 'Bad Request'
  );
}

/** The TLS server underneath an HTTPS app, for `setSecureContext`. */
export function httpsServerOf(app: FastifyInstance): HttpsServer {
  return app.server as unknown as HttpsServer;
}
