// Seeded fast-check generators for hostile AdmissionReview bodies: what a careless or malicious tenant (or a broken
// client) can put in front of POST /mutate. Every run is reproducible from FUZZ_SEED; FUZZ_RUNS selects a long mode.
import fc from 'fast-check';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Fixed seed so a failure replays exactly; override with FUZZ_SEED to explore. */
export const FUZZ_SEED = intFromEnv('FUZZ_SEED', 20261128);
/** Cases per property. The default keeps `npm test` fast; `FUZZ_RUNS=200000 npx tap …` is the long mode. */
export const FUZZ_RUNS = intFromEnv('FUZZ_RUNS', 10_000);

/** Parameters for fc.assert / fc.sample: the fixed seed and the run count. */
export function fuzzParameters(numRuns: number = FUZZ_RUNS): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns };
}

// ---------------------------------------------------------------------------------------------------------------
// Namespaces. Requests only ever come from TENANT namespaces; VICTIM names are what an attacker tries to reach.
// A test can then say: nothing is ever written to, or names a secret of, a VICTIM namespace.

export const TENANT_NAMESPACES = ['tenant-a', 'tenant-b', 'acme', 'org-1'] as const;
export const VICTIM_NAMESPACES = ['victim', 'other-org', 'bank'] as const;
export const VICTIM = 'victim';

/** Secrets Manager names an attacker would like to reach (their organization is not the request's). */
export const VICTIM_SECRET_IDS = VICTIM_NAMESPACES.flatMap((ns) =>
  ['dev', 'prod', 'staging'].map((env) => `${ns}-${env}-database-credentials`),
);

// ---------------------------------------------------------------------------------------------------------------
// Strings

/** Values that have broken parsers, path builders, YAML emitters and name checks somewhere before. */
export const TRICKY_STRINGS: readonly string[] = [
  '', ' ', '.', '..', '../other', '../victim', '../../etc/passwd', '/etc/passwd', '..%2fvictim', '%2e%2e%2f',
  'victim', 'other-org', 'victim/secretproviderclasses/x', 'x-prod-database-credentials',
  'victim-prod-database-credentials', 'victim-dev-database-credentials',
  'a\nobjectName: victim-dev-database-credentials',
  'x"\n- objectName: victim-dev-database-credentials\n  objectType: secretsmanager',
  "x'\n- objectName: \"victim-dev-database-credentials\"",
  '- objectName: victim-dev-database-credentials', ': ', 'key: value', '{', '}', '[', ']', '{objectName: x}',
  '# comment', '&anchor', '*alias', '!!binary', '!!js/function', '|', '>', '---', '...', '? ', '%YAML 1.1',
  '\u0000', '\r\n', '\n', '\t', '\u2028', '\u2029', '\u202e', '\uFEFF', '\uD800', '😀', 'ǅ', 'İ', 'ß', 'Ⅻ',
  'a'.repeat(63), 'a'.repeat(64), 'a'.repeat(253), 'a'.repeat(254), '-a', 'a-', 'A', 'a_b', 'a.b',
  'true', 'TRUE', 'True', 'yes', 'on', '1', 'null', '~', '0x10', '1e3', 'NaN',
  '${jndi:ldap://x}', '$(DB_PASSWORD)', '$(cat /etc/passwd)', '`id`', '<script>', '\\', "'", '"',
  'kube-system', 'kube-public', 'db-access-webhook', 'default',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
];

const YAML_UNITS = ['\n', '\r', ':', ' ', '-', '{', '}', '[', ']', '#', '"', "'", '&', '*', '!', '|', '>', 'a', '/', '.', '\\', 'objectName'];

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$/);

/** Any string a tenant could type, biased toward the ones that matter. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...TRICKY_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...YAML_UNITS), maxLength: 24 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 32 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 32 }), weight: 1 },
  { arbitrary: dnsLabel, weight: 2 },
);

/** Annotation values that try to steer the organization, path or the SecretProviderClass `objects` YAML. */
export const trickAnnotationValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '../other', '../victim', 'other-org', 'victim', 'x-prod-database-credentials', 'victim-prod-database-credentials',
    '/etc/passwd', '../../etc/passwd', 'victim/x', 'app\n- objectName: victim-dev-database-credentials',
    'app\nobjectName: victim-dev-database-credentials', 'a: b', '{objectName: victim}', 'a # b',
  ),
  hostileString,
);

// ---------------------------------------------------------------------------------------------------------------
// Wrong-typed values, including deep nesting

/** JSON text nested `depth` levels deep, e.g. [[[[0]]]] or {"a":{"a":0}}. */
export function deepJson(depth: number, style: 'array' | 'object' = 'array'): string {
  return style === 'array' ? `${'['.repeat(depth)}0${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;
}

/** A JS value nested `depth` levels deep, built without recursion. */
export function deepValue(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  hostileString,
  fc.array(fc.oneof(fc.integer(), hostileString, fc.constant(null)), { maxLength: 8 }),
  fc.dictionary(hostileString, fc.oneof(fc.integer(), hostileString), { maxKeys: 4 }),
  fc.integer({ min: 1, max: 3000 }).map(deepValue),
  fc.jsonValue({ maxDepth: 3 }),
);

// ---------------------------------------------------------------------------------------------------------------
// Pods and reviews

export interface GeneratedReview {
  /** The AdmissionReview as a plain object (serialise with JSON.stringify). */
  readonly review: Record<string, unknown>;
}

const containerName = fc.oneof({ arbitrary: dnsLabel, weight: 5 }, { arbitrary: hostileString, weight: 1 });

const container = fc.record({
  name: containerName,
  image: fc.constantFrom('nginx:1.27', 'registry.k8s.io/pause:3.9', 'app@sha256:' + 'a'.repeat(64)),
  env: fc.option(
    fc.array(fc.record({ name: fc.oneof(fc.constantFrom('DB_HOST', 'PGHOST', 'DATABASE_URL', 'X'), dnsLabel), value: hostileString }), {
      maxLength: 4,
    }),
    { nil: undefined },
  ),
  volumeMounts: fc.option(
    fc.array(fc.record({ name: fc.oneof(fc.constant('database-secrets'), dnsLabel), mountPath: fc.oneof(fc.constant('/mnt/secrets-store'), hostileString) }), { maxLength: 2 }),
    { nil: undefined },
  ),
});

/** db-access annotations, real and invented, that a tenant might set hoping to change the organization. */
const ANNOTATION_KEYS = [
  'db-access/app', 'db-access/containers', 'db-access/mount-path', 'db-access/status', 'db-access/organization',
  'db-access/namespace', 'db-access/environment', 'db-access/secret', 'db-access/secret-id', 'db-access/region',
  'example.com/anything',
] as const;

const extraAnnotations = fc.dictionary(
  fc.oneof({ arbitrary: fc.constantFrom(...ANNOTATION_KEYS), weight: 4 }, { arbitrary: hostileString, weight: 1 }),
  trickAnnotationValue,
  { maxKeys: 4 },
);

const labels = fc.dictionary(
  fc.constantFrom('app', 'app.kubernetes.io/name', 'db-access/app', 'pod-template-hash', 'organization'),
  fc.oneof(dnsLabel, trickAnnotationValue),
  { maxKeys: 3 },
);

const enabledValue = fc.oneof(
  { arbitrary: fc.constant('true'), weight: 8 },
  { arbitrary: fc.constantFrom('false', 'TRUE', 'yes', '1', ''), weight: 1 },
  { arbitrary: hostileString, weight: 1 },
);

const hostilePod: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    name: fc.option(fc.oneof(dnsLabel, trickAnnotationValue), { nil: undefined }),
    generateName: fc.option(
      fc.oneof(fc.constantFrom('web-7d9f8c6b5d-', 'victim-', '../victim-', 'other-org-prod-database-credentials-', 'x-'), hostileString),
      { nil: undefined },
    ),
    namespace: fc.option(fc.oneof(fc.constantFrom(...VICTIM_NAMESPACES), hostileString), { nil: undefined }),
    labels,
    enabled: enabledValue,
    annotations: extraAnnotations,
    ownerName: fc.option(fc.oneof(dnsLabel, trickAnnotationValue), { nil: undefined }),
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: fc.option(fc.array(container, { maxLength: 2 }), { nil: undefined }),
    serviceAccountName: fc.option(fc.oneof(dnsLabel, fc.constantFrom(...VICTIM_NAMESPACES)), { nil: undefined }),
  })
  .map(toPod);

function toPod(p: PodParts): Record<string, unknown> {
    const metadata: Record<string, unknown> = {
      labels: p.labels,
      annotations: { ...p.annotations, 'db-access/enabled': p.enabled },
    };
    if (p.name !== undefined) metadata.name = p.name;
    if (p.generateName !== undefined) metadata.generateName = p.generateName;
    if (p.namespace !== undefined) metadata.namespace = p.namespace;
    if (p.ownerName !== undefined) {
      metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: p.ownerName, uid: 'u', controller: true }];
    }
    const spec: Record<string, unknown> = { containers: p.containers };
    if (p.initContainers !== undefined) spec.initContainers = p.initContainers;
    if (p.serviceAccountName !== undefined) spec.serviceAccountName = p.serviceAccountName;
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}


interface PodParts {
  name: string | undefined;
  generateName: string | undefined;
  namespace: string | undefined;
  labels: Record<string, string>;
  enabled: string;
  annotations: Record<string, string>;
  ownerName: string | undefined;
  containers: unknown[];
  initContainers: unknown[] | undefined;
  serviceAccountName: string | undefined;
}

/** Well-formed containers and an opted-in pod, still carrying every organization trick: mostly reaches injection. */
const cleanContainers = fc.uniqueArray(fc.record({ name: dnsLabel, image: fc.constant('nginx:1.27') }), { minLength: 1, maxLength: 3, selector: (c) => c.name });
const trickyButValidPod: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    name: fc.option(dnsLabel, { nil: undefined }),
    generateName: fc.option(fc.constantFrom('web-7d9f8c6b5d-', 'victim-', 'other-org-prod-database-credentials-', 'victim-prod-database-credentials-'), { nil: undefined }),
    namespace: fc.option(fc.constantFrom(...VICTIM_NAMESPACES), { nil: undefined }),
    labels: fc.dictionary(fc.constantFrom('app', 'app.kubernetes.io/name', 'organization', 'tenant'), fc.oneof(dnsLabel, fc.constantFrom(...VICTIM_NAMESPACES, 'victim-prod-database-credentials')), { maxKeys: 2 }),
    enabled: fc.constant('true'),
    annotations: fc.dictionary(
      fc.constantFrom('db-access/organization', 'db-access/namespace', 'db-access/environment', 'db-access/secret', 'db-access/app'),
      fc.oneof(fc.constantFrom(...VICTIM_NAMESPACES, ...VICTIM_SECRET_IDS.slice(0, 3)), dnsLabel),
      { maxKeys: 3 },
    ),
    ownerName: fc.option(fc.oneof(dnsLabel, fc.constantFrom('victim-7d9f8c6b5d')), { nil: undefined }),
    containers: cleanContainers,
    initContainers: fc.constant(undefined),
    serviceAccountName: fc.option(fc.constantFrom('db-access', 'default', ...VICTIM_NAMESPACES), { nil: undefined }),
  })
  .map(toPod);

/** A Pod a tenant could submit: opted in (mostly), with the tricks a hostile namespace admin would try. */
export const pod: fc.Arbitrary<Record<string, unknown>> = fc.oneof(hostilePod, trickyButValidPod);

/** A plain, valid, opted-in pod: the control case every hostile variant is a mutation of. */
export function plainPod(app = 'web'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: `${app}-7d9f8c6b5d-`, labels: { app }, annotations: { 'db-access/enabled': 'true' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  };
}

let uidCounter = 0;
/** A fresh, unique uid (the apiserver sends a UUID; uniqueness is what the echo check needs). */
export function nextUid(): string {
  uidCounter += 1;
  return `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, '0')}`;
}

/** An admission.k8s.io/v1 AdmissionReview for a Pod CREATE in `namespace`. */
export function reviewFor(object: unknown, namespace: string, uid: string = nextUid(), extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      object,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...extra,
    },
  };
}

const tenantNamespace = fc.constantFrom(...TENANT_NAMESPACES);

/** The request fields an engine reads, with a generated pod: for engine-level properties (no HTTP). */
export const podRequest = fc.record({
  namespace: tenantNamespace,
  dryRun: fc.boolean(),
  object: pod,
});

/** Paths inside an AdmissionReview that a mutation can hit; numbers are array indexes. */
const REVIEW_PATHS: ReadonlyArray<readonly (string | number)[]> = [
  [], ['apiVersion'], ['kind'], ['request'], ['request', 'uid'], ['request', 'kind'], ['request', 'kind', 'kind'],
  ['request', 'kind', 'group'], ['request', 'resource'], ['request', 'resource', 'resource'], ['request', 'subResource'],
  ['request', 'namespace'], ['request', 'operation'], ['request', 'dryRun'], ['request', 'object'], ['request', 'userInfo'],
  ['request', 'object', 'kind'], ['request', 'object', 'metadata'], ['request', 'object', 'metadata', 'name'],
  ['request', 'object', 'metadata', 'generateName'], ['request', 'object', 'metadata', 'namespace'],
  ['request', 'object', 'metadata', 'labels'], ['request', 'object', 'metadata', 'labels', 'app'],
  ['request', 'object', 'metadata', 'annotations'], ['request', 'object', 'metadata', 'annotations', 'db-access/enabled'],
  ['request', 'object', 'metadata', 'annotations', 'db-access/app'], ['request', 'object', 'metadata', 'annotations', 'db-access/containers'],
  ['request', 'object', 'metadata', 'annotations', 'db-access/mount-path'], ['request', 'object', 'metadata', 'annotations', 'db-access/status'],
  ['request', 'object', 'metadata', 'ownerReferences'], ['request', 'object', 'spec'], ['request', 'object', 'spec', 'containers'],
  ['request', 'object', 'spec', 'containers', 0], ['request', 'object', 'spec', 'containers', 0, 'name'],
  ['request', 'object', 'spec', 'containers', 0, 'env'], ['request', 'object', 'spec', 'containers', 0, 'env', 0],
  ['request', 'object', 'spec', 'containers', 0, 'volumeMounts'], ['request', 'object', 'spec', 'initContainers'],
  ['request', 'object', 'spec', 'volumes'], ['request', 'object', 'spec', 'serviceAccountName'],
];

/** Sets (or, with `remove`, deletes) a path in a JSON-like tree, creating containers as needed. Returns the root. */
export function setPath(root: unknown, path: readonly (string | number)[], value: unknown, remove = false): unknown {
  if (path.length === 0) return remove ? undefined : value;
  let node = root as Record<string | number, unknown>;
  if (node === null || typeof node !== 'object') return root;
  for (const key of path.slice(0, -1)) {
    let next = node[key];
    if (next === null || typeof next !== 'object') {
      next = {};
      node[key] = next;
    }
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  if (remove) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return root;
}

const mutation = fc.record({
  path: fc.constantFrom(...REVIEW_PATHS),
  remove: fc.boolean(),
  value: wrongTypeValue,
});

/** A Pod review with 0–3 random mutations: wrong types and missing fields anywhere (even the whole review). */
export const mutatedReview: fc.Arbitrary<unknown> = fc
  .record({
    namespace: tenantNamespace,
    object: pod,
    dryRun: fc.boolean(),
    mutations: fc.array(mutation, { maxLength: 3 }),
  })
  .map(({ namespace, object, dryRun, mutations }) => {
    let review: unknown = reviewFor(object, namespace, nextUid(), { dryRun });
    for (const m of mutations) review = setPath(review, m.path, m.value, m.remove);
    return review;
  });

/** Kinds and operations the webhook must let through unchanged (or, for sub-resources, skip). */
export const nonPodReview: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    namespace: tenantNamespace,
    kind: fc.constantFrom('Deployment', 'Secret', 'ConfigMap', 'SecretProviderClass', 'Namespace', 'Pod'),
    operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'PATCH', 'create'),
    subResource: fc.option(fc.constantFrom('status', 'exec', 'ephemeralcontainers', 'binding', 'eviction'), { nil: undefined }),
  })
  .map(({ namespace, kind, operation, subResource }) => {
    const object = { ...plainPod(), kind };
    const extra: Record<string, unknown> = { operation, kind: { group: kind === 'Deployment' ? 'apps' : '', version: 'v1', kind } };
    if (kind !== 'Pod') extra.resource = { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` };
    if (subResource !== undefined) extra.subResource = subResource;
    return reviewFor(object, namespace, nextUid(), extra);
  });

// ---------------------------------------------------------------------------------------------------------------
// Raw bodies (what goes on the wire)

export interface FuzzCase {
  /** Which generator produced it: shows up in failure messages and coverage statistics. */
  readonly label: string;
  /** The raw request body. */
  readonly body: string;
  readonly contentType: string;
}

/**
 * `__proto__`, `constructor` and `prototype` keys as raw JSON text: a JS object literal would eat `__proto__`, and
 * JSON.parse keeps it as an own key, which is exactly what a parser or a careless Object.assign must survive.
 */
export const PROTO_INJECTIONS: ReadonlyArray<readonly [anchor: string, insert: string]> = [
  ['{', '"__proto__":{"polluted":"yes"},'],
  ['"request":{', '"__proto__":{"namespace":"victim","uid":"proto-uid"},'],
  ['"request":{', '"constructor":{"prototype":{"namespace":"victim"}},'],
  ['"metadata":{', '"__proto__":{"annotations":{"db-access/enabled":"true","db-access/app":"../victim"}},'],
  ['"annotations":{', '"__proto__":{"db-access/enabled":"true","db-access/app":"victim"},'],
  ['"annotations":{', '"constructor":{"prototype":{"db-access/app":"victim"}},'],
  ['"annotations":{', '"prototype":"x","constructor":"y","toString":"z","hasOwnProperty":"w",'],
  ['"labels":{', '"__proto__":{"app":"victim"},'],
  ['"spec":{', '"__proto__":{"containers":[{"name":"evil","image":"x"}]},'],
  ['"containers":[{', '"__proto__":{"env":[{"name":"DB_PASSWORD","value":"x"}]},'],
];

export function protoBody(review: Record<string, unknown>, which: number): string {
  const text = JSON.stringify(review);
  const [anchor, insert] = PROTO_INJECTIONS[which % PROTO_INJECTIONS.length] as readonly [string, string];
  const at = text.indexOf(anchor);
  if (at < 0) return `{${insert}"x":1}`;
  const rest = text.slice(at + anchor.length);
  // Into an empty object or array, the inserted member takes no trailing comma.
  const member = rest.startsWith('}') || rest.startsWith(']') ? insert.replace(/,$/, '') : insert;
  return text.slice(0, at + anchor.length) + member + rest;
}

const JSON_CT = 'application/json';

const invalidJson: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc.string({ maxLength: 64 }).map((body) => ({ label: 'invalid-json:string', body, contentType: JSON_CT })),
  fc.string({ unit: 'binary', maxLength: 64 }).map((body) => ({ label: 'invalid-json:binary', body, contentType: JSON_CT })),
  fc.nat().map((n) => {
    const text = JSON.stringify(reviewFor(plainPod(), 'tenant-a'));
    return { label: 'invalid-json:truncated', body: text.slice(0, n % text.length), contentType: JSON_CT };
  }),
  fc
    .constantFrom(
      '', ' ', 'null', 'true', '0', '-1', '"review"', '[]', '[{}]', '{}', '{"request":null}', '{"request":[]}',
      '{"request":"x"}', '{"request":{}}', 'NaN', 'Infinity', "{'request':{}}", '{"request":{}} trailing',
      '{"request":{},}', '/* c */ {}', '\uFEFF{}', '{"a":1e999999}', '{"a":"\\ud800"}', '{"a":"\\u0000"}',
      '{"request":{"uid":"a","uid":"b"}}', '{"request":{"uid":' + '9'.repeat(400) + '}}', '\u0000',
    )
    .map((body) => ({ label: 'invalid-json:fixed', body, contentType: JSON_CT })),
);

const wrongContentType: fc.Arbitrary<FuzzCase> = fc
  .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/yaml', 'multipart/form-data; boundary=x', 'application/octet-stream')
  .map((contentType) => ({ label: 'content-type', body: JSON.stringify(reviewFor(plainPod(), 'tenant-a')), contentType }));

const jsonVariantCt = fc.constantFrom(JSON_CT, 'application/json; charset=utf-8', 'application/json;charset=UTF-8');

// JSON.stringify(undefined) is undefined: a mutation that removed the whole review sends an empty body.
const toCase = (label: string) => (review: unknown) => ({ label, body: JSON.stringify(review) ?? '', contentType: JSON_CT });

/** Strings (kept under 64 KiB) and arrays (under 2,000 items) big enough to matter, small enough for 10,000 runs. */
const largeish: fc.Arbitrary<FuzzCase> = fc
  .record({
    size: fc.integer({ min: 1_000, max: 64 * 1024 }),
    where: fc.constantFrom('annotation-app', 'annotation-other', 'name', 'generateName', 'namespace', 'env', 'containers', 'uid'),
  })
  .map(({ size, where }) => {
    const p = plainPod() as { metadata: Record<string, unknown> & { annotations: Record<string, string> }; spec: { containers: Array<Record<string, unknown>> } };
    let namespace = 'tenant-a';
    let uid = nextUid();
    const big = 'a'.repeat(size);
    if (where === 'annotation-app') p.metadata.annotations['db-access/app'] = big;
    if (where === 'annotation-other') p.metadata.annotations['example.com/blob'] = big;
    if (where === 'name') p.metadata.name = big;
    if (where === 'generateName') p.metadata.generateName = big;
    if (where === 'namespace') namespace = big;
    if (where === 'uid') uid = big;
    if (where === 'env') p.spec.containers[0]!.env = Array.from({ length: Math.min(2_000, size >> 4) }, (_, i) => ({ name: `V${i}`, value: 'x' }));
    if (where === 'containers') p.spec.containers = Array.from({ length: Math.min(500, size >> 6) }, (_, i) => ({ name: `c${i}`, image: 'x' }));
    return { label: `large:${where}`, body: JSON.stringify(reviewFor(p, namespace, uid)), contentType: JSON_CT };
  });

/** Nesting up to 5,000 levels in the places a recursive walker might visit. */
const deepNesting: fc.Arbitrary<FuzzCase> = fc
  .record({ depth: fc.integer({ min: 100, max: 5_000 }), style: fc.constantFrom<'array' | 'object'>('array', 'object'), where: fc.constantFrom('resources', 'object', 'annotations', 'request', 'top') })
  .map(({ depth, style, where }) => {
    const marker = '"__DEEP__"';
    const p = plainPod() as { metadata: Record<string, unknown>; spec: { containers: Array<Record<string, unknown>> } };
    const review = reviewFor(p, 'tenant-a') as Record<string, unknown> & { request: Record<string, unknown> };
    if (where === 'resources') p.spec.containers[0]!.resources = '__DEEP__';
    if (where === 'object') review.request.object = '__DEEP__';
    if (where === 'annotations') p.metadata.annotations = '__DEEP__';
    if (where === 'request') review.request.extra = '__DEEP__';
    if (where === 'top') review.extra = '__DEEP__';
    return { label: `deep:${where}`, body: JSON.stringify(review).replace(marker, deepJson(depth, style)), contentType: JSON_CT };
  });

/** Control characters and unicode in the fields that end up in names, logs and warnings. */
const unicodeNames: fc.Arbitrary<FuzzCase> = fc
  .record({
    text: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.constantFrom('\u0000', '\u001b[31mred', '\r\nSet-Cookie: x', '\u202eevil', 'é', '😀', '\uD800')),
    where: fc.constantFrom('name', 'generateName', 'app', 'annotation', 'label', 'container', 'namespace', 'uid'),
  })
  .map(({ text, where }) => {
    const p = plainPod() as { metadata: Record<string, unknown> & { annotations: Record<string, string>; labels: Record<string, string> }; spec: { containers: Array<Record<string, unknown>> } };
    let namespace = 'tenant-a';
    let uid = nextUid();
    if (where === 'name') p.metadata.name = text;
    if (where === 'generateName') p.metadata.generateName = text;
    if (where === 'app') p.metadata.annotations['db-access/app'] = text;
    if (where === 'annotation') p.metadata.annotations[text] = text;
    if (where === 'label') p.metadata.labels.app = text;
    if (where === 'container') p.spec.containers[0]!.name = text;
    if (where === 'namespace') namespace = text;
    if (where === 'uid') uid = text;
    return { label: `unicode:${where}`, body: JSON.stringify(reviewFor(p, namespace, uid)), contentType: JSON_CT };
  });

/** Valid-looking reviews with __proto__/constructor/prototype keys injected as text at several depths. */
const protoKeys: fc.Arbitrary<FuzzCase> = fc
  .tuple(pod, tenantNamespace, fc.nat({ max: PROTO_INJECTIONS.length - 1 }))
  .map(([object, namespace, which]) => ({ label: `proto:${which}`, body: protoBody(reviewFor(object, namespace), which), contentType: JSON_CT }));

/**
 * Everything above, weighted so most of the 10,000 cases take the cheap paths (parsing, validation, engine) and
 * a few hundred reach the store and the large/deep ones stay a small share of the run time.
 */
export const hostileBody: fc.Arbitrary<FuzzCase> = fc.oneof(
  { arbitrary: invalidJson, weight: 10 },
  { arbitrary: wrongContentType, weight: 1 },
  { arbitrary: fc.tuple(mutatedReview, jsonVariantCt).map(([r, ct]) => ({ ...toCase('mutated')(r), contentType: ct })), weight: 30 },
  { arbitrary: pod.chain((p) => tenantNamespace.map((ns) => reviewFor(p, ns))).map(toCase('pod')), weight: 25 },
  { arbitrary: nonPodReview.map(toCase('non-pod')), weight: 6 },
  { arbitrary: protoKeys, weight: 8 },
  { arbitrary: unicodeNames, weight: 8 },
  { arbitrary: largeish, weight: 2 },
  { arbitrary: deepNesting, weight: 2 },
);

/**
 * The very large bodies, as a handful of dedicated cases instead of thousands of runs: around and above the
 * apiserver's 3 MiB request limit, 100,000-deep nesting, tens of thousands of containers or env entries.
 */
export function largeCases(): FuzzCase[] {
  const MiB = 1024 * 1024;
  const withAnnotation = (size: number) => {
    const p = plainPod() as { metadata: { annotations: Record<string, string> } };
    p.metadata.annotations['example.com/blob'] = 'b'.repeat(size);
    return JSON.stringify(reviewFor(p, 'tenant-a'));
  };
  const envPod = plainPod() as { spec: { containers: Array<Record<string, unknown>> } };
  envPod.spec.containers[0]!.env = Array.from({ length: 30_000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
  const manyContainers = plainPod() as { spec: { containers: Array<Record<string, unknown>> } };
  manyContainers.spec.containers = Array.from({ length: 20_000 }, (_, i) => ({ name: `c${i}`, image: 'x' }));
  const deepReview = JSON.stringify(reviewFor(plainPod(), 'tenant-a')).replace('"nginx:1.27"', deepJson(100_000));
  return [
    { label: 'huge:2.5MiB-annotation', body: withAnnotation(2.5 * MiB), contentType: JSON_CT },
    { label: 'huge:over-limit-4MiB', body: withAnnotation(4 * MiB), contentType: JSON_CT },
    { label: 'huge:over-limit-16MiB', body: withAnnotation(16 * MiB), contentType: JSON_CT },
    { label: 'huge:30k-env', body: JSON.stringify(reviewFor(envPod, 'tenant-a')), contentType: JSON_CT },
    { label: 'huge:20k-containers', body: JSON.stringify(reviewFor(manyContainers, 'tenant-a')), contentType: JSON_CT },
    { label: 'huge:deep-100k', body: deepReview, contentType: JSON_CT },
    { label: 'huge:deep-100k-top', body: deepJson(100_000, 'object'), contentType: JSON_CT },
    { label: 'huge:long-string-uid', body: JSON.stringify(reviewFor(plainPod(), 'tenant-a', 'u'.repeat(MiB))), contentType: JSON_CT },
  ];
}

/** request.uid when the body is JSON with a string uid: what the answer must echo. Undefined otherwise. */
export function expectedUid(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { request?: { uid?: unknown } } | null;
    const uid = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed.request?.uid : undefined;
    return typeof uid === 'string' ? uid : undefined;
  } catch {
    return undefined;
  }
}
