// The process logger: chosen fields pass through as they are; an `err` keeps its diagnosis and nothing else.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { Writable } from 'node:stream';
import { FdWriter, LineBatches, createLogger, serializeError, stdoutFailureReporter } from '../../src/server/logger.ts';

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

t.test('LineBatches: lines are written joined and in order, once a batch is full or when flushed', async (t) => {
  const writes: string[] = [];
  const batches = new LineBatches({ write: (text: string) => writes.push(text) }, 4096);
  const line = (n: number) => `${JSON.stringify({ n, pad: 'x'.repeat(1480) })}\n`;
  batches.write(line(1));
  batches.write(line(2));
  t.same(writes, [], 'under 4096 characters: nothing written yet');
  batches.write(line(3));
  t.same(writes, [line(1) + line(2) + line(3)], 'one write holds the whole batch');
  batches.flush();
  t.equal(writes.length, 1, 'nothing pending: a flush writes nothing');
  batches.write(line(4));
  batches.flush();
  t.same(writes, [line(1) + line(2) + line(3), line(4)], 'a flush writes what is pending');
  batches.write(line(5));
  const logger = createLogger('info', batches);
  await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
  t.equal(writes.at(-1), line(5), "pino's logger.flush(cb) writes the batch and calls back");
});

t.test('LineBatches: a write that throws loses only its batch, is reported, and does not reach the caller', async (t) => {
  const written: string[] = [];
  const reported: Array<{ err: unknown; lines: number }> = [];
  let failing = true;
  const target = {
    write: (text: string) => {
      if (failing) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      written.push(text);
    },
  };
  const flushOf = (logger: ReturnType<typeof createLogger>) =>
    new Promise<Error | undefined>((resolve) => logger.flush((err) => resolve(err)));

  const batched = createLogger('info', new LineBatches(target, 10_000, (err, lines) => reported.push({ err, lines })));
  batched.info({ n: 1 }, 'admission');
  batched.info({ n: 2 }, 'admission');
  t.same(reported, [], 'nothing written yet');
  t.match(await flushOf(batched), { code: 'EIO' }, "pino's flush callback hears of the failure");
  t.equal(reported.length, 1, 'the failed write is reported once');
  t.match(reported[0], { err: { code: 'EIO' }, lines: 2 }, 'with the number of lines it held');

  const eager = createLogger('info', new LineBatches(target, 1, (err, lines) => reported.push({ err, lines })));
  t.doesNotThrow(() => eager.info({ n: 3 }, 'admission'), 'a full batch that fails to write does not throw at the caller');
  t.equal(reported.length, 2);

  failing = false;
  batched.info({ n: 4 }, 'admission');
  t.equal(await flushOf(batched), undefined, 'a write that succeeds calls back without an error');
  t.same(
    written.join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n),
    [4],
    'once the target works again, new lines are written; the failed batches are not written twice',
  );
});

// The production destination batches writes to stdout. A child process shows what an operator would see on its
// stdout: lines arrive without waiting for a batch to fill, and none are lost when the process exits.
const LOGGER_URL = new URL('../../src/server/logger.ts', import.meta.url).href;

function runLoggerChild(script: string): { child: ChildProcess; lines: () => Array<Record<string, unknown>>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { createLogger } from ${JSON.stringify(LOGGER_URL)};\n${script}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    exited,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

t.test('stdout: a lone line is written while the process runs, without waiting for a full batch', async (t) => {
  // The child logs one short line, then lives on; after 20 s it kills itself, so no exit flush can help.
  const run = runLoggerChild(`createLogger('info').info({ uid: 'lone' }, 'admission');
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 20_000);`);
  t.teardown(() => run.child.kill('SIGKILL'));
  const seen = await new Promise<boolean>((resolve) => {
    const poll = setInterval(() => {
      if (run.lines().some((l) => l.uid === 'lone')) {
        clearInterval(poll);
        resolve(true);
      }
    }, 20);
    void run.exited.then(() => {
      clearInterval(poll);
      resolve(false); // it died first (SIGKILL, no exit flush): the line was never written while it ran
    });
  });
  t.ok(seen, 'the line reached stdout');
  t.equal(run.child.exitCode, null, 'while the process was still running');
});

t.test('stdout: lines still in the batch are written when the process exits', async (t) => {
  const run = runLoggerChild(`const logger = createLogger('info');
for (let i = 0; i < 500; i++) logger.info({ n: i }, 'admission');
logger.fatal({ error: 'bad setting' }, 'cannot start');
process.exit(3);`);
  t.equal(await run.exited, 3);
  const lines = run.lines();
  t.same(
    lines.filter((l) => l.msg === 'admission').map((l) => l.n),
    Array.from({ length: 500 }, (_, i) => i),
    'every line, in order',
  );
  t.match(lines.at(-1), { msg: 'cannot start', error: 'bad setting' }, 'the last line before exit too');
});

/** The JSON lines a child wrote to stderr (other lines, such as Node's warnings, are skipped). */
function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const DROPPED = 'log lines could not be written to stdout and were dropped';

t.test('stdout: a log reader that went away changes neither the run nor the exit code, and stderr says so', async (t) => {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { createLogger } from ${JSON.stringify(LOGGER_URL)};
const logger = createLogger('info');
await new Promise((resolve) => setTimeout(resolve, 300)); // the parent closes its end meanwhile
for (let i = 0; i < 2000; i++) logger.info({ n: i }, 'admission');
process.exit(4);`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  child.stdout?.destroy();
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 4, 'EPIPE is not a crash, and the exit flush does not throw');
  const reports = jsonLines(err).filter((l) => l.msg === DROPPED);
  t.equal(reports.length, 1, 'one report, not one per batch');
  t.match(reports[0], { error: 'EPIPE' });
});

// /dev/full fails every write with ENOSPC, as a full disk or a broken log device would.
t.test('stdout: a failing stdout neither crashes nor hangs the process, is reported once, and holds no lines', { timeout: 20_000, skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, async (t) => {
  const full = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(full));
  const script = `import { createLogger } from ${JSON.stringify(LOGGER_URL)};
const logger = createLogger('info');
logger.info({ n: -1 }, 'admission');
await new Promise((resolve) => setTimeout(resolve, 600)); // the periodic flush meets the failure
globalThis.gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < 100000; i++) logger.info({ uid: 'u-' + i, namespace: 'team-a', decision: 'skip' }, 'admission');
globalThis.gc();
process.stderr.write(JSON.stringify({ heapGrowth: process.memoryUsage().heapUsed - before }) + '\\n');
process.exit(6);`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', full, 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 6, 'the process ran to its own exit, and the exit flush returned');
  const lines = jsonLines(err);
  const reports = lines.filter((l) => l.msg === DROPPED);
  t.equal(reports.length, 1, 'one report within the minute, not one per batch');
  t.match(reports[0], { level: 50, service: 'db-access-webhook', error: 'ENOSPC', droppedLines: 1 }, 'at once, for the first lost line');
  t.notOk(JSON.stringify(reports[0]).includes('team-a'), 'it quotes no line');
  const growth = lines.find((l) => typeof l.heapGrowth === 'number')?.heapGrowth as number;
  t.ok(growth < 2 * 1024 * 1024, `100,000 unwritable lines (about 13 MB) grew the heap by ${growth} bytes: none are kept`);
});

t.test('FdWriter: partial writes are continued, EAGAIN waits a bounded time, other errors throw at once', async (t) => {
  const errno = (code: string) => Object.assign(new Error(`${code}: write`), { code });
  const text = 'é'.repeat(50); // 100 bytes: offsets count bytes, not characters
  let written = Buffer.alloc(0);
  const partial = new FdWriter(7, {
    writeSync: (fd, buffer, offset, length) => {
      t.equal(fd, 7);
      const n = Math.min(length, 30);
      written = Buffer.concat([written, buffer.subarray(offset, offset + n)]);
      return n;
    },
  });
  partial.write(text);
  t.equal(written.toString('utf8'), text, 'four partial writes make the whole text, in order');

  let calls = 0;
  const busyTwice = new FdWriter(7, {
    writeSync: (_fd, _buffer, _offset, length) => {
      if (++calls <= 2) throw errno('EAGAIN');
      return length;
    },
  });
  busyTwice.write('line\n');
  t.equal(calls, 3, 'a stdout that was full for a moment takes the batch on the third try');

  calls = 0;
  const alwaysBusy = new FdWriter(7, { eagainWaitMs: 50, writeSync: () => (calls++, (() => { throw errno('EAGAIN'); })()) });
  const started = performance.now();
  t.throws(() => alwaysBusy.write('line\n'), { code: 'EAGAIN' }, 'a stdout that stays full loses the batch');
  t.ok(calls >= 2 && calls <= 7, `after a bounded number of tries (${calls}) ...`);
  t.ok(performance.now() - started < 5_000, '... and a bounded wait');

  calls = 0;
  const full = new FdWriter(7, { writeSync: () => (calls++, (() => { throw errno('ENOSPC'); })()) });
  t.throws(() => full.write('line\n'), { code: 'ENOSPC' });
  t.equal(calls, 1, 'an error other than EAGAIN is not retried');
});

t.test('LineBatches on FdWriter: once stdout works again, every new batch is written, however many were lost', async (t) => {
  let failing = true;
  const written: string[] = [];
  let lost = 0;
  const writer = new FdWriter(1, {
    writeSync: (_fd, buffer, offset, length) => {
      if (failing) throw Object.assign(new Error('ENOSPC: write'), { code: 'ENOSPC' });
      written.push(Buffer.from(buffer.subarray(offset, offset + length)).toString('utf8'));
      return length;
    },
  });
  const logger = createLogger('info', new LineBatches(writer, 4096, (_err, lines) => (lost += lines)));
  for (let i = 0; i < 50_000; i++) logger.info({ n: i, pad: 'x'.repeat(40) }, 'admission'); // about 6 MB
  logger.flush();
  t.equal(lost, 50_000, 'every line of a failing stdout is counted as lost');
  failing = false;
  logger.info({ n: 'after' }, 'admission');
  logger.flush();
  t.equal(written.length, 1, 'the next batch is written');
  t.match(JSON.parse(written[0] ?? '{}'), { n: 'after' }, 'and holds only the new line: nothing lost is replayed');
});

t.test('stdoutFailureReporter: at once, then at most once a minute with the lines dropped since, never throwing', async (t) => {
  const out: string[] = [];
  let clock = 0;
  const report = stdoutFailureReporter((line) => out.push(line), () => clock);
  const enospc = Object.assign(new Error('ENOSPC: write'), { code: 'ENOSPC' });
  report(enospc, 12);
  clock = 30_000;
  report(enospc, 16);
  report(enospc, 16);
  t.equal(out.length, 1, 'within the minute: counted, not written');
  t.match(jsonLines(out[0] ?? ''), [{ msg: DROPPED, error: 'ENOSPC', droppedLines: 12 }]);
  clock = 61_000;
  report(new Error('no code'), 1);
  t.match(jsonLines(out[1] ?? ''), [{ error: 'Error', droppedLines: 33 }], 'a minute later, with every line since the last report');
  const failing = stdoutFailureReporter(() => {
    throw new Error('EPIPE on stderr too');
  });
  t.doesNotThrow(() => failing(enospc, 1), 'a failing stderr is not a crash');
});
