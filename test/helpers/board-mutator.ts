// Seeded mutations of board bytes, for test/fuzz-boards.test.ts. Every mutation works on a
// Buffer, never on a decoded string, so that non-UTF-8 bytes, NULs and lone CRs reach the CLI
// exactly as a damaged file would. Each case draws from its own generator, seeded by the run's
// seed and the case's index, so one failing case replays alone (GUILD_FUZZ_CASE).

/** mulberry32: small, fast, and good enough to pick mutations; the same seed gives the same run. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `index` of a run: cases are independent, so any one replays without the others. */
export function caseSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
}

export class Random {
  constructor(readonly next: () => number) {}
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A board as lines of bytes, each with its own line end ('' for a last line without one). */
interface Lines {
  lines: Buffer[];
  ends: Buffer[];
}

const LF = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);

function splitLines(board: Buffer): Lines {
  const lines: Buffer[] = [];
  const ends: Buffer[] = [];
  let start = 0;
  while (start < board.length) {
    const at = board.indexOf(10, start);
    if (at < 0) {
      lines.push(board.subarray(start));
      ends.push(EMPTY);
      break;
    }
    lines.push(board.subarray(start, at));
    ends.push(LF);
    start = at + 1;
  }
  return { lines, ends };
}

function joinLines({ lines, ends }: Lines): Buffer {
  const parts: Buffer[] = [];
  lines.forEach((line, i) => parts.push(line, ends[i] ?? LF));
  return Buffer.concat(parts);
}

/** Line indexes that look like task items: where the interesting mutations aim. */
function taskLineIndexes({ lines }: Lines): number[] {
  const found: number[] = [];
  lines.forEach((line, i) => {
    if (/^\s{0,3}[-*+]\s+\[[ xX]\]/.test(line.toString('latin1'))) found.push(i);
  });
  return found;
}

function someLine(random: Random, split: Lines): number {
  return split.lines.length === 0 ? 0 : random.int(split.lines.length);
}

function someTaskLine(random: Random, split: Lines): number {
  const tasks = taskLineIndexes(split);
  return tasks.length ? random.pick(tasks) : someLine(random, split);
}

function insertLines(split: Lines, at: number, texts: string[]): void {
  const bufs = texts.map((text) => Buffer.from(text, 'utf8'));
  const last = split.ends.length - 1;
  // Appending after a last line that has no line end: that line gets one, or the two would merge.
  if (at > last && last >= 0 && split.ends[last]!.length === 0) split.ends[last] = LF;
  split.lines.splice(at, 0, ...bufs);
  split.ends.splice(at, 0, ...bufs.map(() => LF));
}

const ODD_CHARACTERS = [
  '\u2028', '\u2029', '\u0085', '\u000b', '\u000c', '\ufeff', '\u200b', '\u200d', '\u202e', '\u0301',
  '\ufffd', '\u{1f600}', '\u{10ffff}', '\u00a0', '\u3000', '\u0000', '\t', '\\', '`', '|', '<', '>', '&',
];
/** Bytes that are not UTF-8: a lone continuation byte, a truncated sequence, an overlong form, 0xFF. */
const INVALID_UTF8 = [[0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xfe, 0xff], [0xf4, 0x90, 0x80, 0x80]];

export interface Mutation {
  name: string;
  apply(board: Buffer, random: Random): { board: Buffer; note: string };
}

function onLines(name: string, edit: (split: Lines, random: Random) => string): Mutation {
  return {
    name,
    apply(board, random) {
      const split = splitLines(board);
      const note = edit(split, random);
      return { board: joinLines(split), note };
    },
  };
}

function onText(name: string, edit: (text: string, random: Random) => { text: string; note: string }): Mutation {
  return {
    name,
    apply(board, random) {
      const { text, note } = edit(board.toString('latin1'), random);
      return { board: Buffer.from(text, 'latin1'), note };
    },
  };
}

const FRONT_MATTER_DAMAGE: [string, (text: string) => string][] = [
  ['closing --- removed', (t) => t.replace(/\n---(\r?\n)/, '\n$1')],
  ['bad indentation', (t) => t.replace(/^---(\r?\n)/, '---$1  prefix: GLD\n bad: [\n')],
  ['alias bomb', (t) => t.replace(/^---(\r?\n)/, `---$1a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`)],
  ['js engine', (t) => t.replace(/^---/, '---js')],
  ['prefix not a word', (t) => t.replace(/^prefix: .*$/m, 'prefix: "G L/D"')],
  ['prefix a list', (t) => t.replace(/^prefix: .*$/m, 'prefix: [GLD, T]')],
  ['huge max_tries', (t) => t.replace(/^---(\r?\n)/, '---$1max_tries: 1e400\n')],
  ['negative max_tries', (t) => t.replace(/^---(\r?\n)/, '---$1max_tries: -3\n')],
  ['bad lock_ttl', (t) => t.replace(/^---(\r?\n)/, '---$1lock_ttl: forever\n')],
  ['sections not a map', (t) => t.replace(/^---(\r?\n)/, '---$1sections: [a, b]\n')],
  ['sections same heading twice', (t) => t.replace(/^---(\r?\n)/, '---$1sections:\n  ready: Done\n  done: Done\n')],
  ['duplicate key', (t) => t.replace(/^---(\r?\n)/, '---$1prefix: GLD\nprefix: GLD\n')],
  ['tab indentation', (t) => t.replace(/^---(\r?\n)/, '---$1sections:\n\tready: Todo\n')],
  ['front matter is a string', (t) => t.replace(/^---(\r?\n)/, '---$1just a string\n')],
  ['guild version huge', (t) => t.replace(/^---(\r?\n)/, '---$1guild: 99999999999999999999999\n')],
  ['binary tag', (t) => t.replace(/^---(\r?\n)/, '---$1blob: !!binary AAAA\nlater: !!js/function "function(){}"\n')],
  ['front matter only, opened', () => '---\nprefix: GLD\n'],
  ['review not a boolean', (t) => t.replace(/^---(\r?\n)/, '---$1review: maybe\n')],
  ['worktree_root traversal', (t) => t.replace(/^---(\r?\n)/, '---$1worktree_root: ../../../../tmp\n')],
];

const BAD_NEEDS = ['needs:', 'needs:,', 'needs:GLD-1,,GLD-1', 'needs:GLD-99999', 'needs:FOO-1', 'needs:GLD-1,GLD-1', 'needs:gld-2', 'needs:GLD-0', 'needs:GLD-007', 'needs:T-1'];
const ODD_FIELDS = ['prio:urgent', 'prio:', 'tries:-1', 'tries:1e309', 'tries:99999999999999999999', 'retry:yesterday', 'retry:9999-99-99T99:99:99Z', 'owner:', 'owner:a/b', 'caps:', 'caps:,,', 'branch:', '`prio:high', 'prio:high`', '`owner:x`'];
const HUGE_IDS = ['99999999999999999999', '9007199254740993', '1e3', '0', '-1', '00', '4294967296'];

export const MUTATIONS: Mutation[] = [
  {
    name: 'byte flip',
    apply(board, random) {
      if (board.length === 0) return { board, note: 'empty' };
      const copy = Buffer.from(board);
      const at = random.int(copy.length);
      const bit = 1 << random.int(8);
      copy[at] = copy[at]! ^ bit;
      return { board: copy, note: `byte ${at} ^ 0x${bit.toString(16)}` };
    },
  },
  onLines('duplicate line', (split, random) => {
    const i = random.chance(0.6) ? someTaskLine(random, split) : someLine(random, split);
    if (!split.lines.length) return 'empty';
    split.lines.splice(i + 1, 0, split.lines[i]!);
    split.ends.splice(i + 1, 0, LF);
    split.ends[i] = LF;
    return `line ${i + 1}`;
  }),
  onLines('delete line', (split, random) => {
    const i = someLine(random, split);
    split.lines.splice(i, 1);
    split.ends.splice(i, 1);
    return `line ${i + 1}`;
  }),
  onLines('swap lines', (split, random) => {
    const a = someLine(random, split);
    const b = random.chance(0.5) ? Math.min(split.lines.length - 1, a + 1) : someLine(random, split);
    if (a < 0 || b < 0) return 'empty';
    [split.lines[a], split.lines[b]] = [split.lines[b]!, split.lines[a]!];
    return `lines ${a + 1} and ${b + 1}`;
  }),
  onLines('insert fence', (split, random) => {
    const at = someLine(random, split);
    const fence = random.pick(['```', '~~~', '````md', '  ```', '```js `x`', '    ```']);
    const closed = random.chance(0.4);
    insertLines(split, at, closed ? [fence, '- [ ] GLD-77 fake in a fence', fence.trim().slice(0, 3)] : [fence]);
    return `${closed ? 'closed' : 'unclosed'} ${JSON.stringify(fence)} at line ${at + 1}`;
  }),
  onLines('insert HTML comment', (split, random) => {
    const at = someLine(random, split);
    const form = random.pick([['<!--'], ['<!-- open', '- [ ] GLD-78 fake in a comment'], ['<!-- one -->'], ['  <!--'], ['<!-->'], ['<details>'], ['-->']]);
    insertLines(split, at, form);
    return `${JSON.stringify(form)} at line ${at + 1}`;
  }),
  onLines('quote lines', (split, random) => {
    const at = someLine(random, split);
    const count = 1 + random.int(4);
    const prefix = random.pick(['> ', '>', '> > ', '>>>>>>>> ']);
    for (let i = at; i < Math.min(split.lines.length, at + count); i++) split.lines[i] = Buffer.concat([Buffer.from(prefix), split.lines[i]!]);
    return `${JSON.stringify(prefix)} on lines ${at + 1}..${at + count}`;
  }),
  onLines('indent lines', (split, random) => {
    const at = random.chance(0.5) ? someTaskLine(random, split) : someLine(random, split);
    const count = 1 + random.int(3);
    const indent = random.pick([' ', '  ', '   ', '    ', '\t', ' \t', ' '.repeat(200)]);
    for (let i = at; i < Math.min(split.lines.length, at + count); i++) split.lines[i] = Buffer.concat([Buffer.from(indent), split.lines[i]!]);
    return `${JSON.stringify(indent)} before lines ${at + 1}..${at + count}`;
  }),
  onLines('deep nesting', (split, random) => {
    const at = someLine(random, split);
    const kind = random.pick(['list', 'quote', 'mixed']);
    // A list of depth d is d lines of up to 2d spaces: 1,000 is already half a megabyte.
    const depth = random.pick(kind === 'list' ? [50, 200, 1000] : kind === 'quote' ? [50, 300, 10_000] : [50, 300, 2000]);
    const lines: string[] = [];
    if (kind === 'quote') lines.push('>'.repeat(depth) + ' deep');
    else if (kind === 'list') for (let d = 0; d < depth; d++) lines.push(`${'  '.repeat(d)}- [ ] nested ${d}`);
    else lines.push('> - '.repeat(depth) + 'deep');
    insertLines(split, at, lines);
    return `${kind} ${depth} deep at line ${at + 1}`;
  }),
  {
    name: 'truncate',
    apply(board, random) {
      const at = random.int(board.length + 1);
      return { board: board.subarray(0, at), note: `to ${at} of ${board.length} bytes` };
    },
  },
  {
    name: 'NUL bytes',
    apply(board, random) {
      const at = random.int(board.length + 1);
      const count = 1 + random.int(3);
      return { board: Buffer.concat([board.subarray(0, at), Buffer.alloc(count), board.subarray(at)]), note: `${count} at byte ${at}` };
    },
  },
  onText('line ends', (text, random) => {
    const form = random.pick(['CR only', 'CRLF', 'LF', 'mixed', 'CR CR LF', 'none at the end']);
    switch (form) {
      case 'CR only':
        return { text: text.replace(/\r?\n/g, '\r'), note: form };
      case 'CRLF':
        return { text: text.replace(/\r?\n/g, '\r\n'), note: form };
      case 'LF':
        return { text: text.replace(/\r\n/g, '\n'), note: form };
      case 'mixed':
        return { text: text.replace(/\r?\n/g, () => random.pick(['\n', '\r\n', '\r'])), note: form };
      case 'CR CR LF':
        return { text: text.replace(/\r?\n/g, '\r\r\n'), note: form };
      default:
        return { text: text.replace(/(\r?\n)+$/, ''), note: form };
    }
  }),
  onLines('long line', (split, random) => {
    const i = random.chance(0.5) ? someTaskLine(random, split) : someLine(random, split);
    const length = random.pick([5_000, 100_000]);
    const filler = random.pick(['x', ' ', 'a ', '`', '*', 'prio:high ', '\u00e9']);
    const line = split.lines[i] ?? EMPTY;
    split.lines[i] = Buffer.concat([line, Buffer.from(' ' + filler.repeat(Math.ceil(length / filler.length)), 'utf8')]);
    if (split.ends.length === 0) split.ends.push(EMPTY);
    return `${length} chars of ${JSON.stringify(filler)} after line ${i + 1}`;
  }),
  onLines('odd Unicode', (split, random) => {
    const i = random.chance(0.6) ? someTaskLine(random, split) : someLine(random, split);
    const char = random.pick(ODD_CHARACTERS);
    const line = split.lines[i] ?? EMPTY;
    const at = random.int(line.length + 1);
    split.lines[i] = Buffer.concat([line.subarray(0, at), Buffer.from(char, 'utf8'), line.subarray(at)]);
    if (split.ends.length === 0) split.ends.push(EMPTY);
    return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at byte ${at} of line ${i + 1}`;
  }),
  onLines('invalid UTF-8', (split, random) => {
    const i = random.chance(0.6) ? someTaskLine(random, split) : someLine(random, split);
    const bytes = random.pick(INVALID_UTF8);
    const line = split.lines[i] ?? EMPTY;
    const at = random.int(line.length + 1);
    split.lines[i] = Buffer.concat([line.subarray(0, at), Buffer.from(bytes), line.subarray(at)]);
    if (split.ends.length === 0) split.ends.push(EMPTY);
    return `${Buffer.from(bytes).toString('hex')} at byte ${at} of line ${i + 1}`;
  }),
  onLines('duplicate ID', (split, random) => {
    const tasks = taskLineIndexes(split);
    if (tasks.length === 0) return 'no task lines';
    const from = random.pick(tasks);
    const id = /[A-Za-z][A-Za-z0-9]*-\d+/.exec(split.lines[from]!.toString('latin1'))?.[0];
    if (!id) return 'no ID';
    const to = random.chance(0.5) ? random.pick(tasks) : someLine(random, split);
    const line = to === from ? `- [ ] ${id} copy` : split.lines[to]!.toString('latin1').replace(/[A-Za-z][A-Za-z0-9]*-\d+/, id);
    insertLines(split, to + 1, [to === from || !/\[[ xX]\]/.test(line) ? `- [ ] ${id} copy of ${id}` : line]);
    return `${id} again after line ${to + 1}`;
  }),
  onText('damage front matter', (text, random) => {
    const [what, damage] = random.pick(FRONT_MATTER_DAMAGE);
    const withFront = /^---\r?\n/.test(text) ? text : `---\nprefix: T\n---\n${text}`;
    return { text: damage(withFront), note: what };
  }),
  onLines('bad needs', (split, random) => {
    const i = someTaskLine(random, split);
    const needs = random.pick(BAD_NEEDS.concat(selfNeeds(split.lines[i])));
    split.lines[i] = Buffer.concat([split.lines[i] ?? Buffer.from('- [ ] T-1 x'), Buffer.from(` ${needs}`)]);
    if (split.ends.length === 0) split.ends.push(EMPTY);
    return `${needs} on line ${i + 1}`;
  }),
  onLines('odd fields', (split, random) => {
    const i = someTaskLine(random, split);
    const field = random.pick(ODD_FIELDS);
    split.lines[i] = Buffer.concat([split.lines[i] ?? Buffer.from('- [ ] T-1 x'), Buffer.from(` ${field}`)]);
    if (split.ends.length === 0) split.ends.push(EMPTY);
    return `${field} on line ${i + 1}`;
  }),
  onLines('huge numbers', (split, random) => {
    const i = someTaskLine(random, split);
    const number = random.pick(HUGE_IDS);
    const line = (split.lines[i] ?? EMPTY).toString('latin1');
    split.lines[i] = Buffer.from(line.replace(/([A-Za-z][A-Za-z0-9]*-)\d+/, `$1${number}`), 'latin1');
    return `ID number ${number} on line ${i + 1}`;
  }),
  onLines('headings', (split, random) => {
    const at = someLine(random, split);
    const heading = random.pick(['## Done', '## Ready', '##Ready', '#### Ready', '## ready ##', '## In Progress', '## Review', 'Ready\n-----', '## Blocked', '## Failed', '## Backlog', '# Ready', '## ', '##']);
    insertLines(split, at, heading.split('\n'));
    return `${JSON.stringify(heading)} at line ${at + 1}`;
  }),
  onLines('checkbox forms', (split, random) => {
    const i = someTaskLine(random, split);
    const form = random.pick(['[x]', '[X]', '[-]', '[]', '[ x]', '[  ]', '[x] ', '[\u00a0]']);
    const line = (split.lines[i] ?? EMPTY).toString('utf8');
    split.lines[i] = Buffer.from(line.replace(/\[[ xX]\]/, form), 'utf8');
    return `${JSON.stringify(form)} on line ${i + 1}`;
  }),
  onLines('hand-typed task', (split, random) => {
    const at = someLine(random, split);
    const line = random.pick(['- [ ] typed by hand', '- [x] done by hand', '* [ ] star item', '- [ ] ', '- [ ]', '1. [ ] ordered', '- [ ] `prio:high`', '- [ ] needs:GLD-1']);
    insertLines(split, at, [line]);
    return `${JSON.stringify(line)} at line ${at + 1}`;
  }),
];

function selfNeeds(line: Buffer | undefined): string[] {
  const id = line ? /[A-Za-z][A-Za-z0-9]*-\d+/.exec(line.toString('latin1'))?.[0] : undefined;
  return id ? [`needs:${id}`] : [];
}

export interface MutatedBoard {
  board: Buffer;
  /** What was done, in order: enough to read, and with the seed enough to replay. */
  steps: string[];
}

/** One to four mutations, drawn from `random`; now and then none, so the seed boards run as they are. */
export function mutateBoard(board: Buffer, random: Random): MutatedBoard {
  const steps: string[] = [];
  const count = random.chance(0.05) ? 0 : 1 + random.int(4);
  let current = board;
  for (let i = 0; i < count; i++) {
    const mutation = random.pick(MUTATIONS);
    const { board: next, note } = mutation.apply(current, random);
    steps.push(`${mutation.name}: ${note}`);
    current = next;
  }
  return { board: current, steps };
}
