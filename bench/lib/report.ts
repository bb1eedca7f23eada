// results.json and the generated part of BENCHMARKS.md (between the markers), from one run's results.
import { readFileSync, writeFileSync } from 'node:fs';
import type { EngineResult } from '../engine.ts';
import type { ColdResult } from '../scenarios/cold.ts';
import type { SoakResult } from '../scenarios/soak.ts';
import type { StartupResult } from '../scenarios/startup.ts';
import type { ThroughputRow } from '../scenarios/throughput.ts';
import type { MachineInfo } from './machine.ts';

export interface BenchResults {
  readonly schema: 1;
  readonly mode: 'full' | 'quick';
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly durationS: number;
  readonly notes: readonly string[];
  readonly engine?: readonly EngineResult[];
  readonly throughput?: readonly ThroughputRow[];
  readonly cold?: ColdResult;
  readonly soak?: SoakResult;
  readonly startup?: StartupResult;
  readonly targets: readonly TargetCheck[];
  readonly resources?: ResourceRecommendation;
}

export interface TargetCheck {
  readonly benchmark: string;
  readonly target: string;
  readonly measured: string;
  /** undefined when the scenario did not run. */
  readonly met: boolean | undefined;
}

export interface ResourceRecommendation {
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly reasoning: readonly string[];
}

/** Fixed decimals with trailing zeros dropped (12.50 → 12.5, 200 stays 200). */
export const fmt = (n: number | undefined, digits = 2): string => {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  const text = n.toFixed(digits);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
};

export function evaluateTargets(r: Omit<BenchResults, 'targets' | 'resources'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const mutate = r.throughput?.filter((row) => row.path === 'mutate') ?? [];
  const pass = r.throughput?.filter((row) => row.path === 'pass-through') ?? [];
  const at16 = mutate.find((row) => row.concurrency === 16);
  if (mutate.length > 0) {
    const minRatio = Math.min(...mutate.map((row) => row.ratio));
    const ratios = mutate.map((row) => `c${row.concurrency} ${fmt(row.ratio)}×`).join(', ') + ` (CPU ratio ${mutate.map((row) => `${fmt(row.cpuRatio)}×`).join(', ')})`;
    const p99 = at16?.webhook.latencyMs.p99;
    checks.push({
      benchmark: 'Mutate path throughput',
      target: '≥ 0.7× the bare echo, p99 ≤ 5 ms at concurrency 16',
      measured: `${ratios}; p99 at c16 ${fmt(p99)} ms (echo ${fmt(at16?.echo.latencyMs.p99)} ms)`,
      met: minRatio >= 0.7 && p99 !== undefined && p99 <= 5,
    });
  } else {
    checks.push({ benchmark: 'Mutate path throughput', target: '≥ 0.7× the bare echo, p99 ≤ 5 ms at concurrency 16', measured: 'not run', met: undefined });
  }
  if (pass.length > 0) {
    const minRatio = Math.min(...pass.map((row) => row.ratio));
    checks.push({
      benchmark: 'Pass-through throughput',
      target: '≥ 0.9× the bare echo',
      measured:
        pass.map((row) => `c${row.concurrency} ${fmt(row.ratio)}×`).join(', ') + ` (CPU ratio ${pass.map((row) => `${fmt(row.cpuRatio)}×`).join(', ')})`,
      met: minRatio >= 0.9,
    });
  } else {
    checks.push({ benchmark: 'Pass-through throughput', target: '≥ 0.9× the bare echo', measured: 'not run', met: undefined });
  }
  const big = r.engine?.filter((e) => e.envVars >= 1500) ?? [];
  if (big.length > 0) {
    const worst = Math.max(...big.map((e) => e.usPerDecision.p99));
    const worstEncode = Math.max(...big.map((e) => e.usPerDecisionAndEncode));
    checks.push({
      benchmark: 'Engine, 1,500-env pod',
      target: '≤ 2 ms per decision',
      measured: `${big.map((e) => `${e.name} ${fmt(e.usPerDecision.mean, 0)} µs`).join(', ')} (worst batch p99 ${fmt(worst, 0)} µs; with patch encoding ${fmt(worstEncode, 0)} µs)`,
      met: worst <= 2000 && worstEncode <= 2000,
    });
  } else {
    checks.push({ benchmark: 'Engine, 1,500-env pod', target: '≤ 2 ms per decision', measured: 'not run', met: undefined });
  }
  if (r.cold !== undefined) {
    const uniqueOk = r.cold.unique.every((u) => u.errors === 0 && u.apiCalls.create + u.apiCalls.update === u.admissions);
    const burstOk = r.cold.burst.every((b) => b.errors === 0 && b.apiCalls.create === 1 && b.apiCalls.update === 0);
    const soakOk = r.soak === undefined || r.soak.apiWrites === r.soak.coldAdmitted;
    checks.push({
      benchmark: 'Cold path',
      target: 'one write per new SecretProviderClass, never more',
      measured:
        r.cold.unique.map((u) => `+${u.apiLatencyMs} ms API, c${u.concurrency}: ${u.apiCalls.create + u.apiCalls.update} writes / ${u.admissions} new apps`).join('; ') +
        '; ' +
        r.cold.burst.map((b) => `${b.pods} pods of one new app → ${b.apiCalls.create} create`).join('; ') +
        (r.soak === undefined ? '' : `; soak ${r.soak.apiWrites} writes / ${r.soak.coldRequests} new apps`),
      met: uniqueOk && burstOk && soakOk,
    });
  } else {
    checks.push({ benchmark: 'Cold path', target: 'one write per new SecretProviderClass, never more', measured: 'not run', met: undefined });
  }
  if (r.soak !== undefined) {
    const m = r.soak.memory;
    // The target is RSS under the steady load; the kernel's peak (often the start-up transient) is reported too.
    const rss = m.maxRssUnderLoadMB;
    // "Flat": what is left after the last segment is not more than what the first segment left, i.e. no
    // steady climb. Growth that the bounded SecretProviderClass cache explains is reported, not hidden.
    const flat = heapIsFlat(r.soak);
    checks.push({
      benchmark: 'Memory',
      target: 'RSS ≤ 150 MB under the steady load, flat heap',
      measured: `max RSS under load ${fmt(rss, 1)} MB (process peak ${fmt(m.peakRssMB, 1)} MB); heap after GC ${fmt(m.start.heapUsedAfterGcMB)} → ${fmt(m.end.heapUsedAfterGcMB)} MB over ${fmt(r.soak.durationS, 0)} s (${r.soak.coldRequests} new apps cached); errors ${r.soak.errors}`,
      met: rss <= 150 && flat && r.soak.errors === 0,
    });
  } else {
    checks.push({ benchmark: 'Memory', target: 'RSS ≤ 150 MB under the steady load, flat heap', measured: 'not run', met: undefined });
  }
  return checks;
}

/**
 * Flat heap: after the first segment (JIT, pools and caches warming), heap after GC must not keep climbing beyond
 * what the new apps' cache entries explain (the store's cache is bounded: cacheMaxEntries). Allowance: 2 KiB per
 * new app plus 1 MiB of noise.
 */
export function heapIsFlat(soak: SoakResult): boolean {
  const timeline = soak.memory.timeline;
  const first = timeline[1] ?? timeline[0];
  const last = timeline[timeline.length - 1];
  if (first === undefined || last === undefined) return false;
  const perSegmentCold = soak.coldRequests / Math.max(1, soak.settings.segments);
  const allowanceMB = 1 + (perSegmentCold * (timeline.length - 2) * 2048) / (1024 * 1024);
  return last.heapUsedAfterGcMB - first.heapUsedAfterGcMB <= allowanceMB;
}

function roundUpTo(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

/** Chart resources from measured numbers (see BENCHMARKS.md for the reasoning). */
export function recommendResources(r: Omit<BenchResults, 'targets' | 'resources'>): ResourceRecommendation | undefined {
  if (r.soak === undefined || r.throughput === undefined) return undefined;
  const mutate16 = r.throughput.find((row) => row.path === 'mutate' && row.concurrency === 16);
  const mixCpuUs = r.soak.serverCpuUsPerRequest;
  const mutateCpuUs = mutate16?.webhook.cpuUsPerRequest ?? mixCpuUs;
  // Planning figure: a replica sustaining 100 admissions/s of the mix (a large rollout with 2 replicas).
  const plannedRate = 100;
  const cpuCores = (plannedRate * mixCpuUs) / 1e6;
  const cpuRequestM = Math.max(50, roundUpTo(cpuCores * 1000 * 2, 25));
  const rssMB = Math.max(r.soak.memory.maxRssUnderLoadMB, r.soak.memory.peakRssMB);
  const memoryRequestMi = roundUpTo(rssMB * 1.25, 16);
  const memoryLimitMi = Math.max(256, roundUpTo(memoryRequestMi * 2, 64));
  const burstMs = (64 * mutateCpuUs) / 1000;
  return {
    cpuRequest: `${cpuRequestM}m`,
    cpuLimit: 'none (or ≥ 1000m)',
    memoryRequest: `${memoryRequestMi}Mi`,
    memoryLimit: `${memoryLimitMi}Mi`,
    reasoning: [
      `CPU: the steady mix costs ${fmt(mixCpuUs, 0)} µs of server CPU per admission (mutate alone ${fmt(mutateCpuUs, 0)} µs), so ${plannedRate} admissions/s per replica need ${fmt(cpuCores, 3)} cores; doubled for headroom → ${cpuRequestM}m.`,
      `CPU limit: a burst of 64 pods costs ≈ ${fmt(burstMs, 0)} ms of CPU; under a CFS quota that work is spread over 100 ms periods, so a small limit turns a rollout into apiserver timeouts. Leave it unset, or at least 1 core.`,
      `Memory: peak RSS under the steady load was ${fmt(rssMB, 1)} MB with this run's node flags (see the notes above); +25 % → request ${memoryRequestMi}Mi; limit ${memoryLimitMi}Mi leaves room for the bounded SecretProviderClass cache (10,000 entries) and bursts of large pods (3 MiB bodies).`,
    ],
  };
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Run of ${r.date} (${r.mode} mode, ${fmt(r.durationS, 0)} s): \`${r.command}\``);
  out.push('');
  out.push(
    `Machine: ${m.cpus} × ${m.cpuModel}${m.cpuMHz > 0 ? ` @ ${m.cpuMHz} MHz` : ''}, ${m.memoryGB} GB RAM, ${m.os}, Node ${m.node} (V8 ${m.v8}), load average at start ${m.loadAverageAtStart.join(' / ')}.`,
  );
  for (const note of r.notes) out.push(`\n> ${note}`);
  out.push('', '### Targets', '');
  out.push(
    table(
      ['Benchmark', 'Target', 'Measured', 'Result'],
      r.targets.map((t) => [t.benchmark, t.target, t.measured, t.met === undefined ? 'not run' : t.met ? '**met**' : '**missed**']),
    ),
  );
  if (r.throughput !== undefined) {
    out.push('', '### Mutate (warm cache) and pass-through against the bare echo', '');
    out.push(
      table(
        ['path', 'conc.', 'webhook rps', 'echo rps', 'ratio', 'webhook p50 / p99 ms', 'echo p50 / p99 ms', 'CPU µs/req webhook / echo', 'kernel µs/req webhook / echo', 'CPU ratio', 'errors', 'API calls'],
        r.throughput.map((row) => [
          row.path,
          String(row.concurrency),
          fmt(row.webhook.throughput, 0),
          fmt(row.echo.throughput, 0),
          `${fmt(row.ratio)}×`,
          `${fmt(row.webhook.latencyMs.p50)} / ${fmt(row.webhook.latencyMs.p99)}`,
          `${fmt(row.echo.latencyMs.p50)} / ${fmt(row.echo.latencyMs.p99)}`,
          `${fmt(row.webhook.cpuUsPerRequest, 0)} / ${fmt(row.echo.cpuUsPerRequest, 0)}`,
          `${fmt(row.webhook.kernelUsPerRequest, 0)} / ${fmt(row.echo.kernelUsPerRequest, 0)}`,
          `${fmt(row.cpuRatio)}×`,
          String(row.webhook.errors + row.echo.errors),
          String(row.apiCalls),
        ]),
      ),
    );
    const first = r.throughput[0];
    if (first !== undefined) {
      const sizes = new Map(r.throughput.map((row) => [row.path, row]));
      out.push(
        '',
        [...sizes.values()].map((row) => `${row.path}: request ${row.requestBytes} B, answer ${row.answerBytes} B (the echo answers the same bytes)`).join('; ') + '.',
      );
    }
  }
  if (r.engine !== undefined) {
    out.push('', '### The engine alone (in process, no HTTP)', '');
    out.push(
      table(
        ['pod', 'request KB', 'containers', 'env', 'targeted', 'patch ops', 'patch KB', 'µs/decision mean / p99', 'µs with patch encoding'],
        r.engine.map((e) => [
          e.description,
          fmt(e.requestBytes / 1024, 1),
          String(e.containers),
          String(e.envVars),
          String(e.targetedContainers),
          String(e.patchOps),
          fmt(e.patchBytes / 1024, 1),
          `${fmt(e.usPerDecision.mean, 1)} / ${fmt(e.usPerDecision.p99, 1)}`,
          fmt(e.usPerDecisionAndEncode, 1),
        ]),
      ),
    );
  }
  if (r.cold !== undefined) {
    out.push('', '### Cold path (SecretProviderClass created through the in-test Kubernetes API)', '');
    out.push(
      table(
        ['API latency', 'new apps', 'conc.', 'creates', 'updates', 'gets', 'API calls / admission', 'p50 ms', 'p99 ms', 'p99 / (latency × calls)', 'new apps/s', 'errors'],
        r.cold.unique.map((u) => [
          `${u.apiLatencyMs} ms`,
          String(u.admissions),
          String(u.concurrency),
          String(u.apiCalls.create),
          String(u.apiCalls.update),
          String(u.apiCalls.get),
          fmt(u.apiCallsPerAdmission),
          fmt(u.latencyMs.p50),
          fmt(u.latencyMs.p99),
          fmt(u.p99OverApiTime),
          fmt(u.throughput, 0),
          String(u.errors),
        ]),
      ),
    );
    out.push('');
    out.push(
      table(
        ['API latency', 'pods of one new app at once', 'creates', 'all API calls', 'p99 ms', 'errors'],
        r.cold.burst.map((b) => [`${b.apiLatencyMs} ms`, String(b.pods), String(b.apiCalls.create), String(b.apiCalls.total), fmt(b.latencyMs.p99), String(b.errors)]),
      ),
    );
  }
  if (r.soak !== undefined) {
    const s = r.soak;
    out.push('', '### Memory and stability (steady mixed load)', '');
    out.push(
      `${s.requests} admissions in ${fmt(s.durationS, 0)} s at ${fmt(s.achievedRate, 0)}/s (target ${s.settings.ratePerSecond}/s, up to ${s.settings.maxConcurrency} in flight): ` +
        `${s.byKind['pass-through']} pass-through, ${s.byKind.mutate} mutate, ${s.byKind.cold} cold (API +${s.settings.apiLatencyMs} ms); ` +
        `${s.idleGaps} idle gaps of ${fmt(s.settings.gapMs / 1000, 1)} s.`,
    );
    out.push('');
    out.push(
      table(
        ['metric', 'value'],
        [
          ['errors (of which 503 overload shedding)', `${s.errors} (${s.shed})`],
          ['latency p50 / p99 / max ms (all)', `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)} / ${fmt(s.latencyMs.max)}`],
          ...Object.entries(s.latencyByKindMs).map(([kind, l]) => [`latency p50 / p99 ms (${kind})`, `${fmt(l.p50)} / ${fmt(l.p99)}`]),
          ['RSS start → end (after GC) MB', `${fmt(s.memory.start.rssMB, 1)} → ${fmt(s.memory.end.rssMB, 1)}`],
          ['anonymous RSS start → end (after GC) MB', `${fmt(s.memory.start.rssAnonMB, 1)} → ${fmt(s.memory.end.rssAnonMB, 1)}`],
          ['heap after GC start → end MB', `${fmt(s.memory.start.heapUsedAfterGcMB)} → ${fmt(s.memory.end.heapUsedAfterGcMB)}`],
          ['heap after GC timeline MB', s.memory.timeline.map((p) => `${fmt(p.atS, 0)} s: ${fmt(p.heapUsedAfterGcMB)}`).join(', ')],
          ['RSS (heap total) after GC timeline MB', s.memory.timeline.map((p) => `${fmt(p.atS, 0)} s: ${fmt(p.rssMB, 0)} (${fmt(p.heapTotalMB, 0)})`).join(', ')],
          ['max RSS under load / kernel peak MB', `${fmt(s.memory.maxRssUnderLoadMB, 1)} / ${fmt(s.memory.peakRssMB, 1)}`],
          [
            'at the max RSS: anonymous RSS / heap used / heap total / external MB',
            `${fmt(s.memory.atMaxRss.rssAnonMB, 1)} / ${fmt(s.memory.atMaxRss.heapUsedAfterGcMB)} / ${fmt(s.memory.atMaxRss.heapTotalMB, 1)} / ${fmt(s.memory.atMaxRss.externalMB, 1)}`,
          ],
          ['event-loop delay p50 / p99 / max ms', `${fmt(s.eventLoopDelayMs.p50)} / ${fmt(s.eventLoopDelayMs.p99)} / ${fmt(s.eventLoopDelayMs.max)}`],
          [
            'connections closed during each idle gap: by the server (0 = keep-alive held) / in all',
            s.connectionsClosedDuringGaps
              .map((all, i) => `${s.connectionsClosedByServerDuringGaps?.[i] ?? 'n/a'} / ${all}`)
              .join(', ') || 'n/a',
          ],
          ['new TLS connections in the segment after each gap', s.connectionsOpenedAfterGaps.join(', ') || 'n/a'],
          ['API writes / new apps admitted', `${s.apiWrites} / ${s.coldAdmitted}`],
          ['server CPU per admission µs', fmt(s.serverCpuUsPerRequest, 0)],
        ],
      ),
    );
  }
  if (r.startup !== undefined) {
    out.push('', '### Start-up (spawn → first 200 on /readyz)', '');
    out.push(
      table(
        ['process', 'runs', 'median ms', 'all runs ms', 'idle RSS (anonymous) MB', 'idle heap MB', 'exit code after SIGTERM'],
        r.startup.variants.map((v) => [
          v.name,
          String(v.runs),
          fmt(v.medianReadyMs, 0),
          v.readyMs.map((n) => fmt(n, 0)).join(', '),
          `${fmt(v.idleRssMB, 1)} (${fmt(v.idleRssAnonMB, 1)})`,
          fmt(v.idleHeapAfterGcMB, 1),
          v.exitCodes.join(', '),
        ]),
      ),
    );
  }
  if (r.resources !== undefined) {
    out.push('', '### Resources derived mechanically from this run (see "Recommended chart resources" below for the chart)', '');
    out.push(
      table(
        ['', 'request', 'limit'],
        [
          ['cpu', r.resources.cpuRequest, r.resources.cpuLimit],
          ['memory', r.resources.memoryRequest, r.resources.memoryLimit],
        ],
      ),
    );
    out.push('', ...r.resources.reasoning.map((line) => `- ${line}`));
  }
  return out.join('\n');
}

export const MARKER_START = '<!-- bench:results:start (generated by `npm run bench`; do not edit by hand) -->';
export const MARKER_END = '<!-- bench:results:end -->';

/** Replaces the text between the markers; the rest of the document is hand-written and kept. */
export function replaceBetweenMarkers(document: string, generated: string): string {
  const start = document.indexOf(MARKER_START);
  const end = document.indexOf(MARKER_END);
  if (start < 0 || end < start) return `${document.trimEnd()}\n\n${MARKER_START}\n${generated}\n${MARKER_END}\n`;
  return `${document.slice(0, start + MARKER_START.length)}\n${generated}\n${document.slice(end)}`;
}

export function writeResults(results: BenchResults, files: { json: string; markdown: string }): void {
  writeFileSync(files.json, `${JSON.stringify(results, null, 2)}\n`);
  let document = '';
  try {
    document = readFileSync(files.markdown, 'utf8');
  } catch {
    document = '# Benchmarks\n';
  }
  writeFileSync(files.markdown, replaceBetweenMarkers(document, renderMarkdown(results)));
}
