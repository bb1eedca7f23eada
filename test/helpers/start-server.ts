// Starts the real webhook in-process (HTTPS on 127.0.0.1, port 0) with the given settings and adapters, and
// hands back its address, the CA to pin, a kube-apiserver-like client, the captured logs and close().
import type { KubeConfig } from '@kubernetes/client-node';
import type { SecretPreflight } from '../../src/aws/types.ts';
import { loadConfig } from '../../src/config.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy } from '../../src/engine/types.ts';
import type { SecretProviderClassStore } from '../../src/kube/types.ts';
import type { AppOptions } from '../../src/server/app.ts';
import { createMetrics, type Metrics } from '../../src/server/metrics.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { createLogCapture, type LogCapture } from './log-capture.ts';
import { createWebhookClient, type WebhookClient, type WebhookClientOptions } from './webhook-client.ts';

export interface TestServerOptions {
  /** Settings as environment variables (DB_ACCESS_KUBE defaults to memory, LOG_LEVEL to debug). */
  readonly env?: Record<string, string>;
  readonly store?: SecretProviderClassStore;
  readonly kubeConfig?: KubeConfig;
  readonly preflight?: SecretPreflight;
  readonly metrics?: Metrics;
  /** Also start the plain-HTTP probe listener (on a free port). */
  readonly probes?: boolean;
  /** The CA to pin when TLS_CERT_FILE/TLS_KEY_FILE are given (the embedded certificate's CA otherwise). */
  readonly ca?: string;
  readonly app?: Omit<AppOptions, 'https' | 'routes'>;
  readonly tlsReload?: { readonly pollIntervalMs?: number; readonly debounceMs?: number };
  readonly decide?: (request: AdmissionRequestInput, policy: EnginePolicy) => Decision;
}

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  /** PEM CA that signed the serving certificate. */
  readonly ca: string;
  readonly logs: LogCapture;
  readonly metrics: Metrics;
  /** A new kube-apiserver-like client (closed by close()). */
  client(options?: Partial<WebhookClientOptions>): WebhookClient;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const env = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    DB_ACCESS_DRAIN_SECONDS: '0', // close() at once; test/server/https.test.ts tests the drain
    DB_ACCESS_KUBE: options.kubeConfig ? 'cluster' : 'memory',
    ...options.env,
  };
  const config = loadConfig(env);
  const logs = createLogCapture();
  const metrics = options.metrics ?? createMetrics({ defaultMetrics: false });
  const server = await startServer({
    config,
    logger: logs.logger(config.logLevel),
    env: {}, // never the developer's KUBECONFIG
    metrics,
    ports: { https: 0, metrics: options.probes ? 0 : null },
    ...(options.store ? { store: options.store } : {}),
    ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
    ...(options.preflight ? { preflight: options.preflight } : {}),
    ...(options.app ? { app: options.app } : {}),
    ...(options.tlsReload ? { tlsReload: options.tlsReload } : {}),
    ...(options.decide ? { decide: options.decide } : {}),
  });
  const ca = options.ca ?? server.tls.ca?.cert;
  if (!ca) {
    await server.close();
    throw new Error('startTestServer: pass `ca` when the server uses certificate files');
  }
  const clients: WebhookClient[] = [];
  return {
    server,
    url: server.url,
    ca,
    logs,
    metrics,
    client(clientOptions = {}) {
      const c = createWebhookClient({ url: server.url, ca, ...clientOptions });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await server.close();
    },
  };
}
