// Hostile names reach two terminals: the user's (kubectl prints admission warnings and denial messages raw) and the
// operator's (`kubectl logs` of the webhook). At mutating-admission time kube-apiserver has not validated
// metadata.name yet, so any text can arrive. No answer and no log line may carry raw control characters (C0, DEL,
// C1 such as U+009B, an 8-bit CSI) or bidirectional overrides that reorder what the reader sees.
import t from 'tap';
import { startTestServer } from '../helpers/start-server.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';
import { ENV } from '../reliability/harness.ts';

// C0 and DEL, C1, line/paragraph separators, bidi embeddings, overrides and isolates, LRM/RLM/ALM.
const DANGEROUS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
const PAYLOADS = ['\u009b31mred', '\u001b[31mred', 'abc\u202etxt.exe', 'a\u2066b\u2069c', 'x\u2028y', 'a\u200fb', 'bell\u0007', 'nul\u0000x', 'del\u007fx'];

function visible(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

t.test('names, annotations and containers with control and bidi characters', async (t) => {
  const ts = await startTestServer({ env: ENV });
  t.teardown(() => ts.close());
  const client = ts.client();
  const texts: string[] = [];
  for (const p of PAYLOADS) {
    const variants: Array<(pod: Record<string, any>) => void> = [
      (pod) => (pod.metadata.name = `web${p}`),
      (pod) => (pod.metadata.generateName = `web${p}-`),
      (pod) => (pod.metadata.annotations['db-access/app'] = `web${p}`),
      (pod) => (pod.metadata.annotations[`db-access/x${p}`] = 'v'),
      (pod) => (pod.metadata.annotations['db-access/containers'] = `app,${p}`),
      (pod) => (pod.metadata.annotations['db-access/mount-path'] = `rel${p}`),
      (pod) => (pod.metadata.annotations['db-access/enabled'] = `tr${p}ue`),
      (pod) => (pod.spec.containers[0].name = `app${p}`),
      (pod) => (pod.spec.serviceAccountName = `sa${p}`),
    ];
    for (const mutate of variants) {
      const pod = plainPod() as Record<string, any>;
      mutate(pod);
      const res = await client.mutate(reviewFor(pod, 'tenant-a'));
      const r = res.json?.response ?? res.json;
      for (const w of r?.warnings ?? []) texts.push(`warning: ${w}`);
      if (r?.status?.message) texts.push(`denial: ${r.status.message}`);
      if (res.status !== 200 && res.json?.message) texts.push(`http ${res.status}: ${res.json.message}`);
    }
  }
  t.ok(texts.length > 20, `${texts.length} messages and warnings produced`);
  t.same(texts.filter((x) => DANGEROUS.test(x)).map(visible).slice(0, 8), [], 'no answer text carries control or bidi characters');
  // The log lines: as written (JSON), before any viewer decodes them.
  t.same(ts.logs.lines.filter((l) => DANGEROUS.test(l)).map((l) => visible(l).slice(0, 300)).slice(0, 8), [], 'no raw control or bidi character in any log line');
});
