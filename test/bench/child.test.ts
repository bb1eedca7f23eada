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
  const probe = new URL('../../bench/lib/probe.ts', import.meta.url).pathname;
  const child = new ChildUnderTest({ file, probe, env: {}, logFile });
  const [code] = await once(child.process, 'exit');
  t.equal(code, 3, 'it exited by itself');
  await t.rejects(child.sample(), new RegExp(`exited \\(code 3\\); see ${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

t.test('a child whose port was taken in the meantime is started again on another port', async (t) => {
  const { createServer } = await import('node:net');
  const { createEnvironment, freePort, startEcho } = await import('../../bench/lib/environment.ts');
  const env = await createEnvironment();
  t.teardown(() => env.close());
  // What a parallel test does between freePort() and the child's bind: it takes the port.
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => squatter.close(resolve)));
  const taken = (squatter.address() as import('node:net').AddressInfo).port;
  const picked: number[] = [];
  const echo = await startEcho(env, {
    pickPort: async () => {
      const port = picked.length === 0 ? taken : await freePort();
      picked.push(port);
      return port;
    },
  });
  t.teardown(() => echo.child.stop(2_000));
  t.equal(picked[0], taken);
  t.equal(picked.length, 2, 'one more port was picked');
  t.equal(echo.port, picked[1], 'and the child serves on it');
});
