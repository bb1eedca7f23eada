// Processes under test run in their own child process, as in a cluster: the load generator must not share their
// event loop. Each child gets the probe preloaded and answers samples over IPC.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ProbeSample } from './probe.ts';

export interface StartOptions {
  /** Main module to run. */
  readonly file: string;
  /** The probe module to preload (bench/lib/probe.ts, bundled like the main module). */
  readonly probe: string;
  readonly env: Record<string, string>;
  /** stdout and stderr go to this file (the server logs one line per admission; a pipe would load the parent). */
  readonly logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
}

export class ChildUnderTest {
  readonly process: ChildProcess;
  readonly startedAt: number;
  readonly logFile: string;
  #nextId = 1;
  #pending = new Map<number, (sample: ProbeSample) => void>();
  #exit: Promise<number | null>;

  constructor(options: StartOptions) {
    const fd = openSync(options.logFile, 'a');
    this.logFile = options.logFile;
    this.startedAt = performance.now();
    this.process = spawn(
      process.execPath,
      ['--expose-gc', `--import=${pathToFileURL(options.probe).href}`, ...(options.nodeFlags ?? []), options.file],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
        stdio: ['ignore', fd, fd, 'ipc'],
      },
    );
    closeSync(fd);
    this.#exit = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1)));
    });
    this.process.on('message', (message: unknown) => {
      const sample = message as Partial<ProbeSample> | null;
      if (sample?.probe !== 'sample' || typeof sample.id !== 'number') return;
      const resolve = this.#pending.get(sample.id);
      this.#pending.delete(sample.id);
      resolve?.(sample as ProbeSample);
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** Settles when the child exits, with its exit code (null when killed). */
  get exit(): Promise<number | null> {
    return this.#exit;
  }

  /** Memory, CPU and event-loop delay of the child; `gc` forces a full GC first. */
  sample(options: { gc?: boolean; resetEventLoop?: boolean } = {}): Promise<ProbeSample> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // A child that died (out of heap, a crash) must fail the run with its log file named, not as an IPC error.
      const died = () => new Error(`child ${this.pid} exited (code ${this.process.exitCode}); see ${this.logFile}`);
      if (this.exited) {
        reject(died());
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`child ${this.pid} did not answer a probe sample within 10 s; see ${this.logFile}`));
      }, 10_000);
      timer.unref();
      this.#pending.set(id, (sample) => {
        clearTimeout(timer);
        resolve(sample);
      });
      this.process.send({ probe: 'sample', id, ...options }, (error) => {
        if (error === null) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(this.exited ? died() : error);
      });
    });
  }

  /** Generic message to the child (used by the echo server to switch its canned answer). */
  send(message: unknown): Promise<void> {
    return new Promise((resolve, reject) => this.process.send(message as object, (error) => (error ? reject(error) : resolve())));
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code (null when killed). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.exited) return this.process.exitCode;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    try {
      return await this.#exit;
    } finally {
      clearTimeout(timer);
    }
  }

}

/** Polls `check` every `intervalMs` until it resolves true; rejects after `timeoutMs` or if the child exits. */
export async function waitUntil(
  child: ChildUnderTest,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 5,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw new Error(`child exited (code ${child.process.exitCode}) before it was ready; see ${child.logFile}`);
    // A check can hang (another process holds the port and never answers); the child's exit ends the wait too.
    const checked = await Promise.race([check().catch(() => false), child.exit.then(() => false)]);
    if (checked) return performance.now();
    if (performance.now() > deadline) throw new Error(`child not ready within ${timeoutMs} ms; see ${child.logFile}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
