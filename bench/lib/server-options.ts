// Fastify options for the bare echo baseline. They mirror what the webhook sets (src/server) so the comparison
// isolates the work of the webhook itself: keep-alive past the apiserver's 90 s idle, header/request timeouts,
// a 3 MiB body limit (the apiserver's own request limit).
import type { FastifyServerOptions } from 'fastify';

export const ECHO_SERVER_OPTIONS = {
  logger: false,
  keepAliveTimeout: 95_000,
  requestTimeout: 30_000,
  connectionTimeout: 0,
  bodyLimit: 3 * 1024 * 1024,
  return503OnClosing: true,
} satisfies FastifyServerOptions;
