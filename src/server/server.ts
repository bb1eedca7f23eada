// Starts the webhook: TLS, the SecretProviderClass store, the preflight, the HTTPS app and the plain-HTTP probe
// listener, and the certificate reloader. main.ts calls it with the environment's settings; tests call it
// in-process with port 0 and their own adapters.
import type { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { SecretPreflight } from '../aws/types.ts';
import type { Config } from '../config.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy } from '../engine/types.ts';
import { createStore } from '../kube/create-store.ts';
import type { SecretProviderClassStore } from '../kube/types.ts';
import { CertificateReloader } from '../tls/reloader.ts';
import { secureOptions } from '../tls/server-options.ts';
import { loadServingCertificate, type ServingCertificate } from '../tls/serving-certificate.ts';
import type { KeyPair } from '../tls/key-pair.ts';
import { buildApp, httpsServerOf, type AppOptions, type Readiness } from './app.ts';
import { createMetrics, type Metrics } from './metrics.ts';

export interface StartOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Where createStore reads KUBERNETES_SERVICE_HOST / KUBECONFIG; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** A ready store (tests); otherwise createStore({mode: config.kube}). */
  readonly store?: SecretProviderClassStore;
  /** Passed to createStore: a KubeConfig that pins a test CA. */
  readonly kubeConfig?: KubeConfig;
  /** A ready preflight (tests); otherwise built from the settings when DB_ACCESS_PREFLIGHT is not off. */
  readonly preflight?: SecretPreflight;
  readonly metrics?: Metrics;
  /** Overrides the ports from config: 0 picks a free port, null disables the probe listener. */
  readonly ports?: { readonly https?: number; readonly metrics?: number | null };
  /** Server limits and overload settings (tests shorten them). */
  readonly app?: Omit<AppOptions, 'https' | 'routes'>;
  readonly tlsReload?: { readonly pollIntervalMs?: number; readonly debounceMs?: number };
  /** Replaces the engine (tests only). */
  readonly decide?: (request: AdmissionRequestInput, policy: EnginePolicy) => Decision;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly probeApp: FastifyInstance | undefined;
  /** https://host:port of the webhook. */
  readonly url: string;
  readonly port: number;
  /** http://host:port of the probe listener, when enabled. */
  readonly metricsUrl: string | undefined;
  readonly metrics: Metrics;
  /** The certificate being served now. */
  certificate(): KeyPair;
  /** Where the start-up certificate came from; for 'self-signed', the CA a client can pin. */
  readonly tls: ServingCertificate;
  /** Checks the certificate files now (the watcher and poll do this on their own). */
  reloadCertificate(): Promise<void>;
  /** Stops accepting, finishes requests in flight, then resolves. Safe to call twice. */
  close(): Promise<void>;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const metrics = options.metrics ?? createMetrics();

  // TLS first: a missing or bad file is a start-up error naming TLS_CERT_FILE / TLS_KEY_FILE.
  const tls = await loadServingCertificate({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile });
  if (tls.source === 'self-signed') {
    logger.warn(
      { fingerprint: tls.pair.fingerprint, subjectAltName: tls.pair.subjectAltName, notAfter: tls.pair.notAfter.toISOString() },
      'no TLS_CERT_FILE/TLS_KEY_FILE: serving an in-memory self-signed certificate (for local use; clients must skip verification)',
    );
  }
  metrics.certificateNotAfter.set(tls.pair.notAfter.getTime() / 1000);
  if (tls.pair.notBefore.getTime() > Date.now()) {
    // Served anyway (there is nothing else to serve); clients refuse it until then, so say so.
    logger.warn({ notBefore: tls.pair.notBefore.toISOString() }, 'the serving certificate is not valid yet: TLS clients will refuse it until notBefore (check the clocks)');
  }

  let store = options.store;
  let storeDescription = 'provided store';
  let closeStore: () => Promise<void> = async () => {};
  if (!store) {
    const created = await createStore({
      mode: config.kube,
      env: options.env ?? process.env,
      logger,
      onCall: metrics.onKubeCall,
      ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
    });
    store = created.store;
    storeDescription = created.describe;
    closeStore = () => created.close();
  }

  const preflight = options.preflight ?? (await createDefaultPreflight(config, logger, metrics));

  let listening = false;
  let shuttingDown = false;
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (!listening) reasons.push('not listening yet');
    if (shuttingDown) reasons.push('shutting down');
    return { ready: reasons.length === 0, reasons };
  };

  const deps = {
    policy: config.policy,
    preflightMode: config.preflight,
    onKubeError: config.onKubeError,
    store,
    preflight,
    logger,
    metrics,
    readiness,
    draining: () => shuttingDown,
    ...(options.decide ? { decide: options.decide } : {}),
  };
  // The settings' limits; a caller's explicit overload options (tests) win over them.
  const appOptions: Omit<AppOptions, 'https' | 'routes'> = {
    ...options.app,
    overload:
      options.app?.overload === false
        ? false
        : { maxInFlight: config.maxInFlight, maxEventLoopDelayMs: config.maxEventLoopDelayMs, ...options.app?.overload },
  };
  const app = buildApp(deps, { ...appOptions, https: secureOptions(tls.pair), routes: 'webhook' });
  const metricsPort = options.ports?.metrics === undefined ? (config.metricsPort === 0 ? null : config.metricsPort) : options.ports.metrics;
  const probeApp = metricsPort === null ? undefined : buildApp(deps, { ...appOptions, routes: 'probes' });

  let reloader: CertificateReloader | undefined;
  if (tls.source === 'files' && config.tlsCertFile && config.tlsKeyFile) {
    const server = httpsServerOf(app);
    reloader = new CertificateReloader({
      certFile: config.tlsCertFile,
      keyFile: config.tlsKeyFile,
      initial: tls.pair,
      // New connections get the new pair; open connections keep theirs (nothing is dropped).
      apply: (pair) => server.setSecureContext(secureOptions(pair)),
      logger,
      onEvent: (event) => {
        if (event.type === 'reloaded') {
          metrics.certificateReloads.inc({ result: 'success' });
          metrics.certificateNotAfter.set(event.pair.notAfter.getTime() / 1000);
        } else {
          metrics.certificateReloads.inc({ result: 'failure' });
        }
      },
      ...(options.tlsReload ?? {}),
    });
  }

  let host = config.host;
  try {
    const httpsPort = options.ports?.https ?? config.port;
    host = await listenAnyFamily(config.host, (h) => app.listen({ port: httpsPort, host: h, listenTextResolver: quietListen })).catch(
      (err: unknown) => {
        throw listenError('PORT', httpsPort, config.host, err);
      },
    );
    if (host !== config.host) logger.warn({ address: host }, `no IPv6 on this host: listening on ${host} instead of ${config.host}`);
    if (probeApp) {
      await probeApp.listen({ port: metricsPort ?? 0, host, listenTextResolver: quietListen }).catch((err: unknown) => {
        throw listenError('METRICS_PORT', metricsPort ?? 0, host, err);
      });
    }
  } catch (err) {
    await Promise.allSettled([app.close(), probeApp?.close(), closeStore()]);
    throw err;
  }
  reloader?.start();
  listening = true;

  const port = (app.server.address() as AddressInfo).port;
  const probePort = probeApp ? (probeApp.server.address() as AddressInfo).port : undefined;
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `https://${hostForUrl(displayHost)}:${port}`;
  const metricsUrl = probePort === undefined ? undefined : `http://${hostForUrl(displayHost)}:${probePort}`;
  logger.info(
    {
      address: host,
      port,
      metricsPort: probePort ?? null,
      tls: tls.source,
      fingerprint: tls.pair.fingerprint,
      subjectAltName: tls.pair.subjectAltName,
      notAfter: tls.pair.notAfter.toISOString(),
      store: storeDescription,
      preflight: config.preflight,
      maxInFlight: appOptions.overload === false ? null : (appOptions.overload?.maxInFlight ?? null),
      maxEventLoopDelayMs: appOptions.overload === false ? null : (appOptions.overload?.maxEventLoopDelayMs ?? null),
      environment: config.environment,
      region: config.region,
    },
    `db-access-webhook listening on ${url}/mutate`,
  );

  const spares = [spareConnections(app.server, 'secureConnection'), ...(probeApp ? [spareConnections(probeApp.server, 'connection')] : [])];

  let closing: Promise<void> | undefined;
  return {
    app,
    probeApp,
    url,
    port,
    metricsUrl,
    metrics,
    tls,
    certificate: () => reloader?.current ?? tls.pair,
    reloadCertificate: async () => {
      await reloader?.check();
    },
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        reloader?.stop();
        // The apiserver reaches us through the Service, and connections it already has keep coming here after our
        // endpoint is removed. Closing one while it is idle races a POST the apiserver may be sending, and a POST is
        // never retried: that pod would fail. During the drain, a connection in use is closed by the client instead,
        // after an answer that says `Connection: close`.
        logger.info({ drainMs: config.drainMs }, 'shutting down: answers now close their connections; draining');
        await new Promise((resolve) => setTimeout(resolve, config.drainMs));
        logger.info({}, 'no new connections; finishing requests in flight');
        // Node closes idle connections only once they have carried a request; one that never did (Go keeps such
        // spares) would hold close() until the 100 s header timeout, past the pod's grace period. A POST sent on a
        // spare at this very moment fails like one on any closed connection: the drain made that unlikely.
        for (const s of spares) s.closeAll();
        // The webhook first (it drains), then the probes, which keep answering "not ready" meanwhile.
        await app.close();
        await probeApp?.close();
        await closeStore().catch(() => {}); // only idle API connections remain; nothing to report
        logger.info({}, 'stopped');
      })();
      return closing;
    },
  };
}

/**
 * The server's open connections that have not carried a request yet (`event`: when a connection is usable).
 * `closeAll` destroys them. On the TLS listener it also destroys every connection whose handshake completes later:
 * it was already connected when the listener closed, and it would be a spare too.
 */
function spareConnections(server: EventEmitter, event: 'secureConnection' | 'connection'): { closeAll(): void } {
  const unused = new Set<Socket>();
  let closing = false;
  server.on(event, (socket: Socket) => {
    if (closing && event === 'secureConnection') {
      socket.destroy();
      return;
    }
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  server.on('request', (req: { socket: Socket }) => unused.delete(req.socket));
  return {
    closeAll() {
      closing = true;
      for (const socket of unused) socket.destroy();
    },
  };
}

/** fastify logs one line per bound address; ours below says it once, with the settings. */
function quietListen(address: string): string {
  return `bound ${address}`;
}

/**
 * Listens on `host`; for `::` (all addresses, the default) on a kernel without IPv6, on `0.0.0.0` instead. Gives the
 * address it listens on.
 */
export async function listenAnyFamily(host: string, listen: (host: string) => Promise<unknown>): Promise<string> {
  try {
    await listen(host);
    return host;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
    await listen('0.0.0.0');
    return '0.0.0.0';
  }
}

/** A failed listen() as a start-up error that names the setting: a bare EADDRINUSE does not say which port. */
export function listenError(setting: 'PORT' | 'METRICS_PORT', port: number, host: string, err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  let why: string;
  if (code === 'EADDRINUSE') why = 'the port is already in use by another process';
  else if (code === 'EACCES') why = 'ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1023';
  else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    why = 'HOST is not an address of this machine; use :: or 0.0.0.0 to listen on all of them';
  } else why = err instanceof Error ? err.message : String(err);
  const off = setting === 'METRICS_PORT' ? ' (METRICS_PORT=0 turns the probe listener off)' : '';
  return new Error(`cannot listen on ${setting}=${port}, HOST=${host}: ${why}${off}`, { cause: err });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The Secrets Manager preflight for DB_ACCESS_PREFLIGHT=warn|deny; undefined when off. */
async function createDefaultPreflight(config: Config, logger: Logger, metrics: Metrics): Promise<SecretPreflight | undefined> {
  if (config.preflight === 'off') return undefined;
  // Loaded only when enabled: the AWS SDK is large and `npm start` should not pay for it by default.
  const { createPreflight } = await import('../aws/preflight.ts');
  return createPreflight({
    region: config.region,
    orgTagKey: config.preflightOrgTag,
    logger,
    onResult: (status, source) => {
      if (source === 'aws') metrics.preflightAwsCalls.inc({ status });
    },
  });
}
