// Runs the project's TypeScript compiler (TypeScript 7 has no JS API: it is a program), and compiles a tsconfig into
// a directory that node can run from anywhere. Used by the build test and by the benchmark, which runs the server
// as the container image does.
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// lib/tsc.js, not bin/tsc: under tap, the extensionless bin goes through the coverage hooks' require() and fails.
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'lib', 'tsc.js');

/** tsc's standard output. Throws with its diagnostics when it fails. */
export function tsc(args: readonly string[]): string {
  try {
    return execFileSync(process.execPath, [TSC, ...args], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`tsc ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/**
 * Compiles `project` (a tsconfig path relative to the repository) into `outDir` and makes that directory runnable
 * wherever it is: bare imports resolve through a `node_modules` link to the repository's, and the `.js` files are
 * ES modules under their own `"type": "module"`.
 */
export function compileInto(project: string, outDir: string): void {
  tsc(['-p', path.join(REPO_ROOT, project), '--outDir', outDir]);
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
}
