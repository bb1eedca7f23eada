// Settings from the environment, parsed and validated once at start-up. Nothing else reads process.env
// (except the AWS SDK and the store's choice of cluster configuration, which read their standard variables:
// AWS_*, KUBERNETES_SERVICE_HOST/PORT, KUBECONFIG; src/kube/create-store.ts).
// RFC 1123 label: namespaces, and the environment (it becomes part of a secret name and a CSI object name).
import { DNS1123_LABEL as DNS_LABEL } from './engine/names.ts';
import { isIP } from 'node:net';
import type { EnginePolicy } from './engine/types.ts';
import { quote as quoteValue } from './text.ts';

export type OnKubeError = 'deny' | 'warn';
export type PreflightMode = 'off' | 'warn' | 'deny';
export type KubeMode = 'auto' | 'cluster' | 'memory';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** 0 disables the plain-HTTP probe/metrics listener. */
  readonly metricsPort: number;
  /** Both set, or both undefined (then an in-memory self-signed certificate is used). */
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly environment: string;
  readonly region: string;
  readonly podNamespace: string;
  readonly excludedNamespaces: readonly string[];
  readonly usePodIdentity: boolean;
  readonly urlFromSecret: boolean;
  readonly onKubeError: OnKubeError;
  readonly preflight: PreflightMode;
  /** Empty string disables the organization tag check. */
  readonly preflightOrgTag: string;
  readonly kube: KubeMode;
  readonly logLevel: LogLevel;
  /** Admissions in progress above which new ones get 503 at once (bounds memory when a dependency hangs). */
  readonly maxInFlight: number;
  /** Event-loop delay (ms, mean over a sample) above which /mutate answers 503; 0 disables the check. */
  readonly maxEventLoopDelayMs: number;
  /** At shutdown, how long kept-alive connections stay open while answers close them (startServer().close). */
  readonly drainMs: number;
  /** The engine's view of the settings above. */
  readonly policy: EnginePolicy;
}

/** A setting is wrong. The message names the variable, the value and what is accepted; print it, no stack. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

// us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, ap-southeast-4, eusc-de-east-1 (European Sovereign Cloud) ...
const AWS_REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;
// AWS tag keys: letters, digits, spaces and _ . : / = + - @, at most 128 characters.
const AWS_TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/** Enough for any rollout one replica can serve; each admission in flight holds its (up to 3 MiB) body. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/**
 * kube-apiserver never retries a webhook call: under failurePolicy Fail each 503 is a failed pod creation, while a
 * slow answer within the 10 s timeout still admits the pod. So only a stall far beyond normal (CPU throttling, a
 * starved node) sheds load (BENCHMARKS.md, finding 7).
 */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 2000;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every setting; throws ConfigError on the first bad one. An empty value means "unset". */
export function loadConfig(env: Env = process.env): Config {
  const get = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  };

  const port = portSetting('PORT', get('PORT'), 8443, false);
  // Every IPv4 and IPv6 address (IPv6-only clusters too); the server falls back to 0.0.0.0 without IPv6.
  const host = get('HOST') ?? '::';
  if (isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new ConfigError('HOST', `HOST must be an IP address (e.g. ::, 0.0.0.0, 127.0.0.1) or a host name; got ${quote(host)}`);
  }
  // fastify opens a second server for ::1; certificate reloads and timeouts would reach only the first.
  if (host.toLowerCase() === 'localhost') {
    throw new ConfigError('HOST', 'HOST=localhost listens on two addresses; use 127.0.0.1 or ::1');
  }
  const metricsPort = portSetting('METRICS_PORT', get('METRICS_PORT'), 9090, true);
  if (metricsPort !== 0 && metricsPort === port) {
    // Caught here: the listener would only say EADDRINUSE, naming neither setting.
    throw new ConfigError(
      'METRICS_PORT',
      `METRICS_PORT must differ from PORT (both ${port}): the webhook listens on PORT, probes and metrics on METRICS_PORT, or set METRICS_PORT=0 to disable that listener`,
    );
  }

  const tlsCertFile = get('TLS_CERT_FILE');
  const tlsKeyFile = get('TLS_KEY_FILE');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    const [set, unset] = tlsCertFile === undefined ? ['TLS_KEY_FILE', 'TLS_CERT_FILE'] : ['TLS_CERT_FILE', 'TLS_KEY_FILE'];
    throw new ConfigError(
      unset,
      `${unset} must be set when ${set} is set: give both TLS_CERT_FILE and TLS_KEY_FILE, or neither for a self-signed certificate`,
    );
  }

  const environment = patternSetting(
    'DB_ACCESS_ENVIRONMENT',
    get('DB_ACCESS_ENVIRONMENT'),
    'dev',
    DNS_LABEL,
    'a lowercase DNS label (a-z, 0-9 and "-", at most 63 characters), e.g. dev, staging, prod',
  );
  const region = patternSetting('AWS_REGION', get('AWS_REGION'), 'us-east-1', AWS_REGION, 'an AWS region such as us-east-1 or eu-west-2');
  const podNamespace = patternSetting(
    'POD_NAMESPACE',
    get('POD_NAMESPACE'),
    'db-access-webhook',
    DNS_LABEL,
    'a Kubernetes namespace name (lowercase DNS label)',
  );

  const excludedNamespaces: string[] = [];
  for (const item of (get('DB_ACCESS_EXCLUDED_NAMESPACES') ?? '').split(',')) {
    const ns = item.trim();
    if (ns === '') continue;
    if (!DNS_LABEL.test(ns)) {
      throw new ConfigError(
        'DB_ACCESS_EXCLUDED_NAMESPACES',
        `DB_ACCESS_EXCLUDED_NAMESPACES must be a comma-separated list of namespace names (lowercase DNS labels); got ${quote(ns)}`,
      );
    }
    if (!excludedNamespaces.includes(ns)) excludedNamespaces.push(ns);
  }

  const usePodIdentity = booleanSetting('DB_ACCESS_USE_POD_IDENTITY', get('DB_ACCESS_USE_POD_IDENTITY'));
  const urlFromSecret = booleanSetting('DB_ACCESS_URL_FROM_SECRET', get('DB_ACCESS_URL_FROM_SECRET'));
  const onKubeError = choiceSetting('DB_ACCESS_ON_KUBE_ERROR', get('DB_ACCESS_ON_KUBE_ERROR'), ['deny', 'warn'] as const, 'deny');
  const preflight = choiceSetting('DB_ACCESS_PREFLIGHT', get('DB_ACCESS_PREFLIGHT'), ['off', 'warn', 'deny'] as const, 'off');

  const preflightOrgTag = get('DB_ACCESS_PREFLIGHT_ORG_TAG') ?? '';
  if (preflightOrgTag !== '' && !AWS_TAG_KEY.test(preflightOrgTag)) {
    throw new ConfigError(
      'DB_ACCESS_PREFLIGHT_ORG_TAG',
      `DB_ACCESS_PREFLIGHT_ORG_TAG must be an AWS tag key (letters, digits, spaces and _ . : / = + - @, at most 128 characters) or empty; got ${quote(preflightOrgTag)}`,
    );
  }

  const kube = choiceSetting('DB_ACCESS_KUBE', get('DB_ACCESS_KUBE'), ['auto', 'cluster', 'memory'] as const, 'auto');
  const logLevel = choiceSetting('LOG_LEVEL', get('LOG_LEVEL'), LOG_LEVELS, 'info');
  const maxInFlight = integerSetting('DB_ACCESS_MAX_IN_FLIGHT', get('DB_ACCESS_MAX_IN_FLIGHT'), DEFAULT_MAX_IN_FLIGHT, 1, 1_000_000, 'an integer from 1 to 1000000');
  const maxEventLoopDelayMs = integerSetting(
    'DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS',
    get('DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS'),
    DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
    0,
    60_000,
    'an integer number of milliseconds from 0 (check disabled) to 60000',
  );
  const drainMs =
    1000 * integerSetting('DB_ACCESS_DRAIN_SECONDS', get('DB_ACCESS_DRAIN_SECONDS'), 5, 0, 60, 'an integer number of seconds from 0 to 60');

  const policy: EnginePolicy = {
    environment,
    region,
    webhookNamespace: podNamespace,
    excludedNamespaces,
    usePodIdentity,
    urlFromSecret,
  };

  return {
    port,
    host,
    metricsPort,
    tlsCertFile,
    tlsKeyFile,
    environment,
    region,
    podNamespace,
    excludedNamespaces,
    usePodIdentity,
    urlFromSecret,
    onKubeError,
    preflight,
    preflightOrgTag,
    kube,
    logLevel,
    maxInFlight,
    maxEventLoopDelayMs,
    drainMs,
    policy,
  };
}


function portSetting(name: string, value: string | undefined, fallback: number, zeroDisables: boolean): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) {
    const accepted = zeroDisables ? 'an integer from 0 (disabled) to 65535' : 'an integer from 0 to 65535 (0 picks a free port)';
    throw new ConfigError(name, `${name} must be ${accepted}; got ${quote(value)}`);
  }
  return n;
}

function integerSetting(name: string, value: string | undefined, fallback: number, min: number, max: number, accepted: string): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(name, `${name} must be ${accepted}; got ${quote(value)}`);
  return n;
}

function patternSetting(name: string, value: string | undefined, fallback: string, pattern: RegExp, accepted: string): string {
  if (value === undefined) return fallback;
  if (!pattern.test(value)) throw new ConfigError(name, `${name} must be ${accepted}; got ${quote(value)}`);
  return value;
}

function booleanSetting(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(name, `${name} must be one of true, false; got ${quote(value)}`);
}

/** Any case, like the booleans: `Warn` in a values file means warn. */
function choiceSetting<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if ((choices as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(name, `${name} must be one of ${choices.join(', ')}; got ${quote(value)}`);
}

/** JSON quoting shows spaces and control characters; long values are cut so the message stays readable. */
function quote(value: string): string {
  return quoteValue(value, 100);
}
