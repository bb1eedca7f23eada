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

/** A pod whose second container is the first one through a YAML anchor; `extra` lines go into the first. */
function anchoredPod(extra = ''): string {
  return `apiVersion: v1
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
${extra}    - <<: *base
      name: b
`;
}

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
  const input = [CONFIGMAP, DEPLOYMENT, SERVICE, '', NOT_OPTED_IN, CUSTOM_DEPLOYMENT].join('---\n');
  const path = file('multi.yaml', input);
  const r = await runCli(['inject', '-f', path]);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const out = docs(r.stdout);
  t.notMatch(r.stdout, /^---\n---$/m, 'no empty document in the output');
  t.same(
    out.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/settings', 'Deployment/api', 'Service/api', 'Deployment/cache', 'Deployment/custom', 'SecretProviderClass/api-database-secrets'],
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
  t.match(yes.stderr, /got boolean true; annotation values are strings: write db-access\/enabled: "true" \(or "false"\), quoted/, 'and that YAML read yes as a boolean');
  const bare = await runCli(['inject', '-f', '-'], DEPLOYMENT.replace('"true"', 'true'));
  t.equal(bare.code, 2, 'an unquoted true is the same mistake');
  t.match(bare.stderr, /write db-access\/enabled: "true" \(or "false"\), quoted/);
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
    [['inject', '-f'], /^error: -f needs a file name \(see --help\)\n$/],
    [['inject', '-f', '--diff'], /^error: -f needs a file name, got '--diff'; for a file name starting with '-' use --filename=\.\.\.\n$/],
    [['inject', '-f', deploymentPath, '-o', '--diff'], /^error: -o needs yaml or json, got '--diff' \(see --help\)\n$/],
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
  t.same(result.items.map((o: Obj) => o.kind), ['ConfigMap', 'Pod', 'SecretProviderClass'], 'the List\'s items, then the SecretProviderClass');
  t.same(result.items[0], list.items[0]);
  t.equal(result.items[1].spec.containers[0].env.length, 12);

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
  const a = await runCli(['inject', '-f', '-'], anchoredPod());
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

// kubectl reads YAML 1.1, where these are booleans, numbers or null; written plain they would not stay strings.
const YAML_1_1_LOOKALIKES = ['on', 'off', 'On', 'OFF', 'no', 'No', 'yes', 'Y', 'y', 'n', '~', '1_000', '1:20', '0o17', '0755', '2001-12-14'];

/** Every document of `text` as a YAML 1.1 reader (kubectl, Helm) sees it. */
function docs11(text: string): Obj[] {
  const parsed = parseAllDocuments(text, { version: '1.1' });
  if (!Array.isArray(parsed)) return [];
  for (const d of parsed) if (d.errors.length > 0) throw d.errors[0];
  return parsed.map((d) => d.toJS() as Obj);
}

t.test('strings YAML 1.1 reads as something else stay quoted: JSON input, anchors, moved env entries', async (t) => {
  const data = Object.fromEntries(YAML_1_1_LOOKALIKES.map((v, i) => [`K${i}`, v]));
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'shop' }, data };
  const json = await runCli(['inject', '-f', '-'], JSON.stringify(configMap));
  t.equal(json.code, 0, json.stderr);
  t.match(json.stdout, /\n {2}K0: "on"\n/);
  t.same(docs11(json.stdout)[0]!.data, data, 'a YAML 1.1 reader gets the same strings');
  t.same(docs(json.stdout)[0]!.data, data, 'and so does a YAML 1.2 reader');

  const env = YAML_1_1_LOOKALIKES.map((value, i) => ({ name: `V${i}`, value }));
  // The engine puts its env first, so the user's entries are re-created further down the list.
  const plain = DEPLOYMENT.replace('          image: nginx\n', `          image: nginx\n          env:\n${env.map((e) => `            - name: ${e.name}\n              value: ${JSON.stringify(e.value)}\n`).join('')}`);
  // Anchored documents are re-created from their values (so an edit never leaks through an alias).
  const anchored = anchoredPod(`      env:\n${env.map((e) => `        - name: ${e.name}\n          value: ${JSON.stringify(e.value)}\n`).join('')}`);
  for (const [name, input, containers] of [['block YAML', plain, (o: Obj) => o.spec.template.spec.containers], ['anchors', anchored, (o: Obj) => o.spec.containers]] as const) {
    const r = await runCli(['inject', '-f', '-'], input);
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    for (const out of [docs11(r.stdout)[0]!, docs(r.stdout)[0]!]) {
      for (const c of containers(out) as Obj[]) {
        t.same((c.env as Obj[]).filter((e) => e.name.startsWith('V')), env, `${name}: container ${c.name} keeps its strings`);
      }
    }
    const again = await runCli(['inject', '-f', '-'], r.stdout);
    t.equal(again.stdout, r.stdout, `${name}: the output is a fixed point`);
  }
});

t.test('a %YAML 1.1 directive is dropped from the output; the user\'s own scalars are written as they were', async (t) => {
  const input = `%YAML 1.1\n---\n${CONFIGMAP}  quoted: "on"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: shop\nimmutable: on\nstringData:\n  mode: "0755"\n  octal: 0755\n---\n${DEPLOYMENT}`;
  const r = await runCli(['inject', '-f', '-'], input);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /^%/m, 'no directive in the middle of the stream');
  const parsed = parseAllDocuments(r.stdout);
  t.ok(Array.isArray(parsed) && parsed.every((d) => d.errors.length === 0), 'parses back');
  t.match(r.stdout, /\nimmutable: on\n/);
  t.match(r.stdout, /\n {2}octal: 0755\n/);
  const read = docs11(r.stdout);
  t.same(read[0]!.data.quoted, 'on');
  t.equal(read[1]!.immutable, true, 'kubectl reads `on` as true, as it did from the input');
  t.same(read[1]!.stringData, { mode: '0755', octal: 493 }, 'and 0755 as octal');
  t.same(read.map((o) => o.kind), ['ConfigMap', 'Secret', 'Deployment', 'SecretProviderClass']);
  t.equal((await runCli(['inject', '-f', '-'], r.stdout)).stdout, r.stdout, 'a fixed point');
});

t.test('input is read as kubectl reads it (YAML 1.1): defaultMode 0644 is octal, and stays 0644 in the output', async (t) => {
  const withMode = DEPLOYMENT.replace(
    '          image: nginx\n',
    '          image: nginx\n      volumes:\n        - name: cfg\n          configMap:\n            name: cfg\n            defaultMode: 0644\n',
  );
  t.not(withMode, DEPLOYMENT, 'the fixture has the volume');
  const yamlOut = await runCli(['inject', '-f', '-'], withMode);
  t.equal(yamlOut.code, 0, yamlOut.stderr);
  t.match(yamlOut.stdout, /\n {12}defaultMode: 0644\n/, 'written as the user wrote it (YAML 1.2 would have made it 644)');
  const jsonOut = await runCli(['inject', '-f', '-', '-o', 'json'], withMode);
  const deployment = JSON.parse(jsonOut.stdout).items[0];
  const cfg = deployment.spec.template.spec.volumes.find((v: Obj) => v.name === 'cfg');
  t.equal(cfg.configMap.defaultMode, 0o644, 'JSON carries the number kubectl means: 420');
  // Go's own prefixes, which kubectl (strconv.ParseInt base 0) accepts and YAML 1.1 has not.
  for (const [written, meant] of [['0o644', 0o644], ['0O644', 0o644], ['0x1A4', 0x1a4], ['0B110100100', 0b110100100]] as const) {
    const out = await runCli(['inject', '-f', '-', '-o', 'json'], withMode.replace('defaultMode: 0644', `defaultMode: ${written}`));
    t.equal(out.code, 0, out.stderr);
    const volume = JSON.parse(out.stdout).items[0].spec.template.spec.volumes.find((v: Obj) => v.name === 'cfg');
    t.equal(volume.configMap.defaultMode, meant, `${written} is the number ${meant}, not a string`);
  }
  const answer = await runCli(['inject', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  annotations:\n    db-access/enabled: yes\nspec:\n  containers:\n    - name: a\n      image: busybox\n');
  t.not(answer.code, 0, 'an unquoted yes is a boolean to kubectl, not the string "true": refused, not injected');
});

t.test('typed lists (DeploymentList, PodList) are processed item by item, like a v1 List', async (t) => {
  const deploy = docs(DEPLOYMENT)[0]!;
  // As the API serves it: items without kind and apiVersion, which the list implies.
  const { kind: _k, apiVersion: _a, ...bare } = deploy;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one-off', namespace: 'shop', annotations: { 'db-access/enabled': 'true' } }, spec: { serviceAccountName: 'shop', containers: [{ name: 'psql', image: 'postgres:17' }] } };
  const cases: Array<[string, Obj, (o: Obj) => Obj]> = [
    ['DeploymentList', { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [deploy] }, (o) => o.items[0].spec.template.spec],
    ['DeploymentList with bare items', { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [bare] }, (o) => o.items[0].spec.template.spec],
    ['PodList', { apiVersion: 'v1', kind: 'PodList', items: [pod] }, (o) => o.items[0].spec],
  ];
  for (const [name, list, spec] of cases) {
    const diff = await runCli(['inject', '-f', '-', '--diff'], JSON.stringify(list));
    t.equal(diff.code, 0, `${name}: ${diff.stderr}`);
    t.match(diff.stdout, new RegExp(`^--- <stdin> \\(document 1, ${list.kind}/`), `${name}: a diff for the list`);
    t.match(diff.stdout, /^\+\+\+ SecretProviderClass\//m);
    const [out, spc] = docs((await runCli(['inject', '-f', '-'], JSON.stringify(list))).stdout);
    t.equal(spec(out!).volumes[0].name, 'database-secrets', name);
    t.notOk('kind' in out!.items[0] && !('kind' in list.items[0]), `${name}: implied kinds are not written into the items`);
    t.equal(spc!.kind, 'SecretProviderClass');
  }
});

t.test('the output is a fixed point: -o json fed back changes nothing, an existing SecretProviderClass is found in a List', async (t) => {
  const input = `${CONFIGMAP}---\n${DEPLOYMENT}---\n${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [docs(SERVICE)[0]] })}\n`;
  const once = await runCli(['inject', '-f', '-', '-o', 'json'], input);
  t.equal(once.code, 0, once.stderr);
  const list = JSON.parse(once.stdout) as Obj;
  t.same(list.items.map((o: Obj) => o.kind), ['ConfigMap', 'Deployment', 'Service', 'SecretProviderClass'], 'one flat List');
  const twice = await runCli(['inject', '-f', '-', '-o', 'json'], once.stdout);
  t.equal(twice.code, 0, twice.stderr);
  t.equal(twice.stdout, once.stdout);
  const diff = await runCli(['inject', '-f', '-', '--diff'], once.stdout);
  t.equal(diff.stdout, '', 'nothing left to inject');

  const asYaml = await runCli(['inject', '-f', '-'], once.stdout);
  t.same(docs(asYaml.stdout).map((o) => o.kind), ['List'], 'no second SecretProviderClass after the List');
});

t.test('ReplicationController pods are injected like the other workloads', async (t) => {
  const rc = DEPLOYMENT.replace('apiVersion: apps/v1\nkind: Deployment', 'apiVersion: v1\nkind: ReplicationController').replace('  selector:\n    matchLabels: {app: api}\n', '  selector: {app: api}\n');
  const r = await runCli(['inject', '-f', '-'], rc);
  t.equal(r.code, 0, r.stderr);
  const [out, spc] = docs(r.stdout);
  t.equal(out!.kind, 'ReplicationController');
  t.equal(out!.spec.template.spec.containers[0].env.length, 12);
  t.equal(spc!.metadata.name, 'api-database-secrets');
  t.match((await runCli(['--help'])).stdout, /ReplicationControllers/);
});

t.test('names from the input are printed on one line, without terminal controls', async (t) => {
  const name = 'api\n\u001b[2J\u009b31m\u202eevil';
  const deploy = docs(DEPLOYMENT)[0]!;
  deploy.metadata.name = name;
  const denied = structuredClone(deploy);
  denied.spec.template.metadata.annotations['db-access/enabled'] = 'maybe';
  const r = await runCli(['inject', '-f', '-'], JSON.stringify(denied));
  t.equal(r.code, 2);
  t.equal(r.stderr.split('\n').length, 2, 'one line');
  t.notMatch(r.stderr, /[\u001b\u009b\u202e]/, 'no escape, CSI or bidi control');
  t.match(r.stderr, /^error: Deployment\/api \[2J\\u009b31m\\u202eevil \(file <stdin>, document 1\): /);

  const d = await runCli(['inject', '-f', '-', '--diff'], JSON.stringify(deploy));
  t.equal(d.code, 0, d.stderr);
  const headers = d.stdout.split('\n').filter((l) => /^(---|\+\+\+) /.test(l));
  t.equal(headers.length, 4, 'the Deployment and the SecretProviderClass, two header lines each');
  // jsdiff quotes a name holding a backslash, as git does.
  t.match(headers[0], /^--- "<stdin> \(document 1, Deployment\/api \[2J\\\\u009b31m\\\\u202eevil\)"$/);
  t.notMatch(d.stdout, /[\u001b\u009b\u202e]/);
});

t.test('a name or namespace YAML read as a number or boolean is an error, never replaced by --namespace', async (t) => {
  // The namespace is the organization: `namespace: 12345` must not become "no namespace" and then --namespace's.
  const numeric = DEPLOYMENT.replace('namespace: shop', 'namespace: 12345');
  for (const args of [['inject', '-f', '-'], ['inject', '-f', '-', '--namespace', 'shop']]) {
    const r = await runCli(args, numeric);
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, /^error: Deployment\/api \(file <stdin>, document 1\): metadata\.namespace must be a string, got number 12345; quote it in YAML\n$/);
    t.equal(r.stdout, '');
  }
  const named = await runCli(['inject', '-f', '-'], DEPLOYMENT.replace('name: api\n  namespace', 'name: no\n  namespace'));
  t.equal(named.code, 1);
  t.match(named.stderr, /metadata\.name must be a string, got boolean false; quote it in YAML/);
  const inList = await runCli(['inject', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ ...docs(SERVICE)[0], metadata: { name: 'svc', namespace: 7 } }] }));
  t.equal(inList.code, 1);
  t.match(inList.stderr, /\(file <stdin>, document 1, item 1\): metadata\.namespace must be a string, got number 7/);
});

t.test('a document that is not a Kubernetes object is an error (exit 1), not echoed', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['a bare string', 'hello\n', /^error: <stdin>: document 1 is not a Kubernetes object \(a string\): every object needs apiVersion and kind\n$/],
    ['a map without kind', `${CONFIGMAP}---\nreplicas: 2\n`, /^error: <stdin>: document 2 is not a Kubernetes object \(no kind\)/],
    ['no apiVersion', 'kind: Pod\nmetadata: {name: x}\n', /^error: <stdin>: document 1 is not a Kubernetes object \(no apiVersion\)/],
    ['a number', `${CONFIGMAP}---\n42\n`, /^error: <stdin>: document 2 is not a Kubernetes object \(a number\)/],
    ['a list', '- a\n- b\n', /^error: <stdin>: document 1 is not a Kubernetes object \(a list\)/],
    ['a List item', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [docs(SERVICE)[0], { a: 1 }] }), /^error: <stdin>: document 1, item 2 is not a Kubernetes object \(no kind\)/],
    ['a List without apiVersion', JSON.stringify({ kind: 'List', items: [docs(DEPLOYMENT)[0]] }), /^error: <stdin>: document 1 is not a Kubernetes object \(no apiVersion\)/],
  ];
  for (const [name, input, stderr] of cases) {
    for (const output of ['yaml', 'json']) {
      const r = await runCli(['inject', '-f', '-', '-o', output], input);
      t.equal(r.code, 1, `${name} -o ${output}`);
      t.match(r.stderr, stderr, name);
      t.equal(r.stdout, '', name);
    }
  }
  const binary = await runCli(['inject', '-f', file('image.png', '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR')]);
  t.equal(binary.code, 1);
  t.match(binary.stderr, /^error: .*image\.png: document 1 is not a Kubernetes object \(a string\)/);
  t.equal(binary.stdout, '');
});

t.test('errors name the field in the manifest, not in the pod the engine was given', async (t) => {
  const workload = (kind: string, template: string, namespace = 'shop'): string =>
    `apiVersion: ${kind === 'CronJob' ? 'batch/v1' : 'apps/v1'}\nkind: ${kind}\nmetadata:\n  name: w\n  namespace: ${namespace}\nspec:\n` +
    (kind === 'CronJob'
      ? `  jobTemplate:\n    spec:\n      template:\n${template.replace(/^/gm, '    ')}`
      : `  template:\n${template}`);
  const opted = '    metadata:\n      annotations:\n        db-access/enabled: "true"\n';
  const cases: Array<[string, string, RegExp]> = [
    ['Deployment', workload('Deployment', opted), /: spec\.template\.spec must be an object, got null$/],
    ['StatefulSet', workload('StatefulSet', `${opted}    spec:\n      containers: []\n`), /: spec\.template\.spec\.containers is empty: /],
    ['CronJob', workload('CronJob', `${opted}    spec:\n      initContainers: 3\n      containers: [{name: a, image: b}]\n`), /: spec\.jobTemplate\.spec\.template\.spec\.initContainers must be a list/],
    ['namespace', workload('Deployment', `${opted}    spec:\n      containers: [{name: a, image: b}]\n`, 'Acme_Corp'), /: metadata\.namespace "Acme_Corp" is not a valid namespace name/],
    ['Pod', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  annotations: {db-access/enabled: "true"}\nspec: {}\n', /: spec\.containers is missing: /],
  ];
  for (const [name, input, stderr] of cases) {
    const r = await runCli(['inject', '-f', '-'], input);
    t.equal(r.code, 2, name);
    t.match(r.stderr.trimEnd(), stderr, name);
  }
});

t.test('db-access annotations on the workload instead of its pod template: a warning saying where they go', async (t) => {
  const misplaced = DEPLOYMENT.replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    db-access/enabled: "true"\n')
    .replace('      annotations:\n        db-access/enabled: "true"\n', '');
  const r = await runCli(['inject', '-f', '-'], misplaced);
  t.equal(r.code, 0);
  t.equal(
    r.stderr,
    'warning: Deployment/api (file <stdin>, document 1): "db-access/enabled" is on the Deployment\'s own metadata.annotations, ' +
      'where the webhook never sees it; move it to spec.template.metadata.annotations\n',
  );
  t.equal(r.stdout, `---\n${misplaced}`, 'nothing injected, the manifest unchanged');

  const both = await runCli(['inject', '-f', '-'], DEPLOYMENT.replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    db-access/enabled: "true"\n'));
  t.equal(both.stderr, '', 'no warning when the pod template has it too');
});
