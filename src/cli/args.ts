// Command-line parsing: argv in, a validated command out. Knows nothing about files; names follow the engine's rule.
import { parseArgs } from 'node:util';
import type { EnginePolicy } from '../engine/types.ts';
import { isDns1123Label } from '../engine/names.ts';
import { UsageError } from './errors.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { printable } from '../text.ts';

// The server's own settings parser builds the policy, so defaults and validation can never drift apart.
const DEFAULT_POLICY = loadConfig({}).policy;

/** Each policy flag and the server setting it stands for. */
const POLICY_FLAGS = {
  environment: 'DB_ACCESS_ENVIRONMENT',
  region: 'AWS_REGION',
  'excluded-namespaces': 'DB_ACCESS_EXCLUDED_NAMESPACES',
  'webhook-namespace': 'POD_NAMESPACE',
  'use-pod-identity': 'DB_ACCESS_USE_POD_IDENTITY',
  'url-from-secret': 'DB_ACCESS_URL_FROM_SECRET',
} as const;

export type OutputFormat = 'yaml' | 'json';

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'inject';
      /** In command-line order; `-` is stdin. */
      readonly files: readonly string[];
      readonly output: OutputFormat;
      readonly diff: boolean;
      /** The organization for documents without metadata.namespace. */
      readonly namespace: string | undefined;
      readonly policy: EnginePolicy;
    };

export const USAGE = `Usage: db-access-webhook inject -f FILE [-f FILE ...] [flags]

Renders offline what the db-access-webhook would do to the pods of a manifest, using the same engine as the
webhook. Reads YAML or JSON (single or multi-document, Lists item by item). Injects into Pods and the pod templates
of Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs and CronJobs whose pods carry
db-access/enabled: "true". Every other object passes through unchanged, in order. The SecretProviderClasses the
pods need follow the manifests.

Flags:
  -f, --filename FILE          input file, repeatable; "-" reads stdin
  -o, --output yaml|json       output format (default yaml; json writes one v1 List)
      --diff                   print a unified diff per changed document instead of the manifests
      --namespace NS           the organization for documents without metadata.namespace
      --environment ENV        environment in the secret name (default ${DEFAULT_POLICY.environment})
      --region REGION          AWS region of the secret (default ${DEFAULT_POLICY.region})
      --excluded-namespaces L  comma-separated extra namespaces never injected (default none)
      --webhook-namespace NS   the webhook's own namespace, never injected (default ${DEFAULT_POLICY.webhookNamespace})
      --use-pod-identity       write usePodIdentity: "true" into SecretProviderClasses
      --url-from-secret        DATABASE_URL from the secret's pre-encoded url key
  -h, --help                   show this help
      --version                print the version

Exit codes: 0 success, 1 bad flags or input, 2 the webhook would deny a pod, 3 internal error,
4 the output could not be written.

Example:
  db-access-webhook inject -f examples/deployment.yaml
  helm template my-app ./my-chart | db-access-webhook inject -f - --namespace shop --diff
`;

function namespaceName(flag: string, value: string): string {
  if (!isDns1123Label(value)) {
    throw new UsageError(
      `${flag} '${value}' is not a valid namespace name (lower-case letters, digits and '-', at most 63 characters)`,
    );
  }
  return value;
}

/** What each flag that takes a value needs, for messages. */
const VALUE_OF: Readonly<Record<string, string>> = {
  filename: 'a file name',
  output: 'yaml or json',
  namespace: 'a namespace name',
  environment: 'an environment name',
  region: 'an AWS region',
  'excluded-namespaces': 'a comma-separated list of namespaces',
  'webhook-namespace': 'a namespace name',
};

/** Turns parseArgs' messages, which suggest `--` tricks, into short ones. */
function parseError(err: unknown, argv: readonly string[]): UsageError {
  const e = err as { code?: string; message?: string };
  const message = String(e.message ?? err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
    return new UsageError(`unknown flag '${flag}' (see --help)`);
  }
  // A flag followed by nothing, or by another flag (`-f --diff`): parseArgs' three-line message names neither.
  const missing = /^Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(message);
  if (missing) {
    const long = missing[1]!;
    return new UsageError(`${argv.at(-1) ?? `--${long}`} needs ${VALUE_OF[long] ?? 'a value'} (see --help)`);
  }
  const ambiguous = /^Option '(-[\w-]+)' argument is ambiguous[^]*'--([\w-]+)=-XYZ'/.exec(message);
  if (ambiguous) {
    const [, flag, long] = ambiguous as unknown as [string, string, string];
    const at = argv.findIndex((arg, i) => arg === flag && /^-./.test(argv[i + 1] ?? ''));
    const got = at === -1 ? '' : `, got '${printable(argv[at + 1]!, 64)}'`;
    const hint = long === 'filename' ? `; for a file name starting with '-' use --filename=...` : ' (see --help)';
    return new UsageError(`${flag} needs ${VALUE_OF[long] ?? 'a value'}${got}${hint}`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return new UsageError(`${message.split('\n')[0]} (see --help)`);
  }
  return new UsageError(message);
}

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        output: { type: 'string', short: 'o' },
        diff: { type: 'boolean' },
        namespace: { type: 'string' },
        environment: { type: 'string' },
        region: { type: 'string' },
        'excluded-namespaces': { type: 'string' },
        'webhook-namespace': { type: 'string' },
        'use-pod-identity': { type: 'boolean' },
        'url-from-secret': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw parseError(err, argv);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [subcommand, ...extra] = positionals;
  if (subcommand === undefined) throw new UsageError('missing command: try `db-access-webhook inject -f FILE` (see --help)');
  if (subcommand !== 'inject') throw new UsageError(`unknown command '${subcommand}' (the only command is inject; see --help)`);
  if (extra.length > 0) {
    throw new UsageError(`unexpected argument '${extra[0]}': input files go after -f (see --help)`);
  }

  const files = values.filename ?? [];
  if (files.length === 0) throw new UsageError('no input: pass -f FILE, or -f - to read stdin (see --help)');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-f -) can be read only once');

  const output = values.output ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') {
    throw new UsageError(`--output '${output}' is not supported: use yaml or json`);
  }

  const env: Record<string, string | undefined> = {};
  for (const [flag, variable] of Object.entries(POLICY_FLAGS)) {
    const value = values[flag as keyof typeof POLICY_FLAGS];
    if (typeof value === 'boolean') env[variable] = String(value);
    else if (value !== undefined) {
      if (value.trim() === '' && flag !== 'excluded-namespaces') throw new UsageError(`--${flag} must not be empty`);
      env[variable] = value;
    }
  }
  let policy: EnginePolicy;
  try {
    policy = loadConfig(env).policy;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const flag = Object.entries(POLICY_FLAGS).find(([, variable]) => variable === err.variable)?.[0];
    throw new UsageError(flag === undefined ? err.message : err.message.replaceAll(err.variable, `--${flag}`));
  }

  return {
    kind: 'inject',
    files,
    output,
    diff: values.diff ?? false,
    namespace: values.namespace === undefined ? undefined : namespaceName('--namespace', values.namespace),
    policy,
  };
}
