// Summarizes a V8 .cpuprofile (from `BENCH_CPU_PROF=DIR npm run bench`): the functions with the most self time
// and the source files with the most inclusive time, so a missed target can be traced to a file and function.
//   npx node bench/profile-summary.ts DIR/CPU.*.cpuprofile [top=25]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  readonly name: string;
  readonly location: string;
  readonly ms: number;
  readonly percent: number;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  if (nm >= 0) return clean.slice(nm + 'node_modules/'.length);
  const src = clean.search(/\/(src|bench|test)\//);
  return src >= 0 ? clean.slice(src + 1) : path.basename(clean);
}

export function summarizeProfile(profile: Profile, top = 25): { totalMs: number; self: ProfileLine[]; inclusiveByFile: ProfileLine[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busy = Math.max(1, total - idle);

  const selfByFn = new Map<string, { name: string; location: string; us: number }>();
  const inclusiveByFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;
    const location = `${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    const name = node.callFrame.functionName || '(anonymous)';
    const key = `${name}@${location}`;
    const entry = selfByFn.get(key) ?? { name, location, us: 0 };
    entry.us += us;
    selfByFn.set(key, entry);
    // Inclusive per file: each sample counts once for every distinct file on its stack.
    const files = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)?.callFrame.url;
      if (url) files.add(shortUrl(url).replace(/:\d+$/, ''));
    }
    for (const f of files) inclusiveByFile.set(f, (inclusiveByFile.get(f) ?? 0) + us);
  }
  const line = (name: string, location: string, us: number): ProfileLine => ({
    name,
    location,
    ms: Math.round(us / 100) / 10,
    percent: Math.round((us / busy) * 1000) / 10,
  });
  return {
    totalMs: Math.round(busy / 1000),
    self: [...selfByFn.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => line(e.name, e.location, e.us)),
    inclusiveByFile: [...inclusiveByFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([f, us]) => line(f, '', us)),
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]).endsWith(path.join('bench', 'profile-summary.ts'))) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: npx node bench/profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25));
  console.log(`busy CPU ${summary.totalMs} ms\n\nself time:`);
  for (const l of summary.self) console.log(`${String(l.percent).padStart(5)}%  ${String(l.ms).padStart(8)} ms  ${l.name}  ${l.location}`);
  console.log('\ninclusive by file (each file once per sample):');
  for (const l of summary.inclusiveByFile) console.log(`${String(l.percent).padStart(5)}%  ${String(l.ms).padStart(8)} ms  ${l.name}`);
}
