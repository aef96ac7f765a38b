// Two runners in two clones of one remote drain one board (issue 13 item 6): claims are refs on
// a real git daemon, the board travels by sync --remote between tasks, and no task is done twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { cliAsync, cli } from './helpers/cli.js';
import { Clones, IDENTITY, must } from './helpers/clones.js';
import { writeFakeAgent } from './helpers/fake-agent.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';

let server: GitServer;
let clones: Clones;
before(async () => {
  server = await startGitServer();
  clones = new Clones(server);
});
after(async () => server.close());
afterEach(() => clones.removeAll());

test('two runners on two clones drain a 30-task board with needs: each task done once, both boards agree, replay --check passes', async () => {
  const state = mkdtempSync(join(tmpdir(), 'guild-remote-runner-'));
  clones.track(state);
  const agent = writeFakeAgent(state);
  // Thirty tasks, the last ten each needing one of the first ten: some unblock in the other clone.
  const url = clones.seeded('git', { tasks: 0, extraTasks: Array.from({ length: 30 }, (_, i) => `- [ ] GLD-${i + 1} ok task ${i + 1}${i >= 20 ? ` needs:GLD-${i - 19}` : ''}`) });
  const a = clones.clone(url);
  const b = clones.clone(url);
  const runIn = (dir: string, name: string) => cliAsync(['run', '--json', '--agent', name, '-j', '2', '--', process.execPath, agent], { cwd: dir, env: { ...IDENTITY, FAKE_STATE: state } });
  const [ra, rb] = await Promise.all([runIn(a.dir, 'alpha'), runIn(b.dir, 'beta')]);
  const events = (out: string) => out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  const doneA = events(ra.stdout).filter((e) => e.event === 'task.done').map((e) => e.task);
  const doneB = events(rb.stdout).filter((e) => e.event === 'task.done').map((e) => e.task);
  assert.ok([0, 5].includes(ra.code) && [0, 5].includes(rb.code), `exits ${ra.code} ${rb.code}\n${ra.stderr}\n${rb.stderr}`);
  const all = [...doneA, ...doneB];
  assert.equal(new Set(all).size, all.length, `a task done twice: ${all.sort().join(' ')}`);
  assert.equal(all.length, 30, `done: a ${doneA.length}, b ${doneB.length}`);
  // One more sync each: both boards show all thirty Done, and history agrees with them.
  for (const repo of [a, b, a]) must(cli(['sync', '--remote'], { cwd: repo.dir, env: IDENTITY }), 'sync');
  for (const repo of [a, b]) {
    const tasks = must(cli(['list', '--json'], { cwd: repo.dir }), 'list').json!.result.tasks as { status: string }[];
    assert.equal(tasks.filter((task) => task.status === 'done').length, 30);
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  }
  assert.equal(a.read(), b.read());
  rmSync(state, { recursive: true, force: true });
});
