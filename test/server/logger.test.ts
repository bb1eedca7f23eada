// The process logger: chosen fields pass through as they are; an `err` keeps its diagnosis and nothing else.
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, serializeError } from '../../src/server/logger.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

t.test('one JSON line per call, with the chosen fields unchanged', async (t) => {
  const out = capture();
  const logger = createLogger('info', out.stream);
  logger.info({ uid: 'u1', namespace: 'team-a', decision: 'inject', key: 'not-a-secret-here' }, 'admission');
  logger.debug({ uid: 'hidden' }, 'below the level');
  const lines = out.lines();
  t.equal(lines.length, 1);
  t.match(lines[0], { service: 'db-access-webhook', uid: 'u1', namespace: 'team-a', decision: 'inject', msg: 'admission' });
});

t.test('err keeps type, message, stack, code, status and causes; drops every other property', async (t) => {
  const out = capture();
  const logger = createLogger('info', out.stream);
  const inner = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', config: { headers: { authorization: 'Bearer s3cret' } } });
  const outer = Object.assign(new Error('reading SecretProviderClass a/b: HTTP 500', { cause: inner }), {
    statusCode: 500,
    config: { headers: { authorization: 'Bearer s3cret', 'set-cookie': 'session=s3cret' } },
    password: 's3cret',
  });
  logger.error({ uid: 'u2', err: outer }, 'admission');
  const [line] = out.lines();
  const text = JSON.stringify(line);
  t.notMatch(text, /s3cret/, 'nothing but the diagnosis');
  t.match(line?.err, {
    type: 'Error',
    message: 'reading SecretProviderClass a/b: HTTP 500',
    status: 500,
    cause: { type: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
  });
  t.match((line?.err as { stack?: string }).stack, /reading SecretProviderClass/);
});

t.test('serializeError: non-errors and long cause chains', async (t) => {
  t.same(serializeError('plain text'), { type: 'string', message: 'plain text' });
  t.same(serializeError({ password: 'x' }), { type: 'object', message: 'non-error thrown' });
  const cyclic = new Error('a');
  (cyclic as { cause?: unknown }).cause = cyclic;
  let depth = 0;
  for (let e: { cause?: unknown } | undefined = serializeError(cyclic); e; e = e.cause as typeof e) depth++;
  t.equal(depth, 4, 'a cycle stops after three causes');
});

t.test('an HTTP client error quoting the response in its message: only the text before the quote is kept', async (t) => {
  const { ApiException } = await import('@kubernetes/client-node');
  const err = new ApiException(422, 'Unprocessable', { message: 'value "s3cret-body"' }, { 'set-cookie': 's3cret-header' });
  const out = serializeError(err);
  t.equal(out.message, 'HTTP-Code: 422; Message: Unprocessable');
  t.equal(out.code, 422);
  t.notMatch(JSON.stringify(out), /s3cret/);
  t.match(out.stack, /^Error: HTTP-Code: 422; Message: Unprocessable\n\s+at /);
  const opaque = Object.assign(new Error('failed: {"password":"s3cret"}'), { response: { status: 500 } });
  t.notMatch(JSON.stringify(serializeError(opaque)), /s3cret/, 'without a recognisable quote, the message is dropped');
});
