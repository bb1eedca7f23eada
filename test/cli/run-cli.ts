// Runs the real `db-access-webhook` executable as a user would: a child process on this Node, argv, stdin.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/db-access-webhook.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `node bin/db-access-webhook.js ...args` in the repository root; `stdin` is written then closed. */
export function runCli(args: readonly string[], stdin = '', cwd = ROOT): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => {}); // the CLI may exit before reading stdin (e.g. a usage error)
    child.stdin.end(stdin);
  });
}

/**
 * The same command in this process, through `run()` with in-memory streams: what `bin/` does minus the process
 * wiring (which test/cli/process.test.ts covers by spawning). Much cheaper, so most cases use it.
 */
export async function runInProcess(args: readonly string[], stdin = ''): Promise<CliResult> {
  const { run } = await import('../../src/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdin: async () => stdin,
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
  });
  return { code, stdout, stderr };
}
