// `npm run build`: the server as the container image runs it, one esbuild bundle in dist/.
//
// Why a bundle, when development and tests run the .ts sources: RSS (BENCHMARKS.md, finding 5).
// - The sources need Node's type stripper, and it stays loaded for the life of the process (about 28 MB).
// - V8 keeps the source text of every module it loads. @kubernetes/client-node ships about 16 MB of it in 900 files,
//   and we call one of its 60 APIs. Without comments, whitespace and the other 59, about 0.6 MB of it is left.
// - Bundled code must stay ASCII: one non-ASCII character makes V8 hold a whole chunk two bytes per character.
//   Licence comments, which carry names and (c) signs, go to *.LEGAL.txt files beside the chunks.
// Lazily imported parts (the cluster store, the AWS preflight, development certificates) stay in their own chunks,
// so a process reads only the ones it uses. Identifiers are not minified and lines are kept short, so a stack trace
// still names functions and an error that prints its source line does not print a whole chunk.
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SERVER_ENTRY = 'src/server/main.ts';

const OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  splitting: true,
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  lineLimit: 500,
  legalComments: 'external',
  // debug's optional require('supports-color') would otherwise bundle a dev-only package (the build stage has the
  // whole tree). Left out, debug catches the failed require and prints without colours, as in the image.
  external: ['supports-color'],
  // Bundled CommonJS dependencies call require() for Node's built-in modules; ESM has none of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // .js chunks are ES modules only under "type": "module", which dist/ does not have by itself.
  outExtension: { '.js': '.mjs' },
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  metafile: true,
} satisfies BuildOptions;

/**
 * Bundles `entryPoints` (paths relative to the repository) into `outdir`, which is emptied first. The metafile says
 * which sources went into which output, and which outputs import which (statically or with import()).
 */
export async function bundle(entryPoints: readonly string[], outdir: string): Promise<Metafile> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({ ...OPTIONS, absWorkingDir: REPO_ROOT, entryPoints: [...entryPoints], outdir });
  return result.metafile;
}

export interface ServerBuild {
  /** `<outdir>/main.mjs`. */
  readonly main: string;
  readonly metafile: Metafile;
}

export async function buildServer(outdir: string): Promise<ServerBuild> {
  const metafile = await bundle([SERVER_ENTRY], outdir);
  return { main: path.join(outdir, 'main.mjs'), metafile };
}

if (import.meta.main) {
  const { main } = await buildServer(path.join(REPO_ROOT, 'dist'));
  process.stdout.write(`built ${path.relative(REPO_ROOT, main)}\n`);
}
