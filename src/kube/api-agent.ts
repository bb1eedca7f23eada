// The store's kept-alive connection to the Kubernetes API: one undici Agent for every call, built from the
// kubeconfig's TLS material, and built again when that material changes on disk (a rotated cluster CA in the
// service account's ca.crt, or a renewed client certificate).
import fs from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
// client-node's own HTTP stack (it depends on undici and calls undici's fetch).
import { Agent, type Dispatcher } from 'undici';

export interface ApiAgent {
  /** The Agent for the next call, or undefined to let client-node use its own. Re-reads the files at most every `recheckMs`. */
  current(): Dispatcher | undefined;
  /** Re-reads the TLS files now; true when they changed and a new Agent took over (the old one finishes its calls). */
  reload(): boolean;
  /** Counts the Agents built: a call that failed on an older one may be retried on the current one. */
  readonly generation: number;
  close(): Promise<void>;
}

export interface ApiAgentOptions {
  /** How often the CA and client-certificate files are compared with what the Agent was built from (default 30 s). */
  readonly recheckMs?: number;
  readonly now?: () => number;
}

/** Errors that a rotated CA or client certificate would cause: worth one re-read of the files and one retry. */
export const TLS_TRUST_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
]);

export function createApiAgent(kc: KubeConfig, options: ApiAgentOptions = {}): ApiAgent {
  const recheckMs = options.recheckMs ?? 30_000;
  const now = options.now ?? Date.now;
  let material = readTlsMaterial(kc);
  let agent = keepAliveDispatcher(kc, material);
  let checkedAt = now();
  let generation = 0;

  function reload(): boolean {
    checkedAt = now();
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(kc);
    } catch {
      return false; // unreadable or empty mid-rotation: keep what works, look again later
    }
    if (sameMaterial(next, material)) return false;
    material = next;
    const old = agent;
    agent = keepAliveDispatcher(kc, next);
    generation++;
    void old?.close().catch(() => {}); // lets its calls in progress finish
    return true;
  }

  return {
    current() {
      if (now() - checkedAt >= recheckMs) reload();
      return agent;
    },
    reload,
    get generation() {
      return generation;
    },
    close: () => agent?.close() ?? Promise.resolve(),
  };
}

interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/**
 * The CA, client certificate and key the kubeconfig names, as client-node reads them (a file wins over inline
 * data). Throws for an empty file: caught mid-write (the kubelet swaps files atomically, other writers may not).
 */
function readTlsMaterial(kc: KubeConfig): TlsMaterial {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  return {
    ca: fileOrData(cluster?.caFile, cluster?.caData),
    cert: fileOrData(user?.certFile, user?.certData),
    key: fileOrData(user?.keyFile, user?.keyData),
  };
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return same(a.ca, b.ca) && same(a.cert, b.cert) && same(a.key, b.key);
}

/**
 * One keep-alive undici Agent, built from the kubeconfig's TLS material the way client-node builds its per-request
 * one (KubeConfig#applySecurityAuthentication → createDispatcherOptions): client-node 2.0.1 makes a new Agent, so a
 * new TLS connection, for each request (BENCHMARKS.md, "Fixed during this work"). Authentication headers are still
 * applied per request by client-node (the in-cluster token file is re-read as before). Proxies and plain HTTP keep
 * client-node's own dispatcher (undefined here).
 */
function keepAliveDispatcher(kc: KubeConfig, material: TlsMaterial): Dispatcher | undefined {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  // client-node applies no TLS options at all without a user; neither do we. An exec credential plugin may return
  // a client certificate, which client-node puts on its own per-request Agent only: keep that one.
  if (cluster === null || user === null || user.exec) return undefined;
  const agentOptions: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string } = {};
  if (cluster.skipTLSVerify) agentOptions.rejectUnauthorized = false;
  if (cluster.tlsServerName) agentOptions.servername = cluster.tlsServerName;
  if (material.ca) agentOptions.ca = material.ca;
  if (material.cert) agentOptions.cert = material.cert;
  if (material.key) agentOptions.key = material.key;
  let dispatcherOptions: ReturnType<KubeConfig['createDispatcherOptions']>;
  try {
    dispatcherOptions = kc.createDispatcherOptions(cluster, agentOptions);
  } catch {
    return undefined; // e.g. http:// without skipTLSVerify: client-node refuses it on each call, as before
  }
  return dispatcherOptions.type === 'agent' ? new Agent({ connect: dispatcherOptions.connect }) : undefined;
}

/** client-node's bufferFromFileOrString: a file path wins over inline base64 data. */
function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) {
    const content = fs.readFileSync(file);
    if (content.length === 0) throw new Error(`${file} is empty`);
    return content;
  }
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}
