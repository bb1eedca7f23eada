// The physical limit of our stack: fastify over HTTPS with the webhook's certificate and server options, parsing
// the same AdmissionReview body and answering a precomputed AdmissionReview of the same size. No engine, no
// store, no logging, no metrics. Run as a child process by bench/run.ts (probe preloaded, IPC channel open).
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { secureOptions } from '../src/tls/server-options.ts';
import { ECHO_SERVER_OPTIONS, HEADERS_TIMEOUT_MS } from './lib/server-options.ts';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? '127.0.0.1';
const certFile = process.env.TLS_CERT_FILE;
const keyFile = process.env.TLS_KEY_FILE;
if (certFile === undefined || keyFile === undefined) throw new Error('echo server needs TLS_CERT_FILE and TLS_KEY_FILE');

/** The answer, swapped by the benchmark per scenario (same size as what the webhook answers for that pod). */
let answer = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":true}}';

process.on('message', (message: unknown) => {
  const m = message as { echo?: string; body?: unknown } | null;
  if (m?.echo === 'set-response' && typeof m.body === 'string') answer = m.body;
});

const app = Fastify({
  ...ECHO_SERVER_OPTIONS,
  https: secureOptions({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }),
});

app.server.headersTimeout = HEADERS_TIMEOUT_MS;
// The same parsing as the webhook: the body as a string, then JSON.parse.
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
  try {
    done(null, JSON.parse(text as string));
  } catch {
    done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
  }
});

app.post('/mutate', async (request, reply) => {
  // The same minimal check a real handler cannot skip, so the body is really parsed and looked at.
  const review = request.body as { request?: { uid?: unknown } } | null;
  if (typeof review?.request?.uid !== 'string') return reply.code(400).send({ message: 'no request.uid' });
  return reply.type('application/json; charset=utf-8').send(answer);
});
app.get('/readyz', async () => ({ status: 'ready' }));

await app.listen({ port, host });

process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
