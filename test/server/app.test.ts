// The HTTP surface and the admission path through fastify's inject(): no socket, real engine, real memory store.
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.ts';
import { decide } from '../../src/engine/index.ts';
import { createMemoryStore } from '../../src/kube/memory-store.ts';
import { SecretProviderClassError, type SecretProviderClassStore } from '../../src/kube/types.ts';
import type { PreflightResult, SecretPreflight } from '../../src/aws/types.ts';
import { buildApp, type AppDeps, type Readiness } from '../../src/server/app.ts';
import { FdWriter, LineBatches } from '../../src/server/log-destination.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { applyPatch } from '../helpers/apply-patch.ts';
import { createLogCapture } from '../helpers/log-capture.ts';
import { optedIn } from '../helpers/webhook-client.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/admission/${name}`, import.meta.url), 'utf8'));
const deploymentPod = fixture('01-deployment-pod-mutating-phase.review.json');
const dryRunPod = fixture('09-pod-create-dryrun-kube-apiserver-1.24.review.json');
const deletePod = fixture('07-pod-delete.review.json');

function build(
  t: Tap,
  overrides: Partial<AppDeps> & { env?: Record<string, string>; ready?: Readiness; maxInFlight?: number } = {},
) {
  const config = loadConfig(overrides.env ?? {});
  const logs = createLogCapture();
  const metrics = createMetrics({ defaultMetrics: false });
  const store = createMemoryStore({ onCall: metrics.onKubeCall });
  const deps: AppDeps = {
    policy: config.policy,
    preflightMode: config.preflight,
    onKubeError: config.onKubeError,
    store,
    logger: logs.logger('debug'),
    metrics,
    readiness: () => overrides.ready ?? { ready: true, reasons: [] },
    ...overrides,
  };
  const app = buildApp(
    deps,
    overrides.maxInFlight === undefined ? { overload: false } : { overload: { maxInFlight: overrides.maxInFlight } },
  );
  t.teardown(() => app.close());
  return { app, logs, metrics, store, deps };
}
type Tap = { teardown(fn: () => unknown): void };

function post(app: FastifyInstance, body: unknown, query = '?timeout=10s', contentType = 'application/json') {
  return app.inject({
    method: 'POST',
    url: `/mutate${query}`,
    headers: { 'content-type': contentType },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

function decodePatch(response: { patch?: string }): unknown[] {
  return JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8'));
}

t.test('a stdout that fails every write costs log lines, never an admission', async (t) => {
  let lost = 0;
  const enospc = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  // A batch of one character: every admission line, and every error line, is a write that fails.
  const logger = createLogger('debug', new LineBatches(new FdWriter(1, { writeSync: enospc }), 1, (_err, lines) => (lost += lines)));
  const { app } = build(t, { logger });
  for (const review of [optedIn(deploymentPod), deploymentPod, optedIn(dryRunPod)]) {
    const res = await post(app, review);
    t.equal(res.statusCode, 200);
    t.match(res.json(), { response: { uid: review.request.uid, allowed: true } }, `${review.request.uid}: admitted`);
  }
  const bad = await post(app, '{"not json');
  t.equal(bad.statusCode, 400, 'a bad request still gets its 400, though its debug line is lost');
  t.ok(lost >= 4, `every admission's line was counted as lost (${lost})`);
});

t.test('an opted-in pod: uid echoed, JSONPatch that applies, SecretProviderClass created, one log line', async (t) => {
  const { app, logs, store, metrics } = build(t);
  const review = optedIn(deploymentPod);
  const res = await post(app, review);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body), 'content-length counts bytes');
  const body = res.json();
  t.equal(body.apiVersion, 'admission.k8s.io/v1');
  t.equal(body.kind, 'AdmissionReview');
  t.equal(body.response.uid, review.request.uid);
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  const patched = applyPatch(review.request.object, decodePatch(body.response)) as any;
  t.ok(patched.spec.volumes.some((v: any) => v.csi?.volumeAttributes?.secretProviderClass === 'kubewarden-controller-database-secrets'));
  const env = patched.spec.containers[0].env.map((e: any) => e.name);
  t.ok(env.includes('DB_PASSWORD') && env.includes('DATABASE_URL'));
  const spc = store.get('kubewarden', 'kubewarden-controller-database-secrets') as any;
  t.ok(spc, 'the SecretProviderClass is in the store');
  t.match(spc.spec.parameters.objects, /kubewarden-dev-database-credentials/);

  const lines = logs.records().filter((r) => r.msg === 'admission');
  t.equal(lines.length, 1, 'exactly one admission line');
  t.match(lines[0], {
    uid: review.request.uid,
    namespace: 'kubewarden',
    pod: 'kubewarden-controller-767df6d6b-',
    decision: 'inject',
    outcome: 'injected',
    spc: 'created',
    durationMs: Number,
  });
  t.notOk(logs.lines.some((l) => l.includes('"object"') || l.includes('managedFields')), 'no objects logged');

  const text = await metrics.registry.metrics();
  t.match(text, /db_access_admissions_total\{outcome="injected"\} 1/);
  t.match(text, /db_access_secretproviderclass_api_calls_total\{verb="create",result="ok"\} 1/);
  t.match(text, /db_access_secretproviderclass_ensure_total\{outcome="created"\} 1/);

  // Same pod again: the store knows the object, the patch is the same.
  const again = (await post(app, review)).json();
  t.same(decodePatch(again.response), decodePatch(body.response));
  t.match(await metrics.registry.metrics(), /db_access_secretproviderclass_ensure_total\{outcome="cached"\} 1/);
});

t.test('a pod without the annotation is skipped: allowed, no patch', async (t) => {
  const { app, logs, store } = build(t);
  const res = await post(app, deploymentPod);
  t.equal(res.statusCode, 200);
  t.same(res.json(), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: deploymentPod.request.uid, allowed: true },
  });
  t.equal(store.size, 0);
  t.match(logs.records().find((r) => r.msg === 'admission'), { decision: 'skip', reason: 'not-opted-in', outcome: 'skipped' });
});

t.test('a DELETE is allowed without a patch', async (t) => {
  const { app } = build(t);
  const body = (await post(app, deletePod)).json();
  t.same(body.response, { uid: deletePod.request.uid, allowed: true });
});

t.test('an engine denial has allowed:false and a status with code and message', async (t) => {
  const { app, logs } = build(t);
  const review = optedIn(deploymentPod, { 'db-access/containers': 'no-such-container' });
  const res = await post(app, review);
  t.equal(res.statusCode, 200, 'a denial is an answer, not an HTTP error');
  const body = res.json();
  t.equal(body.response.uid, review.request.uid);
  t.equal(body.response.allowed, false);
  t.type(body.response.status.code, 'number');
  t.ok(body.response.status.code >= 400 && body.response.status.code < 500);
  t.match(body.response.status.message, /no-such-container/);
  t.notOk('patch' in body.response);
  t.match(logs.records().find((r) => r.msg === 'admission'), { decision: 'deny', outcome: 'denied' });
});

t.test('a dry run gets the same patch and writes nothing', async (t) => {
  const { app, store, metrics } = build(t);
  const review = optedIn(dryRunPod);
  t.equal(review.request.dryRun, true);
  const dry = (await post(app, review)).json();
  t.equal(dry.response.allowed, true);
  t.equal(store.size, 0, 'nothing written');
  t.match(await metrics.registry.metrics(), /db_access_secretproviderclass_ensure_total\{outcome="dry-run"\} 1/);
  const wet = optedIn(dryRunPod);
  wet.request.dryRun = false;
  const real = (await post(app, wet)).json();
  t.same(decodePatch(dry.response), decodePatch(real.response), 'same patch as without dry run');
  t.equal(store.size, 1);
});

t.test('a foreign SecretProviderClass is left untouched; the pod is admitted with a warning', async (t) => {
  const foreign = {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name: 'kubewarden-controller-database-secrets', namespace: 'kubewarden', labels: { team: 'theirs' } },
    spec: { provider: 'aws', parameters: { objects: 'theirs' } },
  };
  const store = createMemoryStore({ initial: [foreign] });
  const { app, logs } = build(t, { store });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  t.ok(body.response.warnings.some((w: string) => /not managed by db-access-webhook/.test(w)));
  t.same(store.get('kubewarden', 'kubewarden-controller-database-secrets'), foreign, 'untouched');
  const line = logs.records().find((r) => r.msg === 'admission');
  t.match(line, { level: 40, spc: 'foreign' });
});

function failingStore(error: Error, calls: { n: number } = { n: 0 }): SecretProviderClassStore {
  return {
    async ensure() {
      calls.n++;
      throw error;
    },
  };
}

t.test('store failure, DB_ACCESS_ON_KUBE_ERROR=deny: the pod is denied with what failed', async (t) => {
  const store = failingStore(new SecretProviderClassError('creating SecretProviderClass kubewarden/x: Forbidden (403): check the webhook RBAC', 403));
  const { app, logs, metrics } = build(t, { store });
  const res = await post(app, optedIn(deploymentPod));
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 500);
  t.match(body.response.status.message, /could not ensure SecretProviderClass kubewarden\/kubewarden-controller-database-secrets: .*Forbidden \(403\).*RBAC/);
  t.match(logs.records().find((r) => r.msg === 'admission'), { outcome: 'error', spc: 'error', level: 40 });
  t.match(await metrics.registry.metrics(), /db_access_admissions_total\{outcome="error"\} 1/);
});

t.test('store timeout or 5xx is a 503 denial (transient)', async (t) => {
  const { app } = build(t, {
    store: failingStore(
      new SecretProviderClassError("reading x: no answer within the deadline: check the Kubernetes API server's health and load"),
    ),
  });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.status.code, 503);
  t.match(body.response.status.message, /no answer within the deadline: check the Kubernetes API server's health and load$/, "the store's hint, once");
});

t.test('store failure, DB_ACCESS_ON_KUBE_ERROR=warn: admitted with the patch and a warning', async (t) => {
  const { app } = build(t, {
    env: { DB_ACCESS_ON_KUBE_ERROR: 'warn' },
    onKubeError: 'warn',
    store: failingStore(new SecretProviderClassError('cannot reach the Kubernetes API (ECONNREFUSED)')),
  });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  t.ok(body.response.warnings.some((w: string) => /could not be ensured: cannot reach the Kubernetes API/.test(w)));
});

t.test('a store that ignores its deadline cannot hold the answer past the apiserver timeout', async (t) => {
  let sawSignal: AbortSignal | undefined;
  const store: SecretProviderClassStore = {
    ensure(_desired, { signal }) {
      sawSignal = signal;
      return new Promise(() => {}); // never settles, ignores the signal
    },
  };
  const { app } = build(t, { store });
  const started = Date.now();
  const body = (await post(app, optedIn(deploymentPod), '?timeout=1s')).json();
  const elapsed = Date.now() - started;
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 503);
  t.match(body.response.status.message, /no answer from the Kubernetes API within 750 ms.*; check the Kubernetes API server's health/);
  t.ok(sawSignal?.aborted, 'the store was told to stop');
  t.ok(elapsed < 1000, `answered before the apiserver's 1 s timeout (${elapsed} ms)`);
});

function preflightReturning(result: PreflightResult, seen: Array<[string, string]> = []): SecretPreflight {
  return {
    async check(secretId, organization) {
      seen.push([secretId, organization]);
      return result;
    },
  };
}

t.test('preflight: asks about {organization}-{environment}-database-credentials for request.namespace', async (t) => {
  const seen: Array<[string, string]> = [];
  const { app, metrics } = build(t, { preflightMode: 'warn', preflight: preflightReturning({ status: 'ok' }, seen) });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.allowed, true);
  t.notOk(body.response.warnings?.some((w: string) => /Secrets Manager/.test(w)));
  t.same(seen, [['kubewarden-dev-database-credentials', 'kubewarden']]);
  t.match(await metrics.registry.metrics(), /db_access_preflight_results_total\{status="ok"\} 1/);
});

t.test('preflight warn: a missing secret admits with a warning', async (t) => {
  const { app } = build(t, {
    preflightMode: 'warn',
    preflight: preflightReturning({ status: 'missing', message: 'secret kubewarden-dev-database-credentials does not exist' }),
  });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  t.ok(body.response.warnings.includes('secret kubewarden-dev-database-credentials does not exist'));
});

t.test('preflight deny: a missing secret denies with 403 and the reason', async (t) => {
  const { app, logs } = build(t, {
    preflightMode: 'deny',
    preflight: preflightReturning({ status: 'scheduled-for-deletion', message: 'secret x is scheduled for deletion' }),
  });
  const body = (await post(app, optedIn(deploymentPod))).json();
  t.equal(body.response.allowed, false);
  t.same(body.response.status, { code: 403, message: 'db-access preflight: secret x is scheduled for deletion' });
  t.match(logs.records().find((r) => r.msg === 'admission'), { decision: 'deny', preflight: 'scheduled-for-deletion', outcome: 'denied' });
});

t.test('preflight unavailable (or throwing, or hanging) never blocks, even in deny mode', async (t) => {
  const variants: Array<[SecretPreflight, RegExp]> = [
    [preflightReturning({ status: 'unavailable', message: 'Secrets Manager is throttling; not checked' }), /^Secrets Manager is throttling/],
    // The same wording as the preflight's own answers, which the README lists.
    [{ check: async () => Promise.reject(new Error('socket hang up')) }, /^preflight skipped: socket hang up \(kubewarden-dev-database-credentials\)$/],
    [{ check: () => new Promise(() => {}) }, /^preflight skipped: Secrets Manager did not answer in time \(kubewarden-dev-database-credentials\)$/],
  ];
  for (const [preflight, said] of variants) {
    const { app } = build(t, { preflightMode: 'deny', preflight });
    const body = (await post(app, optedIn(deploymentPod), '?timeout=1s')).json();
    t.equal(body.response.allowed, true);
    t.equal(body.response.patchType, 'JSONPatch');
    t.ok(body.response.warnings.some((w: string) => said.test(w)), JSON.stringify(body.response.warnings));
  }
});

t.test('an unexpected exception is a clear 500 denial, not an HTTP 500', async (t) => {
  const { app, logs, metrics } = build(t, {
    decide: () => {
      throw new TypeError('boom');
    },
  });
  const review = optedIn(deploymentPod);
  const res = await post(app, review);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.response.uid, review.request.uid);
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 500);
  t.match(body.response.status.message, /failed unexpectedly.*not admitted/);
  const line = logs.records().find((r) => r.msg === 'admission');
  t.match(line, { level: 50, outcome: 'error', error: 'boom' });
  t.match(await metrics.registry.metrics(), /db_access_admissions_total\{outcome="error"\} 1/);
});

t.test('malformed requests get a 4xx with a message', async (t) => {
  const { app, metrics, logs } = build(t);
  const valid = optedIn(deploymentPod);
  const cases: Array<[string, () => Promise<{ statusCode: number; json(): any }>, number, RegExp]> = [
    ['bad JSON', () => post(app, '{"apiVersion": "admission.k8s.io/v1", '), 400, /not valid JSON/],
    ['empty body', () => post(app, ''), 400, /empty/],
    ['text/plain', () => post(app, JSON.stringify(valid), '', 'text/plain'), 415, /content type must be application\/json/],
    ['yaml', () => post(app, 'a: b', '', 'application/yaml'), 415, /application\/json/],
    ['no request', () => post(app, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, /has no request/],
    ['no uid', () => post(app, { ...valid, request: { ...valid.request, uid: undefined } }), 400, /request.uid is missing/],
    ['numeric uid', () => post(app, { ...valid, request: { ...valid.request, uid: 5 } }), 400, /request.uid must be a string/],
    ['v1beta1', () => post(app, { ...valid, apiVersion: 'admission.k8s.io/v1beta1' }), 400, /apiVersion must be/],
    ['array', () => post(app, '[]'), 400, /must be a JSON object/],
    ['too large', () => post(app, `{"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`), 413, /larger than/],
    ['GET /mutate', () => app.inject({ method: 'GET', url: '/mutate' }), 404, /POST \/mutate/],
    ['unknown path', () => app.inject({ method: 'POST', url: '/validate', payload: {} }), 404, /no route/],
  ];
  for (const [name, send, status, message] of cases) {
    const res = await send();
    t.equal(res.statusCode, status, name);
    t.match(res.json().message, message, name);
  }
  const text = await metrics.registry.metrics();
  t.match(text, /db_access_http_rejected_requests_total\{reason="bad-request"\} 7/);
  t.match(text, /db_access_http_rejected_requests_total\{reason="unsupported-media-type"\} 2/);
  t.match(text, /db_access_http_rejected_requests_total\{reason="too-large"\} 1/);
  t.notOk(logs.lines.some((l) => l.includes('xxxxxxxx')), 'bodies are never logged');
  t.notOk(logs.records().some((r) => r.level === 50), 'no client mistake is logged as an error');
  // And the app still answers.
  t.equal((await post(app, valid)).json().response.allowed, true);
});

t.test('health, readiness and metrics', async (t) => {
  const { app } = build(t);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready' });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain/);
  for (const name of [
    'db_access_admissions_total',
    'db_access_admission_duration_seconds',
    'db_access_admissions_in_flight',
    'db_access_tls_certificate_reloads_total',
    'db_access_tls_certificate_not_after_seconds',
  ]) {
    t.match(metrics.body, new RegExp(`# TYPE ${name} `), name);
  }
  t.match(metrics.body, /db_access_admission_duration_seconds_bucket\{le="0.001"/);
  t.match(metrics.body, /db_access_admission_duration_seconds_bucket\{le="0.025"/);

  const notReady = build(t, { ready: { ready: false, reasons: ['shutting down'] } });
  const r = await notReady.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(r.statusCode, 503);
  t.same(r.json(), { status: 'not ready', reasons: ['shutting down'] });
});

t.test('more admissions in progress than the cap: 503 at once with Retry-After, the others finish', async (t) => {
  const release: Array<() => void> = [];
  let hold = true;
  const store: SecretProviderClassStore = {
    ensure: async () => {
      if (hold) await new Promise<void>((resolve) => release.push(resolve));
      return { outcome: 'created' };
    },
  };
  const { app, metrics } = build(t, { store, maxInFlight: 2 });
  const first = post(app, optedIn(deploymentPod));
  const second = post(app, optedIn(deploymentPod));
  for (let i = 0; i < 100 && release.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(release.length, 2, 'two admissions are waiting on the store');
  const third = await post(app, optedIn(deploymentPod));
  t.equal(third.statusCode, 503);
  t.equal(third.headers['retry-after'], '1');
  t.match(third.json().message, /2 admissions in progress \(limit 2\)/);
  hold = false;
  for (const r of release) r();
  t.equal((await first).json().response.allowed, true);
  t.equal((await second).json().response.allowed, true);
  t.match(await metrics.registry.metrics(), /db_access_http_rejected_requests_total\{reason="overloaded"\} 1/);
  const again = await post(app, optedIn(deploymentPod));
  t.equal(again.statusCode, 200, 'serving again');
  t.equal(again.json().response.allowed, true);
});

t.test('a blocked event loop: /mutate answers 503 with Retry-After and runs no admission; probes still answer', async (t) => {
  let ensures = 0;
  const store: SecretProviderClassStore = {
    async ensure() {
      ensures++;
      return { outcome: 'created' };
    },
  };
  const config = loadConfig({});
  const logs = createLogCapture();
  const metrics = createMetrics({ defaultMetrics: false });
  const app = buildApp(
    { policy: config.policy, preflightMode: 'off', onKubeError: 'deny', store, logger: logs.logger('debug'), metrics, readiness: () => ({ ready: true, reasons: [] }) },
    { overload: { maxEventLoopDelayMs: 20, sampleIntervalMs: 20 } },
  );
  t.teardown(() => app.close());
  await app.ready();
  let refused: Awaited<ReturnType<typeof post>> | undefined;
  let admitted = 0;
  // Block the loop (as a CPU-bound burst would), then ask; bounded attempts because sampling is periodic.
  for (let attempt = 0; attempt < 20 && !refused; attempt++) {
    const until = Date.now() + 150;
    while (Date.now() < until) {
      // busy
    }
    await new Promise((r) => setTimeout(r, 1));
    const res = await post(app, optedIn(deploymentPod));
    if (res.statusCode === 503) {
      refused = res;
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      t.equal(health.statusCode, 200, 'liveness is exempt');
    } else admitted++;
  }
  t.ok(refused, 'shed at least once');
  t.equal(refused?.headers['retry-after'], '1');
  t.match(refused?.json().message, /db-access-webhook is overloaded \(event loop (delay \d+ ms|blocked for a whole sample window)\)/);
  t.equal(ensures, admitted, 'a refused request ran no admission');
  t.match(await metrics.registry.metrics(), /db_access_http_rejected_requests_total\{reason="overloaded"\} 1/);
  t.notOk(logs.lines.some((l) => /already sent/i.test(l)), 'no double reply');
});

t.test("the engine's own 500 (a bug it caught) is counted and logged as an error, not as a denial", async (t) => {
  const { app, logs, metrics } = build(t, {
    // The real engine, with a policy that throws where it is read: the engine's own catch answers.
    decide: (request, policy) =>
      decide(request, {
        ...policy,
        get excludedNamespaces(): string[] {
          throw new TypeError('boom');
        },
      }),
  });
  const review = optedIn(deploymentPod);
  const body = (await post(app, review)).json();
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 500);
  const line = logs.records().find((r) => r.msg === 'admission');
  t.match(line, { level: 50, outcome: 'error', decision: 'error', error: /internal error in db-access-webhook: "boom"/ });
  t.match(await metrics.registry.metrics(), /db_access_admissions_total\{outcome="error"\} 1/);
  t.match(await metrics.registry.metrics(), /db_access_admissions_total\{outcome="denied"\} 0/);
});

t.test('the admission line carries the uid printable; the answer echoes it exactly', async (t) => {
  const { app, logs } = build(t);
  const review = optedIn(deploymentPod);
  review.request.uid = 'abc\u202edef\u009b31m';
  const body = (await post(app, review)).json();
  t.equal(body.response.uid, 'abc\u202edef\u009b31m', 'the apiserver matches the uid byte for byte');
  const line = logs.records().find((r) => r.msg === 'admission');
  t.equal(line?.uid, 'abc\\u202edef\\u009b31m');
});

t.test('duration is measured (fastify times a request only when it has a logger, which buildApp always gives it)', async (t) => {
  const slow: SecretProviderClassStore = {
    ensure: () => new Promise((resolve) => setTimeout(() => resolve({ outcome: 'created' }), 30)),
  };
  const { app, logs, metrics } = build(t, { store: slow });
  t.equal((await post(app, optedIn(deploymentPod))).statusCode, 200);
  const line = logs.records().find((r) => r.msg === 'admission');
  t.ok(Number(line?.['durationMs']) >= 29, `durationMs ${String(line?.['durationMs'])} covers the 30 ms store`);
  const sum = /db_access_admission_duration_seconds_sum\{outcome="injected"\} ([\d.e-]+)/.exec(await metrics.registry.metrics())?.[1];
  t.ok(Number(sum) >= 0.029, `the histogram got the same duration (${sum} s)`);
});
