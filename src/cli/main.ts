// `db-access-webhook`: argv → files → engine → stdout. The only module of the CLI that touches process.
import { readFileSync } from 'node:fs';
import { parseCommand, USAGE } from './args.ts';
import { oneLine } from '../text.ts';
import { EXIT_DENIED, EXIT_INTERNAL, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, UsageError } from './errors.ts';
import { inject, type Finding } from './inject.ts';
import { parseSource, readSource, readStream, type ManifestDocument } from './manifests.ts';
import { renderDiff, renderManifests } from './output.ts';

export interface Io {
  readonly stdin: () => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// Messages quote input values; kept to one line without terminal controls whatever the input holds.
const line = (prefix: string, f: Finding): string => `${prefix}: ${oneLine(f.subject)}: ${oneLine(f.message)}\n`;

/** Runs one command and returns the exit code. Never throws for user mistakes. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (command.kind === 'version') {
      io.stdout(`${version()}\n`);
      return EXIT_OK;
    }
    const documents: ManifestDocument[] = [];
    for (const file of command.files) documents.push(...parseSource(await readSource(file, io.stdin)));

    const result = inject(documents, { policy: command.policy, namespace: command.namespace });
    for (const f of result.warnings) io.stderr(line('warning', f));
    for (const f of result.problems) io.stderr(line('error', f));
    for (const f of result.denials) io.stderr(line('error', f));
    for (const f of result.internal) io.stderr(line('internal error (please report it)', f));
    // Nothing on stdout when anything failed: a pipeline must never apply half an answer.
    if (result.internal.length > 0) return EXIT_INTERNAL;
    if (result.problems.length > 0) return EXIT_USAGE;
    if (result.denials.length > 0) return EXIT_DENIED;

    io.stdout(command.diff ? renderDiff(result, command.output) : renderManifests(result, command.output));
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${oneLine(err.message)}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INTERNAL;
  }
}

/** The real process's streams. */
export function processIo(): Io {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A reader that stops early (`| head`) closes the pipe: that is not an error worth a message.
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // Node's "ENOSPC: no space left on device, write" as "no space left on device (ENOSPC)".
    const why = err.message.replace(/^([A-Z]+): (.*?)(?:, write)?$/, '$2 ($1)');
    process.stderr.write(`error: cannot write the output: ${oneLine(why)}\n`);
    process.exit(EXIT_OUTPUT);
  });
  process.stderr.on('error', () => {}); // nowhere left to report it; the exit code still tells
  return {
    stdin: () => readStream(process.stdin),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}

if (import.meta.main) {
  // process.exitCode, not process.exit(): stdout drains fully into pipes before the process ends.
  process.exitCode = await run(process.argv.slice(2), processIo());
}
