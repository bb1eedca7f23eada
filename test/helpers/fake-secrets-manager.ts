// An in-test AWS Secrets Manager endpoint over HTTPS speaking the AWS JSON 1.1 protocol
// (POST /, X-Amz-Target: secretsmanager.<Operation>), enough for DescribeSecret, with faults and a call log.
// The real @aws-sdk/client-secrets-manager talks to it through secretsManagerClientConfigFor().
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { createTestCa, issueCertificate } from './test-ca.ts';
import type { TestCa } from './test-ca.ts';

export interface FakeSecret {
  readonly name: string;
  readonly tags?: Record<string, string>;
  /** Set when the secret is scheduled for deletion. */
  readonly deletedDate?: Date;
}

export interface SecretsManagerCall {
  /** The X-Amz-Target operation, e.g. 'DescribeSecret'. */
  readonly operation: string;
  readonly secretId: string | undefined;
  /** True when the request carried a SigV4 Authorization header. */
  readonly signed: boolean;
  /** The access key id it was signed with (SigV4's `Credential=`), which tells whose credentials the SDK used. */
  readonly accessKeyId?: string;
  readonly fault?: string;
}

type Fault = { kind: 'error'; type: string; status: number; message: string } | { kind: 'hang' } | { kind: 'reset' };

export interface FakeSecretsManager {
  readonly url: string;
  readonly ca: TestCa;
  readonly region: string;
  readonly calls: SecretsManagerCall[];
  latencyMs: number;
  addSecret(secret: FakeSecret): void;
  removeSecret(name: string): void;
  /** The next `n` calls fail with this AWS error type (ThrottlingException, AccessDeniedException, …). */
  failNext(n: number, type: string, status?: number): void;
  /** The next `n` calls never get an answer (until close()). */
  hangNext(n: number): void;
  /** The next `n` calls have their connection destroyed. */
  resetNext(n: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface FakeSecretsManagerOptions {
  readonly ca?: TestCa;
  readonly region?: string;
  readonly accountId?: string;
}

const DEFAULT_MESSAGES: Record<string, string> = {
  ThrottlingException: 'Rate exceeded',
  AccessDeniedException: 'User is not authorized to perform: secretsmanager:DescribeSecret',
  InternalServiceError: 'An error occurred on the server side.',
  ResourceNotFoundException: "Secrets Manager can't find the specified secret.",
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeSecretsManager(options: FakeSecretsManagerOptions = {}): Promise<FakeSecretsManager> {
  const ca = options.ca ?? (await createTestCa('fake Secrets Manager CA'));
  const leaf = await issueCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const secrets = new Map<string, FakeSecret & { arn: string }>();
  const calls: SecretsManagerCall[] = [];
  let faults: Array<{ remaining: number; fault: Fault }> = [];
  const hanging = new Set<ServerResponse>();

  const arnOf = (name: string) => `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-AbCdEf`;

  const fake: FakeSecretsManager = {
    url: '',
    ca,
    region,
    calls,
    latencyMs: 0,
    addSecret(secret) {
      secrets.set(secret.name, { ...secret, arn: arnOf(secret.name) });
    },
    removeSecret(name) {
      secrets.delete(name);
    },
    failNext(n, type, status = type === 'InternalServiceError' ? 500 : 400) {
      faults.push({ remaining: n, fault: { kind: 'error', type, status, message: DEFAULT_MESSAGES[type] ?? `${type} injected by the test` } });
    },
    hangNext(n) {
      faults.push({ remaining: n, fault: { kind: 'hang' } });
    },
    resetNext(n) {
      faults.push({ remaining: n, fault: { kind: 'reset' } });
    },
    clearFaults() {
      faults = [];
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': crypto.randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, status: number, type: string, message: string): void {
    send(res, status, { __type: type, message }, { 'x-amzn-errortype': type });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
    const bodyText = await readBody(req);
    let body: { SecretId?: unknown } = {};
    try {
      body = JSON.parse(bodyText || '{}') as { SecretId?: unknown };
    } catch {
      // answered below
    }
    const secretId = typeof body.SecretId === 'string' ? body.SecretId : undefined;
    const authorization = String(req.headers.authorization ?? '');
    const signed = authorization.startsWith('AWS4-HMAC-SHA256 ');
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1];
    const call: { -readonly [K in keyof SecretsManagerCall]: SecretsManagerCall[K] } = { operation, secretId, signed, ...(accessKeyId ? { accessKeyId } : {}) };
    calls.push(call);

    if (fake.latencyMs > 0) await new Promise((r) => setTimeout(r, fake.latencyMs));

    const rule = faults.find((f) => f.remaining > 0);
    if (rule) {
      rule.remaining--;
      faults = faults.filter((f) => f.remaining > 0);
      const fault = rule.fault;
      call.fault = fault.kind === 'error' ? fault.type : fault.kind;
      if (fault.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      return sendError(res, fault.status, fault.type, fault.message);
    }

    if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
      return sendError(res, 404, 'UnknownOperationException', 'not found');
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
      return sendError(res, 400, 'SerializationException', 'wrong content type');
    }
    if (!signed) {
      return sendError(res, 400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    if (operation !== 'DescribeSecret') {
      // The webhook must only ever describe secrets; anything else (GetSecretValue!) is refused and logged.
      return sendError(res, 400, 'AccessDeniedException', `the fake only serves DescribeSecret, not ${operation}`);
    }
    if (secretId === undefined) {
      return sendError(res, 400, 'InvalidParameterException', 'SecretId is required');
    }
    const secret = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);
    if (secret === undefined) {
      return sendError(res, 400, 'ResourceNotFoundException', DEFAULT_MESSAGES.ResourceNotFoundException as string);
    }
    const created = Date.UTC(2024, 0, 1) / 1000;
    send(res, 200, {
      ARN: secret.arn,
      Name: secret.name,
      Description: 'database credentials',
      CreatedDate: created,
      LastChangedDate: created + 60,
      ...(secret.tags ? { Tags: Object.entries(secret.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
      ...(secret.deletedDate ? { DeletedDate: secret.deletedDate.getTime() / 1000 } : {}),
      VersionIdsToStages: { 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111': ['AWSCURRENT'] },
    });
  }

  const server = https.createServer({ key: leaf.key, cert: leaf.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'InternalServiceError', 'fake failed');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (fake as { url: string }).url = `https://127.0.0.1:${port}`;
  return fake;
}

/**
 * Client settings that point the real SDK at the fake: its endpoint, an https.Agent trusting the test CA,
 * static fake credentials, and no retries unless asked. Timeouts are generous (tests on a busy machine); pass
 * tighter ones to test them. Destroy `agent` in teardown.
 */
export function secretsManagerClientConfigFor(
  fake: Pick<FakeSecretsManager, 'url' | 'ca' | 'region'>,
  extra: { maxAttempts?: number; requestTimeout?: number; connectionTimeout?: number; endpoint?: string } = {},
): { clientConfig: SecretsManagerClientConfig; agent: https.Agent } {
  const agent = new https.Agent({ ca: fake.ca.cert, keepAlive: true, minVersion: 'TLSv1.2' });
  return {
    agent,
    clientConfig: {
      region: fake.region,
      endpoint: extra.endpoint ?? fake.url,
      credentials: { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake/secret/for/tests/only' },
      maxAttempts: extra.maxAttempts ?? 1,
      requestHandler: {
        httpsAgent: agent,
        requestTimeout: extra.requestTimeout ?? 10_000,
        connectionTimeout: extra.connectionTimeout ?? 5_000,
        throwOnRequestTimeout: true,
      },
    },
  };
}
