// Reading manifests: files or stdin, YAML or JSON, one or many documents. Errors name the file and line.
import { readFile } from 'node:fs/promises';
import { Document, LineCounter, parseAllDocuments, type ScalarTag, type Tags } from 'yaml';
import { UsageError } from './errors.ts';

export interface Source {
  /** As the user named it; `<stdin>` for `-`. */
  readonly name: string;
  readonly text: string;
}

export interface ManifestDocument {
  readonly file: string;
  /** 1-based position in its file, counting empty documents, as a reader counts `---` separators. */
  readonly index: number;
  readonly doc: Document;
  /** The document as plain data (null for an empty document). */
  readonly value: unknown;
  /** Whether block sequences sit indented under their key (`key:\n  - a`) or level with it, kubectl style. */
  readonly indentSeq: boolean;
}

// A key line followed by a `- ` item at the same indentation: the kubectl / go-yaml layout.
const LEVEL_SEQUENCE = /^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m;

export async function readSource(path: string, stdin: () => Promise<string>): Promise<Source> {
  if (path === '-') return { name: '<stdin>', text: await stdin() };
  try {
    return { name: path, text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' :
      code === 'EISDIR' ? 'is a directory (pass the files inside it with -f)' :
      code === 'EACCES' ? 'permission denied' :
      String((err as Error).message);
    throw new UsageError(`cannot read ${path}: ${why}`);
  }
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** yaml's messages end in "at line L, column C:" plus a source excerpt; we print the position up front instead. */
function shortMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * go-yaml v2 hands plain numbers to Go's strconv.ParseInt(s, 0, 64), which also takes `0o`, `0O`, `0B` and `0X`
 * prefixes that YAML 1.1 has not: `defaultMode: 0o644` is 420 to kubectl.
 */
const GO_PREFIXED_INT: ScalarTag = {
  identify: () => false, // only for reading; numbers we write get YAML 1.1's own forms
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: /^[-+]?0(?:[oO][0-7_]+|[bB][01_]+|[xX][0-9a-fA-F_]+)$/,
  resolve: (text) => (text.startsWith('-') ? -1 : 1) * Number(text.replace(/^[-+]/, '').replace(/_/g, '').toLowerCase()),
};

/** YAML 1.1's tags as go-yaml v2 applies them to plain scalars: no timestamps, no base-60, Go's int prefixes. */
const GO_YAML_TAGS = (tags: Tags): Tags => [
  GO_PREFIXED_INT,
  ...tags.filter((tag) =>
    typeof tag === 'string'
      ? !['timestamp', 'intTime', 'floatTime'].includes(tag)
      : tag.tag !== 'tag:yaml.org,2002:timestamp' && (tag as { format?: string }).format !== 'TIME',
  ),
];

export function parseSource(source: Source): ManifestDocument[] {
  const lineCounter = new LineCounter();
  // Read as kubectl reads it (go-yaml v2): YAML 1.1, so `0644` is 420 and `yes` is true, `<<` merge keys honoured,
  // and timestamps or `1:20` left as strings. YAML 1.2 read `defaultMode: 0644` as 644, an invalid mode.
  const parsed = parseAllDocuments(source.text, {
    lineCounter,
    version: '1.1',
    customTags: GO_YAML_TAGS,
    merge: true,
    prettyErrors: false,
  });
  if (!Array.isArray(parsed)) return []; // an empty stream
  const documents: ManifestDocument[] = [];
  for (const [i, doc] of parsed.entries()) {
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new UsageError(`${source.name}:${line}:${col}: invalid YAML: ${shortMessage(error.message)}`);
    }
    let value: unknown;
    try {
      value = doc.toJS(); // the default alias limit refuses "billion laughs" documents
    } catch (err) {
      throw new UsageError(`${source.name}: document ${i + 1}: ${(err as Error).message}`);
    }
    const text = doc.range ? source.text.slice(doc.range[0], doc.range[2]) : '';
    documents.push({ file: source.name, index: i + 1, doc, value, indentSeq: !LEVEL_SEQUENCE.test(text) });
  }
  return documents;
}
