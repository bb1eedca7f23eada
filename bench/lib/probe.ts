// Preloaded (`--import`) into every process under test. It answers the benchmark over the IPC channel with
// memory after a forced GC, event-loop delay and CPU time, so the server's own code stays untouched.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface ProbeRequest {
  readonly probe: 'sample';
  readonly id: number;
  /** Run a full GC first (needs --expose-gc), so heapUsed is what survives. */
  readonly gc?: boolean;
  /** Start a new event-loop delay window after reading this one. */
  readonly resetEventLoop?: boolean;
}

export interface ProbeSample {
  readonly probe: 'sample';
  readonly id: number;
  readonly pid: number;
  readonly uptimeMs: number;
  readonly rssBytes: number;
  /**
   * Linux: the anonymous part of RSS (heap, buffers, native allocations) and the file-backed part (mostly the node
   * binary's pages, shared and reclaimable). -1 elsewhere.
   */
  readonly rssAnonBytes: number;
  readonly rssFileBytes: number;
  /** Peak RSS of the process so far (getrusage maxrss). */
  readonly maxRssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  readonly gcRan: boolean;
  /** Cumulative CPU time of the process, microseconds. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Event-loop delay since the last reset, milliseconds, beyond the 10 ms sampling timer's own interval. */
  readonly eventLoop: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
}

const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

const gc = (globalThis as { gc?: () => void }).gc;

function rssParts(): { anon: number; file: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? -1);
    const anon = kb('RssAnon');
    const file = kb('RssFile');
    return { anon: anon < 0 ? -1 : anon * 1024, file: file < 0 ? -1 : file * 1024 };
  } catch {
    return { anon: -1, file: -1 };
  }
}

function sample(request: ProbeRequest): ProbeSample {
  let gcRan = false;
  if (request.gc === true && gc !== undefined) {
    // A forced GC would show up as event-loop delay: keep it out of the window.
    histogram.disable();
    gc();
    histogram.enable();
    gcRan = true;
  }
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  // The histogram records the time between timer wake-ups, which includes the timer's own interval.
  const delay = (ns: number) => (histogram.count > 0 ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
  const eventLoop = {
    p50: delay(histogram.percentile(50)),
    p99: delay(histogram.percentile(99)),
    max: delay(histogram.max),
    mean: delay(histogram.mean),
  };
  if (request.resetEventLoop === true) histogram.reset();
  const parts = rssParts();
  return {
    probe: 'sample',
    id: request.id,
    pid: process.pid,
    uptimeMs: process.uptime() * 1000,
    rssBytes: memory.rss,
    rssAnonBytes: parts.anon,
    rssFileBytes: parts.file,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: gcRan ? v8.getHeapStatistics().used_heap_size : memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    gcRan,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eventLoop,
  };
}

if (process.send !== undefined) {
  process.on('message', (message: unknown) => {
    const request = message as Partial<ProbeRequest> | null;
    if (request?.probe !== 'sample' || typeof request.id !== 'number') return;
    process.send?.(sample(request as ProbeRequest));
  });
  // The channel must not keep the process alive: SIGTERM shutdown is part of what we run.
  process.channel?.unref();
}
