// The Dockerfile's invariants, checked without a Docker engine: multi-stage on the pinned Node major, production
// dependencies only, a numeric non-root USER, an entrypoint compiled from the server's sources, and a .dockerignore
// that keeps dependencies, git history and keys out of the build context. test/build.test.ts runs that compiled
// entry.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, posix } from 'node:path';
import { SERVER_ENTRY } from '../scripts/build.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trimEnd()} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current !== '') logical.push(current);
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: from?.[1] ?? args, name: from?.[2], instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`instruction before FROM: ${line}`);
    } else {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

const stages = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const nodeMajor = /^>=(\d+)/.exec(pkg.engines.node)?.[1];

t.test('the parser sees what it should (so the checks below can fail)', async (t) => {
  const s = parseDockerfile('# c\nFROM a:1 AS x\nRUN one \\\n  # inner comment\n  two\nFROM b:2\nUSER 1:1\n');
  t.same(s, [
    { from: 'a:1', name: 'x', instructions: [{ keyword: 'RUN', args: 'one two' }] },
    { from: 'b:2', name: undefined, instructions: [{ keyword: 'USER', args: '1:1' }] },
  ]);
  t.throws(() => parseDockerfile('RUN x\nFROM a'));
});

t.test('multi-stage, every FROM on the Node major the project pins', async (t) => {
  t.equal(nodeMajor, '24', 'package.json engines pins Node 24');
  t.ok(stages.length >= 2, 'at least two stages');
  for (const stage of stages) {
    t.notMatch(stage.from, /:latest$|^[^:@]+$/, `${stage.from}: a tag, not latest`);
    // node:24-…, or distroless nodejs24-…
    t.match(stage.from, new RegExp(`^(node:${nodeMajor}[-.]|gcr\\.io/distroless/nodejs${nodeMajor}-)`), `${stage.from}: Node ${nodeMajor}`);
  }
  t.match(final.from, /distroless|-slim/, 'the runtime stage is distroless or slim');
});

t.test('the final stage runs as a numeric non-root user', async (t) => {
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  t.ok(users.length >= 1, 'USER is set in the final stage');
  const last = users.at(-1)?.args ?? '';
  t.match(last, /^\d+(:\d+)?$/, 'numeric UID[:GID], so runAsNonRoot can be verified');
  const [uid, gid] = last.split(':').map(Number);
  t.ok(uid !== undefined && uid > 0, 'UID is not 0');
  t.ok(gid === undefined || gid > 0, 'GID is not 0');
  const values = readFileSync(join(root, 'charts', 'db-access-webhook', 'values.yaml'), 'utf8');
  t.match(values, new RegExp(`\\n  runAsUser: ${String(uid)}\\n`), 'the chart runs the same UID');
});

/** The stage a `COPY --from=NAME` reads. */
function stageNamed(name: string): Stage | undefined {
  return stages.find((s) => s.name === name);
}
function copiesFrom(stage: Stage): Array<{ from: string | undefined; sources: string[]; args: string }> {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const parts = i.args.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: parts.filter((p) => !p.startsWith('--')).slice(0, -1), args: i.args };
    });
}

t.test('every install is from the lockfile; the image gets production dependencies only', async (t) => {
  const installs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args)).map((i) => ({ stage: s, i })));
  t.ok(installs.length >= 1, 'dependencies are installed in a build stage');
  for (const { stage, i } of installs) {
    t.not(stage, final, 'no npm in the runtime stage (it has none)');
    t.match(i.args, /\bnpm ci\b/, 'from the lockfile');
    t.match(i.args, /--ignore-scripts\b/, 'no dependency runs code at build time');
  }
  t.notOk(final.instructions.some((i) => i.keyword === 'ADD'), 'COPY, not ADD (no remote URLs or archive unpacking)');
  const copies = copiesFrom(final);
  for (const c of copies) {
    t.notOk(c.sources.some((s) => s === '.' || s === './' || s === '/app' || s === '/app/'), `${c.args}: not the whole context or stage`);
    t.notOk(c.sources.some((s) => /^(test|bench|docs|examples|charts|certs)\b/.test(s)), `${c.args}: nothing but runtime files`);
  }
  const modules = copies.filter((c) => c.sources.some((s) => /node_modules/.test(s)));
  t.equal(modules.length, 1, 'node_modules is copied once');
  const depsStage = stageNamed(modules[0]?.from ?? '');
  t.ok(depsStage, 'from a named stage');
  const depsInstall = depsStage?.instructions.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  t.match(depsInstall?.args, /--omit=dev\b/, 'that stage installs without dev dependencies');
  t.notMatch(depsInstall?.args, /--include=dev|--production=false/);
  for (const c of copies.filter((c) => c.from !== undefined && c !== modules[0])) {
    t.same(c.sources, ['/app/dist'], `${c.args}: only the bundle comes from another stage`);
  }
  t.ok(copies.some((c) => c.from === undefined && c.sources[0] === 'package.json'), 'package.json is copied (it names the app and the dependencies beside it)');
  t.notOk(copies.some((c) => c.from === undefined && c.sources.some((s) => /^src\b/.test(s))), 'the .ts sources are not in the image');
});

t.test('the image runs the bundle `npm run build` makes of the server entry, by node, in exec form', async (t) => {
  const entry = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  t.ok(entry, 'ENTRYPOINT set');
  const argv = JSON.parse(entry?.args ?? 'null') as unknown;
  t.ok(Array.isArray(argv), 'exec form: node is PID 1 and gets SIGTERM directly');
  t.match((argv as string[])[0], /\/node$/);
  t.equal((argv as string[])[1], 'dist/main.mjs', 'what buildServer() writes (test/build.test.ts runs it)');
  t.notOk(final.instructions.some((i) => i.keyword === 'RUN'), 'no RUN in the runtime stage: distroless has no shell');

  const dist = copiesFrom(final).find((c) => c.sources.includes('/app/dist'));
  const build = stageNamed(dist?.from ?? '');
  t.ok(build, 'dist/ comes from a named build stage');
  // Where the bundle lands and where node looks for it: the final WORKDIR, the COPY's destination, the entrypoint.
  const workdir = (stage: Stage | undefined) => stage?.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args ?? '/';
  const copiedTo = posix.resolve(workdir(final), dist?.args.split(/\s+/).at(-1) ?? '');
  t.equal(posix.resolve(workdir(final), (argv as string[])[1] ?? ''), posix.join(copiedTo, 'main.mjs'), 'node runs main.mjs of the copied bundle');
  t.equal(posix.join(workdir(build), 'dist'), '/app/dist', 'the build stage writes dist/ where the COPY takes it from');
  t.ok(build?.instructions.some((i) => i.keyword === 'RUN' && /^npm run build$/.test(i.args)), 'which runs `npm run build`');
  t.equal(pkg.scripts['build'], 'node scripts/build.ts');
  const copied = build?.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1)) ?? [];
  // tsconfig.json: esbuild reads it, as for the bundles the tests and the bench make, so all are built alike.
  for (const needed of ['package-lock.json', 'tsconfig.json', 'scripts', 'src']) t.ok(copied.includes(needed), `the build stage has ${needed}`);
  t.equal(SERVER_ENTRY, 'src/server/main.ts', 'the bundle is of the entry npm start runs');
  t.match(pkg.scripts['start'], /node src\/server\/main\.ts/);
});

t.test('.dockerignore keeps dependencies, history and keys out of the build context', async (t) => {
  const file = join(root, '.dockerignore');
  t.ok(existsSync(file));
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const needed of ['node_modules', 'dist', '.git', '*.key', '*-key.pem', 'test', 'bench', 'docs', 'certs']) t.ok(patterns.includes(needed), needed);
  for (const used of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    t.notOk(patterns.some((p) => p === used || p === `${used}/`), `${used} is not ignored (the Dockerfile needs it)`);
  }
  t.notOk(patterns.some((p) => p.startsWith('!')), 'no re-includes that could undo the exclusions');
});
