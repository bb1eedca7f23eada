// The process logger: pino JSON lines. Callers log small, chosen fields only (never objects from requests, never
// environment values): that is the protection. There is no pino `redact`: its paths were checked on every line and
// cost 1.5–10 % of the webhook's CPU (BENCHMARKS.md, "Fixed during this work") though no logged field ever matched them.
// The one place an object we did not choose can appear is `err` (an unexpected exception); its serializer below
// keeps the diagnosis and drops everything else (an HTTP client error can carry response headers and bodies).
import { writeSync } from 'node:fs';
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

/**
 * Lines are written to stdout in batches of about 4 KiB, and at least every 250 ms: one write(2) per dozen lines,
 * not one per line through libuv's thread pool (pino's default). Synchronously, as Node writes its own stdout to a
 * pipe: a stalled log reader slows the webhook rather than growing its memory (BENCHMARKS.md, finding 8).
 */
export const STDOUT_BATCH_BYTES = 4096;
export const STDOUT_FLUSH_INTERVAL_MS = 250;
/** A non-blocking stdout that stays full (EAGAIN) this long loses the batch, rather than stopping every admission. */
export const STDOUT_EAGAIN_WAIT_MS = 1000;
/** A failing stdout is reported on stderr at most this often. */
export const STDOUT_FAILURE_REPORT_INTERVAL_MS = 60_000;

/** What LineBatches writes to: FdWriter, or a test's recorder. A write that fails throws. */
export interface LineWriter {
  write(text: string): unknown;
}

/**
 * Collects lines and writes them joined, once about `batchChars` have come. sonic-boom can batch by itself
 * (`minLength`), but it measures the UTF-8 length of its whole pending batch again for every line it is given, and
 * that flattens the growing string each time: 2.2 KB of garbage and 0.5 µs per admission line (BENCHMARKS.md).
 * A write that throws loses its batch, which goes to `onWriteError`: logging must never fail an admission, the
 * periodic flush must never crash the process, and unwritten lines must not pile up.
 */
export class LineBatches implements DestinationStream {
  readonly #target: LineWriter;
  readonly #batchChars: number;
  readonly #onWriteError: (err: unknown, lines: number) => void;
  #lines: string[] = [];
  #chars = 0;

  constructor(target: LineWriter, batchChars: number, onWriteError: (err: unknown, lines: number) => void = () => {}) {
    this.#target = target;
    this.#batchChars = batchChars;
    this.#onWriteError = onWriteError;
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#batchChars) this.flush();
  }

  /** Writes what has been collected, if anything; `done` is pino's `logger.flush(cb)` callback. */
  flush(done?: (err?: Error) => void): void {
    let failure: Error | undefined;
    if (this.#lines.length > 0) {
      const lines = this.#lines;
      this.#lines = [];
      this.#chars = 0;
      try {
        this.#target.write(lines.join(''));
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        this.#onWriteError(err, lines.length);
      }
    }
    done?.(failure);
  }
}

type WriteSync = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes each text whole to a file descriptor with write(2), or throws. Not sonic-boom (pino.destination): in its
 * synchronous mode (4.2.1) `flushSync` retries a failing write forever, so a full disk hung the process at exit,
 * and with `maxLength` it stops writing for good once its backlog is full (BENCHMARKS.md, finding 8).
 */
export class FdWriter implements LineWriter {
  readonly #fd: number;
  readonly #writeSync: WriteSync;
  readonly #eagainWaitMs: number;

  constructor(fd: number, options: { writeSync?: WriteSync; eagainWaitMs?: number } = {}) {
    this.#fd = fd;
    this.#writeSync = options.writeSync ?? writeSync;
    this.#eagainWaitMs = options.eagainWaitMs ?? STDOUT_EAGAIN_WAIT_MS;
  }

  write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    let waitedMs = 0;
    while (offset < bytes.length) {
      try {
        offset += this.#writeSync(this.#fd, bytes, offset, bytes.length - offset); // a pipe may take part of it
      } catch (err) {
        // A blocking descriptor waits in write(2); a non-blocking one (EAGAIN) waits here, for a bounded time.
        if ((err as { code?: unknown }).code !== 'EAGAIN' || waitedMs >= this.#eagainWaitMs) throw err;
        Atomics.wait(SLEEP_CELL, 0, 0, 10);
        waitedMs += 10;
      }
    }
  }
}

export function stdoutDestination(): DestinationStream {
  const batches = new LineBatches(new FdWriter(1), STDOUT_BATCH_BYTES, stdoutFailureReporter());
  setInterval(() => batches.flush(), STDOUT_FLUSH_INTERVAL_MS).unref();
  // pino flushes asynchronous destinations at exit, not synchronous ones; this one may hold part of a batch.
  process.once('exit', () => batches.flush());
  return batches;
}

/**
 * Says on stderr that log lines were lost: at once, then at most once a minute with the count since. Never the
 * lines themselves, and never throws (stderr may be failing too).
 */
export function stdoutFailureReporter(
  writeLine: (line: string) => void = (line) => writeSync(2, line),
  now: () => number = () => performance.now(),
): (err: unknown, lines: number) => void {
  let dropped = 0;
  let reportedAt = -Infinity;
  return (err, lines) => {
    dropped += lines;
    if (now() - reportedAt < STDOUT_FAILURE_REPORT_INTERVAL_MS) return;
    reportedAt = now();
    const code = (err as { code?: unknown } | null)?.code;
    const line = {
      level: 50,
      time: Date.now(),
      service: 'db-access-webhook',
      msg: 'log lines could not be written to stdout and were dropped',
      error: typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error',
      droppedLines: dropped,
    };
    dropped = 0;
    try {
      writeLine(`${JSON.stringify(line)}\n`);
    } catch {
      // stderr is failing too: nothing else can be told
    }
  };
}

export function createLogger(level: LogLevel = 'info', destination: DestinationStream = stdoutDestination()): Logger {
  const options = {
    level,
    base: { service: 'db-access-webhook' },
    serializers: { err: (err: unknown) => serializeError(err) },
  };
  return pino(options, destination);
}
