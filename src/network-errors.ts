// Socket, DNS and TLS failures in words, for admission warnings and logs. Shared by the Kubernetes and the AWS
// adapter, so one failure reads the same whichever dependency it hit. No I/O.

const WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: certificate not trusted',
  CERT_SIGNATURE_FAILURE: 'TLS: certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate name mismatch',
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
};

/** Node's, OpenSSL's and undici's codes are upper case (ECONNRESET, CERT_HAS_EXPIRED, UND_ERR_SOCKET); the AWS SDK's
 * own error names are not (ResourceNotFoundException). */
const NETWORK_CODE = /^[A-Z][A-Z0-9_]*$/;

/**
 * The network error code carried by `err` or one of its causes (fetch and the AWS SDK wrap the socket error), at
 * most five deep. A code that is not upper case (an SDK's own error name) is passed over.
 */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODE.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What a network error code means, for a message; an unknown code is shown as it is. */
export function networkErrorWords(code: string): string {
  return Object.hasOwn(WORDS, code) ? (WORDS[code] as string) : code;
}
