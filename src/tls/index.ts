export { CertificateError, loadKeyPair, parseKeyPair, type KeyPair } from './key-pair.ts';
export { CertificateReloader, type ReloadEvent, type ReloaderOptions } from './reloader.ts';
export { loadServingCertificate, type ServingCertificate } from './serving-certificate.ts';
export { secureOptions, TLS_CIPHERS, TLS_MIN_VERSION } from './server-options.ts';
export {
  createDevCa,
  createDevCertificates,
  issueServingCertificate,
  servingNames,
  type DevCertificates,
  type PemPair,
} from './dev-certificates.ts';
