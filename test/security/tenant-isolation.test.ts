// Tenant isolation, proven on the engine for any pod a tenant can write: the organization is request.namespace,
// always. No annotation, label, generateName, owner, metadata.namespace or YAML trick changes which namespace the
// SecretProviderClass lives in or which Secrets Manager secret it names.
import t from 'tap';
import fc from 'fast-check';
import { parse } from 'yaml';
import { decide } from '../../src/engine/index.ts';
import type { Decision, EnginePolicy } from '../../src/engine/index.ts';
import {
  PROTO_INJECTIONS,
  TENANT_NAMESPACES,
  VICTIM_SECRET_IDS,
  fuzzParameters,
  hostileString,
  plainPod,
  pod,
  protoBody,
  reviewFor,
  trickAnnotationValue,
} from '../helpers/fuzz-arbitraries.ts';
import { TEST_POLICY } from '../helpers/policy.ts';

// ~5 s for the default 10,000 runs per property; the long mode (FUZZ_RUNS) scales it.
t.setTimeout(Math.max(120_000, fuzzParameters().numRuns * 15));

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ALIASES = new Set(['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DATABASE_URL']);
const KEYS = new Set(['host', 'port', 'database', 'username', 'password', 'url']);
// The JMESPaths the provider evaluates: the keys, and the port converted from a number (secret-provider-class.ts).
const PATHS = new Set([...KEYS, 'port && to_string(port)']);
// Every place the engine may write in a pod: our volume, mounts and env in (init) containers, our status annotation.
const PATCH_PATH = /^\/(spec\/volumes(\/(\d+|-))?|spec\/(containers|initContainers)\/\d+\/(volumeMounts|env)(\/(\d+|-))?|metadata\/annotations(\/db-access~1status)?)$/;

const basePolicy: EnginePolicy = TEST_POLICY;

const policyArb: fc.Arbitrary<EnginePolicy> = fc.record({
  environment: fc.constantFrom('dev', 'prod', 'staging'),
  region: fc.constantFrom('us-east-1', 'eu-west-1'),
  webhookNamespace: fc.constant('db-access-webhook'),
  excludedNamespaces: fc.constant([]),
  usePodIdentity: fc.boolean(),
  urlFromSecret: fc.boolean(),
});

function requestFor(object: unknown, namespace: unknown, dryRun = false) {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace,
    dryRun,
    object,
  };
}

/** Collects every value of `key` anywhere in a JSON tree (iteratively: patches can be deep). */
function valuesOf(root: unknown, key: string): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === key) out.push(v);
        stack.push(v);
      }
    }
  }
  return out;
}

/** Throws (with the reason) unless an inject decision is confined to `namespace` and its own secret. */
function checkConfined(d: Decision, namespace: string, policy: EnginePolicy): void {
  if (d.action === 'deny' && d.code >= 500) throw new Error(`engine internal error: ${d.message}`);
  if (d.action !== 'inject') return;
  const { secretProviderClass: spc, target } = d;
  const secretId = `${namespace}-${policy.environment}-database-credentials`;
  const fail = (what: string) => {
    throw new Error(`${what} (namespace ${namespace}): ${JSON.stringify({ target, spc }).slice(0, 600)}`);
  };
  if (target.organization !== namespace) fail('organization is not request.namespace');
  if (spc.metadata.namespace !== namespace) fail('SecretProviderClass outside request.namespace');
  if (target.secretId !== secretId) fail('secretId is not {namespace}-{environment}-database-credentials');
  if (!DNS_LABEL.test(target.app) || target.app.length > 63) fail('app is not a DNS-1123 label');
  if (spc.metadata.name !== `${target.app}-database-secrets` || target.secretProviderClassName !== spc.metadata.name) fail('SPC name');
  if (target.syncedSecretName !== `database-credentials-${target.app}`) fail('synced Secret name');

  const paramKeys = Object.keys(spc.spec.parameters).sort();
  const allowed = policy.usePodIdentity ? ['objects', 'region', 'usePodIdentity'] : ['objects', 'region'];
  if (JSON.stringify(paramKeys) !== JSON.stringify(allowed)) fail(`parameters ${paramKeys.join(',')}`);
  if (spc.spec.parameters.region !== policy.region) fail('region');

  // The objects string is YAML: parse it and check its structure, so no injected entry can hide in it.
  const objects: unknown = parse(spc.spec.parameters.objects ?? '');
  if (!Array.isArray(objects) || objects.length !== 1) fail('objects must hold exactly one entry');
  const entry = (objects as unknown[])[0] as Record<string, unknown>;
  if (JSON.stringify(Object.keys(entry).sort()) !== '["jmesPath","objectName","objectType"]') fail('objects entry keys');
  if (entry.objectName !== secretId) fail(`objectName ${String(entry.objectName)}`);
  if (entry.objectType !== 'secretsmanager') fail('objectType');
  const jmes = entry.jmesPath;
  if (!Array.isArray(jmes) || jmes.length !== (policy.urlFromSecret ? 6 : 5)) fail('jmesPath length');
  for (const j of jmes as Array<Record<string, unknown>>) {
    if (!PATHS.has(j.path as string) || !ALIASES.has(j.objectAlias as string) || Object.keys(j).length !== 2) fail('jmesPath entry');
  }

  if (spc.spec.secretObjects.length !== 1) fail('exactly one synced Secret');
  const synced = spc.spec.secretObjects[0]!;
  if (synced.secretName !== target.syncedSecretName) fail('secretObjects name');
  for (const dItem of synced.data) if (!ALIASES.has(dItem.objectName) || !KEYS.has(dItem.key)) fail('secretObjects data');

  for (const op of d.patch) if (!PATCH_PATH.test(op.path)) fail(`patch touches ${op.path}`);
  for (const ref of valuesOf(d.patch, 'secretKeyRef')) {
    if ((ref as { name?: unknown }).name !== target.syncedSecretName) fail('secretKeyRef to another Secret');
  }
  for (const name of valuesOf(d.patch, 'secretProviderClass')) if (name !== spc.metadata.name) fail('volume names another SPC');
  // Redundant with the objectName check above, kept as the plain statement of the goal.
  if ((TENANT_NAMESPACES as readonly string[]).includes(namespace) && VICTIM_SECRET_IDS.includes(entry.objectName as string)) {
    fail(`names another organization's secret ${String(entry.objectName)}`);
  }
}

t.test('any pod a tenant writes: the SecretProviderClass stays in request.namespace and names only its secret', async (t) => {
  let injected = 0;
  fc.assert(
    fc.property(pod, fc.constantFrom(...TENANT_NAMESPACES), fc.boolean(), policyArb, (object, namespace, dryRun, policy) => {
      const d = decide(requestFor(object, namespace, dryRun), policy);
      checkConfined(d, namespace, policy);
      if (d.action === 'inject') injected++;
    }),
    fuzzParameters(),
  );
  // The generator must reach the inject path often, or the property says little.
  t.ok(injected > 1000, `inject path reached ${injected} times`);
});

t.test('metadata.namespace in the pod never matters: same decision whatever it says', async (t) => {
  fc.assert(
    fc.property(pod, fc.constantFrom(...TENANT_NAMESPACES), fc.option(hostileString, { nil: undefined }), (object, namespace, claimed) => {
      const meta = (object as { metadata: Record<string, unknown> }).metadata;
      const without = structuredClone(object) as { metadata: Record<string, unknown> };
      delete without.metadata.namespace;
      const tricked = structuredClone(without);
      if (claimed !== undefined) tricked.metadata.namespace = claimed;
      else tricked.metadata.namespace = meta.namespace ?? 'victim';
      const a = decide(requestFor(without, namespace), basePolicy);
      const b = decide(requestFor(tricked, namespace), basePolicy);
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`decision changed with metadata.namespace=${JSON.stringify(tricked.metadata.namespace)}`);
    }),
    fuzzParameters(Math.max(1000, Math.floor(fuzzParameters().numRuns / 4))),
  );
  t.pass('metadata.namespace never changes the decision');
});

t.test('annotations that claim an organization, environment or secret are ignored (or refused), never obeyed', async (t) => {
  const keys = ['db-access/organization', 'db-access/namespace', 'db-access/environment', 'db-access/secret', 'db-access/secret-id', 'db-access/region'];
  fc.assert(
    fc.property(fc.constantFrom(...keys), trickAnnotationValue, fc.constantFrom(...TENANT_NAMESPACES), (key, value, namespace) => {
      const p = plainPod() as { metadata: { annotations: Record<string, string> } };
      p.metadata.annotations[key] = value;
      const d = decide(requestFor(p, namespace), basePolicy);
      checkConfined(d, namespace, basePolicy);
      if (d.action === 'inject' && d.target.environment !== basePolicy.environment) throw new Error('environment taken from the pod');
    }),
    fuzzParameters(2000),
  );
  t.pass();
});

t.test('the app name (annotation, labels, owner, generateName) can only rename objects inside the namespace', async (t) => {
  const sources = ['annotation', 'label-name', 'label-app', 'owner', 'generateName', 'name'] as const;
  let injected = 0;
  fc.assert(
    fc.property(fc.constantFrom(...sources), trickAnnotationValue, fc.constantFrom(...TENANT_NAMESPACES), (source, value, namespace) => {
      const p = { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { 'db-access/enabled': 'true' } } as Record<string, unknown>, spec: { containers: [{ name: 'app', image: 'x' }] } };
      const m = p.metadata as Record<string, unknown> & { annotations: Record<string, string> };
      if (source === 'annotation') m.annotations['db-access/app'] = value;
      if (source === 'label-name') m.labels = { 'app.kubernetes.io/name': value };
      if (source === 'label-app') m.labels = { app: value };
      if (source === 'owner') m.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: value, uid: 'x', controller: true }];
      if (source === 'generateName') m.generateName = value;
      if (source === 'name') m.name = value;
      const d = decide(requestFor(p, namespace), basePolicy);
      checkConfined(d, namespace, basePolicy);
      if (d.action === 'inject') injected++;
      if (d.action === 'inject' && (value.includes('/') || value.includes('\n') || value.includes(':'))) {
        throw new Error(`unsafe app name accepted: ${JSON.stringify(value)}`);
      }
    }),
    fuzzParameters(5000),
  );
  t.ok(injected > 100, `valid app names still inject (${injected})`);
});

t.test('YAML in the environment setting cannot add entries to objects either (built by the yaml library)', async (t) => {
  fc.assert(
    fc.property(hostileString, (environment) => {
      const policy = { ...basePolicy, environment };
      const d = decide(requestFor(plainPod(), 'tenant-a'), policy);
      checkConfined(d, 'tenant-a', policy);
      if (d.action !== 'inject') throw new Error(`plain pod not injected: ${d.action}`);
    }),
    fuzzParameters(3000),
  );
  t.pass();
});

t.test('request.namespace that is not a valid namespace name is refused, never used', async (t) => {
  fc.assert(
    fc.property(fc.oneof(hostileString, fc.constantFrom(null, 42, {}, [], true)), (namespace) => {
      const d = decide(requestFor(plainPod(), namespace), basePolicy);
      if (d.action === 'inject') {
        if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace) || namespace.length > 63) {
          throw new Error(`injected with namespace ${JSON.stringify(namespace)}`);
        }
        checkConfined(d, namespace, basePolicy);
      }
      if (d.action === 'deny' && d.code >= 500) throw new Error(d.message);
    }),
    fuzzParameters(5000),
  );
  t.pass();
});

t.test('__proto__ / constructor / prototype keys (as JSON.parse keeps them) never opt a pod in or set its app', async (t) => {
  for (let which = 0; which < PROTO_INJECTIONS.length; which++) {
    for (const optedIn of [true, false]) {
      const p = plainPod() as { metadata: { annotations: Record<string, string> } };
      if (!optedIn) delete p.metadata.annotations['db-access/enabled'];
      const review = JSON.parse(protoBody(reviewFor(p, 'tenant-a'), which)) as { request: Record<string, unknown> };
      const d = decide(review.request, basePolicy);
      t.not(d.action === 'deny' && d.code >= 500, true, `proto injection ${which}: no internal error`);
      if (!optedIn) t.not(d.action, 'inject', `proto injection ${which}: a pod not opted in stays untouched`);
      if (d.action === 'inject') {
        t.equal(d.target.app, 'web', `proto injection ${which}: app comes from the pod's own label`);
        t.equal(d.target.organization, 'tenant-a', `proto injection ${which}: organization from request.namespace`);
        t.equal(d.target.containers.includes('evil'), false, `proto injection ${which}: no inherited container`);
      }
    }
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was not polluted');
  t.equal(({} as Record<string, unknown>)['db-access/app'], undefined);
});

t.test('Object.prototype is untouched after all the fuzzing above', async (t) => {
  t.same(Object.getOwnPropertyNames(Object.prototype).filter((k) => !['constructor', '__defineGetter__', '__defineSetter__', 'hasOwnProperty', '__lookupGetter__', '__lookupSetter__', 'isPrototypeOf', 'propertyIsEnumerable', 'toString', 'valueOf', '__proto__', 'toLocaleString'].includes(k)), []);
});
