// The production dependency tree: small, pinned by the lockfile (exact versions with integrity hashes), no install
// scripts, and every direct runtime dependency explained in the README's dependency section.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies?: Record<string, string> };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, { version?: string; integrity?: string; dev?: boolean; devOptional?: boolean; hasInstallScript?: boolean; link?: boolean }>;
};

/**
 * Budget for installed production packages. 174 today, almost all of it the modular AWS SDK v3 (one package per
 * concern: signing, retries, the HTTP handler…). Raising it is a decision to make in review, not by accident.
 */
const PRODUCTION_PACKAGE_BUDGET = 190;

const production = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.dev !== true && entry.devOptional !== true);
const direct = Object.keys(pkg.dependencies ?? {});

t.test('the production tree is small and fully pinned', async (t) => {
  t.comment(`production packages: ${production.length} (direct: ${direct.length}: ${direct.join(', ')})`);
  t.ok(lock.lockfileVersion >= 2, 'a lockfile with the packages map');
  t.ok(production.length <= PRODUCTION_PACKAGE_BUDGET, `${production.length} production packages, budget ${PRODUCTION_PACKAGE_BUDGET}`);
  const unpinned = production.filter(([, e]) => !e.link && (!e.version || !/^sha512-/.test(e.integrity ?? '')));
  t.same(unpinned.map(([p]) => p), [], 'every production package has an exact version and a sha512 integrity hash');
  const scripts = production.filter(([, e]) => e.hasInstallScript);
  t.same(scripts.map(([p]) => p), [], 'no production package runs an install script');
  for (const name of direct) {
    t.ok(lock.packages[`node_modules/${name}`]?.version, `${name} is in the lockfile`);
  }
});

t.test('README explains every direct runtime dependency under a "Dependencies" heading', async (t) => {
  let readme = '';
  try {
    readme = readFileSync(new URL('README.md', root), 'utf8');
  } catch {
    t.fail('README.md is missing');
    return;
  }
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^#{1,6}\s.*dependencies/i.test(l));
  if (start < 0) {
    t.fail('README.md has no heading containing "Dependencies": add a section that lists each runtime dependency and why it is there');
    return;
  }
  const level = (/^(#+)/.exec(lines[start] ?? '')?.[1] ?? '#').length;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^(#+)\s/.exec(lines[i] ?? '');
    if (m && (m[1] ?? '').length <= level) {
      end = i;
      break;
    }
  }
  const section = lines.slice(start, end).join('\n');
  for (const name of direct) {
    t.ok(section.includes(name), `${name} is listed in "${lines[start]?.trim()}"`);
  }
});

t.test('`npm run audit` is documented for users who can reach the advisory service', async (t) => {
  const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  t.match(scripts.audit, /npm audit/, 'package.json has an audit script');
  t.match(readFileSync(new URL('SECURITY.md', root), 'utf8'), /npm run audit/, 'SECURITY.md explains it');
});

/** Every .ts/.js file under a directory of the repository (bounded: the source tree is small). */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(new URL(dir, root), { withFileTypes: true, recursive: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isFile() && /\.(ts|js|mjs)$/.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

t.test('every direct runtime dependency is used by the shipped code (src/, bin/)', async (t) => {
  const text = [...sourceFiles('src/'), ...sourceFiles('bin/')].map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const name of direct) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const used = new RegExp(`(from\\s+|import\\s*\\(\\s*|require\\(\\s*)['"]${escaped}(/[^'"]*)?['"]`).test(text);
    t.ok(used, `${name} is imported by src/ or bin/ (otherwise it belongs in devDependencies, or nowhere)`);
  }
});
