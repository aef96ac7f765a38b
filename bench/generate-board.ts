// Generates boards of any size for benchmarks and tests: a realistic mix of sections, fields,
// bodies and free text, deterministic for a given size and seed.
import { writeFileSync } from 'node:fs';

export interface GenerateOptions {
  tasks: number;
  prefix?: string;
  seed?: number;
  eol?: '\n' | '\r\n';
}

/** mulberry32: a small, fast seeded generator in [0, 1); the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateBoard(options: GenerateOptions): string {
  const prefix = options.prefix ?? 'GLD';
  // The same board for the same seed.
  const random = mulberry32(options.seed ?? 1);
  const prios = ['', '', '', ' prio:high', ' prio:low', ' prio:critical'];
  const caps = ['', '', ' caps:db', ' caps:frontend', ' caps:backend,db'];
  const words = ['Add', 'Fix', 'Refactor', 'Document', 'Test', 'Speed up', 'Remove', 'Rename'];
  const things = ['the login form', 'the users table', 'the parser', 'caching', 'the CLI help', 'retries', 'the README', 'metrics'];
  const sections: Record<string, string[]> = { Backlog: [], Blocked: [], Ready: [], 'In Progress': [], Review: [], Done: [], Failed: [] };
  const done: number[] = [];
  for (let n = 1; n <= options.tasks; n++) {
    const title = `${words[Math.floor(random() * words.length)]} ${things[Math.floor(random() * things.length)]} (${n})`;
    const fields = prios[Math.floor(random() * prios.length)]! + caps[Math.floor(random() * caps.length)]!;
    const roll = random();
    const lines: string[] = [];
    let section: string;
    if (roll < 0.3) {
      section = 'Done';
      lines.push(`- [x] ${prefix}-${n} ${title}${fields} owner:agent-${n % 7}`);
      done.push(n);
    } else if (roll < 0.35) {
      section = 'In Progress';
      lines.push(`- [ ] ${prefix}-${n} ${title}${fields} owner:agent-${n % 7}`);
    } else if (roll < 0.45 && n > 10) {
      section = 'Blocked';
      lines.push(`- [ ] ${prefix}-${n} ${title}${fields} needs:${prefix}-${n - 1 - Math.floor(random() * 5)}`);
    } else if (roll < 0.48) {
      section = 'Backlog';
      lines.push(`- [ ] ${prefix}-${n} ${title}${fields}`);
    } else {
      section = 'Ready';
      lines.push(`- [ ] ${prefix}-${n} ${title}${fields}`);
    }
    if (random() < 0.2) lines.push('  Indented lines under a task are its body.', '  - [ ] acceptance: it works');
    sections[section]!.push(...lines);
  }
  // A Blocked task whose needs are all done belongs in Ready; fix that so the board starts tidy.
  const doneSet = new Set(done.map((n) => `${prefix}-${n}`));
  const blocked = sections.Blocked!;
  for (let i = 0; i < blocked.length; i++) {
    const needs = /needs:(\S+)/.exec(blocked[i]!)?.[1];
    if (needs && needs.split(',').every((id) => doneSet.has(id))) {
      const body: string[] = [];
      while (blocked[i + 1]?.startsWith('  ')) body.push(blocked.splice(i + 1, 1)[0]!);
      sections.Ready!.push(blocked.splice(i, 1)[0]!, ...body);
      i--;
    }
  }
  const out = [
    '---',
    'guild: 1',
    `prefix: ${prefix}`,
    'lock_ttl: 1h',
    'max_tries: 3',
    '---',
    '# Active Tasks',
    '',
    `A generated board of ${options.tasks} tasks.`,
    '',
  ];
  for (const [heading, lines] of Object.entries(sections)) out.push(`## ${heading}`, ...lines, '');
  const eol = options.eol ?? '\n';
  return out.join(eol);
}

if (process.argv[1]?.endsWith('generate-board.ts')) {
  const tasks = Number(process.argv[2] ?? 1000);
  const file = process.argv[3];
  const text = generateBoard({ tasks });
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
}
