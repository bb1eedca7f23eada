// The real executable, spawned on this Node: exit codes, stdin, stdout and stderr as a shell sees them.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import t from 'tap';
import { BIN, ROOT, runCli } from './run-cli.ts';

const deployment = readFileSync(new URL('../../examples/deployment.yaml', import.meta.url), 'utf8');

t.test('exit 0: manifests on stdout, from a file or from stdin', async (t) => {
  const [fromFile, fromStdin] = await Promise.all([
    runCli(['inject', '-f', 'examples/deployment.yaml']),
    runCli(['inject', '-f', '-'], deployment),
  ]);
  t.equal(fromFile.code, 0);
  t.equal(fromFile.stderr, '');
  t.match(fromFile.stdout, /^---\n# A typical Deployment/);
  t.match(fromFile.stdout, /\nkind: SecretProviderClass\n/);
  t.equal(fromStdin.code, 0);
  t.equal(fromStdin.stdout, fromFile.stdout);
});

t.test('exit 1 for usage and input errors, exit 2 for a denial; one line on stderr, nothing on stdout', async (t) => {
  const cases: Array<[string, string[], string, number, RegExp]> = [
    ['unknown flag', ['inject', '-f', 'examples/deployment.yaml', '--nope'], '', 1, /^error: unknown flag '--nope' \(see --help\)\n$/],
    ['missing file', ['inject', '-f', 'examples/missing.yaml'], '', 1, /^error: cannot read examples\/missing\.yaml: no such file\n$/],
    ['bad YAML', ['inject', '-f', '-'], 'kind: Pod\nmetadata: name: x\n', 1, /^error: <stdin>:2:11: invalid YAML: /],
    ['denial', ['inject', '-f', '-'], deployment.replace('"true"', '"yes"'), 2, /^error: Deployment\/orders-api \(file <stdin>, document 1\): db-access\/enabled must be "true" or "false"/],
  ];
  const results = await Promise.all(cases.map(([, args, stdin]) => runCli(args, stdin)));
  for (const [i, [name, , , code, stderr]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, code, name);
    t.match(r.stderr, stderr, name);
    t.equal(r.stderr.split('\n').length, 2, `${name}: one line`);
    t.equal(r.stdout, '', name);
  }
});

t.test('--help', async (t) => {
  const r = await runCli(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: db-access-webhook inject/);
  t.match(r.stdout, /Example:/);
});

t.test('an output that cannot be written: one line on stderr, exit 4', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async (t) => {
  const full = openSync('/dev/full', 'w'); // every write fails with ENOSPC, as on a full disk
  t.teardown(() => closeSync(full));
  const child = spawn(process.execPath, [BIN, 'inject', '-f', 'examples/deployment.yaml'], { cwd: ROOT, stdio: ['ignore', full, 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 4);
  t.equal(stderr, 'error: cannot write the output: no space left on device (ENOSPC)\n');
});
