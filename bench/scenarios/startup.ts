// Start-up: from spawning the process to the first 200 on /readyz, for the webhook as deployed (certificate
// files, cluster store) and with the embedded defaults (`npm start`: in-memory self-signed certificate, memory
// store), next to the bare echo (node + fastify + TLS alone). Also the idle RSS right after start.
import type { BenchEnvironment, RunningTarget } from '../lib/environment.ts';
import { startEcho, startWebhook } from '../lib/environment.ts';
import { median, round } from '../lib/stats.ts';

export interface StartupVariant {
  readonly name: 'webhook' | 'webhook-embedded-defaults' | 'echo';
  readonly runs: number;
  readonly readyMs: readonly number[];
  readonly medianReadyMs: number;
  readonly idleRssMB: number;
  readonly idleRssAnonMB: number;
  readonly idleHeapAfterGcMB: number;
  /** Exit code after SIGTERM (0 = clean shutdown). */
  readonly exitCodes: readonly (number | null)[];
}

export interface StartupResult {
  readonly variants: readonly StartupVariant[];
}

async function measure(
  name: StartupVariant['name'],
  runs: number,
  start: () => Promise<RunningTarget>,
): Promise<StartupVariant> {
  const readyMs: number[] = [];
  const exitCodes: (number | null)[] = [];
  let idleRss = 0;
  let idleRssAnon = 0;
  let idleHeap = 0;
  for (let i = 0; i < runs; i++) {
    const target = await start();
    readyMs.push(round(target.readyMs, 1));
    if (i === runs - 1) {
      const sample = await target.child.sample({ gc: true });
      idleRss = sample.rssBytes;
      idleRssAnon = sample.rssAnonBytes;
      idleHeap = sample.heapUsedBytes;
    }
    exitCodes.push(await target.child.stop());
  }
  const MB = 1024 * 1024;
  return {
    name,
    runs,
    readyMs,
    medianReadyMs: round(median(readyMs), 1),
    idleRssMB: round(idleRss / MB, 1),
    idleRssAnonMB: round(idleRssAnon / MB, 1),
    idleHeapAfterGcMB: round(idleHeap / MB, 2),
    exitCodes,
  };
}

export async function runStartup(input: {
  readonly env: BenchEnvironment;
  readonly runs: number;
  /** Node flags for every child (the chart's nodeOptions by default, see run.ts). */
  readonly nodeFlags?: readonly string[];
  readonly log: (line: string) => void;
}): Promise<StartupResult> {
  const nodeFlags = input.nodeFlags ?? [];
  const variants: StartupVariant[] = [];
  // Interleaving would be fairer but each start is short; the disk cache is warm after the first anyway.
  variants.push(await measure('echo', input.runs, () => startEcho(input.env, { nodeFlags })));
  variants.push(await measure('webhook', input.runs, () => startWebhook(input.env, { nodeFlags })));
  variants.push(await measure('webhook-embedded-defaults', input.runs, () => startWebhook(input.env, { nodeFlags, embeddedDefaults: true })));
  for (const v of variants) {
    input.log(`start-up ${v.name}: median ${v.medianReadyMs} ms to ready (${v.readyMs.join(', ')}), idle RSS ${v.idleRssMB} MB, exit ${v.exitCodes.join(',')}`);
  }
  return { variants };
}
