// A throwaway certificate authority for in-test HTTPS servers: clients pin `ca.cert`, servers use an issued pair.
// The same code as the server's development certificates, so tests exercise what `npm start` and certs/ make.
import { createDevCa, issueServingCertificate, type IssueOptions, type PemPair } from '../../src/tls/dev-certificates.ts';

export type TestCa = PemPair;
export type IssuedCertificate = PemPair;
export type { IssueOptions };

export function createTestCa(commonName = 'db-access-webhook test CA'): Promise<TestCa> {
  return createDevCa(commonName);
}

/** A server-and-client leaf certificate for the given names, signed by `ca`. */
export function issueCertificate(ca: TestCa, options: IssueOptions = {}): Promise<IssuedCertificate> {
  return issueServingCertificate(ca, options);
}
