// "A claim is exclusive: of any number of concurrent claimers of one task, exactly one wins."
// These races use real processes of the built CLI, as agents do, and then check the three
// records that must agree: the exit codes, the board, the log and the lock dirs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, type CliResult } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

function board(ready: string[]): string {
  return [
    '---',
    'guild: 1',
    'prefix: GLD',
    'lock_ttl: 1h',
    'max_tries: 3',
    '---',
    '# Active Tasks',
    '',
    '## Ready',
    ...ready,
    '',
    '## In Progress',
    '',
    '## Done',
    '',
  ].join('\n');
}

const locksDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'locks');
const lockDirs = (repo: TempRepo): string[] => (existsSync(locksDir(repo)) ? readdirSync(locksDir(repo)).sort() : []);
const lockAgent = (repo: TempRepo, id: string): string => (JSON.parse(readFileSync(join(locksDir(repo), `${id}.lock`, 'owner.json'), 'utf8')) as { agent: string }).agent;

/** Each task line on the board, by ID: its section and owner. */
function tasksOnBoard(repo: TempRepo): Map<string, { section: string; owner: string | null }> {
  const tasks = new Map<string, { section: string; owner: string | null }>();
  let section = '';
  for (const line of repo.read().split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3);
    const match = /^- \[[ x]\] (GLD-\d+) .*?(?: owner:(\S+))?$/.exec(line);
    if (!match) continue;
    assert.equal(tasks.has(match[1]!), false, `${match[1]} appears twice on the board`);
    tasks.set(match[1]!, { section, owner: match[2] ?? null });
  }
  return tasks;
}

function describeRun(result: CliResult): string {
  return `exit ${result.code}: ${result.stdout.trim()} ${result.stderr.trim()}`;
}

describe('claim races between real processes', () => {
  test('16 processes claiming GLD-1 at once: exactly one wins, 12 trials', { timeout: 300_000 }, async () => {
    const TRIALS = 12;
    const CLAIMERS = 16;
    for (let trial = 1; trial <= TRIALS; trial++) {
      const repo = tempRepo(board(['- [ ] GLD-1 Contested task', '- [ ] GLD-2 Bystander']));
      try {
        const results = await Promise.all(
          Array.from({ length: CLAIMERS }, (_, i) => cliAsync(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: `agent-${i}` })),
        );
        const where = `trial ${trial}`;
        const winners = results.flatMap((result, i) => (result.code === 0 ? [`agent-${i}`] : []));
        assert.equal(winners.length, 1, `${where}: winners ${JSON.stringify(winners)}`);
        const winner = winners[0]!;
        for (const result of results) {
          if (result.code === 0) {
            assert.equal(result.json?.ok, true);
            assert.equal(result.json?.result.task.owner, winner);
            assert.equal(result.json?.result.alreadyHeld, false);
            continue;
          }
          assert.equal(result.code, 3, `${where}: a loser must exit 3, got ${describeRun(result)}`);
          assert.equal(result.json?.error?.code, 'EHELD');
        }

        const onBoard = tasksOnBoard(repo);
        assert.deepEqual(onBoard.get('GLD-1'), { section: 'In Progress', owner: winner }, `${where}: the board`);
        assert.deepEqual(onBoard.get('GLD-2'), { section: 'Ready', owner: null });
        assert.equal(repo.read().match(/owner:/g)?.length, 1, `${where}: exactly one owner on the board`);

        const claimed = readLog(repo).filter((event) => event.type === 'task.claimed');
        assert.equal(claimed.length, 1, `${where}: task.claimed events`);
        assert.equal(claimed[0]!.task, 'GLD-1');
        assert.equal(claimed[0]!.agent, winner);

        assert.deepEqual(lockDirs(repo), ['GLD-1.lock'], `${where}: lock dirs`);
        assert.equal(lockAgent(repo, 'GLD-1'), winner);
        assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'board.lock')), false, `${where}: the board mutex was let go`);
      } finally {
        repo.remove();
      }
    }
  });

  test('`claim GLD-1` and `claim` (next) racing for the only task: one winner, 5 trials', { timeout: 120_000 }, async () => {
    for (let trial = 1; trial <= 5; trial++) {
      const repo = tempRepo(board(['- [ ] GLD-1 The only task']));
      try {
        const byId = (i: number): boolean => i % 2 === 0;
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => cliAsync(byId(i) ? ['claim', 'GLD-1', '--json'] : ['claim', '--json'], { cwd: repo.dir, agent: `agent-${i}` })),
        );
        const winners = results.flatMap((result, i) => (result.code === 0 ? [`agent-${i}`] : []));
        assert.equal(winners.length, 1, `trial ${trial}: winners ${JSON.stringify(winners)}`);
        results.forEach((result, i) => {
          if (result.code === 0) return;
          // A named claim that loses is held by someone else; a claim of the next task finds none.
          assert.equal(result.code, byId(i) ? 3 : 5, `trial ${trial}, agent-${i}: ${describeRun(result)}`);
        });
        assert.deepEqual(tasksOnBoard(repo).get('GLD-1'), { section: 'In Progress', owner: winners[0] });
        assert.equal(readLog(repo).filter((event) => event.type === 'task.claimed').length, 1);
        assert.deepEqual(lockDirs(repo), ['GLD-1.lock']);
        assert.equal(lockAgent(repo, 'GLD-1'), winners[0]);
      } finally {
        repo.remove();
      }
    }
  });

  test('32 workers claiming the next task until none is left: 200 tasks, each claimed exactly once', { timeout: 300_000 }, async () => {
    const TASKS = 200;
    const WORKERS = 32;
    const repo = tempRepo(board(Array.from({ length: TASKS }, (_, i) => `- [ ] GLD-${i + 1} Task number ${i + 1}`)));
    try {
      const claims: { task: string; agent: string }[] = [];
      const problems: string[] = [];
      const worker = async (agent: string): Promise<void> => {
        // A worker that loops more often than there are tasks is itself a failure.
        for (let round = 0; round <= TASKS; round++) {
          const result = await cliAsync(['claim', '--json'], { cwd: repo.dir, agent });
          if (result.code === 5) {
            if (result.json?.error?.code !== 'ENOTHING') problems.push(`${agent}: exit 5 with ${describeRun(result)}`);
            return;
          }
          if (result.code !== 0) {
            problems.push(`${agent}: ${describeRun(result)}`);
            continue;
          }
          assert.equal(result.json?.result.task.owner, agent);
          claims.push({ task: result.json?.result.task.id as string, agent });
        }
        problems.push(`${agent}: still claiming after ${TASKS + 1} rounds`);
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(`w${i}`)));

      assert.deepEqual(problems, [], 'every claim ended in exit 0 or, at the end, exit 5');
      const byTask = new Map<string, string[]>();
      for (const { task, agent } of claims) byTask.set(task, [...(byTask.get(task) ?? []), agent]);
      const twice = [...byTask].filter(([, agents]) => agents.length > 1);
      assert.deepEqual(twice, [], 'no task was claimed twice');
      assert.equal(claims.length, TASKS, 'successful claims');
      assert.equal(byTask.size, TASKS, 'distinct tasks claimed');

      // The board: every task In Progress with the owner that claimed it; no line lost or doubled.
      const onBoard = tasksOnBoard(repo);
      assert.equal(onBoard.size, TASKS, 'tasks on the board');
      for (const [task, [agent]] of byTask) assert.deepEqual(onBoard.get(task), { section: 'In Progress', owner: agent }, task);

      // The log: exactly one task.claimed per task, by the same agent.
      const claimed = readLog(repo).filter((event) => event.type === 'task.claimed');
      assert.equal(claimed.length, TASKS, 'task.claimed events');
      const loggedBy = new Map(claimed.map((event) => [event.task as string, event.agent as string]));
      assert.equal(loggedBy.size, TASKS, 'one task.claimed per task');
      for (const [task, [agent]] of byTask) assert.equal(loggedBy.get(task), agent, `${task} in the log`);

      // The locks: 200 dirs, each naming its claimer.
      const dirs = lockDirs(repo);
      assert.equal(dirs.length, TASKS, 'lock dirs');
      for (const [task, [agent]] of byTask) assert.equal(lockAgent(repo, task), agent, `${task}'s owner.json`);
      assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'board.lock')), false, 'the board mutex was let go');

      // Work was shared out, not taken by one fast worker.
      const workersWithWork = new Set(claims.map((claim) => claim.agent));
      assert.ok(workersWithWork.size > 1, `claims spread over ${workersWithWork.size} workers`);
    } finally {
      repo.remove();
    }
  });
});
