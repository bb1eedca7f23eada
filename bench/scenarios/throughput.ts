// Mutate (warm cache) and pass-through paths against the bare echo, side by side: for each concurrency the two
// servers are loaded one after the other, alternating which goes first in each round, so drift on a shared
// machine hits both. Reported: throughput ratio, p50/p99 of both, server CPU per request.
import { validateAnswer } from '../lib/answers.ts';
import type { RunningTarget } from '../lib/environment.ts';
import { MUTATE_PATH } from '../lib/environment.ts';
import { mergeSamples, runLoad } from '../lib/load.ts';
import type { LoadClient, RunResult } from '../lib/load.ts';
import type { LatencySummary } from '../lib/stats.ts';
import { round, roundSummary } from '../lib/stats.ts';
import { benchUid, body } from '../fixtures/reviews.ts';
import type { BodyTemplate } from '../fixtures/reviews.ts';
import type { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';

export interface ThroughputSettings {
  readonly concurrencies: readonly number[];
  /** Alternating slices per side: many short slices make drift on a shared machine hit both sides alike. */
  readonly rounds: number;
  /** Warm-up before the first slice of each side (JIT, connections). */
  readonly warmupMs: number;
  /** Warm-up before every later slice (connections are already open). */
  readonly sliceWarmupMs: number;
  /** Measured length of each slice. */
  readonly durationMs: number;
}

export interface SideResult {
  readonly requests: number;
  readonly errors: number;
  /** Of the errors: 503s from overload protection. */
  readonly shed: number;
  readonly errorSamples: readonly string[];
  /** Requests per second, over all rounds. */
  readonly throughput: number;
  readonly latencyMs: LatencySummary;
  /** Server CPU (user + system) per request, microseconds: robust on a shared machine. */
  readonly cpuUsPerRequest: number;
  /**
   * Of it, system (kernel) time. On loopback a socket write also runs the receive path and wakes the load generator,
   * so this part depends on the client's state as well as on the server (BENCHMARKS.md, finding 1).
   */
  readonly kernelUsPerRequest: number;
  readonly validated: number;
}

export interface ThroughputRow {
  readonly path: 'mutate' | 'pass-through';
  readonly concurrency: number;
  readonly requestBytes: number;
  readonly answerBytes: number;
  readonly echo: SideResult;
  readonly webhook: SideResult;
  /** webhook throughput / echo throughput. */
  readonly ratio: number;
  /** echo CPU per request / webhook CPU per request: the throughput ratio if the server had the CPU to itself. */
  readonly cpuRatio: number;
  /** Kubernetes API calls made by the webhook during the measured runs (warm cache: must be 0). */
  readonly apiCalls: number;
}

interface Side {
  readonly target: RunningTarget;
  readonly client: LoadClient;
  readonly runs: RunResult[];
  cpuUs: number;
  kernelUs: number;
  requestsForCpu: number;
}

async function measure(
  side: Side,
  template: BodyTemplate,
  kind: string,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
  seed: number,
): Promise<void> {
  let counter = 0;
  const next = () => {
    const uid = benchUid(seed, counter++);
    return { body: body(template, uid), uid, kind };
  };
  const common = { client: side.client, path: MUTATE_PATH, concurrency, next, validate: validateAnswer, validateEvery: 16 };
  await runLoad({ ...common, durationMs: warmupMs });
  const before = await side.target.child.sample();
  const run = await runLoad({ ...common, durationMs });
  const after = await side.target.child.sample();
  side.runs.push(run);
  side.cpuUs += after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
  side.kernelUs += after.cpuSystemUs - before.cpuSystemUs;
  // Every request sent between the samples, including those still in flight at the start: close enough at
  // thousands of requests, and the same for both sides.
  side.requestsForCpu += run.requests;
}

function summarizeSide(side: Side): SideResult {
  const requests = side.runs.reduce((n, r) => n + r.requests, 0);
  const elapsed = side.runs.reduce((n, r) => n + r.elapsedMs, 0);
  const errors = side.runs.reduce((n, r) => n + r.errors, 0);
  return {
    requests,
    errors,
    shed: side.runs.reduce((n, r) => n + r.shed, 0),
    errorSamples: side.runs.flatMap((r) => r.errorSamples).slice(0, 5),
    throughput: round((requests * 1000) / elapsed, 1),
    latencyMs: roundSummary(mergeSamples(side.runs)),
    cpuUsPerRequest: round(side.cpuUs / Math.max(1, side.requestsForCpu), 1),
    kernelUsPerRequest: round(side.kernelUs / Math.max(1, side.requestsForCpu), 1),
    validated: side.runs.reduce((n, r) => n + r.validated, 0),
  };
}

export interface ThroughputInput {
  readonly webhook: RunningTarget;
  readonly echo: RunningTarget;
  readonly kubeApi: FakeKubeApi;
  readonly path: 'mutate' | 'pass-through';
  readonly template: BodyTemplate;
  readonly settings: ThroughputSettings;
  readonly log: (line: string) => void;
}

/**
 * Sends one request to the webhook and gives its exact answer to the echo, so the baseline returns an answer of
 * the same size. For the mutate path this first request also creates the SecretProviderClass: the runs after it
 * are the warm path.
 */
export async function primeEcho(input: Omit<ThroughputInput, 'settings' | 'log'>): Promise<number> {
  const client = input.webhook.client(1);
  try {
    const uid = benchUid(0xfeed, 1);
    const response = await client.pool.request({
      path: MUTATE_PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(input.template, uid),
    });
    const text = await response.body.text();
    const problem = validateAnswer(response.statusCode, text, { uid, body: '', kind: input.path });
    if (problem !== undefined) throw new Error(`webhook's answer for the ${input.path} pod is wrong: ${problem}`);
    await input.echo.child.send({ echo: 'set-response', body: text });
    return Buffer.byteLength(text);
  } finally {
    await client.close();
  }
}

export async function runThroughput(input: ThroughputInput): Promise<ThroughputRow[]> {
  const answerBytes = await primeEcho(input);
  const rows: ThroughputRow[] = [];
  for (const concurrency of input.settings.concurrencies) {
    // One connection per request in flight, as the apiserver does; opened during the warm-up.
    const webhookClient = input.webhook.client(concurrency);
    const echoClient = input.echo.client(concurrency);
    try {
      const webhook: Side = { target: input.webhook, client: webhookClient, runs: [], cpuUs: 0, kernelUs: 0, requestsForCpu: 0 };
      const echo: Side = { target: input.echo, client: echoClient, runs: [], cpuUs: 0, kernelUs: 0, requestsForCpu: 0 };
      const apiBefore = input.kubeApi.requests.length;
      for (let pass = 0; pass < input.settings.rounds; pass++) {
        const order = pass % 2 === 0 ? [echo, webhook] : [webhook, echo];
        for (const side of order) {
          const kind = side === echo ? 'echo' : input.path;
          const warmup = pass === 0 ? input.settings.warmupMs : input.settings.sliceWarmupMs;
          await measure(side, input.template, kind, concurrency, warmup, input.settings.durationMs, concurrency * 64 + pass * 2 + (side === echo ? 1 : 0));
        }
      }
      const row: ThroughputRow = {
        path: input.path,
        concurrency,
        requestBytes: input.template.bytes,
        answerBytes,
        echo: summarizeSide(echo),
        webhook: summarizeSide(webhook),
        ratio: 0,
        cpuRatio: 0,
        apiCalls: input.kubeApi.requests.length - apiBefore,
      };
      const withRatio = {
        ...row,
        ratio: round(row.webhook.throughput / row.echo.throughput, 3),
        cpuRatio: round(row.echo.cpuUsPerRequest / row.webhook.cpuUsPerRequest, 3),
      };
      rows.push(withRatio);
      input.log(
        `${input.path} c=${concurrency}: webhook ${withRatio.webhook.throughput} rps p50 ${withRatio.webhook.latencyMs.p50} p99 ${withRatio.webhook.latencyMs.p99} ms | ` +
          `echo ${withRatio.echo.throughput} rps p50 ${withRatio.echo.latencyMs.p50} p99 ${withRatio.echo.latencyMs.p99} ms | ratio ${withRatio.ratio} | CPU µs/req webhook ${withRatio.webhook.cpuUsPerRequest} echo ${withRatio.echo.cpuUsPerRequest} (kernel ${withRatio.webhook.kernelUsPerRequest} / ${withRatio.echo.kernelUsPerRequest})`,
      );
    } finally {
      await webhookClient.close();
      await echoClient.close();
    }
  }
  return rows;
}
