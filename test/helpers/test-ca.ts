// A throwaway certificate authority for in-test HTTPS servers: clients pin `ca.cert`, servers use an issued pair.
import { generate } from 'selfsigned';

export interface TestCa {
  /** PEM certificate of the CA: what clients trust. */
  readonly cert: string;
  /** PEM private key of the CA: used only to issue leaf certificates. */
  readonly key: string;
}

export interface IssuedCertificate {
  /** PEM leaf certificate signed by the CA. */
  readonly cert: string;
  /** PEM private key of the leaf. */
  readonly key: string;
}

export interface IssueOptions {
  /** DNS subject alternative names; the first is also the common name. */
  readonly dnsNames?: readonly string[];
  /** IP subject alternative names, e.g. '127.0.0.1'. */
  readonly ipAddresses?: readonly string[];
  /** Validity window; defaults to one hour back to one day ahead (tolerates clock skew). */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const HOUR = 3_600_000;

/** EC P-256 keys: fast to generate, so every test file can afford its own CA. */
export async function createTestCa(commonName = 'db-access-webhook test CA'): Promise<TestCa> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - HOUR),
    notAfterDate: new Date(now + 24 * HOUR),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Issues a server-and-client leaf certificate for the given names, signed by `ca`. */
export async function issueCertificate(ca: TestCa, options: IssueOptions = {}): Promise<IssuedCertificate> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error('issueCertificate needs at least one DNS name or IP address');
  }
  const now = Date.now();
  const commonName = dnsNames[0] ?? ipAddresses[0] ?? 'localhost';
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: options.notBefore ?? new Date(now - HOUR),
    notAfterDate: options.notAfter ?? new Date(now + 24 * HOUR),
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
