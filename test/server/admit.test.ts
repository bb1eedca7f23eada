// The admission core with stand-in adapters: which adapter calls a warm admission makes, and that the warm path
// answers exactly what the full path answers. The real adapters are driven over HTTPS in adapters.test.ts.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { admit, type AdmitDeps } from '../../src/server/admit.ts';
import { parseAdmissionReview } from '../../src/admission/parse.ts';
import type { PreflightResult, SecretPreflight } from '../../src/aws/types.ts';
import { SecretProviderClassError, type EnsureResult, type SecretProviderClassStore } from '../../src/kube/types.ts';
import { TEST_POLICY } from '../helpers/policy.ts';
import { optedIn } from '../helpers/webhook-client.ts';

const review = JSON.parse(
  readFileSync(new URL('../fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'),
);

function request() {
  const parsed = parseAdmissionReview(optedIn(review));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.request;
}

/** A store and a preflight that record their calls; `known` answers only when told to. */
function adapters(options: { storeKnows?: EnsureResult; preflightKnows?: PreflightResult; storeHasKnown?: boolean }) {
  const calls: string[] = [];
  const store: SecretProviderClassStore = {
    async ensure() {
      calls.push('ensure');
      return options.storeKnows ?? { outcome: 'created' };
    },
    ...(options.storeHasKnown === false
      ? {}
      : {
          known() {
            calls.push('store.known');
            return options.storeKnows;
          },
        }),
  };
  const preflight: SecretPreflight = {
    async check() {
      calls.push('check');
      return options.preflightKnows ?? { status: 'ok' };
    },
    known() {
      calls.push('preflight.known');
      return options.preflightKnows;
    },
  };
  const counted: string[] = [];
  const deps = (preflightMode: AdmitDeps['preflightMode']): AdmitDeps => ({
    policy: TEST_POLICY,
    store,
    preflight,
    preflightMode,
    onKubeError: 'deny',
    onEnsure: (o) => counted.push(`ensure:${o}`),
    onPreflight: (s) => counted.push(`preflight:${s}`),
  });
  return { calls, counted, deps };
}

const OPTIONS = { timeoutMs: 10_000 };

t.test('warm: both adapters know the answer, so neither is called', async (t) => {
  const { calls, counted, deps } = adapters({ storeKnows: { outcome: 'cached' }, preflightKnows: { status: 'ok' } });
  const result = await admit(request(), OPTIONS, deps('warn'));
  t.equal(result.outcome, 'injected');
  t.same(calls, ['store.known', 'preflight.known']);
  t.same(counted, ['ensure:cached', 'preflight:ok'], 'counted once each');
  t.match(result.log, { decision: 'inject', spc: 'cached', preflight: 'ok' });
});

t.test('the warm answer is the full path answer, warnings included', async (t) => {
  const foreign: EnsureResult = { outcome: 'foreign', warning: 'SecretProviderClass x is not managed by db-access-webhook; left untouched' };
  const missing: PreflightResult = { status: 'missing', message: 'Secrets Manager secret s does not exist' };
  for (const mode of ['off', 'warn', 'deny'] as const) {
    const warm = adapters({ storeKnows: foreign, preflightKnows: missing });
    const cold = adapters({ storeKnows: foreign, preflightKnows: missing, storeHasKnown: false });
    const a = await admit(request(), OPTIONS, warm.deps(mode));
    const b = await admit(request(), OPTIONS, cold.deps(mode));
    t.notOk(warm.calls.includes('ensure'), `${mode}: warm path taken`);
    t.ok(cold.calls.includes('ensure'), `${mode}: full path taken`);
    t.same(a.review, b.review, `${mode}: same answer`);
    t.same([a.outcome, a.level, a.log], [b.outcome, b.level, b.log], `${mode}: same outcome, level and log line`);
    t.same(warm.counted, cold.counted, `${mode}: same metrics`);
  }
});

t.test('the store must ask the API: the full path runs, and the preflight is not asked twice', async (t) => {
  const { calls, counted, deps } = adapters({ preflightKnows: { status: 'ok' } });
  const result = await admit(request(), OPTIONS, deps('warn'));
  t.equal(result.log.spc, 'created');
  t.same(calls, ['store.known', 'ensure', 'check'], 'preflight.known is skipped once the store misses');
  t.same(counted, ['ensure:created', 'preflight:ok']);
});

t.test('the preflight must ask AWS: the full path runs', async (t) => {
  const { calls, deps } = adapters({ storeKnows: { outcome: 'cached' } });
  await admit(request(), OPTIONS, deps('deny'));
  t.same(calls, ['store.known', 'preflight.known', 'ensure', 'check']);
});

t.test('preflight off: only the store is asked', async (t) => {
  const { calls, deps } = adapters({ storeKnows: { outcome: 'cached' } });
  await admit(request(), OPTIONS, deps('off'));
  t.same(calls, ['store.known']);
});

t.test('a store without known() (the memory store) always takes the full path', async (t) => {
  const { calls, deps } = adapters({ storeKnows: { outcome: 'cached' }, storeHasKnown: false });
  await admit(request(), OPTIONS, deps('off'));
  t.same(calls, ['ensure']);
});

t.test("a store failure's denial says what to check once: the store's own hint, or ours for a bare error", async (t) => {
  const failing = (err: Error) => {
    const { deps } = adapters({});
    const d = deps('off');
    return { ...d, store: { ensure: () => Promise.reject(err) } };
  };
  const crd = await admit(
    request(),
    OPTIONS,
    failing(
      new SecretProviderClassError(
        'creating SecretProviderClass a/b: NotFound 404: check that the Secrets Store CSI driver (its SecretProviderClass CRD) is installed',
        404,
      ),
    ),
  );
  const crdMessage = crd.review.response.status?.message ?? '';
  t.match(crdMessage, /NotFound 404: check that the Secrets Store CSI driver \(its SecretProviderClass CRD\) is installed$/);
  t.equal(crdMessage.match(/CSI driver/g)?.length, 1, 'one hint, not two');

  const bare = await admit(request(), OPTIONS, failing(Object.assign(new Error('socket hang up'), { status: 503 })));
  t.match(bare.review.response.status?.message, /socket hang up; check the Kubernetes API server's health and load/);

  // A storm of 409s says "retry the pod": a transient failure (503), not an internal one (500), like 429 and 5xx.
  const conflict = await admit(request(), OPTIONS, failing(new SecretProviderClassError('updating SecretProviderClass a/b: still conflicting after 4 attempts (409): another writer keeps changing it', 409)));
  t.equal(conflict.review.response.status?.code, 503);
  t.equal(crd.review.response.status?.code, 500, 'a missing CRD is not transient');
});

t.test('the budget counts the time before admit(): a late request gets a short deadline, and none left means no call', async (t) => {
  const seen: boolean[] = [];
  const hanging: SecretProviderClassStore = {
    ensure(_desired, { signal }) {
      seen.push(signal.aborted);
      return new Promise(() => {}); // never answers
    },
  };
  const deps: AdmitDeps = { policy: TEST_POLICY, store: hanging, preflightMode: 'off', onKubeError: 'deny' };

  // 1 s apiserver timeout: a 750 ms share, all of it gone before admit().
  const started = Date.now();
  const late = await admit(request(), { timeoutMs: 1_000, elapsedMs: 900 }, deps);
  t.ok(Date.now() - started < 500, 'answered at once');
  t.same(seen, [], 'the store was not asked');
  t.match(
    late.review.response.status?.message,
    /the Kubernetes API was not asked: 900 ms of the webhook's 750 ms share of the apiserver timeout went by between the request's headers and the start of its admission; check the webhook's CPU \(throttling, event-loop delay\) and the network/,
  );

  // A little of it gone: the rest is waited for, and the API is still the suspect.
  const early = await admit(request(), { timeoutMs: 1_000, elapsedMs: 150 }, deps);
  t.same(seen, [false]);
  t.match(
    early.review.response.status?.message,
    /within 600 ms: 150 ms of the webhook's 750 ms share .*; check the Kubernetes API server's health/,
  );

  // Routine arrival time is not mentioned; a NaN from a caller counts as nothing.
  for (const elapsedMs of [3, Number.NaN]) {
    const routine = await admit(request(), { timeoutMs: 1_000, elapsedMs }, deps);
    t.match(routine.review.response.status?.message, /no answer from the Kubernetes API within 750 ms \(the webhook's share of the apiserver timeout\)/);
  }
});

t.test('with no time left, what the caches know still counts', async (t) => {
  // The store knows its answer, the preflight would have to ask AWS: the warm path needs both, so this is the slow one.
  const { calls, deps } = adapters({ storeKnows: { outcome: 'cached' } });
  const result = await admit(request(), { timeoutMs: 10_000, elapsedMs: 8_000 }, deps('warn'));
  t.equal(result.outcome, 'injected', 'the SecretProviderClass is known to be right: the pod gets its injection');
  t.notOk(calls.includes('ensure') || calls.includes('check'), `no adapter call (${calls.join(', ')})`);
  t.ok(
    result.review.response.warnings?.some((w) => /preflight skipped: the request arrived too late to ask Secrets Manager/.test(w)),
    'the skipped preflight says why, without blaming AWS',
  );
});
