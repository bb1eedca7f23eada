// Cost amplification: one tenant's pod must not make the webhook do work (or send an answer) out of proportion to
// what any valid pod needs, because every tenant's admissions share the same event loop. kube-apiserver stores
// objects of at most ~1.5 MiB (etcd's limit), so a patch that alone exceeds that can never succeed anyway.
import t from 'tap';
import { decide } from '../../src/engine/index.ts';
import type { EnginePolicy } from '../../src/engine/index.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';
import { TEST_POLICY } from '../helpers/policy.ts';

const policy: EnginePolicy = TEST_POLICY;

/** etcd's default request limit (1.5 MiB): no stored Pod can be larger. */
const ETCD_LIMIT = 1.5 * 1024 * 1024;

function podWith(containers: number): Record<string, unknown> {
  const p = plainPod() as { spec: { containers: unknown[] } };
  p.spec.containers = Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: 'x' }));
  return p;
}

t.test('a pod with thousands of containers gets a bounded answer (a clear denial, or a patch under the etcd limit)', async (t) => {
  for (const n of [64, 100, 2_000, 20_000]) {
    const request = (reviewFor(podWith(n), 'tenant-a') as { request: Record<string, unknown> }).request;
    const inputBytes = JSON.stringify(request).length;
    const d = decide(request, policy);
    if (d.action === 'deny') {
      t.ok(d.code >= 400 && d.code < 500 && d.message.length > 0, `${n} containers: denied with a message (${d.message.slice(0, 100)})`);
      continue;
    }
    t.equal(d.action, 'inject', `${n} containers`);
    if (d.action !== 'inject') continue;
    const patchBytes = JSON.stringify(d.patch).length;
    t.ok(
      patchBytes <= ETCD_LIMIT,
      `${n} containers (${(inputBytes / 1024).toFixed(0)} KiB in): the patch is ${(patchBytes / 1024 / 1024).toFixed(1)} MiB, ` +
        `${(patchBytes / inputBytes).toFixed(0)}× the request; it must stay under ${ETCD_LIMIT / 1024 / 1024} MiB ` +
        '(deny such pods: name the containers that need the database in db-access/containers)',
    );
  }
});
