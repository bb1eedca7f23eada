// The process logger: pino JSON lines. Callers log small, chosen fields only (never objects from requests, never
// environment values): that is the protection. There is no pino `redact`: its paths were checked on every line and
// cost about 10 % of the webhook's CPU (BENCHMARKS.md, finding 1) though no logged field ever matched them.
// The one place an object we did not choose can appear is `err` (an unexpected exception); its serializer below
// keeps the diagnosis and drops everything else (an HTTP client error can carry response headers and bodies).
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.ts';

export type { Logger };

/** Errors nested deeper than this (through `cause`) are cut: a cycle or a long chain must not bloat a line. */
const MAX_CAUSE_DEPTH = 3;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  status?: number;
  cause?: SerializedError;
}

/** Only the fields that say what went wrong and where: never an error's other own properties. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: typeof err === 'string' ? err : 'non-error thrown' };
  const out: SerializedError = { type: err.name, message: err.message };
  if (typeof err.stack === 'string') out.stack = err.stack;
  const { code, status, statusCode } = err as { code?: unknown; status?: unknown; statusCode?: unknown };
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const httpStatus = typeof status === 'number' ? status : statusCode;
  if (typeof httpStatus === 'number') out.status = httpStatus;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'db-access-webhook' },
    serializers: { err: (err: unknown) => serializeError(err) },
  };
  return destination ? pino(options, destination) : pino(options);
}
