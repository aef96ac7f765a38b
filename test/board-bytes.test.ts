// Issue 11, items 3 and 4, through the built CLI: a board in Latin-1 keeps every byte outside the
// task lines a command changes (add, claim, complete, sync after a hand edit, a stale save, the
// merge driver), and a board whose lines end in a bare CR reads whole and stays CR; CRLF stays
// CRLF. Boards are handled here as latin1 strings, a byte-for-byte view of any bytes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { cli, type ListedTask } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import { git as gitIn } from './helpers/git-repo.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

after(killAllDaemons);

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});

/** Front matter, free text, a body and an untouched title in Latin-1 (e9 is `é`), beside valid UTF-8 and a cut-short sequence. */
const LATIN1 = [
  '---', 'guild: 1', 'prefix: GLD', '# A YAML comment: caf\xe9', 'team: \xe9quipe caf\xe9', '---', '# Active Tasks', '',
  'Caf\xe9 notes, na\xefve free text; valid UTF-8 \xe2\x82\xac beside a cut-short \xe2\x82 and a stray \xff.', '',
  '## Ready',
  '- [ ] GLD-1 Caf\xe9 menu prio:high', '  Body in Latin-1: cr\xe8me, \xe0 la carte.',
  '- [ ] GLD-2 Untouched cr\xe8me br\xfbl\xe9e',
  '- [ ] GLD-3 Plain third',
  '', '## In Progress', '', '## Done', '', '## Failed', '',
];

function boardFile(lines: readonly string[], eol: string): string {
  return lines.join(eol);
}

function setUp(board: string): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  writeFileSync(repo.board, Buffer.from(board, 'latin1'));
  ok(repo, ['sync']);
  return repo;
}

function ok(repo: TempRepo, args: string[], agent = 'agent-a'): string {
  const run = cli(args, { cwd: repo.dir, agent });
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

/** The board's bytes as a latin1 string. */
function bytesOf(repo: TempRepo): string {
  return readFileSync(repo.board).toString('latin1');
}

/** Lines with their line ends (any of CR, LF, CRLF). */
function linesOf(text: string): string[] {
  return text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

/** The board without the named tasks' lines (item and indented body). */
function withoutTasks(text: string, ids: readonly string[]): string {
  const kept: string[] = [];
  let skipping = false;
  for (const line of linesOf(text)) {
    const item = /^- \[[ xX]\] (\S+)/.exec(line);
    if (item) skipping = ids.includes(item[1]!);
    else if (!/^[ \t]/.test(line)) skipping = false;
    if (!skipping) kept.push(line);
  }
  return kept.join('');
}

/** Every byte outside the changed tasks' lines is as it was. */
function assertOnlyTasksChanged(before: string, after: string, ids: readonly string[]): void {
  const a = Buffer.from(withoutTasks(before, ids), 'latin1');
  const b = Buffer.from(withoutTasks(after, ids), 'latin1');
  assert.ok(a.equals(b), `bytes outside ${ids.join(', ')} changed:\n--- before ---\n${JSON.stringify(withoutTasks(before, ids))}\n--- after ---\n${JSON.stringify(withoutTasks(after, ids))}`);
}

/** The section heading above the task's line, and the line itself. */
function whereIs(text: string, id: string): { section: string; line: string } | null {
  let section = '';
  for (const line of linesOf(text)) {
    if (line.startsWith('## ')) section = line.slice(3).trimEnd();
    if (line.startsWith(`- [ ] ${id} `) || line.startsWith(`- [x] ${id} `)) return { section, line };
  }
  return null;
}

describe('a Latin-1 board keeps every byte outside the changed tasks', () => {
  test('through add, claim (of a task with Latin-1 in its title and body), complete', () => {
    const repo = setUp(boardFile(LATIN1, '\n'));
    let before = bytesOf(repo);
    assert.equal(before, boardFile(LATIN1, '\n'), 'sync of a board with IDs changes no byte');

    const id = ok(repo, ['add', 'Added task']);
    let after = bytesOf(repo);
    assertOnlyTasksChanged(before, after, [id]);
    assert.equal(whereIs(after, id)?.section, 'Ready');

    before = after;
    ok(repo, ['claim', 'GLD-1', '--no-worktree']);
    after = bytesOf(repo);
    assertOnlyTasksChanged(before, after, ['GLD-1']);
    const claimed = whereIs(after, 'GLD-1')!;
    assert.equal(claimed.section, 'In Progress');
    // The changed line keeps its own Latin-1 bytes, and its body moves with it byte for byte.
    assert.ok(claimed.line.startsWith('- [ ] GLD-1 Caf\xe9 menu'), JSON.stringify(claimed.line));
    assert.ok(after.includes(`${claimed.line}  Body in Latin-1: cr\xe8me, \xe0 la carte.\n`));

    before = after;
    ok(repo, ['complete', 'GLD-1']);
    after = bytesOf(repo);
    assertOnlyTasksChanged(before, after, ['GLD-1']);
    assert.equal(whereIs(after, 'GLD-1')?.section, 'Done');
    assert.ok(after.includes('Caf\xe9 menu') && after.includes('cr\xe8me, \xe0 la carte.'));
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  });

  test('through sync after a hand edit: an item typed without an ID, a box ticked', () => {
    const repo = setUp(boardFile(LATIN1, '\n'));
    const edited = bytesOf(repo)
      .replace('- [ ] GLD-3 Plain third\n', '- [ ] GLD-3 Plain third\n- [ ] Typed by hand, t\xe2che\n')
      .replace('- [ ] GLD-2 Untouched', '- [x] GLD-2 Untouched');
    writeFileSync(repo.board, Buffer.from(edited, 'latin1'));
    ok(repo, ['sync']);
    const after = bytesOf(repo);
    assertOnlyTasksChanged(edited.replace('- [ ] Typed by hand', '- [ ] GLD-4 Typed by hand'), after, ['GLD-2', 'GLD-4']);
    assert.equal(whereIs(after, 'GLD-4')?.line, '- [ ] GLD-4 Typed by hand, t\xe2che\n');
    assert.deepEqual(whereIs(after, 'GLD-2'), { section: 'Done', line: '- [x] GLD-2 Untouched cr\xe8me br\xfbl\xe9e\n' });
  });

  test('through a save from a stale buffer, merged with the claims made since (kept versions)', () => {
    const repo = setUp(boardFile(LATIN1, '\n'));
    const stale = bytesOf(repo);
    ok(repo, ['claim', 'GLD-3', '--no-worktree']);
    const claimed = bytesOf(repo);
    // The person saves their old buffer with one more Latin-1 line of free text.
    const note = 'A note typed in the stale buffer: d\xe9j\xe0 vu.\n';
    writeFileSync(repo.board, Buffer.from(stale.replace('## Ready\n', `${note}\n## Ready\n`), 'latin1'));
    ok(repo, ['sync']);
    const after = bytesOf(repo);
    assert.equal(whereIs(after, 'GLD-3')?.section, 'In Progress', 'the claim survives the stale save');
    assert.equal(after, claimed.replace('## Ready\n', `${note}\n## Ready\n`));
  });
});

test('the daemon, on a Latin-1 board with CR line ends, numbers an item typed by hand and changes nothing else', async () => {
  const repo = setUp(boardFile(LATIN1, '\r'));
  const daemon = await startDaemon(repo);
  try {
    const typed = bytesOf(repo).replace('- [ ] GLD-3 Plain third\r', '- [ ] GLD-3 Plain third\r- [ ] Typed while watched, \xe9t\xe9\r');
    writeFileSync(repo.board, Buffer.from(typed, 'latin1'));
    const after = await waitFor('the daemon to number the typed item', () => (bytesOf(repo).includes('GLD-4 Typed') ? bytesOf(repo) : undefined), 20_000, () => daemon.stderr());
    assert.equal(after, typed.replace('- [ ] Typed while watched', '- [ ] GLD-4 Typed while watched'));
  } finally {
    await daemon.kill('SIGTERM');
  }
});

describe('the merge driver keeps the bytes of all three sides', () => {
  for (const [name, eol] of [['LF', '\n'], ['CR', '\r']] as const) {
    test(`a Latin-1 board with ${name} line ends: ours claimed a task, theirs edited free text and added one`, () => {
      const repo = tempRepo();
      repos.push(repo);
      const dir = mkdtempSync(join(tmpdir(), 'guild-fs-merge-'));
      try {
        const base = boardFile(LATIN1, eol);
        const moved = (text: string): string =>
          text.replace(`- [ ] GLD-2 Untouched cr\xe8me br\xfbl\xe9e${eol}`, '').replace(`## In Progress${eol}`, `## In Progress${eol}- [ ] GLD-2 Untouched cr\xe8me br\xfbl\xe9e owner:agent-a${eol}`);
        const edited = (text: string): string =>
          text.replace('na\xefve free text', 'na\xefve free text, \xe9dit\xe9 on their side').replace(`- [ ] GLD-3 Plain third${eol}`, `- [ ] GLD-3 Plain third${eol}- [ ] GLD-4 Th\xe9irs${eol}`);
        const files = { base, ours: moved(base), theirs: edited(base) };
        for (const [side, text] of Object.entries(files)) writeFileSync(join(dir, side), Buffer.from(text, 'latin1'));
        const run = cli(['merge-driver', 'board', join(dir, 'base'), join(dir, 'ours'), join(dir, 'theirs'), 'ACTIVE_TASKS.md'], { cwd: repo.dir });
        assert.equal(run.code, 0, run.stderr);
        const merged = readFileSync(join(dir, 'ours')).toString('latin1');
        assert.equal(merged, edited(moved(base)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

test('a real `git merge` of two branches of a Latin-1 CR board runs the driver and keeps every byte', () => {
  const repo = tempRepo();
  repos.push(repo);
  ok(repo, ['init']);
  const git = (...args: string[]): string => gitIn(repo.dir, ...args);
  const base = boardFile(LATIN1, '\r');
  writeFileSync(repo.board, Buffer.from(base, 'latin1'));
  git('add', '-A');
  git('commit', '-qm', 'base');
  const commitBoard = (branch: string, text: string): void => {
    git('checkout', '-q', '-b', branch, 'main');
    writeFileSync(repo.board, Buffer.from(text, 'latin1'));
    git('commit', '-qam', branch);
  };
  // Both sides change lines next to each other: git's own text merge would conflict here.
  const ours = base.replace('- [ ] GLD-3 Plain third\r', '- [ ] GLD-3 Plain third prio:high\r');
  const theirs = base.replace('- [ ] GLD-3 Plain third\r', '- [ ] GLD-3 Plain third\r- [ ] GLD-4 Th\xe9irs\r');
  commitBoard('ours', ours);
  commitBoard('theirs', theirs);
  git('checkout', '-q', 'ours');
  git('merge', '-q', '--no-edit', 'theirs');
  assert.equal(bytesOf(repo), base.replace('- [ ] GLD-3 Plain third\r', '- [ ] GLD-3 Plain third prio:high\r- [ ] GLD-4 Th\xe9irs\r'));
});

describe('line ends: CR, LF and CRLF are all line ends, and a board keeps its own', () => {
  const PLAIN = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', 'Free text.', '', '## Ready', '- [ ] GLD-1 First', '  its body', '- [ ] GLD-2 Second', '', '## In Progress', '', '## Done', '', '## Failed', ''];

  test('a CR-only board: tasks and front matter read, add lands in the existing Ready, every line still ends in CR', () => {
    const repo = setUp(boardFile(PLAIN, '\r'));
    const listed = cli(['list', '--json'], { cwd: repo.dir }).json!.result.tasks as ListedTask[];
    assert.deepEqual(listed.map((task) => `${task.id}:${task.status}`), ['GLD-1:ready', 'GLD-2:ready']);
    const before = bytesOf(repo);
    // The prefix comes from the front matter (the default is T).
    const id = ok(repo, ['add', 'Third']);
    assert.equal(id, 'GLD-3');
    const after = bytesOf(repo);
    assert.ok(!after.includes('\n'), JSON.stringify(after));
    assert.equal(after.split('## Ready').length, 2, 'one Ready section');
    assert.equal(after, before.replace('- [ ] GLD-2 Second\r', '- [ ] GLD-2 Second\r- [ ] GLD-3 Third\r'));

    ok(repo, ['claim', 'GLD-1', '--no-worktree']);
    ok(repo, ['complete', 'GLD-1']);
    const done = bytesOf(repo);
    assert.ok(!done.includes('\n'));
    assertOnlyTasksChanged(after, done, ['GLD-1']);
    assert.equal(whereIs(done, 'GLD-1')?.section, 'Done');
    assert.ok(done.includes('\r  its body\r'), 'the body moved with its task');
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  });

  test('a CRLF board stays CRLF', () => {
    const repo = setUp(boardFile(PLAIN, '\r\n'));
    const before = bytesOf(repo);
    ok(repo, ['add', 'Third']);
    ok(repo, ['claim', 'GLD-2', '--no-worktree']);
    const after = bytesOf(repo);
    assert.doesNotMatch(after, /\r(?!\n)|(?<!\r)\n/, 'no bare CR, no bare LF');
    assertOnlyTasksChanged(before, after, ['GLD-2', 'GLD-3']);
    assert.equal(whereIs(after, 'GLD-2')?.section, 'In Progress');
  });

  test('LF beside bare CRs: the CR lines read as lines too, and every byte outside the change is kept', () => {
    // Front matter and Ready in CR, the rest in LF (a file pasted together from two editors).
    const text = boardFile(PLAIN.slice(0, 13), '\r') + '\r' + boardFile(PLAIN.slice(13), '\n');
    assert.ok(!text.includes('\r\n'));
    const repo = setUp(text);
    const listed = cli(['list', '--json'], { cwd: repo.dir }).json!.result.tasks as ListedTask[];
    assert.deepEqual(listed.map((task) => task.id), ['GLD-1', 'GLD-2']);
    ok(repo, ['add', 'Third']);
    const after = bytesOf(repo);
    assertOnlyTasksChanged(text, after, ['GLD-3']);
    assert.equal(whereIs(after, 'GLD-3')?.section, 'Ready');
  });

  test('CR, LF and CRLF all in one board: bytes kept, whatever the bare CRs hide', () => {
    const text = boardFile(PLAIN.slice(0, 9), '\n') + '\n' + boardFile(PLAIN.slice(9, 13), '\r\n') + '\r\n' + 'A line ended by a bare CR.\r' + boardFile(PLAIN.slice(13), '\n');
    assert.match(text, /\r(?!\n)/);
    assert.match(text, /(?<!\r)\n/);
    assert.match(text, /\r\n/);
    const repo = setUp(text);
    ok(repo, ['add', 'Third']);
    assertOnlyTasksChanged(text, bytesOf(repo), ['GLD-3']);
  });
});
