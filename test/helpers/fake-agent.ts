// Fake agents for the runner's tests: one small node script that behaves as the task's title
// says (its first word), so that one run exercises many kinds of agent at once. Written into the
// test's temp dir and run as `node <script> {id}`, the way a real agent CLI is run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boardWith, committedRepo } from './git-repo.js';
import type { TempRepo } from './repo.js';

const SCRIPT = String.raw`
const fs = require('fs');
const { spawn } = require('child_process');
const kind = (process.env.GUILD_TASK_TITLE || '').split(' ')[0];
const state = process.env.FAKE_STATE;
const id = process.env.GUILD_TASK;
// A later try (after a killed or released one, whose file the claim committed) writes something
// new: rewriting the same bytes would be a try that changed nothing, which fails (SPEC 8).
const work = 'work of ' + id + (Number(process.env.GUILD_TRY) > 1 ? ' (try ' + process.env.GUILD_TRY + ')' : '') + '\n';
const note = (name, text) => fs.writeFileSync(require('path').join(state, id + '.' + name), String(text));
let prompt = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (prompt += d));
process.stdin.on('end', () => {
  note('pid', process.pid);
  const env = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('GUILD_')) env[k] = process.env[k];
  note('seen', JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env, prompt }));
  // Where it ran, one line per start, in FAKE_STATE (outside the repository): its directory, the
  // checkout git says that is in, and the branch checked out there.
  const gitOut = (args) => { try { return require('child_process').execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } };
  fs.appendFileSync(require('path').join(state, 'where.jsonl'), JSON.stringify({ task: id, agent: process.env.GUILD_AGENT, cwd: process.cwd(), toplevel: gitOut(['rev-parse', '--show-toplevel']), branch: gitOut(['symbolic-ref', '--short', '-q', 'HEAD']) }) + '\n');
  // FAKE_DELAY_MS: an agent that takes a while, as real ones do (the storms need runs that last).
  setTimeout(() => { switch (kind) {
    case 'ok':
      fs.writeFileSync(id + '.txt', work);
      console.log('did ' + id);
      return;
    case 'commits':
      // --allow-empty: a later try (after a killed one) finds its file committed already.
      fs.writeFileSync(id + '.txt', work);
      require('child_process').execFileSync('git', ['add', '-A']);
      require('child_process').execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@a', 'commit', '--allow-empty', '-qm', id + ' by the agent']);
      return;
    case 'fail':
      fs.writeFileSync(id + '.half', 'half done\n');
      console.error('boom: could not do ' + id);
      process.exit(3);
    case 'colours':
      // As Gemini CLI and others print at a terminal: SGR colours, an OSC window title, a
      // progress line redrawn with \r, a bell; then it gives up (on the task: a CLI's own
      // "quota exceeded" would be the breaker's, runner/unavailable.ts).
      process.stdout.write('\x1b]0;agent at work\x07\x1b[1m\x1b[32mthinking\x1b[0m\n');
      process.stdout.write('reading 10%\rreading 100%\n');
      process.stderr.write('\x1b[31mError:\x1b[39m disk \x1b[4mfull\x1b[24m\x07 for ' + id + '\n', () => process.exit(4));
      return;
    case 'crash':
      console.log('about to crash');
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'hang':
      console.log('hanging');
      setInterval(() => {}, 1000);
      return;
    case 'stubborn':
      process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
      console.log('hanging, deaf');
      setInterval(() => {}, 1000);
      return;
    case 'parent': {
      const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM",()=>{});setInterval(()=>{},1000)'], { stdio: 'ignore' });
      note('child', child.pid);
      fs.writeFileSync(id + '.txt', 'left a child\n');
      setTimeout(() => process.exit(0), 100);
      return;
    }
    case 'loud': {
      const line = 'x'.repeat(100) + '\n';
      let out = '';
      for (let i = 0; i < 20000; i++) out += i + ' ' + line;
      fs.writeFileSync(id + '.txt', 'printed a lot\n');
      process.stdout.write(out, () => process.exit(0));
      return;
    }
    case 'nothing':
      // As an agent CLI that gave up, or whose every write was refused: exit 0, no change.
      console.log('I could not find anything to change');
      return;
    case 'chatty': {
      // Never silent for long, and done after a while (FAKE_CHATTY_MS): --idle-timeout leaves it be.
      // Whole lines on stdout for the first half, then only a progress line redrawn on stderr
      // (no newline at all): each half alone lasts longer than the tests' idle timeout.
      let n = 0;
      const half = Number(process.env.FAKE_CHATTY_MS || 2500) / 2;
      const started = Date.now();
      const t = setInterval(() => (Date.now() - started < half ? process.stdout.write('step ' + ++n + '\n') : process.stderr.write('\rstep ' + ++n)), 50);
      setTimeout(() => {
        clearInterval(t);
        fs.writeFileSync(id + '.txt', 'talked ' + n + ' times\n');
      }, Number(process.env.FAKE_CHATTY_MS || 2500));
      return;
    }
    case 'hold': {
      // Runs until the test creates FAKE_STATE/go.
      console.log('holding');
      const t = setInterval(() => {
        if (fs.existsSync(require('path').join(state, 'go'))) {
          clearInterval(t);
          fs.writeFileSync(id + '.txt', 'held\n');
        }
      }, 50);
      return;
    }
    default:
      fs.writeFileSync(id + '.txt', work);
  } }, Number(process.env.FAKE_DELAY_MS || 0));
});
`;

export function writeFakeAgent(dir: string): string {
  const path = join(dir, 'fake-agent.cjs');
  writeFileSync(path, SCRIPT);
  return path;
}

/** Where one start of a fake agent ran (FAKE_STATE/where.jsonl). */
export interface AgentPlace {
  task: string;
  agent: string;
  cwd: string;
  toplevel: string | null;
  branch: string | null;
}

export function agentPlaces(state: string): AgentPlace[] {
  const path = join(state, 'where.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AgentPlace);
}

/**
 * True while a process with this pid runs. A zombie (killed, not yet reaped) does not: orphans
 * go to PID 1, and where that is not a prompt reaper (some containers' init) a killed child
 * stays a zombie for a while, which kill(pid, 0) still finds.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A committed repo with `tasks` on its board, a state folder for the fake agent, and the agent; removed after the test. */
export interface RunnerFixture {
  repo: TempRepo;
  state: string;
  agent: string;
}

export function runnerFixture(t: { after(fn: () => void): void }, front: string[], tasks: string[]): RunnerFixture {
  const repo = committedRepo(boardWith(front, tasks), { '.gitignore': '*.log\n' });
  const state = mkdtempSync(join(tmpdir(), 'guild-fs-runner-'));
  t.after(() => {
    repo.remove();
    rmSync(state, { recursive: true, force: true });
  });
  return { repo, state, agent: writeFakeAgent(state) };
}
