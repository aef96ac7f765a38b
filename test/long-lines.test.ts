// A line of any length in any place costs what its bytes cost (issue 20, GLD-71). A pattern that
// backtracks quadratically took 3 s on a line of 64 KiB of spaces; on the 1 MiB lines here it
// would take hours, so the per-command timeout below (a minute, for 2 busy cores) catches it
// without timing anything: a linear reading takes a fraction of a second. The hostile shape is a
// long run of spaces (or tabs) that a pattern can split in many ways, ended by a character that
// makes the match fail. Real processes of the built CLI in temp git repos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const LONG = 1 << 20;
const SPACES = ' '.repeat(LONG);
const TABS = ' \t'.repeat(LONG / 2);
/** A title's share: sync logs each title, and one event may take at most 1 MiB (log-lines.ts). */
const HALF = SPACES.slice(0, LONG / 2);
const COMMAND_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  stderr: string;
  json: { ok: boolean; result?: any; error?: { code: string; message: string } };
}

function run(repo: TempRepo, args: string[]): Run {
  const child = spawnSync(process.execPath, [BIN, ...args, '--json'], {
    cwd: repo.dir,
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
    maxBuffer: 1 << 28,
    env: { ...process.env, GUILD_AGENT: 'agent-a', GUILD_VERIFY_CACHE: '1' },
  });
  assert.equal(child.signal, null, `guild-fs ${args.join(' ')} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s: a line is read in more than linear time`);
  let json: Run['json'];
  try {
    json = JSON.parse(child.stdout);
  } catch {
    throw new Error(`guild-fs ${args.join(' ')}: not one JSON document (exit ${child.status}):\n${child.stdout.slice(0, 500)}\n${child.stderr.slice(0, 500)}`);
  }
  return { code: child.status, stderr: child.stderr, json };
}

function withRepo(board: string, fn: (repo: TempRepo) => void): void {
  const repo = tempRepo(board);
  try {
    fn(repo);
  } finally {
    repo.remove();
  }
}

test('a board with a 1 MiB line in every place of it reads, claims, syncs and replays', { timeout: 5 * 60_000 }, () => {
  // Each long line is one the board reads as meant: the opening and closing --- followed by
  // spaces, a YAML value and comment, a heading, a title, the spaces before a field run, a body
  // line and free text, each a megabyte of spaces or tabs with a word after it (half of one in
  // titles, which the log must hold).
  const board = [
    `---${SPACES}`,
    'prefix: GLD',
    // Under the front matter's own limit of 1,000,000 characters of values.
    `note: "${HALF}x"`,
    `#${TABS}x`,
    `---${SPACES}`,
    `# Board${SPACES}x${SPACES}#`,
    '',
    `Free text${SPACES}x${TABS}`,
    '',
    '## Ready',
    `- [ ] GLD-1 first${HALF}x${TABS}prio:high${SPACES}`,
    `  body${TABS}x`,
    `- [ ] GLD-2 second${SPACES}prio:low`,
    `- [ ] GLD-3 ${'prio:high '.repeat(LONG / 20)}x`,
    '',
    `## Notes${TABS}x #${SPACES}`,
    '',
  ].join('\n');
  withRepo(board, (repo) => {
    const ready = run(repo, ['ready']);
    assert.equal(ready.code, 0, ready.stderr);
    assert.deepEqual(ready.json.result.tasks.map((task: any) => [task.id, task.prio]), [['GLD-1', 'high'], ['GLD-3', 'normal'], ['GLD-2', 'low']]);
    assert.ok(ready.json.result.tasks[0].title.startsWith('first') && ready.json.result.tasks[0].title.endsWith('x'));
    const claim = run(repo, ['claim', '--no-worktree']);
    assert.equal(claim.code, 0, claim.stderr);
    assert.equal(claim.json.result.task.id, 'GLD-1');
    // The fields are written back after one space, as on any line; the title is kept as it was.
    assert.ok(repo.read().includes(`- [ ] GLD-1 first${HALF}x prio:high owner:agent-a\n  body${TABS}x\n`), 'the claimed line keeps its title');
    const sync = run(repo, ['sync']);
    assert.equal(sync.code, 0, sync.stderr);
    const replay = run(repo, ['replay', '--check']);
    assert.equal(replay.code, 0, replay.stderr);
  });
});

test('a front matter line of 1 MiB that is no opening, or no closing, is judged in linear time', { timeout: 5 * 60_000 }, () => {
  const body = '## Ready\n- [ ] T-1 one\n';
  // Spaces then a word then a space: the shape that made ---[ \t]*(\S*)[ \t]*$ backtrack.
  withRepo(`---${SPACES}x y${SPACES}z\nprefix: GLD\n---\n${body}`, (repo) => {
    const ready = run(repo, ['ready']);
    // No front matter there: what follows is a paragraph and a setext heading, and T-1 is a task.
    assert.equal(ready.code, 0, ready.stderr);
    assert.deepEqual(ready.json.result.tasks.map((task: any) => task.id), ['T-1']);
    assert.equal(run(repo, ['claim', '--no-worktree']).code, 0);
  });
  withRepo(`---\nprefix: GLD\n---${TABS}x\n${body}`, (repo) => {
    for (const args of [['ready'], ['claim', '--no-worktree'], ['sync']]) {
      const result = run(repo, args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.json.error!.code, 'EFRONTMATTER');
    }
  });
});

test('an opening line longer than the board head still opens the front matter for claim', { timeout: 60_000 }, () => {
  // claim reads the settings it needs before the board from the board's first 64 KiB: an opening
  // line longer than that must not read as "no front matter" there while the board has one.
  withRepo(`---${' '.repeat(100_000)}\nprefix: GLD\nworktrees: false\n---\n## Ready\n- [ ] GLD-1 one\n`, (repo) => {
    const claim = run(repo, ['claim']);
    assert.equal(claim.code, 0, claim.stderr);
    assert.equal(claim.json.result.task.id, 'GLD-1');
  });
});

test('a 1 MiB line in the log and in a lock owner.json is judged in linear time', { timeout: 5 * 60_000 }, () => {
  withRepo('---\nprefix: GLD\n---\n## Ready\n- [ ] GLD-1 one\n- [ ] GLD-2 two\n', (repo) => {
    mkdirSync(join(repo.dir, '.guild'), { recursive: true });
    const event = (n: number, extra: string): string => JSON.stringify({ v: 1, id: `01JDB6Z3Q9K8X2M4N5P6R7S8T${n}`, ts: '2026-11-21T10:00:00.000Z', type: 'task.created', task: `GLD-${n}`, agent: 'a', host: 'h', data: { title: extra } });
    writeFileSync(repo.log, `${event(1, 'one')}\n{"v":1,${SPACES}"id":${TABS}x\n${event(2, `two${SPACES.slice(0, LONG / 2)}x`)}\n`);
    const lock = join(repo.dir, '.git', 'guild', 'locks', 'GLD-1.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'owner.json'), `{"agent":"a",${SPACES}"host":${TABS}x`);
    for (const args of [['replay', '--check'], ['ready'], ['claim', '--no-worktree'], ['sync']]) {
      const result = run(repo, args);
      // The damaged log line and the damaged lock are reported, whatever each command makes of them.
      assert.ok([0, 2, 5, 6].includes(result.code!), `guild-fs ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
    }
  });
});

test('a long line only remark reads (a lazy line under a task) is read in linear time', { timeout: 5 * 60_000 }, () => {
  // A line the scanner declines goes to remark: its inline parsers (emphasis, links, footnote
  // calls) were quadratic in a line of openers, 25 s at 80,000 characters of `*a`.
  for (const unit of ['*a', '[ ] ', '[^a]', '~a', '`a']) {
    const lazy = unit.repeat(Math.ceil(LONG / 4 / unit.length));
    withRepo(`---\nprefix: GLD\n---\n## Ready\n- [ ] GLD-1 one\nlazy ${lazy}\n- [ ] GLD-2 two\n`, (repo) => {
      for (const args of [['ready'], ['sync']]) {
        const result = run(repo, args);
        assert.equal(result.code, 0, `guild-fs ${args.join(' ')} (a line of ${JSON.stringify(unit)}): exit ${result.code}: ${result.stderr}`);
      }
      assert.deepEqual(run(repo, ['ready']).json.result.tasks.map((task: { id: string }) => task.id), ['GLD-1', 'GLD-2']);
    });
  }
});
