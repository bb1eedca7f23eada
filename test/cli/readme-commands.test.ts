// The README's and docs/cli.md's CLI commands run here, so the docs can never go stale.
// The convention for marking a command as tested is described in ./doc-commands.ts and docs/cli.md.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import t, { type Test } from 'tap';
import { docCommands, matchesOutput } from './doc-commands.ts';
import { BIN, ROOT } from './run-cli.ts';

const RUNS_CLI = /(^|[\s|;&(])(npx\s+)?db-access-webhook(\s|$)/;

// `db-access-webhook` on PATH, as `npm install -g` or a container image would have it; `npx` finds the package bin.
const shimDir = mkdtempSync(join(tmpdir(), 'db-access-doc-'));
t.teardown(() => rmSync(shimDir, { recursive: true, force: true }));
const shim = join(shimDir, 'db-access-webhook');
writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
chmodSync(shim, 0o755);
// node_modules/.bin first so that `node` (and what npx starts) is this project's Node 24.
const PATH = [shimDir, join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);

function sh(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: ROOT, env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

// npm itself may warn (engines, funding) when run through npx; that is not the CLI's output.
const withoutNpmNoise = (stderr: string): string => stderr.split('\n').filter((l) => !/^npm (warn|notice)/.test(l)).join('\n');

async function checkDocument(t: Test, name: string): Promise<void> {
  const markdown = readFileSync(join(ROOT, name), 'utf8');
  const commands = docCommands(markdown).filter((c) => RUNS_CLI.test(c.command));
  t.ok(
    commands.length > 0,
    `${name} has at least one tested db-access-webhook command: a fenced block opened with \`\`\`sh test ` +
      `(convention: docs/cli.md, "Tested commands in Markdown")`,
  );
  // The commands are independent (they only read the repository), so they run side by side.
  const results = await Promise.all(commands.map((c) => sh(c.command)));
  for (const [i, c] of commands.entries()) {
    const r = results[i]!;
    const where = `${name}:${c.line}: ${c.command}`;
    t.equal(r.code, c.expectedExit, `${where} exits ${c.expectedExit}${r.code !== c.expectedExit ? `\n${r.stderr}` : ''}`);
    if (c.output === undefined) continue;
    const actual = c.expectedExit === 0 ? r.stdout : withoutNpmNoise(r.stderr);
    t.ok(matchesOutput(actual, c.output), `${where}: output as documented`, { actual, expected: c.output });
  }
}

t.test('docs/cli.md', (t) => checkDocument(t, 'docs/cli.md'));

t.test('README.md', (t) => checkDocument(t, 'README.md'));

t.test('the convention itself', (t) => {
  const md = [
    'Intro',
    '```sh test',
    '# a comment',
    '$ npx db-access-webhook inject \\',
    '    -f examples/deployment.yaml',
    'db-access-webhook inject -f nope.yaml   # exit 1',
    '```',
    '',
    '```text output',
    'error: cannot read nope.yaml: no such file',
    '```',
    '```sh',
    'db-access-webhook inject -f untested.yaml',
    '```',
    '```sh test',
    'npm ci',
    '```',
    'prose between',
    '```yaml output',
    'not attached: prose comes first',
    '```',
  ].join('\n');
  t.same(docCommands(md), [
    { command: 'npx db-access-webhook inject      -f examples/deployment.yaml', expectedExit: 0, line: 4, output: undefined },
    { command: 'db-access-webhook inject -f nope.yaml', expectedExit: 1, line: 6, output: 'error: cannot read nope.yaml: no such file\n' },
    { command: 'npm ci', expectedExit: 0, line: 16, output: undefined },
  ]);
  t.ok(matchesOutput('a\nb\nc\nd\n', 'a\n...\nd'));
  t.ok(matchesOutput('a\nd\n', 'a\n...\nd\n'));
  t.ok(matchesOutput('a  \nb\n\n', 'a\nb'));
  t.notOk(matchesOutput('a\nb\nc\n', 'a\nc'));
  t.notOk(matchesOutput('a\nb\n', 'a\n...\nc'));
  t.end();
});
