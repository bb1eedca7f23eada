// The Secrets Manager preflight with the real AWS SDK over HTTPS against the in-test JSON 1.1 endpoint.
import t from 'tap';
import { createPreflight, preflightClientConfig } from '../../src/aws/preflight.ts';
import type { PreflightOptions, PreflightSource } from '../../src/aws/preflight.ts';
import type { PreflightStatus } from '../../src/aws/types.ts';
import { createTestCa } from '../helpers/test-ca.ts';
import { secretsManagerClientConfigFor, startFakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import type { FakeSecretsManager } from '../helpers/fake-secrets-manager.ts';

const ca = await createTestCa();
const SECRET = 'acme-prod-database-credentials';

async function setup(
  t: { teardown(fn: () => unknown): void },
  options: Partial<PreflightOptions> = {},
  clientExtra: Parameters<typeof secretsManagerClientConfigFor>[1] = {},
) {
  const sm = await startFakeSecretsManager({ ca });
  t.teardown(() => sm.close());
  const { clientConfig, agent } = secretsManagerClientConfigFor(sm, clientExtra);
  t.teardown(() => agent.destroy());
  const results: string[] = [];
  const preflight = createPreflight({
    region: sm.region,
    clientConfig,
    onResult: (status: PreflightStatus, source: PreflightSource) => results.push(`${status}:${source}`),
    timeoutMs: 10_000, // generous: a busy test machine must not turn 'ok' into 'unavailable'
    ...options,
  });
  return { sm, preflight, results };
}

const signal = (ms = 10_000) => AbortSignal.timeout(ms);
const describes = (sm: FakeSecretsManager) => sm.calls.filter((c) => c.operation === 'DescribeSecret').length;

t.test('an existing secret is ok; only DescribeSecret is ever called, signed', async (t) => {
  const { sm, preflight, results } = await setup(t);
  sm.addSecret({ name: SECRET });
  t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  t.same(sm.calls, [{ operation: 'DescribeSecret', secretId: SECRET, signed: true, accessKeyId: 'AKIAFAKEFAKEFAKEFAKE' }]);
  t.same(results, ['ok:aws']);
});

t.test('a missing secret says so in plain words', async (t) => {
  const { preflight } = await setup(t);
  const r = await preflight.check(SECRET, 'acme', signal());
  t.equal(r.status, 'missing');
  t.match(r.message, /acme-prod-database-credentials does not exist in us-east-1/);
  t.ok((r.message ?? '').length < 120);
});

t.test('a secret scheduled for deletion', async (t) => {
  const { sm, preflight } = await setup(t);
  sm.addSecret({ name: SECRET, deletedDate: new Date(Date.now() + 7 * 86_400_000) });
  const r = await preflight.check(SECRET, 'acme', signal());
  t.equal(r.status, 'scheduled-for-deletion');
  t.match(r.message, /scheduled for deletion/);
});

t.test('organization tag check', async (t) => {
  t.test('tag names another organization: tag-mismatch', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: 'db-access/organization' });
    sm.addSecret({ name: SECRET, tags: { 'db-access/organization': 'globex', team: 'x' } });
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'tag-mismatch');
    t.match(r.message, /db-access\/organization=globex, expected acme/);
    t.ok((r.message ?? '').length < 120);
  });
  t.test('tag matches: ok', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: 'db-access/organization' });
    sm.addSecret({ name: SECRET, tags: { 'db-access/organization': 'acme' } });
    t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  });
  t.test('tag in another case or with spaces still names the organization (namespaces are lowercase)', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: 'db-access/organization' });
    sm.addSecret({ name: SECRET, tags: { 'db-access/organization': ' Acme ' } });
    t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  });
  t.test('tag absent: accepted (documented choice)', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: 'db-access/organization' });
    sm.addSecret({ name: SECRET, tags: { team: 'x' } });
    t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  });
  t.test('no tag key configured: tags are not looked at', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: '' });
    sm.addSecret({ name: SECRET, tags: { 'db-access/organization': 'globex' } });
    t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  });
  t.test('the answer depends on the organization asking', async (t) => {
    const { sm, preflight } = await setup(t, { orgTagKey: 'org' });
    sm.addSecret({ name: SECRET, tags: { org: 'acme' } });
    t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok');
    t.equal((await preflight.check(SECRET, 'globex', signal())).status, 'tag-mismatch', 'not answered from acme\'s cache entry');
  });
});

t.test('AWS faults give unavailable with a reason, never an exception', async (t) => {
  t.test('throttling', async (t) => {
    const { sm, preflight, results } = await setup(t);
    sm.addSecret({ name: SECRET });
    sm.failNext(1, 'ThrottlingException');
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.match(r.message, /throttling/);
    t.same(results, ['unavailable:aws']);
  });
  t.test('access denied names the IAM permission', async (t) => {
    const { sm, preflight } = await setup(t);
    sm.failNext(1, 'AccessDeniedException');
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.match(r.message, /secretsmanager:DescribeSecret/);
  });
  for (const code of ['UnrecognizedClientException', 'ExpiredTokenException']) {
    t.test(`${code}: rejected credentials are said so, not blamed on the IAM policy`, async (t) => {
      const { sm, preflight } = await setup(t);
      sm.failNext(1, code);
      const r = await preflight.check(SECRET, 'acme', signal());
      t.equal(r.status, 'unavailable');
      t.match(r.message, /AWS rejected the credentials \(invalid or expired token\)/);
      t.notMatch(r.message, /DescribeSecret/);
    });
  }
  t.test('a 500 from AWS', async (t) => {
    const { sm, preflight } = await setup(t);
    sm.failNext(1, 'InternalServiceError');
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.match(r.message, /InternalServiceError/);
  });
  t.test('a hanging endpoint: the caller\'s signal ends the wait', async (t) => {
    const { sm, preflight } = await setup(t, {}, { requestTimeout: 60_000 });
    sm.hangNext(1);
    const r = await preflight.check(SECRET, 'acme', signal(200));
    t.equal(r.status, 'unavailable');
    t.match(r.message, /did not answer in time/);
    t.equal(sm.calls[0]?.fault, 'hang', 'the request did reach the endpoint');
  });
  t.test('a hanging endpoint and a patient caller: the preflight\'s own timeout ends the wait', async (t) => {
    const { sm, preflight } = await setup(t, { timeoutMs: 200 }, { requestTimeout: 60_000 });
    sm.hangNext(1);
    const r = await preflight.check(SECRET, 'acme', new AbortController().signal);
    t.equal(r.status, 'unavailable');
    t.match(r.message, /did not answer in time/);
  });
  t.test('connection reset', async (t) => {
    const { sm, preflight } = await setup(t);
    sm.resetNext(1);
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.match(r.message, /cannot reach Secrets Manager \(connection reset\)/);
  });
  t.test('DNS failure', async (t) => {
    const { preflight } = await setup(t, {}, { endpoint: 'https://secretsmanager.nonexistent.invalid' });
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.match(r.message, /cannot reach Secrets Manager|did not answer in time/);
  });
  t.test('an untrusted certificate', async (t) => {
    const sm = await startFakeSecretsManager({ ca });
    t.teardown(() => sm.close());
    const other = await createTestCa('another CA');
    const { clientConfig, agent } = secretsManagerClientConfigFor({ ...sm, ca: other });
    t.teardown(() => agent.destroy());
    const preflight = createPreflight({ region: sm.region, clientConfig });
    const r = await preflight.check(SECRET, 'acme', signal());
    t.equal(r.status, 'unavailable');
    t.equal(sm.calls.length, 0, 'nothing reached the endpoint');
  });
  t.test('an already-aborted signal: no call', async (t) => {
    const { sm, preflight } = await setup(t);
    const r = await preflight.check(SECRET, 'acme', AbortSignal.abort());
    t.equal(r.status, 'unavailable');
    t.equal(sm.calls.length, 0);
  });
  t.test('a bad secret name: no call', async (t) => {
    const { sm, preflight } = await setup(t);
    t.equal((await preflight.check('', 'acme', signal())).status, 'unavailable');
    t.equal(sm.calls.length, 0);
  });
  t.test('a throwing metric hook does not change the answer', async (t) => {
    const { sm, preflight } = await setup(t, {
      onResult: () => {
        throw new Error('broken hook');
      },
    });
    sm.addSecret({ name: SECRET });
    t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' });
  });
});

t.test('caching: positive and negative answers with their own lifetimes', async (t) => {
  let clock = 1_000_000;
  const { sm, preflight, results } = await setup(t, { positiveTtlMs: 300_000, negativeTtlMs: 30_000, now: () => clock });
  sm.addSecret({ name: SECRET });
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok');
  t.equal((await preflight.check('globex-prod-database-credentials', 'globex', signal())).status, 'missing');
  t.equal(describes(sm), 2);

  clock += 20_000;
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok');
  t.equal((await preflight.check('globex-prod-database-credentials', 'globex', signal())).status, 'missing');
  t.equal(describes(sm), 2, 'both answered from the cache');

  sm.addSecret({ name: 'globex-prod-database-credentials' }); // the team creates the secret
  clock += 15_000; // negative entry (30 s) expired, positive (5 min) not
  t.equal((await preflight.check('globex-prod-database-credentials', 'globex', signal())).status, 'ok', 'a fixed secret is noticed soon');
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok');
  t.equal(describes(sm), 3);

  clock += 300_000;
  await preflight.check(SECRET, 'acme', signal());
  t.equal(describes(sm), 4, 'the positive entry expired too');
  t.ok(results.includes('ok:cache') && results.includes('missing:cache'));
});

t.test('known(): the cached answer without a call, counted once; nothing when AWS must be asked', async (t) => {
  let clock = 1_000_000;
  const { sm, preflight, results } = await setup(t, { positiveTtlMs: 300_000, now: () => clock });
  sm.addSecret({ name: SECRET });
  t.equal(preflight.known(SECRET, 'acme'), undefined, 'unknown before the first check');
  t.same(results, [], 'a miss is not counted');
  await preflight.check(SECRET, 'acme', signal());
  t.same(preflight.known(SECRET, 'acme'), { status: 'ok' });
  t.equal(preflight.known(SECRET, 'globex'), undefined, 'the answer is per organization');
  t.equal(describes(sm), 1, 'known() made no call');
  t.same(results, ['ok:aws', 'ok:cache'], 'the cache answer is counted like one from check()');
  clock += 300_001;
  t.equal(preflight.known(SECRET, 'acme'), undefined, 'expired answers are not known');
});

t.test('unavailable answers are remembered briefly, so a throttling AWS is not hammered', async (t) => {
  let clock = 1_000_000;
  const { sm, preflight } = await setup(t, { unavailableTtlMs: 5_000, now: () => clock });
  sm.addSecret({ name: SECRET });
  sm.failNext(1, 'ThrottlingException');
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'unavailable');
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'unavailable');
  t.equal(describes(sm), 1);
  clock += 6_000;
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok', 'recovers by itself');
});

t.test('an abandoned check is not remembered', async (t) => {
  const { sm, preflight } = await setup(t, {}, { requestTimeout: 60_000 });
  sm.addSecret({ name: SECRET });
  sm.hangNext(1);
  t.equal((await preflight.check(SECRET, 'acme', signal(100))).status, 'unavailable');
  t.same(await preflight.check(SECRET, 'acme', signal()), { status: 'ok' }, 'the next check asks AWS again');
});

t.test('single flight: a burst of 64 checks makes one call', async (t) => {
  const { sm, preflight, results } = await setup(t);
  sm.addSecret({ name: SECRET });
  sm.latencyMs = 20;
  const answers = await Promise.all(Array.from({ length: 64 }, () => preflight.check(SECRET, 'acme', signal())));
  t.ok(answers.every((a) => a.status === 'ok'));
  t.equal(describes(sm), 1);
  t.equal(results.filter((r) => r === 'ok:aws').length, 1, 'one answer reports the AWS call');
  t.equal(results.filter((r) => r === 'ok:shared').length, 63, 'the others joined it');
});

t.test('single flight: an impatient caller does not cancel the others', async (t) => {
  const { sm, preflight } = await setup(t);
  sm.addSecret({ name: SECRET });
  sm.latencyMs = 150;
  const early = preflight.check(SECRET, 'acme', signal(30));
  const patient = preflight.check(SECRET, 'acme', signal());
  t.equal((await early).status, 'unavailable');
  t.same(await patient, { status: 'ok' });
  t.equal(describes(sm), 1);
});

t.test('the cache is bounded', async (t) => {
  const { sm, preflight } = await setup(t, { maxEntries: 2 });
  for (const org of ['a', 'b', 'c']) await preflight.check(`${org}-prod-database-credentials`, org, signal());
  t.equal(preflight.cacheSize, 2);
  await preflight.check('a-prod-database-credentials', 'a', signal());
  t.equal(describes(sm), 4, 'the oldest answer was dropped');
});

t.test('client defaults keep the SDK from outlasting an admission', async (t) => {
  const config = preflightClientConfig('eu-west-1', 1500);
  t.equal(config.region, 'eu-west-1');
  t.equal(config.maxAttempts, 2);
  t.match(config.requestHandler, { requestTimeout: 1500, connectionTimeout: 1000, throwOnRequestTimeout: true });
  const merged = preflightClientConfig('eu-west-1', 1500, { maxAttempts: 1, requestHandler: { requestTimeout: 700 } });
  t.equal(merged.maxAttempts, 1);
  t.match(merged.requestHandler, { requestTimeout: 700, connectionTimeout: 1000 });
});

t.test('by default a denying answer is remembered 10 s: a created secret is seen by the next retry after that', async (t) => {
  let clock = 1_000_000;
  const { sm, preflight } = await setup(t, { now: () => clock });
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'missing');
  sm.addSecret({ name: SECRET });
  clock += 9_999;
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'missing', 'still the remembered answer');
  clock += 1;
  t.equal((await preflight.check(SECRET, 'acme', signal())).status, 'ok');
  t.equal(describes(sm), 2);
});
