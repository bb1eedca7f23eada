// Where the logger's lines go: stdout, in batches, written with write(2). A failing stdout costs lines, never an
// admission: the lines of a failed batch are dropped and counted on stderr (BENCHMARKS.md, finding 8).
import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/**
 * Lines are written to stdout in batches of about 4 KiB, and at least every 250 ms: one write(2) per dozen lines,
 * not one per line through libuv's thread pool (pino's default). Synchronously, as Node writes its own stdout to a
 * pipe: a stalled log reader slows the webhook rather than growing its memory (BENCHMARKS.md, finding 8).
 */
export const STDOUT_BATCH_BYTES = 4096;
export const STDOUT_FLUSH_INTERVAL_MS = 250;
/**
 * A non-blocking stdout (any use of `process.stdout` makes a pipe non-blocking) that takes nothing for this long
 * (EAGAIN) loses the batch, rather than holding every admission; until it takes bytes again, later batches do not wait.
 */
export const STDOUT_EAGAIN_WAIT_MS = 1000;
/** Lost lines are reported on stderr at most this often. */
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

  /** `onWriteError` is required: a batch lost without a word is what this class exists to prevent. */
  constructor(target: LineWriter, batchChars: number, onWriteError: (err: unknown, lines: number) => void) {
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

  /** pino calls this after a `fatal` line, so the line is out before the process goes down. */
  flushSync(): void {
    this.flush();
  }
}

type WriteSync = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
const SLEEP_STEP_MS = 10;
const NEWLINE = 0x0a;

/**
 * Writes each text whole to a file descriptor with write(2), or throws. Not sonic-boom (pino.destination): in its
 * synchronous mode (4.2.1) `flushSync` retries a failing write forever, so a full disk hung the process at exit,
 * and with `maxLength` it stops writing for good once its backlog is full (BENCHMARKS.md, finding 8).
 */
export class FdWriter implements LineWriter {
  readonly #fd: number;
  readonly #writeSync: WriteSync;
  readonly #eagainWaitMs: number;
  /** A failed write stopped inside a line: the next one starts on a new line, so the cut line spoils no other. */
  #midLine = false;
  /** The last batch waited its whole EAGAIN time: later ones do not wait until the descriptor takes bytes again. */
  #stalled = false;

  constructor(fd: number, options: { writeSync?: WriteSync; eagainWaitMs?: number } = {}) {
    this.#fd = fd;
    this.#writeSync = options.writeSync ?? writeSync;
    this.#eagainWaitMs = options.eagainWaitMs ?? STDOUT_EAGAIN_WAIT_MS;
  }

  write(text: string): void {
    const bytes = Buffer.from(this.#midLine ? `\n${text}` : text, 'utf8');
    let offset = 0;
    let waitedMs = 0;
    while (offset < bytes.length) {
      let taken = 0;
      let busy: unknown;
      try {
        taken = this.#writeSync(this.#fd, bytes, offset, bytes.length - offset); // a pipe may take part of it
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code !== 'EAGAIN') throw this.#stopped(err, bytes, offset);
        busy = err;
      }
      if (taken > 0) {
        offset += taken;
        waitedMs = 0;
        this.#stalled = false;
        continue;
      }
      // Full (EAGAIN, or nothing taken): wait for the reader, a bounded time since the last progress.
      if (this.#stalled || waitedMs >= this.#eagainWaitMs) {
        this.#stalled = true;
        throw this.#stopped(busy ?? Object.assign(new Error('EAGAIN: write(2) took no bytes'), { code: 'EAGAIN' }), bytes, offset);
      }
      Atomics.wait(SLEEP_CELL, 0, 0, SLEEP_STEP_MS);
      waitedMs += SLEEP_STEP_MS;
    }
    this.#midLine = false;
  }

  #stopped(err: unknown, bytes: Buffer, offset: number): unknown {
    if (offset > 0) this.#midLine = bytes[offset - 1] !== NEWLINE;
    return err;
  }
}

export function stdoutDestination(): DestinationStream {
  const report = new LostLinesReport();
  const batches = new LineBatches(new FdWriter(1), STDOUT_BATCH_BYTES, (err, lines) => report.add(err, lines));
  setInterval(() => batches.flush(), STDOUT_FLUSH_INTERVAL_MS).unref();
  // pino flushes asynchronous destinations at exit, not synchronous ones; this one may hold part of a batch.
  process.once('exit', () => {
    batches.flush();
    report.flush();
  });
  return batches;
}

/**
 * Says on stderr how many log lines were lost (every line of a batch that failed; a batch cut off part-way may
 * have written some): at once, then at most once a minute while more are lost, and at exit. Never the lines
 * themselves, and never throws (stderr may be failing too).
 */
export class LostLinesReport {
  readonly #writeLine: (line: string) => void;
  readonly #now: () => number;
  readonly #later: (run: () => void, ms: number) => void;
  #lost = 0;
  #error = '';
  #reportedAt = -Infinity;
  #scheduled = false;

  constructor(
    writeLine: (line: string) => void = (line) => writeSync(2, line),
    now: () => number = () => performance.now(),
    later: (run: () => void, ms: number) => void = (run, ms) => setTimeout(run, ms).unref(),
  ) {
    this.#writeLine = writeLine;
    this.#now = now;
    this.#later = later;
  }

  add(err: unknown, lines: number): void {
    this.#lost += lines;
    const code = (err as { code?: unknown } | null)?.code;
    this.#error = typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error';
    this.#reportWhenDue();
  }

  #reportWhenDue(): void {
    const wait = this.#reportedAt + STDOUT_FAILURE_REPORT_INTERVAL_MS - this.#now();
    if (wait <= 0) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#later(() => {
        this.#scheduled = false;
        // A late timer may find a report just written by add(): then it waits for the next minute.
        if (this.#lost > 0) this.#reportWhenDue();
      }, wait);
    }
  }

  /** Reports what was lost since the last report, if anything. */
  flush(): void {
    if (this.#lost === 0) return;
    const line = {
      level: 50,
      time: Date.now(),
      service: 'db-access-webhook',
      msg: 'log lines could not be written to stdout and were dropped',
      error: this.#error,
      droppedLines: this.#lost,
    };
    this.#lost = 0;
    this.#reportedAt = this.#now();
    try {
      this.#writeLine(`${JSON.stringify(line)}\n`);
    } catch {
      // stderr is failing too: nothing else can be told
    }
  }
}
