// Issue 10: a save from a stale buffer. A person opens the board, agents claim, complete and add
// meanwhile, and the person saves the old text plus one edit. After the next guild-fs command
// (`sync`), the person's edit and every agent's change must be on the board, and the log must
// explain the board. Without the daemon and with it (which sees the stale save first).
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStorm, tasksOnBoard } from './helpers/storm-check.js';
import { insertNote, saveBoard, type SaveStyle } from './helpers/storm-person.js';
import { guild, killStormProcesses, settle, startStormDaemon, stormRepo, type RunOptions, type StormRepo } from './helpers/storm.js';

after(killStormProcesses);

const options: RunOptions = { verifyCache: true };
const EDIT = 'A stale-buffer edit: the person typed this line.';

function ok(repo: StormRepo, args: string[], agent: string): string {
  const run = guild(repo, args, options, agent);
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')} (as ${agent}) exited ${run.code}: ${run.stderr}`);
  return run.stdout.trim();
}

describe('a save from a stale buffer keeps the edit and the agents\' changes', () => {
  for (const style of ['rename', 'inplace'] as SaveStyle[]) {
    for (const daemon of [false, true]) {
      test(`saved by ${style}, ${daemon ? 'with' : 'without'} the daemon`, { timeout: 120_000 }, async (t) => {
        const repo = stormRepo(undefined, options);
        t.after(() => repo.remove());
        const watcher = daemon ? await startStormDaemon(repo, options) : null;

        const stale = readFileSync(repo.board, 'utf8');
        ok(repo, ['claim', 'GLD-1', '--no-worktree'], 'a1');
        ok(repo, ['claim', 'GLD-2', '--no-worktree'], 'a2');
        ok(repo, ['complete', 'GLD-1'], 'a1');
        const added = ok(repo, ['add', 'Added while the buffer was open'], 'a3');
        ok(repo, ['claim', '--no-worktree'], 'a4');
        if (watcher) await settle(repo);

        await saveBoard(repo.board, insertNote(stale, EDIT).text, style);
        if (watcher) {
          await settle(repo);
          const stopped = await watcher.stop();
          t.diagnostic(`daemon: exit ${stopped.code}; ${watcher.stderr().trim().split('\n').slice(-6).join(' / ')}`);
        }

        const report = checkStorm(repo, null, ['GLD-1'], options);
        const board = readFileSync(repo.board, 'utf8');
        const tasks = new Map(tasksOnBoard(board).map((task) => [task.id, task]));
        const where = (id: string): string => (tasks.has(id) ? `${tasks.get(id)!.section}: ${tasks.get(id)!.line}` : 'not on the board');
        t.diagnostic(`after sync: GLD-1 ${where('GLD-1')}; GLD-2 ${where('GLD-2')}; GLD-3 ${where('GLD-3')}; ${added} ${where(added)}`);
        t.diagnostic(`sync ${report.sync.code}, replay --check ${report.replay.code} (${report.replay.disagreements}), doctor ${report.doctor.code}, task.cancelled ${report.cancelled}`);

        const failures: string[] = [];
        if (!board.split(/\r?\n/).includes(EDIT)) failures.push("the person's edit is lost");
        if (report.undoneCompletions.length) failures.push(`a1's completion of GLD-1 is undone: ${where('GLD-1')}`);
        for (const [id, agent] of [['GLD-2', 'a2'], ['GLD-3', 'a4']] as const) {
          const task = tasks.get(id);
          if (task?.section !== 'In Progress' || !task.line.includes(`owner:${agent}`)) failures.push(`${agent}'s claim of ${id} is lost: ${where(id)}`);
        }
        if (tasks.get(added)?.section !== 'Ready') failures.push(`a3's task ${added} is lost: ${where(added)}`);
        if (!report.frontMatterIntact || report.missingSentinels.length) failures.push(`hand-written text lost: front matter ${report.frontMatterIntact ? 'intact' : 'changed'}, missing ${JSON.stringify(report.missingSentinels)}`);
        if (report.cancelled) failures.push(`${report.cancelled} task.cancelled logged: ${report.cancelledTasks.join(', ')}`);
        if (report.missingTasks.length) failures.push(`created tasks not on the board: ${report.missingTasks.join(', ')}`);
        if (report.sync.code !== 0) failures.push(`sync exited ${report.sync.code}: ${report.sync.detail}`);
        if (report.replay.code !== 0) failures.push(`replay --check exited ${report.replay.code}: ${report.replay.detail}`);
        if (report.doctor.code !== 0) failures.push(`doctor exited ${report.doctor.code}: ${report.doctor.detail}`);
        assert.deepEqual(failures, [], `the stale save lost something:\n- ${failures.join('\n- ')}`);
      });
    }
  }
});
