// The benchmark's child-process wrapper: a child that dies fails the run with a message naming its log file.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ChildUnderTest } from '../../bench/lib/child.ts';

t.test('sampling a child that has exited rejects with its exit code and log file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'db-access-child-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'dies.mjs');
  await writeFile(file, 'process.exit(3);\n');
  const logFile = join(dir, 'child.log');
  const child = new ChildUnderTest({ file, env: {}, logFile });
  const [code] = await once(child.process, 'exit');
  t.equal(code, 3, 'it exited by itself');
  await t.rejects(child.sample(), new RegExp(`exited \\(code 3\\); see ${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});
