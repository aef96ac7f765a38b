// `guild-fs run` with the board's worker profiles (front matter agents:) and with resource gating
// (issue 12, items 4 and 5), through the built CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli } from './helpers/cli.js';
import { writeFakeAgent } from './helpers/fake-agent.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';

function setup(t: { after(fn: () => void): void }, front: (agent: string) => string[], tasks: string[]) {
  const state = mkdtempSync(join(tmpdir(), 'guild-fs-routing-'));
  const agent = writeFakeAgent(state);
  const repo = committedRepo(boardWith(front(agent), tasks), { '.gitignore': '*.log\n' });
  t.after(() => {
    repo.remove();
    rmSync(state, { recursive: true, force: true });
  });
  return { repo, state, agent };
}

const events = (stdout: string): any[] => (stdout.trim() === '' ? [] : stdout.trim().split('\n').map((line) => JSON.parse(line)));

test('without a command, every agents: profile runs its own workers, and caps route the tasks to them', (t) => {
  const f = setup(
    t,
    (agent) => ['agents:', '  front:', `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(agent)}]`, '    caps: [frontend]', '    parallel: 2', '  back:', `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(agent)}]`, '    caps: [db]'],
    ['- [ ] GLD-1 ok form caps:frontend', '- [ ] GLD-2 ok table caps:db', '- [ ] GLD-3 ok button caps:frontend', '- [ ] GLD-4 ok index caps:db', '- [ ] GLD-5 ok page caps:frontend'],
  );
  const untrusted = cli(['run', '--json'], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  assert.equal(untrusted.code, 2, untrusted.stdout);
  assert.match(untrusted.stdout, /EUNTRUSTED/);
  assert.equal(cli(['trust'], { cwd: f.repo.dir }).code, 0);

  const run = cli(['run', '--json'], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  assert.equal(run.code, 0, run.stderr);
  const all = events(run.stdout);
  assert.deepEqual(all[0].workers, ['front-1', 'front-2', 'back-1']);
  const doneBy = Object.fromEntries(all.filter((e) => e.event === 'task.done').map((e) => [e.task, e.worker.replace(/-\d+$/, '')]));
  assert.deepEqual(doneBy, { 'GLD-1': 'front', 'GLD-2': 'back', 'GLD-3': 'front', 'GLD-4': 'back', 'GLD-5': 'front' });

  const one = cli(['run', '--json', '--profile', 'nope'], { cwd: f.repo.dir });
  assert.equal(one.code, 2);
  assert.match(one.stdout, /EPROFILE/);
});

test('--min-free-mem the machine cannot meet: no claim starts, the run says why, and Ctrl-C ends it with nothing taken', async (t) => {
  const f = setup(t, () => [], ['- [ ] GLD-1 ok one']);
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_STATE: f.state };
  delete env.GUILD_AGENT;
  const child = spawn(process.execPath, [BIN, 'run', '--json', '--agent', 'w', '--min-free-mem', '1000T', '--', process.execPath, f.agent], { cwd: f.repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.resume();
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (let i = 0; i < 400 && !/"run\.waiting"/.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = events(out).find((e) => e.event === 'run.waiting');
  assert.ok(waiting, out);
  assert.match(waiting.why, /no new claim: .*memory/i);
  child.kill('SIGINT');
  assert.equal(await exit, 5);
  const tasks = JSON.parse(cli(['list', '--json'], { cwd: f.repo.dir }).stdout).result.tasks;
  assert.equal(tasks[0].status, 'ready');
});

test('bad --max-load and --min-free-mem values exit 2 before anything is claimed', (t) => {
  const f = setup(t, () => [], ['- [ ] GLD-1 ok one']);
  for (const args of [['--max-load', 'lots'], ['--min-free-mem', '12 parsecs']]) {
    const run = cli(['run', '--json', ...args, '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
    assert.equal(run.code, 2, run.stdout);
  }
});
