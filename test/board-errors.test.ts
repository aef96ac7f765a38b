// Bad input, refused well. A board that cannot be understood is refused with
// `ACTIVE_TASKS.md:<line>: what is wrong` (a FileError in the library, exit 2 and the JSON error
// envelope on the command line), and nothing is written: the board stays byte for byte what it
// was and the log gets nothing. Odd but valid boards (CRLF, tabs, non-ASCII, HTML comments,
// tables, code blocks) are read right: the right tasks on the right lines.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileError } from '../src/errors.js';
import { parseBoard } from '../src/board/parse-board.js';
import { addTask } from '../src/tasks/add-task.js';
import { claimTask } from '../src/tasks/claim-task.js';
import { openGuild } from '../src/tasks/guild.js';
import { cli, cliAsync, type CliResult, type CliOptions } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'fixtures', 'boards');
const BROKEN = join(FIXTURES, 'broken');
const BOARD = 'ACTIVE_TASKS.md';

const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const broken = (name: string): string => readFileSync(join(BROKEN, name), 'utf8');

function withRepo<T>(text: string, fn: (repo: TempRepo) => T): T {
  const repo = tempRepo(text);
  let result: T;
  try {
    result = fn(repo);
  } catch (error) {
    repo.remove();
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => repo.remove()) as T;
  repo.remove();
  return result;
}

interface Snapshot {
  board: Buffer;
  log: Buffer | null;
}

function snapshot(repo: TempRepo): Snapshot {
  return { board: readFileSync(repo.board), log: existsSync(repo.log) ? readFileSync(repo.log) : null };
}

/** Nothing written: the board's bytes and the log are what they were. */
function assertUntouched(repo: TempRepo, before: Snapshot, what: string): void {
  assert.ok(readFileSync(repo.board).equals(before.board), `${what}: the board must stay byte-identical`);
  const log = existsSync(repo.log) ? readFileSync(repo.log) : null;
  assert.deepEqual(log, before.log, `${what}: nothing may be appended to the log`);
}

function locksOf(repo: TempRepo): string[] {
  const dir = join(repo.dir, '.git', 'guild', 'locks');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Several CLI runs at once: each is a process start, and most of this file's time. */
function clis(runs: [string[], CliOptions][]): Promise<CliResult[]> {
  return Promise.all(runs.map(([args, options]) => cliAsync(args, options)));
}

function assertFileError(error: unknown, line: number, code?: string): true {
  assert.ok(error instanceof FileError, `expected a FileError, got ${(error as Error)?.stack ?? String(error)}`);
  assert.equal(error.file, BOARD);
  assert.equal(error.line, line, error.message);
  assert.ok(error.message.startsWith(`${BOARD}:${line}: `), error.message);
  if (code) assert.equal(error.code, code);
  assert.equal(error.exitCode, 2);
  return true;
}

function assertCliError(result: CliResult, exit: number, code: string, line?: number): void {
  assert.equal(result.code, exit, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.json?.ok, false);
  assert.equal(result.json?.error?.code, code, result.json?.error?.message);
  if (line !== undefined) assert.ok(result.json!.error!.message.startsWith(`${BOARD}:${line}: `), result.json!.error!.message);
}

// ---------------------------------------------------------------------------------------------

interface Refused {
  what: string;
  text: string;
  line: number;
  code: string;
  /** Words the message must contain: say what is wrong, show the offending text. */
  says: string[];
}

const REFUSED: Refused[] = [
  { what: 'a duplicate ID', text: broken('duplicate-id.md'), line: 11, code: 'EDUPLICATE', says: ['GLD-2', 'line 9'] },
  { what: 'an ID in two sections', text: broken('two-sections.md'), line: 15, code: 'EDUPLICATE', says: ['GLD-1', 'Ready', 'Done'] },
  { what: 'front matter that is not YAML', text: broken('bad-yaml.md'), line: 6, code: 'EFRONTMATTER', says: ['YAML'] },
  { what: 'front matter that is not YAML, CRLF', text: broken('bad-yaml.md').replace(/\n/g, '\r\n'), line: 6, code: 'EFRONTMATTER', says: ['YAML'] },
  { what: 'a duplicated front matter key', text: '---\nguild: 1\nprefix: GLD\nprefix: FOO\n---\n## Ready\n- [ ] GLD-1 x\n', line: 4, code: 'EFRONTMATTER', says: ['duplicate'] },
  { what: 'a YAML !!js/function tag', text: "---\nprefix: GLD\nhook: !!js/function 'function () { return 1 }'\n---\n## Ready\n", line: 3, code: 'EFRONTMATTER', says: ['js/function'] },
  { what: 'front matter never closed', text: '---\nprefix: GLD\n## Ready\n- [ ] GLD-1 x\n', line: 1, code: 'EFRONTMATTER', says: ['never closed'] },
  { what: '---js front matter', text: broken('js-front-matter.md'), line: 1, code: 'EFRONTMATTER', says: ['js', 'YAML'] },
  { what: '---javascript front matter', text: '---javascript\n{ prefix: "GLD" }\n---\n', line: 1, code: 'EFRONTMATTER', says: ['javascript'] },
  { what: '--- js front matter (with a space)', text: '--- js\n{ prefix: "GLD" }\n---\n', line: 1, code: 'EFRONTMATTER', says: ['js'] },
  { what: '---JSON front matter', text: '---JSON\n{ "prefix": "GLD" }\n---\n', line: 1, code: 'EFRONTMATTER', says: ['json'] },
  { what: '---coffee front matter', text: '---coffee\nprefix: "GLD"\n---\n', line: 1, code: 'EFRONTMATTER', says: ['coffee'] },
  { what: '---js after a byte-order mark', text: '\uFEFF---js\n{ prefix: "GLD" }\n---\n', line: 1, code: 'EFRONTMATTER', says: ['js'] },
  { what: 'an ID with another prefix', text: broken('foreign-prefix-id.md'), line: 9, code: 'EBADID', says: ['FOO-3', 'GLD'] },
  { what: 'an ID with a leading zero', text: broken('leading-zero-id.md'), line: 11, code: 'EBADID', says: ['GLD-07'] },
  { what: 'prio:urgent', text: broken('bad-prio.md'), line: 9, code: 'EFIELD', says: ['prio:urgent'] },
  { what: 'tries:abc', text: broken('bad-tries.md'), line: 11, code: 'EFIELD', says: ['tries:abc'] },
  { what: 'needs that are not IDs', text: '---\nprefix: GLD\n---\n## Blocked\n- [ ] GLD-1 x needs:gld-2\n', line: 5, code: 'EFIELD', says: ['gld-2'] },
  { what: 'an owner that is not an agent name', text: '---\nprefix: GLD\n---\n## In Progress\n- [ ] GLD-1 x owner:../../x\n', line: 5, code: 'EFIELD', says: ['owner'] },
  { what: 'a field given twice', text: '---\nprefix: GLD\n---\n## Ready\n\n- [ ] GLD-1 x prio:high prio:low\n', line: 6, code: 'EFIELD', says: ['twice'] },
];

describe('boards that cannot be understood are refused with file:line, and never written', () => {
  for (const refused of REFUSED) {
    test(refused.what, async () => {
      await assert.rejects(parseBoard(BOARD, refused.text), (error) => assertFileError(error, refused.line, refused.code));
      const error = await parseBoard(BOARD, refused.text).catch((e: Error) => e);
      for (const word of refused.says) assert.ok((error as Error).message.includes(word), `"${(error as Error).message}" should mention ${word}`);

      await withRepo(refused.text, async (repo) => {
        const before = snapshot(repo);
        // The CLI: two writes (and, once per kind of error, a read and a claim of the next task).
        const commands = [['add', 'A new task'], ['claim', 'GLD-1']];
        if (REFUSED.find((r) => r.code === refused.code) === refused) commands.push(['list'], ['claim']);
        const results = await clis(commands.map((args) => [[...args, '--json'], { cwd: repo.dir, agent: 'agent-a' }]));
        for (const result of results) {
          assertCliError(result, 2, refused.code, refused.line);
          assert.ok(result.stderr.includes(`${BOARD}:${refused.line}:`), 'a person sees file:line on stderr too');
        }
        assertUntouched(repo, before, commands.map((args) => args.join(' ')).join(', '));
        assert.deepEqual(locksOf(repo), [], 'a refused claim leaves no lock');
        // The library, as the CLI calls it.
        const guild = openGuild(repo.dir);
        await assert.rejects(addTask(guild, { agent: 'agent-a', title: 'A new task' }), (e) => assertFileError(e, refused.line, refused.code));
        await assert.rejects(claimTask(guild, { agent: 'agent-a' }), (e) => assertFileError(e, refused.line, refused.code));
        assertUntouched(repo, before, 'library writes');
        assert.deepEqual(readLog(repo), []);
      });
    });
  }

  // Found by this file: claimById took the lock and then failed reading the board, leaving the
  // lock held (pid null: until lock_ttl) so that the next claimer got exit 3.
  test('a refused claim <ID> leaves no lock behind', async () => {
    await withRepo(broken('bad-prio.md'), async (repo) => {
      const result = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'agent-a' });
      assertCliError(result, 2, 'EFIELD', 9);
      assert.deepEqual(locksOf(repo), [], 'no lock may outlive a refused claim');
      // Fix the board: another agent must now be able to claim GLD-1.
      repo.write(broken('bad-prio.md').replace('prio:urgent', 'prio:high'));
      assert.equal(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'agent-b' }).code, 0);
    });
  });

  test('front matter with bad values names the line of the key', async () => {
    const cases: [string, number][] = [
      ['---\nguild: 1\nprefix: gld\n---\n## Ready\n', 3],
      ['---\nguild: 1\nprefix: GLD\nmax_tries: 0\n---\n', 4],
      ['---\nprefix: GLD\nlock_ttl: soon\n---\n', 3],
      ['---\nguild: 2\nprefix: GLD\n---\n', 2],
      ['---\nprefix: GLD\nsections:\n  doing: Doing\n---\n', 3],
    ];
    for (const [text, line] of cases) await assert.rejects(parseBoard(BOARD, text), (e) => assertFileError(e, line, 'EFRONTMATTER'));
  });
});

describe('front matter is never executed', () => {
  test('---js that would write a file and set a global is refused before anything runs', async (t) => {
    const text = broken('js-front-matter.md');
    await withRepo(text, async (repo) => {
      const marker = join(repo.dir, 'EXECUTED-BY-LIBRARY');
      process.env.GUILD_PWN_FILE = marker;
      try {
        const guild = openGuild(repo.dir);
        await assert.rejects(parseBoard(BOARD, text), (e) => assertFileError(e, 1, 'EFRONTMATTER'));
        await assert.rejects(addTask(guild, { agent: 'agent-a', title: 'x' }), (e) => assertFileError(e, 1, 'EFRONTMATTER'));
      } finally {
        delete process.env.GUILD_PWN_FILE;
      }
      assert.equal((globalThis as Record<string, unknown>).__guildFrontMatterRan, undefined, 'the front matter set a global: it was run');
      assert.ok(!existsSync(marker), 'the front matter wrote a file: it was run');

      const cliMarker = join(repo.dir, 'EXECUTED-BY-CLI');
      const before = snapshot(repo);
      for (const args of [['list'], ['add', 'x'], ['claim']]) {
        const result = cli([...args, '--json'], { cwd: repo.dir, agent: 'agent-a', env: { GUILD_PWN_FILE: cliMarker } });
        assertCliError(result, 2, 'EFRONTMATTER', 1);
      }
      assert.ok(!existsSync(cliMarker), 'the CLI ran the front matter');
      assertUntouched(repo, before, 'refused ---js');

      // Control: the same bytes given to gray-matter with its default engines do run, so the
      // checks above would have caught an evaluation.
      const control = join(repo.dir, 'EXECUTED-BY-CONTROL');
      const script = "const matter = require('gray-matter'); const fs = require('fs'); const data = matter(fs.readFileSync(process.argv[1], 'utf8')).data; process.stdout.write(String(globalThis.__guildFrontMatterRan) + ' ' + data.prefix);";
      const run = spawnSync(process.execPath, ['-e', script, repo.board], { cwd: ROOT, env: { ...process.env, GUILD_PWN_FILE: control }, encoding: 'utf8' });
      assert.equal(run.stdout, 'GLD GLD', `control run: ${run.stderr}`);
      assert.ok(existsSync(control), 'the control run must execute the payload');
      t.diagnostic('control: gray-matter with default engines evaluates this front matter; guild-fs does not');
    });
  });

  test('---yaml is read like ---', async () => {
    const board = await parseBoard(BOARD, '---yaml\nprefix: GLD\n---\n## Ready\n- [ ] GLD-1 x\n');
    assert.equal(board.settings.prefix, 'GLD');
    assert.equal(board.tasks.length, 1);
  });
});

describe('bad names on the command line', () => {
  const text = fixture('01-spec-example.md');

  for (const [index, agent] of ['../../x', 'a b', 'agent/x', '..', 'agent\u00e9', 'x'.repeat(65)].entries()) {
    test(`agent name ${JSON.stringify(agent)} is refused with exit 2`, async () => {
      await withRepo(text, async (repo) => {
        const before = snapshot(repo);
        const runs: [string[], CliOptions][] = [[['claim', 'GLD-3', '--json', '--agent', agent], { cwd: repo.dir }]];
        if (index < 2) {
          runs.push(
            [['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent }], // from GUILD_AGENT
            [['add', 'x', '--json', '--agent', agent], { cwd: repo.dir }],
            [['list', '--json', '--agent', agent], { cwd: repo.dir }],
          );
        }
        const results = await clis(runs);
        for (const result of results) assertCliError(result, 2, 'EBADAGENT');
        assertUntouched(repo, before, `agent ${agent}`);
        assert.deepEqual(locksOf(repo), []);
      });
    });
  }

  test('the library refuses a bad agent name before writing', async () => {
    await withRepo(text, async (repo) => {
      const before = snapshot(repo);
      const guild = openGuild(repo.dir);
      for (const agent of ['a b', '../../x']) {
        await assert.rejects(claimTask(guild, { agent, id: 'GLD-3' }), (e) => (e as { exitCode?: number }).exitCode === 2);
        assertUntouched(repo, before, `library claim as ${agent}`);
      }
    });
  });

  for (const [index, id] of ['../x', 'gld_1', 'GLD-07', 'GLD-0', 'GLD-3;rm -rf', ' GLD-3', 'GLD-'].entries()) {
    test(`task ID ${JSON.stringify(id)} is refused with exit 2`, async () => {
      await withRepo(text, async (repo) => {
        const before = snapshot(repo);
        const commands = [['claim', id]];
        if (index < 2) commands.push(['release', id], ['complete', id], ['fail', id, '--reason', 'r'], ['show', id], ['add', 'x', '--needs', id]);
        const results = await clis(commands.map((args) => [[...args, '--json'], { cwd: repo.dir, agent: 'agent-a' }]));
        for (const result of results) assertCliError(result, 2, 'EBADID');
        assertUntouched(repo, before, `ID ${id}`);
        assert.deepEqual(locksOf(repo), []);
      });
    });
  }

  test('an ID of another board is refused, not claimed', () => {
    withRepo(text, (repo) => {
      const before = snapshot(repo);
      const result = cli(['claim', 'FOO-3', '--json'], { cwd: repo.dir, agent: 'agent-a' });
      // Not an ID this board can hold: bad input (2), named as such.
      assert.equal(result.code, 2, `exit ${result.code}`);
      assert.equal(result.json?.error?.code, 'EBADID');
      assertUntouched(repo, before, 'claim FOO-3');
      assert.deepEqual(locksOf(repo), []);
    });
  });
});

describe('needs on unknown tasks, and cycles', () => {
  test('an unknown need: reading warns, the task stays blocked, add --needs GLD-99 is refused with exit 4', () => {
    withRepo(broken('unknown-needs.md'), (repo) => {
      const list = cli(['list', '--json'], { cwd: repo.dir });
      assert.equal(list.code, 0);
      const notices = list.json!.result.notices as { line: number; message: string }[];
      assert.ok(notices.some((n) => n.line === 8 && n.message.includes('GLD-5')), JSON.stringify(notices));
      assert.ok(list.stderr.includes(`${BOARD}:8:`), 'the warning names file:line on stderr');
      const task = (list.json!.result.tasks as { id: string; status: string }[]).find((t) => t.id === 'GLD-3');
      assert.equal(task?.status, 'blocked');

      const before = snapshot(repo);
      const refused = cli(['add', 'Needs a ghost', '--needs', 'GLD-99', '--json'], { cwd: repo.dir, agent: 'agent-a' });
      assertCliError(refused, 4, 'ENOTASK');
      assert.ok(refused.json!.error!.message.includes('GLD-99'));
      assertUntouched(repo, before, 'add --needs GLD-99');

      // A write leaves GLD-3 in Blocked: no unblock, no move.
      assert.equal(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
      const after = cli(['list', '--json'], { cwd: repo.dir }).json!.result.tasks as { id: string; status: string }[];
      assert.equal(after.find((t) => t.id === 'GLD-3')?.status, 'blocked');
      assert.deepEqual(readLog(repo).map((event) => `${event.type} ${event.task}`), ['task.claimed GLD-1']);
      assert.ok(repo.read().includes('## Blocked\n- [ ] GLD-3 Waits for a task nobody wrote needs:GLD-5\n'));
    });
  });

  test('a task in Ready with an unknown need is moved to Blocked by the next write', () => {
    const text = '---\nprefix: GLD\n---\n## Blocked\n\n## Ready\n- [ ] GLD-1 Waits for a ghost needs:GLD-9\n- [ ] GLD-2 Free\n';
    withRepo(text, (repo) => {
      assert.equal(cli(['claim', '--json'], { cwd: repo.dir, agent: 'agent-a' }).json!.result.task.id, 'GLD-2');
      const events = readLog(repo).map((event) => `${event.type} ${event.task}`);
      assert.deepEqual(events.sort(), ['task.blocked GLD-1', 'task.claimed GLD-2']);
      assert.ok(repo.read().includes('## Blocked\n- [ ] GLD-1 Waits for a ghost needs:GLD-9\n'));
    });
  });

  test('ready and next do not offer a task whose needs are not met', () => {
    const text = '---\nprefix: GLD\n---\n## Ready\n- [ ] GLD-1 Waits for a ghost needs:GLD-9\n- [ ] GLD-2 Free\n';
    withRepo(text, (repo) => {
      const ready = cli(['ready', '--json'], { cwd: repo.dir }).json!.result.tasks as { id: string }[];
      assert.deepEqual(ready.map((t) => t.id), ['GLD-2']);
      assert.equal(cli(['next', '--json'], { cwd: repo.dir }).json!.result.task.id, 'GLD-2');
    });
  });

  test('a hand-typed cycle is reported by list --json, and a write leaves it as it is', () => {
    withRepo(broken('cycle.md'), (repo) => {
      const list = cli(['list', '--json'], { cwd: repo.dir });
      assert.equal(list.code, 0);
      const notices = list.json!.result.notices as { line: number; message: string }[];
      const cycle = notices.filter((n) => n.message.includes('cycle'));
      assert.equal(cycle.length, 1, JSON.stringify(notices));
      assert.equal(cycle[0]!.line, 8);
      for (const id of ['GLD-2', 'GLD-3', 'GLD-4']) assert.ok(cycle[0]!.message.includes(id));
      const blocked = (list.json!.result.tasks as { id: string; status: string }[]).filter((t) => t.status === 'blocked');
      assert.deepEqual(blocked.map((t) => t.id), ['GLD-2', 'GLD-3', 'GLD-4']);

      // The cycle is not new: writing is allowed, and it stays as typed.
      const original = repo.read();
      assert.equal(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
      const cycleLines = original.split('\n').slice(7, 10).join('\n');
      assert.ok(repo.read().includes(cycleLines));
      assert.equal(cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'agent-a' }).code, 5, 'a task in a cycle is never claimable');
    });
  });

  test('add --needs never closes a cycle through an ID that a need already names', () => {
    // GLD-3 needs GLD-5, which does not exist. If add handed out GLD-5 to a task needing GLD-3,
    // the two would wait for each other forever: the write must be refused or take another ID.
    withRepo(broken('unknown-needs.md'), (repo) => {
      const before = snapshot(repo);
      const result = cli(['add', 'Would close the loop', '--needs', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'agent-a' });
      if (result.code === 0) {
        assert.notEqual(result.json!.result.id, 'GLD-5');
        assert.equal(result.json!.result.id, 'GLD-6', 'the next ID past every ID the board names');
        assert.equal(result.json!.result.status, 'blocked');
        const notices = cli(['list', '--json'], { cwd: repo.dir }).json!.result.notices as { message: string }[];
        assert.ok(!notices.some((n) => n.message.includes('cycle')), JSON.stringify(notices));
      } else {
        assertCliError(result, 2, 'ECYCLE');
        assertUntouched(repo, before, 'add closing a cycle');
      }
    });
  });
});

describe('odd but valid boards are read right', () => {
  interface Expect {
    file: string;
    tasks: [id: string, line: number, status: string][];
    titles?: Record<string, string>;
    bodies?: Record<string, string[]>;
  }
  const EXPECT: Expect[] = [
    {
      file: '02-crlf.md',
      tasks: [['GLD-4', 11, 'blocked'], ['GLD-2', 14, 'ready'], ['GLD-3', 19, 'ready'], ['GLD-5', 30, 'in-progress'], ['GLD-1', 33, 'done']],
      titles: { 'GLD-3': 'Check line ends — naïve café ✓' },
      bodies: { 'GLD-2': ['  The body keeps its CR LF too.', '  ```ps1', '  - [ ] GLD-99 fake task in a fence', '  ```'] },
    },
    {
      file: '03-tabs.md',
      tasks: [['GLD-1', 9, 'ready'], ['GLD-2', 12, 'ready'], ['GLD-3', 14, 'ready'], ['GLD-4', 19, 'in-progress'], ['GLD-5', 22, 'done']],
      titles: { 'GLD-1': 'Fix\tthe\ttab\thandling', 'GLD-2': 'Tab after the checkbox', 'GLD-5': 'Done\twith tabs' },
      bodies: { 'GLD-1': ['\tA body line indented with one tab.', '\t- [ ] a sub-item indented with a tab'] },
    },
    {
      file: '04-unicode.md',
      tasks: [['GLD-7', 10, 'backlog'], ['GLD-6', 13, 'blocked'], ['GLD-2', 16, 'ready'], ['GLD-3', 19, 'ready'], ['GLD-4', 20, 'ready'], ['GLD-8', 21, 'ready'], ['GLD-5', 24, 'in-progress'], ['GLD-1', 28, 'done']],
      titles: { 'GLD-2': '修复登录页面的错误', 'GLD-3': '🚀 Launch the rocket 🎉', 'GLD-7': 'Документация на русском' },
    },
    {
      file: '05-html-comments.md',
      tasks: [['GLD-1', 16, 'ready'], ['GLD-2', 20, 'ready'], ['GLD-3', 21, 'ready'], ['GLD-4', 29, 'in-progress'], ['GLD-5', 32, 'done']],
      titles: { 'GLD-2': 'Second task <!-- inline comment in a title -->' },
      bodies: { 'GLD-1': ['  <!-- a comment in the body: part of the task -->', '  The body goes on.'] },
    },
    {
      file: '06-tables.md',
      tasks: [['GLD-1', 13, 'ready'], ['GLD-2', 17, 'ready'], ['GLD-3', 25, 'in-progress'], ['GLD-4', 28, 'done']],
      bodies: { 'GLD-1': ['  | column | meaning |', '  | ------ | ------- |', '  | a      | b       |'] },
    },
    {
      file: '07-code-blocks.md',
      tasks: [['GLD-1', 32, 'ready'], ['GLD-2', 38, 'ready'], ['GLD-3', 42, 'ready'], ['GLD-4', 45, 'in-progress'], ['GLD-5', 48, 'done']],
      titles: { 'GLD-3': 'Inline `code` and ``double `ticks` `` in a title' },
      bodies: { 'GLD-2': ['', '      - [ ] GLD-93 indented code in a body', '      ## In Progress'] },
    },
    {
      file: '08-quotes-setext.md',
      tasks: [['GLD-1', 17, 'ready'], ['GLD-2', 20, 'ready'], ['GLD-3', 25, 'in-progress'], ['GLD-4', 28, 'done']],
    },
    {
      file: '10-backticks-handtyped.md',
      tasks: [['GLD-1', 11, 'ready'], ['GLD-2', 12, 'ready'], ['GLD-3', 15, 'ready'], ['GLD-4', 17, 'ready'], ['GLD-5', 18, 'ready'], ['GLD-6', 21, 'in-progress'], ['GLD-7', 24, 'done']],
    },
    {
      file: '16-ordered-html.md',
      tasks: [['GLD-1', 21, 'ready'], ['GLD-2', 23, 'ready'], ['GLD-3', 28, 'in-progress'], ['GLD-4', 31, 'done']],
      titles: { 'GLD-1': 'HTML in a title <kbd>Ctrl</kbd>+<kbd>C</kbd>' },
    },
  ];

  for (const expect of EXPECT) {
    test(expect.file, async () => {
      const text = fixture(expect.file);
      await withRepo(text, async (repo) => {
        const shows = Object.keys(expect.bodies ?? {});
        const runs = [['list'], ...shows.map((id) => ['show', id])].map((args): [string[], CliOptions] => [[...args, '--json'], { cwd: repo.dir }]);
        const [list, ...shown] = await clis(runs);
        assert.equal(list!.code, 0, list!.stderr);
        const tasks = (list!.json!.result.tasks as { id: string | null; line: number; status: string; title: string }[]).filter((t) => t.id !== null);
        assert.deepEqual(tasks.map((t) => [t.id, t.line, t.status]), expect.tasks);
        for (const [id, title] of Object.entries(expect.titles ?? {})) assert.equal(tasks.find((t) => t.id === id)?.title, title);
        for (const [i, id] of shows.entries()) assert.deepEqual(shown[i]!.json!.result.body, expect.bodies![id]);
        assert.ok(readFileSync(repo.board).equals(Buffer.from(text)), 'reading never writes');
        assert.ok(!existsSync(repo.log) || readFileSync(repo.log, 'utf8') === '', 'reading logs nothing');
      });
      // With the other line ends, through the library: the same tasks on the same lines.
      const other = text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text.replace(/\n/g, '\r\n');
      const board = await parseBoard(BOARD, other);
      assert.deepEqual(board.tasks.filter((t) => t.id !== null).map((t) => [t.id, t.line, t.status]), expect.tasks);
      for (const [id, title] of Object.entries(expect.titles ?? {})) assert.equal(board.byId.get(id)?.title, title);
    });
  }
});
