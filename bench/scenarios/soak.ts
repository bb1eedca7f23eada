// Memory and stability: a steady load at a fixed rate with the production-like mix 70% pass-through, 25% mutate
// (warm), 5% cold (a new app each time, so one API write each), broken by idle gaps longer than 5 s that test
// keep-alive reuse (the apiserver keeps idle connections for 90 s). Memory after a forced GC is sampled in the
// gaps, so the GC pause stays out of the latency and event-loop figures.
import { validateAnswer } from '../lib/answers.ts';
import type { RunningTarget } from '../lib/environment.ts';
import { MUTATE_PATH } from '../lib/environment.ts';
import { mergeSamples, runLoad } from '../lib/load.ts';
import type { RequestSpec, RunResult } from '../lib/load.ts';
import type { ProbeSample } from '../lib/probe.ts';
import type { LatencySummary } from '../lib/stats.ts';
import { round, roundSummary } from '../lib/stats.ts';
import { benchUid, body, bodyTemplate, fixtures } from '../fixtures/reviews.ts';
import { APP_PLACEHOLDER, coldTemplate } from './cold.ts';
import type { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';

export interface SoakSettings {
  readonly ratePerSecond: number;
  readonly maxConcurrency: number;
  /** Load segments; an idle gap follows every segment but the last. */
  readonly segments: number;
  readonly segmentMs: number;
  readonly gapMs: number;
  readonly warmupMs: number;
  /** API latency for the cold requests. */
  readonly apiLatencyMs: number;
  /** false replaces the 5 % cold admissions by mutate ones (to tell the cold path's memory apart). */
  readonly includeCold?: boolean;
}

export interface MemoryPoint {
  readonly atS: number;
  readonly rssMB: number;
  /** Anonymous RSS (Linux): RSS without the node binary's shared, file-backed pages. */
  readonly rssAnonMB: number;
  readonly heapUsedAfterGcMB: number;
  readonly heapTotalMB: number;
  readonly externalMB: number;
}

export interface SoakResult {
  readonly settings: SoakSettings;
  readonly durationS: number;
  readonly requests: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly errors: number;
  /** Of the errors: 503s from overload protection. */
  readonly shed: number;
  /** Cold admissions that were answered correctly: each must have made exactly one API write. */
  readonly coldAdmitted: number;
  readonly errorSamples: readonly string[];
  readonly achievedRate: number;
  readonly latencyMs: LatencySummary;
  readonly latencyByKindMs: Readonly<Record<string, LatencySummary>>;
  readonly memory: {
    readonly start: MemoryPoint;
    readonly end: MemoryPoint;
    readonly timeline: readonly MemoryPoint[];
    /** Highest RSS seen under load (sampled every few seconds, no GC forced) and the kernel's peak. */
    readonly maxRssUnderLoadMB: number;
    /** The sample with the highest RSS under load: where the memory was (no GC forced). */
    readonly atMaxRss: MemoryPoint;
    readonly peakRssMB: number;
    readonly heapGrowthMB: number;
    readonly rssGrowthMB: number;
  };
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly idleGaps: number;
  /** TLS connections opened by the client in the segments after each idle gap (more may be needed for a burst). */
  readonly connectionsOpenedAfterGaps: readonly number[];
  /** Connections that closed during each idle gap, whoever closed them (the client retires one idle for 90 s). */
  readonly connectionsClosedDuringGaps: readonly number[];
  /** Of those, the ones the server ended: 0 means the server kept idle keep-alive connections open (absent in
   * results written before it was counted). */
  readonly connectionsClosedByServerDuringGaps?: readonly number[];
  readonly coldRequests: number;
  readonly apiWrites: number;
  readonly serverCpuUsPerRequest: number;
}

const MB = 1024 * 1024;

function point(sample: ProbeSample, startedAt: number): MemoryPoint {
  return {
    atS: round((performance.now() - startedAt) / 1000, 1),
    rssMB: round(sample.rssBytes / MB, 1),
    rssAnonMB: round(sample.rssAnonBytes / MB, 1),
    heapUsedAfterGcMB: round(sample.heapUsedBytes / MB, 2),
    heapTotalMB: round(sample.heapTotalBytes / MB, 1),
    externalMB: round(sample.externalBytes / MB, 1),
  };
}

export async function runSoak(input: {
  readonly webhook: RunningTarget;
  readonly kubeApi: FakeKubeApi;
  readonly settings: SoakSettings;
  readonly log: (line: string) => void;
}): Promise<SoakResult> {
  const { settings, webhook, kubeApi } = input;
  const passThrough = bodyTemplate(fixtures.passThrough());
  const mutate = bodyTemplate(fixtures.typical());
  const cold = coldTemplate();
  const byKind: Record<string, number> = { 'pass-through': 0, mutate: 0, cold: 0 };
  let counter = 0;
  // 20-request cycle: 14 pass-through, 5 mutate, 1 cold = 70 / 25 / 5 %.
  const next = (): RequestSpec => {
    const n = counter++;
    const slot = n % 20;
    const uid = benchUid(0x50a4, n);
    if (slot === 19 && settings.includeCold !== false) {
      byKind.cold = (byKind.cold ?? 0) + 1;
      return { uid, kind: 'cold', body: body(cold, uid).replace(APP_PLACEHOLDER, `soak-${n}`) };
    }
    if (slot % 4 === 1) {
      byKind.mutate = (byKind.mutate ?? 0) + 1;
      return { uid, kind: 'mutate', body: body(mutate, uid) };
    }
    byKind['pass-through'] = (byKind['pass-through'] ?? 0) + 1;
    return { uid, kind: 'pass-through', body: body(passThrough, uid) };
  };
  const client = webhook.client(settings.maxConcurrency);
  const savedLatency = kubeApi.latencyMs;
  kubeApi.latencyMs = settings.apiLatencyMs;
  const common = {
    client,
    path: MUTATE_PATH,
    concurrency: settings.maxConcurrency,
    ratePerSecond: settings.ratePerSecond,
    next,
    validate: validateAnswer,
    perKind: true,
  };
  try {
    await runLoad({ ...common, durationMs: settings.warmupMs });
    for (const k of Object.keys(byKind)) byKind[k] = 0;
    const startedAt = performance.now();
    const startSample = await webhook.child.sample({ gc: true, resetEventLoop: true });
    const timeline: MemoryPoint[] = [point(startSample, startedAt)];
    const apiFrom = kubeApi.requests.length;
    const runs: RunResult[] = [];
    const connectionsAfterGaps: number[] = [];
    let maxRss = startSample.rssBytes;
    let atMaxRss = point(startSample, startedAt);
    const connectionsClosedDuringGaps: number[] = [];
    const connectionsClosedByServerDuringGaps: number[] = [];

    for (let segment = 0; segment < settings.segments; segment++) {
      // RSS under load, without forcing a GC, every 5 s (or 4 times per short segment).
      const every = Math.min(5_000, Math.max(250, settings.segmentMs / 4));
      const sampler = setInterval(() => {
        webhook.child.sample().then(
          (s) => {
            if (s.rssBytes > maxRss) {
              maxRss = s.rssBytes;
              atMaxRss = point(s, startedAt);
            }
          },
          () => {},
        );
      }, every);
      let run: RunResult;
      try {
        run = await runLoad({ ...common, durationMs: settings.segmentMs });
      } finally {
        clearInterval(sampler);
      }
      runs.push(run);
      if (segment > 0) connectionsAfterGaps.push(run.connectionsOpened);
      input.log(
        `soak segment ${segment + 1}/${settings.segments}: ${run.requests} requests, ${round(run.throughput, 1)} rps, ` +
          `p99 ${round(run.latencyMs.p99)} ms, errors ${run.errors}, new connections ${run.connectionsOpened}`,
      );
      if (segment < settings.segments - 1) {
        // The idle gap: sample memory after GC (keeps its pause out of the event-loop window), then wait.
        const gapStart = performance.now();
        const closedBefore = client.connectionsClosed;
        const closedByServerBefore = client.connectionsClosedByServer;
        const s = await webhook.child.sample({ gc: true });
        timeline.push(point(s, startedAt));
        const rest = settings.gapMs - (performance.now() - gapStart);
        if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
        connectionsClosedDuringGaps.push(client.connectionsClosed - closedBefore);
        connectionsClosedByServerDuringGaps.push(client.connectionsClosedByServer - closedByServerBefore);
      }
    }
    const endSample = await webhook.child.sample({ gc: true, resetEventLoop: true });
    const eventLoop = endSample.eventLoop;
    const end = point(endSample, startedAt);
    timeline.push(end);
    const start = timeline[0] as MemoryPoint;
    const durationS = (performance.now() - startedAt) / 1000;
    const requests = runs.reduce((n, r) => n + r.requests, 0);
    const loadMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
    const writes = kubeApi.requests.slice(apiFrom).filter((r) => r.verb === 'create' || r.verb === 'update').length;
    const coldAdmitted = (byKind.cold ?? 0) - runs.reduce((n, r) => n + (r.errorsByKind.cold ?? 0), 0);
    const latencyByKindMs: Record<string, LatencySummary> = {};
    for (const kind of Object.keys(byKind)) latencyByKindMs[kind] = roundSummary(mergeSamples(runs, kind));
    return {
      settings,
      durationS: round(durationS, 1),
      requests,
      byKind: { ...byKind },
      errors: runs.reduce((n, r) => n + r.errors, 0),
      shed: runs.reduce((n, r) => n + r.shed, 0),
      coldAdmitted,
      errorSamples: runs.flatMap((r) => r.errorSamples).slice(0, 5),
      achievedRate: round((requests * 1000) / loadMs, 1),
      latencyMs: roundSummary(mergeSamples(runs)),
      latencyByKindMs,
      memory: {
        start,
        end,
        timeline,
        maxRssUnderLoadMB: round(maxRss / MB, 1),
        atMaxRss,
        peakRssMB: round(endSample.maxRssBytes / MB, 1),
        heapGrowthMB: round(end.heapUsedAfterGcMB - start.heapUsedAfterGcMB, 2),
        rssGrowthMB: round(end.rssMB - start.rssMB, 1),
      },
      eventLoopDelayMs: { p50: round(eventLoop.p50), p99: round(eventLoop.p99), max: round(eventLoop.max) },
      idleGaps: settings.segments - 1,
      connectionsOpenedAfterGaps: connectionsAfterGaps,
      connectionsClosedDuringGaps,
      connectionsClosedByServerDuringGaps,
      coldRequests: byKind.cold ?? 0,
      apiWrites: writes,
      serverCpuUsPerRequest: round(
        (endSample.cpuUserUs + endSample.cpuSystemUs - startSample.cpuUserUs - startSample.cpuSystemUs) / Math.max(1, requests),
        1,
      ),
    };
  } finally {
    kubeApi.latencyMs = savedLatency;
    await client.close();
  }
}
