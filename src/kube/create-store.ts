// Chooses where SecretProviderClasses are kept: the cluster (in-cluster service account or KUBECONFIG) or memory.
import fs from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeCallResult, KubeVerb, SecretProviderClassStore } from './types.ts';
import { createMemoryStore } from './memory-store.ts';
import { createClusterStore } from './cluster-store.ts';
import type { StoreLogger } from './spc.ts';

export type StoreMode = 'auto' | 'cluster' | 'memory';

export interface CreateStoreOptions {
  readonly mode: StoreMode;
  /** Where KUBERNETES_SERVICE_HOST/PORT and KUBECONFIG are read; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** A ready KubeConfig (tests pin a CA this way); wins over the environment in 'auto' and 'cluster'. */
  readonly kubeConfig?: KubeConfig;
  readonly logger: StoreLogger;
  /** Metric hook: one call per Kubernetes API request (or simulated request in memory). */
  readonly onCall?: (verb: KubeVerb, result: KubeCallResult) => void;
  /** How long a SecretProviderClass known to be right is trusted without a read (cluster store). */
  readonly cacheTtlMs?: number;
  /** Where the in-cluster token and CA are mounted; tests point it elsewhere. */
  readonly serviceAccountDir?: string;
}

export interface CreatedStore {
  readonly store: SecretProviderClassStore;
  readonly kind: 'cluster' | 'memory';
  /** One line for the start-up log: which store and which API server (never credentials). */
  readonly describe: string;
}

const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster configuration, read from `env` rather than process.env so callers and tests control it. */
function inClusterConfig(env: NodeJS.ProcessEnv, dir: string): KubeConfig {
  for (const file of ['token', 'ca.crt']) {
    if (!fs.existsSync(path.join(dir, file))) {
      throw new Error(
        `KUBERNETES_SERVICE_HOST is set but ${path.join(dir, file)} is missing: mount the service account token (automountServiceAccountToken)`,
      );
    }
  }
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false }],
    // tokenFile: client-node re-reads the projected token, which the kubelet rotates.
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  });
  return kc;
}

function kubeconfigFromFiles(value: string): KubeConfig {
  const files = value.split(path.delimiter).filter((f) => f.length > 0);
  const kc = new KubeConfig();
  const [first, ...rest] = files;
  if (first === undefined) throw new Error('KUBECONFIG is set but names no file');
  kc.loadFromFile(first);
  for (const file of rest) {
    const more = new KubeConfig();
    more.loadFromFile(file);
    kc.mergeConfig(more, true);
  }
  return kc;
}

function resolveKubeConfig(options: CreateStoreOptions, env: NodeJS.ProcessEnv): { kc: KubeConfig; source: string } | undefined {
  if (options.kubeConfig) return { kc: options.kubeConfig, source: 'provided kubeconfig' };
  if (env.KUBERNETES_SERVICE_HOST) {
    return { kc: inClusterConfig(env, options.serviceAccountDir ?? SERVICEACCOUNT_DIR), source: 'in-cluster service account' };
  }
  if (env.KUBECONFIG) return { kc: kubeconfigFromFiles(env.KUBECONFIG), source: 'KUBECONFIG' };
  return undefined;
}

export function createStore(options: CreateStoreOptions): CreatedStore {
  const env = options.env ?? process.env;
  if (options.mode !== 'memory') {
    let resolved: { kc: KubeConfig; source: string } | undefined;
    try {
      resolved = resolveKubeConfig(options, env);
    } catch (err) {
      throw new Error(`DB_ACCESS_KUBE=${options.mode}: cannot load the Kubernetes configuration: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (resolved) {
      const server = resolved.kc.getCurrentCluster()?.server;
      if (!server) {
        throw new Error(`DB_ACCESS_KUBE=${options.mode}: the ${resolved.source} names no current cluster server`);
      }
      const store = createClusterStore({
        kubeConfig: resolved.kc,
        logger: options.logger,
        ...(options.onCall ? { onCall: options.onCall } : {}),
        ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
      });
      return { store, kind: 'cluster', describe: `cluster store (${resolved.source}, API server ${server})` };
    }
    if (options.mode === 'cluster') {
      throw new Error(
        'DB_ACCESS_KUBE=cluster but there is no cluster configuration: run in a pod (KUBERNETES_SERVICE_HOST) or set KUBECONFIG, or use DB_ACCESS_KUBE=auto|memory',
      );
    }
  }
  const store = createMemoryStore({ logger: options.logger, ...(options.onCall ? { onCall: options.onCall } : {}) });
  return {
    store,
    kind: 'memory',
    describe: 'in-memory store (no cluster: SecretProviderClasses are only logged, not written anywhere)',
  };
}
