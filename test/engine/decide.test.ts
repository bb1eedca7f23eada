// decide() on hostile and edge-case input, beyond the golden files. Never throws, never a 500, never lets the pod
// choose another organization, and its patch is always valid and idempotent.
import fc from 'fast-check';
import t from 'tap';
import { parse } from 'yaml';
import {
  decide,
  INJECTED_ENV_NAMES,
  MAX_TARGETED_CONTAINERS,
  podFromRequest,
  type AdmissionRequestInput,
  type Decision,
  type EnginePolicy,
} from '../../src/engine/index.ts';
import { applyPatch } from '../helpers/apply-patch.ts';
import { validatePod, validateSecretProviderClass } from '../helpers/schemas.ts';
import { TEST_POLICY } from '../helpers/policy.ts';
import { podCreateRequest } from '../helpers/pod-request.ts';

const policy: EnginePolicy = TEST_POLICY;

type Rec = Record<string, unknown>;

const request = podCreateRequest;

function pod(annotations: Rec, spec: Rec, metadata: Rec = {}): Rec {
  return { metadata: { name: 'shop', annotations: { 'db-access/enabled': 'true', ...annotations }, ...metadata }, spec };
}

function injected(d: Decision) {
  if (d.action !== 'inject') throw new Error(`expected inject, got ${d.action}: ${'message' in d ? d.message : ''}`);
  return d;
}

t.test('the organization is request.namespace, whatever the pod says', async (t) => {
  const p = pod({ 'db-access/app': 'shop' }, { containers: [{ name: 'c' }] }, {
    namespace: 'other-org',
    labels: { organization: 'other-org' },
    generateName: 'other-org-',
  });
  const d = injected(decide(request(p), policy));
  t.equal(d.target.organization, 'acme');
  t.equal(d.target.secretId, 'acme-prod-database-credentials');
  t.equal(d.secretProviderClass.metadata.namespace, 'acme');
  t.match(d.secretProviderClass.spec.parameters.objects, /objectName: acme-prod-database-credentials/);
  t.notMatch(JSON.stringify(d), /other-org-prod/);
});

t.test('hostile request shapes never throw and get a specific 400 or a skip', async (t) => {
  const cases: Array<[string, unknown, RegExp | string]> = [
    ['request null', null, /^the admission request must be an object/],
    ['request array', [], /^the admission request must be an object/],
    ['object missing', request(undefined), /^request.object must be the Pod/],
    ['object a string', request('pod'), /^request.object must be the Pod being created, got "pod"/],
    ['metadata array', request({ metadata: [] }), /^metadata must be an object/],
    ['annotations string', request({ metadata: { annotations: 'x' } }), /^metadata.annotations must be a map of strings/],
    ['enabled number', request({ metadata: { annotations: { 'db-access/enabled': 1 } } }), 'db-access/enabled must be "true" or "false", got number 1; annotation values are strings: write db-access/enabled: "true" (or "false"), quoted'],
    ['spec missing', request(pod({}, {}).metadata ? { metadata: pod({}, {}).metadata } : {}), /^spec must be an object/],
    ['containers missing', request(pod({}, {})), /^spec.containers is missing/],
    ['containers empty', request(pod({}, { containers: [] })), /^spec.containers is empty/],
    ['initContainers object', request(pod({}, { containers: [{ name: 'a' }], initContainers: {} })), /^spec.initContainers must be a list/],
    ['container null', request(pod({}, { containers: [null] })), /^spec.containers\[0\] must be a container object, got null/],
    ['duplicate names', request(pod({}, { containers: [{ name: 'a' }, { name: 'a' }] })), /used twice/],
    ['volumes string', request(pod({}, { containers: [{ name: 'a' }], volumes: 'v' })), /^spec.volumes must be a list/],
    ['volume without name', request(pod({}, { containers: [{ name: 'a' }], volumes: [{}] })), /^spec.volumes\[0\] must be an object with a string name/],
    ['mounts object', request(pod({}, { containers: [{ name: 'a', volumeMounts: {} }] })), /^container "a" volumeMounts must be a list/],
    ['env entry without name', request(pod({}, { containers: [{ name: 'a', env: [{ value: 'x' }] }] })), /^container "a" env\[0\] must be an object with a string name/],
    ['namespace missing', { ...request(pod({}, { containers: [{ name: 'a' }] })), namespace: undefined }, /^request.namespace undefined is not a valid namespace name/],
    ['namespace object', { ...request(pod({}, { containers: [{ name: 'a' }] })), namespace: { x: 1 } }, /^request.namespace an object is not a valid/],
    ['status wrong type', request(pod({ 'db-access/status': 1 }, { containers: [{ name: 'a' }] })), /^db-access\/status must be a string/],
    ['status names nothing', request(pod({ 'db-access/status': '{"version":1,"app":"shop","secretProviderClass":"s","mountPath":"/m","containers":["gone"]}' }, { containers: [{ name: 'a' }] })), /names no container/],
  ];
  for (const [name, input, expected] of cases) {
    const d = decide(input as AdmissionRequestInput, policy);
    t.equal(d.action, 'deny', name);
    if (d.action === 'deny') {
      t.equal(d.code, 400, `${name}: 400`);
      if (typeof expected === 'string') t.equal(d.message, expected, name);
      else t.match(d.message, expected, name);
    }
  }
  const skips: Array<[string, unknown, string]> = [
    ['no resource or kind', { operation: 'CREATE', namespace: 'acme', object: {} }, 'not-a-pod'],
    ['kind only', { kind: { group: '', kind: 'Pod' }, operation: 'DELETE' }, 'not-create'],
    ['resource in another group', request({}, { resource: { group: 'x', resource: 'pods' } }), 'not-a-pod'],
    ['kind disagrees', request({}, { kind: { group: '', kind: 'Secret' } }), 'not-a-pod'],
    ['operation object', request({}, { operation: { op: 'CREATE' } }), 'not-create'],
    ['subResource number', request({}, { subResource: 5 }), 'subresource'],
  ];
  for (const [name, input, reason] of skips) t.match(decide(input as AdmissionRequestInput, policy), { action: 'skip', reason }, name);
});

t.test('__proto__ and constructor keys cannot opt in, rename or pollute', async (t) => {
  const raw =
    '{"metadata":{"name":"shop","annotations":{"__proto__":{"db-access/enabled":"true"},"constructor":"x"}},' +
    '"spec":{"containers":[{"name":"__proto__"}]}}';
  t.match(decide(request(JSON.parse(raw)), policy), { action: 'skip', reason: 'not-opted-in' });

  const raw2 =
    '{"metadata":{"name":"shop","annotations":{"db-access/enabled":"true","db-access/containers":"constructor,__proto__"}},' +
    '"spec":{"containers":[{"name":"__proto__","env":[{"name":"__proto__","value":"x"}]},{"name":"constructor"},{"name":"toString"}]}}';
  const d = injected(decide(request(JSON.parse(raw2)), policy));
  t.same(d.target.containers, ['__proto__', 'constructor'], 'names are matched exactly, in pod order');
  const patched = applyPatch(JSON.parse(raw2), d.patch);
  t.same(validatePod(patched), []);
  t.equal(({} as Rec).polluted, undefined);

  const raw3 = '{"metadata":{"name":"shop","annotations":{"db-access/enabled":"true","db-access/containers":"toString"}},"spec":{"containers":[{"name":"a"}]}}';
  t.match(decide(request(JSON.parse(raw3)), policy), { action: 'deny', message: /names "toString", which is not a container/ });
});

t.test('excluded namespaces are skipped before anything could deny', async (t) => {
  const broken = { metadata: { annotations: { 'db-access/enabled': 'maybe' } }, spec: 'x' };
  for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', 'db-access-webhook', 'legacy']) {
    const d = decide(request(broken, { namespace: ns }), { ...policy, excludedNamespaces: ['legacy'] });
    t.equal(d.action, 'skip', ns);
    if (d.action === 'skip') {
      t.equal(d.reason, 'excluded-namespace');
      t.equal(d.warnings.length, 1);
    }
  }
  t.same(decide(request({ metadata: { annotations: { 'db-access/enabled': 'false' } } }, { namespace: 'kube-system' }), policy).warnings, [], 'no warning for "false"');
  t.same(decide(request({}, { namespace: 'kube-system' }), policy).warnings, [], 'no warning without the annotation');
});

t.test('warnings stay under 120 characters whatever the names', async (t) => {
  const long = 'x'.repeat(300);
  const d = injected(
    decide(request(pod({ [`db-access/${long}`]: 'y' }, { containers: [{ name: 'c' }], serviceAccountName: long })), policy),
  );
  t.equal(d.warnings.length, 2);
  for (const w of d.warnings) t.ok(w.length < 120, w);
  const excluded = decide(request(pod({}, {}), { namespace: 'kube-system' }), { ...policy, webhookNamespace: long });
  for (const w of excluded.warnings) t.ok(w.length < 120, w);
  const many: Rec = {};
  for (let i = 0; i < 50; i++) many[`db-access/typo-${i}`] = 'x';
  const capped = injected(decide(request(pod(many, { containers: [{ name: 'c' }], serviceAccountName: 'acme' })), policy));
  t.equal(capped.warnings.length, 3, 'unknown-annotation warnings are capped');
});

t.test('service account: absent means "default"; the organization account earns no warning', async (t) => {
  const none = injected(decide(request(pod({}, { containers: [{ name: 'c' }] })), policy));
  t.match(none.warnings, [/^service account "default" is not "acme"/]);
  const legacy = injected(decide(request(pod({}, { containers: [{ name: 'c' }], serviceAccount: 'acme' })), policy));
  t.same(legacy.warnings, []);
});

t.test('env order, values and urlFromSecret', async (t) => {
  const d = injected(decide(request(pod({}, { containers: [{ name: 'c' }] })), policy));
  const env = (d.patch.find((op) => op.path === '/spec/containers/0/env') as { value: Rec[] }).value;
  t.same(env.map((e) => e.name), INJECTED_ENV_NAMES);
  const url = env.at(-1) as Rec;
  t.equal(url.value, 'postgresql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)?sslmode=require');
  // $(VAR) only expands from variables defined earlier in the list.
  for (const ref of (url.value as string).matchAll(/\$\((\w+)\)/g)) {
    t.ok(env.findIndex((e) => e.name === ref[1]) < env.length - 1, `${ref[1]} is defined before DATABASE_URL`);
  }
  t.same(env.find((e) => e.name === 'PGPASSWORD'), {
    name: 'PGPASSWORD',
    valueFrom: { secretKeyRef: { name: 'database-credentials-shop', key: 'password' } },
  }, 'PG* read the Secret directly');

  const u = injected(decide(request(pod({}, { containers: [{ name: 'c' }] })), { ...policy, urlFromSecret: true }));
  const uenv = (u.patch.find((op) => op.path === '/spec/containers/0/env') as { value: Rec[] }).value;
  t.same(uenv.at(-1), { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'database-credentials-shop', key: 'url' } } });
  t.match(u.secretProviderClass.spec.secretObjects[0]?.data.at(-1), { objectName: 'DATABASE_URL', key: 'url' });
  t.match(parse(u.secretProviderClass.spec.parameters.objects ?? ''), [{ jmesPath: [{}, {}, {}, {}, {}, { path: 'url', objectAlias: 'DATABASE_URL' }] }]);

  // Switching the policy on an already-injected pod replaces just DATABASE_URL's entries, keeping the order.
  const patched = applyPatch(pod({}, { containers: [{ name: 'c' }] }), d.patch);
  const switched = injected(decide(request(patched), { ...policy, urlFromSecret: true }));
  const after = applyPatch(patched, switched.patch) as { spec: { containers: Array<{ env: Rec[] }> } };
  t.same(after.spec.containers[0]?.env.map((e) => e.name), INJECTED_ENV_NAMES);
  t.same(after.spec.containers[0]?.env.at(-1), uenv.at(-1));
});

t.test('SecretProviderClass objects cannot be injected through configuration either', async (t) => {
  const evil = { ...policy, environment: 'prod\n- objectName: other', region: 'eu"\nx: y' };
  const d = injected(decide(request(pod({}, { containers: [{ name: 'c' }] })), evil));
  const objects = parse(d.secretProviderClass.spec.parameters.objects ?? '') as Rec[];
  t.equal(objects.length, 1);
  t.equal(objects[0]?.objectName, 'acme-prod\n- objectName: other-database-credentials');
  t.equal(d.secretProviderClass.spec.parameters.region, 'eu"\nx: y');
  t.same(validateSecretProviderClass(d.secretProviderClass), []);
  t.equal(d.secretProviderClass.spec.parameters.usePodIdentity, undefined);
  const pi = injected(decide(request(pod({}, { containers: [{ name: 'c' }] })), { ...policy, usePodIdentity: true }));
  t.equal(pi.secretProviderClass.spec.parameters.usePodIdentity, 'true');
});

t.test('reinvocation: the containers annotation can name a container another webhook added', async (t) => {
  const first = injected(decide(request(pod({ 'db-access/containers': 'app' }, { containers: [{ name: 'app' }] })), policy));
  const patched = applyPatch(pod({ 'db-access/containers': 'app' }, { containers: [{ name: 'app' }] }), first.patch) as Rec;
  const added = applyPatch(patched, [{ op: 'add', path: '/spec/containers/-', value: { name: 'late' } }]);
  const unnamed = injected(decide(request(added), policy));
  t.same(unnamed.patch, [], 'not named: nothing for the late container');
  const named = applyPatch(added, [{ op: 'replace', path: '/metadata/annotations/db-access~1containers', value: 'app,late' }]);
  const again = injected(decide(request(named), policy));
  t.same(again.target.containers, ['app', 'late']);
  const result = applyPatch(named, again.patch);
  t.same(validatePod(result), []);
  t.same(injected(decide(request(result), policy)).patch, [], 'and then stable');
  // Narrowing the list strips what we injected into the container left out.
  const narrowed = applyPatch(result, [{ op: 'replace', path: '/metadata/annotations/db-access~1containers', value: 'late' }]);
  const strip = injected(decide(request(narrowed), policy));
  const final = applyPatch(narrowed, strip.patch) as { spec: { containers: Rec[] } };
  t.same(final.spec.containers[0], { name: 'app', volumeMounts: [], env: [] }, 'app is back to nothing of ours');
});

t.test('a container left out that mounts our volume: denied on the first injection, not on a reinvocation', async (t) => {
  const spec = { containers: [{ name: 'app' }, { name: 'reporter', volumeMounts: [{ name: 'database-secrets', mountPath: '/s' }] }] };
  const first = decide(request(pod({ 'db-access/containers': 'app' }, spec)), policy);
  t.match(first, { action: 'deny', message: /container "reporter" mounts volume "database-secrets" but is not in db-access\/containers/ });
  // Another webhook renames a container we injected into: its mount is no longer recorded, but that is not the
  // pod author's doing, so the reinvocation admits the pod rather than failing it.
  const base = pod({}, { containers: [{ name: 'app' }, { name: 'reporter' }] });
  const injectedPod = applyPatch(base, injected(decide(request(base), policy)).patch);
  const renamed = applyPatch(injectedPod, [{ op: 'replace', path: '/spec/containers/1/name', value: 'reporter-2' }]);
  const again = injected(decide(request(renamed), policy));
  t.same(again.target.containers, ['app'], 'the renamed container is no longer ours');
});

t.test('a stale or partial injection is repaired without duplicates', async (t) => {
  const base = pod({}, { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }] }] });
  const d = injected(decide(request(base), policy));
  const patched = applyPatch(base, d.patch) as { spec: { containers: Array<{ env: Rec[]; volumeMounts: Rec[] }> } };
  // Someone deleted one of our vars and duplicated another; the volume mount moved elsewhere.
  const broken = structuredClone(patched);
  const env = broken.spec.containers[0]!.env;
  env.splice(3, 1);
  env.push({ name: 'DB_HOST', value: 'evil' });
  broken.spec.containers[0]!.volumeMounts[0]!.mountPath = '/elsewhere';
  const repair = injected(decide(request(broken), policy));
  const repaired = applyPatch(broken, repair.patch);
  t.same(validatePod(repaired), []);
  t.same(repaired, patched, 'back to exactly the first injection');
});

t.test('the patch does not grow with the pod', async (t) => {
  const big = (n: number) =>
    pod({}, {
      containers: Array.from({ length: 10 }, (_, c) => ({
        name: `c${c}`,
        env: Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: String(i) })),
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      })),
      volumes: [{ name: 'data', emptyDir: {} }],
    });
  const small = injected(decide(request(big(1)), policy));
  const large = injected(decide(request(big(150)), policy));
  t.same(large.patch, small.patch, '1,500 env vars across 10 containers: the same patch as 10');
  t.same(injected(decide(request(applyPatch(big(150), large.patch)), policy)).patch, []);
});

t.test('too many targeted containers is a clear denial, not a patch too large to store', async (t) => {
  const many = (n: number, annotations: Rec = {}) =>
    pod(annotations, { containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}` })) });
  const atLimit = injected(decide(request(many(MAX_TARGETED_CONTAINERS)), policy));
  t.equal(atLimit.target.containers.length, MAX_TARGETED_CONTAINERS);
  const over = decide(request(many(MAX_TARGETED_CONTAINERS + 1)), policy);
  t.equal(over.action, 'deny');
  if (over.action === 'deny') {
    t.equal(over.code, 400);
    t.match(over.message, /would inject into 65 containers \(at most 64\); list the ones that need the database in db-access\/containers/);
  }
  // Naming a few of them is the fix the message gives.
  const named = injected(decide(request(many(500, { 'db-access/containers': 'c1,c7' })), policy));
  t.same(named.target.containers, ['c1', 'c7']);
});

t.test('podFromRequest', async (t) => {
  t.same(podFromRequest({ object: { a: 1 } }), { a: 1 });
  t.equal(podFromRequest({ object: [] }), undefined);
  t.equal(podFromRequest(null), undefined);
});

// Plausible pods with hostile corners: every answer is an answer, and every patch applies, is valid and idempotent.
const names = fc.constantFrom('app', 'side', 'init', '__proto__', 'constructor', 'a/b', 'x~1');
const envVar = fc.oneof(
  { weight: 9, arbitrary: fc.record({ name: fc.constantFrom('DB_HOST', 'FOO', 'DATABASE_URL', 'PGSSLMODE', '__proto__'), value: fc.string({ maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);
const mount = fc.oneof(
  { weight: 9, arbitrary: fc.record({ name: fc.constantFrom('database-secrets', 'data', 'cfg'), mountPath: fc.constantFrom('/mnt/secrets-store', '/mnt/secrets-store/', '/data', '/x') }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);
const container = fc.record(
  {
    name: fc.oneof({ weight: 19, arbitrary: names }, { weight: 1, arbitrary: fc.anything({ maxDepth: 0 }) }),
    env: fc.oneof({ weight: 8, arbitrary: fc.array(envVar, { maxLength: 4 }) }, fc.constant(null), fc.anything({ maxDepth: 0 })),
    volumeMounts: fc.oneof({ weight: 8, arbitrary: fc.array(mount, { maxLength: 3 }) }, fc.constant(null)),
    restartPolicy: fc.constant('Always'),
  },
  { requiredKeys: ['name'] },
);
const annotationValue = fc.oneof(
  fc.constantFrom('true', 'false', 'app', 'app,side', 'init , app', '/mnt/x', '/mnt/secrets-store/', 'rel', 'Bad_Name', 'yes'),
  fc.anything({ maxDepth: 0 }),
);
const podArb = fc.record(
  {
    metadata: fc.record(
      {
        name: fc.oneof(fc.constantFrom('shop', 'Bad', ''), fc.anything({ maxDepth: 0 })),
        generateName: fc.constantFrom('web-7d4b9c6f5d-', 'x-', ''),
        labels: fc.dictionary(fc.constantFrom('app', 'app.kubernetes.io/name', 'pod-template-hash'), fc.constantFrom('web', 'Web', '7d4b9c6f5d')),
        annotations: fc.oneof(
          {
            weight: 9,
            arbitrary: fc.record(
              {
                'db-access/enabled': fc.oneof({ weight: 8, arbitrary: fc.constant('true') }, annotationValue),
                'db-access/app': fc.oneof({ weight: 8, arbitrary: fc.constantFrom('web', 'shop') }, annotationValue),
                'db-access/containers': fc.oneof({ weight: 8, arbitrary: fc.constantFrom('app', 'app', 'app,side', ' init , app', 'app,__proto__') }, annotationValue),
                'db-access/mount-path': fc.oneof({ weight: 8, arbitrary: fc.constantFrom('/mnt/x', '/mnt/secrets-store/', '/data') }, annotationValue),
                'db-access/status': fc.constantFrom(
                  '{"version":1,"app":"web","secretProviderClass":"web-database-secrets","mountPath":"/mnt/secrets-store","containers":["app"]}',
                  '{"version":1,"app":"x","secretProviderClass":"x-database-secrets","mountPath":"/data","containers":["side","init"]}',
                  '{"version":1,"app":"web","secretProviderClass":"web-database-secrets","mountPath":"/mnt/x","containers":["app","__proto__"]}',
                  'junk',
                ),
                'db-access/x': fc.constant('typo'),
              },
              { requiredKeys: ['db-access/enabled'] },
            ),
          },
          { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
        ),
        ownerReferences: fc.array(fc.record({ kind: fc.constantFrom('ReplicaSet', 'Job', 'StatefulSet'), name: fc.constantFrom('web-7d4b9c6f5d', 'job-29390400', 'db'), controller: fc.boolean() }), { maxLength: 2 }),
      },
      { requiredKeys: ['annotations'] },
    ),
    spec: fc.record(
      {
        containers: fc.oneof({ weight: 9, arbitrary: fc
            .uniqueArray(container, { minLength: 1, maxLength: 3, selector: (c) => c.name })
            .map((cs) => (cs.some((c) => c.name === 'app') ? cs : [{ name: 'app' }, ...cs])) }, fc.anything({ maxDepth: 1 })),
        initContainers: fc.oneof(fc.uniqueArray(container, { maxLength: 2, selector: (c) => c.name }), fc.constant(null)),
        volumes: fc.oneof(fc.array(fc.oneof(fc.record({ name: fc.constantFrom('database-secrets', 'data') }), fc.anything({ maxDepth: 0 })), { maxLength: 2 }), fc.constant(null)),
        serviceAccountName: fc.constantFrom('db-access', 'default'),
      },
      { requiredKeys: ['containers'] },
    ),
  },
  { requiredKeys: ['metadata', 'spec'] },
);

t.test('fuzz: never throws, never 500, patches apply and are idempotent', async (t) => {
  let injectedCount = 0;
  fc.assert(
    fc.property(podArb, fc.constantFrom('acme', 'kube-system', 'Bad_NS'), (generated, namespace) => {
      const object = JSON.parse(JSON.stringify(generated)) as Rec; // real requests are JSON
      const req = request(object, { namespace });
      const d = decide(req, policy);
      if (d.action === 'deny') {
        if (d.code !== 400 || d.message.length === 0) throw new Error(`bad denial ${d.code} ${d.message}`);
        return;
      }
      for (const w of d.warnings) if (w.length >= 120) throw new Error(`long warning ${w}`);
      if (d.action !== 'inject') return;
      injectedCount++;
      const patched = applyPatch(object, d.patch) as { spec: { containers?: Rec[]; initContainers?: Rec[]; volumes?: Rec[] } };
      const ours = (patched.spec.volumes ?? []).filter((v) => v.name === 'database-secrets');
      if (ours.length !== 1) throw new Error('exactly one database-secrets volume');
      const before = object as { spec: { containers?: Rec[]; initContainers?: Rec[] } };
      const beforeByName = new Map([...(before.spec.initContainers ?? []), ...(before.spec.containers ?? [])].map((c) => [c.name, c]));
      const list = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter((x): x is Rec => typeof x === 'object' && x !== null) : []);
      const oursIn = (c: Rec | undefined) => ({
        mounts: list(c?.volumeMounts).filter((m) => m.name === 'database-secrets').length,
        env: list(c?.env).filter((e) => INJECTED_ENV_NAMES.includes(e.name as string)).map((e) => e.name),
      });
      for (const c of [...(patched.spec.initContainers ?? []), ...(patched.spec.containers ?? [])]) {
        const now = oursIn(c);
        if (d.target.containers.includes(c.name as string)) {
          if (now.mounts !== 1) throw new Error(`one mount in targeted ${String(c.name)}`);
          if (JSON.stringify(now.env) !== JSON.stringify(INJECTED_ENV_NAMES)) throw new Error(`env in ${String(c.name)}`);
        } else {
          const was = oursIn(beforeByName.get(c.name));
          if (now.mounts > was.mounts || now.env.length > was.env.length) throw new Error(`added to untargeted ${String(c.name)}`);
        }
      }
      const again = decide({ ...req, object: patched }, policy);
      if (again.action !== 'inject' || again.patch.length !== 0) throw new Error(`not idempotent: ${JSON.stringify(again)}`);
    }),
    { numRuns: 3000, seed: 20261128 },
  );
  t.ok(injectedCount > 50, `the fuzzer reached injection (${injectedCount} times)`);
});

// Reinvocation: whatever other webhooks insert (containers, init containers, env, volumes, at any index), a second
// call keeps our targets, gives new containers nothing, duplicates nothing, and then is stable.
t.test('fuzz: reinvocation after other webhooks changed the pod', async (t) => {
  const insertion = fc.oneof(
    fc.record({ kind: fc.constant('container' as const), list: fc.constantFrom('containers', 'initContainers'), at: fc.nat(5), name: fc.constantFrom('proxy', 'agent', 'vault-agent') }),
    fc.record({ kind: fc.constant('env' as const), at: fc.nat(20), target: fc.nat(5), name: fc.constantFrom('MESH', 'TRACE', 'OTEL') }),
    fc.record({ kind: fc.constant('volume' as const), at: fc.nat(5), name: fc.constantFrom('istio-data', 'vault-home') }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom('app', 'app,init', undefined),
      fc.array(insertion, { maxLength: 6 }),
      (containersAnnotation, insertions) => {
        const annotations: Rec = containersAnnotation === undefined ? {} : { 'db-access/containers': containersAnnotation };
        const original = pod(annotations, {
          initContainers: [{ name: 'init' }],
          containers: [{ name: 'app', env: [{ name: 'X', value: '1' }] }, { name: 'side' }],
          serviceAccountName: 'acme',
        });
        const first = injected(decide(request(original), policy));
        const current = applyPatch(original, first.patch) as { spec: Record<string, Rec[]> };
        const added = new Set<string>();
        for (const ins of insertions) {
          const spec = current.spec;
          if (ins.kind === 'container') {
            if (added.has(ins.name)) continue;
            added.add(ins.name);
            const list = (spec[ins.list] ??= []);
            list.splice(Math.min(ins.at, list.length), 0, { name: ins.name });
          } else if (ins.kind === 'env') {
            const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
            const c = all[ins.target % all.length]!;
            const env = ((c.env as Rec[] | undefined) ??= []);
            if (env.some((e) => e.name === ins.name)) continue;
            env.splice(Math.min(ins.at, env.length), 0, { name: ins.name, value: 'v' });
          } else {
            const volumes = (spec.volumes ??= []);
            if (volumes.some((v) => v.name === ins.name)) continue;
            volumes.splice(Math.min(ins.at, volumes.length), 0, { name: ins.name, emptyDir: {} });
          }
        }
        const second = injected(decide(request(current), policy));
        if (JSON.stringify(second.target.containers) !== JSON.stringify(first.target.containers)) {
          throw new Error(`targets changed: ${first.target.containers.join()} → ${second.target.containers.join()}`);
        }
        // Other webhooks only inserted things of their own: nothing of ours differs, so nothing to do.
        if (second.patch.length !== 0) throw new Error(`reinvocation patch not empty: ${JSON.stringify(second.patch)}`);
        const after = applyPatch(current, second.patch) as { spec: Record<string, Rec[]> };
        const errors = validatePod(after);
        if (errors.length > 0) throw new Error(errors.join('; '));
        for (const c of [...(after.spec.initContainers ?? []), ...(after.spec.containers ?? [])]) {
          const ours = ((c.env as Rec[] | undefined) ?? []).filter((e) => INJECTED_ENV_NAMES.includes(e.name as string));
          const expected = first.target.containers.includes(c.name as string) ? INJECTED_ENV_NAMES.length : 0;
          if (ours.length !== expected) throw new Error(`${String(c.name)} has ${ours.length} of our env vars`);
        }
        const third = injected(decide(request(after), policy));
        if (third.patch.length !== 0) throw new Error('not stable after reinvocation');
      },
    ),
    { numRuns: 500, seed: 7 },
  );
  t.pass('reinvocation keeps targets and never duplicates');
});

t.test('a user mount at our path written another way (//, ., .., trailing /) is a conflict, not a silent overlay', async (t) => {
  for (const mountPath of ['/mnt/secrets-store', '/mnt/secrets-store/', '/mnt//secrets-store', '/mnt/./secrets-store', '/mnt/x/../secrets-store', '/../mnt/secrets-store', 'mnt/secrets-store', '/mnt/secrets-store/.']) {
    const d = decide(
      request(pod({}, { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath }] }], volumes: [{ name: 'data', emptyDir: {} }] })),
      policy,
    );
    t.equal(d.action, 'deny', mountPath);
    if (d.action === 'deny') t.match(d.message, /already mounts volume "data" at "\/mnt\/secrets-store"/, mountPath);
  }
  for (const mountPath of ['/mnt/secrets-store-2', '/mnt/secrets', '/mnt/secrets-store/..', '/secrets-store', '/mnt/.secrets-store', '/']) {
    const d = decide(
      request(pod({}, { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath }] }], volumes: [{ name: 'data', emptyDir: {} }] })),
      policy,
    );
    t.equal(d.action, 'inject', `${mountPath} is another directory`);
  }
});

t.test('a user mount inside our mount path is a conflict: the runtime cannot make a mount point in a read-only volume', async (t) => {
  const inside = [
    { name: 'data', mountPath: '/mnt/secrets-store/cache' },
    { name: 'data', mountPath: '/mnt//secrets-store/a/b/' },
    { name: 'data', mountPath: '/mnt/x/../secrets-store/cache' },
    { name: 'data', mountPath: '/mnt/secrets-store/.cache' },
    // a file mount over one of the secret files would hide it
    { name: 'data', mountPath: '/mnt/secrets-store/DB_PASSWORD', subPath: 'password' },
  ];
  for (const m of inside) {
    const d = decide(request(pod({}, { containers: [{ name: 'app', volumeMounts: [m] }], volumes: [{ name: 'data', emptyDir: {} }] })), policy);
    t.equal(d.action, 'deny', m.mountPath);
    if (d.action === 'deny') t.match(d.message, /already mounts volume "data" inside "\/mnt\/secrets-store"; set db-access\/mount-path/, m.mountPath);
  }
  const custom = decide(
    request(pod({ 'db-access/mount-path': '/etc/db' }, { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath: '/etc/db/x' }] }], volumes: [{ name: 'data', emptyDir: {} }] })),
    policy,
  );
  t.equal(custom.action, 'deny', 'the annotation-chosen path is protected the same way');
  // A parent of our path, or a sibling that shares a prefix, is another directory.
  for (const mountPath of ['/mnt', '/mnt/secrets-store-2/x', '/mnt/secrets-storex']) {
    const d = decide(request(pod({}, { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath }] }], volumes: [{ name: 'data', emptyDir: {} }] })), policy);
    t.equal(d.action, 'inject', mountPath);
  }
  const untargeted = decide(
    request(
      pod(
        { 'db-access/containers': 'app' },
        {
          containers: [{ name: 'app' }, { name: 'side', volumeMounts: [{ name: 'data', mountPath: '/mnt/secrets-store/x' }] }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      ),
    ),
    policy,
  );
  t.equal(untargeted.action, 'inject', 'a container we do not mount into may use the path');
});

/** The value Kubernetes gives `name`: `$(VAR)` expands only from variables defined earlier in the list. */
function expandedEnv(env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }>): Map<string, string> {
  const seen = new Map<string, string>();
  for (const e of env) {
    const v = e.valueFrom !== undefined ? `<${e.valueFrom.secretKeyRef.key}>` : (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, n: string) => seen.get(n) ?? ref);
    seen.set(e.name, v);
  }
  return seen;
}

t.test("the user's own env can refer to ours: ours come first, so $(DB_HOST) expands", async (t) => {
  const userEnv = [
    { name: 'FIRST', value: 'one' },
    { name: 'JDBC_URL', value: 'jdbc:postgresql://$(DB_HOST):$(DB_PORT)/$(DB_NAME)?user=$(FIRST)' },
  ];
  const input = pod({}, { containers: [{ name: 'app', env: userEnv }] });
  const d = injected(decide(request(input), policy));
  const after = applyPatch(input, d.patch) as { spec: { containers: Array<{ env: Parameters<typeof expandedEnv>[0] }> } };
  const env = after.spec.containers[0]!.env;
  t.same(env.slice(0, INJECTED_ENV_NAMES.length).map((e) => e.name), INJECTED_ENV_NAMES, 'ours first, in our order');
  t.same(env.slice(INJECTED_ENV_NAMES.length), userEnv, "the user's list follows, unchanged and in order");
  const values = expandedEnv(env);
  t.equal(values.get('JDBC_URL'), 'jdbc:postgresql://<host>:<port>/<database>?user=one');
  t.equal(values.get('DATABASE_URL'), 'postgresql://<username>:<password>@<host>:<port>/<database>?sslmode=require');
  t.same(injected(decide(request(after), policy)).patch, [], 'and running again changes nothing');
});
