// Development certificates: a throwaway CA and a serving certificate it signs. Used by the server's embedded
// default (no TLS files configured), by `certs/generate.ts`, and by tests. EC P-256 keys: fast to make.
import { generate } from 'selfsigned';

export interface PemPair {
  readonly cert: string;
  /** Never log it. */
  readonly key: string;
}

export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export interface IssueOptions extends Partial<ServingNames> {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export interface DevCertificates {
  readonly ca: PemPair;
  readonly serving: PemPair;
  readonly names: ServingNames;
}

export const DEFAULT_SERVICE = 'db-access-webhook';
export const DEFAULT_NAMESPACE = 'db-access-webhook';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The names the apiserver (`<svc>.<ns>.svc`) and a developer (localhost) use to reach the webhook. */
export function servingNames(service = DEFAULT_SERVICE, namespace = DEFAULT_NAMESPACE): ServingNames {
  return {
    dnsNames: [
      'localhost',
      service,
      `${service}.${namespace}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`,
    ],
    ipAddresses: ['127.0.0.1', '::1'],
  };
}

export async function createDevCa(
  commonName = 'db-access-webhook development CA',
  options: { notBefore?: Date; notAfter?: Date } = {},
): Promise<PemPair> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    // An hour back tolerates clock skew between this machine and the cluster.
    notBeforeDate: options.notBefore ?? new Date(now - HOUR),
    notAfterDate: options.notAfter ?? new Date(now + 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A serving (and client) leaf certificate for the given names, signed by `ca`. */
export async function issueServingCertificate(ca: PemPair, options: IssueOptions = {}): Promise<PemPair> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const now = Date.now();
  const commonName = dnsNames[0] ?? ipAddresses[0] ?? 'localhost';
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: options.notBefore ?? new Date(now - HOUR),
    notAfterDate: options.notAfter ?? new Date(now + 90 * DAY),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
          ...ipAddresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A fresh CA and a serving certificate for `servingNames(service, namespace)`. */
export async function createDevCertificates(
  service = DEFAULT_SERVICE,
  namespace = DEFAULT_NAMESPACE,
  options: { notAfter?: Date } = {},
): Promise<DevCertificates> {
  const names = servingNames(service, namespace);
  const ca = await createDevCa();
  const serving = await issueServingCertificate(ca, { ...names, notAfter: options.notAfter });
  return { ca, serving, names };
}
