import t from 'tap';
import { TLS_TRUST_ERRORS } from '../src/kube/api-agent.ts';
import { networkErrorCode, networkErrorWords } from '../src/network-errors.ts';

t.test("the socket error is found under fetch's and the SDK's wrappers", async (t) => {
  // undici's fetch: TypeError('fetch failed') without a code, the socket error as its cause.
  const fetchError = new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
  t.equal(networkErrorCode(fetchError), 'ECONNREFUSED');
  t.equal(networkErrorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
});

t.test("an SDK's own error name is passed over for the network code beneath it", async (t) => {
  const socket = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const sdk = Object.assign(new Error('TimeoutError'), { code: 'TimeoutError', cause: socket });
  t.equal(networkErrorCode(sdk), 'ECONNRESET');
  t.equal(networkErrorCode(Object.assign(new Error('no'), { code: 'ResourceNotFoundException' })), undefined);
});

t.test('no code, a non-object, a numeric code, or a chain deeper than five gives none', async (t) => {
  t.equal(networkErrorCode(new Error('plain')), undefined);
  t.equal(networkErrorCode('ECONNREFUSED'), undefined);
  t.equal(networkErrorCode(null), undefined);
  t.equal(networkErrorCode(Object.assign(new Error('dom'), { code: 20 })), undefined);
  t.equal(networkErrorCode(Object.assign(new Error('odd'), { code: 'constructor' })), undefined, 'not an inherited key');
  t.equal(networkErrorWords('constructor'), 'constructor');
  let deep: Error = Object.assign(new Error('bottom'), { code: 'ECONNRESET' });
  for (let i = 0; i < 5; i++) deep = new Error(`wrap ${i}`, { cause: deep });
  t.equal(networkErrorCode(deep), undefined, 'six deep is not searched');
  t.equal(networkErrorCode((deep as Error & { cause: unknown }).cause), 'ECONNRESET', 'five deep is');
});

t.test('every TLS error that triggers a CA re-read is recognized, so the retry can happen', async (t) => {
  for (const code of TLS_TRUST_ERRORS) t.equal(networkErrorCode(Object.assign(new Error('tls'), { code })), code, code);
});

t.test('known codes read as words; unknown ones as themselves', async (t) => {
  t.equal(networkErrorWords('ECONNREFUSED'), 'connection refused');
  t.equal(networkErrorWords('EPIPE'), 'connection reset');
  t.equal(networkErrorWords('CERT_HAS_EXPIRED'), 'TLS: certificate expired');
  t.equal(networkErrorWords('ESOMETHINGNEW'), 'ESOMETHINGNEW');
});
