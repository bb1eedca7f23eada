// The certificate the server starts with: from TLS_CERT_FILE/TLS_KEY_FILE, or made in memory when neither is set.
import type { PemPair } from './dev-certificates.ts';
import { loadKeyPair, parseKeyPair, type KeyPair } from './key-pair.ts';

export interface ServingCertificate {
  readonly pair: KeyPair;
  readonly source: 'files' | 'self-signed';
  /** For 'self-signed': the in-memory CA that signed it (what a client would pin). */
  readonly ca?: PemPair;
}

/** Throws CertificateError (naming TLS_CERT_FILE / TLS_KEY_FILE) when configured files are missing or bad. */
export async function loadServingCertificate(options: {
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly service?: string;
  readonly namespace?: string;
}): Promise<ServingCertificate> {
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    return { pair: await loadKeyPair(options.certFile, options.keyFile), source: 'files' };
  }
  // Loaded only here: the certificate library and its ASN.1 stack cost about 6 MB of RSS that a server with
  // certificate files never needs (BENCHMARKS.md, finding 5).
  const { createDevCertificates } = await import('./dev-certificates.ts');
  const dev = await createDevCertificates(options.service, options.namespace);
  return { pair: parseKeyPair(dev.serving.cert, dev.serving.key), source: 'self-signed', ca: dev.ca };
}
