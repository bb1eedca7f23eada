// The load generator: an undici pool over TLS with keep-alive, the way kube-apiserver calls a webhook
// (HTTP/1.1, one request per connection at a time, idle connections kept 90 s whatever the server hints).
import { Pool, buildConnector } from 'undici';
import { Samples, summarize } from './stats.ts';
import type { LatencySummary } from './stats.ts';

export interface TargetOptions {
  /** e.g. https://127.0.0.1:8443 */
  readonly origin: string;
  /** PEM CA the client pins. */
  readonly ca: string;
  /** TLS server name checked against the certificate's SAN, like the apiserver's `<svc>.<ns>.svc`. */
  readonly servername: string;
  readonly maxConnections: number;
}

/** A keep-alive client that counts the TLS connections it opens (reuse across idle gaps is measured with it). */
export class LoadClient {
  readonly pool: Pool;
  #opened = 0;
  #closed = 0;
  #closedByServer = 0;

  constructor(options: TargetOptions) {
    const connector = buildConnector({ ca: options.ca, servername: options.servername, rejectUnauthorized: true, allowH2: false });
    const connect: buildConnector.connector = (connectOptions, callback) => {
      this.#opened++;
      return connector(connectOptions, (error, socket) => {
        socket?.once('close', () => this.#closed++);
        // 'end' is the server's FIN; a connection undici itself retires (its 90 s idle timeout) only gets 'close'.
        socket?.once('end', () => this.#closedByServer++);
        callback(error as Error, socket as never);
      });
    };
    this.pool = new Pool(options.origin, {
      connections: options.maxConnections,
      pipelining: 1,
      connect,
      // Go's http.Transport (the apiserver's) keeps idle connections 90 s and ignores Keep-Alive hints.
      // A negative threshold makes undici do the same, so a server closing idle sockets early is noticed.
      keepAliveTimeout: 90_000,
      keepAliveMaxTimeout: 90_000,
      keepAliveTimeoutThreshold: -90_000,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  }

  get connectionsOpened(): number {
    return this.#opened;
  }

  /** Connections that ended, whoever closed them (an idle one closing means the server gave up on keep-alive). */
  get connectionsClosed(): number {
    return this.#closed;
  }

  /** Connections the server ended. An idle one ending within 90 s means the server gave up on keep-alive. */
  get connectionsClosedByServer(): number {
    return this.#closedByServer;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface RequestSpec {
  readonly body: string;
  readonly uid: string;
  /** What the caller expects; handed back to `validate`. */
  readonly kind: string;
}

/** Returns an error message when the answer is wrong, undefined when it is right. */
export type Validate = (statusCode: number, body: string, spec: RequestSpec) => string | undefined;

export interface RunOptions {
  readonly client: LoadClient;
  /** Path with query, e.g. /mutate?timeout=10s as the apiserver sends it. */
  readonly path: string;
  /** Requests in flight at once (closed loop): each worker sends, waits for the answer, sends again. */
  readonly concurrency: number;
  /** Stop after this long (measured part, after warm-up) … */
  readonly durationMs?: number;
  /** … or after this many measured requests. */
  readonly requests?: number;
  /** Requests during warm-up are sent but not recorded. */
  readonly warmupMs?: number;
  /** Optional fixed rate (requests per second across all workers); without it the loop runs flat out. */
  readonly ratePerSecond?: number;
  readonly next: (index: number) => RequestSpec;
  readonly validate?: Validate;
  /** Validate every n-th answer (1 = all). Parsing every answer would load the client more than the server. */
  readonly validateEvery?: number;
  /** Per-kind latency samples, e.g. to split a mixed load. */
  readonly perKind?: boolean;
}

export interface RunResult {
  readonly requests: number;
  /** Wrong answers, HTTP errors and network errors; includes `shed`. */
  readonly errors: number;
  /** 503 answers with Retry-After: the server's overload protection shedding load (the apiserver would fail the pod). */
  readonly shed: number;
  readonly errorsByKind: Readonly<Record<string, number>>;
  readonly errorSamples: readonly string[];
  readonly elapsedMs: number;
  /** Completed measured requests per second. */
  readonly throughput: number;
  readonly latencyMs: LatencySummary;
  readonly latencyByKindMs: Readonly<Record<string, LatencySummary>>;
  readonly validated: number;
  readonly connectionsOpened: number;
  /** Raw latencies in ms, for merging runs. */
  readonly samples: Samples;
  readonly samplesByKind: ReadonlyMap<string, Samples>;
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

export async function runLoad(options: RunOptions): Promise<RunResult> {
  const { client, concurrency } = options;
  if (options.durationMs === undefined && options.requests === undefined) {
    throw new Error('runLoad needs durationMs or requests');
  }
  const validateEvery = Math.max(1, options.validateEvery ?? 1);
  const samples = new Samples();
  const byKind = new Map<string, Samples>();
  const errorSamples: string[] = [];
  let errors = 0;
  let shed = 0;
  let validated = 0;
  let index = 0;
  let measured = 0;
  const connectionsBefore = client.connectionsOpened;
  const start = performance.now();
  const warmupEnd = start + (options.warmupMs ?? 0);
  const end = options.durationMs === undefined ? Number.POSITIVE_INFINITY : warmupEnd + options.durationMs;
  const interval = options.ratePerSecond === undefined ? 0 : 1000 / options.ratePerSecond;

  const errorsByKind: Record<string, number> = {};
  function recordError(message: string, kind: string): void {
    errors++;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (errorSamples.length < 5) errorSamples.push(message);
  }

  function more(): boolean {
    if (performance.now() >= end) return false;
    if (options.requests !== undefined && measured >= options.requests) return false;
    return true;
  }

  async function worker(): Promise<void> {
    while (more()) {
      const i = index++;
      if (interval > 0) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!more()) return;
      }
      const spec = options.next(i);
      const sent = performance.now();
      const recording = sent >= warmupEnd;
      if (recording) measured++;
      try {
        const response = await client.pool.request({ path: options.path, method: 'POST', headers: HEADERS, body: spec.body });
        const text = await response.body.text();
        const took = performance.now() - sent;
        if (!recording) continue;
        samples.push(took);
        if (options.perKind === true) {
          let kindSamples = byKind.get(spec.kind);
          if (kindSamples === undefined) byKind.set(spec.kind, (kindSamples = new Samples()));
          kindSamples.push(took);
        }
        if (response.statusCode !== 200) {
          if (response.statusCode === 503 && response.headers['retry-after'] !== undefined) shed++;
          recordError(`${spec.kind} ${spec.uid}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`, spec.kind);
        } else if (options.validate !== undefined && (i % validateEvery === 0 || validateEvery === 1)) {
          validated++;
          const problem = options.validate(response.statusCode, text, spec);
          if (problem !== undefined) recordError(`${spec.kind} ${spec.uid}: ${problem}`, spec.kind);
        }
      } catch (error) {
        if (recording) {
          samples.push(performance.now() - sent);
          recordError(`${spec.kind} ${spec.uid}: ${(error as Error).name}: ${(error as Error).message}`, spec.kind);
        }
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const stop = performance.now();
  const elapsedMs = Math.max(1, stop - Math.min(stop, warmupEnd));
  const latencyByKindMs: Record<string, LatencySummary> = {};
  for (const [kind, kindSamples] of byKind) latencyByKindMs[kind] = kindSamples.summary();
  return {
    requests: samples.length,
    errors,
    shed,
    errorsByKind,
    errorSamples,
    elapsedMs,
    throughput: (samples.length * 1000) / elapsedMs,
    latencyMs: summarize(samples.sorted()),
    latencyByKindMs,
    validated,
    connectionsOpened: client.connectionsOpened - connectionsBefore,
    samples,
    samplesByKind: byKind,
  };
}

/** Merges the latencies of several runs of the same target into one summary. */
export function mergeSamples(runs: readonly RunResult[], kind?: string): LatencySummary {
  const all = new Samples();
  for (const run of runs) {
    const source = kind === undefined ? run.samples : run.samplesByKind.get(kind);
    if (source === undefined) continue;
    const sorted = source.sorted();
    for (let i = 0; i < sorted.length; i++) all.push(sorted[i] as number);
  }
  return all.summary();
}
