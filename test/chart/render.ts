// The chart rendered by a real helm (see test/helpers/helm.ts for where the binary comes from), parsed into objects,
// plus the small Kubernetes semantics the render tests need: label selectors and strict field checking.
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { helm, type HelmResult } from '../helpers/helm.ts';
import { chartDir, isRecord } from './chart.ts';

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (isRecord(v) ? v : {});
export const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

/** values.yaml alone, then each ci/*.yaml example (helm merges a -f file over values.yaml). */
export const VALUES_VARIANTS: readonly string[] = [
  'values.yaml',
  ...readdirSync(join(chartDir, 'ci'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `ci/${f}`),
];

export function valuesArgs(variant: string): string[] {
  return variant === 'values.yaml' ? [] : ['-f', join(chartDir, variant)];
}

export interface RenderOptions {
  readonly variant?: string;
  readonly kubeVersion?: string;
  readonly release?: string;
  readonly namespace?: string;
  /** Extra helm arguments, e.g. ['--set', 'a.b=c']. */
  readonly args?: readonly string[];
  /** A cluster to render against (`--dry-run=server`: Capabilities and `lookup` come from it). */
  readonly kubeconfig?: string;
}

export interface Rendered extends HelmResult {
  readonly objects: Obj[];
  readonly parseErrors: string[];
  /** Documents that a YAML 1.2 reader would read differently (`0440`, `off`, `yes`...): GitOps and policy tools do. */
  readonly yamlVersionDependent: string[];
}

/** `helm template`; objects parsed as YAML 1.1, the way helm's own YAML-to-JSON conversion reads them. */
export async function render(options: RenderOptions = {}): Promise<Rendered> {
  const result = await helm([
    'template',
    options.release ?? 'db-access-webhook',
    chartDir,
    '--namespace',
    options.namespace ?? 'db-access-webhook',
    ...(options.kubeconfig ? [] : ['--kube-version', options.kubeVersion ?? '1.34.0']),
    ...valuesArgs(options.variant ?? 'values.yaml'),
    ...(options.args ?? []),
    ...(options.kubeconfig ? ['--dry-run=server', '--disable-openapi-validation'] : []),
  ], options.kubeconfig ? { kubeconfig: options.kubeconfig } : {});
  const objects: Obj[] = [];
  const parseErrors: string[] = [];
  const yamlVersionDependent: string[] = [];
  if (result.code === 0) {
    const yaml12 = parseAllDocuments(result.stdout, { version: '1.2' });
    parseAllDocuments(result.stdout, { version: '1.1', uniqueKeys: true }).forEach((doc, i) => {
      for (const e of doc.errors) parseErrors.push(`${e.code}: ${e.message}`);
      const value: unknown = doc.toJS();
      if (isRecord(value)) objects.push(value);
      else if (value !== null && value !== undefined) parseErrors.push(`a document that is not a mapping: ${JSON.stringify(value)}`);
      const other = yaml12[i];
      if (!other || !isDeepStrictEqual(value, other.toJS())) yamlVersionDependent.push(`${String(obj(value)['kind'])}/${String(obj(obj(value)['metadata'])['name'])}`);
    });
  }
  return { ...result, objects, parseErrors, yamlVersionDependent };
}

/** Runs the tasks with at most `size` at a time (helm is CPU-bound; this machine has two cores). */
export async function pool<T>(size: number, tasks: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, worker));
  return results;
}

export const ofKind = (objects: readonly Obj[], kind: string): Obj[] => objects.filter((o) => o['kind'] === kind);
export const nameOf = (o: Obj | undefined): string => String(obj(o?.['metadata'])['name']);
export const namespaceOf = (o: Obj | undefined): unknown => obj(o?.['metadata'])['namespace'];

/** Kubernetes label selector semantics (matchLabels AND every matchExpression). */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const s = obj(selector);
  for (const [key, value] of Object.entries(obj(s['matchLabels']))) if (labels[key] !== value) return false;
  for (const e of list(s['matchExpressions'])) {
    const key = String(e['key']);
    const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
    const has = Object.hasOwn(labels, key);
    switch (e['operator']) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${String(e['operator'])}`);
    }
  }
  return true;
}

type AttributeTypeMap = Array<{ name: string; baseName: string; type: string }>;
const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeTypeMap } | undefined>;

/**
 * Fields the Kubernetes API does not know, like `kubectl apply --validate=strict` reports them (kubernetes-models'
 * validate() checks types and required fields but lets unknown fields through). The field lists come from
 * client-node's generated models, one per OpenAPI type; maps of user keys (labels, annotations) are not walked.
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [];
  const attributes = models[type]?.getAttributeTypeMap?.();
  if (!attributes || !isRecord(value)) return []; // a scalar, IntOrString, a free-form map, or a type client-node lacks
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const t = known.get(key);
    return t === undefined ? [`${path}.${key}`] : unknownFields(v, t, `${path}.${key}`);
  });
}

// --- a minimal kube-apiserver for `helm template --dry-run=server` ---------------------------------------------------
// Just enough for helm: /version, discovery (so it can map every kind the chart renders) and GET of Secrets, which is
// what the chart's `lookup` reads. Plain HTTP on 127.0.0.1; every request is logged.
const API_RESOURCES: Record<string, Array<[name: string, kind: string, namespaced: boolean]>> = {
  v1: [['secrets', 'Secret', true], ['services', 'Service', true], ['serviceaccounts', 'ServiceAccount', true], ['namespaces', 'Namespace', false]],
  'apps/v1': [['deployments', 'Deployment', true]],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  'rbac.authorization.k8s.io/v1': [['clusterroles', 'ClusterRole', false], ['clusterrolebindings', 'ClusterRoleBinding', false]],
  'networking.k8s.io/v1': [['networkpolicies', 'NetworkPolicy', true]],
  'admissionregistration.k8s.io/v1': [['mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false]],
  'cert-manager.io/v1': [['issuers', 'Issuer', true], ['certificates', 'Certificate', true]],
  'monitoring.coreos.com/v1': [['servicemonitors', 'ServiceMonitor', true], ['prometheusrules', 'PrometheusRule', true]],
};

export interface FakeApiserver {
  /** A kubeconfig file that points at it. */
  readonly kubeconfig: string;
  /** Secrets by `<namespace>/<name>`, as the API returns them (data base64-encoded). */
  readonly secrets: Map<string, Obj>;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeApiserver(dir: string, gitVersion = 'v1.31.0'): Promise<FakeApiserver> {
  const secrets = new Map<string, Obj>();
  const requests: string[] = [];
  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method ?? '?'} ${path}`);
    const [, major, minor] = /^v(\d+)\.(\d+)/.exec(gitVersion) ?? [];
    if (path === '/version') return send(res, 200, { major, minor, gitVersion });
    if (path === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/apis') {
      const groups = Object.keys(API_RESOURCES)
        .filter((gv) => gv.includes('/'))
        .map((gv) => {
          const [name, version] = gv.split('/') as [string, string];
          return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
        });
      return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const groupVersion = path === '/api/v1' ? 'v1' : /^\/apis\/([^/]+\/[^/]+)$/.exec(path)?.[1];
    if (groupVersion && API_RESOURCES[groupVersion]) {
      const resources = API_RESOURCES[groupVersion].map(([name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['get', 'list'] }));
      return send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
    }
    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
    const found = secret && req.method === 'GET' ? secrets.get(`${secret[1]}/${secret[2]}`) : undefined;
    if (found) return send(res, 200, found);
    send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'fake', user: { token: 'fake' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    }),
  );
  return {
    kubeconfig,
    secrets,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
