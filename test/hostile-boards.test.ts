// Boards written to hurt: a block left open where a task would go, a YAML alias bomb, nesting deep
// enough to sink remark, an ID at the end of the ID space, U+2028 in a title, an ID typed twice.
// Each is refused with exit 2 and `ACTIVE_TASKS.md:<line>` (quickly: every run has a timeout and
// must have finished), or read right. Real processes of the built CLI in temp git repos.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoard } from '../src/board/parse-board.js';
import { BIN } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const BOARD = 'ACTIVE_TASKS.md';
const HEAD = '---\nprefix: GLD\n---\n# Board\n\n';

interface Run {
  code: number;
  stderr: string;
  json: { ok: boolean; result?: any; error?: { code: string; message: string; data?: any } };
}

/** One CLI run that must finish within `seconds` (a run killed by the timeout fails the test). */
function run(repo: TempRepo, args: string[], { seconds = 20, verify = true, env = {} as Record<string, string> } = {}): Run {
  const child = spawnSync(process.execPath, [BIN, ...args, '--json'], {
    cwd: repo.dir,
    encoding: 'utf8',
    timeout: seconds * 1000,
    maxBuffer: 1 << 28, // list --json of 50,000 tasks is megabytes
    env: { ...process.env, GUILD_AGENT: 'agent-a', GUILD_VERIFY_CACHE: verify ? '1' : '0', ...env },
  });
  assert.equal(child.signal, null, `guild-fs ${args.join(' ')} did not finish within ${seconds} s`);
  let json: Run['json'];
  try {
    json = JSON.parse(child.stdout);
  } catch {
    throw new Error(`not one JSON document (exit ${child.status}):\n${child.stdout}\n${child.stderr}`);
  }
  return { code: child.status ?? -1, stderr: child.stderr, json };
}

function withRepo(text: string, fn: (repo: TempRepo) => void): void {
  const repo = tempRepo(text);
  try {
    fn(repo);
  } finally {
    repo.remove();
  }
}

/** Exit 2, the error's code, and a message that starts with the file and the line. */
function assertRefused(result: Run, code: string, line: number): string {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.json.ok, false);
  assert.equal(result.json.error!.code, code, result.json.error!.message);
  assert.ok(result.json.error!.message.startsWith(`${BOARD}:${line}: `), result.json.error!.message);
  return result.json.error!.message;
}

function listed(repo: TempRepo, options: { verify?: boolean; env?: Record<string, string> } = {}): { id: string; title: string; status: string; line: number }[] {
  const result = run(repo, ['list'], options);
  assert.equal(result.code, 0, result.stderr);
  return result.json.result.tasks;
}

/** The next read is a cache miss: a full parse of the file, as after a save by hand. */
function dropCache(repo: TempRepo): void {
  rmSync(join(repo.dir, '.git', 'guild', 'cache'), { recursive: true, force: true });
}

describe('a task is never written where it does not read back (item 5)', () => {
  for (const [what, tail] of [
    ['an unclosed fence', '```\nnotes, never closed\n'],
    ['an unclosed HTML comment', '<!-- notes, never closed\n\n- [ ] GLD-7 commented out\n'],
    ['an HTML block', '<div>\nraw\n'],
  ] as const) {
    test(`a section that ends in ${what} gets new tasks under its heading`, () => {
      withRepo(`${HEAD}## Ready\n\n${tail}`, (repo) => {
        // Without the test mode's re-parse, as users run it: the write caches what it derived.
        const first = run(repo, ['add', 'first'], { verify: false });
        assert.equal(first.code, 0, first.stderr);
        dropCache(repo);
        assert.deepEqual(listed(repo).map((task) => [task.id, task.title]), [[first.json.result.id, 'first']]);
        const second = run(repo, ['add', 'second']);
        assert.equal(second.code, 0, second.stderr);
        assert.notEqual(second.json.result.id, first.json.result.id);
        const created = readLog(repo).filter((event) => event.type === 'task.created').map((event) => event.task);
        assert.deepEqual(created, [first.json.result.id, second.json.result.id]);
        assert.ok(repo.read().endsWith(tail), 'the text below is kept as it was');
      });
    });
  }

  test('a body that would turn the task line into a heading or a table header is refused', () => {
    const text = `${HEAD}## Ready\n\n- [ ] GLD-1 one\n`;
    withRepo(text, (repo) => {
      for (const body of ['===', '|---|', '  ---\nmore']) {
        const result = run(repo, ['add', 'title', '--body', body]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.json.error!.code, 'EUSAGE');
        assert.match(result.json.error!.message, /empty line/);
      }
      assert.equal(repo.read(), text);
      const added = run(repo, ['add', 'title', '--body', '\n==='], { verify: false });
      assert.equal(added.code, 0, added.stderr);
      dropCache(repo);
      assert.deepEqual(listed(repo).map((task) => task.id), ['GLD-1', 'GLD-2']);
    });
  });

  test('a new section after a block left open at the end of the board is refused at its line', () => {
    const text = `${HEAD}## Backlog\n\n- [ ] GLD-1 x\n\n~~~\nnever closed\n`;
    withRepo(text, (repo) => {
      const message = assertRefused(run(repo, ['add', 'new']), 'ENOPLACE', 10);
      assert.match(message, /never closed/);
      assert.equal(repo.read(), text);
      assert.equal(existsSync(repo.log), false);
      // Where there is a place, the task goes there.
      assert.equal(run(repo, ['add', 'later', '--status', 'backlog']).code, 0);
    });
  });

  test('a task whose body leaves a code fence open is moved only where it reads back (fuzz seed 99, case 167)', () => {
    // An unindented line ends GLD-1 and its fence; moved under In Progress, the stray "  ```" that
    // follows there would close GLD-1's fence instead, and GLD-2 and the rest would come out of code.
    const trap = `${HEAD}## Ready\n- [ ] GLD-1 one\n  \`\`\`sh\n  code\n<!-->\n  ## Done\n  - [ ] GLD-3 in done\n  \`\`\`\n- [ ] GLD-2 in code\n\n## In Progress\n\n## Done\n  \`\`\`\n`;
    withRepo(trap, (repo) => {
      const message = assertRefused(run(repo, ['claim', 'GLD-1', '--no-worktree', '--agent', 'a']), 'EBOARDEDIT', 7);
      assert.match(message, /code fence/);
      assert.equal(repo.read(), trap);
    });
    // The usual case, a body whose fence the next task ends, is claimed as before.
    const usual = `${HEAD}## Ready\n- [ ] GLD-1 one\n  \`\`\`sh\n  code\n- [ ] GLD-2 two\n\n## In Progress\n\n## Done\n`;
    withRepo(usual, (repo) => {
      assert.equal(run(repo, ['claim', 'GLD-1', '--no-worktree', '--agent', 'a']).code, 0);
      dropCache(repo);
      assert.deepEqual(listed(repo).map((task) => [task.id, task.status]), [['GLD-2', 'ready'], ['GLD-1', 'in-progress']]);
    });
  });

  test('a sections map that gives one status another\'s heading is refused at its key', () => {
    withRepo('---\nprefix: GLD\nsections:\n  backlog: Later\n  ready: Done\n---\n## Done\n\n- [ ] GLD-1 x\n', (repo) => {
      const message = assertRefused(run(repo, ['list']), 'EFRONTMATTER', 5);
      assert.match(message, /ready/);
    });
  });
});

describe('front matter is bounded (item 7)', () => {
  /** Nine aliases of nine aliases, `depth` deep: 9^depth strings once copied. */
  const bomb = (depth: number): string => {
    let yaml = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    const names = 'abcdefghijklmnop';
    for (let i = 1; i < depth; i++) yaml += `${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]\n`;
    return `---\nprefix: GLD\n${yaml}---\n## Ready\n\n- [ ] GLD-1 x\n`;
  };

  test('an alias bomb is refused at the first alias, quickly', () => {
    for (const depth of [9, 10, 11]) {
      const text = bomb(depth);
      assert.ok(text.length < 600, `a bomb of ${text.length} bytes`);
      withRepo(text, (repo) => assertRefused(run(repo, ['list']), 'EFRONTMATTER', 4));
    }
  });

  test('a few aliases, as settings use them, are still read', () => {
    withRepo('---\nprefix: GLD\nbase: &cmd npm test\nverify: *cmd\n---\n## Ready\n\n- [ ] GLD-1 x\n', (repo) => {
      assert.equal(listed(repo).length, 1);
    });
  });
});

describe('deep nesting and the remark fallback (item 8)', () => {
  test('10,000 > are refused at their line, not a stack overflow', () => {
    withRepo(`${HEAD}## Ready\n\n- [ ] GLD-1 x\n\n${'>'.repeat(10_000)} deep\n`, (repo) => {
      assertRefused(run(repo, ['list']), 'EDEPTH', 10);
    });
  });

  test('a 700-level nested list is refused where it passes the limit', () => {
    let list = '';
    for (let i = 0; i < 700; i++) list += `${' '.repeat(3 * i)}1. item\n`;
    withRepo(`${HEAD}## Ready\n\n- [ ] GLD-1 x\n\n${list}`, (repo) => {
      // Three columns a level, and the marker and its space: level 21 is 64 columns and a marker, 33 deep.
      assertRefused(run(repo, ['list']), 'EDEPTH', 10 + 21);
    });
  });

  test('a 50,000-task board with one block quote reads it without a whole-board remark parse', () => {
    const lines: string[] = [];
    for (let i = 1; i <= 50_000; i++) {
      lines.push(`- [ ] GLD-${i} task ${i}`);
      if (i === 25_000) lines.push('', '> a quote the scanner leaves to remark', '> - [ ] GLD-999999 not a task: quoted', '');
    }
    withRepo(`${HEAD}## Ready\n\n${lines.join('\n')}\n`, (repo) => {
      const result = run(repo, ['list'], { seconds: 60, verify: false, env: { GUILD_DEBUG_PARSE: '1' } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.json.result.tasks.length, 50_000);
      const read = /remark read (\d+) of (\d+) lines/.exec(result.stderr);
      assert.ok(read, `the debug line: ${result.stderr}`);
      assert.ok(Number(read[1]) < 200, `remark read ${read[1]} lines of ${read[2]}`);
    });
  });

  test('stitched readings equal remark\'s reading of the whole board', async () => {
    // Constructs the scanner hands to remark, put among tasks at every distance from each other.
    const odd = ['> quote', '> - [ ] GLD-900 quoted', '1. one', '2) two', '<div>', '<span>x</span>', '<!--', '-->', '```', '``` `x`', '~~~', 'Ready\n-----', 'text\n===', '- [ ]', '- [ ] GLD-901 under\n  ---', '\t- [ ] GLD-902 tab', 'a\rb', 'lazy line', '  body', '', '## Done', '## Ready', '- [x] GLD-903 done', '| a |\n|---|'];
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let stitched = 0;
    for (let round = 0; round < 150; round++) {
      const lines: string[] = ['## Ready', ''];
      for (let i = 1; i <= 150; i++) lines.push(`- [ ] GLD-${i} task ${i}`, ...(i % 40 === 0 ? ['', '## In Progress', ''] : []));
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const at = Math.floor(random() * lines.length);
        lines.splice(at, 0, ...odd[Math.floor(random() * odd.length)]!.split('\n'));
      }
      const text = `${HEAD}${lines.join('\n')}\n`;
      const view = (board: Awaited<ReturnType<typeof parseBoard>>): unknown => ({ tasks: board.tasks, sections: board.sections, boundaries: board.boundaries });
      const auto = await parseBoard(BOARD, text).then((board) => {
        if (board.reader === 'remark') stitched++;
        return view(board);
      }, (error: Error) => error.message);
      const whole = await parseBoard(BOARD, text, { reader: 'remark' }).then(view, (error: Error) => error.message);
      assert.deepEqual(auto, whole, `board: ${JSON.stringify(text)}`);
    }
    assert.ok(stitched > 50, `only ${stitched} of 150 boards were read partly by remark`);
  });
});

describe('line numbers and the ID space (item 15)', () => {
  test('needs:GLD-999999999 and an item without an ID: writes go on, with IDs no need names', () => {
    const text = `${HEAD}## Ready\n\n- [ ] GLD-1 one needs:GLD-999999999,GLD-3\n- [ ] no id yet\n`;
    withRepo(text, (repo) => {
      const added = run(repo, ['add', 'x']);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(added.json.result.id, 'GLD-4');
      dropCache(repo);
      assert.deepEqual(listed(repo).map((task) => [task.id, task.title]), [['GLD-1', 'one'], ['GLD-2', 'no id yet'], ['GLD-4', 'x']]);
    });
  });

  test('a task ID at the end of the ID space: a new ID is refused at its line, not at a line the file lacks', () => {
    const text = `${HEAD}## Ready\n\n- [ ] GLD-999999999 typed by hand\n- [ ] no id yet\n`;
    withRepo(text, (repo) => {
      for (const args of [['add', 'x'], ['sync']]) {
        const message = assertRefused(run(repo, args), 'EIDSPACE', 8);
        assert.match(message, /GLD-999999999/);
      }
      assert.equal(repo.read(), text);
      assert.equal(existsSync(repo.log), false);
    });
  });

  test('a title with U+2028 is read and written, and lines after it keep their numbers', () => {
    withRepo(`${HEAD}## Ready\n\n- [ ] GLD-1 one\u2028two\n- [ ] GLD-2 three prio:bogus\n`, (repo) => {
      assertRefused(run(repo, ['list']), 'EFIELD', 9);
      repo.write(`${HEAD}## Ready\n\n- [ ] GLD-1 one\u2028two\n- [ ] GLD-2 three\n`);
      const added = run(repo, ['add', 'four\u2028five']);
      assert.equal(added.code, 0, added.stderr);
      dropCache(repo);
      assert.deepEqual(listed(repo).map((task) => [task.id, task.title, task.line]), [['GLD-1', 'one\u2028two', 8], ['GLD-2', 'three', 9], ['GLD-3', 'four\u2028five', 10]]);
    });
  });
});

describe('a duplicate ID says how to get out', () => {
  test('both lines are named, and the advice works', () => {
    withRepo(`${HEAD}## Ready\n\n- [ ] GLD-1 first\n- [ ] GLD-2 second\n- [ ] GLD-1 typed by hand\n`, (repo) => {
      const message = assertRefused(run(repo, ['list']), 'EDUPLICATE', 10);
      assert.match(message, /line 8/);
      assert.match(message, /guild-fs sync/);
      // As the message says: the ID taken off the copy typed by hand, then sync.
      repo.write(repo.read().replace('GLD-1 typed by hand', 'typed by hand'));
      assert.equal(run(repo, ['sync']).code, 0);
      assert.deepEqual(listed(repo).map((task) => [task.id, task.title]), [['GLD-1', 'first'], ['GLD-2', 'second'], ['GLD-3', 'typed by hand']]);
      assert.ok(readFileSync(repo.board, 'utf8').includes('- [ ] GLD-3 typed by hand'));
    });
  });
});
