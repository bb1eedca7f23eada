// Chooses where SecretProviderClasses are kept: the cluster (in-cluster service account or KUBECONFIG) or memory.
// @kubernetes/client-node is loaded only when a cluster is configured: importing it costs about 49 MB of RSS and
// 22 MB of heap (BENCHMARKS.md, finding 5), which the memory store and `npm start` on a laptop should not pay.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeCallResult, KubeVerb, SecretProviderClassStore } from './types.ts';
import { createMemoryStore } from './memory-store.ts';
import type { StoreLogger } from './spc.ts';

type KubeConfigClass = typeof KubeConfig;

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
  /** Releases what the store holds open (the cluster store's kept-alive API connections). */
  close(): Promise<void>;
}

const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster configuration, read from `env` rather than process.env so callers and tests control it. */
function inClusterConfig(KubeConfigCtor: KubeConfigClass, env: NodeJS.ProcessEnv, dir: string): KubeConfig {
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
  const kc = new KubeConfigCtor();
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false }],
    // tokenFile: client-node re-reads the projected token, which the kubelet rotates.
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  });
  return kc;
}

function kubeconfigFromFiles(KubeConfigCtor: KubeConfigClass, value: string): KubeConfig {
  const files = value.split(path.delimiter).filter((f) => f.length > 0);
  const kc = new KubeConfigCtor();
  const [first, ...rest] = files;
  if (first === undefined) throw new Error('KUBECONFIG is set but names no file');
  kc.loadFromFile(first);
  for (const file of rest) {
    const more = new KubeConfigCtor();
    more.loadFromFile(file);
    kc.mergeConfig(more, true);
  }
  return kc;
}

function resolveKubeConfig(
  KubeConfigCtor: KubeConfigClass,
  options: CreateStoreOptions,
  env: NodeJS.ProcessEnv,
): { kc: KubeConfig; source: string } | undefined {
  if (options.kubeConfig) return { kc: options.kubeConfig, source: 'provided kubeconfig' };
  if (env.KUBERNETES_SERVICE_HOST) {
    return { kc: inClusterConfig(KubeConfigCtor, env, options.serviceAccountDir ?? SERVICEACCOUNT_DIR), source: 'in-cluster service account' };
  }
  if (env.KUBECONFIG) return { kc: kubeconfigFromFiles(KubeConfigCtor, env.KUBECONFIG), source: 'KUBECONFIG' };
  return undefined;
}

/** True when resolveKubeConfig would find a cluster: decided without loading client-node. */
function clusterConfigured(options: CreateStoreOptions, env: NodeJS.ProcessEnv): boolean {
  return options.kubeConfig !== undefined || Boolean(env.KUBERNETES_SERVICE_HOST) || Boolean(env.KUBECONFIG);
}

export async function createStore(options: CreateStoreOptions): Promise<CreatedStore> {
  const env = options.env ?? process.env;
  if (options.mode !== 'memory' && clusterConfigured(options, env)) {
    // client-node through our module, not import('@kubernetes/client-node'): a bundler keeps every export of a
    // dynamically imported namespace, and this package has 60 APIs we never call (scripts/build.ts).
    const { KubeConfig: KubeConfigCtor, createClusterStore } = await import('./cluster-store.ts');
    let resolved: { kc: KubeConfig; source: string } | undefined;
    try {
      resolved = resolveKubeConfig(KubeConfigCtor, options, env);
    } catch (err) {
      // First line only: a YAML parser's message goes on to quote the file around the error, and a kubeconfig
      // holds tokens and keys.
      const reason = String((err as Error).message).split('\n', 1)[0];
      throw new Error(`DB_ACCESS_KUBE=${options.mode}: cannot load the Kubernetes configuration: ${reason}`, {
        cause: err,
      });
    }
    if (resolved) {
      const server = resolved.kc.getCurrentCluster()?.server;
      if (!server) {
        throw new Error(`DB_ACCESS_KUBE=${options.mode}: the ${resolved.source} names no current cluster server`);
      }
      // Refused here, not at the first pod: client-node takes any string and fails only when it calls.
      if (!URL.canParse(server) || !['https:', 'http:'].includes(new URL(server).protocol)) {
        throw new Error(
          `DB_ACCESS_KUBE=${options.mode}: the ${resolved.source} names cluster server ${JSON.stringify(server.slice(0, 200))}, which is not an http(s) URL`,
        );
      }
      let store: Awaited<ReturnType<typeof createClusterStore>>;
      try {
        store = createClusterStore({
          kubeConfig: resolved.kc,
          logger: options.logger,
          ...(options.onCall ? { onCall: options.onCall } : {}),
          ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
        });
      } catch (err) {
        // The CA or client-certificate files the configuration names: missing, unreadable or empty.
        throw new Error(
          `DB_ACCESS_KUBE=${options.mode}: cannot read the TLS files the ${resolved.source} names: ${String((err as Error).message).split('\n', 1)[0]}`,
          { cause: err },
        );
      }
      return {
        store,
        kind: 'cluster',
        describe: `cluster store (${resolved.source}, API server ${server})`,
        close: () => store.close(),
      };
    }
  }
  if (options.mode === 'cluster') {
    throw new Error(
      'DB_ACCESS_KUBE=cluster but there is no cluster configuration: run in a pod (KUBERNETES_SERVICE_HOST) or set KUBECONFIG, or use DB_ACCESS_KUBE=auto|memory',
    );
  }
  const store = createMemoryStore({ logger: options.logger, ...(options.onCall ? { onCall: options.onCall } : {}) });
  return {
    store,
    kind: 'memory',
    describe: 'in-memory store (no cluster: SecretProviderClasses are only logged, not written anywhere)',
    close: async () => {},
  };
}
