// AWS faults in the Secrets Manager preflight, end to end: the real webhook, the real AWS SDK, an in-test
// Secrets Manager endpoint. Throttling, errors, resets, hangs, slowness and DNS failure never block a pod, even
// with DB_ACCESS_PREFLIGHT=deny: the pod is admitted with a warning, before the apiserver's timeout. Only facts
// (missing, scheduled for deletion, another organization's tag) deny.
import t from 'tap';
import { createPreflight } from '../../src/aws/preflight.ts';
import { secretsManagerClientConfigFor, startFakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import type { FakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import { startTestServer } from '../helpers/start-server.ts';
import type { TestServer } from '../helpers/start-server.ts';
import type { WebhookClient } from '../helpers/webhook-client.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';
import { assertNoSecrets, createLogCapture, plantSecrets, plantedSecrets, sentinel } from '../helpers/log-capture.ts';
import { ENV, ENVIRONMENT, since } from './harness.ts';

t.setTimeout(60_000); // hangs wait out the 2 s preflight bound

const ORG_TAG = 'db-access/organization';
const planted = plantedSecrets();
const awsSecretKey = sentinel('AWSSECRETKEY');
const tagSentinel = sentinel('TAGVALUE');
const preflightLogs = createLogCapture();

let fake: FakeSecretsManager;
const agents: Array<{ destroy(): void }> = [];
const servers: TestServer[] = [];

t.before(async () => {
  fake = await startFakeSecretsManager({ region: 'eu-west-1' });
  for (const org of ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d', 'tenant-e', 'tenant-f', 'tenant-g', 'tenant-h']) {
    fake.addSecret({ name: `${org}-${ENVIRONMENT}-database-credentials`, tags: { [ORG_TAG]: org, 'cost-center': tagSentinel } });
  }
});
t.teardown(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const a of agents) a.destroy();
  await fake.close();
});

/** A webhook with DB_ACCESS_PREFLIGHT=deny (the strictest) whose preflight talks to `endpoint`. */
async function webhook(endpoint?: string): Promise<{ server: TestServer; client: WebhookClient }> {
  const { clientConfig, agent } = secretsManagerClientConfigFor(fake, endpoint === undefined ? {} : { endpoint });
  agents.push(agent);
  const preflight = createPreflight({
    region: 'eu-west-1',
    orgTagKey: ORG_TAG,
    logger: preflightLogs.logger('trace'),
    // The SDK's own retry policy (2 attempts) as in production; a planted secret access key to search the logs for.
    clientConfig: { ...clientConfig, maxAttempts: 2, credentials: { accessKeyId: 'AKIAPLANTEDPLANTED00', secretAccessKey: awsSecretKey } },
  });
  const server = await startTestServer({ env: { ...ENV, DB_ACCESS_PREFLIGHT: 'deny', DB_ACCESS_PREFLIGHT_ORG_TAG: ORG_TAG }, preflight });
  servers.push(server);
  return { server, client: server.client() };
}

type Answer = { allowed: boolean; patchType?: string; warnings?: string[]; status?: { code: number; message: string } };

async function admit(client: WebhookClient, org: string, timeout = '3s'): Promise<{ r: Answer; ms: number }> {
  const started = performance.now();
  const res = await client.mutate(reviewFor(plantSecrets(plainPod('api'), planted), org), { timeout });
  const ms = since(started);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
  return { r: res.json.response as Answer, ms };
}

const FAULTS: Array<{ name: string; org: string; arm: (f: FakeSecretsManager) => void; warning: RegExp }> = [
  { name: 'ThrottlingException', org: 'tenant-b', arm: (f) => f.failNext(100, 'ThrottlingException'), warning: /throttl/i },
  { name: 'InternalServiceError (500)', org: 'tenant-c', arm: (f) => f.failNext(100, 'InternalServiceError'), warning: /Secrets Manager/ },
  { name: 'AccessDeniedException', org: 'tenant-d', arm: (f) => f.failNext(100, 'AccessDeniedException'), warning: /DescribeSecret|not allowed/ },
  { name: 'connection reset', org: 'tenant-e', arm: (f) => f.resetNext(100), warning: /Secrets Manager/ },
  { name: 'AWS hangs', org: 'tenant-f', arm: (f) => f.hangNext(100), warning: /in time/ },
];

t.test('every AWS fault: admitted with its injection and a warning, in time, even with DB_ACCESS_PREFLIGHT=deny', async (t) => {
  const { client } = await webhook();
  for (const fault of FAULTS) {
    fault.arm(fake);
    const { r, ms } = await admit(client, fault.org);
    fake.clearFaults();
    t.equal(r.allowed, true, `${fault.name}: admitted`);
    t.equal(r.patchType, 'JSONPatch', `${fault.name}: injected`);
    t.ok(r.warnings?.some((w) => fault.warning.test(w)), `${fault.name}: warning says so: ${r.warnings?.join(' | ')}`);
    t.ok(ms < 3_000, `${fault.name}: answered in ${ms} ms, before the 3s timeout`);
  }
});

t.test('a slow AWS (5 s per call) never holds a pod past the apiserver timeout', async (t) => {
  const { client } = await webhook();
  fake.latencyMs = 5_000;
  try {
    const { r, ms } = await admit(client, 'tenant-g', '2s');
    t.equal(r.allowed, true);
    t.ok(ms < 2_000, `answered in ${ms} ms with ?timeout=2s`);
    t.ok(r.warnings?.some((w) => /Secrets Manager|preflight/.test(w) && /skipped|not checked|in time/.test(w)), `warning: ${r.warnings?.join(' | ')}`);
  } finally {
    fake.latencyMs = 0;
  }
});

t.test('DNS failure (the endpoint name does not resolve): admitted with a warning', async (t) => {
  const { client } = await webhook('https://secretsmanager.eu-west-1.db-access-test.invalid');
  const { r, ms } = await admit(client, 'tenant-h');
  t.equal(r.allowed, true);
  t.ok(r.warnings?.some((w) => /preflight skipped/.test(w) && /reach|ENOTFOUND|EAI_AGAIN|in time/.test(w)), `warning: ${r.warnings?.join(' | ')}`);
  t.ok(ms < 3_000, `answered in ${ms} ms`);
});

t.test('facts still deny, and a throttling burst makes one AWS call, not one per pod', async (t) => {
  const { client } = await webhook();
  const missing = await admit(client, 'nobody-here');
  t.equal(missing.r.allowed, false, 'missing secret: denied (deny mode)');
  t.match(missing.r.status?.message, /does not exist/);

  fake.addSecret({ name: `tenant-x-${ENVIRONMENT}-database-credentials`, tags: { [ORG_TAG]: 'other-org' } });
  const stolen = await admit(client, 'tenant-x');
  t.equal(stolen.r.allowed, false, "a secret tagged with another organization: denied");

  const before = fake.calls.length;
  fake.failNext(1_000, 'ThrottlingException');
  const burst = await Promise.all(Array.from({ length: 32 }, () => admit(client, 'tenant-a')));
  fake.clearFaults();
  t.ok(burst.every((b) => b.r.allowed), '32 pods admitted while AWS throttles');
  t.ok(fake.calls.length - before <= 2, `at most the SDK's 2 attempts for 32 pods (${fake.calls.length - before} calls)`);
  t.ok(fake.calls.every((c) => c.operation === 'DescribeSecret'), 'only ever DescribeSecret (never GetSecretValue)');
});

t.test('logs (trace) of every AWS scenario: no credentials, no tag values, no pod contents', async (t) => {
  const lines = [...preflightLogs.lines, ...servers.flatMap((s) => s.logs.lines)];
  assertNoSecrets(t, lines, [...planted.all, awsSecretKey, tagSentinel], { minLines: 10 });
});
