// examples/admission-review.json, the one docs/server.md posts with curl, gives the documented answer.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Pod } from 'kubernetes-models/v1';
import { applyPatch } from '../helpers/apply-patch.ts';
import { startTestServer } from '../helpers/start-server.ts';

const example = JSON.parse(readFileSync(new URL('../../examples/admission-review.json', import.meta.url), 'utf8'));

t.test('the example AdmissionReview is injected: volume, mount, env, and its SecretProviderClass', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const res = await ts.client().mutate(example);
  t.equal(res.status, 200);
  t.equal(res.json.response.uid, example.request.uid);
  t.equal(res.json.response.allowed, true);
  t.equal(res.json.response.patchType, 'JSONPatch');
  t.notOk(res.json.response.warnings, 'a clean example has no warnings');
  const pod = applyPatch(example.request.object, JSON.parse(Buffer.from(res.json.response.patch, 'base64').toString('utf8'))) as any;
  new Pod(pod).validate();
  t.ok(pod.spec.volumes.some((v: any) => v.csi?.volumeAttributes?.secretProviderClass === 'orders-api-database-secrets'));
  const env = pod.spec.containers[0].env.map((e: any) => e.name);
  for (const name of ['LOG_LEVEL', 'DB_HOST', 'DB_PASSWORD', 'PGSSLMODE', 'DATABASE_URL']) t.ok(env.includes(name), name);
  const line = ts.logs.records().find((r) => r.msg === 'would create SecretProviderClass (in-memory store, no cluster)');
  t.match(line, { namespace: 'acme', name: 'orders-api-database-secrets' });
});
