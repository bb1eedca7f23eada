// `db-access-webhook inject` driven as a user drives it: argv, files and stdin in; stdout, stderr and exit code out.
// Run in-process through run() (the bin's only other job is wiring process streams, which process.test.ts spawns).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch as applyTextPatch } from 'diff';
import t from 'tap';
import { parseAllDocuments, parseDocument } from 'yaml';
import { runInProcess as runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'db-access-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

type Obj = Record<string, any>;

function docs(text: string): Obj[] {
  const parsed = parseAllDocuments(text);
  if (!Array.isArray(parsed)) return [];
  for (const d of parsed) if (d.errors.length > 0) throw d.errors[0];
  return parsed.map((d) => d.toJS() as Obj);
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels:
        app: api
      annotations:
        db-access/enabled: "true"
    spec:
      serviceAccountName: shop
      containers:
        - name: api
          image: nginx
`;

const CONFIGMAP = `# settings, kept as written
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  retries: "3"
  enabled: "true"
  banner: |
    multi
    line
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  selector:
    app: api
  ports:
    - port: 80
      targetPort: 8080
`;

const NOT_OPTED_IN = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: cache
  namespace: shop
spec:
  selector:
    matchLabels:
      app: cache
  template:
    metadata:
      labels:
        app: cache
      annotations:
        db-access/enabled: "false"
    spec:
      containers:
        - name: redis
          image: redis
`;

// A custom resource that reuses a built-in kind name: not ours to touch.
const CUSTOM_DEPLOYMENT = `apiVersion: example.com/v1
kind: Deployment
metadata:
  name: custom
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        db-access/enabled: "true"
    spec:
      containers:
        - name: c
          image: busybox
`;

const deploymentPath = file('deploy.yaml', DEPLOYMENT);

t.test('YAML: the injected Deployment, then its SecretProviderClass', async (t) => {
  const r = await runCli(['inject', '-f', deploymentPath]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const [deploy, spc, ...rest] = docs(r.stdout);
  t.same(rest, []);
  const pod = deploy!.spec.template;
  t.equal(pod.spec.volumes[0].csi.volumeAttributes.secretProviderClass, 'api-database-secrets');
  t.same(pod.spec.containers[0].volumeMounts, [{ name: 'database-secrets', mountPath: '/mnt/secrets-store', readOnly: true }]);
  t.same(
    pod.spec.containers[0].env.map((e: Obj) => e.name),
    ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGSSLMODE', 'DATABASE_URL'],
  );
  t.ok(pod.metadata.annotations['db-access/status'], 'the status annotation is written into the template');
  t.same(pod.metadata.labels, { app: 'api' }, 'the labels the controller adds (pod-template-hash) do not leak into the template');
  t.notOk('generateName' in pod.metadata || 'ownerReferences' in pod.metadata || 'namespace' in pod.metadata);
  t.same(deploy!.metadata, { name: 'api', namespace: 'shop' });
  t.equal(spc!.kind, 'SecretProviderClass');
  t.same(spc!.metadata, {
    name: 'api-database-secrets',
    namespace: 'shop',
    labels: { 'app.kubernetes.io/managed-by': 'db-access-webhook', 'db-access/app': 'api' },
  });
  t.match(spc!.spec.parameters.objects, /objectName: shop-dev-database-credentials/);
  t.equal(spc!.spec.parameters.region, 'us-east-1');
  t.notOk('usePodIdentity' in spc!.spec.parameters);
});

t.test('-o json is one v1 List with the same content as the YAML output', async (t) => {
  const yaml = await runCli(['inject', '-f', deploymentPath]);
  const json = await runCli(['inject', '-f', deploymentPath, '-o', 'json']);
  t.equal(json.code, 0);
  const list = JSON.parse(json.stdout) as Obj;
  t.equal(list.apiVersion, 'v1');
  t.equal(list.kind, 'List');
  t.same(list.items, docs(yaml.stdout));
  t.equal(json.stdout, (await runCli(['inject', '-f', deploymentPath, '--output=json'])).stdout, 'stable output');
});

t.test('--diff shows only what injection adds, per document, and applies cleanly', async (t) => {
  const r = await runCli(['inject', '-f', deploymentPath, '--diff']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const patches = r.stdout.split(/^(?=--- )/m);
  t.equal(patches.length, 2, 'one diff for the Deployment, one for the new SecretProviderClass');
  const [deploy, spc] = patches as [string, string];
  t.match(deploy, /^--- .*deploy\.yaml \(document 1, Deployment\/api\)\n\+\+\+ .*deploy\.yaml \(document 1, Deployment\/api\)\n@@ /);
  const body = deploy.split('\n').filter((l) => !l.startsWith('---') && !l.startsWith('+++'));
  t.same(body.filter((l) => l.startsWith('-')), [], 'nothing is removed');
  const added = body.filter((l) => l.startsWith('+'));
  t.ok(added.some((l) => /- name: DB_PASSWORD$/.test(l)));
  t.ok(added.some((l) => /db-access\/status: /.test(l)));
  t.notOk(added.some((l) => /image: nginx|name: api$|serviceAccountName/.test(l)), 'unchanged lines are context, not additions');
  // The diff turns the input into exactly the injected manifest.
  const before = parseDocument(DEPLOYMENT).toString({ lineWidth: 0, flowCollectionPadding: false });
  const after = applyTextPatch(before, deploy);
  t.type(after, 'string');
  const full = await runCli(['inject', '-f', deploymentPath]);
  t.same(docs(after as string), docs(full.stdout).slice(0, 1));
  t.match(spc, /^--- \/dev\/null/m);
  t.match(spc, /^\+kind: SecretProviderClass$/m);

  const none = await runCli(['inject', '-f', file('plain.yaml', NOT_OPTED_IN), '--diff']);
  t.equal(none.code, 0);
  t.equal(none.stdout, '', 'nothing to inject: an empty diff');
});

t.test('multi-document input: order kept, unrelated and not-opted-in documents unchanged', async (t) => {
  const input = [CONFIGMAP, DEPLOYMENT, SERVICE, '', NOT_OPTED_IN, CUSTOM_DEPLOYMENT, '42\n'].join('---\n');
  const path = file('multi.yaml', input);
  const r = await runCli(['inject', '-f', path]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const out = docs(r.stdout);
  t.notMatch(r.stdout, /^---\n---$/m, 'no empty document in the output');
  t.same(
    out.map((o) => (typeof o === 'object' ? `${o.kind}/${o.metadata.name}` : o)),
    ['ConfigMap/settings', 'Deployment/api', 'Service/api', 'Deployment/cache', 'Deployment/custom', 42, 'SecretProviderClass/api-database-secrets'],
    'input order, the empty document dropped, the SecretProviderClass last',
  );
  const inputs = docs(input).filter((d) => d !== null);
  t.same(out[0], inputs[0], 'ConfigMap unchanged');
  t.same(out[2], inputs[2], 'Service unchanged');
  t.same(out[3], inputs[3], 'a pod template with db-access/enabled: "false" is unchanged');
  t.same(out[4], inputs[4], 'a custom resource named Deployment is unchanged');
  t.ok(r.stdout.startsWith(`---\n${CONFIGMAP}---\n`), 'an untouched document is written as it was read, comments included');
  t.ok(r.stdout.includes(`---\n${SERVICE}---\n`));
});

t.test('nothing opted in: the input comes back, no SecretProviderClass', async (t) => {
  const r = await runCli(['inject', '-f', file('cache.yaml', NOT_OPTED_IN)]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.equal(r.stdout, `---\n${NOT_OPTED_IN}`);
});

t.test('a denial names the document and the fix, exits 2 and writes no manifests', async (t) => {
  const bad = DEPLOYMENT.replace('db-access/enabled: "true"', 'db-access/enabled: "true"\n        db-access/containers: api,nope');
  const path = file('deny.yaml', `${CONFIGMAP}---\n${bad}`);
  const r = await runCli(['inject', '-f', path]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '', 'a pipeline never applies half an answer');
  t.match(r.stderr, new RegExp(`^error: Deployment/api \\(file ${path.replaceAll('.', '\\.')}, document 2\\): .*nope`));
  t.equal(r.stderr.trim().split('\n').length, 1);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');

  const yes = await runCli(['inject', '-f', '-'], DEPLOYMENT.replace('"true"', 'yes'));
  t.equal(yes.code, 2);
  t.match(yes.stderr, /^error: Deployment\/api \(file <stdin>, document 1\): .*"true"/, 'says which values are accepted');
});

t.test('every denial is reported, not just the first', async (t) => {
  const bad = DEPLOYMENT.replace('"true"', '"maybe"');
  const r = await runCli(['inject', '-f', '-'], `${bad}---\n${bad.replace('name: api\n  namespace', 'name: api2\n  namespace')}`);
  t.equal(r.code, 2);
  t.match(r.stderr, /Deployment\/api \(file <stdin>, document 1\)/);
  t.match(r.stderr, /Deployment\/api2 \(file <stdin>, document 2\)/);
});

t.test('bad YAML: file, line and column; exit 1', async (t) => {
  // Line 16 of the file: the ConfigMap is 12 lines, then `---`, apiVersion, kind, then the bad line.
  const path = file('bad.yaml', `${CONFIGMAP}---\napiVersion: v1\nkind: Pod\nmetadata: name: x\n`);
  const r = await runCli(['inject', '-f', path]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, new RegExp(`^error: ${path.replaceAll('.', '\\.')}:16:11: invalid YAML: Nested mappings are not allowed in compact mappings\\n$`));
  t.notMatch(r.stderr, /\n\s+at /);

  // "Billion laughs": aliases that expand exponentially are refused, not expanded.
  let bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n';
  for (const [i, name] of [...'bcdefghi'].entries()) bomb += `${name}: &${name} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]\n`;
  const b = await runCli(['inject', '-f', '-'], bomb);
  t.equal(b.code, 1);
  t.match(b.stderr, /^error: <stdin>: document 1: Excessive alias count/);

  const dup = await runCli(['inject', '-f', '-'], 'a: 1\na: 2\n');
  t.equal(dup.code, 1);
  t.match(dup.stderr, /^error: <stdin>:2:1: invalid YAML: /);
});

t.test('unknown flags, bad flag values, missing files and commands: exit 1 with a clear message', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['inject', '-f', deploymentPath, '--bogus'], /^error: unknown flag '--bogus' \(see --help\)\n$/],
    [['inject', '-f', join(dir, 'nope.yaml')], /^error: cannot read .*nope\.yaml: no such file\n$/],
    [['inject', '-f', dir], /^error: cannot read .*: is a directory/],
    [['inject'], /^error: no input: pass -f FILE/],
    [['inject', '-f'], /^error: Option '-f, --filename <value>' argument missing/],
    [['inject', '-f', deploymentPath, '-o', 'xml'], /^error: --output 'xml' is not supported: use yaml or json\n$/],
    [['inject', '-f', deploymentPath, '--region', 'nowhere'], /^error: --region must be an AWS region/],
    [['inject', '-f', deploymentPath, '--environment', 'Prod'], /^error: --environment must be a lowercase DNS label/],
    [['inject', '-f', deploymentPath, '--namespace', 'Bad_NS'], /^error: --namespace 'Bad_NS' is not a valid namespace name/],
    [['inject', '-f', deploymentPath, '--excluded-namespaces', 'a,B'], /^error: --excluded-namespaces must be/],
    [['inject', '-f', '-', '-f', '-'], /^error: stdin \(-f -\) can be read only once/],
    [['inject', 'deploy.yaml'], /^error: unexpected argument 'deploy\.yaml': input files go after -f/],
    [['apply', '-f', deploymentPath], /^error: unknown command 'apply'/],
    [[], /^error: missing command/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  for (const [i, [args, stderr]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, stderr, args.join(' '));
    t.equal(r.stdout, '', args.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
  }
});

t.test('stdin with -f -, alone and between files, in command-line order', async (t) => {
  const fromFile = await runCli(['inject', '-f', deploymentPath]);
  const fromStdin = await runCli(['inject', '-f', '-'], DEPLOYMENT);
  t.equal(fromStdin.code, 0);
  t.equal(fromStdin.stdout, fromFile.stdout);

  const mixed = await runCli(['inject', '-f', file('cm.yaml', CONFIGMAP), '-f', '-', '-f', file('svc.yaml', SERVICE)], DEPLOYMENT);
  t.equal(mixed.code, 0);
  t.same(
    docs(mixed.stdout).map((o) => o.kind),
    ['ConfigMap', 'Deployment', 'Service', 'SecretProviderClass'],
  );
});

t.test('--help and --version', async (t) => {
  for (const args of [['--help'], ['-h'], ['inject', '--help']]) {
    const r = await runCli(args);
    t.equal(r.code, 0, args.join(' '));
    t.match(r.stdout, /^Usage: db-access-webhook inject -f FILE/);
    t.match(r.stdout, /Example:\n\s+db-access-webhook inject -f examples\/deployment\.yaml/);
    t.match(r.stdout, /--excluded-namespaces/);
    t.equal(r.stderr, '');
  }
  const v = await runCli(['--version']);
  t.equal(v.code, 0);
  t.equal(v.stdout, `${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Obj).version}\n`);
});

t.test('namespace: the document wins, --namespace fills in, neither is an error only for opted-in pods', async (t) => {
  const noNs = DEPLOYMENT.replace('  namespace: shop\n', '');
  const missing = await runCli(['inject', '-f', '-'], noNs);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^error: Deployment\/api \(file <stdin>, document 1\): no namespace: set metadata\.namespace or pass --namespace/);
  t.equal(missing.stdout, '');

  const given = await runCli(['inject', '-f', '-', '--namespace', 'acme'], noNs);
  t.equal(given.code, 0);
  const [deploy, spc] = docs(given.stdout);
  t.notOk('namespace' in deploy!.metadata, 'the manifest does not gain a namespace');
  t.equal(spc!.metadata.namespace, 'acme');
  t.match(spc!.spec.parameters.objects, /objectName: acme-dev-database-credentials/);

  const docWins = await runCli(['inject', '-f', deploymentPath, '--namespace', 'acme']);
  t.equal(docs(docWins.stdout)[1]!.metadata.namespace, 'shop');

  const plain = await runCli(['inject', '-f', '-'], NOT_OPTED_IN.replace('  namespace: shop\n', ''));
  t.equal(plain.code, 0, 'a document without the annotation needs no namespace');
});

t.test('policy flags reach the engine', async (t) => {
  const r = await runCli([
    'inject', '-f', deploymentPath,
    '--environment', 'prod', '--region', 'eu-west-1', '--use-pod-identity', '--url-from-secret',
  ]);
  t.equal(r.code, 0);
  const [deploy, spc] = docs(r.stdout);
  t.match(spc!.spec.parameters.objects, /objectName: shop-prod-database-credentials/);
  t.match(spc!.spec.parameters.objects, /objectAlias: DB_URL|path: url/);
  t.equal(spc!.spec.parameters.region, 'eu-west-1');
  t.equal(spc!.spec.parameters.usePodIdentity, 'true');
  const url = (deploy!.spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'DATABASE_URL');
  t.same(url!.valueFrom, { secretKeyRef: { name: 'database-credentials-api', key: 'url' } });

  for (const args of [['--excluded-namespaces', 'other,shop'], ['--webhook-namespace', 'shop']]) {
    const skipped = await runCli(['inject', '-f', deploymentPath, ...args]);
    t.equal(skipped.code, 0, args.join(' '));
    t.equal(skipped.stdout, `---\n${DEPLOYMENT}`, `${args.join(' ')}: excluded namespace, unchanged`);
    t.match(skipped.stderr, /^warning: Deployment\/api \(file .*deploy\.yaml, document 1\): .*excluded/);
  }
});

t.test('engine warnings go to stderr with a warning: prefix, the output is still written', async (t) => {
  const r = await runCli(['inject', '-f', '-'], DEPLOYMENT.replace('      serviceAccountName: shop\n', ''));
  t.equal(r.code, 0);
  t.match(r.stderr, /^warning: Deployment\/api \(file <stdin>, document 1\): service account/);
  t.equal(docs(r.stdout).length, 2);
});

t.test('JSON input, kubectl List input and a bare Pod', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'one-off', namespace: 'shop', annotations: { 'db-access/enabled': 'true' } },
    spec: { serviceAccountName: 'shop', containers: [{ name: 'psql', image: 'postgres:17' }] },
  };
  const r = await runCli(['inject', '-f', file('pod.json', JSON.stringify(pod, null, 2))]);
  t.equal(r.code, 0);
  t.match(r.stdout, /^---\napiVersion: v1\nkind: Pod\n/, 'JSON comes out as block YAML');
  const [out, spc] = docs(r.stdout);
  t.equal(out!.spec.volumes[0].name, 'database-secrets');
  t.equal(spc!.metadata.name, 'one-off-database-secrets');

  const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, pod] };
  const l = await runCli(['inject', '-f', '-', '-o', 'json'], JSON.stringify(list));
  t.equal(l.code, 0);
  const result = JSON.parse(l.stdout) as Obj;
  t.equal(result.items.length, 2, 'the List document and the SecretProviderClass');
  t.same(result.items[0].items[0], list.items[0]);
  t.equal(result.items[0].items[1].spec.containers[0].env.length, 12);
  t.equal(result.items[1].kind, 'SecretProviderClass');

  const denied = await runCli(['inject', '-f', '-'], JSON.stringify({ ...list, items: [{ ...pod, metadata: { ...pod.metadata, annotations: { 'db-access/enabled': 'on' } } }] }));
  t.equal(denied.code, 2);
  t.match(denied.stderr, /^error: Pod\/one-off \(file <stdin>, document 1, item 1\): /);
});

t.test('comments and anchors', async (t) => {
  const withComments = DEPLOYMENT.replace('image: nginx', 'image: nginx # pinned by renovate');
  const r = await runCli(['inject', '-f', '-'], `# top comment\n${withComments}`);
  t.match(r.stdout, /^---\n# top comment\n/);
  t.match(r.stdout, /image: nginx # pinned by renovate\n/);

  // An anchor shared by two containers: injecting into one must not edit the other through the alias.
  const anchored = `apiVersion: v1
kind: Pod
metadata:
  name: two
  namespace: shop
  annotations:
    db-access/enabled: "true"
    db-access/containers: a
spec:
  serviceAccountName: shop
  containers:
    - &base
      name: a
      image: busybox
    - <<: *base
      name: b
`;
  const a = await runCli(['inject', '-f', '-'], anchored);
  t.equal(a.code, 0, a.stderr);
  const [pod] = docs(a.stdout);
  t.equal(pod!.spec.containers[0].env.length, 12);
  t.same(pod!.spec.containers[1], { name: 'b', image: 'busybox' });
});

t.test('kubectl-style sequences (level with their key) keep their layout', async (t) => {
  const service = `apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  ports:
  - port: 80
    targetPort: 8080
`;
  const deployment = DEPLOYMENT.replace('        - name: api\n          image: nginx\n', '      - name: api\n        image: nginx\n');
  const r = await runCli(['inject', '-f', '-'], `${service}---\n${deployment}`);
  t.equal(r.code, 0, r.stderr);
  t.ok(r.stdout.startsWith(`---\n${service}---\n`), 'untouched document byte for byte');
  t.match(r.stdout, /\n      containers:\n      - name: api\n        image: nginx\n        volumeMounts:\n        - name: database-secrets\n/);
  t.match(r.stdout, /\n      volumes:\n      - name: database-secrets\n/);
});
