// Calls the webhook the way kube-apiserver does: HTTPS with the CA pinned and the SAN checked against
// `<svc>.<ns>.svc` (not the IP we dial), HTTP/1.1 keep-alive, POST /mutate?timeout=10s.
import { connect, type PeerCertificate } from 'node:tls';
import { Pool } from 'undici';

export const DEFAULT_SERVERNAME = 'db-access-webhook.db-access-webhook.svc';

export interface WebhookClientOptions {
  /** https://127.0.0.1:port */
  readonly url: string;
  /** PEM CA to trust (the caBundle of the MutatingWebhookConfiguration). */
  readonly ca: string;
  /** The name the certificate must carry; default db-access-webhook.db-access-webhook.svc. */
  readonly servername?: string;
  /** Concurrent connections the pool may open (default 1: every request reuses one connection). */
  readonly connections?: number;
  /** Client-side idle keep-alive; the apiserver keeps idle connections 90 s. */
  readonly keepAliveTimeoutMs?: number;
}

export interface WebhookAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

export interface PostOptions {
  /** Sent as `?timeout=` (default "10s", as the apiserver does); null sends none. */
  readonly timeout?: string | null;
  readonly contentType?: string | null;
  readonly path?: string;
}

export interface WebhookClient {
  /** POSTs an AdmissionReview (an object is JSON-encoded; a string or Buffer is sent as is). */
  mutate(body: unknown, options?: PostOptions): Promise<WebhookAnswer>;
  get(path: string): Promise<WebhookAnswer>;
  close(): Promise<void>;
}

export function createWebhookClient(options: WebhookClientOptions): WebhookClient {
  const pool = new Pool(options.url, {
    connections: options.connections ?? 1,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 90_000,
    keepAliveMaxTimeout: options.keepAliveTimeoutMs ?? 90_000,
    connect: {
      ca: options.ca,
      servername: options.servername ?? DEFAULT_SERVERNAME,
      rejectUnauthorized: true,
    },
  });

  async function send(method: 'GET' | 'POST', path: string, body?: string | Buffer, contentType?: string | null): Promise<WebhookAnswer> {
    const headers: Record<string, string> = { accept: 'application/json, */*' };
    if (contentType) headers['content-type'] = contentType;
    const res = await pool.request({ method, path, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers as WebhookAnswer['headers'], text, json };
  }

  return {
    mutate(body, postOptions = {}) {
      const timeout = postOptions.timeout === undefined ? '10s' : postOptions.timeout;
      const path = (postOptions.path ?? '/mutate') + (timeout === null ? '' : `?timeout=${encodeURIComponent(timeout)}`);
      const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const contentType = postOptions.contentType === undefined ? 'application/json' : postOptions.contentType;
      return send('POST', path, payload, contentType);
    },
    get: (path) => send('GET', path),
    close: () => pool.close(),
  };
}

/** Opens one TLS connection (CA pinned, SAN checked) and returns the certificate the server presented. */
export function peerCertificate(url: string, ca: string, servername = DEFAULT_SERVERNAME): Promise<PeerCertificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port), ca, servername, rejectUnauthorized: true }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/** An opted-in copy of a fixture AdmissionReview: `db-access/enabled: "true"` added to the pod. */
export function optedIn<T>(review: T, annotations: Record<string, string> = {}): T {
  const copy = structuredClone(review) as any;
  const metadata = (copy.request.object.metadata ??= {});
  metadata.annotations = { ...(metadata.annotations ?? {}), 'db-access/enabled': 'true', ...annotations };
  return copy;
}
