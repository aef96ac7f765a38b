// `guild-fs run` with agents that behave as agents do (issue 12, items 1, 2, 6): one run of the
// built CLI over a board whose tasks each ask the fake agent (helpers/fake-agent.ts) for one
// behaviour. Every task must end where SPEC section 8 says, with the right events and commits.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { alive, writeFakeAgent } from './helpers/fake-agent.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';

const KINDS = ['ok', 'commits', 'fail', 'crash', 'hang', 'stubborn', 'parent', 'loud'] as const;
type Kind = (typeof KINDS)[number];

describe('run: every kind of agent ends where the SPEC says', () => {
  let repo: TempRepo;
  let state: string;
  let events: any[];
  let code: number;
  let stderr: string;
  const id = (kind: Kind): string => `GLD-${KINDS.indexOf(kind) + 1}`;
  const seen = (kind: Kind): any => JSON.parse(readFileSync(join(state, `${id(kind)}.seen`), 'utf8'));
  const common = (): string => git(repo.dir, 'rev-parse', '--git-common-dir');

  before(() => {
    // max_tries 1: a failed try goes to Failed at once, so no task runs twice in this run.
    repo = committedRepo(
      boardWith(['max_tries: 1', 'commit: true'], KINDS.map((kind) => `- [ ] ${kind} task of kind ${kind}\n  The body says: do the ${kind} thing.`)),
      { '.gitignore': '*.log\n' },
    );
    state = mkdtempSync(join(tmpdir(), 'guild-fs-agents-'));
    const agent = writeFakeAgent(state);
    const run = cli(['run', '--json', '-j', '4', '--timeout', '2s', '--kill-after', '300ms', '--agent', 'fake', '--', process.execPath, agent, '{id}', '{branch}', 'x{id}'], {
      cwd: repo.dir,
      env: { FAKE_STATE: state },
    });
    code = run.code;
    stderr = run.stderr;
    events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  });
  after(() => {
    repo?.remove();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  test('exit 6 (some failed); NDJSON events, the summary last', () => {
    assert.equal(code, 6, stderr);
    assert.equal(events[0].event, 'run.started');
    assert.deepEqual(events[0].workers, ['fake-1', 'fake-2', 'fake-3', 'fake-4']);
    const summary = events[events.length - 1];
    assert.equal(summary.event, 'run.summary');
    assert.equal(summary.done, 4);
    assert.equal(summary.failed, 4);
    assert.equal(summary.exitCode, 6);
    assert.equal(summary.tries.length, KINDS.length);
  });

  test('each task was claimed once and ended once, as its kind asks', () => {
    const ended = (kind: Kind) => events.filter((e) => e.task === id(kind) && (e.event === 'task.done' || e.event === 'task.failed'));
    for (const kind of KINDS) {
      assert.equal(events.filter((e) => e.event === 'task.claimed' && e.task === id(kind)).length, 1, kind);
      assert.equal(ended(kind).length, 1, kind);
    }
    for (const kind of ['ok', 'commits', 'parent', 'loud'] as const) assert.equal(ended(kind)[0].event, 'task.done', kind);
    const reason = (kind: Kind): string => ended(kind)[0].reason;
    assert.match(reason('fail'), /exited with status 3/);
    assert.match(reason('fail'), /boom: could not do GLD-3/);
    assert.match(reason('crash'), /was killed by signal SIGKILL/);
    assert.match(reason('crash'), /about to crash/);
    assert.match(reason('hang'), /timed out after 2s \(signal SIGTERM\)/);
    assert.match(reason('stubborn'), /timed out after 2s \(signal SIGKILL\)/);
    for (const kind of ['fail', 'crash', 'hang', 'stubborn'] as const) assert.equal(ended(kind)[0].poisoned, true, kind);
    const list = JSON.parse(cli(['list', '--json'], { cwd: repo.dir }).stdout).result.tasks;
    for (const task of list) assert.equal(task.status, ['fail', 'crash', 'hang', 'stubborn'].includes(task.title.split(' ')[0]) ? 'failed' : 'done', task.title);
  });

  test('the agent got the prompt on stdin, the GUILD_ variables, the placeholders, cwd the worktree', () => {
    const ok = seen('ok');
    const claimed = events.find((e) => e.event === 'task.claimed' && e.task === id('ok'));
    assert.equal(ok.cwd, claimed.worktree);
    assert.deepEqual(ok.argv, [id('ok'), claimed.branch, `x{id}`]);
    assert.equal(ok.env.GUILD_TASK, id('ok'));
    assert.equal(ok.env.GUILD_TASK_TITLE, 'ok task of kind ok');
    assert.equal(ok.env.GUILD_WORKTREE, claimed.worktree);
    assert.equal(ok.env.GUILD_BRANCH, claimed.branch);
    assert.match(ok.env.GUILD_AGENT, /^fake-[1-4]$/);
    assert.equal(ok.env.GUILD_TRY, '1');
    assert.equal(readFileSync(ok.env.GUILD_PROMPT_FILE, 'utf8'), ok.prompt);
    assert.match(ok.prompt, /ok task of kind ok/);
    assert.match(ok.prompt, /The body says: do the ok thing\./);
    assert.match(ok.prompt, /How to finish/);
    assert.match(ok.prompt, /first try/);
  });

  test('work left uncommitted is committed on the branch, done or failed; an agent\'s own commit is kept', () => {
    const branchOf = (kind: Kind) => events.find((e) => e.event === 'task.claimed' && e.task === id(kind)).branch;
    assert.equal(git(repo.dir, 'show', `${branchOf('ok')}:${id('ok')}.txt`), `work of ${id('ok')}`);
    assert.equal(git(repo.dir, 'show', `${branchOf('commits')}:${id('commits')}.txt`), `work of ${id('commits')}`);
    assert.match(git(repo.dir, 'log', '-1', '--format=%s', branchOf('commits')), /by the agent/);
    assert.equal(git(repo.dir, 'show', `${branchOf('fail')}:${id('fail')}.half`), 'half done');
    assert.match(git(repo.dir, 'log', '-1', '--format=%s', branchOf('fail')), /try 1 failed/);
    const failed = events.find((e) => e.event === 'task.failed' && e.task === id('fail'));
    assert.equal(failed.committed, git(repo.dir, 'rev-parse', branchOf('fail')));
  });

  test('no agent, and no child of one, is left running', () => {
    for (const kind of KINDS) {
      const pid = Number(readFileSync(join(state, `${id(kind)}.pid`), 'utf8'));
      assert.equal(alive(pid), false, `${kind}'s agent ${pid}`);
    }
    const child = Number(readFileSync(join(state, `${id('parent')}.child`), 'utf8'));
    assert.equal(alive(child), false, 'the child the parent agent left');
  });

  test('each try\'s output is in runs/<ID>/<try>.log, ending with its end line', () => {
    const log = (kind: Kind): string[] => readFileSync(join(repo.dir, common(), 'guild', 'runs', id(kind), '1.log'), 'utf8').trimEnd().split('\n');
    const loud = log('loud');
    assert.equal(loud.length, 20001);
    assert.match(loud[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z out 0 x{100}$/);
    assert.match(loud[loud.length - 1]!, / end exit 0$/);
    const fail = log('fail');
    assert.ok(fail.some((line) => / err boom: could not do GLD-3$/.test(line)));
    assert.match(fail[fail.length - 1]!, / end exit 3$/);
  });

  test('the log replays to the board; commit: true committed board and log', () => {
    const replay = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    assert.equal(git(repo.dir, 'status', '--porcelain', '--', 'ACTIVE_TASKS.md', '.guild/audit.jsonl'), '');
    const types = readLog(repo).map((e) => e.type);
    assert.equal(types.filter((t) => t === 'task.completed').length, 4);
    assert.equal(types.filter((t) => t === 'task.failed').length, 4);
    assert.ok(!existsSync(join(repo.dir, common(), 'guild', 'locks', id('ok'))));
  });
});
