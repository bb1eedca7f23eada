// Fastify options for the bare echo baseline: the webhook's own limits (imported, so they cannot drift), minus
// everything that is the webhook's work (logging, metrics, overload protection, admission).
import type { FastifyServerOptions } from 'fastify';
import { BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../src/server/app.ts';

export const ECHO_SERVER_OPTIONS = {
  logger: false,
  bodyLimit: BODY_LIMIT,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  return503OnClosing: false,
  forceCloseConnections: 'idle',
} satisfies FastifyServerOptions;

export { HEADERS_TIMEOUT_MS };
