// An in-test Kubernetes API over HTTPS that serves secretproviderclasses.secrets-store.csi.x-k8s.io/v1 the way
// kube-apiserver does (resourceVersion, Status objects), with fault injection and a request log.
// The real @kubernetes/client-node talks to it through kubeConfigFor().
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { createTestCa, issueCertificate } from './test-ca.ts';
import type { TestCa } from './test-ca.ts';
import type { SecretProviderClass } from '../../src/engine/types.ts';

const GROUP = 'secrets-store.csi.x-k8s.io';
const VERSION = 'v1';
const PLURAL = 'secretproviderclasses';
const PATH_RE = new RegExp(`^/apis/${GROUP.replaceAll('.', '\\.')}/${VERSION}/namespaces/([^/]+)/${PLURAL}(?:/([^/]+))?$`);

export type KubeRequestVerb = 'get' | 'list' | 'create' | 'update' | 'delete' | 'other';

export interface KubeRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly verb: KubeRequestVerb;
  readonly namespace?: string;
  readonly name?: string;
  /** What the fake did with it: the injected fault, if any. */
  readonly fault?: string;
  /** The parsed JSON body of a POST or PUT. */
  readonly body?: unknown;
}

export interface StoredSpc {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    [k: string]: unknown;
  };
  spec?: unknown;
  [k: string]: unknown;
}

export interface FaultOptions {
  /** Only requests with these verbs are affected (default: all). */
  readonly verbs?: readonly KubeRequestVerb[];
}

type Fault =
  | { kind: 'status'; code: number; reason: string; retryAfterSeconds?: number; message?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'race'; mutate?: (obj: StoredSpc) => void; remove?: boolean };

interface FaultRule {
  remaining: number;
  readonly verbs: readonly KubeRequestVerb[] | undefined;
  readonly fault: Fault;
}

export interface FakeKubeApi {
  readonly url: string;
  readonly ca: TestCa;
  readonly token: string;
  /** Every request received, in order. */
  readonly requests: KubeRequestRecord[];
  /** TLS connections accepted so far (a keep-alive client reuses one for many requests). */
  readonly tlsConnections: number;
  /** Delay before every answer (0 = none). */
  latencyMs: number;
  /** Stored objects keyed namespace/name. */
  get(namespace: string, name: string): StoredSpc | undefined;
  /** Stores an object as if someone else had written it (resourceVersion assigned). */
  put(obj: StoredSpc | SecretProviderClass): StoredSpc;
  remove(namespace: string, name: string): void;
  /**
   * The next `n` matching requests get a Status error with this code (429/503 may carry Retry-After). `message`
   * replaces the apiserver's usual text for that code (a 403 is an RBAC denial unless told otherwise).
   */
  failNext(n: number, code: number, options?: FaultOptions & { retryAfterSeconds?: number; message?: string }): void;
  /** The next `n` matching requests never get an answer (until close()). */
  hangNext(n: number, options?: FaultOptions): void;
  /** The next `n` matching requests have their connection destroyed. */
  resetNext(n: number, options?: FaultOptions): void;
  /**
   * The next `n` creates/updates lose a race against another replica: a create finds the object just created by
   * the other replica (409 AlreadyExists); an update finds it just modified (409 Conflict). `mutate` shapes
   * what the other replica wrote; `remove` makes an update find the object deleted instead (404).
   */
  raceNext(n: number, options?: FaultOptions & { mutate?: (obj: StoredSpc) => void; remove?: boolean }): void;
  clearFaults(): void;
  /** Requests with the given verb (convenience for assertions). */
  count(verb: KubeRequestVerb): number;
  /** Serves a certificate of another CA from now on, and drops open connections, as a cluster CA rotation does. */
  rotateCa(ca: TestCa): Promise<void>;
  close(): Promise<void>;
}

export interface FakeKubeApiOptions {
  /** Reuse a CA (and its certificate) across servers; a fresh one is made otherwise. */
  readonly ca?: TestCa;
  /** Bearer token the API accepts. */
  readonly token?: string;
}

const FAULT_REASON: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details: details ?? {}, code };
}

function verbOf(method: string, name: string | undefined): KubeRequestVerb {
  switch (method) {
    case 'GET':
      return name === undefined ? 'list' : 'get';
    case 'POST':
      return name === undefined ? 'create' : 'other';
    case 'PUT':
      return name === undefined ? 'other' : 'update';
    case 'DELETE':
      return 'delete';
    default:
      return 'other';
  }
}

async function readBody(req: IncomingMessage, limit = 3 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const ca = options.ca ?? (await createTestCa('fake kube-apiserver CA'));
  const leaf = await issueCertificate(ca, { dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
  const token = options.token ?? `test-token-${randomUUID()}`;
  const objects = new Map<string, StoredSpc>();
  const requests: KubeRequestRecord[] = [];
  let rules: FaultRule[] = [];
  let resourceVersion = 1000;
  const nextVersion = () => String(++resourceVersion);
  const hanging = new Set<ServerResponse>();
  let tlsConnections = 0;

  const api: FakeKubeApi = {
    url: '',
    ca,
    token,
    requests,
    get tlsConnections() {
      return tlsConnections;
    },
    latencyMs: 0,
    get(namespace, name) {
      const obj = objects.get(`${namespace}/${name}`);
      return obj === undefined ? undefined : structuredClone(obj);
    },
    put(obj) {
      const stored = structuredClone(obj) as StoredSpc;
      stored.metadata.resourceVersion = nextVersion();
      stored.metadata.uid ??= randomUUID();
      objects.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
      return structuredClone(stored);
    },
    remove(namespace, name) {
      objects.delete(`${namespace}/${name}`);
    },
    failNext(n, code, opts = {}) {
      const reason = FAULT_REASON[code] ?? 'Unknown';
      rules.push({
        remaining: n,
        verbs: opts.verbs,
        fault: {
          kind: 'status',
          code,
          reason,
          ...(opts.retryAfterSeconds !== undefined ? { retryAfterSeconds: opts.retryAfterSeconds } : {}),
          ...(opts.message !== undefined ? { message: opts.message } : {}),
        },
      });
    },
    hangNext(n, opts = {}) {
      rules.push({ remaining: n, verbs: opts.verbs, fault: { kind: 'hang' } });
    },
    resetNext(n, opts = {}) {
      rules.push({ remaining: n, verbs: opts.verbs, fault: { kind: 'reset' } });
    },
    raceNext(n, opts = {}) {
      rules.push({
        remaining: n,
        verbs: opts.verbs ?? ['create', 'update'],
        fault: { kind: 'race', ...(opts.mutate ? { mutate: opts.mutate } : {}), ...(opts.remove ? { remove: true } : {}) },
      });
    },
    clearFaults() {
      rules = [];
    },
    count(verb) {
      return requests.filter((r) => r.verb === verb).length;
    },
    rotateCa: () => Promise.reject(new Error('not listening yet')), // replaced once the server exists
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function takeFault(verb: KubeRequestVerb): Fault | undefined {
    const rule = rules.find((r) => r.remaining > 0 && (r.verbs === undefined || r.verbs.includes(verb)));
    if (rule === undefined) return undefined;
    rule.remaining--;
    rules = rules.filter((r) => r.remaining > 0);
    return rule.fault;
  }

  function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const match = PATH_RE.exec(url.pathname);
    const namespace = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    const name = match?.[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const method = req.method ?? 'GET';
    const verb = match ? verbOf(method, name) : 'other';
    const record: { -readonly [K in keyof KubeRequestRecord]: KubeRequestRecord[K] } = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      verb,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    };
    requests.push(record);

    const bodyText = await readBody(req);
    if (bodyText.length > 0) {
      try {
        record.body = JSON.parse(bodyText);
      } catch {
        // answered as 400 below
      }
    }
    if (api.latencyMs > 0) await new Promise((r) => setTimeout(r, api.latencyMs));

    if (req.headers.authorization !== `Bearer ${token}`) {
      record.fault = 'unauthorized';
      return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }

    const fault = match ? takeFault(verb) : undefined;
    if (fault?.kind === 'hang') {
      record.fault = 'hang';
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (fault?.kind === 'reset') {
      record.fault = 'reset';
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      record.fault = `status ${fault.code}`;
      const headers: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      const message =
        fault.message ??
        (fault.code === 403
          ? `${PLURAL}.${GROUP} is forbidden: User "system:serviceaccount:db-access-webhook:db-access-webhook" cannot ${verb} resource "${PLURAL}" in API group "${GROUP}" in the namespace "${namespace}"`
          : fault.code === 429
            ? 'Too many requests, please try again later.'
            : `fault injected by the test (${fault.code})`);
      const details: Record<string, unknown> = { name, group: GROUP, kind: PLURAL };
      if (fault.retryAfterSeconds !== undefined) details.retryAfterSeconds = fault.retryAfterSeconds;
      return send(res, fault.code, status(fault.code, fault.reason, message, details), headers);
    }

    if (!match || namespace === undefined) {
      record.fault = 'no-route';
      return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const key = name === undefined ? undefined : `${namespace}/${name}`;
    const notFound = () =>
      send(res, 404, status(404, 'NotFound', `${PLURAL}.${GROUP} "${name}" not found`, { name, group: GROUP, kind: PLURAL }));
    const dryRun = url.searchParams.get('dryRun') === 'All';

    if (verb === 'get' && key !== undefined) {
      const obj = objects.get(key);
      return obj === undefined ? notFound() : send(res, 200, obj);
    }

    let body: StoredSpc;
    if (verb === 'create' || verb === 'update') {
      try {
        body = JSON.parse(bodyText) as StoredSpc;
      } catch {
        return send(res, 400, status(400, 'BadRequest', 'the body of the request was in an unknown format'));
      }
      if (body === null || typeof body !== 'object' || typeof body.metadata !== 'object' || body.metadata === null) {
        return send(res, 400, status(400, 'BadRequest', 'object has no metadata'));
      }
      if (body.apiVersion !== `${GROUP}/${VERSION}` || body.kind !== 'SecretProviderClass') {
        return send(res, 400, status(400, 'BadRequest', `the API version in the data (${String(body.apiVersion)}) does not match the expected API version`));
      }
      if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
        return send(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      }
    } else {
      return send(res, 405, status(405, 'MethodNotAllowed', `the fake does not serve ${method} ${url.pathname}`));
    }

    if (verb === 'create') {
      const newName = body.metadata.name;
      if (typeof newName !== 'string' || newName.length === 0) {
        return send(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
      }
      const newKey = `${namespace}/${newName}`;
      if (fault?.kind === 'race') {
        // Another replica created it a moment earlier.
        record.fault = 'race';
        const theirs = structuredClone(body);
        fault.mutate?.(theirs);
        api.put({ ...theirs, metadata: { ...theirs.metadata, namespace, name: newName } });
      }
      if (objects.has(newKey)) {
        return send(res, 409, status(409, 'AlreadyExists', `${PLURAL}.${GROUP} "${newName}" already exists`, { name: newName, group: GROUP, kind: PLURAL }));
      }
      const stored: StoredSpc = {
        ...body,
        metadata: {
          ...body.metadata,
          namespace,
          name: newName,
          uid: randomUUID(),
          resourceVersion: nextVersion(),
          generation: 1,
          creationTimestamp: new Date().toISOString(),
          managedFields: [{ manager: 'fake', operation: 'Update', apiVersion: `${GROUP}/${VERSION}` }],
        },
      };
      if (!dryRun) objects.set(newKey, stored);
      return send(res, 201, stored);
    }

    // update
    if (fault?.kind === 'race' && fault.remove && key !== undefined) {
      record.fault = 'race-delete';
      objects.delete(key);
    }
    const existing = key === undefined ? undefined : objects.get(key);
    if (existing === undefined || key === undefined) return notFound();
    if (body.metadata.name !== name) {
      return send(res, 400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
    }
    if (fault?.kind === 'race' && !fault.remove) {
      // Another replica updated it a moment earlier: the caller's resourceVersion is now stale.
      record.fault = 'race';
      const theirs = structuredClone(existing);
      fault.mutate?.(theirs);
      api.put(theirs);
    }
    const current = objects.get(key) as StoredSpc;
    if (!body.metadata.resourceVersion) {
      return send(res, 422, status(422, 'Invalid', `${PLURAL}.${GROUP} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`));
    }
    if (body.metadata.resourceVersion !== current.metadata.resourceVersion) {
      return send(
        res,
        409,
        status(409, 'Conflict', `Operation cannot be fulfilled on ${PLURAL}.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
          name,
          group: GROUP,
          kind: PLURAL,
        }),
      );
    }
    const specChanged = JSON.stringify(body.spec) !== JSON.stringify(current.spec);
    const generation = typeof current.metadata.generation === 'number' ? current.metadata.generation : 1;
    const updated: StoredSpc = {
      ...body,
      metadata: {
        ...body.metadata,
        namespace,
        name,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: specChanged ? generation + 1 : generation,
        resourceVersion: nextVersion(),
      },
    };
    if (!dryRun) objects.set(key, updated);
    return send(res, 200, updated);
  }

  const server = https.createServer({ key: leaf.key, cert: leaf.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', 'fake kube API failed'));
      else res.destroy();
    });
  });
  server.on('secureConnection', () => tlsConnections++);
  api.rotateCa = async (next) => {
    const rotated = await issueCertificate(next, { dnsNames: ['localhost', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
    server.setSecureContext({ key: rotated.key, cert: rotated.cert, minVersion: 'TLSv1.2' });
    (api as { ca: TestCa }).ca = next;
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50)); // clients see the close before their next call
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (api as { url: string }).url = `https://127.0.0.1:${port}`;
  return api;
}

/** A real KubeConfig for the fake: server URL, the CA pinned (no skipTLSVerify), bearer-token auth. */
export function kubeConfigFor(api: Pick<FakeKubeApi, 'url' | 'ca' | 'token'>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api.url, caData: Buffer.from(api.ca.cert).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'webhook', token: api.token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'webhook' }],
    currentContext: 'fake',
  });
  return kc;
}
