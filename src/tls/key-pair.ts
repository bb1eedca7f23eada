// Loads and checks a PEM certificate and key. A pair is only used when the certificate parses, is within its
// validity window, and belongs to the key; otherwise the caller keeps what it had.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { secureOptions } from './server-options.ts';

export interface KeyPair {
  /** PEM: the serving certificate, optionally followed by intermediates. */
  readonly cert: string;
  /** PEM private key. Never log it. */
  readonly key: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the leaf certificate, colon-separated hex (safe to log). */
  readonly fingerprint: string;
  readonly subject: string;
  /** e.g. "DNS:localhost, IP Address:127.0.0.1" (safe to log). */
  readonly subjectAltName: string;
  /** Hash of the exact bytes of cert + key: tells a real change from a touch. */
  readonly contentHash: string;
}

/** Why a certificate/key pair was refused. The message never contains key material. */
export class CertificateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CertificateError';
  }
}

export function contentHash(cert: string, key: string): string {
  return createHash('sha256').update(cert).update('\0').update(key).digest('hex');
}

/** Checks a PEM pair; throws CertificateError saying what is wrong. */
export function parseKeyPair(cert: string, key: string, now: Date = new Date()): KeyPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError(`the certificate is not a valid PEM X.509 certificate (${errorCode(err)})`, { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // The library message can quote input; only its code is kept.
    throw new CertificateError(`the private key is not a valid unencrypted PEM private key (${errorCode(err)})`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(`the private key does not belong to the certificate (subject ${x509.subject.replace(/\n/g, ', ')})`);
  }
  // Go clients (kube-apiserver) ignore the Common Name: without a DNS or IP entry, every call would fail TLS.
  const subjectAltName = x509.subjectAltName ?? '';
  if (!/(?:^|, )(?:DNS|IP Address):/.test(subjectAltName)) {
    throw new CertificateError(
      'the certificate has no DNS or IP subjectAltName, and kube-apiserver does not accept the Common Name; ' +
        'issue it for the Service name (<service>.<namespace>.svc)',
    );
  }
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CertificateError(`the certificate expired at ${notAfter.toISOString()}`);
  }
  try {
    // The exact check the TLS stack will make when the pair is installed.
    createSecureContext(secureOptions({ cert, key }));
  } catch (err) {
    throw new CertificateError(`the pair cannot be used for TLS (${errorCode(err)})`);
  }
  return {
    cert,
    key,
    notBefore,
    notAfter,
    fingerprint: x509.fingerprint256,
    subject: x509.subject.replace(/\n/g, ', '),
    subjectAltName,
    contentHash: contentHash(cert, key),
  };
}

/** Reads both files; a file that cannot be read is named by its setting (TLS_CERT_FILE / TLS_KEY_FILE). */
export async function readKeyPairFiles(certFile: string, keyFile: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([
    readSetting('TLS_CERT_FILE', certFile),
    readSetting('TLS_KEY_FILE', keyFile),
  ]);
  return { cert, key };
}

export async function loadKeyPair(certFile: string, keyFile: string, now?: Date): Promise<KeyPair> {
  const { cert, key } = await readKeyPairFiles(certFile, keyFile);
  try {
    return parseKeyPair(cert, key, now);
  } catch (err) {
    if (err instanceof CertificateError) {
      throw new CertificateError(`TLS_CERT_FILE ${JSON.stringify(certFile)} / TLS_KEY_FILE ${JSON.stringify(keyFile)}: ${err.message}`);
    }
    throw err;
  }
}

async function readSetting(setting: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code;
    throw new CertificateError(`${setting} ${JSON.stringify(file)} cannot be read: ${why}`);
  }
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'unknown error';
}
