// The cold path: the SecretProviderClass does not exist yet, so the webhook must write it through the in-test
// Kubernetes API, which answers after an added latency. Counted from the API's own request log:
// - unique apps: exactly one write per admission;
// - 64 concurrent pods of one new app: exactly one create (single flight).
import { validateAnswer } from '../lib/answers.ts';
import type { RunningTarget } from '../lib/environment.ts';
import { MUTATE_PATH } from '../lib/environment.ts';
import { runLoad } from '../lib/load.ts';
import type { LatencySummary } from '../lib/stats.ts';
import { round, roundSummary } from '../lib/stats.ts';
import { benchUid, body, bodyTemplate, podReview } from '../fixtures/reviews.ts';
import type { FakeKubeApi, KubeRequestRecord } from '../../test/helpers/fake-kube-api.ts';

export const APP_PLACEHOLDER = 'bench-app-placeholder';

export interface ColdSettings {
  readonly latenciesMs: readonly number[];
  /** Admissions of distinct new apps per latency and concurrency. */
  readonly admissions: number;
  /**
   * Concurrencies for the unique-app runs: 1 shows the latency one admission pays for the API round trips; a
   * higher one shows how many new apps per second the webhook can create (each costs TLS and CPU).
   */
  readonly concurrencies: readonly number[];
  /** Pods of one new app sent at once. */
  readonly burst: number;
}

export interface ApiCallCounts {
  readonly total: number;
  readonly get: number;
  readonly create: number;
  readonly update: number;
  readonly other: number;
}

export interface ColdUniqueResult {
  readonly apiLatencyMs: number;
  readonly admissions: number;
  readonly concurrency: number;
  readonly errors: number;
  /** Of the errors: 503s from overload protection (no write is expected for those). */
  readonly shed: number;
  readonly errorSamples: readonly string[];
  readonly latencyMs: LatencySummary;
  /** New apps admitted per second at this concurrency. */
  readonly throughput: number;
  readonly apiCalls: ApiCallCounts;
  /** Writes (create + update) per admission: must be exactly 1. */
  readonly writesPerAdmission: number;
  readonly apiCallsPerAdmission: number;
  /** p99 / (API latency × API calls per admission): 1.0 would mean we add nothing. */
  readonly p99OverApiTime: number;
}

export interface ColdBurstResult {
  readonly apiLatencyMs: number;
  readonly pods: number;
  readonly errors: number;
  readonly shed: number;
  readonly errorSamples: readonly string[];
  readonly latencyMs: LatencySummary;
  readonly apiCalls: ApiCallCounts;
}

export interface ColdResult {
  readonly unique: ColdUniqueResult[];
  readonly burst: ColdBurstResult[];
}

function countCalls(records: readonly KubeRequestRecord[]): ApiCallCounts {
  const counts = { total: records.length, get: 0, create: 0, update: 0, other: 0 };
  for (const r of records) {
    if (r.verb === 'get') counts.get++;
    else if (r.verb === 'create') counts.create++;
    else if (r.verb === 'update') counts.update++;
    else counts.other++;
  }
  return counts;
}

export function coldTemplate() {
  return bodyTemplate(podReview({ app: APP_PLACEHOLDER }));
}

export async function runCold(input: {
  readonly webhook: RunningTarget;
  readonly kubeApi: FakeKubeApi;
  readonly settings: ColdSettings;
  /** Distinguishes app names between calls (each call must use apps never seen before). */
  readonly runId: string;
  readonly log: (line: string) => void;
}): Promise<ColdResult> {
  const { kubeApi, settings } = input;
  const template = coldTemplate();
  const client = input.webhook.client(Math.max(...settings.concurrencies, settings.burst));
  const unique: ColdUniqueResult[] = [];
  const burst: ColdBurstResult[] = [];
  const savedLatency = kubeApi.latencyMs;
  try {
    for (const latency of settings.latenciesMs) {
      kubeApi.latencyMs = latency;

      for (const concurrency of settings.concurrencies) {
        const from = kubeApi.requests.length;
        const run = await runLoad({
          client,
          path: MUTATE_PATH,
          concurrency,
          requests: settings.admissions,
          next: (i) => {
            const uid = benchUid(0xc01d0000 + latency * 256 + concurrency, i);
            return {
              uid,
              kind: 'cold',
              body: body(template, uid).replace(APP_PLACEHOLDER, `cold-${input.runId}-${latency}-${concurrency}-${i}`),
            };
          },
          validate: validateAnswer,
        });
        const calls = countCalls(kubeApi.requests.slice(from));
        const perAdmission = calls.total / Math.max(1, run.requests);
        const result: ColdUniqueResult = {
          apiLatencyMs: latency,
          admissions: run.requests,
          concurrency,
          errors: run.errors,
          shed: run.shed,
          errorSamples: run.errorSamples,
          latencyMs: roundSummary(run.latencyMs),
          throughput: round(run.throughput, 1),
          apiCalls: calls,
          writesPerAdmission: round((calls.create + calls.update) / Math.max(1, run.requests), 3),
          apiCallsPerAdmission: round(perAdmission, 3),
          p99OverApiTime: latency > 0 ? round(run.latencyMs.p99 / (latency * perAdmission), 2) : Number.NaN,
        };
        unique.push(result);
        input.log(
          `cold unique apps, API +${latency} ms, c=${concurrency}: ${run.requests} admissions, ${calls.create} creates, ${calls.update} updates, ` +
            `${calls.get} gets, p50 ${result.latencyMs.p50} p99 ${result.latencyMs.p99} ms, ${round(run.throughput, 1)}/s, errors ${run.errors}`,
        );
      }

      const burstFrom = kubeApi.requests.length;
      const app = `burst-${input.runId}-${latency}`;
      const burstRun = await runLoad({
        client,
        path: MUTATE_PATH,
        concurrency: settings.burst,
        requests: settings.burst,
        next: (i) => {
          const uid = benchUid(0xb0000000 + latency, i);
          return { uid, kind: 'cold', body: body(template, uid).replace(APP_PLACEHOLDER, app) };
        },
        validate: validateAnswer,
      });
      const burstCalls = countCalls(kubeApi.requests.slice(burstFrom));
      burst.push({
        apiLatencyMs: latency,
        pods: burstRun.requests,
        errors: burstRun.errors,
        shed: burstRun.shed,
        errorSamples: burstRun.errorSamples,
        latencyMs: roundSummary(burstRun.latencyMs),
        apiCalls: burstCalls,
      });
      input.log(
        `cold burst, API +${latency} ms: ${burstRun.requests} pods of one new app, ${burstCalls.create} creates, ` +
          `${burstCalls.total} API calls, p99 ${round(burstRun.latencyMs.p99)} ms, errors ${burstRun.errors}`,
      );
    }
  } finally {
    kubeApi.latencyMs = savedLatency;
    await client.close();
  }
  return { unique, burst };
}
