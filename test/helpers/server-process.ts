// The server's entry point as a child process, for the tests that run it as an operator would: `npm start`, the
// source entry, or the compiled one (test/build.test.ts). Logs are read from its stdout, one JSON line each.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { createLogCapture, type LogCapture } from './log-capture.ts';

const root = new URL('../../', import.meta.url).pathname;

/** Only what a process needs to run: no KUBECONFIG, no KUBERNETES_SERVICE_HOST, no AWS settings leak in. */
export function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // No shutdown drain: these tests stop the process many times (test/reliability/shutdown.test.ts keeps it).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), DB_ACCESS_DRAIN_SECONDS: '0' };
  return { ...env, ...extra };
}

export interface Child {
  readonly proc: ChildProcess;
  readonly logs: LogCapture;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Runs in the repository unless `cwd` says otherwise. */
export function start(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string = root): Child {
  // Its own process group, so that `npm start` and the node it runs can be signalled together.
  const proc = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const logs = createLogCapture();
  proc.stdout?.pipe(logs.stream);
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, logs, stderr: () => stderr, exited };
}

export function stopGroup(child: Child, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.proc.exitCode === null && child.proc.pid !== undefined) {
    try {
      process.kill(-child.proc.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Waits (bounded) for the "listening" line and returns the port in it, or undefined when the process ended. */
export async function listeningPort(child: Child, timeoutMs = 20_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const r of child.logs.records()) {
      const m = /listening on https:\/\/[^:]+:(\d+)\/mutate/.exec(String(r.msg));
      if (m) return Number(m[1]);
    }
    if (child.proc.exitCode !== null) return undefined;
    await sleep(50);
  }
  throw new Error(`no "listening" line within ${timeoutMs} ms; stderr: ${child.stderr()}`);
}

/** The records once one matches `wanted`: stdout is written in batches, at least every 250 ms (log-destination.ts). */
export async function recordsOnce(
  child: Child,
  wanted: (r: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = child.logs.records();
    if (records.some(wanted) || Date.now() > deadline) return records;
    await sleep(25);
  }
}

export function post(pool: Pool, body: unknown) {
  return pool
    .request({
      method: 'POST',
      path: '/mutate?timeout=10s',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    .then(async (res) => ({ status: res.statusCode, json: (await res.body.json()) as any }));
}
