// The CLI and the webhook must never disagree. A real Deployment pod captured from an apiserver goes through the
// engine as the webhook sees it; the Deployment that made it goes through the CLI; both must inject the same.
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { decide } from '../../src/engine/index.ts';
import { loadConfig } from '../../src/config.ts';
import { runCli } from './run-cli.ts';

type Obj = Record<string, any>;

function docs(text: string): Obj[] {
  const parsed = parseAllDocuments(text);
  return Array.isArray(parsed) ? parsed.map((d) => d.toJS() as Obj) : [];
}

t.test('a captured Deployment pod: the webhook and the CLI inject the same, with the app from the owner', async (t) => {
  const review = JSON.parse(
    readFileSync(new URL('../fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'),
  ) as Obj;
  const request = structuredClone(review.request) as Obj;
  const pod = request.object as Obj;
  // No app labels: the app must come from the owner ReplicaSet kubewarden-controller-767df6d6b minus its hash.
  delete pod.metadata.labels['app.kubernetes.io/name'];
  delete pod.metadata.labels['app.kubernetes.io/instance'];
  pod.metadata.annotations = { ...pod.metadata.annotations, 'db-access/enabled': 'true' };

  const webhook = decide(request, loadConfig({}).policy);
  if (webhook.action !== 'inject') throw new Error(`expected inject, got ${JSON.stringify(webhook)}`);
  t.equal(webhook.target.app, 'kubewarden-controller');
  const injectedPod = jsonpatch.applyPatch(structuredClone(pod), webhook.patch as jsonpatch.Operation[], true, false)
    .newDocument as Obj;

  // The Deployment as its author wrote it: the controller-added pod-template-hash label is not in the template.
  const { 'pod-template-hash': _hash, ...labels } = pod.metadata.labels as Record<string, string>;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'kubewarden-controller', namespace: request.namespace },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels, annotations: { 'db-access/enabled': 'true' } }, spec: pod.spec },
    },
  };
  const r = await runCli(['inject', '-f', '-', '-o', 'json'], JSON.stringify(deployment));
  t.equal(r.code, 0, r.stderr);
  const [cliDeployment, spc] = (JSON.parse(r.stdout) as Obj).items as Obj[];
  t.same(spc, webhook.secretProviderClass, 'same SecretProviderClass');
  t.same(cliDeployment!.spec.template.spec, injectedPod.spec, 'same pod spec');
  t.same(cliDeployment!.spec.template.metadata.annotations, injectedPod.metadata.annotations, 'same annotations (status)');
  t.same(cliDeployment!.spec.template.metadata.labels, labels, 'template labels unchanged');
});

t.test('every workload kind: the app name is the workload name, as the webhook derives it for the real pod', async (t) => {
  const template = {
    metadata: { annotations: { 'db-access/enabled': 'true' } },
    spec: { serviceAccountName: 'acme', restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
  };
  const workloads: Obj[] = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { template } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { template } },
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs' }, spec: { template } },
    { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy' }, spec: { template } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template } },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' }, spec: { jobTemplate: { spec: { template } } } },
    { apiVersion: 'v1', kind: 'Pod', spec: template.spec, metadata: { name: 'debug', ...template.metadata } },
  ];
  const input = workloads.map((w) => JSON.stringify(w)).join('\n---\n');
  const r = await runCli(['inject', '-f', '-', '--namespace', 'acme'], input);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const out = docs(r.stdout);
  t.same(
    out.slice(workloads.length).map((spc) => spc.metadata.name),
    ['web', 'db', 'agent', 'rs', 'legacy', 'migrate', 'nightly', 'debug'].map((app) => `${app}-database-secrets`),
  );
  for (const w of out.slice(0, workloads.length - 1)) {
    t.same(w.metadata, { name: w.metadata.name }, `${w.kind}: metadata unchanged (no namespace, owner or generateName added)`);
  }
  t.same(Object.keys(out[workloads.length - 1]!.metadata), ['name', 'annotations'], 'Pod: no namespace added');
});
