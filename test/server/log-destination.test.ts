// Where log lines go (log-destination.ts): batched, written with write(2), and a failing stdout costs lines, never
// the process or an admission. The child processes run the production logger, as an operator would see it.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { FdWriter, LineBatches, LostLinesReport } from '../../src/server/log-destination.ts';
import { createLogger } from '../../src/server/logger.ts';

/** For writers that cannot fail: a call would be a bug in the test. */
const neverFails = (err: unknown): never => {
  throw new Error(`unexpected write error: ${String(err)}`);
};

t.test('LineBatches: lines are written joined and in order, once a batch is full or when flushed', async (t) => {
  const writes: string[] = [];
  const batches = new LineBatches({ write: (text: string) => writes.push(text) }, 4096, neverFails);
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

t.test('stdout: a log reader that went away changes neither the run nor the exit code, and stderr counts the lines', async (t) => {
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
  t.equal(reports.length, 2, 'one report at the first loss, one at exit for the rest: not one per batch');
  t.match(reports, [{ error: 'EPIPE' }, { error: 'EPIPE' }]);
  t.equal(reports.reduce((sum, r) => sum + (r.droppedLines as number), 0), 2000, 'together they count every line');
});

// /dev/full fails every write with ENOSPC, as a full disk or a broken log device would.
t.test('stdout: a failing stdout neither crashes nor hangs the process, is counted, and holds no lines', { timeout: 20_000, skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, async (t) => {
  const full = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(full));
  const script = `import { createLogger } from ${JSON.stringify(LOGGER_URL)};
const logger = createLogger('info');
logger.info({ n: -1 }, 'admission');
await new Promise((resolve) => setTimeout(resolve, 600)); // the periodic flush meets the failure
globalThis.gc();
const before = process.memoryUsage();
for (let i = 0; i < 100000; i++) logger.info({ uid: 'u-' + i, namespace: 'team-a', decision: 'skip' }, 'admission');
globalThis.gc();
const after = process.memoryUsage();
process.stderr.write(JSON.stringify({ heapGrowth: after.heapUsed - before.heapUsed, bufferGrowth: after.arrayBuffers - before.arrayBuffers }) + '\\n');
process.exit(6);`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', full, 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 6, 'the process ran to its own exit, and the exit flush returned');
  const lines = jsonLines(err);
  const reports = lines.filter((l) => l.msg === DROPPED);
  t.equal(reports.length, 2, 'within the minute: a report at the first loss and one at exit');
  t.match(reports, [
    { level: 50, service: 'db-access-webhook', error: 'ENOSPC', droppedLines: 1 },
    { error: 'ENOSPC', droppedLines: 100_000 },
  ], 'the first lost line at once; the 100,000 after it at exit');
  t.notOk(err.includes('team-a'), 'no line is quoted');
  const growth = lines.find((l) => typeof l.heapGrowth === 'number') as { heapGrowth: number; bufferGrowth: number };
  t.ok(growth.heapGrowth < 2 * 1024 * 1024, `100,000 unwritable lines (about 13 MB) grew the heap by ${growth.heapGrowth} bytes ...`);
  t.ok(growth.bufferGrowth < 1024 * 1024, `... and buffers by ${growth.bufferGrowth} bytes: none are kept`);
});

const errno = (code: string) => Object.assign(new Error(`${code}: write`), { code });

t.test('FdWriter: partial writes are continued, EAGAIN waits a bounded time, other errors throw at once', async (t) => {
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
  const full = new FdWriter(7, { writeSync: () => (calls++, (() => { throw errno('ENOSPC'); })()) });
  t.throws(() => full.write('line\n'), { code: 'ENOSPC' });
  t.equal(calls, 1, 'an error other than EAGAIN is not retried');
});

t.test('FdWriter: a stdout that stays full loses the batch after its wait, and later batches do not wait until it drains', async (t) => {
  let calls = 0;
  let draining = false;
  const written: string[] = [];
  const writer = new FdWriter(7, {
    eagainWaitMs: 50,
    writeSync: (_fd, buffer, offset, length) => {
      calls++;
      if (!draining) throw errno('EAGAIN');
      written.push(Buffer.from(buffer.subarray(offset, offset + length)).toString('utf8'));
      return length;
    },
  });
  const started = performance.now();
  t.throws(() => writer.write('a\n'), { code: 'EAGAIN' }, 'a stdout that stays full loses the batch');
  t.equal(calls, 6, 'after one try and five waits of 10 ms (50 ms) ...');
  t.ok(performance.now() - started >= 40, '... which really wait');
  calls = 0;
  t.throws(() => writer.write('b\n'), { code: 'EAGAIN' });
  t.equal(calls, 1, 'the next batch tries once and does not wait: admissions are not held a second per batch');
  draining = true;
  writer.write('c\n');
  t.same(written, ['c\n'], 'once it takes bytes again, batches are written');
  draining = false;
  calls = 0;
  t.throws(() => writer.write('d\n'));
  t.equal(calls, 6, 'and a later stall waits again');
});

t.test('FdWriter: the wait counts from the last progress; nothing taken counts as full; a cut line spoils no other', async (t) => {
  // Takes 2 bytes, then is full three times (30 ms), over and over: always progressing, never 50 ms without.
  let step = 0;
  let out = '';
  const slow = new FdWriter(7, {
    eagainWaitMs: 50,
    writeSync: (_fd, buffer, offset, length) => {
      if (step++ % 4 !== 0) throw errno('EAGAIN');
      const n = Math.min(2, length);
      out += Buffer.from(buffer.subarray(offset, offset + n)).toString('utf8');
      return n;
    },
  });
  slow.write('0123456789\n');
  t.equal(out, '0123456789\n', 'a slow but steady reader gets the whole batch');

  let zeroes = 0;
  const takesNothing = new FdWriter(7, { eagainWaitMs: 20, writeSync: () => (zeroes++, 0) });
  t.throws(() => takesNothing.write('x\n'), { code: 'EAGAIN' }, 'write(2) returning 0 is waited on like EAGAIN, not spun on');
  t.equal(zeroes, 3);

  let fail = true;
  let text = '';
  const cut = new FdWriter(7, {
    writeSync: (_fd, buffer, offset, length) => {
      if (fail && offset > 0) throw errno('EIO');
      const n = fail ? 5 : length; // the first call takes half of the first line
      text += Buffer.from(buffer.subarray(offset, offset + n)).toString('utf8');
      return n;
    },
  });
  t.throws(() => cut.write('{"n":1}\n{"n":2}\n'), { code: 'EIO' });
  fail = false;
  cut.write('{"n":3}\n');
  t.same(text.split('\n'), ['{"n":', '{"n":3}', ''], 'the next batch starts on a new line: the cut line stays alone');
  cut.write('{"n":4}\n');
  t.same(text.split('\n').slice(-2), ['{"n":4}', ''], 'and only that one');

  // A write that takes nothing must not forget the pending new line; a cut right after a line needs none.
  const calls: string[] = [];
  let mode: 'cut' | 'refuse' | 'cut-at-line' | 'ok' = 'cut';
  const writer = new FdWriter(7, {
    writeSync: (_fd, buffer, offset, length) => {
      const rest = Buffer.from(buffer.subarray(offset, offset + length)).toString('utf8');
      if (mode === 'refuse') throw errno('EIO');
      if (mode === 'ok') return (calls.push(rest), length);
      if (offset > 0) throw errno('EIO');
      const n = mode === 'cut' ? 3 : rest.indexOf('\n') + 1;
      calls.push(rest.slice(0, n));
      return n;
    },
  });
  t.throws(() => writer.write('{"n":5}\n'));
  mode = 'refuse';
  t.throws(() => writer.write('{"n":6}\n'), { code: 'EIO' }, 'a write that takes nothing ...');
  mode = 'ok';
  writer.write('{"n":7}\n');
  t.equal(calls.at(-1), '\n{"n":7}\n', '... leaves the new line pending for the next');
  mode = 'cut-at-line';
  t.throws(() => writer.write('{"n":8}\n{"n":9}\n'));
  mode = 'ok';
  writer.write('{"n":10}\n');
  t.equal(calls.at(-1), '{"n":10}\n', 'a batch cut right after a line adds no empty line');
});

t.test('LineBatches on FdWriter: once stdout works again, every new batch is written, however many were lost', async (t) => {
  let failing = true;
  const written: string[] = [];
  let lost = 0;
  const writer = new FdWriter(1, {
    writeSync: (_fd, buffer, offset, length) => {
      if (failing) throw errno('ENOSPC');
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

t.test('LineBatches: a fatal line is written at once, not with the next batch', async (t) => {
  const writes: string[] = [];
  const logger = createLogger('info', new LineBatches({ write: (text: string) => writes.push(text) }, 4096, neverFails));
  logger.info({ n: 1 }, 'admission');
  t.equal(writes.length, 0);
  logger.fatal({ setting: 'TLS_CERT_FILE' }, 'cannot start');
  t.equal(writes.length, 1, "pino's flushSync after fatal writes the batch");
  t.match(jsonLines(writes[0] ?? ''), [{ n: 1 }, { msg: 'cannot start' }]);
});

t.test('LostLinesReport: at once, then at most once a minute while lines are lost, and whatever is left at exit', async (t) => {
  const out: string[] = [];
  let clock = 0;
  const timers: Array<{ run: () => void; at: number }> = [];
  const report = new LostLinesReport((line) => out.push(line), () => clock, (run, ms) => timers.push({ run, at: clock + ms }));
  const enospc = errno('ENOSPC');
  report.add(enospc, 12);
  t.match(out.map(jsonLines).flat(), [{ msg: DROPPED, error: 'ENOSPC', droppedLines: 12 }], 'the first loss at once');
  clock = 30_000;
  report.add(enospc, 16);
  report.add(enospc, 16);
  t.equal(out.length, 1, 'within the minute: counted, not written ...');
  t.same(timers.map((x) => x.at), [60_000], '... and one report set for the end of the minute');
  clock = 60_000;
  timers[0]?.run();
  t.match(jsonLines(out[1] ?? ''), [{ droppedLines: 32 }], 'then every line lost since, even if none is lost after');
  clock = 70_000;
  report.add(new Error('no code'), 1);
  t.same(timers.map((x) => x.at), [60_000, 120_000], 'the next report is due a minute after the last');
  report.flush();
  t.match(jsonLines(out[2] ?? ''), [{ error: 'Error', droppedLines: 1 }], 'exit reports what is left');
  report.flush();
  t.equal(out.length, 3, 'nothing lost since: nothing to say');

  // A timer that fires late must not follow a report that add() has just written.
  const late: string[] = [];
  let now = 0;
  const pending: Array<() => void> = [];
  const lateReport = new LostLinesReport((line) => late.push(line), () => now, (run) => pending.push(run));
  lateReport.add(enospc, 1);
  now = 30_000;
  lateReport.add(enospc, 1); // sets the timer for 60 s
  now = 61_000;
  lateReport.add(enospc, 1); // the timer has not fired yet: add() reports
  t.equal(late.length, 2);
  now = 61_002;
  lateReport.add(enospc, 3);
  now = 61_005;
  pending.shift()?.();
  t.equal(late.length, 2, 'the late timer writes nothing 5 ms after a report ...');
  t.equal(pending.length, 1, '... and sets another for the lines since');
  now = 121_000;
  pending.shift()?.();
  t.match(jsonLines(late[2] ?? ''), [{ droppedLines: 3 }], 'which reports them a minute after the last report');

  const failing = new LostLinesReport(() => {
    throw new Error('EPIPE on stderr too');
  });
  t.doesNotThrow(() => failing.add(enospc, 1), 'a failing stderr is not a crash');
});
