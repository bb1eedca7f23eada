// createStore chooses the cluster or memory store from the mode and the environment.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../src/kube/create-store.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, APP_LABEL } from '../../src/engine/types.ts';
import type { SecretProviderClass } from '../../src/engine/types.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';

const logger = { info() {}, warn() {}, debug() {} };
const spc: SecretProviderClass = {
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClass',
  metadata: { name: 'orders-database-secrets', namespace: 'acme', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APP_LABEL]: 'orders' } },
  spec: { provider: 'aws', parameters: { region: 'us-east-1' }, secretObjects: [] },
};

t.test('memory mode, and auto with no cluster settings, use memory', async (t) => {
  t.equal((await createStore({ mode: 'memory', env: { KUBECONFIG: '/nonexistent' }, logger })).kind, 'memory');
  const auto = await createStore({ mode: 'auto', env: {}, logger });
  t.equal(auto.kind, 'memory');
  t.match(auto.describe, /in-memory/);
  t.same(await auto.store.ensure(spc, { dryRun: false, signal: AbortSignal.timeout(1000) }), { outcome: 'created' });
});

t.test('cluster mode with nothing configured is a clear error', async (t) => {
  await t.rejects(createStore({ mode: 'cluster', env: {}, logger }), /KUBECONFIG/);
});

t.test('auto with a KUBECONFIG file talks to that cluster', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  fs.writeFileSync(file, kubeConfigFor(api).exportConfig(), { mode: 0o600 });
  const calls: string[] = [];
  const created = await createStore({ mode: 'auto', env: { KUBECONFIG: file }, logger, onCall: (v, r) => calls.push(`${v}:${r}`) });
  t.equal(created.kind, 'cluster');
  t.match(created.describe, /KUBECONFIG/);
  t.match(created.describe, api.url);
  t.notMatch(created.describe, api.token, 'never the token');
  t.same(await created.store.ensure(spc, { dryRun: false, signal: AbortSignal.timeout(5000) }), { outcome: 'created' });
  t.same(calls, ['get:not-found', 'create:ok']);
});

t.test('a given KubeConfig wins in auto mode', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const created = await createStore({ mode: 'auto', env: {}, kubeConfig: kubeConfigFor(api), logger, cacheTtlMs: 1 });
  t.equal(created.kind, 'cluster');
  t.same(await created.store.ensure(spc, { dryRun: false, signal: AbortSignal.timeout(5000) }), { outcome: 'created' });
});

t.test('in-cluster: service account token and CA files, talking to the API over HTTPS', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serviceaccount-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'token'), api.token);
  fs.writeFileSync(path.join(dir, 'ca.crt'), api.ca.cert);
  const port = new URL(api.url).port;
  const created = await createStore({
    mode: 'auto',
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    serviceAccountDir: dir,
    logger,
  });
  t.equal(created.kind, 'cluster');
  t.match(created.describe, `in-cluster service account, API server https://127.0.0.1:${port}`);
  t.same(await created.store.ensure(spc, { dryRun: false, signal: AbortSignal.timeout(5000) }), { outcome: 'created' });
  t.ok(api.get('acme', 'orders-database-secrets'));
  t.ok(api.tlsConnections <= 2, 'the token-file credentials work over the shared kept-alive connection');
  await created.close();

  const v6 = await createStore({ mode: 'cluster', env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, serviceAccountDir: dir, logger });
  t.match(v6.describe, /https:\/\/\[fd00::1\]:6443/, 'IPv6 service host in brackets');
});

t.test('in-cluster without the service account files is a clear error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serviceaccount-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await t.rejects(
    createStore({ mode: 'auto', env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir, logger }),
    /token is missing: mount the service account token/,
  );
});

t.test('an unreadable KUBECONFIG is a clear error', async (t) => {
  await t.rejects(createStore({ mode: 'auto', env: { KUBECONFIG: '/nonexistent/kubeconfig' }, logger }), /cannot load the Kubernetes configuration/);
});

t.test('a malformed KUBECONFIG is named, without the file around the error (it holds a token)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: SECRET-TOKEN-abc123\n   bad: indentation\n');
  const err = await createStore({ mode: 'auto', env: { KUBECONFIG: file }, logger }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.match(err?.message, /cannot load the Kubernetes configuration: \S/);
  t.notMatch(err?.message, /SECRET-TOKEN/, 'the token is not quoted');
  t.notMatch(err?.message, /\n/, 'one line');
});

t.test('a cluster server that is not an http(s) URL is a start-up error, not a failure at the first pod', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  for (const server of ['api.example.com:6443', 'ftp://api.example.com', 'https://api example.com']) {
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${JSON.stringify(server)}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
    );
    await t.rejects(
      createStore({ mode: 'cluster', env: { KUBECONFIG: file }, logger }),
      { message: `DB_ACCESS_KUBE=cluster: the KUBECONFIG names cluster server ${JSON.stringify(server)}, which is not an http(s) URL` },
      server,
    );
  }
  // kubectl proxy serves plain HTTP on localhost: still accepted.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"https://api example.com"', 'http://127.0.0.1:8001'));
  const proxied = await createStore({ mode: 'cluster', env: { KUBECONFIG: file }, logger });
  t.match(proxied.describe, 'API server http://127.0.0.1:8001');
  await proxied.close();
});

t.test('a CA file the KUBECONFIG names that is empty or missing is a start-up error naming it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const empty = path.join(dir, 'empty-ca.crt');
  fs.writeFileSync(empty, '');
  for (const [caFile, why] of [[empty, /empty-ca\.crt is empty/], [path.join(dir, 'missing-ca.crt'), /ENOENT.*missing-ca\.crt/]] as const) {
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: ${caFile}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
    );
    const err = await createStore({ mode: 'auto', env: { KUBECONFIG: file }, logger }).then(() => undefined, (e: unknown) => e as Error);
    t.match(err?.message, /^DB_ACCESS_KUBE=auto: cannot read the TLS files the KUBECONFIG names: /);
    t.match(err?.message, why);
  }
});

t.test('memory mode never loads @kubernetes/client-node (about 75 MB of RSS), not even through server.ts', async (t) => {
  // A child process whose module hooks refuse client-node: importing the server and creating a memory store must
  // not need it. Then the same child creates a cluster store, which must load it.
  const script = `
    import { registerHooks } from 'node:module';
    let loaded = false;
    let refuse = true;
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === '@kubernetes/client-node') {
          if (refuse) throw new Error('client-node was loaded');
          loaded = true;
        }
        return next(specifier, context);
      },
    });
    const logger = { info() {}, warn() {}, debug() {} };
    await import(${JSON.stringify(new URL('../../src/server/server.ts', import.meta.url).href)});
    const { createStore } = await import(${JSON.stringify(new URL('../../src/kube/create-store.ts', import.meta.url).href)});
    const memory = await createStore({ mode: 'memory', env: {}, logger });
    const auto = await createStore({ mode: 'auto', env: {}, logger });
    refuse = false;
    await createStore({ mode: 'auto', env: { KUBERNETES_SERVICE_HOST: 'x' }, serviceAccountDir: '/nonexistent', logger }).catch(() => {});
    console.log(JSON.stringify({ memory: memory.kind, auto: auto.kind, loadedForCluster: loaded }));
  `;
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.same(JSON.parse(out.trim().split('\n').pop() ?? '{}'), { memory: 'memory', auto: 'memory', loadedForCluster: true });
});
