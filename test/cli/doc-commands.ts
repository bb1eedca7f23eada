// Finds the commands a document promises to work, and the output it shows for them.
//
// Convention (README.md and docs/*.md):
//   ```sh test            ← a fenced block whose info string is `sh test` (or `bash test`, `console test`)
//   npx db-access-webhook inject -f examples/deployment.yaml
//   ```
//   ```yaml output        ← optional: the NEXT fenced block, when its info string ends in `output`, is the
//   ---                     expected stdout of the block's last command (stderr when that command is expected
//   apiVersion: apps/v1     to fail). A line `...` stands for any number of lines (elided output).
//   ...
//   ```
// Each line of a test block is one command (`\` continues a line; `#` lines are comments; a leading `$ ` is
// dropped). A trailing `# exit N` says the command is expected to exit with N (default 0). Only commands that run
// `db-access-webhook` are executed by the test; others (npm ci, kubectl) are shown for the reader only.

export interface DocCommand {
  /** The shell command, as written (without a trailing `# exit N`). */
  readonly command: string;
  readonly expectedExit: number;
  /** 1-based line of the command in the document. */
  readonly line: number;
  /** Expected stdout (or stderr for a failing command) with `...` wildcards; only for a block's last command. */
  readonly output: string | undefined;
}

const FENCE = /^(\s*)(```+|~~~+)\s*(.*)$/;
const TEST_INFO = /^(sh|bash|shell|console)\s+test$/;
const OUTPUT_INFO = /(^|\s)output$/;

interface Block {
  readonly info: string;
  readonly startLine: number;
  readonly lines: string[];
}

function blocks(markdown: string): Array<Block | 'text'> {
  const out: Array<Block | 'text'> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) {
      if (lines[i]!.trim() !== '') out.push('text');
      continue;
    }
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]!);
      if (close !== null && close[2]!.startsWith(fence[0]!) && close[2]!.length >= fence.length && close[3] === '') break;
      body.push(lines[j]!);
    }
    out.push({ info: open[3]!.trim(), startLine: i + 1, lines: body });
    i = j;
  }
  return out;
}

export function docCommands(markdown: string): DocCommand[] {
  const all = blocks(markdown);
  const commands: DocCommand[] = [];
  for (const [k, block] of all.entries()) {
    if (block === 'text' || !TEST_INFO.test(block.info)) continue;
    const next = all[k + 1];
    const output = next !== undefined && next !== 'text' && OUTPUT_INFO.test(next.info) ? `${next.lines.join('\n')}\n` : undefined;
    const inBlock: DocCommand[] = [];
    let pending = '';
    let pendingLine = 0;
    for (const [n, raw] of block.lines.entries()) {
      const text = raw.replace(/^\s*\$ /, '');
      if (pending === '' && (text.trim() === '' || text.trim().startsWith('#'))) continue;
      if (pending === '') pendingLine = block.startLine + 1 + n;
      if (text.endsWith('\\')) {
        pending += `${text.slice(0, -1)} `;
        continue;
      }
      const full = pending + text;
      pending = '';
      const exit = /\s+#\s*exit\s+(\d+)\s*$/.exec(full);
      inBlock.push({
        command: (exit ? full.slice(0, exit.index) : full).trim(),
        expectedExit: exit ? Number(exit[1]) : 0,
        line: pendingLine,
        output: undefined,
      });
    }
    if (inBlock.length > 0 && output !== undefined) {
      inBlock[inBlock.length - 1] = { ...inBlock[inBlock.length - 1]!, output };
    }
    commands.push(...inBlock);
  }
  return commands;
}

/** Does `actual` match `expected`, where an `expected` line `...` matches any run of lines? Trailing spaces ignored. */
export function matchesOutput(actual: string, expected: string): boolean {
  const norm = (s: string): string[] => {
    const lines = s.split('\n').map((l) => l.trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  };
  const a = norm(actual);
  const e = norm(expected);
  const go = (i: number, j: number): boolean => {
    if (j === e.length) return i === a.length;
    if (e[j] === '...') {
      for (let k = i; k <= a.length; k++) if (go(k, j + 1)) return true;
      return false;
    }
    return i < a.length && a[i] === e[j] && go(i + 1, j + 1);
  };
  return go(0, 0);
}
