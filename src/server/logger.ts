// The process logger: pino JSON lines. Callers log small, chosen fields only (never objects from requests, never
// environment values): that is the protection. There is no pino `redact`: its paths were checked on every line and
// cost 1.5–10 % of the webhook's CPU (BENCHMARKS.md, "Fixed during this work") though no logged field ever matched them.
// The one place an object we did not choose can appear is `err` (an unexpected exception); its serializer below
// keeps the diagnosis and drops everything else (an HTTP client error can carry response headers and bodies).
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.ts';
import { stdoutDestination } from './log-destination.ts';

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

/**
 * Only the fields that say what went wrong and where: never an error's other own properties. An HTTP client error
 * that carries the response (client-node's ApiException: `body`, `headers`) also quotes it in its message, and so
 * in its stack ("HTTP-Code: 422 Message: … Body: {…} Headers: {…}"): only the text before the quote is kept.
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: typeof err === 'string' ? err : 'non-error thrown' };
  let message = err.message;
  let stack = typeof err.stack === 'string' ? err.stack : undefined;
  if ('body' in err || 'headers' in err || 'response' in err) {
    const quote = message.search(/\n(Body|Headers): /);
    message = quote >= 0 ? message.slice(0, quote).replace(/\n/g, '; ') : '(message omitted: the error carries an HTTP response)';
    // The stack's first lines repeat the message; keep the frames only.
    if (stack !== undefined) stack = [`${err.name}: ${message}`, ...stack.split('\n').filter((l) => /^\s+at /.test(l))].join('\n');
  }
  const out: SerializedError = { type: err.name, message };
  if (stack !== undefined) out.stack = stack;
  const { code, status, statusCode } = err as { code?: unknown; status?: unknown; statusCode?: unknown };
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const httpStatus = typeof status === 'number' ? status : statusCode;
  if (typeof httpStatus === 'number') out.status = httpStatus;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export function createLogger(level: LogLevel = 'info', destination: DestinationStream = stdoutDestination()): Logger {
  const options = {
    level,
    base: { service: 'db-access-webhook' },
    serializers: { err: (err: unknown) => serializeError(err) },
  };
  return pino(options, destination);
}
