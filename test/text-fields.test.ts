// Text that guild-fs stores (issue 21, item 6; SPEC sections 5 and 8): `add` prints the ID alone,
// every text field refuses control characters and line breaks where it is one line (exit 2,
// nothing written), and a failed try's reason, taken from an agent's coloured output, is stored
// as plain text while the run log keeps the output as it was.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { refuseControlCharacters, stripTerminalControls } from '../src/control-characters.js';
import { BIN, cli } from './helpers/cli.js';
import { eventsOf, fails, ok, repoFor } from './helpers/cli-cases.js';
import { runnerFixture } from './helpers/fake-agent.js';
import { boardWith, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';

const ESC = '\u001b';
/** Anything a terminal would act on: C0 but tab and newline, DEL, C1. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const boardBytes = (repo: TempRepo): Buffer => readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'));

describe('add prints the ID alone', () => {
  test('ID=$(guild-fs add ... --needs X) is the ID; where it went is on stderr', (t) => {
    const repo = repoFor(t);
    const shell = spawnSync('sh', ['-c', 'ID=$("$0" "$1" add "Wire the logout" --needs GLD-2,gld-3) && printf "[%s]" "$ID"', process.execPath, BIN], { cwd: repo.dir, encoding: 'utf8' });
    assert.equal(shell.status, 0, shell.stderr);
    assert.equal(shell.stdout, '[GLD-7]');
    assert.match(shell.stderr, /GLD-7 added to blocked until GLD-2, GLD-3 are done/);
    const ready = cli(['add', 'Write the changelog'], { cwd: repo.dir });
    assert.equal(ready.stdout, 'GLD-8\n');
    assert.equal(ready.stderr, '', 'into Ready, as expected: nothing to say (cli-json-finish.test.ts)');
    const backlog = cli(['add', 'Some day', '--status', 'backlog'], { cwd: repo.dir });
    assert.equal(backlog.stdout, 'GLD-9\n');
    assert.match(backlog.stderr, /GLD-9 added to backlog/);
    // --json: the status is in the document.
    assert.deepEqual(ok(repo, ['add', 'Later', '--needs', 'GLD-9']), { id: 'GLD-10', status: 'blocked' });
  });
});

describe('text fields refuse control characters, through every front end alike', () => {
  test('add: a control character or a line break in the title, a control character in the body: exit 2, nothing written', (t) => {
    const repo = repoFor(t);
    const board = boardBytes(repo);
    const events = readLog(repo).length;
    for (const [args, what] of [
      [['add', `Red ${ESC}[31mtitle`], /the title holds a control character \(U\+001B at character 5\)/],
      [['add', 'Bell\u0007'], /U\+0007/],
      [['add', 'Two\nlines'], /the title is one line, but it holds a line break \(U\+000A/],
      [['add', 'Carriage\rreturn'], /line break \(U\+000D/],
      [['add', 'DEL\u007f'], /U\+007F/],
      [['add', 'C1 \u009b31m'], /U\+009B/],
      [['add', 'Fine title', '--body', `a body\nwith ${ESC}]0;a title${ESC}\\ in it`], /the body holds a control character/],
    ] as const) {
      const error = fails(repo, [...args], 2, 'EUSAGE');
      assert.match(error.message, what, args.join(' '));
    }
    assert.deepEqual(boardBytes(repo), board, 'the board is untouched');
    assert.equal(readLog(repo).length, events, 'no event is logged');
    // Tabs are text (and U+2028, which no board reader takes for a line end: hostile-boards.test.ts);
    // a body keeps its line breaks, \r\n included.
    assert.equal(ok(repo, ['add', 'Tab\tseparated', '--body', 'first\r\nsecond\n\tindented']).id, 'GLD-7');
  });

  test('fail --reason and complete --note refuse them before anything is committed or changed', (t) => {
    const repo = repoFor(t);
    git(repo.dir, 'add', '-A');
    git(repo.dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'start');
    const claimed = ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
    const worktree = claimed.worktree.path as string;
    const head = git(worktree, 'rev-parse', 'HEAD');
    const board = boardBytes(repo);
    assert.match(fails(repo, ['fail', 'GLD-5', '--reason', `${ESC}[31mred${ESC}[0m`], 2, 'EUSAGE', { agent: 'a' }).message, /the reason holds a control character/);
    // (No NUL here: no process can be given one in its argv; MCP is where a NUL arrives.)
    assert.match(fails(repo, ['complete', 'GLD-5', '--note', 'done\u0001', '--commit-all', 'work'], 2, 'EUSAGE', { agent: 'a' }).message, /the note holds a control character \(U\+0001/);
    assert.match(fails(repo, ['complete', 'GLD-5', '--commit-all', `work ${ESC}[1m`], 2, 'EUSAGE', { agent: 'a' }).message, /the commit message \(--commit-all\)/);
    assert.deepEqual(boardBytes(repo), board);
    assert.equal(git(worktree, 'rev-parse', 'HEAD'), head, 'nothing committed');
    assert.equal(eventsOf(repo, 'task.failed').length + eventsOf(repo, 'task.completed').length, 0);
    // A reason of several lines, with tabs, is fine.
    ok(repo, ['fail', 'GLD-5', '--reason', 'the build broke:\n\tsrc/a.ts: 3 errors'], { agent: 'a' });
  });
});

describe('a failed try\'s reason from an agent\'s coloured output', () => {
  test('is stored as plain text in the log and the try\'s commit; the run log keeps the escapes', (t) => {
    const { repo, state, agent } = runnerFixture(t, ['max_tries: 1'], ['- [ ] colours an agent that prints colours']);
    const run = cli(['run', '--json', '--agent', 'fake', '--', process.execPath, agent, '{id}'], { cwd: repo.dir, env: { FAKE_STATE: state } });
    assert.equal(run.code, 6, run.stderr);
    const [failed] = eventsOf(repo, 'task.failed', 'GLD-1');
    const reason = (failed!.data as { reason: string }).reason;
    assert.doesNotMatch(reason, CONTROL, `stored clean: ${JSON.stringify(reason)}`);
    assert.match(reason, /exited with status 4/);
    assert.match(reason, /^thinking$/m);
    assert.match(reason, /^reading 100%$/m, 'a line redrawn with \\r keeps what the terminal showed last');
    assert.match(reason, /^Error: disk full for GLD-1$/m);
    // The NDJSON event, the board and the try's commit message say the same, clean.
    const event = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((e) => e.event === 'task.failed');
    assert.equal(event.reason, reason);
    assert.doesNotMatch(boardBytes(repo).toString('utf8'), CONTROL);
    const branch = git(repo.dir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/guild/');
    assert.doesNotMatch(git(repo.dir, 'log', '-1', '--format=%B', branch), CONTROL);
    // The run log is the agent's output as it came.
    const runs = join(git(repo.dir, 'rev-parse', '--absolute-git-dir'), 'guild', 'runs', 'GLD-1');
    const raw = readdirSync(runs).map((name) => readFileSync(join(runs, name), 'utf8')).join('');
    assert.ok(raw.includes(`${ESC}[31mError:`), 'the run log keeps the colour codes');
  });
});

describe('stripTerminalControls and refuseControlCharacters', () => {
  test('cleaning keeps the text a terminal would show', () => {
    const cases: [string, string][] = [
      [`${ESC}[1;31mred${ESC}[0m and ${ESC}[38;5;196mmore${ESC}[K`, 'red and more'],
      [`${ESC}]0;window title\u0007after`, 'after'],
      [`${ESC}]8;;https://example.com${ESC}\\link${ESC}]8;;${ESC}\\`, 'link'],
      [`${ESC}(Bcharset ${ESC}=keypad`, 'charset keypad'],
      ['\u009b31mC1 CSI\u009b0m', 'C1 CSI'],
      ['10%\r50%\r100%', '100%'],
      ['line\r', 'line'],
      ['bell\u0007 nul\u0000 tab\tkept', 'bell nul tab\tkept'],
      [`unterminated ${ESC}]0;title\nnext line`, 'unterminated \nnext line'],
      ['ünïcödé ✓ stays', 'ünïcödé ✓ stays'],
    ];
    for (const [raw, clean] of cases) assert.equal(stripTerminalControls(raw), clean, JSON.stringify(raw));
  });

  test('whatever cleaning gives, a many-line field takes', () => {
    // Every code unit below 0xA0 (and a few past it) in every position: the cleaned text never holds one that is refused.
    for (let code = 0; code < 0xa0; code++) {
      const raw = `a${String.fromCharCode(code)}b${ESC}[${String.fromCharCode(code)}c`;
      assert.doesNotThrow(() => refuseControlCharacters({ name: 'x', value: stripTerminalControls(raw), lines: 'many' }), `U+${code.toString(16)}`);
    }
  });
});
