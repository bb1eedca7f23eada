// `npm run bench`: every benchmark of issue 6, side by side in one run, on this machine.
//   npm run bench                  full run (~10 min, includes the 5-minute soak); writes bench/results.json and
//                                  the generated section of BENCHMARKS.md
//   npm run bench -- --quick       tiny workload (seconds), prints a summary; nothing written unless --out FILE
//   BENCH_QUICK=1                  same as --quick
//   npm run bench -- --render      rewrite BENCHMARKS.md's generated section from bench/results.json (no run)
//   BENCH_ONLY=engine,throughput,cold,soak,startup   run a subset (never written to BENCHMARKS.md)
//   BENCH_CPU_PROF=DIR             run the webhook and the echo under --cpu-prof, profiles in DIR/webhook and DIR/echo
//   BENCH_SOAK_RATE=N              soak rate in admissions per second (default 200)
//   BENCH_SOAK_SEGMENT_S=N         length of each of the 5 soak segments (default 60)
//   BENCH_WEBHOOK_FLAGS="--max-old-space-size=96"   node flags for the webhook and echo children instead of the
//                                  chart's default nodeOptions ("" = V8 defaults; results not written)
//   BENCH_LOG_LEVEL=warn           the webhook's LOG_LEVEL (default info, as deployed; results not written)
//   BENCH_SERVER_MAIN=FILE         run another build of the server entry, e.g. src/server/main.ts (results not written)
//   BENCH_SOAK_NO_COLD=1           soak without the 5 % cold admissions (to tell their memory apart; not written)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync } from 'node:fs';
import { runEngineBenchmarks } from './engine.ts';
import { bodyTemplate, fixtures } from './fixtures/reviews.ts';
import { createEnvironment, startEcho, startWebhook } from './lib/environment.ts';
import type { RunningTarget } from './lib/environment.ts';
import { chartNodeFlags } from './lib/chart-flags.ts';
import { describeMachine } from './lib/machine.ts';
import { evaluateTargets, recommendResources, writeResults } from './lib/report.ts';
import type { BenchResults } from './lib/report.ts';
import { round } from './lib/stats.ts';
import { runCold } from './scenarios/cold.ts';
import type { ColdSettings } from './scenarios/cold.ts';
import { runSoak } from './scenarios/soak.ts';
import type { SoakSettings } from './scenarios/soak.ts';
import { runStartup } from './scenarios/startup.ts';
import { runThroughput } from './scenarios/throughput.ts';
import type { ThroughputRow, ThroughputSettings } from './scenarios/throughput.ts';

export const SCENARIOS = ['engine', 'throughput', 'cold', 'soak', 'startup'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchSettings {
  readonly engineBudgetMs: number;
  readonly throughput: ThroughputSettings;
  readonly cold: ColdSettings;
  readonly soak: SoakSettings;
  readonly startupRuns: number;
}

export const FULL: BenchSettings = {
  engineBudgetMs: 2_000,
  throughput: { concurrencies: [1, 16, 64], rounds: 6, warmupMs: 1_500, sliceWarmupMs: 300, durationMs: 2_000 },
  cold: { latenciesMs: [5, 50], admissions: 200, concurrencies: [1, 16], burst: 64 },
  soak: {
    ratePerSecond: 200,
    maxConcurrency: 16,
    segments: 5,
    segmentMs: 60_000,
    gapMs: 6_000,
    warmupMs: 5_000,
    apiLatencyMs: 5,
  },
  startupRuns: 5,
};

export const QUICK: BenchSettings = {
  engineBudgetMs: 40,
  throughput: { concurrencies: [1, 16], rounds: 1, warmupMs: 100, sliceWarmupMs: 50, durationMs: 250 },
  cold: { latenciesMs: [5, 50], admissions: 12, concurrencies: [1, 8], burst: 64 },
  // The idle gap is shorter than the apiserver-relevant 5 s here: the quick run only keeps the code alive.
  soak: { ratePerSecond: 150, maxConcurrency: 8, segments: 2, segmentMs: 600, gapMs: 500, warmupMs: 500, apiLatencyMs: 5 },
  startupRuns: 1,
};

export interface RunOptions {
  readonly quick: boolean;
  readonly only?: readonly Scenario[];
  readonly cpuProfileDir?: string;
  /**
   * Node flags for the webhook and echo children. Default: the chart's `nodeOptions` (as deployed). Both children
   * get the same flags, so the ratio measures our code, not a difference in V8 settings.
   */
  readonly webhookFlags?: readonly string[];
  readonly soakRate?: number;
  readonly soakSegmentMs?: number;
  readonly soakWithoutCold?: boolean;
  /** The webhook's LOG_LEVEL; default info, as deployed. */
  readonly logLevel?: string;
  readonly log?: (line: string) => void;
  readonly command?: string;
}

export async function runBenchmarks(options: RunOptions): Promise<BenchResults> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const base = options.quick ? QUICK : FULL;
  const settings: BenchSettings = {
    ...base,
    soak: {
      ...base.soak,
      ...(options.soakRate === undefined ? {} : { ratePerSecond: options.soakRate }),
      ...(options.soakSegmentMs === undefined ? {} : { segmentMs: options.soakSegmentMs }),
      ...(options.soakWithoutCold === true ? { includeCold: false } : {}),
    },
  };
  const wanted = new Set<Scenario>(options.only ?? SCENARIOS);
  const machine = describeMachine();
  const notes: string[] = [];
  if (options.quick) notes.push('Quick mode: a tiny workload that only keeps the benchmark code working. Its timings mean nothing.');
  if (machine.cpus <= 2) {
    notes.push(
      `${machine.cpus} cores shared by the load generator, the server under test and whatever else runs: absolute numbers drift, the side-by-side ratios much less.`,
    );
  }
  const nodeFlags = options.webhookFlags ?? chartNodeFlags();
  const webhookFlags = [
    ...nodeFlags,
    ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.join(options.cpuProfileDir, 'webhook')}`]),
  ];
  // The echo is profiled too, so the two can be compared function by function.
  const echoFlags = [
    ...nodeFlags,
    ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.join(options.cpuProfileDir, 'echo')}`]),
  ];
  if (process.env.BENCH_SERVER_MAIN) notes.push(`The webhook ran from ${process.env.BENCH_SERVER_MAIN}.`);
  const flagText = nodeFlags.length > 0 ? nodeFlags.join(' ') : 'none (V8 defaults)';
  notes.push(
    options.webhookFlags === undefined
      ? `Node flags of the webhook and the echo: the chart's default nodeOptions, ${flagText}.`
      : `Node flags of the webhook and the echo: ${flagText} (BENCH_WEBHOOK_FLAGS, not the chart's nodeOptions).`,
  );
  if (options.cpuProfileDir !== undefined) {
    for (const side of ['webhook', 'echo']) mkdirSync(path.join(options.cpuProfileDir, side), { recursive: true });
    notes.push(`The webhook and the echo ran under --cpu-prof (profiles in ${options.cpuProfileDir}): slower than normal.`);
  }

  const webhookEnvOverride = options.logLevel === undefined ? undefined : { LOG_LEVEL: options.logLevel };
  if (options.logLevel !== undefined) notes.push(`The webhook ran with LOG_LEVEL=${options.logLevel}.`);

  const partial: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {};

  if (wanted.has('engine')) {
    log('engine alone…');
    partial.engine = runEngineBenchmarks({ budgetMs: settings.engineBudgetMs });
    for (const e of partial.engine) log(`engine ${e.name}: ${e.usPerDecision.mean} µs/decision (p99 ${e.usPerDecision.p99}), ${e.patchOps} ops`);
  }

  const env = await createEnvironment();
  try {
    if (wanted.has('throughput') || wanted.has('cold')) {
      let webhook: RunningTarget | undefined;
      let echo: RunningTarget | undefined;
      try {
        webhook = await startWebhook(env, { nodeFlags: webhookFlags, ...(webhookEnvOverride ? { env: webhookEnvOverride } : {}) });
        if (wanted.has('throughput')) {
          echo = await startEcho(env, { nodeFlags: echoFlags });
          const rows: ThroughputRow[] = [];
          for (const [pathName, make] of [
            ['mutate', fixtures.typical],
            ['pass-through', fixtures.passThrough],
          ] as const) {
            log(`${pathName} vs bare echo…`);
            rows.push(
              ...(await runThroughput({
                webhook,
                echo,
                kubeApi: env.kubeApi,
                path: pathName,
                template: bodyTemplate(make()),
                settings: settings.throughput,
                log,
              })),
            );
          }
          partial.throughput = rows;
        }
        if (wanted.has('cold')) {
          log('cold path…');
          partial.cold = await runCold({ webhook, kubeApi: env.kubeApi, settings: settings.cold, runId: 'c', log });
        }
      } finally {
        await echo?.child.stop();
        await webhook?.child.stop();
      }
    }

    if (wanted.has('soak')) {
      log(`memory and stability (${round((settings.soak.segments * settings.soak.segmentMs) / 1000, 0)} s of load)…`);
      const webhook = await startWebhook(env, { nodeFlags: webhookFlags, ...(webhookEnvOverride ? { env: webhookEnvOverride } : {}) });
      try {
        partial.soak = await runSoak({ webhook, kubeApi: env.kubeApi, settings: settings.soak, log });
      } finally {
        await webhook.child.stop();
      }
    }

    if (wanted.has('startup')) {
      log('start-up…');
      partial.startup = await runStartup({ env, runs: settings.startupRuns, nodeFlags, log });
    }
  } finally {
    await env.close();
  }

  const withoutTargets = {
    schema: 1 as const,
    mode: options.quick ? ('quick' as const) : ('full' as const),
    date: new Date().toISOString(),
    command: options.command ?? (options.quick ? 'BENCH_QUICK=1 npm run bench' : 'npm run bench'),
    machine,
    durationS: round((performance.now() - started) / 1000, 1),
    notes,
    ...partial,
  };
  const resources = recommendResources(withoutTargets);
  return { ...withoutTargets, targets: evaluateTargets(withoutTargets), ...(resources ? { resources } : {}) };
}

function parseOnly(value: string | undefined): Scenario[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown scenario ${name} (known: ${SCENARIOS.join(', ')})`);
  }
  return names as Scenario[];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (args.includes('--render')) {
    const json = path.join(here, 'results.json');
    const saved = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
    writeResults(saved, { json, markdown: path.join(here, '..', 'BENCHMARKS.md') });
    console.log('[bench] rendered BENCHMARKS.md from bench/results.json');
    return;
  }
  const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
  const outIndex = args.indexOf('--out');
  const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
  const only = parseOnly(process.env.BENCH_ONLY);
  const soakRate = process.env.BENCH_SOAK_RATE === undefined ? undefined : Number(process.env.BENCH_SOAK_RATE);
  const soakSegmentS = process.env.BENCH_SOAK_SEGMENT_S === undefined ? undefined : Number(process.env.BENCH_SOAK_SEGMENT_S);
  const soakSegmentOk = soakSegmentS !== undefined && Number.isFinite(soakSegmentS) && soakSegmentS > 0;
  const results = await runBenchmarks({
    quick,
    ...(only ? { only } : {}),
    ...(process.env.BENCH_CPU_PROF ? { cpuProfileDir: path.resolve(process.env.BENCH_CPU_PROF) } : {}),
    ...(soakRate !== undefined && Number.isFinite(soakRate) && soakRate > 0 ? { soakRate } : {}),
    ...(soakSegmentOk ? { soakSegmentMs: soakSegmentS * 1000 } : {}),
    ...(process.env.BENCH_SOAK_NO_COLD === '1' ? { soakWithoutCold: true } : {}),
    ...(process.env.BENCH_LOG_LEVEL ? { logLevel: process.env.BENCH_LOG_LEVEL } : {}),
    ...(process.env.BENCH_WEBHOOK_FLAGS === undefined ? {} : { webhookFlags: process.env.BENCH_WEBHOOK_FLAGS.split(/\s+/).filter(Boolean) }),
    log: (line) => console.log(`[bench] ${line}`),
    command: ['npm run bench', ...(args.length ? ['--', ...args] : [])].join(' '),
  });
  for (const t of results.targets) console.log(`[bench] ${t.met === undefined ? 'NOT RUN' : t.met ? 'MET    ' : 'MISSED '} ${t.benchmark}: ${t.measured}`);
  // Any knob (every BENCH_* variable but BENCH_QUICK) makes the run an investigation, never the recorded result.
  const knobs = Object.keys(process.env).filter((k) => k.startsWith('BENCH_') && k !== 'BENCH_QUICK');
  const standard = knobs.length === 0;
  if (!quick && !standard) console.log(`[bench] not written: ${knobs.join(', ')} set`);
  if (!quick && standard) {
    writeResults(results, { json: path.join(here, 'results.json'), markdown: path.join(here, '..', 'BENCHMARKS.md') });
    console.log('[bench] wrote bench/results.json and BENCHMARKS.md');
  } else if (out !== undefined) {
    writeResults(results, { json: path.resolve(out), markdown: path.resolve(`${out}.md`) });
    console.log(`[bench] wrote ${out} and ${out}.md`);
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
