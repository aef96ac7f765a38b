// replay and replay --check: the log folded into each task's state, compared with the board.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli, examplesRemovedAfterEach } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const example = examplesRemovedAfterEach();

const check = (repo: TempRepo) => cli(['replay', '--check', '--json'], { cwd: repo.dir });
const logPath = (repo: TempRepo) => join(repo.dir, '.guild', 'audit.jsonl');

describe('replay --check', () => {
  test('every command keeps board and log in agreement: exit 0 after each', () => {
    const repo = example();
    const steps: [string[], string | undefined][] = [
      [['claim'], 'a'],
      [['claim', 'GLD-3'], 'b'],
      [['complete'], 'a'],
      [['fail', 'GLD-3', '--reason', 'broke'], 'b'],
      [['add', 'Write docs', '--needs', 'GLD-4'], undefined],
      [['claim', 'GLD-5', '--pid', '999999'], 'c'],
      [['heal'], undefined],
      [['add', 'Fresh'], undefined],
      [['claim', 'GLD-8'], 'c'],
      [['release', 'GLD-8'], 'c'],
    ];
    for (const [args, agent] of steps) {
      const run = cli(args, { cwd: repo.dir, agent });
      assert.ok(run.code === 0, `${args.join(' ')}: ${run.stderr}`);
      const result = check(repo);
      assert.equal(result.code, 0, `after ${args.join(' ')}: ${result.stdout}`);
    }
    // A box ticked and an item typed by hand are hand edits: the next write records both.
    repo.write(repo.read().replace('- [ ] GLD-8', '- [x] GLD-8'));
    repo.write(repo.read().replace('## Backlog\n', '## Backlog\n- [ ] Typed by hand\n'));
    assert.equal(check(repo).code, 6);
    assert.equal(cli(['add', 'Another'], { cwd: repo.dir }).code, 0);
    assert.equal(check(repo).code, 0, check(repo).stdout);
  });

  test('a task moved by hand is named with its board line and the event behind it', () => {
    const repo = example();
    assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
    const moved = repo.read().replace(/^- \[ \] GLD-3 .*\n/m, '').replace('## Done\n', '## Done\n- [x] GLD-3 Create the users table caps:db owner:agent-a\n');
    repo.write(moved);
    const result = check(repo);
    assert.equal(result.code, 6);
    assert.equal(result.json?.error?.code, 'ECHECK');
    const [disagreement] = result.json!.error!.data.disagreements as { message: string; line: number }[];
    const line = moved.split('\n').findIndex((text) => text.startsWith('- [x] GLD-3')) + 1;
    assert.equal(disagreement!.line, line);
    assert.match(disagreement!.message, new RegExp(`^ACTIVE_TASKS.md:${line} GLD-3 is in Done on the board, but the log's last event for it is task.claimed by agent-a at \\S+ \\(.guild/audit.jsonl:\\d+\\)$`));
    // Human output names it too.
    const human = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(human.code, 6);
    assert.match(human.stdout, /GLD-3 is in Done on the board/);
  });

  test('events out of order on disk replay in (ts, id) order, and duplicate ids count once', () => {
    const repo = example();
    assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
    assert.equal(cli(['complete', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
    const lines = readFileSync(logPath(repo), 'utf8').trimEnd().split('\n');
    // Reverse the file and repeat a line, as a union merge of two branches might leave it.
    writeFileSync(logPath(repo), [...lines.reverse(), lines[0]].join('\n') + '\n');
    const result = check(repo);
    assert.equal(result.code, 0, result.stdout);
    assert.equal(result.json!.result.events, lines.length);
  });

  test('a torn last line is a warning; a malformed middle line is an error with its line; --lenient skips it', () => {
    const repo = example();
    appendFileSync(logPath(repo), '{"v":1,"id":"01J');
    const torn = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(torn.code, 0);
    assert.match(torn.stderr, /warning: \.guild\/audit\.jsonl:7: torn last line/);
    writeFileSync(logPath(repo), readFileSync(logPath(repo), 'utf8').replace('{"v":1,"id":"01J', ''));
    const lines = readFileSync(logPath(repo), 'utf8').split('\n');
    lines.splice(2, 0, 'not json at all');
    writeFileSync(logPath(repo), lines.join('\n'));
    const broken = cli(['replay', '--check', '--json'], { cwd: repo.dir });
    assert.equal(broken.code, 2);
    assert.match(broken.json!.error!.message, /^\.guild\/audit\.jsonl:3: not valid JSON/);
    const lenient = cli(['replay', '--check', '--lenient'], { cwd: repo.dir });
    assert.equal(lenient.code, 0, lenient.stdout);
    assert.match(lenient.stderr, /audit\.jsonl:3: .*skipped/);
  });

  test('an event of an unknown type is kept and reported, not fatal; --until replays the past', () => {
    const repo = example();
    const before = new Date().toISOString();
    assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
    appendFileSync(logPath(repo), `${JSON.stringify({ v: 1, id: '01ZZZZZZZZZZZZZZZZZZZZZZZZ', ts: new Date().toISOString(), type: 'plugin.custom', task: 'GLD-3', agent: 'x', host: 'h', data: {} })}\n`);
    const result = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stderr, /unknown type "plugin.custom"/);
    const past = cli(['replay', '--until', before, '--json'], { cwd: repo.dir });
    assert.equal(past.code, 0);
    const gld3 = (past.json!.result.tasks as { id: string; status: string }[]).find((task) => task.id === 'GLD-3');
    assert.equal(gld3?.status, 'ready');
    assert.equal(cli(['replay', '--until', 'yesterday-ish'], { cwd: repo.dir }).code, 2);
  });

  test('cycles and unknown needs typed by hand are reported', () => {
    const repo = example();
    repo.write(repo.read().replace('- [ ] GLD-5 Add a health check endpoint', '- [ ] GLD-5 Add a health check endpoint needs:GLD-99'));
    const result = check(repo);
    assert.equal(result.code, 6);
    assert.ok((result.json!.error!.data.disagreements as { message: string }[]).some((d) => /GLD-5 needs GLD-99, which is not on the board/.test(d.message)));
  });
});

describe('init --ci', () => {
  test('writes a GitHub workflow that runs replay --check, once', () => {
    const repo = tempRepo();
    example.keep(repo);
    const first = cli(['init', '--ci', '--json'], { cwd: repo.dir });
    assert.equal(first.code, 0);
    const workflow = join(repo.dir, '.github', 'workflows', 'guild-fs.yml');
    assert.equal(first.json!.result.workflow, workflow);
    const text = readFileSync(workflow, 'utf8');
    assert.match(text, /npx --yes guild-fs@\d+\.\d+\.\d+ replay --check/);
    writeFileSync(workflow, `${text}# edited\n`);
    assert.equal(cli(['init', '--ci'], { cwd: repo.dir }).code, 0);
    assert.match(readFileSync(workflow, 'utf8'), /# edited\n$/, 'an existing workflow is kept');
  });
});
