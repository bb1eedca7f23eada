// Kubernetes API faults, end to end: the real webhook (HTTPS) with the real client-node store against an in-test
// API that fails on purpose. Each fault gives the configured outcome (deny, or admit with a warning) before the
// apiserver's own ?timeout, leaves nothing half-written, and the webhook recovers by itself when the API returns.
import t from 'tap';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import type { FakeKubeApi, KubeRequestVerb } from '../helpers/fake-kube-api.ts';
import { startTestServer } from '../helpers/start-server.ts';
import type { TestServer } from '../helpers/start-server.ts';
import type { WebhookClient } from '../helpers/webhook-client.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';
import { assertNoSecrets, plantSecrets, plantedSecrets } from '../helpers/log-capture.ts';
import { ENV, desiredSpc, since } from './harness.ts';

t.setTimeout(90_000); // seven faults × two modes, some waiting out a 1.6 s budget

interface Fault {
  readonly name: string;
  /** Arms the fault on the fake API. */
  arm(api: FakeKubeApi): void;
}

const ALL: KubeRequestVerb[] = ['get', 'create', 'update'];
const FAULTS: Fault[] = [
  { name: '500 InternalError on every call', arm: (api) => api.failNext(1_000, 500, { verbs: ALL }) },
  { name: '503 without Retry-After', arm: (api) => api.failNext(1_000, 503, { verbs: ALL }) },
  { name: '429 with Retry-After 60 s (longer than the deadline)', arm: (api) => api.failNext(1_000, 429, { verbs: ALL, retryAfterSeconds: 60 }) },
  { name: 'connection reset on every call', arm: (api) => api.resetNext(1_000, { verbs: ALL }) },
  { name: 'the API hangs', arm: (api) => api.hangNext(1_000, { verbs: ALL }) },
  { name: 'reads work, creates hang', arm: (api) => api.hangNext(1_000, { verbs: ['create'] }) },
  { name: '403 Forbidden (RBAC)', arm: (api) => api.failNext(1_000, 403, { verbs: ALL }) },
];

/** The apiserver's timeout for these calls: short, so a hang shows quickly; the answer must come before it. */
const TIMEOUT = '2s';
const TIMEOUT_MS = 2_000;

const planted = plantedSecrets();
let api: FakeKubeApi;
let deny: TestServer;
let warn: TestServer;
let denyClient: WebhookClient;
let warnClient: WebhookClient;

t.before(async () => {
  api = await startFakeKubeApi();
  deny = await startTestServer({ env: { ...ENV, DB_ACCESS_ON_KUBE_ERROR: 'deny' }, kubeConfig: kubeConfigFor(api) });
  warn = await startTestServer({ env: { ...ENV, DB_ACCESS_ON_KUBE_ERROR: 'warn' }, kubeConfig: kubeConfigFor(api) });
  denyClient = deny.client();
  warnClient = warn.client();
});
t.teardown(async () => {
  await Promise.all([deny.close(), warn.close()]);
  await api.close();
});

let appCounter = 0;
function review(app: string): Record<string, unknown> {
  return reviewFor(plantSecrets(plainPod(app), planted), 'tenant-a');
}

type Answer = { uid: string; allowed: boolean; patchType?: string; status?: { code: number; message: string }; warnings?: string[] };

for (const fault of FAULTS) {
  t.test(fault.name, async (t) => {
    for (const [mode, client] of [['deny', () => denyClient], ['warn', () => warnClient]] as const) {
      const app = `fault${++appCounter}`;
      const spcName = `${app}-database-secrets`;
      fault.arm(api);
      const started = performance.now();
      const res = await client().mutate(review(app), { timeout: TIMEOUT });
      const elapsed = since(started);
      api.clearFaults();
      t.equal(res.status, 200, `${mode}: an AdmissionReview answer, not an HTTP error`);
      t.ok(elapsed < TIMEOUT_MS, `${mode}: answered in ${elapsed} ms, before the apiserver's ${TIMEOUT} timeout`);
      const r = res.json.response as Answer;
      if (mode === 'deny') {
        t.equal(r.allowed, false, 'deny: the pod is refused');
        t.match(r.status?.message, new RegExp(spcName), 'the message names the SecretProviderClass');
        t.match(r.status?.message, /check/i, `and says what to check: ${r.status?.message}`);
        t.ok(r.status !== undefined && r.status.code >= 400, `with a status code (${r.status?.code})`);
      } else {
        t.equal(r.allowed, true, 'warn: the pod is admitted');
        t.equal(r.patchType, 'JSONPatch', 'with its injection');
        t.ok(r.warnings?.some((w) => w.includes(spcName)), `and a warning naming the SecretProviderClass: ${r.warnings?.join(' | ')}`);
      }
      // Nothing half-done: either no object, or a complete and correct one.
      const stored = api.get('tenant-a', spcName);
      if (stored !== undefined) t.same(stored.spec, desiredSpc(app).spec, 'a stored object is complete');

      // Recovery: the API is back; the next admission of the same app succeeds at once (no poisoned cache).
      const again = await client().mutate(review(app), { timeout: TIMEOUT });
      const a = again.json.response as Answer;
      t.equal(a.allowed, true, `${mode}: admitted once the API is back`);
      t.equal(a.warnings?.some((w) => w.includes('could not be ensured')) ?? false, false, 'without the outage warning');
      t.same(api.get('tenant-a', spcName)?.spec, desiredSpc(app).spec, 'and the SecretProviderClass now exists, complete');
    }
  });
}

t.test('429 with a Retry-After that fits in the deadline is waited out: the pod is admitted', async (t) => {
  const app = `fault${++appCounter}`;
  api.failNext(1, 429, { verbs: ['get'], retryAfterSeconds: 1 });
  const started = performance.now();
  const res = await denyClient.mutate(review(app), { timeout: '4s' });
  t.ok(since(started) < 4_000, 'before the timeout');
  t.equal(res.json.response.allowed, true);
  t.ok(api.get('tenant-a', `${app}-database-secrets`), 'created after the retry');
});

t.test('an outage across many pods at once: every answer in time, one create per app after recovery', async (t) => {
  api.failNext(10_000, 500, { verbs: ALL });
  const apps = Array.from({ length: 8 }, () => `outage${++appCounter}`);
  const answers = await Promise.all(apps.flatMap((app) => Array.from({ length: 8 }, () => deny.client({ connections: 1 }).mutate(review(app), { timeout: TIMEOUT }))));
  t.ok(answers.every((a) => a.status === 200 && a.json.response.allowed === false), '64 answers, all denials (not timeouts, not 5xx)');
  api.clearFaults();
  const before = api.requests.length;
  const after = await Promise.all(apps.flatMap((app) => Array.from({ length: 8 }, () => denyClient.mutate(review(app), { timeout: TIMEOUT }))));
  t.ok(after.every((a) => a.json.response.allowed === true), 'all admitted after recovery');
  const creates = api.requests.slice(before).filter((r) => r.verb === 'create');
  t.equal(creates.length, apps.length, 'exactly one create per app');
});

t.test('metrics count the failures; logs (trace) carry no pod contents', async (t) => {
  const text = await deny.metrics.registry.metrics();
  t.match(text, /db_access_secretproviderclass_api_calls_total\{[^}]*result="error"[^}]*\} [1-9]/, 'API errors counted');
  t.match(text, /db_access_admissions_total\{outcome="error"\} [1-9]/, 'failed admissions counted');
  assertNoSecrets(t, [...deny.logs.lines, ...warn.logs.lines], planted.all, { minLines: 20 });
  t.equal([...deny.logs.lines, ...warn.logs.lines].some((l) => l.includes(api.token)), false, 'the API bearer token is never logged');
});
